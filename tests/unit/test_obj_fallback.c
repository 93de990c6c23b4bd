/* SPDX-License-Identifier: MIT */
/* Unit tests: the object API without the shim (only <cowscope.h>, no library): the header's fallback. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <cowscope.h>

typedef struct pair {
	void *a, *b;
} pair_t;

static int clears;

static void pair_clear(void *obj)
{
	pair_t *p = obj;
	void *a = p->a, *b = p->b;

	clears++;
	p->a = p->b = NULL;
	cowscope_obj_decref(a);
	cowscope_obj_decref(b);
}

static const cowscope_type_t pair_type = { "pair", NULL, pair_clear };

static void test_no_shim_here(void **state)
{
	(void)state;
	assert_null((void *)cowscope_obj_new); /* the weak symbol: nothing preloaded */
}

static void test_refcounting_works(void **state)
{
	pair_t *outer = cowscope_obj_new(&pair_type, sizeof(pair_t));
	pair_t *inner = cowscope_obj_new(&pair_type, sizeof(pair_t));
	char *s = cowscope_obj_new(NULL, 32);

	(void)state;
	assert_non_null(outer);
	assert_null(outer->a); /* zeroed */
	assert_int_equal((uintptr_t)s % 16, 0);
	outer->a = inner;
	inner->a = s;
	cowscope_obj_incref(s);
	assert_int_equal(cowscope_obj_refcount(s), 2);
	assert_ptr_equal(cowscope_obj_type(outer), &pair_type);
	cowscope_obj_decref(s);
	cowscope_obj_decref(outer); /* frees outer, inner, s */
	assert_int_equal(clears, 2);
	cowscope_obj_incref(NULL);
	cowscope_obj_decref(NULL);
}

static void test_no_collector(void **state)
{
	cowscope_gc_stats_t st;
	void *o = cowscope_obj_new(&pair_type, sizeof(pair_t));

	(void)state;
	assert_int_equal(cowscope_obj_track(o), 0);
	assert_int_equal(cowscope_obj_is_tracked(o), 0);
	assert_int_equal(cowscope_obj_untrack(o), 0);
	assert_int_equal(cowscope_collect(2), COWSCOPE_NOT_LOADED);
	assert_int_equal(cowscope_freeze(), COWSCOPE_NOT_LOADED);
	assert_int_equal(cowscope_unfreeze(), COWSCOPE_NOT_LOADED);
	assert_int_equal(cowscope_gc_set_threshold(1, 1, 1), COWSCOPE_NOT_LOADED);
	assert_int_equal(cowscope_gc_stats(&st), COWSCOPE_NOT_LOADED);
	assert_int_equal(cowscope_obj_set_layout(COWSCOPE_LAYOUT_OUTOFLINE), COWSCOPE_NOT_LOADED);
	assert_int_equal(cowscope_obj_set_immortal(1), COWSCOPE_NOT_LOADED);
	assert_int_equal(cowscope_obj_layout(), COWSCOPE_LAYOUT_INLINE);
	cowscope_obj_decref(o);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_no_shim_here),
		cmocka_unit_test(test_refcounting_works),
		cmocka_unit_test(test_no_collector),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
