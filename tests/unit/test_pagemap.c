/* SPDX-License-Identifier: MIT */
/* Unit tests: pagemap entry decoding and /proc/PID/maps line parsing. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <string.h>
#include <sys/mman.h>
#include <cmocka.h>
#include "maps.h"
#include "pagemap.h"

static void test_private_present_page(void **state)
{
	uint64_t e = CS_PM_PRESENT | CS_PM_EXCLUSIVE | 0x1234;

	(void)state;
	assert_true(cs_pm_private(e));
	assert_int_equal(cs_pm_pfn(e), 0x1234);
}

static void test_file_and_shared_pages_are_not_private(void **state)
{
	(void)state;
	assert_false(cs_pm_private(CS_PM_PRESENT | CS_PM_FILE));
	assert_false(cs_pm_private(0));
	assert_true(cs_pm_private(CS_PM_SWAPPED));
	assert_false(cs_pm_private(CS_PM_SWAPPED | CS_PM_FILE));
}

static void test_pfn_hidden_or_absent(void **state)
{
	(void)state;
	assert_int_equal(cs_pm_pfn(CS_PM_PRESENT), 0);        /* no CAP_SYS_ADMIN: zeroed */
	assert_int_equal(cs_pm_pfn(CS_PM_SWAPPED | 0x55), 0); /* swap entry, not a frame */
	assert_int_equal(cs_pm_pfn(CS_PM_PRESENT | CS_PM_SOFT_DIRTY | ((1ull << 55) - 1)),
			 (1ull << 55) - 1);
}

static void test_bit_positions(void **state)
{
	(void)state;
	assert_true(CS_PM_SOFT_DIRTY == 1ull << 55);
	assert_true(CS_PM_EXCLUSIVE == 1ull << 56);
	assert_true(CS_PM_FILE == 1ull << 61);
	assert_true(CS_PM_PRESENT == 1ull << 63);
	assert_int_equal(sizeof(struct pm_scan_arg), 96);
	assert_int_equal(sizeof(struct page_region), 24);
}

static void parse(const char *line, cs_vma_t *v, int want)
{
	assert_int_equal(cs_maps_parse_line(line, strlen(line), v), want);
}

static void test_maps_file_line(void **state)
{
	cs_vma_t v;

	(void)state;
	parse("7f0a12345000-7f0a12347000 rw-p 0001b000 fe:00 5308626                    "
	      "/usr/lib/x86_64-linux-gnu/libc.so.6",
	      &v, 0);
	assert_true(v.start == 0x7f0a12345000ull);
	assert_true(v.end == 0x7f0a12347000ull);
	assert_true(v.offset == 0x1b000);
	assert_int_equal(v.prot, PROT_READ | PROT_WRITE);
	assert_int_equal(v.shared, 0);
	assert_string_equal(v.name, "/usr/lib/x86_64-linux-gnu/libc.so.6");
}

static void test_maps_anon_shared_and_special(void **state)
{
	cs_vma_t v;

	(void)state;
	parse("7f0000000000-7f0000001000 rw-s 00000000 00:01 42 /dev/zero (deleted)", &v, 0);
	assert_int_equal(v.shared, 1);
	assert_string_equal(v.name, "/dev/zero (deleted)");
	parse("7f0000000000-7f0000001000 rw-p 00000000 00:00 0 ", &v, 0);
	assert_string_equal(v.name, "");
	parse("7ffd00000000-7ffd00021000 rw-p 00000000 00:00 0                          [stack]",
	      &v, 0);
	assert_string_equal(v.name, "[stack]");
	parse("ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0 [vsyscall]", &v, 0);
	assert_int_equal(v.prot, PROT_EXEC);
}

static void test_maps_rejects_garbage(void **state)
{
	cs_vma_t v;

	(void)state;
	parse("", &v, -22);
	parse("zz-10 rw-p 0 0 0", &v, -22);
	parse("2000-1000 rw-p 00000000 00:00 0", &v, -22);    /* end before start */
	parse("1000-2000 rw", &v, -22);                       /* perms cut short */
	parse("11111111111111111-2 rw-p 0 00:00 0", &v, -22); /* overflow */
}

static void test_long_name_is_cut(void **state)
{
	char line[600];
	cs_vma_t v;

	(void)state;
	strcpy(line, "1000-2000 rw-p 00000000 00:00 0 /");
	memset(line + strlen(line), 'a', 500);
	line[33 + 500] = 0;
	parse(line, &v, 0);
	assert_int_equal(v.name_len, CS_VMA_NAME_MAX - 1);
	assert_int_equal(strlen(v.name), CS_VMA_NAME_MAX - 1);
}

static void test_utoa_and_proc_path(void **state)
{
	char buf[48];

	(void)state;
	assert_int_equal(cs_utoa(buf, 0), 1);
	assert_string_equal(buf, "0");
	assert_int_equal(cs_utoa(buf, 18446744073709551615ull), 20);
	assert_string_equal(buf, "18446744073709551615");
	cs_proc_path(buf, 4321, "pagemap");
	assert_string_equal(buf, "/proc/4321/pagemap");
	cs_proc_path(buf, 0, "maps");
	assert_string_equal(buf, "/proc/self/maps");
	cs_proc_path(buf, 7, "");
	assert_string_equal(buf, "/proc/7");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_private_present_page),
		cmocka_unit_test(test_file_and_shared_pages_are_not_private),
		cmocka_unit_test(test_pfn_hidden_or_absent),
		cmocka_unit_test(test_bit_positions),
		cmocka_unit_test(test_maps_file_line),
		cmocka_unit_test(test_maps_anon_shared_and_special),
		cmocka_unit_test(test_maps_rejects_garbage),
		cmocka_unit_test(test_long_name_is_cut),
		cmocka_unit_test(test_utoa_and_proc_path),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
