/* SPDX-License-Identifier: MIT */
/* Unit tests for common/evpack.c: packed allocation events (format 1.7). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include "evpack.h"

static size_t pack(const cs_pev_t *ev, size_t n, uint64_t seq0, uint8_t *buf)
{
	cs_evenc_t e;
	size_t len = 0;

	cs_evenc_start(&e, seq0);
	for (size_t i = 0; i < n; i++) {
		size_t k = cs_evenc_put(&e, buf + len, &ev[i]);

		assert_true(k >= 1 && k <= CS_PEV_MAX_BYTES);
		len += k;
	}
	return len;
}

static void same(const cs_pev_t *a, const cs_pev_t *b)
{
	assert_int_equal(a->seq, b->seq);
	assert_int_equal(a->ptr, b->ptr);
	assert_int_equal(a->len, b->len);
	assert_int_equal(a->what, b->what);
	assert_int_equal(a->kind, b->kind);
	assert_int_equal(a->what == CS_PEV_ALLOC ? a->stack : 0, b->stack);
}

/* Mixed kinds, seqs going back (a realloc's free), extreme values: all come back. */
static void test_round_trip(void **state)
{
	const cs_pev_t ev[] = {
		{ 100, 0x7f0000001000, 24, 3, CS_PEV_ALLOC, CS_ALLOC_MALLOC },
		{ 101, 0x7f0000001000, 0, 0, CS_PEV_FREE, CS_FREE_FREE },
		{ 99, 0x10, 1 << 20, 0, CS_PEV_FREE, CS_FREE_MUNMAP },
		{ 102, UINT64_MAX - 15, UINT64_MAX, UINT32_MAX, CS_PEV_ALLOC, CS_ALLOC_MMAP },
		{ UINT64_MAX, 0, 0, 0, CS_PEV_FREE, CS_FREE_MREMAP },
		{ 0, UINT64_MAX, 7, 1, CS_PEV_ALLOC, 7 /* a kind of a newer minor */ },
	};
	uint8_t buf[sizeof(ev) / sizeof(ev[0]) * CS_PEV_MAX_BYTES];
	size_t n = pack(ev, 6, 99, buf);
	cs_evdec_t d;
	cs_pev_t got;

	(void)state;
	cs_evdec_start(&d, buf, n, 99);
	for (size_t i = 0; i < 6; i++) {
		assert_int_equal(cs_evdec_next(&d, &got), 1);
		same(&ev[i], &got);
	}
	assert_int_equal(cs_evdec_next(&d, &got), 0);
}

/* The common case is small: consecutive seqs need no seq field, near pointers 1-2 bytes. */
static void test_compact(void **state)
{
	const cs_pev_t ev[] = {
		{ 5, 0x555500001000, 32, 1, CS_PEV_ALLOC, CS_ALLOC_MALLOC },
		{ 6, 0x555500001030, 48, 1, CS_PEV_ALLOC, CS_ALLOC_MALLOC },
		{ 7, 0x555500001000, 0, 0, CS_PEV_FREE, CS_FREE_FREE },
	};
	uint8_t buf[3 * CS_PEV_MAX_BYTES];
	cs_evenc_t e;

	(void)state;
	cs_evenc_start(&e, 4);
	assert_int_equal(cs_evenc_put(&e, buf, &ev[0]), 1 + 7 + 1 + 1);
	assert_int_equal(buf[0],
			 CS_PEV_ALLOC | CS_ALLOC_MALLOC << CS_PEV_KIND_SHIFT | CS_PEV_SEQ_NEXT);
	assert_int_equal(cs_evenc_put(&e, buf, &ev[1]), 1 + 1 + 1 + 1); /* +0x30: zigzag 0x60 */
	assert_int_equal(cs_evenc_put(&e, buf, &ev[2]), 1 + 1 + 1);     /* -0x30: zigzag 0x5f */
}

/* Cut or malformed bytes are refused, never read past the end. */
static void test_malformed(void **state)
{
	const cs_pev_t ev = { 9, 0x1234567890, 300, 70000, CS_PEV_ALLOC, CS_ALLOC_MALLOC };
	uint8_t buf[CS_PEV_MAX_BYTES], bad[12];
	size_t n = pack(&ev, 1, 0, buf);
	cs_evdec_t d;
	cs_pev_t got;

	(void)state;
	for (size_t cut = 1; cut < n; cut++) {
		cs_evdec_start(&d, buf, cut, 0);
		assert_int_equal(cs_evdec_next(&d, &got), -EINVAL);
	}
	bad[0] = 0x40 | CS_PEV_ALLOC; /* reserved bit */
	cs_evdec_start(&d, bad, 1, 0);
	assert_int_equal(cs_evdec_next(&d, &got), -EINVAL);
	bad[0] = 3; /* what 3 */
	cs_evdec_start(&d, bad, 1, 0);
	assert_int_equal(cs_evdec_next(&d, &got), -EINVAL);
	memset(bad, 0xff, sizeof(bad)); /* an 11-byte varint */
	bad[0] = CS_PEV_FREE;
	cs_evdec_start(&d, bad, sizeof(bad), 0);
	assert_int_equal(cs_evdec_next(&d, &got), -EINVAL);
	bad[0] = CS_PEV_ALLOC | CS_PEV_SEQ_NEXT; /* a stack id above 32 bits */
	bad[1] = 0, bad[2] = 0;
	memcpy(bad + 3, "\x80\x80\x80\x80\x10", 5);
	cs_evdec_start(&d, bad, 8, 0);
	assert_int_equal(cs_evdec_next(&d, &got), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_compact),
		cmocka_unit_test(test_malformed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
