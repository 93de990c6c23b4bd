/* SPDX-License-Identifier: MIT */
/* Unit tests: common/weight.c's cs_weight_bytes equals the shim's cs_sample_weight, exactly. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include "sample.h"
#include "weight.h"

static void test_equals_the_shims_weight(void **state)
{
	static const uint64_t sizes[] = { 0,        1,        7,          8,         16,
					  24,       64,       100,        511,       512,
					  513,      4096,     65535,      65536,     65537,
					  1u << 20, 1u << 30, 1ull << 40, UINT64_MAX };
	static const uint64_t means[] = { 0,     1,      2,        8,          512,       4096,
					  65536, 524288, 1u << 20, 1ull << 32, UINT64_MAX };
	size_t n = 0;

	(void)state;
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
		for (size_t j = 0; j < sizeof(means) / sizeof(means[0]); j++, n++)
			if (cs_weight_bytes(sizes[i], means[j]) !=
			    cs_sample_weight(sizes[i], means[j]))
				fail_msg("size %llu mean %llu: %llu, the shim's %llu",
					 (unsigned long long)sizes[i], (unsigned long long)means[j],
					 (unsigned long long)cs_weight_bytes(sizes[i], means[j]),
					 (unsigned long long)cs_sample_weight(sizes[i], means[j]));
	assert_int_equal(n, 19 * 11);
}

static void test_known_values(void **state)
{
	(void)state;
	assert_int_equal(cs_weight_bytes(100, 1), 100); /* exact mode */
	assert_int_equal(cs_weight_bytes(100, 0), 100); /* no sampling record */
	assert_int_equal(cs_weight_bytes(0, 65536), 0);
	assert_int_equal(cs_weight_bytes(65536, 65536), 103676); /* 65536 / (1 - e^-1) */
	assert_int_equal(cs_weight_bytes(64, 65536), 65568);     /* ~ mean + size / 2 */
	assert_int_equal(cs_weight_bytes(1u << 30, 65536), 1u << 30);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_equals_the_shims_weight),
		cmocka_unit_test(test_known_values),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
