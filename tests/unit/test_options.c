/* SPDX-License-Identifier: MIT */
/* Unit tests: COWSCOPE_* option table, defaults and one warning per bad value. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>
#include "options.h"
#include "cowscope/trace_format.h"

static const char *const *fake_env;
static int warnings;
static char last_warning[600];

static const char *get(const char *name)
{
	for (const char *const *e = fake_env; *e; e += 2)
		if (strcmp(e[0], name) == 0)
			return e[1];
	return NULL;
}

static void warn(const char *msg, size_t n)
{
	warnings++;
	memcpy(last_warning, msg, n + 1);
}

static int load(const char *const *env, cs_options_t *o)
{
	fake_env = env;
	warnings = 0;
	last_warning[0] = 0;
	return cs_options_load(o, get, warn);
}

static void test_defaults(void **state)
{
	static const char *const env[] = { NULL };
	cs_options_t o;

	(void)state;
	assert_int_equal(load(env, &o), 0);
	assert_string_equal(o.out, "");
	assert_int_equal(o.backend, CS_BACKEND_NONE);
	assert_int_equal(o.verbose, 0);
	assert_int_equal(o.sample_bytes, CS_DEFAULT_SAMPLE_BYTES);
	assert_int_equal(o.stack_depth, CS_DEFAULT_STACK_DEPTH);
}

static void test_good_values(void **state)
{
	static const char *const env[] = {
		"COWSCOPE_OUT", "/tmp/run", "COWSCOPE_BACKEND", "pfn", "COWSCOPE_VERBOSE", "2", NULL
	};
	cs_options_t o;

	(void)state;
	assert_int_equal(load(env, &o), 0);
	assert_string_equal(o.out, "/tmp/run");
	assert_int_equal(o.backend, CS_BACKEND_PFN);
	assert_int_equal(o.verbose, 2);
	assert_int_equal(warnings, 0);
}

static void test_every_backend_name(void **state)
{
	static const char *const names[] = { "auto", "uffd-wp", "soft-dirty", "pfn", "exclusive" };
	static const uint8_t want[] = { CS_BACKEND_NONE, CS_BACKEND_UFFD_WP, CS_BACKEND_SOFT_DIRTY,
					CS_BACKEND_PFN, CS_BACKEND_EXCLUSIVE };

	(void)state;
	for (size_t i = 0; i < 5; i++) {
		const char *env[] = { "COWSCOPE_BACKEND", names[i], NULL };
		cs_options_t o;

		assert_int_equal(load(env, &o), 0);
		assert_int_equal(o.backend, want[i]);
	}
}

static void test_bad_values_warn_once_each(void **state)
{
	static const char *const env[] = {
		"COWSCOPE_BACKEND", "magic", "COWSCOPE_VERBOSE", "9", "COWSCOPE_OUT", "", NULL
	};
	cs_options_t o;

	(void)state;
	assert_int_equal(load(env, &o), 3);
	assert_int_equal(warnings, 3);
	assert_int_equal(o.backend, CS_BACKEND_NONE);
	assert_int_equal(o.verbose, 0);
	assert_string_equal(o.out, "");
}

static void test_warning_names_variable_and_value(void **state)
{
	static const char *const env[] = { "COWSCOPE_BACKEND", "magic", NULL };
	cs_options_t o;

	(void)state;
	load(env, &o);
	assert_non_null(strstr(last_warning, "COWSCOPE_BACKEND=magic"));
	assert_non_null(strstr(last_warning, "uffd-wp"));
	assert_non_null(strstr(last_warning, "default"));
}

static void test_bad_value_keeps_other_good_ones(void **state)
{
	static const char *const env[] = { "COWSCOPE_BACKEND", "exclusive", "COWSCOPE_VERBOSE", "x",
					   NULL };
	cs_options_t o;

	(void)state;
	assert_int_equal(load(env, &o), 1);
	assert_int_equal(o.backend, CS_BACKEND_EXCLUSIVE);
	assert_int_equal(o.verbose, 0);
}

static void test_sample_bytes_and_depth(void **state)
{
	static const char *const env[] = { "COWSCOPE_SAMPLE_BYTES", "512k", "COWSCOPE_STACK_DEPTH",
					   "12", NULL };
	static const char *const exact[] = { "COWSCOPE_SAMPLE_BYTES", "1", NULL };
	static const char *const bad[] = { "COWSCOPE_SAMPLE_BYTES", "12q", "COWSCOPE_STACK_DEPTH",
					   "65", NULL };
	cs_options_t o;

	(void)state;
	assert_int_equal(load(env, &o), 0);
	assert_int_equal(o.sample_bytes, 512 * 1024);
	assert_int_equal(o.stack_depth, 12);
	assert_int_equal(load(exact, &o), 0);
	assert_int_equal(o.sample_bytes, 1);
	assert_int_equal(load(bad, &o), 2);
	assert_int_equal(o.sample_bytes, CS_DEFAULT_SAMPLE_BYTES);
	assert_int_equal(o.stack_depth, CS_DEFAULT_STACK_DEPTH);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_good_values),
		cmocka_unit_test(test_every_backend_name),
		cmocka_unit_test(test_bad_values_warn_once_each),
		cmocka_unit_test(test_warning_names_variable_and_value),
		cmocka_unit_test(test_bad_value_keeps_other_good_ones),
		cmocka_unit_test(test_sample_bytes_and_depth),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
