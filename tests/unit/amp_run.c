/* SPDX-License-Identifier: MIT */
/* A synthetic run of format 1.4 with changed words (test_amp, and the JSON schema test's 1.4 case). */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include "amp_run.h"
#include "cs_testutil.h"

#define P TU_PAGE
#define RUNS(...)                          \
	(const cs_run_t[]){ __VA_ARGS__ }, \
		sizeof((const cs_run_t[]){ __VA_ARGS__ }) / sizeof(cs_run_t)

static const char *dir;

void amp_use_dir(const char *d)
{
	dir = d;
}

static int open_file(uint32_t pid, uint16_t minor)
{
	char name[64];

	snprintf(name, sizeof(name), "%u.0.cst", pid);
	return tu_open_minor(dir, name, CS_FILE_PROCESS, pid, minor);
}

void amp_root(const uint32_t *kids, size_t n, uint16_t minor)
{
	int fd = open_file(100, minor);

	tu_proc(fd, 100, 1, 0, CS_ROLE_ROOT, "server");
	tu_backend(fd, CS_BACKEND_UFFD_WP, "");
	for (size_t i = 0; i < n; i++) {
		tu_fork(fd, kids[i], i, T_FORK);
		tu_child_exit(fd, kids[i], 0, T_FORK + 50 * MS);
	}
	tu_end(fd, CS_END_EXIT, 0, T_FORK + 60 * MS);
	close(fd);
}

/* S: a heap [16, 32) and an anonymous mapping [64, 80), armed, all present: 32 pages. */
static void maps(int fd, uint32_t seq)
{
	tu_mapping(fd, seq, 16 * P, 32 * P, CS_MAP_HEAP, CS_MAPF_ARMED, "[heap]");
	tu_mapping(fd, seq, 64 * P, 80 * P, CS_MAP_ANON, CS_MAPF_ARMED, "");
}

int amp_child_file(uint32_t pid, uint16_t minor)
{
	int fd = open_file(pid, minor);

	tu_proc(fd, pid, 100, 0, CS_ROLE_CHILD, "worker");
	tu_backend(fd, CS_BACKEND_UFFD_WP, "");
	tu_snap_begin(fd, 0, CS_SNAP_FORK, CS_BACKEND_UFFD_WP, T_FORK, 1);
	maps(fd, 0);
	tu_pages(fd, 0, CS_SET_PRESENT, RUNS({ 16, 16 }, { 64, 16 }));
	tu_snap_end(fd, 0);
	return fd;
}

/* The working snapshot's page state: the child wrote [16, 16 + w), the parent [64, 64 + pw). */
void amp_snap_begin(int fd, uint32_t seq, uint64_t w, uint64_t pw)
{
	tu_snap_begin(fd, seq, CS_SNAP_EXIT, CS_BACKEND_UFFD_WP, T_FORK + 10 * MS, 20);
	maps(fd, seq);
	tu_mapping(fd, seq, 200 * P, 208 * P, CS_MAP_ANON, CS_MAPF_ARMED, "");
	tu_pages(fd, seq, CS_SET_PRESENT, RUNS({ 16, 16 }, { 64, 16 }, { 200, 8 }));
	tu_pages(fd, seq, CS_SET_WRITTEN, RUNS({ 16, w }, { 200, 8 }));
	tu_pages(fd, seq, CS_SET_EXCL, RUNS({ 16, w }, { 64, pw }, { 200, 8 }));
}

/* n bitmaps with `bits` words set in each (words 0 .. bits - 1). */
uint64_t *amp_bitmaps(size_t n, unsigned bits)
{
	uint64_t *b = calloc(n * TU_BITMAP_WORDS, 8);

	for (size_t i = 0; i < n; i++)
		for (unsigned k = 0; k < bits; k++)
			b[i * TU_BITMAP_WORDS + k / 64] |= 1ull << (k % 64);
	return b;
}

/*
 * 201, the fixture: the child wrote AMP_K + AMP_M + 1 heap pages; AMP_K no-op ([16, 16 + AMP_K)), AMP_M
 * with one changed word each, the last one not comparable (the parent wrote it since the
 * fork). The UNKNOWN set also holds one child-new page (200): not a copy, not counted. The
 * parent wrote 2 anonymous pages: one no-op, one with 3 changed words.
 */
static void child_exact(void)
{
	uint64_t pages[AMP_M], ppage = 65, *b = amp_bitmaps(AMP_M, 1), *pb = amp_bitmaps(1, 3);
	int fd = amp_child_file(201, CS_TRACE_MINOR);

	for (size_t i = 0; i < AMP_M; i++)
		pages[i] = 16 + AMP_K + i;
	amp_snap_begin(fd, 1, AMP_K + AMP_M + 1, 2);
	tu_diff(fd, 1, CS_DIFF_CHILD,
		&(tu_diff_t){
			.considered = AMP_K + AMP_M + 2,
			.compared = AMP_K + AMP_M,
			.changed_pages = AMP_M,
			.changed_words = AMP_M,
			.unknown = { [CS_DIFFW_CHANGED - 1] = 1, [CS_DIFFW_ABSENT - 1] = 1 } });
	tu_words(fd, 1, CS_DIFF_CHILD, pages, b, AMP_M);
	tu_pages(fd, 1, CS_SET_NOOP, RUNS({ 16, AMP_K }));
	tu_pages(fd, 1, CS_SET_UNKNOWN, RUNS({ 16 + AMP_K + AMP_M, 1 }, { 200, 1 }));
	tu_diff(fd, 1, CS_DIFF_PARENT,
		&(tu_diff_t){
			.considered = 2, .compared = 2, .changed_pages = 1, .changed_words = 3 });
	tu_words(fd, 1, CS_DIFF_PARENT, &ppage, pb, 1);
	tu_pages(fd, 1, CS_SET_PNOOP, RUNS({ 64, 1 }));
	tu_snap_end(fd, 1);
	tu_end(fd, CS_END_EXIT, 0, T_FORK + 11 * MS);
	close(fd);
	free(b);
	free(pb);
}

/*
 * 202, over the shim's budget: the child wrote all 16 heap pages, one in 4 compared (16, 20,
 * 24, 28): 3 no-op, 28 with 2 changed words.
 */
static void child_strided(void)
{
	uint64_t page = 28, *b = amp_bitmaps(1, 2);
	int fd = amp_child_file(202, CS_TRACE_MINOR);

	amp_snap_begin(fd, 1, 16, 0);
	tu_diff(fd, 1, CS_DIFF_CHILD,
		&(tu_diff_t){ .stride = 4,
			      .considered = 16,
			      .compared = 4,
			      .changed_pages = 1,
			      .changed_words = 2 });
	tu_words(fd, 1, CS_DIFF_CHILD, &page, b, 1);
	tu_pages(fd, 1, CS_SET_NOOP, RUNS({ 16, 1 }, { 20, 1 }, { 24, 1 }));
	tu_snap_end(fd, 1);
	tu_end(fd, CS_END_EXIT, 0, T_FORK + 11 * MS);
	close(fd);
	free(b);
}

/* 203: COWSCOPE_DIFF=off (or a backend without a written set): no DIFF record. */
void amp_child_no_diff(uint16_t minor)
{
	int fd = amp_child_file(203, minor);

	amp_snap_begin(fd, 1, 3, 0);
	tu_snap_end(fd, 1);
	tu_end(fd, CS_END_EXIT, 0, T_FORK + 11 * MS);
	close(fd);
}

/* 204: copies with no net change at all: 5 pages compared, none changed. */
static void child_noop(void)
{
	int fd = amp_child_file(204, CS_TRACE_MINOR);

	amp_snap_begin(fd, 1, 5, 0);
	tu_diff(fd, 1, CS_DIFF_CHILD, &(tu_diff_t){ .considered = 5, .compared = 5 });
	tu_pages(fd, 1, CS_SET_NOOP, RUNS({ 16, 5 }));
	tu_snap_end(fd, 1);
	tu_end(fd, CS_END_EXIT, 0, T_FORK + 11 * MS);
	close(fd);
}

void amp_write_run(void)
{
	static const uint32_t kids[] = { 201, 202, 203, 204 };

	amp_root(kids, 4, CS_TRACE_MINOR);
	child_exact();
	child_strided();
	amp_child_no_diff(CS_TRACE_MINOR);
	child_noop();
}

/* Root 100 of the sites run: every allocation recorded (exact mode), two stacks. */
static void sites_root(void)
{
	cs_alloc_ev_t ev[AMP_OBJS + 1];
	uint64_t ra;
	int fd = tu_proc_file(dir, 100, 1, CS_ROLE_ROOT, CS_BACKEND_UFFD_WP);
	tu_sampling(fd, 1, 64);
	for (uint32_t id = 1; id <= 2; id++) {
		ra = 0x1000 * id;
		tu_stack(fd, id, &ra, 1);
	}
	for (uint32_t i = 0; i < AMP_OBJS; i++)
		ev[i] = tu_alloc_ev(1 + i, 16 * P + AMP_OBJ_BYTES * i, AMP_OBJ_BYTES, AMP_OBJ_BYTES,
				    1, CS_ALLOC_MALLOC);
	ev[AMP_OBJS] = tu_alloc_ev(1 + AMP_OBJS, 18 * P, 2 * P, 2 * P, 2, CS_ALLOC_MALLOC);
	tu_allocs(fd, ev, AMP_OBJS + 1);
	tu_fork(fd, 301, 0, T_FORK);
	tu_child_exit(fd, 301, 0, T_FORK + 50 * MS);
	tu_end(fd, CS_END_EXIT, 0, T_FORK + 60 * MS);
	close(fd);
}

/* The changed words of child 301 (see amp_write_sites_run). */
static void sites_words(int fd)
{
	uint64_t pages[] = { 16, 18, 20 }, b[3 * TU_BITMAP_WORDS] = { 0 };
	unsigned per_page = P / AMP_OBJ_BYTES;

	for (unsigned i = 0; i < per_page; i++) { /* offset 16 of each object: word 8 i + 2 */
		unsigned w = i * (AMP_OBJ_BYTES / 8) + 2;

		b[w / 64] |= 1ull << (w % 64);
	}
	b[TU_BITMAP_WORDS] = 1ull | 1ull << 3; /* the block at 18: offsets 0 and 24 */
	b[2 * TU_BITMAP_WORDS + 1] = 1ull;     /* word 64 of page 20: no allocation there */
	tu_diff(fd, 1, CS_DIFF_CHILD,
		&(tu_diff_t){ .considered = 5,
			      .compared = 5,
			      .changed_pages = 3,
			      .changed_words = per_page + 3 });
	tu_words(fd, 1, CS_DIFF_CHILD, pages, b, 3);
	tu_pages(fd, 1, CS_SET_NOOP, (const cs_run_t[]){ { 17, 1 }, { 19, 1 } }, 2);
}

void amp_write_sites_run(void)
{
	int fd;

	sites_root();
	fd = amp_child_file(301, CS_TRACE_MINOR);
	tu_fork_point(fd, AMP_OBJS + 2, 3);
	amp_snap_begin(fd, 1, 5, 0);
	sites_words(fd);
	tu_snap_end(fd, 1);
	tu_end(fd, CS_END_EXIT, 0, T_FORK + 11 * MS);
	close(fd);
}
