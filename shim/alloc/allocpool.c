/* SPDX-License-Identifier: MIT */
/* The bootstrap pool: bump allocation with a 16-byte header before each block (size, start). */
#include "allocpool.h"

typedef struct blk {
	uint64_t size;  /* bytes asked for */
	uint64_t start; /* pool offset where this block's reservation began */
} blk_t;

static size_t round_up(size_t v, size_t a)
{
	return (v + a - 1) & ~(a - 1);
}

static blk_t *hdr_of(const void *p)
{
	return (blk_t *)((uintptr_t)p - sizeof(blk_t));
}

void *cs_pool_alloc(cs_pool_t *pl, size_t n, size_t align)
{
	size_t old = __atomic_load_n(&pl->used, __ATOMIC_RELAXED), user, end;

	if (align < CS_POOL_ALIGN)
		align = CS_POOL_ALIGN;
	if ((align & (align - 1)) || align > CS_POOL_MAX_ALIGN || n > pl->cap)
		return NULL;
	do {
		/* offsets from base; base is CS_POOL_MAX_ALIGN-aligned by its owner */
		user = round_up(old + sizeof(blk_t), align);
		end = user + round_up(n ? n : 1, CS_POOL_ALIGN);
		if (end > pl->cap)
			return NULL;
	} while (!__atomic_compare_exchange_n(&pl->used, &old, end, 0, __ATOMIC_ACQ_REL,
					      __ATOMIC_RELAXED));
	*hdr_of(pl->base + user) = (blk_t){ .size = n, .start = old };
	return pl->base + user;
}

size_t cs_pool_size(const cs_pool_t *pl, const void *p)
{
	(void)pl;
	return (size_t)hdr_of(p)->size;
}

void cs_pool_free(cs_pool_t *pl, void *p)
{
	const blk_t *h = hdr_of(p);
	size_t end =
		(size_t)((uint8_t *)p - pl->base) + round_up(h->size ? h->size : 1, CS_POOL_ALIGN);

	__atomic_compare_exchange_n(&pl->used, &end, (size_t)h->start, 0, __ATOMIC_ACQ_REL,
				    __ATOMIC_RELAXED);
}
