/* SPDX-License-Identifier: MIT */
/* Sorting that first checks whether the array is already in order: most arrays from a trace are. */
#ifndef CS_SORT_H
#define CS_SORT_H

#include <stdbool.h>
#include <stddef.h>

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

#endif
