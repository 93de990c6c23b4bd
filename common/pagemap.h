/* SPDX-License-Identifier: MIT */
/* /proc/PID/pagemap entries, PAGEMAP_SCAN and userfaultfd constants missing from older headers. */
#ifndef CS_PAGEMAP_H
#define CS_PAGEMAP_H

#include <stdint.h>
#include <linux/fs.h>
#include <linux/userfaultfd.h>

/* Pagemap entry bits (Documentation/admin-guide/mm/pagemap.rst). */
#define CS_PM_PFN_MASK ((1ull << 55) - 1) /* zero without CAP_SYS_ADMIN (Linux >= 4.2) */
#define CS_PM_SOFT_DIRTY (1ull << 55)
#define CS_PM_EXCLUSIVE (1ull << 56) /* mapped exactly once (Linux >= 4.2) */
#define CS_PM_UFFD_WP (1ull << 57)
#define CS_PM_FILE (1ull << 61) /* file page or shared anonymous */
#define CS_PM_SWAPPED (1ull << 62)
#define CS_PM_PRESENT (1ull << 63)

/* Present or swapped, and private (anonymous, not a file or shmem page). hook-safe. */
static inline int cs_pm_private(uint64_t e)
{
	return (e & (CS_PM_PRESENT | CS_PM_SWAPPED)) && !(e & CS_PM_FILE);
}

/* Frame number of a present page, 0 if absent or hidden. hook-safe. */
static inline uint64_t cs_pm_pfn(uint64_t e)
{
	return (e & CS_PM_PRESENT) ? (e & CS_PM_PFN_MASK) : 0;
}

/*
 * PAGEMAP_SCAN (Linux 6.7, commit 52526ca7fdb9). Debian 12's linux-libc-dev
 * (6.1) lacks it, so define the ABI here behind a guard.
 */
#ifndef PAGEMAP_SCAN
struct page_region {
	uint64_t start;
	uint64_t end;
	uint64_t categories;
};

struct pm_scan_arg {
	uint64_t size;
	uint64_t flags;
	uint64_t start;
	uint64_t end;
	uint64_t walk_end;
	uint64_t vec;
	uint64_t vec_len;
	uint64_t max_pages;
	uint64_t category_inverted;
	uint64_t category_mask;
	uint64_t category_anyof_mask;
	uint64_t return_mask;
};

#define PAGEMAP_SCAN _IOWR('f', 16, struct pm_scan_arg)
#define PAGE_IS_WPALLOWED (1 << 0)
#define PAGE_IS_WRITTEN (1 << 1)
#define PAGE_IS_FILE (1 << 2)
#define PAGE_IS_PRESENT (1 << 3)
#define PAGE_IS_SWAPPED (1 << 4)
#define PAGE_IS_PFNZERO (1 << 5)
#define PAGE_IS_HUGE (1 << 6)
#define PAGE_IS_SOFT_DIRTY (1 << 7)
#define PM_SCAN_WP_MATCHING (1 << 0)
#define PM_SCAN_CHECK_WPASYNC (1 << 1)
#endif

/*
 * PAGEMAP_SCAN on fd, the one way the shim and the analyzer make that ioctl.
 * Refuses (-EINVAL, no ioctl) an argument without an output vector: on Linux
 * 6.7 until "fs/proc: check p->vec_buf for NULL" (2025-09, sent to stable) a
 * scan with vec_len 0 dereferences NULL on huge-page ranges (an oops in the
 * user's kernel), and PM_SCAN_WP_MATCHING was the way to reach it. With a
 * vector the walk stops when it is full: callers loop on walk_end. Returns the
 * regions written or -errno. hook-safe, fork-child-safe (cs_prim contract).
 */
long cs_prim_pagemap_scan(int fd, struct pm_scan_arg *a);

/* userfaultfd features newer than Debian 12's headers (Linux 6.7). */
#ifndef UFFD_FEATURE_WP_UNPOPULATED
#define UFFD_FEATURE_WP_UNPOPULATED (1 << 13)
#endif
#ifndef UFFD_FEATURE_WP_ASYNC
#define UFFD_FEATURE_WP_ASYNC (1 << 15)
#endif
#ifndef UFFD_USER_MODE_ONLY
#define UFFD_USER_MODE_ONLY 1
#endif

#endif
