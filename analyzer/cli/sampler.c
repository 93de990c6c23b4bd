/* SPDX-License-Identifier: MIT */
/* Sampling a traced process from outside through /proc/<pid>, for `cowscope run`. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "cowscope/trace_format.h"
#include "backend.h"
#include "harvest.h"
#include "maps.h"
#include "pagemap.h"
#include "prim.h"
#include "sampler.h"

struct cs_sampler {
	int proc_fd; /* /proc/<pid>: stays bound to this process, not a reused pid */
	int pagemap_fd;
	uint8_t backend;
	uint8_t scan;
	uint8_t thp;
	uint32_t seq;
	unsigned page_shift;
	cs_writer_t w;
	uint8_t *scratch;
};

static unsigned page_shift(void)
{
	long ps = sysconf(_SC_PAGESIZE);
	unsigned s = 0;

	while ((1L << s) < ps)
		s++;
	return s;
}

static int open_proc(cs_sampler_t *s, int pid)
{
	char path[48];

	cs_proc_path(path, pid, "");
	s->proc_fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (s->proc_fd < 0)
		return errno == ENOENT ? -ESRCH : -errno;
	s->pagemap_fd = openat(s->proc_fd, "pagemap", O_RDONLY | O_CLOEXEC);
	if (s->pagemap_fd < 0)
		return errno == ENOENT ? -ESRCH : -errno;
	return 0;
}

/*
 * Whether PAGEMAP_SCAN (Linux 6.7) works on this pagemap: a one-page scan at
 * address 0 (never mapped) answers 0 where the ioctl exists. With a vector
 * ("fs/proc: check p->vec_buf for NULL").
 */
static uint8_t scan_works(int pagemap_fd, unsigned shift)
{
	struct page_region r;
	struct pm_scan_arg a = {
		.size = sizeof(a),
		.end = 1ull << shift,
		.vec = (uint64_t)(uintptr_t)&r,
		.vec_len = 1,
		.category_anyof_mask = PAGE_IS_PRESENT | PAGE_IS_SWAPPED,
		.return_mask = PAGE_IS_PRESENT | PAGE_IS_SWAPPED,
	};

	return cs_prim_pagemap_scan(pagemap_fd, &a) >= 0;
}

int cs_sampler_open(cs_sampler_t **out, int dirfd, int pid, uint32_t gen, uint8_t backend)
{
	cs_sampler_t *s = calloc(1, sizeof(*s));
	int r = -ENOMEM;

	*out = NULL;
	if (!s)
		return r;
	s->proc_fd = s->pagemap_fd = -1;
	s->w.fd = -1;
	s->backend = backend;
	s->page_shift = page_shift();
	s->scratch = malloc(CS_HARVEST_SCRATCH);
	if (!s->scratch)
		goto fail;
	r = open_proc(s, pid);
	if (r < 0)
		goto fail;
	s->scan = scan_works(s->pagemap_fd, s->page_shift);
	s->thp = (uint8_t)cs_thp_possible();
	r = cs_writer_create_gen(&s->w, dirfd, CS_FILE_SAMPLES, pid, gen, CS_SAMPLES_SUFFIX);
	if (r < 0)
		goto fail;
	*out = s;
	return 0;
fail:
	cs_sampler_close(s);
	return r;
}

/* minflt and majflt from /proc/<pid>/stat (fields 10 and 12). */
static int read_faults(cs_sampler_t *s, uint64_t *minflt, uint64_t *majflt)
{
	char buf[1024];
	int fd = openat(s->proc_fd, "stat", O_RDONLY | O_CLOEXEC);
	ssize_t n;
	char *p;

	if (fd < 0)
		return errno == ENOENT ? -ESRCH : -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -ESRCH;
	buf[n] = 0;
	p = strrchr(buf, ')');
	if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %lu %*u %lu", minflt, majflt) != 2)
		return -EIO;
	return 0;
}

int cs_sampler_take(cs_sampler_t *s, uint64_t *cost_ns)
{
	uint64_t t0 = cs_prim_now_ns(), minflt = 0, majflt = 0;
	cs_harvest_t h = {
		.proc_fd = s->proc_fd,
		.pagemap_fd = s->pagemap_fd,
		.backend = s->backend,
		.scan = s->scan,
		.thp = s->thp,
		.reason = CS_SNAP_SAMPLE,
		.seq = s->seq,
		.page_shift = s->page_shift,
		.strict = 1,
		.w = &s->w,
		.scratch = s->scratch,
	};
	int r = read_faults(s, &minflt, &majflt);

	if (r == 0)
		r = cs_harvest_run(&h, minflt, majflt);
	s->seq++;
	if (cost_ns)
		*cost_ns = cs_prim_now_ns() - t0;
	if (r == -ENOENT || r == -ESRCH || (r < 0 && h.mappings == 0))
		return -ESRCH;
	return r;
}

void cs_sampler_close(cs_sampler_t *s)
{
	if (!s)
		return;
	cs_writer_close(&s->w);
	if (s->pagemap_fd >= 0)
		close(s->pagemap_fd);
	if (s->proc_fd >= 0)
		close(s->proc_fd);
	free(s->scratch);
	free(s);
}
