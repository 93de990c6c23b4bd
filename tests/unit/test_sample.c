/* SPDX-License-Identifier: MIT */
/* Unit tests: byte sampling (intervals, unbiased weights) and the sampled-pointer filter. */
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdlib.h>
#include <cmocka.h>
#include "sample.h"
#include "weight.h"
#include "shimmem.h"

static void test_exact_mode_weight_is_size(void **state)
{
	(void)state;
	assert_int_equal(cs_weight_bytes(100, 1), 100);
	assert_int_equal(cs_weight_bytes(0, 65536), 0);
}

static void test_weight_is_size_over_probability(void **state)
{
	/* size == mean: P = 1 - e^-1 = 0.632, weight = size / P = 1.582 * size. */
	uint64_t w = cs_weight_bytes(65536, 65536);

	(void)state;
	assert_true(w >= 103674 && w <= 103676);
	/* Tiny block: P ~ size/mean, weight ~ mean + size/2. */
	w = cs_weight_bytes(64, 65536);
	assert_true(w >= 65567 && w <= 65569);
	/* Huge block: always sampled, weight ~ size. */
	assert_int_equal(cs_weight_bytes(1u << 30, 65536), 1u << 30);
}

/* The fast -ln(u) against libm's over u's whole range, from 2^-53 to 1. */
static void test_neg_log_matches_libm(void **state)
{
	uint64_t rng = 7;

	(void)state;
	assert_true(cs_neg_log(1.0) == 0.0);
	assert_true(fabs(cs_neg_log(0x1.0p-53) - 53 * M_LN2) < 1e-9);
	assert_true(fabs(cs_neg_log(0.5) - M_LN2) < 1e-12);
	for (int i = 0; i < 1000000; i++) {
		/* Uniform exponent and mantissa: every binade is covered, not just the top. */
		uint64_t r = cs_rand_next(&rng);
		double u = ldexp(1.0 + (double)(r >> 11) * 0x1.0p-53, -(int)(r % 53) - 1);

		assert_true(fabs(cs_neg_log(u) + log(u)) < 1e-9);
	}
}

static void test_intervals_have_the_mean(void **state)
{
	uint64_t rng = 12345, mean = 65536;
	double sum = 0, sq = 0;
	int n = 1000000, below_mean = 0;

	(void)state;
	for (int i = 0; i < n; i++) {
		int64_t v = cs_sample_interval(&rng, mean);

		assert_true(v >= 1);
		sum += (double)v;
		sq += (double)v * (double)v;
		below_mean += v < (int64_t)mean;
	}
	/* Standard error of the mean: mean / sqrt(n) = 0.1% of it; allow 1%. */
	assert_true(fabs(sum / n / (double)mean - 1.0) < 0.01);
	/* Exponential, not just the right mean: variance mean^2, P(X < mean) = 1 - 1/e. */
	assert_true(fabs((sq / n - (sum / n) * (sum / n)) / ((double)mean * mean) - 1.0) < 0.02);
	assert_true(fabs((double)below_mean / n - (1.0 - exp(-1.0))) < 0.003);
}

/* Simulate the shim's sampler over a stream of equal blocks: the weights add up to the bytes. */
static void test_estimate_is_unbiased(void **state)
{
	uint64_t rng = 99, mean = 65536, size = 256, blocks = 400000;
	int64_t left = cs_sample_interval(&rng, mean);
	double est = 0;

	(void)state;
	for (uint64_t i = 0; i < blocks; i++) {
		left -= (int64_t)size;
		if (left > 0)
			continue;
		while (left <= 0)
			left += cs_sample_interval(&rng, mean);
		est += (double)cs_weight_bytes(size, mean);
	}
	/* 100 MiB in 256-byte blocks: ~1600 samples, relative error ~2.5%: allow 8%. */
	assert_true(fabs(est / (double)(size * blocks) - 1.0) < 0.08);
}

static void test_filter_add_test_remove(void **state)
{
	static uint64_t bits[CS_BLOOM_BITS / 64];
	cs_shimmem_t m = { .bloom = bits };
	char *p = (char *)0x7f0000001000, *q = p + 16, *alias = p + (16u << 20);

	(void)state;
	assert_false(cs_bloom_maybe(&m, p));
	cs_bloom_add(&m, p);
	assert_true(cs_bloom_maybe(&m, p));
	assert_false(cs_bloom_maybe(&m, q));    /* the next 16-byte granule */
	assert_true(cs_bloom_maybe(&m, alias)); /* 16 MiB away: a false positive */
	cs_bloom_remove(&m, p);
	assert_false(cs_bloom_maybe(&m, p));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_exact_mode_weight_is_size),
		cmocka_unit_test(test_weight_is_size_over_probability),
		cmocka_unit_test(test_neg_log_matches_libm),
		cmocka_unit_test(test_intervals_have_the_mean),
		cmocka_unit_test(test_estimate_is_unbiased),
		cmocka_unit_test(test_filter_add_test_remove),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
