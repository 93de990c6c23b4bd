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
	((__typeof__(cs_alloc_real.name))__atomic_load_n((void **)&cs_alloc_real.name,   \
							 __ATOMIC_RELAXED))

/* Whether p is a pool block (never handed to the real allocator). One compare. hook-safe. */
static inline int cs_alloc_in_pool(const void *p)
{
	return (uintptr_t)p - (uintptr_t)cs_alloc_pool_mem < CS_ALLOC_POOL_BYTES;
}

/*
 * Resolve the family once: dlsym(RTLD_NEXT) of each name and dladdr to tell
 * which lie in the allocator's object (cs_allocfns_choose). Any thread may
 * run it at the same time as another (they store the same table); it waits
 * for none, so it cannot deadlock on a thread that holds the loader lock.
 * hook-safe in the bootstrap sense: takes the loader's recursive lock, and
 * what it allocates comes from the pool.
 */
void cs_alloc_resolve(void);

/* realloc of pool block old: a new block (pool while resolving, else the allocator). hook-safe. */
void *cs_alloc_pool_realloc(void *old, size_t n);

/* The malloc the family forwards to (resolving first if needed). init-only. */
void *cs_alloc_target(void);

#endif
