/* SPDX-License-Identifier: MIT */
/* Unit tests: record building (sizes, padding, strings, limits) and the file header. */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>
#include "record.h"

static void test_fixed_part_zeroed_and_sized(void **state)
{
	uint8_t buf[64];
	cs_recbuf_t b = { .buf = buf, .cap = sizeof(buf) };
	cs_rec_end_t *e;

	(void)state;
	memset(buf, 0xff, sizeof(buf));
	e = cs_rec_begin(&b, CS_REC_END, sizeof(*e));
	assert_non_null(e);
	assert_int_equal(e->h.type, CS_REC_END);
	assert_int_equal(e->how, 0);
	assert_int_equal(e->t_ns, 0);
	assert_int_equal(cs_rec_finish(&b), sizeof(cs_rec_end_t));
	assert_int_equal(e->h.size, sizeof(cs_rec_end_t));
}

static void test_string_is_length_prefixed_and_padded(void **state)
{
	uint8_t buf[64];
	cs_recbuf_t b = { .buf = buf, .cap = sizeof(buf) };
	uint16_t len;

	(void)state;
	cs_rec_begin(&b, CS_REC_NOTE, sizeof(cs_rec_note_t));
	assert_int_equal(cs_rec_put_str(&b, "hello", 5), 0);
	/* 16 fixed + 2 length + 5 bytes = 23, padded to 24. */
	assert_int_equal(cs_rec_finish(&b), 24);
	memcpy(&len, buf + sizeof(cs_rec_note_t), 2);
	assert_int_equal(len, 5);
	assert_memory_equal(buf + sizeof(cs_rec_note_t) + 2, "hello", 5);
	assert_int_equal(buf[23], 0);
}

static void test_overflow_refused_record_unchanged(void **state)
{
	uint8_t buf[32];
	cs_recbuf_t b = { .buf = buf, .cap = sizeof(buf) };
	char big[40] = { 0 };

	(void)state;
	cs_rec_begin(&b, CS_REC_NOTE, sizeof(cs_rec_note_t));
	assert_int_equal(cs_rec_put(&b, big, sizeof(big)), -ENOSPC);
	assert_int_equal(b.len, sizeof(cs_rec_note_t));
	assert_int_equal(cs_rec_put_str(&b, big, 15), -ENOSPC); /* 2 + 15 > 16 bytes of room */
	assert_int_equal(cs_rec_put_str(&b, big, 14), 0);
	assert_int_equal(cs_rec_finish(&b), 32);
}

static void test_fixed_part_too_big(void **state)
{
	uint8_t buf[16];
	cs_recbuf_t b = { .buf = buf, .cap = sizeof(buf) };

	(void)state;
	assert_null(cs_rec_begin(&b, CS_REC_PROC, sizeof(cs_rec_proc_t)));
	assert_null(cs_rec_begin(&b, CS_REC_PROC, 4));
}

static void test_file_header(void **state)
{
	cs_file_hdr_t h;

	(void)state;
	cs_file_hdr_init(&h, CS_FILE_SAMPLES, 1234, 2);
	assert_int_equal(sizeof(h), 32);
	assert_memory_equal(h.magic, "COWSCOPE", 8);
	assert_int_equal(h.version_major, CS_TRACE_MAJOR);
	assert_int_equal(h.version_minor, CS_TRACE_MINOR);
	assert_int_equal(h.header_bytes, 32);
	assert_int_equal(h.byte_order, 0x01020304);
	assert_int_equal(h.file_kind, CS_FILE_SAMPLES);
	assert_int_equal(h.pid, 1234);
	assert_int_equal(h.gen, 2);
}

static void test_layouts_match_the_documented_offsets(void **state)
{
	(void)state;
	assert_int_equal(sizeof(cs_rec_hdr_t), 8);
	assert_int_equal(sizeof(cs_rec_pages_t), 16);
	assert_int_equal(sizeof(cs_run_t), 16);
	assert_int_equal(sizeof(cs_rec_pfns_t), 24);
	assert_int_equal(sizeof(cs_rec_snap_t) % 8, 0);
	assert_int_equal(offsetof(cs_rec_mapping_t, seq), 32);
	assert_int_equal(sizeof(cs_rec_mapping_t), 40);
	assert_int_equal(sizeof(cs_backend_entry_t), 8);
	assert_string_equal(cs_counter_names[CS_CNT_FORKS], "forks");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fixed_part_zeroed_and_sized),
		cmocka_unit_test(test_string_is_length_prefixed_and_padded),
		cmocka_unit_test(test_overflow_refused_record_unchanged),
		cmocka_unit_test(test_fixed_part_too_big),
		cmocka_unit_test(test_file_header),
		cmocka_unit_test(test_layouts_match_the_documented_offsets),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
