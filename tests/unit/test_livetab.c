/* SPDX-License-Identifier: MIT */
/* Unit tests for shim/alloc/livetab.c: the live sampled blocks behind LIVESET checkpoints. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "livetab.h"

#define CAP_BYTES (4096u * CS_LIVETAB_BYTES_PER)
#define NPTRS 6000u

static cs_live_t entry(uint64_t ptr, uint64_t seq)
{
	return (cs_live_t){ .ptr = ptr, .seq = seq, .size = seq * 3, .stack = (uint32_t)seq };
}

/* 200k random puts and takes of 6,000 clustered pointers against a plain array: same set. */
static void test_matches_reference(void **state)
{
	static uint64_t truth[NPTRS]; /* seq + 1 when live */
	static uint8_t mem[CAP_BYTES];
	cs_livetab_t t;
	uint64_t rng = 12345, live = 0;

	(void)state;
	assert_int_equal(cs_livetab_init(&t, mem, sizeof(mem)), 0);
	assert_int_equal(t.cap, 4096);
	for (uint64_t seq = 1; seq <= 200000; seq++) {
		uint32_t k;
		uint64_t ptr;

		rng = rng * 6364136223846793005ull + 1442695040888963407ull;
		k = (uint32_t)(rng >> 33) % NPTRS;
		ptr = 0x7f0000001000ull + 16ull * k +
			(k & 7) * (1ull << 24); /* bloom-style aliases */
		if (truth[k]) {
			assert_int_equal(cs_livetab_take(&t, ptr), 1);
			truth[k] = 0;
			live--;
		} else if (live < 4096) {
			cs_live_t e = entry(ptr, seq);

			assert_int_equal(cs_livetab_put(&t, &e), 0);
			truth[k] = seq + 1;
			live++;
		} else
			assert_int_equal(cs_livetab_take(&t, ptr), 0);
		assert_int_equal(t.count, live);
	}
	for (uint32_t k = 0; k < NPTRS; k++) {
		uint64_t ptr = 0x7f0000001000ull + 16ull * k + (k & 7) * (1ull << 24);
		const cs_live_t *e = cs_livetab_get(&t, ptr);

		if (!truth[k]) {
			assert_null(e);
			continue;
		}
		assert_non_null(e);
		assert_int_equal(e->seq, truth[k] - 1);
		assert_int_equal(e->size, (truth[k] - 1) * 3);
	}
}

/* Full: -ENOSPC and nothing changed; replacing a held pointer still works; the index grew. */
static void test_full(void **state)
{
	static uint8_t mem[CAP_BYTES];
	cs_livetab_t t;
	cs_live_t e;

	(void)state;
	assert_int_equal(cs_livetab_init(&t, mem, sizeof(mem)), 0);
	for (uint32_t k = 0; k < t.cap; k++) {
		e = entry(0x1000 + 32ull * k, k + 1);
		assert_int_equal(cs_livetab_put(&t, &e), 0);
	}
	assert_int_equal(t.nslots, t.max_slots);
	e = entry(0x1000 + 32ull * t.cap, 1);
	assert_int_equal(cs_livetab_put(&t, &e), -ENOSPC);
	assert_int_equal(t.count, t.cap);
	e = entry(0x1000, 99);
	assert_int_equal(cs_livetab_put(&t, &e), 0);
	assert_int_equal(cs_livetab_get(&t, 0x1000)->seq, 99);
	assert_int_equal(t.count, t.cap);
}

/* Too little memory: -ENOMEM. */
static void test_too_small(void **state)
{
	static uint8_t mem[1024];
	cs_livetab_t t;

	(void)state;
	assert_int_equal(cs_livetab_init(&t, mem, sizeof(mem)), -ENOMEM);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_matches_reference),
		cmocka_unit_test(test_full),
		cmocka_unit_test(test_too_small),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
