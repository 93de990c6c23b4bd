/* SPDX-License-Identifier: MIT */
/* Growable arrays: geometric growth with overflow checks. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include "vec.h"

int cs_vec_reserve(void **arr, size_t *cap, size_t len, size_t more, size_t elem)
{
	size_t need, ncap;
	void *p;

	if (more > SIZE_MAX - len)
		return -ENOMEM;
	need = len + more;
	if (need <= *cap)
		return 0;
	ncap = *cap ? *cap : 8;
	while (ncap < need) {
		if (ncap > SIZE_MAX / 2)
			return -ENOMEM;
		ncap *= 2;
	}
	if (elem && ncap > SIZE_MAX / elem)
		return -ENOMEM;
	p = realloc(*arr, ncap * elem);
	if (!p)
		return -ENOMEM;
	*arr = p;
	*cap = ncap;
	return 0;
}
