/* SPDX-License-Identifier: MIT */
/* Sorting that first checks whether the array is already in order: most arrays from a trace are. */
#ifndef CS_SORT_H
#define CS_SORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef int (*cs_cmp_fn)(const void *a, const void *b);

/*
 * Whether the n elements of size bytes at base are in non-decreasing order
 * under cmp (an empty or one-element array is). O(n) comparisons, no writes.
 */
bool cs_is_sorted(const void *base, size_t n, size_t size, cs_cmp_fn cmp);

/*
 * qsort(base, n, size, cmp), skipped when the array is already in order:
 * the result is the same as qsort's (glibc's merge sort is stable, and a
 * sorted array is its own stable sort). Cost: n − 1 comparisons when sorted,
 * about that plus qsort's otherwise.
 */
void cs_sort(void *base, size_t n, size_t size, cs_cmp_fn cmp);

/*
 * The first index i of the non-decreasing v[0..n) with v[i] > x, n if none
 * (C++'s upper_bound). O(log n).
 */
size_t cs_upper_bound_u64(const uint64_t *v, size_t n, uint64_t x);

/*
 * cs_upper_bound_u64() for x that mostly grows from call to call: *at holds
 * the previous answer (0 before the first call) and the search gallops forward
 * from it (1, 2, 4, ... elements), O(log d) for an answer d elements ahead.
 * A smaller x than before is searched afresh (O(log n)): the answer is always
 * exact. cs_upper_bound_from() answers inline when it is the previous one.
 */
size_t cs_upper_bound_seek(const uint64_t *v, size_t n, size_t *at, uint64_t x);

static inline size_t cs_upper_bound_from(const uint64_t *v, size_t n, size_t *at, uint64_t x)
{
	size_t i = *at;

	if (i <= n && (i == 0 || v[i - 1] <= x) && (i == n || v[i] > x))
		return i;
	return cs_upper_bound_seek(v, n, at, x);
}

#endif
