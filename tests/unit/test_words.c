/* SPDX-License-Identifier: MIT */
/* Unit tests: changed words (common/words.c) — the word comparison, and the COWSCOPE_DIFF options. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include "options.h"
#include "words.h"

#define PAGE 4096u
#define NW (PAGE / 8u)

static uint64_t a[NW], b[NW], bitmap[NW / 64];

static void fill(void)
{
	for (unsigned i = 0; i < NW; i++)
		a[i] = b[i] = 0x5a5a000000000000ull | i;
}

static void test_same_page_no_word(void **state)
{
	(void)state;
	fill();
	memset(bitmap, 0xff, sizeof(bitmap));
	assert_int_equal(cs_diff_words(a, b, PAGE, bitmap), 0);
	for (unsigned j = 0; j < NW / 64; j++)
		assert_true(bitmap[j] == 0);
}

static void test_changed_words_exact_bits(void **state)
{
	static const unsigned at[] = { 0, 2, 63, 64, 130, 511 };

	(void)state;
	fill();
	for (unsigned k = 0; k < sizeof(at) / sizeof(at[0]); k++)
		b[at[k]] ^= 1ull << (k * 9); /* one bit per word is a changed word */
	assert_int_equal(cs_diff_words(a, b, PAGE, bitmap), 6);
	assert_true(bitmap[0] == ((1ull << 0) | (1ull << 2) | (1ull << 63)));
	assert_true(bitmap[1] == (1ull << 0));
	assert_true(bitmap[2] == (1ull << 2));
	for (unsigned j = 3; j < 7; j++)
		assert_true(bitmap[j] == 0);
	assert_true(bitmap[7] == (1ull << 63));
}

static void test_every_word(void **state)
{
	(void)state;
	fill();
	for (unsigned i = 0; i < NW; i++)
		b[i] = ~a[i];
	assert_int_equal(cs_diff_words(a, b, PAGE, bitmap), NW);
	for (unsigned j = 0; j < NW / 64; j++)
		assert_true(bitmap[j] == ~0ull);
}

static const char *const *fake_env;
static int warnings;

static const char *get(const char *name)
{
	for (const char *const *e = fake_env; *e; e += 2)
		if (strcmp(e[0], name) == 0)
			return e[1];
	return NULL;
}

static void warn(const char *msg, size_t n)
{
	(void)msg;
	(void)n;
	warnings++;
}

static int load(const char *const *env, cs_options_t *o)
{
	fake_env = env;
	warnings = 0;
	return cs_options_load(o, get, warn);
}

static void test_diff_options(void **state)
{
	static const char *const none[] = { NULL };
	static const char *const all[] = { "COWSCOPE_DIFF", "all", "COWSCOPE_DIFF_BUDGET", "4k",
					   NULL };
	static const char *const off[] = { "COWSCOPE_DIFF", "off", NULL };
	static const char *const bad[] = { "COWSCOPE_DIFF", "1", "COWSCOPE_DIFF_BUDGET", "0",
					   NULL };
	cs_options_t o;

	(void)state;
	assert_int_equal(load(none, &o), 0);
	assert_int_equal(o.diff, CS_DIFF_AUTO);
	assert_int_equal(o.diff_budget, 0); /* CS_DIFF_DEFAULT_BUDGET */
	assert_int_equal(load(all, &o), 0);
	assert_int_equal(o.diff, CS_DIFF_ALL);
	assert_int_equal(o.diff_budget, 4096);
	assert_int_equal(load(off, &o), 0);
	assert_int_equal(o.diff, CS_DIFF_OFF);
	assert_int_equal(load(bad, &o), 2);
	assert_int_equal(warnings, 2);
	assert_int_equal(o.diff, CS_DIFF_AUTO);
	assert_int_equal(o.diff_budget, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_same_page_no_word),
		cmocka_unit_test(test_changed_words_exact_bits),
		cmocka_unit_test(test_every_word),
		cmocka_unit_test(test_diff_options),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
