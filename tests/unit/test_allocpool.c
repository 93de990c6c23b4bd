/* SPDX-License-Identifier: MIT */
/* Unit tests: the bootstrap pool that serves allocations made while the allocator is resolved. */
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "allocpool.h"

#define CAP 8192u

static uint8_t mem[CAP] __attribute__((aligned(CS_POOL_MAX_ALIGN)));
static cs_pool_t pool;

static int setup(void **state)
{
	(void)state;
	memset(mem, 0xaa, sizeof(mem));
	pool = (cs_pool_t){ .base = mem, .cap = CAP };
	return 0;
}

static void test_blocks_are_aligned_distinct_and_sized(void **state)
{
	void *a = cs_pool_alloc(&pool, 10, 0), *b = cs_pool_alloc(&pool, 100, 64);
	void *c = cs_pool_alloc(&pool, 0, 16);

	(void)state;
	assert_non_null(a);
	assert_non_null(b);
	assert_non_null(c);
	assert_int_equal((uintptr_t)a % CS_POOL_ALIGN, 0);
	assert_int_equal((uintptr_t)b % 64, 0);
	assert_true((uint8_t *)b >= (uint8_t *)a + 10 && (uint8_t *)c >= (uint8_t *)b + 100);
	assert_int_equal(cs_pool_size(&pool, a), 10);
	assert_int_equal(cs_pool_size(&pool, b), 100);
	assert_int_equal(cs_pool_size(&pool, c), 0);
	assert_true(cs_pool_owns(&pool, a) && cs_pool_owns(&pool, c));
	assert_true(cs_pool_owns(&pool, mem + CAP - 1));
	assert_false(cs_pool_owns(&pool, mem + CAP));
	assert_false(cs_pool_owns(&pool, NULL));
	assert_false(cs_pool_owns(&pool, (void *)((uintptr_t)mem - 1)));
}

static void test_page_alignment_and_refusals(void **state)
{
	void *p = cs_pool_alloc(&pool, 5, CS_POOL_MAX_ALIGN);

	(void)state;
	assert_non_null(p);
	assert_int_equal((uintptr_t)p % CS_POOL_MAX_ALIGN, 0);
	assert_null(cs_pool_alloc(&pool, 8, 2 * CS_POOL_MAX_ALIGN)); /* too large an alignment */
	assert_null(cs_pool_alloc(&pool, 8, 48));                    /* not a power of two */
	assert_null(cs_pool_alloc(&pool, CAP + 1, 16));              /* larger than the pool */
	assert_null(cs_pool_alloc(&pool, SIZE_MAX, 16));
}

static void test_full_pool_says_no(void **state)
{
	size_t got = 0;

	(void)state;
	while (cs_pool_alloc(&pool, 100, 16))
		got++;
	/* each block: 16-byte header + 112 bytes */
	assert_int_equal(got, CAP / 128);
	assert_null(cs_pool_alloc(&pool, 1, 16));
}

static void test_newest_block_is_given_back(void **state)
{
	void *a = cs_pool_alloc(&pool, 40, 16), *b = cs_pool_alloc(&pool, 40, 16), *c;
	size_t used;

	(void)state;
	cs_pool_free(&pool, b);
	c = cs_pool_alloc(&pool, 40, 16);
	assert_ptr_equal(c, b); /* the loader's error strings come and go: no growth */
	used = pool.used;
	cs_pool_free(&pool, a); /* not the newest: kept */
	assert_int_equal(pool.used, used);
	cs_pool_free(&pool, c);
	cs_pool_free(&pool, a); /* now a is the newest */
	assert_int_equal(pool.used, 0);
}

#define THREADS 4
#define PER_THREAD 16

static void *grab(void *arg)
{
	void **out = arg;

	for (int i = 0; i < PER_THREAD; i++) {
		out[i] = cs_pool_alloc(&pool, 24, 16);
		if (out[i])
			memset(out[i], 0x11 * (i + 1), 24);
	}
	return NULL;
}

static int cmp_ptr(const void *x, const void *y)
{
	uintptr_t a = (uintptr_t) * (void *const *)x, b = (uintptr_t) * (void *const *)y;

	return (a > b) - (a < b);
}

/* Threads allocating at once get disjoint blocks (one CAS per block). */
static void test_threads_get_disjoint_blocks(void **state)
{
	void *got[THREADS][PER_THREAD], *all[THREADS * PER_THREAD];
	pthread_t t[THREADS];

	(void)state;
	for (int i = 0; i < THREADS; i++)
		assert_int_equal(pthread_create(&t[i], NULL, grab, got[i]), 0);
	for (int i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	memcpy(all, got, sizeof(all));
	qsort(all, THREADS * PER_THREAD, sizeof(all[0]), cmp_ptr);
	for (int i = 0; i < THREADS * PER_THREAD; i++) {
		assert_non_null(all[i]);
		if (i)
			assert_true((uint8_t *)all[i] >= (uint8_t *)all[i - 1] + 24 + 16);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_blocks_are_aligned_distinct_and_sized, setup),
		cmocka_unit_test_setup(test_page_alignment_and_refusals, setup),
		cmocka_unit_test_setup(test_full_pool_says_no, setup),
		cmocka_unit_test_setup(test_newest_block_is_given_back, setup),
		cmocka_unit_test_setup(test_threads_get_disjoint_blocks, setup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
