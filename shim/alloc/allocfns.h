/* SPDX-License-Identifier: MIT */
/* The malloc family the shim forwards to: chosen once, whole, from one allocator (pure). */
#ifndef CS_ALLOCFNS_H
#define CS_ALLOCFNS_H

#include <stdbool.h>
#include <stddef.h>

/* Every allocation function the shim interposes: X(return type, name, argument types). */
#define CS_ALLOC_FAMILY(X)                                \
	X(void *, malloc, (size_t))                       \
	X(void, free, (void *))                           \
	X(void *, calloc, (size_t, size_t))               \
	X(void *, realloc, (void *, size_t))              \
	X(void *, reallocarray, (void *, size_t, size_t)) \
	X(int, posix_memalign, (void **, size_t, size_t)) \
	X(void *, aligned_alloc, (size_t, size_t))        \
	X(void *, memalign, (size_t, size_t))             \
	X(void *, valloc, (size_t))                       \
	X(void *, pvalloc, (size_t))                      \
	X(size_t, malloc_usable_size, (void *))

typedef struct cs_allocfns {
#define CS_X_FIELD(ret, name, args) ret(*name) args;
	CS_ALLOC_FAMILY(CS_X_FIELD)
#undef CS_X_FIELD
} cs_allocfns_t;

enum cs_allocfn_id {
#define CS_X_ID(ret, name, args) CS_AF_##name,
	CS_ALLOC_FAMILY(CS_X_ID)
#undef CS_X_ID
		CS_AF__COUNT
};

/* How to look definitions up (the shim: dlsym(RTLD_NEXT) and dladdr; tests: fakes). */
typedef struct cs_alloc_lookup {
	void *(*next)(void *ctx, const char *name); /* the next definition of name, or NULL */
	bool (*same_object)(void *ctx, const void *a, const void *b); /* defined in one object */
	void *ctx;
	size_t page_size;
} cs_alloc_lookup_t;

/*
 * Choose the family into *out. The allocator is the object that defines the
 * next malloc; malloc, free and realloc are the next definitions (what the
 * program would call). Every other name is the next definition when that
 * lies in the allocator's object, otherwise a stand-in built on the
 * allocator's own functions, never another allocator's:
 *   calloc        malloc + memset
 *   reallocarray  realloc after an overflow check
 *   posix_memalign, aligned_alloc, memalign, valloc, pvalloc
 *                 whichever of posix_memalign, aligned_alloc or memalign the
 *                 allocator has (ENOMEM when it has none)
 *   malloc_usable_size  its malloc_size, else 0
 * Without a next malloc, free or realloc, the whole of *fallback (glibc's
 * __libc_* functions; NULL members get stand-ins) is used instead.
 * Returns the stand-ins used, a bit (1u << CS_AF_name) each. The stand-ins
 * keep what they call in this file's statics: one choice at a time is live
 * (concurrent calls must choose alike, as the shim's do).
 * Cost: CS_AF__COUNT + 1 lookups. Not hook-safe by itself: lk decides.
 */
unsigned cs_allocfns_choose(cs_allocfns_t *out, const cs_alloc_lookup_t *lk,
			    const cs_allocfns_t *fallback);

#endif
