/* SPDX-License-Identifier: MIT */
/* Unit tests: the run model and the COW math on synthetic run directories with known sets. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>
#include "analyze.h"
#include "cs_testmodel.h"
#include "cs_testutil.h"
#include "model.h"

#define P TU_PAGE
#define MS 1000000ull
#define T_FORK (1 * MS)
#define RUNS(...)                          \
	(const cs_run_t[]){ __VA_ARGS__ }, \
		sizeof((const cs_run_t[]){ __VA_ARGS__ }) / sizeof(cs_run_t)

/* What to vary in the synthetic child. */
typedef struct child_opts {
	uint8_t backend;
	bool unarmed_anon; /* the anon mapping was not armed */
	bool killed;       /* no END, Z in the samples file */
	bool still_running;
} child_opts_t;

TU_DIR_FIXTURE(dir)

static char *name(uint32_t pid, uint32_t gen, const char *suffix)
{
	static char buf[64];

	snprintf(buf, sizeof(buf), "%u.%u%s", pid, gen, suffix);
	return buf;
}

/* Frame numbers: F maps page p to 1000+p (heap) or 2000+p (anon). */
static void fork_pfns(int fd, uint32_t seq, bool changed)
{
	uint64_t heap[16], anon[16];

	for (int i = 0; i < 16; i++) {
		heap[i] = 1000 + 16 + i;
		anon[i] = 2000 + 64 + i;
	}
	if (changed) {
		for (int i = 0; i < 4; i++)
			heap[i] = 5000 + i; /* pages 16..19 copied */
		anon[0] = 6000;             /* page 64 copied */
		heap[14] = 0;               /* page 30: frame not known */
	}
	tu_pfns(fd, seq, 16, heap, 16);
	tu_pfns(fd, seq, 64, anon, 16);
}

static void fork_maps(int fd, uint32_t seq, const child_opts_t *o)
{
	tu_mapping(fd, seq, 16 * P, 32 * P, CS_MAP_HEAP, CS_MAPF_ARMED, "[heap]");
	tu_mapping(fd, seq, 64 * P, 80 * P, CS_MAP_ANON, o->unarmed_anon ? 0 : CS_MAPF_ARMED, "");
	tu_mapping(fd, seq, 96 * P, 100 * P, CS_MAP_SHARED, 0, "/dev/shm/x");
	tu_mapping(fd, seq, 112 * P, 120 * P, CS_MAP_ANON, CS_MAPF_SHIM, "cowscope");
}

/* F: S = pages 16..31 and 64..79 minus the shim range 72..73 (30 pages); E0 = {20}. */
static void fork_snap(int fd, const child_opts_t *o)
{
	tu_snap_begin(fd, 0, CS_SNAP_FORK, o->backend, T_FORK, 1);
	fork_maps(fd, 0, o);
	tu_pages(fd, 0, CS_SET_PRESENT, RUNS({ 64, 16 }, { 16, 16 }, { 96, 4 }, { 112, 8 }));
	tu_pages(fd, 0, CS_SET_EXCL, RUNS({ 20, 1 }));
	fork_pfns(fd, 0, false);
	tu_snap_end(fd, 0);
}

/* Z1 at +5 ms: pages 16, 17 written. */
static void z1(int fd, uint32_t seq, uint8_t reason, const child_opts_t *o)
{
	uint64_t pfn[2] = { 7000, 7001 };

	tu_snap_begin(fd, seq, reason, o->backend, T_FORK + 5 * MS, 10);
	fork_maps(fd, seq, o);
	tu_pages(fd, seq, CS_SET_PRESENT, RUNS({ 16, 16 }, { 64, 16 }, { 96, 4 }, { 112, 8 }));
	tu_pages(fd, seq, CS_SET_WRITTEN, RUNS({ 16, 2 }));
	tu_pages(fd, seq, CS_SET_EXCL, RUNS({ 16, 2 }, { 20, 1 }));
	fork_pfns(fd, seq, false);
	tu_pfns(fd, seq, 16, pfn, 2);
	tu_snap_end(fd, seq);
}

/* Z2 at +10 ms: the child wrote 16..19, 64, 65 (and 72, the shim's); the parent 21..25, 66, 67. */
static void z2(int fd, uint32_t seq, uint8_t reason, const child_opts_t *o)
{
	tu_snap_begin(fd, seq, reason, o->backend, T_FORK + 10 * MS, 77);
	fork_maps(fd, seq, o);
	tu_mapping(fd, seq, 128 * P, 132 * P, CS_MAP_ANON, 0, "");
	tu_pages(fd, seq, CS_SET_PRESENT,
		 RUNS({ 16, 16 }, { 64, 16 }, { 96, 4 }, { 112, 8 }, { 128, 4 }));
	tu_pages(fd, seq, CS_SET_WRITTEN, RUNS({ 16, 4 }, { 64, 2 }));
	tu_pages(fd, seq, CS_SET_WRITTEN, RUNS({ 72, 1 })); /* a second record of the set */
	tu_pages(fd, seq, CS_SET_EXCL, RUNS({ 16, 10 }, { 64, 4 }, { 72, 1 }, { 128, 4 }));
	tu_pages(fd, seq, CS_SET_HUGE, RUNS({ 66, 1 }));
	fork_pfns(fd, seq, true);
	tu_snap_end(fd, seq);
}

/* Snapshots that must not count: one cut short, and a sample after the exit snapshot. */
static void decoys(int fd, int sfd, const child_opts_t *o)
{
	tu_snap_begin(fd, 9, CS_SNAP_API, o->backend, T_FORK + 8 * MS, 1);
	tu_pages(fd, 9, CS_SET_PRESENT, RUNS({ 0, 1000 }));
	tu_pages(fd, 9, CS_SET_WRITTEN, RUNS({ 0, 1000 }));
	tu_snap_begin(sfd, 7, CS_SNAP_SAMPLE, o->backend, T_FORK + 20 * MS, 1);
	fork_maps(sfd, 7, o);
	tu_pages(sfd, 7, CS_SET_PRESENT, RUNS({ 16, 16 }, { 64, 16 }));
	tu_pages(sfd, 7, CS_SET_WRITTEN, RUNS({ 16, 16 }, { 64, 16 }));
	tu_pages(sfd, 7, CS_SET_EXCL, RUNS({ 16, 16 }, { 64, 16 }));
	tu_snap_end(sfd, 7);
}

static void write_child(uint32_t pid, uint32_t ppid, const child_opts_t *o)
{
	int fd = tu_open(dir, name(pid, 0, ".cst"), CS_FILE_PROCESS, pid, 0);
	int sfd = tu_open(dir, name(pid, 0, ".samples.cst"), CS_FILE_SAMPLES, pid, 0);
	uint64_t counters[2] = { 0, 5 };

	tu_proc(fd, pid, ppid, 0, CS_ROLE_CHILD, "worker");
	tu_backend(fd, o->backend, "not here");
	tu_shim_range(fd, 72 * P, 74 * P);
	fork_snap(fd, o);
	if (o->killed || o->still_running) {
		z1(sfd, 0, CS_SNAP_SAMPLE, o);
		z2(sfd, 1, CS_SNAP_SAMPLE, o);
	} else {
		z1(fd, 1, CS_SNAP_API, o);
		z2(fd, 2, CS_SNAP__EXIT, o);
		decoys(fd, sfd, o);
		tu_counters(fd, counters, 2);
		tu_end(fd, CS_END__EXIT, 0, T_FORK + 11 * MS);
	}
	close(fd);
	close(sfd);
}

static void write_root(uint32_t pid, uint32_t child, int32_t child_status)
{
	int fd = tu_open(dir, name(pid, 0, ".cst"), CS_FILE_PROCESS, pid, 0);

	tu_proc(fd, pid, 1, 0, CS_ROLE_ROOT, "server --workers 1");
	tu_backend(fd, CS_BACKEND_UFFD_WP, "");
	tu_fork(fd, child, 0, T_FORK);
	if (child_status >= 0)
		tu_child_exit(fd, child, child_status, T_FORK + 30 * MS);
	tu_end(fd, CS_END_EXIT, 0, T_FORK + 40 * MS);
	close(fd);
}

static const cs_proc_t *load_proc(cs_model_t *m, uint32_t pid, uint32_t gen)
{
	cs_diag_t d = { "" };
	long i;

	assert_int_equal(cs_model_load(m, dir, &d), 0);
	i = cs_model_find(m, pid, gen);
	assert_true(i >= 0);
	return &m->procs[i];
}

static void expect_map(const cs_proc_t *p, uint64_t page, int64_t shared, int64_t copied,
		       int64_t punshared, int64_t unshared, int64_t child_new)
{
	const cs_mapfig_t *mf = tm_mapfig(p, page);

	assert_int_equal(mf->shared_at_fork, shared);
	assert_int_equal(mf->child_copied, copied);
	assert_int_equal(mf->parent_unshared, punshared);
	assert_int_equal(mf->unshared, unshared);
	assert_int_equal(mf->child_new, child_new);
}

/* What every backend agrees on: S, child-new, the mapping list, the retained share. */
static void expect_common(const cs_proc_t *c)
{
	assert_int_equal(c->role, CS_ROLE_CHILD);
	assert_int_equal(c->fig.shared_at_fork, 30);
	assert_int_equal(c->fig.unshared, 14);
	assert_int_equal(c->fig.child_new, 4);
	assert_int_equal(c->fig.minor_faults, 77);
	assert_true(fabs(c->fig.share_retained - (1.0 - 14.0 / 30.0)) < 1e-12);
	assert_int_equal(c->fig.nmaps, 4); /* heap, anon, shared, new anon; not the shim's */
	assert_int_equal(tm_mapfig(c, 96)->kind, CS_MAP_SHARED);
	assert_int_equal(tm_mapfig(c, 96)->size_pages, 4);
	expect_map(c, 96, 0, 0, 0, 0, 0);
	assert_int_equal(tm_mapfig(c, 128)->child_new, 4);
	assert_int_equal(tm_mapfig(c, 128)->shared_at_fork, 0);
	assert_true(tm_mapfig(c, 64)->approximate);
	assert_false(tm_mapfig(c, 16)->approximate);
	assert_int_equal(c->fig.ntimeline, 2);
	assert_true(fabs(c->fig.timeline[0].t_ms - 5.0) < 1e-9);
	assert_true(fabs(c->fig.timeline[1].t_ms - 10.0) < 1e-9);
}

static void test_uffd_wp(void **state)
{
	child_opts_t o = { .backend = CS_BACKEND_UFFD_WP };
	cs_model_t m;
	const cs_proc_t *c;

	(void)state;
	write_root(100, 101, 0);
	write_child(101, 100, &o);
	c = load_proc(&m, 101, 0);
	expect_common(c);
	assert_int_equal(c->fig.child_copied, 7);
	assert_int_equal(c->fig.parent_unshared, 7);
	assert_false(c->fig.partial);
	expect_map(c, 16, 16, 5, 5, 10, 0);
	expect_map(c, 64, 14, 2, 2, 4, 0);
	assert_int_equal(c->fig.timeline[0].child_copied, 3); /* 16, 17 and E0's 20 */
	assert_int_equal(c->fig.timeline[0].parent_unshared, 0);
	assert_int_equal(c->fig.timeline[1].child_copied, 7);
	assert_int_equal(c->ended, CS_ENDED__EXIT);
	assert_int_equal(c->exit_status, 0);
	assert_true(c->complete);
	assert_int_equal(c->ppid, 100);
	assert_int_equal(m.procs[c->parent].pid, 100);
	assert_int_equal(c->ncounters, 2);
	assert_int_equal(c->counters[1], 5);
	cs_model_free(&m);
}

static void test_soft_dirty_with_an_unarmed_mapping(void **state)
{
	child_opts_t o = { .backend = CS_BACKEND_SOFT_DIRTY, .unarmed_anon = true };
	cs_model_t m;
	const cs_proc_t *c;

	(void)state;
	write_root(100, 101, 0);
	write_child(101, 100, &o);
	c = load_proc(&m, 101, 0);
	expect_common(c);
	assert_int_equal(c->fig.child_copied, 5);
	assert_int_equal(c->fig.parent_unshared, 5);
	assert_true(c->fig.partial);
	assert_int_equal(c->fig.unarmed_pages, 14);
	expect_map(c, 16, 16, 5, 5, 10, 0);
	expect_map(c, 64, 14, 0, 0, 4, 0); /* unshared, side unknown */
	cs_model_free(&m);
}

static void test_pfn(void **state)
{
	child_opts_t o = { .backend = CS_BACKEND_PFN };
	cs_model_t m;
	const cs_proc_t *c;

	(void)state;
	write_root(100, 101, 0);
	write_child(101, 100, &o);
	c = load_proc(&m, 101, 0);
	expect_common(c);
	assert_int_equal(c->fig.child_copied, 6); /* 16..19, 64 changed frames; 20 from E0 */
	assert_int_equal(c->fig.parent_unshared, 8);
	expect_map(c, 16, 16, 5, 5, 10, 0);
	expect_map(c, 64, 14, 1, 3, 4, 0);
	assert_int_equal(c->fig.timeline[0].child_copied, 3);
	cs_model_free(&m);
}

static void test_exclusive(void **state)
{
	child_opts_t o = { .backend = CS_BACKEND_EXCLUSIVE };
	cs_model_t m;
	const cs_proc_t *c;

	(void)state;
	write_root(100, 101, 0);
	write_child(101, 100, &o);
	c = load_proc(&m, 101, 0);
	expect_common(c);
	assert_int_equal(c->fig.child_copied, CS_UNKNOWN);
	assert_int_equal(c->fig.parent_unshared, CS_UNKNOWN);
	expect_map(c, 16, 16, CS_UNKNOWN, CS_UNKNOWN, 10, 0);
	assert_int_equal(c->fig.timeline[0].child_copied, CS_UNKNOWN);
	assert_int_equal(c->fig.timeline[0].unshared, 3);
	cs_model_free(&m);
}

static void test_killed_child_figures_from_last_sample(void **state)
{
	child_opts_t o = { .backend = CS_BACKEND_UFFD_WP, .killed = true };
	cs_model_t m;
	const cs_proc_t *c;

	(void)state;
	write_root(200, 201, SIGKILL); /* a wait status: killed by signal 9 */
	write_child(201, 200, &o);
	c = load_proc(&m, 201, 0);
	assert_int_equal(c->ended, CS_ENDED_SIGNAL);
	assert_int_equal(c->signal, SIGKILL);
	assert_int_equal(c->exit_status, CS_UNKNOWN);
	assert_false(c->complete);
	assert_string_equal(c->incomplete, "killed by SIGKILL");
	assert_int_equal(c->fig.child_copied, 7);
	assert_int_equal(c->fig.parent_unshared, 7);
	assert_int_equal(c->fig.ntimeline, 2);
	cs_model_free(&m);
}

static void test_fork_without_trace_file(void **state)
{
	cs_model_t m;
	const cs_proc_t *a, *b;
	int fd = tu_open(dir, "300.0.cst", CS_FILE_PROCESS, 300, 0);

	(void)state;
	tu_proc(fd, 300, 1, 0, CS_ROLE_ROOT, "root");
	tu_fork(fd, 301, 0, 10);
	tu_fork(fd, 302, 1, 20);
	tu_child_exit(fd, 302, 3 << 8, 30);
	tu_end(fd, CS_END_EXIT, 0, 40);
	close(fd);
	a = load_proc(&m, 301, 0);
	b = &m.procs[cs_model_find(&m, 302, 0)];
	assert_int_equal(m.nprocs, 3);
	assert_int_equal(a->role, CS_ROLE_CHILD);
	assert_int_equal(a->ppid, 300);
	assert_false(a->complete);
	assert_false(a->has_file);
	assert_int_equal(a->ended, CS_ENDED_UNKNOWN);
	assert_int_equal(a->fig.shared_at_fork, CS_UNKNOWN);
	assert_int_equal(a->fig.child_copied, CS_UNKNOWN);
	assert_int_equal(a->fig.minor_faults, CS_UNKNOWN);
	assert_true(isnan(a->fig.share_retained));
	assert_int_equal(b->ended, CS_ENDED_EXIT);
	assert_int_equal(b->exit_status, 3);
	assert_false(b->complete);
	cs_model_free(&m);
}

/*
 * A process's exit status is what its waiter sees: an end record of 300 (an
 * older shim's exit(300)) is 44; -1 is unknown.
 */
static void test_exit_status_is_eight_bits(void **state)
{
	static const int32_t passed[] = { 300, -1, 7 }, seen[] = { 44, CS_UNKNOWN, 7 };
	cs_model_t m;
	int fd = tu_open(dir, "400.0.cst", CS_FILE_PROCESS, 400, 0);

	(void)state;
	tu_proc(fd, 400, 1, 0, CS_ROLE_ROOT, "root");
	for (uint32_t i = 0; i < 3; i++)
		tu_fork(fd, 401 + i, i, 10 + i);
	tu_end(fd, CS_END_EXIT, 0, 40);
	close(fd);
	for (uint32_t i = 0; i < 3; i++) {
		fd = tu_open(dir, name(401 + i, 0, ".cst"), CS_FILE_PROCESS, 401 + i, 0);
		tu_proc(fd, 401 + i, 400, 0, CS_ROLE_CHILD, "worker");
		tu_end(fd, i == 1 ? CS_END__EXIT : CS_END_EXIT, passed[i], 20 + i);
		close(fd);
	}
	for (uint32_t i = 0; i < 3; i++) {
		assert_int_equal(load_proc(&m, 401 + i, 0)->exit_status, seen[i]);
		cs_model_free(&m);
	}
}

static void test_exec_generations(void **state)
{
	cs_model_t m;
	const cs_proc_t *g0, *g1, *r, *x1;
	int fd;

	(void)state;
	fd = tu_open(dir, "400.0.cst", CS_FILE_PROCESS, 400, 0);
	tu_proc(fd, 400, 1, 0, CS_ROLE_ROOT, "sh -c prog");
	tu_end(fd, CS_END_EXEC, 0, 10);
	close(fd);
	fd = tu_open(dir, "400.1.cst", CS_FILE_PROCESS, 400, 1);
	tu_proc(fd, 400, 1, 1, CS_ROLE_ROOT, "prog");
	tu_fork(fd, 430, 0, 12);
	tu_end(fd, CS_END_EXIT, 0, 20);
	close(fd);
	fd = tu_open(dir, "410.0.cst", CS_FILE_PROCESS, 410, 0); /* exec failed, went on */
	tu_proc(fd, 410, 400, 0, CS_ROLE_ROOT, "try-exec");
	tu_end(fd, CS_END_EXEC, 0, 10);
	tu_resume(fd, ENOENT);
	tu_end(fd, CS_END_EXIT, 5, 30);
	close(fd);
	fd = tu_open(dir, "420.0.cst", CS_FILE_PROCESS, 420, 0); /* exec'd an untraced image */
	tu_proc(fd, 420, 400, 0, CS_ROLE_ROOT, "exec-static");
	tu_end(fd, CS_END_EXEC, 0, 10);
	close(fd);
	fd = tu_open(dir, "run.cst", CS_FILE_RUN, 399, 0);
	tu_run(fd, 400, 100, "sh -c prog");
	tu_child_exit(fd, 420, 0, 50);
	tu_run_end(fd, 0, 0, 0);
	close(fd);
	g0 = load_proc(&m, 400, 0);
	g1 = &m.procs[cs_model_find(&m, 400, 1)];
	r = &m.procs[cs_model_find(&m, 410, 0)];
	x1 = &m.procs[cs_model_find(&m, 420, 1)];
	assert_int_equal(g0->ended, CS_ENDED_EXEC);
	assert_true(g0->complete);
	assert_int_equal(g1->ended, CS_ENDED_EXIT);
	assert_int_equal(&m.procs[g1->parent], g0);
	assert_int_equal(m.procs[cs_model_find(&m, 430, 0)].parent, g1 - m.procs);
	assert_int_equal(r->ended, CS_ENDED_EXIT);
	assert_int_equal(r->exit_status, 5);
	assert_int_equal(x1->ended, CS_ENDED_EXIT);
	assert_int_equal(x1->role, CS_ROLE_ROOT);
	assert_false(x1->complete);
	assert_int_equal(m.root, g0 - m.procs);
	cs_model_free(&m);
}

static void test_still_running_when_run_stopped(void **state)
{
	child_opts_t o = { .backend = CS_BACKEND_UFFD_WP, .still_running = true };
	cs_model_t m;
	const cs_proc_t *c;
	int fd = tu_open(dir, "run.cst", CS_FILE_RUN, 499, 0);

	(void)state;
	tu_run(fd, 500, 100, "server");
	tu_child_exit(fd, 500, 0, 50);
	tu_run_end(fd, 0, 1, 2);
	close(fd);
	write_root(500, 501, -1);
	write_child(501, 500, &o);
	c = load_proc(&m, 501, 0);
	assert_true(c->still_running);
	assert_false(c->complete);
	assert_string_equal(c->incomplete, "no end record (still running when cowscope stopped)");
	assert_int_equal(c->fig.child_copied, 7);
	assert_int_equal(m.procs[m.root].pid, 500);
	cs_model_free(&m);
}

static void test_reaped_without_fork_is_not_a_cow_child(void **state)
{
	cs_model_t m;
	const cs_proc_t *s;
	int fd = tu_open(dir, "600.0.cst", CS_FILE_PROCESS, 600, 0);

	(void)state;
	tu_proc(fd, 600, 1, 0, CS_ROLE_ROOT, "spawner");
	tu_child_exit(fd, 601, 0, 10); /* posix_spawn or vfork: no FORK record */
	tu_end(fd, CS_END_EXIT, 0, 20);
	close(fd);
	s = load_proc(&m, 601, 0);
	assert_int_equal(s->role, CS_ROLE_ROOT);
	assert_int_equal(s->ended, CS_ENDED_EXIT);
	assert_int_equal(s->ppid, 600);
	cs_model_free(&m);
}

static void test_forged_ppid_cycle(void **state)
{
	cs_model_t m;
	cs_diag_t d = { "" };
	int fd = tu_open(dir, "700.0.cst", CS_FILE_PROCESS, 700, 0);

	(void)state;
	tu_proc(fd, 700, 702, 0, CS_ROLE_CHILD, "a");
	close(fd);
	fd = tu_open(dir, "701.0.cst", CS_FILE_PROCESS, 701, 0);
	tu_proc(fd, 701, 700, 0, CS_ROLE_CHILD, "b");
	close(fd);
	fd = tu_open(dir, "702.0.cst", CS_FILE_PROCESS, 702, 0);
	tu_proc(fd, 702, 701, 0, CS_ROLE_CHILD, "c");
	close(fd);
	assert_int_equal(cs_model_load(&m, dir, &d), 0);
	assert_int_equal(m.nprocs, 3);
	assert_int_equal((m.procs[0].parent < 0) + (m.procs[1].parent < 0) +
				 (m.procs[2].parent < 0),
			 1); /* one edge cut, the rest of the chain kept */
	cs_model_free(&m);
}

/* One image: "<pid>.<gen>.cst" begun at start, ended `how` at end (no END if how is 0). */
static void image(uint32_t pid, uint32_t gen, uint32_t ppid, uint64_t start, uint8_t how,
		  uint64_t end)
{
	int fd = tu_open(dir, name(pid, gen, ".cst"), CS_FILE_PROCESS, pid, gen);

	tu_proc_gen_start(fd, pid, ppid, gen, gen ? CS_ROLE_ROOT : CS_ROLE_CHILD, "x", start);
	if (how)
		tu_end(fd, how, 0, end);
	close(fd);
}

/*
 * Pids reused: a later gen is an exec continuation only if the earlier image
 * ended by exec (or left no END), the later did not begin before that, and the
 * pid was not reaped in between; else it is a new process under its own parent.
 */
static void test_reused_pids_are_not_exec_images(void **state)
{
	int fd = tu_open(dir, "500.0.cst", CS_FILE_PROCESS, 500, 0);
	cs_model_t m;
	const cs_proc_t *root, *p;

	(void)state;
	tu_proc_gen_start(fd, 500, 1, 0, CS_ROLE_ROOT, "root", 0);
	tu_fork(fd, 501, 0, 1 * MS);
	tu_child_exit(fd, 501, 0, 3 * MS);
	tu_fork(fd, 501, 1, 10 * MS); /* pid 501 again: a second child */
	tu_fork(fd, 503, 2, 20 * MS);
	tu_child_exit(fd, 503, SIGKILL, 30 * MS);
	tu_child_exit(fd, 503, 7 << 8, 50 * MS);
	close(fd);
	image(501, 0, 500, 1 * MS, CS_END_EXIT, 2 * MS);
	image(501, 1, 500, 10 * MS, CS_END_EXIT, 11 * MS); /* gen 0 exited: new process */
	image(502, 0, 500, 1 * MS, CS_END_EXEC, 20 * MS);
	image(502, 1, 500, 21 * MS, CS_END_EXIT, 22 * MS); /* a real exec */
	image(502, 2, 500, 23 * MS, CS_END_EXIT, 24 * MS); /* gen 1 exited: new process */
	image(503, 0, 500, 20 * MS, 0, 0);                 /* killed, reaped at 30 ms */
	image(503, 1, 7, 40 * MS, CS_END_EXIT, 45 * MS);   /* reaped in between: new */
	image(504, 0, 500, 1 * MS, CS_END_EXEC, 50 * MS);
	image(504, 1, 500, 45 * MS, CS_END_EXIT, 60 * MS); /* began before the exec: new */
	root = load_proc(&m, 500, 0);
	p = &m.procs[cs_model_find(&m, 501, 1)];
	assert_false(p->exec_image);
	assert_true(p->pid_reused);
	assert_int_equal(p->exec_no, 0);
	assert_ptr_equal(&m.procs[p->parent], root);
	assert_ptr_equal(&m.procs[m.procs[cs_model_find(&m, 501, 0)].parent], root);
	p = &m.procs[cs_model_find(&m, 502, 1)];
	assert_true(p->exec_image);
	assert_false(p->pid_reused);
	assert_int_equal(p->exec_no, 1);
	assert_int_equal(p->parent, cs_model_find(&m, 502, 0));
	p = &m.procs[cs_model_find(&m, 502, 2)];
	assert_true(p->pid_reused);
	assert_ptr_equal(&m.procs[p->parent], root);
	p = &m.procs[cs_model_find(&m, 503, 0)];
	assert_int_equal(p->ended, CS_ENDED_SIGNAL); /* its own reap, not the later one's */
	assert_int_equal(p->signal, SIGKILL);
	p = &m.procs[cs_model_find(&m, 503, 1)];
	assert_true(p->pid_reused);
	assert_int_equal(p->parent, -1); /* its ppid (7) has no trace */
	assert_int_equal(p->exit_status, 0);
	p = &m.procs[cs_model_find(&m, 504, 1)];
	assert_true(p->pid_reused);
	assert_ptr_equal(&m.procs[p->parent], root);
	cs_model_free(&m);
}

/* A snapshot whose page state could not be read: every private mapping skipped, sets cut short. */
static void blind_snap(int fd, uint32_t seq, uint8_t reason, uint64_t t)
{
	tu_snap_begin(fd, seq, reason, CS_BACKEND_UFFD_WP, t, 3);
	tu_mapping(fd, seq, 16 * P, 32 * P, CS_MAP_HEAP, CS_MAPF_SKIPPED, "[heap]");
	tu_mapping(fd, seq, 64 * P, 80 * P, CS_MAP_ANON, CS_MAPF_SKIPPED, "");
	tu_mapping(fd, seq, 96 * P, 100 * P, CS_MAP_SHARED, 0, "/dev/shm/x");
	tu_snap_end_flags(fd, seq, CS_SNAPF_TRUNCATED);
}

static const cs_note_t *note_of(const cs_proc_t *p, uint32_t code)
{
	for (size_t i = 0; i < p->nnotes; i++)
		if (p->notes[i].code == code)
			return &p->notes[i];
	return NULL;
}

/* Blind snapshots (pagemap unreadable) give unknown figures and a reason, never 0. */
static void test_blind_snapshots_are_unknown_not_zero(void **state)
{
	child_opts_t o = { .backend = CS_BACKEND_UFFD_WP };
	cs_model_t m;
	const cs_proc_t *c;
	int fd;

	(void)state;
	write_root(600, 601, 0);
	fd = tu_open(dir, name(601, 0, ".cst"), CS_FILE_PROCESS, 601, 0);
	tu_proc(fd, 601, 600, 0, CS_ROLE_CHILD, "worker");
	tu_backend(fd, CS_BACKEND_UFFD_WP, "");
	tu_shim_range(fd, 72 * P, 74 * P);
	fork_snap(fd, &o);
	blind_snap(fd, 1, CS_SNAP_EXIT, T_FORK + 5 * MS); /* the child's own exit snapshot */
	tu_end(fd, CS_END_EXIT, 0, T_FORK + 6 * MS);
	close(fd);
	c = load_proc(&m, 601, 0);
	assert_int_equal(c->fig.shared_at_fork, 30);
	assert_int_equal(c->fig.child_copied, CS_UNKNOWN);
	assert_int_equal(c->fig.unshared, CS_UNKNOWN);
	assert_true(isnan(c->fig.share_retained));
	assert_false(c->complete);
	assert_string_equal(c->incomplete, "blind: its page state could not be read (see notes)");
	assert_non_null(note_of(c, CS_NOTE_BLIND));
	assert_string_equal(cs_note_code_name(CS_NOTE_BLIND), "blind");
	cs_model_free(&m);
}

/* A blind fork snapshot: S itself is unknown. */
static void test_blind_fork_snapshot(void **state)
{
	child_opts_t o = { .backend = CS_BACKEND_UFFD_WP };
	cs_model_t m;
	const cs_proc_t *c;
	int fd;

	(void)state;
	write_root(610, 611, 0);
	fd = tu_open(dir, name(611, 0, ".cst"), CS_FILE_PROCESS, 611, 0);
	tu_proc(fd, 611, 610, 0, CS_ROLE_CHILD, "worker");
	tu_backend(fd, CS_BACKEND_UFFD_WP, "");
	tu_shim_range(fd, 72 * P, 74 * P);
	blind_snap(fd, 0, CS_SNAP_FORK, T_FORK);
	z2(fd, 1, CS_SNAP_EXIT, &o);
	tu_end(fd, CS_END_EXIT, 0, T_FORK + 11 * MS);
	close(fd);
	c = load_proc(&m, 611, 0);
	assert_int_equal(c->fig.shared_at_fork, CS_UNKNOWN);
	assert_int_equal(c->fig.child_copied, CS_UNKNOWN);
	assert_int_equal(c->fig.child_new, CS_UNKNOWN);
	assert_false(c->complete);
	assert_non_null(note_of(c, CS_NOTE_BLIND));
	cs_model_free(&m);
}

/* The outside sampler's CS_NOTE_BLIND in the samples file reaches the process's notes. */
static void test_sampler_blind_note(void **state)
{
	child_opts_t o = { .backend = CS_BACKEND_UFFD_WP };
	cs_model_t m;
	const cs_proc_t *c;
	const cs_note_t *n;
	int fd, sfd;

	(void)state;
	write_root(620, 621, SIGKILL);
	fd = tu_open(dir, name(621, 0, ".cst"), CS_FILE_PROCESS, 621, 0);
	tu_proc(fd, 621, 620, 0, CS_ROLE_CHILD, "worker");
	tu_backend(fd, CS_BACKEND_UFFD_WP, "");
	tu_shim_range(fd, 72 * P, 74 * P);
	fork_snap(fd, &o);
	close(fd);
	sfd = tu_open(dir, name(621, 0, ".samples.cst"), CS_FILE_SAMPLES, 621, 0);
	tu_note(sfd, CS_NOTE_BLIND, EACCES, "cowscope run cannot read the page state of pid 621");
	close(sfd);
	c = load_proc(&m, 621, 0);
	n = note_of(c, CS_NOTE_BLIND);
	assert_non_null(n);
	assert_int_equal(n->err, EACCES);
	assert_int_equal(c->fig.shared_at_fork, 30);
	assert_int_equal(c->fig.child_copied, CS_UNKNOWN);
	assert_string_equal(c->incomplete, "killed by SIGKILL");
	cs_model_free(&m);
}

/* One child of root 630 with the given notes and no END unless `end`. */
static const cs_proc_t *noted_child(cs_model_t *m, uint32_t pid, bool end, uint32_t code,
				    int32_t err, const char *t1, const char *t2)
{
	child_opts_t o = { .backend = CS_BACKEND_UFFD_WP };
	int fd = tu_open(dir, name(pid, 0, ".cst"), CS_FILE_PROCESS, pid, 0);

	tu_proc(fd, pid, 630, 0, CS_ROLE_CHILD, "worker");
	tu_backend(fd, CS_BACKEND_UFFD_WP, "");
	tu_shim_range(fd, 72 * P, 74 * P);
	fork_snap(fd, &o);
	if (t1)
		tu_note(fd, code, err, t1);
	z2(fd, 1, CS_SNAP_EXIT, &o);
	if (t2)
		tu_note(fd, code, err, t2);
	if (end)
		tu_end(fd, CS_END_EXIT, 0, T_FORK + 11 * MS);
	close(fd);
	write_root(630, pid, -1);
	return load_proc(m, pid, 0);
}

static void test_lost_records_disk_full(void **state)
{
	cs_model_t m;
	const cs_proc_t *c;

	(void)state;
	c = noted_child(&m, 631, true, CS_NOTE_WRITE_LOST, ENOSPC,
			"cowscope: trace records lost: 3 (write failed; none partial)",
			"cowscope: trace records lost: 4 (write failed; none partial)");
	assert_false(c->complete);
	assert_true(c->lost_records);
	assert_int_equal(c->records_lost, 7);
	assert_string_equal(c->incomplete, "disk full (7 records lost)");
	assert_int_equal(c->fig.child_copied, 7); /* everything before the damage is read */
	cs_model_free(&m);
}

static void test_lost_records_other_error(void **state)
{
	cs_model_t m;
	const cs_proc_t *c;

	(void)state;
	c = noted_child(&m, 632, true, CS_NOTE_WRITE_LOST, EIO, "cowscope: records went missing",
			NULL);
	assert_int_equal(c->records_lost, CS_UNKNOWN);
	assert_string_equal(c->incomplete,
			    "trace writes failed: Input/output error (records lost)");
	cs_model_free(&m);
}

static void test_descriptor_closed(void **state)
{
	cs_model_t m;
	const cs_proc_t *c;

	(void)state;
	c = noted_child(&m, 633, false, CS_NOTE_FD, EBADF,
			"cowscope: the program closed or reused the trace descriptor (reopens 1)",
			NULL);
	assert_string_equal(c->incomplete, "trace descriptor closed by the program");
	cs_model_free(&m);
}

static void test_no_traces(void **state)
{
	cs_model_t m;
	cs_diag_t d = { "" };
	char want[4200];

	(void)state;
	tu_write_file(dir, "notes.txt", "hi", 2);
	assert_int_equal(cs_model_load(&m, dir, &d), -ENOENT);
	snprintf(want, sizeof(want), "no cowscope traces in %s", dir);
	assert_string_equal(d.msg, want);
	assert_int_equal(cs_model_load(&m, "/nonexistent/run", &d), -ENOENT);
	assert_string_equal(d.msg,
			    "cannot read run directory '/nonexistent/run': No such file or "
			    "directory");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_uffd_wp, setup, teardown),
		cmocka_unit_test_setup_teardown(test_soft_dirty_with_an_unarmed_mapping, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_pfn, setup, teardown),
		cmocka_unit_test_setup_teardown(test_exclusive, setup, teardown),
		cmocka_unit_test_setup_teardown(test_killed_child_figures_from_last_sample, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_fork_without_trace_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_exit_status_is_eight_bits, setup, teardown),
		cmocka_unit_test_setup_teardown(test_exec_generations, setup, teardown),
		cmocka_unit_test_setup_teardown(test_still_running_when_run_stopped, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_reaped_without_fork_is_not_a_cow_child, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_forged_ppid_cycle, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reused_pids_are_not_exec_images, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_blind_snapshots_are_unknown_not_zero, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_blind_fork_snapshot, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sampler_blind_note, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lost_records_disk_full, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lost_records_other_error, setup, teardown),
		cmocka_unit_test_setup_teardown(test_descriptor_closed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_traces, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
