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
