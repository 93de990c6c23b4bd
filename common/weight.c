/* SPDX-License-Identifier: MIT */
/* The weight of a byte-sampled allocation: size over its probability of being sampled. */
#include <math.h>
#include "weight.h"

uint64_t cs_weight_bytes(uint64_t size, uint64_t mean)
{
	double p;

	if (mean <= 1 || size == 0)
		return size;
	p = -expm1(-(double)size / (double)mean);
	return p <= 0.0 ? size : (uint64_t)((double)size / p + 0.5);
}
