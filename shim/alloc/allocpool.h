/* SPDX-License-Identifier: MIT */
/* The bootstrap pool: a small bump allocator for allocations made before the program's allocator is known. */
#ifndef CS_ALLOCPOOL_H
#define CS_ALLOCPOOL_H

#include <stddef.h>
#include <stdint.h>

/*
 * While the shim looks up the program's allocator (dlsym may itself call
 * malloc or calloc), allocations are served from a static pool. Its blocks
 * are never handed to the real allocator: free, realloc and
 * malloc_usable_size of a pool pointer come back here. Lock-free (one CAS per
 * call); freeing gives memory back only for the newest block, which is what
 * the loader's short-lived error strings need.
 */
/* base must be aligned to CS_POOL_MAX_ALIGN. */
typedef struct cs_pool {
	uint8_t *base;
	size_t cap;  /* bytes at base */
	size_t used; /* bytes handed out (atomic) */
} cs_pool_t;

#define CS_POOL_ALIGN 16u       /* the alignment malloc promises on x86-64 */
#define CS_POOL_MAX_ALIGN 4096u /* larger alignments are refused */

/* Whether p lies in the pool. hook-safe, O(1). */
static inline int cs_pool_owns(const cs_pool_t *pl, const void *p)
{
	return (uintptr_t)p - (uintptr_t)pl->base < pl->cap;
}

/*
 * n bytes aligned to align (a power of two, <= CS_POOL_MAX_ALIGN; smaller
 * ones are raised to CS_POOL_ALIGN), or NULL when the pool is full or align
 * is not allowed. Memory that was handed out before and given back may hold
 * old bytes. hook-safe, lock-free.
 */
void *cs_pool_alloc(cs_pool_t *pl, size_t n, size_t align);

/* The bytes usable at p (a pointer cs_pool_alloc returned). hook-safe. */
size_t cs_pool_size(const cs_pool_t *pl, const void *p);

/* Give back p's block if it is the newest one; otherwise nothing. hook-safe, lock-free. */
void cs_pool_free(cs_pool_t *pl, void *p);

#endif
