/* SPDX-License-Identifier: MIT */
/* Page sets: sorted, non-overlapping runs of page numbers and the set algebra on them. */
#ifndef CS_PAGESET_H
#define CS_PAGESET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Pages [lo, hi). */
typedef struct cs_prange {
	uint64_t lo;
	uint64_t hi;
} cs_prange_t;

/*
 * A set of page numbers. After cs_pageset_normalize() (or when built only from
 * ascending additions) r[] is sorted, non-overlapping and non-adjacent:
 * "normalized". Zero-initialized is a valid empty set.
 */
typedef struct cs_pgset {
	cs_prange_t *r;
	size_t n;
	size_t cap;
	bool dirty; /* additions came out of order: normalize before use */
} cs_pageset_t;

/* The page shift of a page size (a power of two): 4096 -> 12. */
static inline unsigned cs_page_shift(uint64_t page_size)
{
	unsigned n = 0;

	while (page_size > 1) {
		page_size >>= 1;
		n++;
	}
	return n;
}

/* Free the runs; the set becomes empty and reusable. */
void cs_pageset_free(cs_pageset_t *s);

/*
 * Add pages [lo, hi) (nothing if hi <= lo). In-order additions stay
 * normalized; others mark the set dirty. Returns 0 or -ENOMEM. O(1) amortized.
 */
int cs_pageset_add(cs_pageset_t *s, uint64_t lo, uint64_t hi);

/* Sort and merge overlapping or adjacent runs. O(n) when sorted already, else O(n log n). */
void cs_pageset_normalize(cs_pageset_t *s);

/*
 * Set algebra on normalized sets: out = a ∪ b, a ∩ b, a − b. out may be a or b
 * (the result replaces it). Returns 0, -ENOMEM, or -EINVAL for a dirty input.
 * O(|a| + |b|) runs.
 */
int cs_pageset_union(cs_pageset_t *out, const cs_pageset_t *a, const cs_pageset_t *b);
int cs_pageset_intersect(cs_pageset_t *out, const cs_pageset_t *a, const cs_pageset_t *b);
int cs_pageset_diff(cs_pageset_t *out, const cs_pageset_t *a, const cs_pageset_t *b);

/* out = a copy of a (normalized or not). Returns 0 or -ENOMEM. */
int cs_pageset_copy(cs_pageset_t *out, const cs_pageset_t *a);

/* Number of pages in a normalized set. */
uint64_t cs_pageset_count(const cs_pageset_t *s);

/* Number of pages of a normalized set within [lo, hi). O(log n + runs in range). */
uint64_t cs_pageset_count_within(const cs_pageset_t *s, uint64_t lo, uint64_t hi);

/* Whether a normalized set holds page p. O(log n). */
bool cs_pageset_contains(const cs_pageset_t *s, uint64_t p);

/*
 * cs_pageset_contains() for pages asked in ascending order: *at is a cursor
 * into s (0 before the first call) that moves forward, so that n ascending
 * queries cost O(n + runs) in all. Any order stays correct: a page below the
 * previous one is searched afresh (O(log n)).
 */
bool cs_pageset_contains_from(const cs_pageset_t *s, size_t *at, uint64_t p);

#endif
