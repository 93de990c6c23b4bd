/* SPDX-License-Identifier: MIT */
/* Unit tests: cs_prim_pagemap_scan refuses a scan without an output vector and scans with one. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <cmocka.h>
#include "pagemap.h"
#include "prim.h"

/* vec_len 0 ("fs/proc: check p->vec_buf for NULL") never reaches the kernel: -EINVAL, not -EBADF. */
static void test_no_vector_refused(void **state)
{
	struct page_region r;
	struct pm_scan_arg a = { .size = sizeof(a),
				 .end = 4096,
				 .flags = PM_SCAN_WP_MATCHING,
				 .category_anyof_mask = PAGE_IS_PRESENT };

	(void)state;
	assert_int_equal(cs_prim_pagemap_scan(-1, &a), -EINVAL);
	a.vec = (uint64_t)(uintptr_t)&r; /* a vector of no entries is no vector */
	assert_int_equal(cs_prim_pagemap_scan(-1, &a), -EINVAL);
	a.vec = 0;
	a.vec_len = 1;
	assert_int_equal(cs_prim_pagemap_scan(-1, &a), -EINVAL);
	a.vec = (uint64_t)(uintptr_t)&r; /* now it is passed on: the bad descriptor answers */
	assert_int_equal(cs_prim_pagemap_scan(-1, &a), -EBADF);
}

/* With a vector, the present pages of a mapping: two runs around a hole. */
static void test_scan_finds_present_runs(void **state)
{
	long page = sysconf(_SC_PAGESIZE);
	char *p = mmap(NULL, 8 * (size_t)page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
		       -1, 0);
	int fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	struct page_region r[4];
	struct pm_scan_arg a = { .size = sizeof(a),
				 .start = (uint64_t)(uintptr_t)p,
				 .end = (uint64_t)(uintptr_t)(p + 8 * page),
				 .vec = (uint64_t)(uintptr_t)r,
				 .vec_len = 4,
				 .category_anyof_mask = PAGE_IS_PRESENT,
				 .return_mask = PAGE_IS_PRESENT };
	long k;

	(void)state;
	assert_true(p != MAP_FAILED && fd >= 0);
	p[0] = p[page] = p[5 * page] = 1;
	k = cs_prim_pagemap_scan(fd, &a);
	if (k == -ENOTTY || k == -EINVAL) {
		close(fd);
		skip(); /* no PAGEMAP_SCAN before Linux 6.7 */
	}
	assert_int_equal(k, 2);
	assert_int_equal(r[0].start, (uint64_t)(uintptr_t)p);
	assert_int_equal(r[0].end, (uint64_t)(uintptr_t)(p + 2 * page));
	assert_int_equal(r[1].start, (uint64_t)(uintptr_t)(p + 5 * page));
	assert_int_equal(r[1].end, (uint64_t)(uintptr_t)(p + 6 * page));
	close(fd);
	munmap(p, 8 * (size_t)page);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_no_vector_refused),
		cmocka_unit_test(test_scan_finds_present_runs),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
