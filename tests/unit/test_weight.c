/* SPDX-License-Identifier: MIT */
/* Unit tests: common/weight.c's cs_weight_bytes, the weight the analyzer gives a sampled allocation. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include "weight.h"

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
		cmocka_unit_test(test_known_values),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
