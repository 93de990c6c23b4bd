/* SPDX-License-Identifier: MIT */
/* Byte sampling: exponential intervals between sampled bytes make sampling a Poisson process. */
#include <math.h>
#include <string.h>
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

/*
 * -ln(u) for u in (0, 1], inline and without libm: u = m * 2^e with m in
 * [sqrt(1/2), sqrt(2)), ln(m) = 2 atanh(t) with t = (m - 1) / (m + 1), |t| <=
 * 0.172, by its series to t^9: the first term left out is below 6.1e-10, so
 * the result is within 1e-9 of ln(u) (absolute) and an interval of mean M
 * within M * 1e-9 bytes of the exact draw: the intervals stay exponential and
 * the weights unbiased far below any sampling error. About 25 instructions
 * against libm's log() ~150 with its call.
 */
double cs_neg_log(double u)
{
	uint64_t b;
	double m, t, t2;
	int e;

	memcpy(&b, &u, sizeof(b));
	e = (int)(b >> 52) - 1023;
	b = (b & 0xfffffffffffffull) | 0x3ff0000000000000ull;
	memcpy(&m, &b, sizeof(m));
	if (m > 1.4142135623730951) {
		m *= 0.5;
		e++;
	}
	t = (m - 1.0) / (m + 1.0);
	t2 = t * t;
	return -((double)e * 0.6931471805599453 +
		 2.0 * t * (1.0 + t2 * (1.0 / 3 + t2 * (1.0 / 5 + t2 * (1.0 / 7 + t2 / 9)))));
}

int64_t cs_sample_interval(uint64_t *state, uint64_t mean)
{
	/* u in (0, 1]: never log(0); a normal double, so cs_neg_log's bit split holds. */
	double u = ((double)(cs_rand_next(state) >> 11) + 1.0) * 0x1.0p-53;
	double v = cs_neg_log(u) * (double)mean;

	return v < 1.0 ? 1 : v > 9.0e18 ? INT64_MAX : (int64_t)v;
}
