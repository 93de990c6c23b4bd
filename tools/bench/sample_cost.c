/* SPDX-License-Identifier: MIT */
/* Benchmark: the CPU cost of one outside sample (`cowscope run`) and of its kernel calls. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "cowscope/trace_format.h"
#include "harvest.h"
#include "maps.h"
#include "pagemap.h"
#include "prim.h"

/*
 * Usage: sample_cost_bin [--pid PID] [--dense MIB] [--sparse MIB] [--every N] [--uffd]
 *                        [--backend uffd-wp|exclusive] [--reps N]
 *
 * Without --pid it forks a target that writes --dense MiB (default 256) of
 * anonymous memory and one page in every N (default 64) of --sparse MiB
 * (default 0) of reserved anonymous memory; --uffd registers and arms both
 * with uffd-wp like the shim (so unpopulated pages carry markers). It then
 * times, on the target's writable private mappings, as CPU time of this
 * thread (median of --reps, default 7):
 *   pread of every pagemap entry; PAGEMAP_SCAN of present|swapped pages;
 *   PAGEMAP_SCAN of written pages (the kernel's fast path); PAGEMAP_SCAN of
 *   huge pages; one sample
 *   (cs_harvest_run as `cowscope run` calls it) reading every entry; the same
 *   reading entries only from present pages on.
 * One line each: "name ms ms_per_GiB_present entries".
 */

#define MAX_RANGES 4096

typedef struct opts {
	int pid;
	size_t dense_mib;
	size_t sparse_mib;
	size_t every;
	int uffd;
	int backend;
	int reps;
} opts_t;

typedef struct range {
	uint64_t start;
	uint64_t end;
} range_t;

static range_t ranges[MAX_RANGES];
static size_t nranges;
static uint64_t entries[4096];
static struct page_region regions[1024];

static uint64_t cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Register [p, p + n) with uffd-wp async and write-protect it, as the shim arms a child. */
static void arm(void *p, size_t n)
{
	struct uffdio_api api = { .api = UFFD_API,
				  .features = UFFD_FEATURE_WP_ASYNC | UFFD_FEATURE_WP_UNPOPULATED };
	struct uffdio_register reg = { .range = { (uintptr_t)p, n },
				       .mode = UFFDIO_REGISTER_MODE_WP };
	struct uffdio_writeprotect wp = { .range = { (uintptr_t)p, n },
					  .mode = UFFDIO_WRITEPROTECT_MODE_WP };
	static int fd = -1;

	if (fd < 0) {
		fd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | UFFD_USER_MODE_ONLY);
		if (fd < 0 || ioctl(fd, UFFDIO_API, &api))
			exit(3);
	}
	if (ioctl(fd, UFFDIO_REGISTER, &reg) || ioctl(fd, UFFDIO_WRITEPROTECT, &wp))
		exit(3);
}

/* The target: writes its memory, says so on `ready`, waits until `hold` closes. */
static void target(const opts_t *o, int ready, int hold)
{
	size_t dense = o->dense_mib << 20, sparse = o->sparse_mib << 20, page = 4096;
	char *d = dense
		? mmap(NULL, dense, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
		: NULL;
	char *s = sparse ? mmap(NULL, sparse, PROT_READ | PROT_WRITE,
				MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0)
			 : NULL;
	char c = 1;

	if (d == MAP_FAILED || s == MAP_FAILED)
		_exit(2);
	if (d)
		memset(d, 1, dense);
	for (size_t i = 0; s && i < sparse; i += o->every * page)
		s[i] = 1;
	if (o->uffd && d)
		arm(d, dense);
	if (o->uffd && s)
		arm(s, sparse);
	if (write(ready, &c, 1) != 1 || read(hold, &c, 1) < 0)
		_exit(4);
	_exit(0);
}

static int start_target(opts_t *o, int *hold_w)
{
	int ready[2], hold[2];
	char c;
	pid_t pid;

	if (pipe(ready) || pipe(hold))
		return -1;
	pid = fork();
	if (pid == 0) {
		close(hold[1]);
		target(o, ready[1], hold[0]);
	}
	close(hold[0]);
	close(ready[1]);
	if (pid < 0 || read(ready[0], &c, 1) != 1)
		return -1;
	close(ready[0]);
	o->pid = pid;
	*hold_w = hold[1];
	return 0;
}

/* The writable private mappings of pid, as the sampler sees them. */
static int load_ranges(int pid)
{
	char path[64], line[4096], perm[8];
	unsigned long s, e;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	f = fopen(path, "re");
	if (!f)
		return -1;
	while (nranges < MAX_RANGES && fgets(line, sizeof(line), f))
		if (sscanf(line, "%lx-%lx %7s", &s, &e, perm) == 3 && perm[1] == 'w' &&
		    perm[3] == 'p')
			ranges[nranges++] = (range_t){ s, e };
	fclose(f);
	return 0;
}

/* pread every entry; returns how many were present (bit 63 or 62). */
static uint64_t read_all(int fd)
{
	uint64_t present = 0;

	for (size_t i = 0; i < nranges; i++) {
		for (uint64_t a = ranges[i].start; a < ranges[i].end;) {
			uint64_t n = (ranges[i].end - a) >> 12;

			n = n < 4096 ? n : 4096;
			if (pread(fd, entries, n * 8, (off_t)((a >> 12) * 8)) != (ssize_t)(n * 8))
				exit(5);
			for (uint64_t k = 0; k < n; k++)
				present += (entries[k] & (CS_PM_PRESENT | CS_PM_SWAPPED)) != 0;
			a += n << 12;
		}
	}
	return present;
}

/* PAGEMAP_SCAN over every range for one category; returns the pages found. */
static uint64_t scan_all(int fd, uint64_t mask, uint64_t anyof)
{
	uint64_t pages = 0;

	for (size_t i = 0; i < nranges; i++) {
		uint64_t a = ranges[i].start;

		while (a < ranges[i].end) {
			struct pm_scan_arg s = { .size = sizeof(s),
						 .start = a,
						 .end = ranges[i].end,
						 .vec = (uintptr_t)regions,
						 .vec_len = 1024,
						 .category_mask = mask,
						 .category_anyof_mask = anyof,
						 .return_mask = mask | anyof };
			long k = ioctl(fd, PAGEMAP_SCAN, &s);

			if (k < 0)
				exit(6);
			for (long j = 0; j < k; j++)
				pages += (regions[j].end - regions[j].start) >> 12;
			if (s.walk_end <= a)
				break;
			a = s.walk_end;
		}
	}
	return pages;
}

/* One sample as `cowscope run` takes it; returns the pagemap entries it read. */
static uint64_t sample(const opts_t *o, int proc_fd, int pm_fd, int dirfd, int all)
{
	static uint8_t scratch[CS_HARVEST_SCRATCH];
	static uint32_t seq;
	static cs_writer_t w = { .fd = -1 };
	cs_harvest_t h = { .proc_fd = proc_fd,
			   .pagemap_fd = pm_fd,
			   .backend = (uint8_t)o->backend,
			   .scan = 1,
			   .thp = 1,
			   .reason = CS_SNAP_SAMPLE,
			   .seq = seq++,
			   .page_shift = 12,
			   .strict = 1,
			   .read_all = (uint8_t)all,
			   .w = &w,
			   .scratch = scratch };

	if (w.fd < 0 && cs_writer_create(&w, dirfd, CS_FILE_SAMPLES, o->pid, CS_SAMPLES_SUFFIX))
		exit(7);
	if (cs_harvest_run(&h, 0, 0))
		exit(8);
	return h.raw_entries;
}

typedef struct ctx {
	const opts_t *o;
	int proc_fd, pm_fd, dirfd;
	double present_gib;
} ctx_t;

static uint64_t step(const ctx_t *c, int which)
{
	switch (which) {
	case 0:
		return read_all(c->pm_fd);
	case 1:
		return scan_all(c->pm_fd, 0, PAGE_IS_PRESENT | PAGE_IS_SWAPPED);
	case 2:
		return scan_all(c->pm_fd, PAGE_IS_WRITTEN, 0);
	case 3:
		return scan_all(c->pm_fd, PAGE_IS_HUGE, 0);
	case 4:
		return sample(c->o, c->proc_fd, c->pm_fd, c->dirfd, 1);
	default:
		return sample(c->o, c->proc_fd, c->pm_fd, c->dirfd, 0);
	}
}

static void measure(const ctx_t *c)
{
	static const char *const names[] = {
		"pread of every pagemap entry",     "PAGEMAP_SCAN present|swapped",
		"PAGEMAP_SCAN written (fast path)", "PAGEMAP_SCAN huge",
		"sample, every entry read",         "sample, entries from present pages on",
	};
	uint64_t t[64], n = 0;

	for (int which = 0; which < 6; which++) {
		for (int r = 0; r < c->o->reps; r++) {
			uint64_t t0 = cpu_ns();

			n = step(c, which);
			t[r] = cpu_ns() - t0;
		}
		qsort(t, (size_t)c->o->reps, sizeof(t[0]), cmp_u64);
		printf("%-40s %8.3f ms %8.2f ms/GiB present %10llu\n", names[which],
		       t[c->o->reps / 2] / 1e6, t[c->o->reps / 2] / 1e6 / c->present_gib,
		       (unsigned long long)n);
	}
}

static int parse_opt(opts_t *o, int c)
{
	switch (c) {
	case 'p':
		o->pid = atoi(optarg);
		return 0;
	case 'd':
		o->dense_mib = strtoul(optarg, NULL, 0);
		return 0;
	case 's':
		o->sparse_mib = strtoul(optarg, NULL, 0);
		return 0;
	case 'e':
		o->every = strtoul(optarg, NULL, 0);
		return 0;
	case 'u':
		o->uffd = 1;
		return 0;
	case 'r':
		o->reps = atoi(optarg);
		return 0;
	case 'b':
		o->backend = strcmp(optarg, "exclusive") ? CS_BACKEND_UFFD_WP
							 : CS_BACKEND_EXCLUSIVE;
		return 0;
	}
	return -1;
}

static int parse(opts_t *o, int argc, char **argv)
{
	static const struct option longs[] = {
		{ "pid", 1, NULL, 'p' },   { "dense", 1, NULL, 'd' }, { "sparse", 1, NULL, 's' },
		{ "every", 1, NULL, 'e' }, { "uffd", 0, NULL, 'u' },  { "backend", 1, NULL, 'b' },
		{ "reps", 1, NULL, 'r' },  { NULL, 0, NULL, 0 },
	};
	int c;

	while ((c = getopt_long(argc, argv, "", longs, NULL)) != -1)
		if (parse_opt(o, c))
			return -1;
	return o->reps < 1 || o->reps > 64 || o->every < 1 ? -1 : 0;
}

int main(int argc, char **argv)
{
	opts_t o = { .dense_mib = 256, .every = 64, .backend = CS_BACKEND_UFFD_WP, .reps = 7 };
	char dir[] = "/tmp/cowscope-sample-cost.XXXXXX", path[64];
	ctx_t c = { .o = &o };
	int hold = -1, st;
	uint64_t present, virt = 0;

	if (parse(&o, argc, argv) || !mkdtemp(dir))
		return 2;
	if (!o.pid && start_target(&o, &hold))
		return 1;
	snprintf(path, sizeof(path), "/proc/%d", o.pid);
	c.proc_fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	c.pm_fd = openat(c.proc_fd, "pagemap", O_RDONLY | O_CLOEXEC);
	c.dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (c.proc_fd < 0 || c.pm_fd < 0 || c.dirfd < 0 || load_ranges(o.pid))
		return 1;
	for (size_t i = 0; i < nranges; i++)
		virt += ranges[i].end - ranges[i].start;
	present = read_all(c.pm_fd);
	c.present_gib = (double)present * 4096 / (1 << 30);
	printf("target %d: %zu writable private mappings, %.1f MiB virtual, %.1f MiB present\n",
	       o.pid, nranges, virt / 1048576.0, present * 4096 / 1048576.0);
	measure(&c);
	if (hold >= 0) {
		close(hold);
		waitpid(o.pid, &st, 0);
	}
	snprintf(path, sizeof(path), "%d.0%s", o.pid, CS_SAMPLES_SUFFIX);
	unlinkat(c.dirfd, path, 0);
	rmdir(dir);
	return 0;
}
