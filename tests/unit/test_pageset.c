/* SPDX-License-Identifier: MIT */
/* Unit tests: page sets (unsorted, overlapping, sorted runs), their set algebra, and the sort and bit-count helpers. */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include "bits.h"
#include "pageset.h"
#include "sort.h"

/* Build a set from [lo, hi) pairs in the order given, then normalize it. */
static cs_pageset_t make(size_t n, const uint64_t (*r)[2])
{
	cs_pageset_t s = { 0 };

	for (size_t i = 0; i < n; i++)
		assert_int_equal(cs_pageset_add(&s, r[i][0], r[i][1]), 0);
	cs_pageset_normalize(&s);
	return s;
}

#define MAKE(...)                                                                \
	make(sizeof((const uint64_t[][2]){ __VA_ARGS__ }) / sizeof(uint64_t[2]), \
	     (const uint64_t[][2]){ __VA_ARGS__ })

static void expect_runs(const cs_pageset_t *s, size_t n, const uint64_t (*r)[2])
{
	assert_int_equal(s->n, n);
	assert_false(s->dirty);
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(s->r[i].lo, r[i][0]);
		assert_int_equal(s->r[i].hi, r[i][1]);
	}
}

#define EXPECT(s, ...)                                                                       \
	expect_runs((s), sizeof((const uint64_t[][2]){ __VA_ARGS__ }) / sizeof(uint64_t[2]), \
		    (const uint64_t[][2]){ __VA_ARGS__ })

static void test_normalize_unsorted_overlapping(void **state)
{
	cs_pageset_t s = MAKE({ 10, 20 }, { 5, 12 }, { 30, 31 }, { 20, 25 }, { 40, 40 }, { 7, 8 });

	(void)state;
	EXPECT(&s, { 5, 25 }, { 30, 31 });
	assert_int_equal(cs_pageset_count(&s), 21);
	cs_pageset_free(&s);
}

static void test_in_order_additions_stay_normalized(void **state)
{
	cs_pageset_t s = { 0 };

	(void)state;
	assert_int_equal(cs_pageset_add(&s, 0, 4), 0);
	assert_int_equal(cs_pageset_add(&s, 4, 6), 0); /* adjacent: merged */
	assert_int_equal(cs_pageset_add(&s, 5, 9), 0); /* overlapping: merged */
	assert_int_equal(cs_pageset_add(&s, 10, 11), 0);
	assert_false(s.dirty);
	EXPECT(&s, { 0, 9 }, { 10, 11 });
	assert_int_equal(cs_pageset_add(&s, 2, 3), 0); /* out of order */
	assert_true(s.dirty);
	cs_pageset_normalize(&s);
	EXPECT(&s, { 0, 9 }, { 10, 11 });
	assert_int_equal(cs_pageset_count(&s), 10);
	cs_pageset_free(&s);
}

static void test_union(void **state)
{
	cs_pageset_t a = MAKE({ 0, 10 }, { 20, 30 }), b = MAKE({ 5, 25 }, { 40, 50 }), u = { 0 };

	(void)state;
	assert_int_equal(cs_pageset_union(&u, &a, &b), 0);
	EXPECT(&u, { 0, 30 }, { 40, 50 });
	assert_int_equal(cs_pageset_count(&u), 40);
	cs_pageset_free(&a);
	cs_pageset_free(&b);
	cs_pageset_free(&u);
}

static void test_intersect(void **state)
{
	cs_pageset_t a = MAKE({ 0, 10 }, { 20, 30 }), b = MAKE({ 5, 25 }, { 40, 50 }), x = { 0 };

	(void)state;
	assert_int_equal(cs_pageset_intersect(&x, &a, &b), 0);
	EXPECT(&x, { 5, 10 }, { 20, 25 });
	assert_int_equal(cs_pageset_count(&x), 10);
	cs_pageset_free(&a);
	cs_pageset_free(&b);
	cs_pageset_free(&x);
}

static void test_difference_both_ways(void **state)
{
	cs_pageset_t a = MAKE({ 0, 10 }, { 20, 30 }), b = MAKE({ 5, 25 }, { 40, 50 }), d = { 0 };

	(void)state;
	assert_int_equal(cs_pageset_diff(&d, &a, &b), 0);
	EXPECT(&d, { 0, 5 }, { 25, 30 });
	assert_int_equal(cs_pageset_count(&d), 10);
	assert_int_equal(cs_pageset_diff(&d, &b, &a), 0);
	EXPECT(&d, { 10, 20 }, { 40, 50 });
	assert_int_equal(cs_pageset_count(&d), 20);
	cs_pageset_free(&a);
	cs_pageset_free(&b);
	cs_pageset_free(&d);
}

static void test_difference_holes_and_spans(void **state)
{
	cs_pageset_t a = MAKE({ 0, 10 }, { 12, 20 }, { 22, 30 }), b = MAKE({ 5, 25 }), d = { 0 };
	cs_pageset_t c = MAKE({ 0, 100 }), holes = MAKE({ 1, 2 }, { 50, 60 }, { 99, 200 });

	(void)state;
	assert_int_equal(cs_pageset_diff(&d, &a, &b), 0);
	EXPECT(&d, { 0, 5 }, { 25, 30 });
	assert_int_equal(cs_pageset_diff(&d, &c, &holes), 0);
	EXPECT(&d, { 0, 1 }, { 2, 50 }, { 60, 99 });
	assert_int_equal(cs_pageset_count(&d), 88);
	cs_pageset_free(&a);
	cs_pageset_free(&b);
	cs_pageset_free(&c);
	cs_pageset_free(&holes);
	cs_pageset_free(&d);
}

static void test_result_may_alias_an_input(void **state)
{
	cs_pageset_t a = MAKE({ 0, 10 }, { 20, 30 }), b = MAKE({ 5, 25 });

	(void)state;
	assert_int_equal(cs_pageset_intersect(&a, &a, &b), 0);
	EXPECT(&a, { 5, 10 }, { 20, 25 });
	assert_int_equal(cs_pageset_union(&b, &a, &b), 0);
	EXPECT(&b, { 5, 25 });
	assert_int_equal(cs_pageset_diff(&b, &b, &b), 0);
	assert_int_equal(b.n, 0);
	cs_pageset_free(&a);
	cs_pageset_free(&b);
}

static void test_count_within(void **state)
{
	cs_pageset_t a = MAKE({ 0, 10 }, { 20, 30 });

	(void)state;
	assert_int_equal(cs_pageset_count_within(&a, 5, 25), 10);
	assert_int_equal(cs_pageset_count_within(&a, 0, 100), 20);
	assert_int_equal(cs_pageset_count_within(&a, 10, 20), 0);
	assert_int_equal(cs_pageset_count_within(&a, 29, 31), 1);
	assert_int_equal(cs_pageset_count_within(&a, 9, 21), 2);
	assert_int_equal(cs_pageset_count_within(&a, 30, 30), 0);
	assert_true(cs_pageset_contains(&a, 0));
	assert_true(cs_pageset_contains(&a, 29));
	assert_false(cs_pageset_contains(&a, 10));
	assert_false(cs_pageset_contains(&a, 30));
	cs_pageset_free(&a);
}

static void test_empty_sets(void **state)
{
	cs_pageset_t e = { 0 }, a = MAKE({ 3, 7 }), out = { 0 };

	(void)state;
	assert_int_equal(cs_pageset_count(&e), 0);
	assert_int_equal(cs_pageset_count_within(&e, 0, UINT64_MAX), 0);
	assert_int_equal(cs_pageset_union(&out, &e, &a), 0);
	EXPECT(&out, { 3, 7 });
	assert_int_equal(cs_pageset_intersect(&out, &e, &a), 0);
	assert_int_equal(out.n, 0);
	assert_int_equal(cs_pageset_diff(&out, &a, &e), 0);
	EXPECT(&out, { 3, 7 });
	assert_int_equal(cs_pageset_diff(&out, &e, &a), 0);
	assert_int_equal(out.n, 0);
	assert_int_equal(cs_pageset_add(&out, 9, 9), 0); /* empty run: nothing */
	assert_int_equal(out.n, 0);
	cs_pageset_free(&a);
	cs_pageset_free(&out);
}

static void test_dirty_input_is_refused(void **state)
{
	cs_pageset_t a = { 0 }, b = MAKE({ 0, 1 }), out = { 0 };

	(void)state;
	assert_int_equal(cs_pageset_add(&a, 10, 11), 0);
	assert_int_equal(cs_pageset_add(&a, 0, 1), 0);
	assert_true(a.dirty);
	assert_int_equal(cs_pageset_union(&out, &a, &b), -EINVAL);
	assert_int_equal(cs_pageset_intersect(&out, &b, &a), -EINVAL);
	assert_int_equal(cs_pageset_diff(&out, &a, &b), -EINVAL);
	cs_pageset_free(&a);
	cs_pageset_free(&b);
}

static void test_extreme_page_numbers(void **state)
{
	cs_pageset_t a = MAKE({ UINT64_MAX - 10, UINT64_MAX }, { 0, 1 });
	cs_pageset_t b = MAKE({ UINT64_MAX - 5, UINT64_MAX });
	cs_pageset_t d = { 0 };

	(void)state;
	assert_int_equal(cs_pageset_count(&a), 11);
	assert_int_equal(cs_pageset_diff(&d, &a, &b), 0);
	EXPECT(&d, { 0, 1 }, { UINT64_MAX - 10, UINT64_MAX - 5 });
	assert_int_equal(cs_pageset_count_within(&a, UINT64_MAX - 1, UINT64_MAX), 1);
	cs_pageset_free(&a);
	cs_pageset_free(&b);
	cs_pageset_free(&d);
}

static void test_copy(void **state)
{
	cs_pageset_t a = MAKE({ 1, 2 }, { 4, 8 }), c = MAKE({ 100, 200 });

	(void)state;
	assert_int_equal(cs_pageset_copy(&c, &a), 0);
	EXPECT(&c, { 1, 2 }, { 4, 8 });
	cs_pageset_free(&a);
	cs_pageset_free(&c);
}

/* Many single pages in a shuffled order: the same set as one run. */
static void test_many_shuffled_pages(void **state)
{
	cs_pageset_t s = { 0 };
	uint64_t x = 1;

	(void)state;
	for (uint64_t i = 0; i < 4096; i++) {
		x = (x * 1105 + 17) % 4096; /* a full-period permutation of 0..4095 */
		assert_int_equal(cs_pageset_add(&s, x, x + 1), 0);
	}
	cs_pageset_normalize(&s);
	EXPECT(&s, { 0, 4096 });
	cs_pageset_free(&s);
}

static int ncmp; /* comparisons made by cmp_u64 */

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	ncmp++;
	return (x > y) - (x < y);
}

/* cs_sort on a sorted array: n − 1 comparisons (no qsort), the array unchanged. */
static void test_sort_skips_sorted_input(void **state)
{
	uint64_t v[] = { 1, 2, 2, 5, 9, 9, 40 };

	(void)state;
	assert_true(cs_is_sorted(v, 7, sizeof(*v), cmp_u64));
	ncmp = 0;
	cs_sort(v, 7, sizeof(*v), cmp_u64);
	assert_int_equal(ncmp, 6);
	assert_int_equal(v[0], 1);
	assert_int_equal(v[3], 5);
	assert_int_equal(v[6], 40);
	assert_true(cs_is_sorted(v, 0, sizeof(*v), cmp_u64));
	assert_true(cs_is_sorted(v, 1, sizeof(*v), cmp_u64));
}

/* cs_sort on an unsorted array (out of order only at the end): sorted all the same. */
static void test_sort_falls_back_when_unsorted(void **state)
{
	uint64_t v[] = { 3, 4, 8, 10, 11, 2 }, want[] = { 2, 3, 4, 8, 10, 11 };

	(void)state;
	assert_false(cs_is_sorted(v, 6, sizeof(*v), cmp_u64));
	cs_sort(v, 6, sizeof(*v), cmp_u64);
	for (size_t i = 0; i < 6; i++)
		assert_int_equal(v[i], want[i]);
}

/* Runs written into r[] directly (as a loader does, dirty unset) out of order still get sorted. */
static void test_normalize_direct_unsorted_runs(void **state)
{
	cs_prange_t r[] = { { 50, 60 }, { 10, 20 }, { 20, 25 }, { 5, 8 }, { 55, 70 } };
	cs_pageset_t s = { .r = r, .n = 5, .cap = 5 };

	(void)state;
	cs_pageset_normalize(&s);
	EXPECT(&s, { 5, 8 }, { 10, 25 }, { 50, 70 });
}

/* Sorted runs written directly that touch or overlap: merged without sorting. */
static void test_normalize_direct_sorted_runs(void **state)
{
	cs_prange_t r[] = { { 1, 3 }, { 3, 4 }, { 6, 9 }, { 6, 12 }, { 11, 13 }, { 20, 21 } };
	cs_pageset_t s = { .r = r, .n = 6, .cap = 6 };

	(void)state;
	cs_pageset_normalize(&s);
	EXPECT(&s, { 1, 4 }, { 6, 13 }, { 20, 21 });
}

/* The cursor form answers as cs_pageset_contains does, in ascending and in any order. */
static void test_contains_from(void **state)
{
	cs_pageset_t s = MAKE({ 10, 20 }, { 30, 31 }, { 100, 200 });
	size_t at = 0;
	uint64_t x = 7;

	(void)state;
	for (uint64_t p = 0; p < 220; p++)
		assert_int_equal(cs_pageset_contains_from(&s, &at, p), cs_pageset_contains(&s, p));
	at = 0;
	for (uint64_t p = 220; p-- > 0;)
		assert_int_equal(cs_pageset_contains_from(&s, &at, p), cs_pageset_contains(&s, p));
	for (int i = 0; i < 1000; i++) {
		x = (x * 1103515245 + 12345) % 256;
		assert_int_equal(cs_pageset_contains_from(&s, &at, x), cs_pageset_contains(&s, x));
	}
	assert_false(cs_pageset_contains_from(&s, &at, 20));
	assert_true(cs_pageset_contains_from(&s, &at, 30));
	assert_true(cs_pageset_contains_from(&s, &at, 199));
	assert_false(cs_pageset_contains_from(&s, &at, 200));
	at = 0;
	assert_false(cs_pageset_contains_from(&(cs_pageset_t){ 0 }, &at, 0));
	cs_pageset_free(&s);
}

/* upper_bound: first element above x; the cursor form agrees with it in any query order. */
static void test_upper_bound(void **state)
{
	const uint64_t v[] = { 2, 4, 4, 4, 9, 20, 20, 31, 40, 40, 41, 60, 77 };
	size_t n = sizeof(v) / sizeof(*v), at = 0;
	uint64_t x = 3;

	(void)state;
	assert_int_equal(cs_upper_bound_u64(v, n, 0), 0);
	assert_int_equal(cs_upper_bound_u64(v, n, 2), 1);
	assert_int_equal(cs_upper_bound_u64(v, n, 4), 4);
	assert_int_equal(cs_upper_bound_u64(v, n, 39), 8);
	assert_int_equal(cs_upper_bound_u64(v, n, 77), n);
	assert_int_equal(cs_upper_bound_u64(v, 0, 5), 0);
	for (uint64_t q = 0; q < 90; q++) /* ascending: walks and gallops */
		assert_int_equal(cs_upper_bound_from(v, n, &at, q), cs_upper_bound_u64(v, n, q));
	for (uint64_t q = 90; q-- > 0;) /* descending: searched afresh */
		assert_int_equal(cs_upper_bound_from(v, n, &at, q), cs_upper_bound_u64(v, n, q));
	for (int i = 0; i < 2000; i++) {
		x = (x * 6364136223846793005ull + 1442695040888963407ull) >> 33;
		assert_int_equal(cs_upper_bound_from(v, n, &at, x % 100),
				 cs_upper_bound_u64(v, n, x % 100));
	}
	at = 0; /* one jump from the start to the end gallops there */
	assert_int_equal(cs_upper_bound_from(v, n, &at, 76), n - 1);
	assert_int_equal(at, n - 1);
}

static void test_popcount(void **state)
{
	const uint64_t w[] = { 0, ~0ull, 1ull << 63, 0x5555555555555555ull, 0xf0f0ull, 1 };

	(void)state;
	assert_int_equal(cs_popcount64(0), 0);
	assert_int_equal(cs_popcount64(~0ull), 64);
	assert_int_equal(cs_popcount64(1ull << 63), 1);
	assert_int_equal(cs_popcount64(0x5555555555555555ull), 32);
	assert_int_equal(cs_popcount64(0x8000000000000001ull), 2);
	assert_int_equal(cs_popcount_words(w, 6), 0 + 64 + 1 + 32 + 8 + 1);
	assert_int_equal(cs_popcount_words(w, 0), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_normalize_unsorted_overlapping),
		cmocka_unit_test(test_in_order_additions_stay_normalized),
		cmocka_unit_test(test_union),
		cmocka_unit_test(test_intersect),
		cmocka_unit_test(test_difference_both_ways),
		cmocka_unit_test(test_difference_holes_and_spans),
		cmocka_unit_test(test_result_may_alias_an_input),
		cmocka_unit_test(test_count_within),
		cmocka_unit_test(test_empty_sets),
		cmocka_unit_test(test_dirty_input_is_refused),
		cmocka_unit_test(test_extreme_page_numbers),
		cmocka_unit_test(test_copy),
		cmocka_unit_test(test_many_shuffled_pages),
		cmocka_unit_test(test_sort_skips_sorted_input),
		cmocka_unit_test(test_sort_falls_back_when_unsorted),
		cmocka_unit_test(test_normalize_direct_unsorted_runs),
		cmocka_unit_test(test_normalize_direct_sorted_runs),
		cmocka_unit_test(test_contains_from),
		cmocka_unit_test(test_upper_bound),
		cmocka_unit_test(test_popcount),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
