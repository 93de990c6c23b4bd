/* SPDX-License-Identifier: MIT */
/* The table the allocation hooks call through, and the bootstrap that fills it. */
#ifndef CS_ALLOCBOOT_H
#define CS_ALLOCBOOT_H

#include <stddef.h>
#include <stdint.h>
#include "allocfns.h"
#include "allocpool.h"

#define CS_ALLOC_POOL_BYTES (64u * 1024u)
#define CS_HIDDEN __attribute__((visibility("hidden")))

/*
 * The family the hooks forward to. It starts as bootstrap functions: the
 * first call (from the shim's constructor, another library's constructor or
 * any thread, whichever is first) resolves the family (cs_alloc_resolve) and
 * forwards; calls made while that thread resolves are served by the pool.
 */
extern cs_allocfns_t cs_alloc_real CS_HIDDEN;

/* The pool's memory, in the shim's .bss (excluded from every figure). */
extern uint8_t cs_alloc_pool_mem[CS_ALLOC_POOL_BYTES] CS_HIDDEN;
extern cs_pool_t cs_alloc_pool CS_HIDDEN;

/* The current function of the family for `name`: one relaxed load (a plain mov). hook-safe. */
#define CS_ALLOC_CALL(name)                                                            \
	((__typeof__(cs_alloc_real.name))__atomic_load_n((void **)&cs_alloc_real.name, \
							 __ATOMIC_RELAXED))

/* Whether p is a pool block (never handed to the real allocator). One compare. hook-safe. */
static inline int cs_alloc_in_pool(const void *p)
{
	return (uintptr_t)p - (uintptr_t)cs_alloc_pool_mem < CS_ALLOC_POOL_BYTES;
}

/*
 * Resolve the family once: dlsym(RTLD_NEXT) of each name, and the loader's
 * object list (cs_alloc_object_of) to tell which lie in the allocator's
 * object (cs_allocfns_choose). Threads that get here together each resolve
 * and store the same table: none waits for another, which could deadlock
 * (the other may hold the loader's lock while it allocates). Bootstrap-safe:
 * takes only the loader's recursive locks; what the loader allocates meanwhile
 * comes from the pool.
 */
void cs_alloc_resolve(void);

/* realloc of pool block old: a new block (pool while resolving, else the allocator). hook-safe. */
void *cs_alloc_pool_realloc(void *old, size_t n);

/* A loaded object: its identity (its program headers) and name ("" for the main program). */
typedef struct cs_objinfo {
	const void *id;
	const char *name;
} cs_objinfo_t;

/*
 * The loaded object whose PT_LOAD segments hold p. 0, or -ENOENT. Walks
 * dl_iterate_phdr's list (the loader's recursive lock), O(objects ×
 * segments): far cheaper than dladdr, which scans the object's symbols.
 * Bootstrap and init only.
 */
int cs_alloc_object_of(const void *p, cs_objinfo_t *out);

/* The malloc the family forwards to (resolving first if needed). init-only. */
void *cs_alloc_target(void);

#endif
