/* SPDX-License-Identifier: MIT */
/* Byte sampling: exponential intervals between sampled bytes make sampling a Poisson process. */
#include <math.h>
#include "sample.h"

uint64_t cs_rand_next(uint64_t *state)
{
	uint64_t x = *state;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*state = x;
	return x * 0x2545f4914f6cdd1dull;
}

int64_t cs_sample_interval(uint64_t *state, uint64_t mean)
{
	/* u in (0, 1]: never log(0). */
	double u = ((double)(cs_rand_next(state) >> 11) + 1.0) * 0x1.0p-53;
	double v = -log(u) * (double)mean;

	return v < 1.0 ? 1 : v > 9.0e18 ? INT64_MAX : (int64_t)v;
}

uint64_t cs_sample_weight(uint64_t size, uint64_t mean)
{
	double p;

	if (mean <= 1 || size == 0)
		return size;
	p = -expm1(-(double)size / (double)mean);
	return p <= 0.0 ? size : (uint64_t)((double)size / p + 0.5);
}
