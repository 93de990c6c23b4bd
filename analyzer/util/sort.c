/* SPDX-License-Identifier: MIT */
/* Sorting that skips arrays already in order (page sets and snapshots come from the trace sorted). */
#include <stdlib.h>
#include "sort.h"

bool cs_is_sorted(const void *base, size_t n, size_t size, cs_cmp_fn cmp)
{
	const char *p = base;

	for (size_t i = 1; i < n; i++)
		if (cmp(p + (i - 1) * size, p + i * size) > 0)
			return false;
	return true;
}

void cs_sort(void *base, size_t n, size_t size, cs_cmp_fn cmp)
{
	if (n > 1 && !cs_is_sorted(base, n, size, cmp))
		qsort(base, n, size, cmp);
}

size_t cs_upper_bound_u64(const uint64_t *v, size_t n, uint64_t x)
{
	size_t lo = 0, hi = n, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (v[mid] <= x)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

size_t cs_upper_bound_seek(const uint64_t *v, size_t n, size_t *at, uint64_t x)
{
	size_t i = *at, step = 1;

	if (i > n || (i > 0 && v[i - 1] > x)) {
		i = cs_upper_bound_u64(v, n, x); /* x went back */
	} else {
		while (i + step <= n && v[i + step - 1] <= x) { /* gallop: 1, 2, 4, ... ahead */
			i += step;
			step *= 2;
		}
		i += cs_upper_bound_u64(v + i, (i + step <= n ? i + step : n) - i, x);
	}
	*at = i;
	return i;
}
