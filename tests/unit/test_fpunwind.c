/* SPDX-License-Identifier: MIT */
/* Unit tests: the frame-pointer walk on synthetic chains, the maps parser, and COWSCOPE_UNWIND. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include "fpunwind.h"
#include "options.h"

/* A fake stack of 64 words; frame records at words 4, 10, 20 (rec[0] = next fp, rec[1] = ret). */
static uintptr_t stk[64] __attribute__((aligned(16)));

static void chain(void)
{
	memset(stk, 0, sizeof(stk));
	stk[4] = (uintptr_t)&stk[10];
	stk[5] = 0x401111;
	stk[10] = (uintptr_t)&stk[20];
	stk[11] = 0x402222;
	stk[20] = 0; /* _start: the chain ends */
	stk[21] = 0x403333;
}

static void test_walks_the_whole_chain(void **state)
{
	void *f[8];
	uintptr_t lo = (uintptr_t)stk, hi = (uintptr_t)(stk + 64);

	(void)state;
	chain();
	assert_int_equal(cs_fp_walk((uintptr_t)&stk[4], lo, hi, f, 8), 3);
	assert_true(f[0] == (void *)0x401111 && f[1] == (void *)0x402222 &&
		    f[2] == (void *)0x403333);
	assert_int_equal(cs_fp_walk((uintptr_t)&stk[4], lo, hi, f, 2), 2); /* max */
}

static void test_stops_at_a_bad_link(void **state)
{
	void *f[8];
	uintptr_t lo = (uintptr_t)stk, hi = (uintptr_t)(stk + 64);

	(void)state;
	chain();
	stk[10] = (uintptr_t)&stk[4]; /* points back down: a loop */
	assert_int_equal(cs_fp_walk((uintptr_t)&stk[4], lo, hi, f, 8), 2);
	chain();
	stk[10] = (uintptr_t)&stk[20] + 3; /* misaligned */
	assert_int_equal(cs_fp_walk((uintptr_t)&stk[4], lo, hi, f, 8), 2);
	chain();
	stk[10] = (uintptr_t)&stk[63]; /* its record would straddle the top */
	assert_int_equal(cs_fp_walk((uintptr_t)&stk[4], lo, hi, f, 8), 2);
	chain();
	stk[10] = (uintptr_t)0x7fff00001000; /* far above the stack: never read */
	assert_int_equal(cs_fp_walk((uintptr_t)&stk[4], lo, hi, f, 8), 2);
	chain();
	assert_int_equal(cs_fp_walk((uintptr_t)&stk[4], (uintptr_t)&stk[5], hi, f, 8), 0);
	assert_int_equal(cs_fp_walk(0, lo, hi, f, 8), 0);
}

static void test_maps_end_finds_the_mapping(void **state)
{
	const char maps[] = "400000-401000 r-xp 00000000 08:01 1 /bin/x\n"
			    "7ffc0000-7ffd2000 rw-p 00000000 00:00 0 [stack]\n"
			    "7ffd3000-7ffd4000 r-xp 0";
	size_t used;
	uintptr_t start = 0;

	(void)state;
	assert_true(cs_fp_maps_end(maps, strlen(maps), 0x7ffc1234, &used, &start) == 0x7ffd2000);
	assert_true(start == 0x7ffc0000);
	assert_int_equal(used, strchr(strchr(maps, '\n') + 1, '\n') + 1 - maps);
	/* An address on the unfinished last line: not found, the whole lines consumed. */
	assert_true(cs_fp_maps_end(maps, strlen(maps), 0x7ffd3100, &used, &start) == 0);
	assert_int_equal(used, strrchr(maps, '\n') + 1 - maps);
}

static const char *unwind_env;
static int warnings_seen;

static const char *get(const char *name)
{
	return !strcmp(name, "COWSCOPE_UNWIND") ? unwind_env : NULL;
}

static void warn(const char *msg, size_t n)
{
	(void)n;
	assert_non_null(strstr(msg, "COWSCOPE_UNWIND=frames: expected libunwind or fp"));
	warnings_seen++;
}

static void test_unwind_option(void **state)
{
	cs_options_t o;

	(void)state;
	unwind_env = NULL;
	assert_int_equal(cs_options_load(&o, get, warn), 0);
	assert_int_equal(o.unwind, CS_UNWIND_LIBUNWIND);
	unwind_env = "fp";
	assert_int_equal(cs_options_load(&o, get, warn), 0);
	assert_int_equal(o.unwind, CS_UNWIND_FP);
	unwind_env = "frames";
	assert_int_equal(cs_options_load(&o, get, warn), 1);
	assert_int_equal(warnings_seen, 1);
	assert_int_equal(o.unwind, CS_UNWIND_LIBUNWIND);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_walks_the_whole_chain),
		cmocka_unit_test(test_stops_at_a_bad_link),
		cmocka_unit_test(test_maps_end_finds_the_mapping),
		cmocka_unit_test(test_unwind_option),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
