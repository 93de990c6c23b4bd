/* SPDX-License-Identifier: MIT */
/* Unit tests: which snapshot the working figures come from, UNMAP copies, at_end and peak, and their JSON/text. */
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include "analyze.h"
#include "cs_testmodel.h"
#include "cs_testutil.h"
#include "diff.h"
#include "figures.h"
#include "model.h"
#include "render.h"

#define P TU_PAGE
#define MS 1000000ull
#define T_FORK (1 * MS)
#define RUNS(...)                          \
	(const cs_run_t[]){ __VA_ARGS__ }, \
		sizeof((const cs_run_t[]){ __VA_ARGS__ }) / sizeof(cs_run_t)

TU_DIR_FIXTURE(dir)

static int open_file(const char *d, uint32_t pid, const char *suffix, uint32_t kind)
{
	char name[64];

	snprintf(name, sizeof(name), "%u.0%s", pid, suffix);
	return tu_open(d, name, kind, pid, 0);
}

/*
 * The child's memory: a heap [16, 32) and an anonymous mapping [64, 80), both armed, all
 * present at the fork: S = 32 pages.
 */
static void maps(int fd, uint32_t seq, bool anon_low, bool anon_high)
{
	tu_mapping(fd, seq, 16 * P, 32 * P, CS_MAP_HEAP, CS_MAPF_ARMED, "[heap]");
	if (anon_low)
		tu_mapping(fd, seq, 64 * P, 72 * P, CS_MAP_ANON, CS_MAPF_ARMED, "");
	if (anon_high)
		tu_mapping(fd, seq, 72 * P, 80 * P, CS_MAP_ANON, CS_MAPF_ARMED, "");
}

static void fork_snap(int fd)
{
	tu_snap_begin(fd, 0, CS_SNAP_FORK, CS_BACKEND_UFFD_WP, T_FORK, 1);
	tu_mapping(fd, 0, 16 * P, 32 * P, CS_MAP_HEAP, CS_MAPF_ARMED, "[heap]");
	tu_mapping(fd, 0, 64 * P, 80 * P, CS_MAP_ANON, CS_MAPF_ARMED, "");
	tu_pages(fd, 0, CS_SET_PRESENT, RUNS({ 16, 16 }, { 64, 16 }));
	tu_snap_end(fd, 0);
}

/* A whole snapshot: the heap written (and exclusive) on [16, 16 + w), the anon part as given. */
static void snap(int fd, uint32_t seq, uint8_t reason, uint64_t t, uint64_t w, bool anon)
{
	tu_snap_begin(fd, seq, reason, CS_BACKEND_UFFD_WP, t, 10 + seq);
	maps(fd, seq, false, anon);
	tu_pages(fd, seq, CS_SET_PRESENT, RUNS({ 16, 16 }));
	if (anon)
		tu_pages(fd, seq, CS_SET_PRESENT, RUNS({ 72, 8 }));
	tu_pages(fd, seq, CS_SET_WRITTEN, RUNS({ 16, w }));
	tu_pages(fd, seq, CS_SET_EXCL, RUNS({ 16, w }));
	tu_snap_end(fd, seq);
}

/*
 * An UNMAP snapshot of [lo, lo + 8): the child wrote `written` pages from lo, and one more page
 * (lo + 7) is exclusive without a write of the child's: the parent wrote it.
 */
static void unmap_snap(int fd, uint32_t seq, uint64_t t, uint64_t lo, uint64_t written)
{
	tu_snap_begin(fd, seq, CS_SNAP_UNMAP, CS_BACKEND_UFFD_WP, t, 10 + seq);
	tu_mapping(fd, seq, lo * P, (lo + 8) * P, CS_MAP_ANON, CS_MAPF_ARMED, "");
	tu_pages(fd, seq, CS_SET_PRESENT, RUNS({ lo, 8 }));
	tu_pages(fd, seq, CS_SET_WRITTEN, RUNS({ lo, written }));
	tu_pages(fd, seq, CS_SET_EXCL, RUNS({ lo, written }, { lo + 7, 1 }));
	tu_snap_end(fd, seq);
}

static int child_file(uint32_t pid)
{
	int fd = open_file(dir, pid, ".cst", CS_FILE_PROCESS);

	tu_proc(fd, pid, 100, 0, CS_ROLE_CHILD, "worker");
	tu_backend(fd, CS_BACKEND_UFFD_WP, "");
	fork_snap(fd);
	return fd;
}

static void root(const uint32_t *kids, const int32_t *status, size_t n)
{
	int fd = open_file(dir, 100, ".cst", CS_FILE_PROCESS);

	tu_proc(fd, 100, 1, 0, CS_ROLE_ROOT, "server");
	tu_backend(fd, CS_BACKEND_UFFD_WP, "");
	for (size_t i = 0; i < n; i++) {
		tu_fork(fd, kids[i], i, T_FORK);
		tu_child_exit(fd, kids[i], status[i], T_FORK + 50 * MS);
	}
	tu_end(fd, CS_END_EXIT, 0, T_FORK + 60 * MS);
	close(fd);
}

/*
 * 101: exit() with a WORK snapshot: API +5 ms (2 written), WORK +10 (4), then its atexit
 *      handlers wrote 6 more: EXIT +20 (10). The anon mapping unmapped before WORK (UNMAP +7
 *      of [64, 72): 3 written, 1 by the parent) and during the teardown (UNMAP +15 of
 *      [72, 80): 5 written, not working).
 * 102: _exit: its _exit snapshot is the working one (6 written); nothing after it.
 * 103: killed by SIGKILL: two samples (+5: 3 written, +9: 7); its last own snapshot, an
 *      UNMAP at +12 ([64, 72), 2 written), is no candidate.
 * 104: exit() without a WORK snapshot (return from main): the exit snapshot (9 written).
 */
static void write_run(void)
{
	static const uint32_t kids[] = { 101, 102, 103, 104 };
	static const int32_t status[] = { 0, 0, SIGKILL, 0 };
	int fd, sfd;

	root(kids, status, 4);
	fd = child_file(101);
	snap(fd, 1, CS_SNAP_API, T_FORK + 5 * MS, 2, true);
	unmap_snap(fd, 2, T_FORK + 7 * MS, 64, 3);
	snap(fd, 3, CS_SNAP_WORK, T_FORK + 10 * MS, 4, true);
	unmap_snap(fd, 4, T_FORK + 15 * MS, 72, 5);
	snap(fd, 5, CS_SNAP_EXIT, T_FORK + 20 * MS, 10, false);
	tu_end(fd, CS_END_EXIT, 0, T_FORK + 21 * MS);
	close(fd);
	fd = child_file(102);
	snap(fd, 1, CS_SNAP__EXIT, T_FORK + 10 * MS, 6, true);
	tu_end(fd, CS_END__EXIT, 0, T_FORK + 11 * MS);
	close(fd);
	fd = child_file(103);
	sfd = open_file(dir, 103, ".samples.cst", CS_FILE_SAMPLES);
	snap(sfd, 0, CS_SNAP_SAMPLE, T_FORK + 5 * MS, 3, true);
	snap(sfd, 1, CS_SNAP_SAMPLE, T_FORK + 9 * MS, 7, true);
	unmap_snap(fd, 1, T_FORK + 12 * MS, 64, 2);
	close(sfd);
	close(fd);
	fd = child_file(104);
	snap(fd, 1, CS_SNAP_EXIT, T_FORK + 10 * MS, 9, true);
	tu_end(fd, CS_END_EXIT, 0, T_FORK + 11 * MS);
	close(fd);
}

static void load(cs_model_t *m)
{
	cs_diag_t d = { "" };

	write_run();
	assert_int_equal(cs_model_load(m, dir, &d), 0);
}

static void test_work_snapshot_preferred(void **state)
{
	cs_model_t m;
	const cs_proc_t *c;

	(void)state;
	load(&m);
	c = tm_proc(&m, 101, 0);
	assert_ptr_equal(cs_work_snap(c), &c->snaps[3]);
	assert_int_equal(cs_work_snap(c)->reason, CS_SNAP_WORK);
	assert_int_equal(cs_final_snap(c)->reason, CS_SNAP_EXIT);
	assert_int_equal(c->fig.from, CS_SNAP_WORK);
	assert_int_equal(c->fig.shared_at_fork, 32);
	/* WORK's 4 heap pages, and the 3 copies the UNMAP before it kept; the page only the
	 * parent wrote there is the parent's. The UNMAP during the teardown does not count. */
	assert_int_equal(c->fig.child_copied, 7);
	assert_int_equal(c->fig.parent_unshared, 1);
	assert_int_equal(c->fig.unshared, 8);
	assert_int_equal(c->fig.unmap_snaps, 1);
	assert_int_equal(c->fig.minor_faults, 13);
	assert_int_equal(tm_mapfig(c, 64)->child_copied, 3);
	assert_int_equal(tm_mapfig(c, 64)->parent_unshared, 1);
	assert_int_equal(tm_mapfig(c, 16)->child_copied, 4);
	/* the sets kept for the allocation sites are the working ones */
	assert_int_equal(cs_pageset_count(&c->fig.wc), 7);
	assert_true(c->fig.has_end);
	assert_int_equal(c->fig.at_end.child_copied, 10);
	assert_int_equal(c->fig.at_end.parent_unshared, 0);
	assert_int_equal(c->fig.at_end.unshared, 10);
	assert_true(fabs(c->fig.at_end.share_retained - (1.0 - 10.0 / 32.0)) < 1e-9);
	assert_int_equal(c->fig.peak_unshared, 10);
	assert_int_equal(c->fig.ntimeline, 3); /* API, WORK, EXIT: no UNMAP */
	cs_model_free(&m);
}

static void test_exit_without_work_and__exit(void **state)
{
	cs_model_t m;
	const cs_proc_t *a, *b;

	(void)state;
	load(&m);
	a = tm_proc(&m, 102, 0);
	assert_int_equal(a->fig.from, CS_SNAP__EXIT);
	assert_int_equal(a->fig.child_copied, 6);
	assert_false(a->fig.has_end);
	assert_int_equal(a->fig.at_end.child_copied, CS_UNKNOWN);
	assert_int_equal(a->fig.peak_unshared, 6);
	b = tm_proc(&m, 104, 0);
	assert_int_equal(b->fig.from, CS_SNAP_EXIT);
	assert_int_equal(b->fig.child_copied, 9);
	assert_false(b->fig.has_end);
	assert_string_equal(cs_snap_reason_name(a->fig.from), "_exit");
	assert_string_equal(cs_snap_reason_name(b->fig.from), "exit");
	assert_string_equal(cs_snap_reason_name(CS_SNAP_WORK), "work");
	assert_string_equal(cs_snap_reason_name(42), "unknown");
	cs_model_free(&m);
}

static void test_killed_child_last_sample(void **state)
{
	cs_model_t m;
	const cs_proc_t *c;

	(void)state;
	load(&m);
	c = tm_proc(&m, 103, 0);
	assert_int_equal(c->ended, CS_ENDED_SIGNAL);
	assert_true(cs_work_snap(c)->from_samples);
	assert_int_equal(c->fig.from, CS_SNAP_SAMPLE);
	assert_int_equal(c->fig.child_copied, 7);
	assert_int_equal(c->fig.unmap_snaps, 0); /* its UNMAP came after the last sample */
	assert_false(c->fig.has_end);
	assert_int_equal(c->fig.ntimeline, 2);
	cs_model_free(&m);
}

static char *render(int (*fn)(FILE *, const cs_model_t *, const cs_render_opts_t *))
{
	return tm_render_loaded(load, fn);
}

static void test_json_keys(void **state)
{
	char *doc = render(cs_render_json);

	(void)state;
	assert_non_null(strstr(doc, "\"child_copied_pages\": 7,\n"));
	assert_non_null(strstr(doc,
			       "\"figures_from\": \"work\",\n      \"unmap_snapshots\": 1,\n"
			       "      \"peak_unshared_pages\": 10,\n"
			       "      \"released_pages\": 8,\n      \"at_end\": {\n"
			       "        \"child_copied_pages\": 10,\n"
			       "        \"parent_unshared_pages\": 0,\n"
			       "        \"unshared_pages\": 10,\n        \"child_new_pages\": 0,\n"
			       "        \"share_retained\": 0.687500\n      },\n"));
	assert_non_null(strstr(doc,
			       "\"figures_from\": \"_exit\",\n      \"unmap_snapshots\": 0,\n"
			       "      \"peak_unshared_pages\": 6,\n"
			       "      \"released_pages\": 8,\n      \"at_end\": null,\n"));
	assert_non_null(strstr(doc, "\"figures_from\": \"sample\","));
	/* the root has no figures */
	assert_non_null(strstr(doc,
			       "\"figures_from\": null,\n      \"unmap_snapshots\": null,\n"
			       "      \"peak_unshared_pages\": null,\n"
			       "      \"released_pages\": null,\n      \"at_end\": null,\n"));
	/* totals: 101 at its end (10), the others as working (6 + 7 + 9) */
	assert_non_null(strstr(doc,
			       "\"totals_at_end\": {\n    \"children\": 4,\n"
			       "    \"children_with_later_snapshot\": 1,\n"
			       "    \"child_copied_pages\": 32,\n"));
	/* the working totals: one parent, its 32 shared pages once; copies summed (6 + 7 + 9 + 7) */
	assert_non_null(strstr(doc,
			       "\"totals\": {\n    \"children\": 4,\n"
			       "    \"children_measured\": 4,\n"));
	assert_non_null(strstr(doc,
			       "    \"shared_at_fork_pages\": 32,\n"
			       "    \"child_copied_pages\": 29,\n"));
	free(doc);
}

static void test_text_teardown_lines(void **state)
{
	char *doc = render(cs_render_text);

	(void)state;
	/* by default one line for the group of 4 workers */
	assert_non_null(
		strstr(doc,
		       "\n  4 workers of server master (pid 100): after teardown the 1 that "
		       "went on held <0.1 MiB copied each;\n"
		       "      peak <0.1 MiB unshared in one\n"));
	assert_null(strstr(doc, "pid 101: working figures"));
	/* the verdict says how many went on, not "each worker" */
	assert_non_null(strstr(doc, "; after teardown the 1 that went on held <0.1 MiB each"));
	assert_null(strstr(doc, "each worker held"));
	free(doc);
	tm_opts.all = tm_opts.per_process = true; /* each worker, lines unwrapped */
	doc = render(cs_render_text);
	tm_opts.all = tm_opts.per_process = false;
	assert_non_null(strstr(doc,
			       "\nafter teardown (the table holds working figures: the last "
			       "snapshot before each child began to exit):\n"
			       "  pid 101: working figures from its work snapshot; after teardown "
			       "(exit): <0.1 MiB copied, <0.1 MiB unshared; peak <0.1 MiB "
			       "unshared\n"));
	assert_null(strstr(doc, "pid 102: working figures")); /* nothing after its _exit */
	assert_non_null(strstr(doc,
			       "  after teardown (1 of them went on after their working "
			       "snapshot): 0.1 MiB copied (25.0%)\n"));
	free(doc);
}

/* The same run on both sides of a diff: working figures compared, at-end ones beside them. */
static void test_diff_says_working(void **state)
{
	cs_model_t m;
	cs_diff_t df = { 0 };
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	(void)state;
	load(&m);
	df.before = (cs_side_t){ .m = &m, .phase = -1, .label = "a" };
	df.after = (cs_side_t){ .m = &m, .phase = -1, .label = "b" };
	assert_int_equal(cs_diff_compute(&df), 0);
	assert_int_equal(df.before.tot.child_copied, 29);
	assert_int_equal(df.before.end.child_copied, 32);
	assert_int_equal(df.before.end.later, 1);
	assert_int_equal(cs_render_diff_json(f, &df), 0);
	fflush(f);
	assert_non_null(
		strstr(buf, "\"metric\": \"child_copied\",\n    \"figures\": \"working\","));
	assert_non_null(strstr(buf,
			       "\"at_end\": {\n      \"children_with_later_snapshot\": 1,\n"
			       "      \"child_copied_pages\": 32,\n"));
	assert_non_null(strstr(buf,
			       "\"figures_from\": \"work\",\n        \"at_end\": {\n"
			       "          \"child_copied_pages\": 10,\n"));
	rewind(f);
	assert_int_equal(cs_render_diff_text(f, &df, 0), 0);
	fflush(f);
	assert_non_null(strstr(buf,
			       "\n(working figures: each child's last snapshot before it began "
			       "to exit; docs/working-figures.md)\n"));
	assert_non_null(strstr(buf, "  child-copied at end "));
	fclose(f);
	free(buf);
	cs_diff_free(&df);
	cs_model_free(&m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_work_snapshot_preferred, setup, teardown),
		cmocka_unit_test_setup_teardown(test_exit_without_work_and__exit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_killed_child_last_sample, setup, teardown),
		cmocka_unit_test_setup_teardown(test_json_keys, setup, teardown),
		cmocka_unit_test_setup_teardown(test_text_teardown_lines, setup, teardown),
		cmocka_unit_test_setup_teardown(test_diff_says_working, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
