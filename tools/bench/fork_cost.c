/* SPDX-License-Identifier: MIT */
/* Benchmark: fork, arming and harvest cost for a given amount of tracked memory, and the kernel primitives they are made of. */
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <linux/userfaultfd.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cowscope.h>
#include "pagemap.h" /* PAGEMAP_SCAN and userfaultfd flags newer than Debian 12's headers */

/*
 * Usage: fork_cost_bin fork MIB   (once, with or without the shim)
 *   One fork of a process with MIB MiB present. Prints one line:
 *   "ret_wall start_wall start_cpu snap_wall snap_cpu exit_cpu private_dirty_kib"
 *   (ms, except the last): fork() to its return in the parent (wall); fork() to
 *   the child's first instruction (wall) and the child's CPU until then (with
 *   the shim: arming and the fork snapshot); one cowscope_snapshot() in the
 *   child, wall and CPU (- without the shim); the child's CPU from its last
 *   instruction through exit (wait4); the child's Private_Dirty (smaps_rollup).
 * Usage: fork_cost_bin prim MIB   (never under the shim)
 *   The kernel primitives over MIB MiB present, once each:
 *   "fork_wall wp_wall mincore_wall pagemap_wall written_wall" (ms): fork()
 *   of this process (the child exits at once), PAGEMAP_SCAN write-protect
 *   (PM_SCAN_WP_MATCHING, after UFFDIO_REGISTER, not timed), mincore(), a full
 *   pread of the pagemap entries, PAGEMAP_SCAN PAGE_IS_WRITTEN with 16 pages
 *   written (the harvest's floor).
 */

static double wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static double cpu_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static long private_dirty_kib(void)
{
	char buf[4096], *p;
	int fd = open("/proc/self/smaps_rollup", O_RDONLY);
	ssize_t n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;

	if (fd >= 0)
		close(fd);
	if (n <= 0)
		return -1;
	buf[n] = 0;
	p = strstr(buf, "Private_Dirty:");
	return p ? strtol(p + 14, NULL, 10) : -1;
}

/* The child: its start, one snapshot, its memory, then exit. */
static void child(int wfd, double t0)
{
	double v[6];
	double t1 = wall_ms(), c1 = cpu_ms(), t2, c2;
	int r = cowscope_snapshot();

	t2 = wall_ms();
	c2 = cpu_ms();
	v[0] = t1 - t0;
	v[1] = c1;
	v[2] = r == 0 ? t2 - t1 : -1;
	v[3] = r == 0 ? c2 - c1 : -1;
	v[4] = (double)private_dirty_kib();
	v[5] = cpu_ms();
	if (write(wfd, v, sizeof(v)) != sizeof(v))
		_exit(1);
	_exit(0);
}

static int do_fork(char *mem, size_t bytes)
{
	double v[6], t0, ret, exit_cpu;
	struct rusage ru;
	int fds[2], st;
	pid_t pid;

	(void)mem;
	(void)bytes;
	if (pipe(fds))
		return 1;
	t0 = wall_ms();
	pid = fork();
	if (pid == 0)
		child(fds[1], t0);
	ret = wall_ms() - t0;
	if (pid < 0 || read(fds[0], v, sizeof(v)) != sizeof(v) || wait4(pid, &st, 0, &ru) != pid)
		return 1;
	exit_cpu = (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e3 +
		(double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e3 - v[5];
	printf("%.3f %.3f %.3f ", ret, v[0], v[1]);
	if (v[2] >= 0)
		printf("%.3f %.3f ", v[2], v[3]);
	else
		printf("- - ");
	printf("%.3f %.0f\n", exit_cpu < 0 ? 0 : exit_cpu, v[4]);
	return 0;
}

/* Write-protect the region the way arming does; the registration is not timed. */
static double time_wp(int pm, char *mem, size_t bytes)
{
	static struct page_region vec[128];
	struct uffdio_api api = { .api = UFFD_API, .features = UFFD_FEATURE_WP_ASYNC };
	int uffd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | UFFD_USER_MODE_ONLY);
	struct uffdio_register reg = { .range = { (uint64_t)(uintptr_t)mem, bytes },
				       .mode = UFFDIO_REGISTER_MODE_WP };
	uint64_t start = (uint64_t)(uintptr_t)mem, end = start + bytes;
	double t0;

	if (uffd < 0 || ioctl(uffd, UFFDIO_API, &api) || ioctl(uffd, UFFDIO_REGISTER, &reg))
		return -1;
	t0 = wall_ms();
	while (start < end) {
		struct pm_scan_arg a = { .size = sizeof(a),
					 .flags = PM_SCAN_WP_MATCHING | PM_SCAN_CHECK_WPASYNC,
					 .start = start,
					 .end = end,
					 .vec = (uint64_t)(uintptr_t)vec,
					 .vec_len = 128,
					 .category_anyof_mask = PAGE_IS_PRESENT | PAGE_IS_SWAPPED,
					 .return_mask = PAGE_IS_PRESENT | PAGE_IS_SWAPPED };

		if (ioctl(pm, PAGEMAP_SCAN, &a) < 0 || a.walk_end <= start)
			return -1;
		start = a.walk_end;
	}
	t0 = wall_ms() - t0;
	for (size_t i = 0; i < 16; i++)
		mem[i * bytes / 16] = 2; /* 16 pages written: what the floor finds */
	return t0; /* uffd stays open: the protection stays for the written scan */
}

static double time_written(int pm, char *mem, size_t bytes)
{
	static struct page_region vec[1024];
	uint64_t start = (uint64_t)(uintptr_t)mem, end = start + bytes;
	double t0 = wall_ms();

	while (start < end) {
		struct pm_scan_arg a = { .size = sizeof(a),
					 .start = start,
					 .end = end,
					 .vec = (uint64_t)(uintptr_t)vec,
					 .vec_len = 1024,
					 .category_mask = PAGE_IS_WRITTEN,
					 .return_mask = PAGE_IS_WRITTEN };

		if (ioctl(pm, PAGEMAP_SCAN, &a) < 0 || a.walk_end <= start)
			return -1;
		start = a.walk_end;
	}
	return wall_ms() - t0;
}

static double time_mincore(char *mem, size_t bytes)
{
	static unsigned char vec[1u << 20];
	size_t chunk = sizeof(vec) * 4096u;
	double t0 = wall_ms();

	for (size_t off = 0; off < bytes; off += chunk)
		if (mincore(mem + off, bytes - off < chunk ? bytes - off : chunk, vec))
			return -1;
	return wall_ms() - t0;
}

static double time_pagemap(int pm, char *mem, size_t bytes)
{
	static uint64_t buf[1024];
	uint64_t first = (uint64_t)(uintptr_t)mem / 4096, n = bytes / 4096;
	double t0 = wall_ms();

	for (uint64_t i = 0; i < n; i += 1024) {
		size_t k = n - i < 1024 ? n - i : 1024;

		if (pread(pm, buf, k * 8, (off_t)((first + i) * 8)) != (ssize_t)(k * 8))
			return -1;
	}
	return wall_ms() - t0;
}

static double time_fork(void)
{
	double t0 = wall_ms(), t;
	pid_t pid = fork();
	int st;

	if (pid == 0)
		_exit(0);
	t = wall_ms() - t0;
	waitpid(pid, &st, 0);
	return pid < 0 ? -1 : t;
}

static int do_prim(char *mem, size_t bytes)
{
	int pm = open("/proc/self/pagemap", O_RDONLY);
	double f, w, m, p, s;

	if (pm < 0)
		return 1;
	f = time_fork();
	m = time_mincore(mem, bytes);
	p = time_pagemap(pm, mem, bytes);
	w = time_wp(pm, mem, bytes);
	s = time_written(pm, mem, bytes);
	printf("%.3f %.3f %.3f %.3f %.3f\n", f, w, m, p, s);
	return 0;
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "fork";
	size_t mib = argc > 2 ? strtoul(argv[2], NULL, 0) : 256, bytes = mib << 20;
	char *mem = bytes
		? mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
		: NULL;

	if (bytes && mem == MAP_FAILED)
		return 2;
	if (bytes) {
		madvise(mem, bytes, MADV_NOHUGEPAGE); /* base pages: the figures are per page */
		memset(mem, 1, bytes);                /* every page present: all of it shared */
	}
	setvbuf(stdout, NULL, _IONBF, 0);
	return strcmp(mode, "prim") == 0 ? do_prim(mem, bytes) : do_fork(mem, bytes);
}
