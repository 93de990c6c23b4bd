/* SPDX-License-Identifier: MIT */
/* Unit tests: stored JSON reports as baselines: loading, its errors, comparing, writing. */
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>
#include "baseline.h"
#include "cs_testmodel.h"
#include "cs_testutil.h"

TU_DIR_FIXTURE(dir)

/* dir/name holding s; returns the path (malloc'd). */
static char *doc(const char *name, const char *s)
{
	char *path = NULL;

	tu_write_file(dir, name, s, strlen(s));
	assert_true(asprintf(&path, "%s/%s", dir, name) > 0);
	return path;
}

/* A measured child of a report: shared 1000 pages of 4 KiB, copied C, share retained R. */
#define CHILD(C, R, AMP)                                                                           \
	"{\"pid\": 11, \"role\": \"child\", \"page_size\": 4096, \"shared_at_fork_pages\": 1000, " \
	"\"child_copied_pages\": " #C ", \"parent_unshared_pages\": 0, \"share_retained\": " #R    \
	", \"amplification\": " #AMP ", \"sites\": []}"
#define REPORT(C, R, AMP)                                                                          \
	"{\"schema_version\": 1, \"run\": {}, \"processes\": [{\"pid\": 10, \"role\": \"root\", "  \
	"\"shared_at_fork_pages\": null, \"child_copied_pages\": null}, " CHILD(                   \
		C, R, AMP) "], \"totals\": {\"page_size\": 4096, \"shared_at_fork_pages\": 1000, " \
			   "\"child_copied_pages\": " #C                                           \
			   ", \"parent_unshared_pages\": 0, \"share_retained\": " #R               \
			   ", \"amplification\": " #AMP "}}\n"

/* Load path, expecting err; the message names the file and contains `has` (if not NULL). */
static void load_fails(const char *path, int err, const char *has)
{
	cs_baseline_t *b = (cs_baseline_t *)1;
	cs_diag_t d = { "" };

	assert_int_equal(cs_baseline_load(path, &b, &d), err);
	assert_null(b);
	assert_non_null(strstr(d.msg, path));
	if (has && !strstr(d.msg, has))
		fail_msg("\"%s\" lacks \"%s\"", d.msg, has);
}

static void test_load_good(void **state)
{
	char *path = doc("good.json", REPORT(100, 0.9, null));
	cs_baseline_t *b = NULL;
	cs_diag_t d = { "" };

	(void)state;
	assert_int_equal(cs_baseline_load(path, &b, &d), 0);
	assert_non_null(b);
	assert_string_equal(d.msg, "");
	cs_baseline_free(b);
	cs_baseline_free(NULL);
	free(path);
}

static void test_load_missing(void **state)
{
	char *path = NULL;

	(void)state;
	assert_true(asprintf(&path, "%s/none.json", dir) > 0);
	load_fails(path, -ENOENT, "No such file");
	free(path);
}

static void test_load_corrupt(void **state)
{
	char *path = doc("bad.json", "{\"schema_version\": 1,\n  \"processes\": [}\n");

	(void)state;
	load_fails(path, -EBADMSG, "not valid JSON: line 2, column ");
	free(path);
	path = doc("empty.json", "");
	load_fails(path, -EBADMSG, "not valid JSON");
	free(path);
	path = doc("trail.json", REPORT(1, 1, null) "x");
	load_fails(path, -EBADMSG, "not valid JSON");
	free(path);
	load_fails(dir, -EBADMSG, "not a regular file");
}

static void test_load_newer(void **state)
{
	char *path = doc("v2.json", "{\"schema_version\": 2, \"processes\": [], \"totals\": {}}");

	(void)state;
	load_fails(path, -EBADMSG, "schema_version 2 is newer than this cowscope reads (1)");
	free(path);
}

static void test_load_wrong_kind(void **state)
{
	char *path = doc("diff.json",
			 "{\"schema_version\": 1, \"headline\": {\"text\": \"x\"}, "
			 "\"before\": {}, \"after\": {}, \"children\": [], \"sites\": []}");

	(void)state;
	load_fails(path, -EBADMSG, "a `cowscope diff` document, not a report");
	free(path);
	path = doc("noproc.json", "{\"schema_version\": 1, \"totals\": {}}");
	load_fails(path, -EBADMSG, "no \"processes\" array");
	free(path);
	path = doc("array.json", "[1, 2]");
	load_fails(path, -EBADMSG, "no schema_version");
	free(path);
	path = doc("type.json",
		   "{\"schema_version\": 1, \"processes\": [{\"role\": \"child\", "
		   "\"sites\": [{\"frames\": [{\"module\": 7}]}]}], \"totals\": {}}");
	load_fails(path, -EBADMSG, "processes[0].sites[0].frames[0].module has the wrong type");
	free(path);
}

/* ---- comparing: a run model built in memory ---- */

typedef tm_fake_t fake_t;

static void fake_init(fake_t *f)
{
	tm_fake_init(f);
	f->m.dir = f->m.absdir = "/runs/x";
}

/* A measured child of parent 1: shared S, child-copied C, parent-unshared P (4 KiB pages). */
static cs_proc_t *kid(fake_t *f, uint32_t pid, int64_t s, int64_t c, int64_t p)
{
	cs_proc_t *k = &f->procs[f->m.nprocs++];

	k->pid = pid;
	k->ppid = 1;
	k->role = CS_ROLE_CHILD;
	k->page_size = 4096;
	k->start_ns = pid;
	k->parent = -1;
	k->complete = true;
	k->fig = (cs_figures_t){ .shared_at_fork = s,
				 .child_copied = c,
				 .parent_unshared = p,
				 .unshared = c + p,
				 .child_new = 0,
				 .minor_faults = CS_UNKNOWN,
				 .share_retained = 1.0 - (double)(c + p) / (double)s,
				 .split = true };
	return k;
}

/* f written as a baseline with cs_baseline_write, and loaded back. */
static cs_baseline_t *baseline_of(const fake_t *f)
{
	char *path = NULL;
	cs_baseline_t *b = NULL;
	cs_diag_t d = { "" };

	assert_true(asprintf(&path, "%s/base.json", dir) > 0);
	assert_int_equal(cs_baseline_write(&f->m, path, &d), 0);
	assert_int_equal(cs_baseline_load(path, &b, &d), 0);
	free(path);
	return b;
}

static int compare(const cs_baseline_t *b, const fake_t *run, int tree, double tol,
		   cs_regression_t **regs, size_t *n)
{
	cs_diag_t d = { "" };
	int r = cs_baseline_compare(b, &run->m, tree, tol, regs, n, &d);

	assert_string_equal(d.msg, "");
	return r;
}

static void assert_reg(const cs_regression_t *r, const char *what, double before, double after)
{
	assert_string_equal(r->what, what);
	if (fabs(r->before - before) > 1e-9 || fabs(r->after - after) > 1e-9)
		fail_msg("%s: %.9g -> %.9g, expected %.9g -> %.9g", what, r->before, r->after,
			 before, after);
}

static void test_no_regression(void **state)
{
	fake_t f, g;
	cs_baseline_t *b;
	cs_regression_t *regs = (cs_regression_t *)1;
	size_t n = 7;

	(void)state;
	fake_init(&f);
	kid(&f, 11, 1000, 100, 10);
	b = baseline_of(&f);
	assert_int_equal(compare(b, &f, 0, 0, &regs, &n), 0);
	assert_null(regs);
	assert_int_equal(n, 0);
	fake_init(&g); /* better: fewer copies */
	kid(&g, 21, 1000, 50, 5);
	assert_int_equal(compare(b, &g, 0, 0, &regs, &n), 0);
	assert_int_equal(compare(b, &g, 1, 0, &regs, &n), 0);
	cs_baseline_free(b);
}

/* 100 → 120 copied of 1000 at 10%: copied %, copied MiB regress; share retained 89% → 87% not. */
static void test_beyond_tolerance(void **state)
{
	fake_t f, g;
	cs_baseline_t *b;
	cs_regression_t *regs = NULL;
	size_t n = 0;

	(void)state;
	fake_init(&f);
	kid(&f, 11, 1000, 100, 10);
	fake_init(&g);
	kid(&g, 21, 1000, 120, 10);
	b = baseline_of(&f);
	assert_int_equal(compare(b, &g, 0, 10, &regs, &n), 1);
	assert_int_equal(n, 2);
	assert_reg(&regs[0], "child-copied % of shared pages", 10, 12);
	assert_reg(&regs[1], "child-copied MiB", 100.0 * 4096 / 1048576, 120.0 * 4096 / 1048576);
	free(regs);
	/* at 1%, share retained (89% → 87%: −2.2%) regresses too; parent-unshared did not move */
	assert_int_equal(compare(b, &g, 0, 1, &regs, &n), 1);
	assert_int_equal(n, 3);
	assert_reg(&regs[2], "share retained %", 89, 87);
	free(regs);
	cs_baseline_free(b);
}

/* Exactly at the tolerance passes: 100 → 110 copied at 10%, 10 → 11 parent-unshared. */
static void test_at_tolerance(void **state)
{
	fake_t f, g;
	cs_baseline_t *b;
	cs_regression_t *regs = NULL;
	size_t n = 0;

	(void)state;
	fake_init(&f);
	kid(&f, 11, 1000, 100, 10);
	fake_init(&g);
	kid(&g, 21, 1000, 110, 11);
	b = baseline_of(&f);
	assert_int_equal(compare(b, &g, 0, 10, &regs, &n), 0);
	assert_int_equal(compare(b, &g, 1, 10, &regs, &n), 0);
	assert_int_equal(compare(b, &g, 0, 9.99, &regs, &n), 1);
	assert_int_equal(n, 3); /* copied %, MiB, parent-unshared % (10% up); share 89 → 87.9 */
	assert_reg(&regs[2], "parent-unshared % of shared pages", 1, 1.1);
	free(regs);
	cs_baseline_free(b);
}

/* Worst child vs the tree's totals (the memory bill: one parent's shared pages once). */
static void test_scopes(void **state)
{
	fake_t f, g;
	cs_baseline_t *b;
	cs_regression_t *regs = NULL;
	size_t n = 0;

	(void)state;
	fake_init(&f);
	kid(&f, 11, 1000, 100, 0);
	kid(&f, 12, 1000, 300, 0);
	fake_init(&g); /* the worst child the same, the tree's copies up 400 → 600 */
	kid(&g, 21, 1000, 300, 0);
	kid(&g, 22, 1000, 300, 0);
	b = baseline_of(&f);
	assert_int_equal(compare(b, &g, 0, 0, &regs, &n), 0);
	assert_int_equal(compare(b, &g, 1, 0, &regs, &n), 1);
	assert_reg(&regs[0], "child-copied % of shared pages", 40, 60);
	assert_reg(&regs[1], "child-copied MiB", 400.0 / 256, 600.0 / 256);
	free(regs);
	cs_baseline_free(b);
}

/* Amplification null on the run's side (no changed words): not compared, not a regression. */
static void test_amp_one_side(void **state)
{
	char *path = doc("amp.json", REPORT(100, 0.9, 2.5));
	fake_t g;
	cs_baseline_t *b = NULL;
	cs_regression_t *regs = NULL;
	size_t n = 0;
	cs_diag_t d = { "" };

	(void)state;
	assert_int_equal(cs_baseline_load(path, &b, &d), 0);
	fake_init(&g);
	kid(&g, 21, 1000, 100, 0);
	assert_int_equal(compare(b, &g, 0, 0, &regs, &n), 0);
	assert_int_equal(compare(b, &g, 1, 0, &regs, &n), 0);
	kid(&g, 22, 1000, 101, 0); /* one more page: copies regress, amplification still absent */
	assert_int_equal(compare(b, &g, 0, 0, &regs, &n), 1);
	for (size_t i = 0; i < n; i++)
		assert_null(strstr(regs[i].what, "amplification"));
	free(regs);
	cs_baseline_free(b);
	free(path);
}

static const cs_frame_t fa[] = { { "app", "alloc_a", "a.c", 10, 0x10, false, true },
				 { "app", "main", "main.c", 3, 0x20, false, true } };
static const cs_frame_t fb[] = { { "libx.so", "alloc_b", NULL, CS_UNKNOWN, 0x30, false, false } };
static const cs_frame_t fc[] = { { "libx.so", NULL, NULL, CS_UNKNOWN, 0x4f0, false, false } };

static cs_site_t site(const cs_frame_t *fr, size_t nfr, const char *bucket, double pages)
{
	return (cs_site_t){ .frames = fr,
			    .nframes = nfr,
			    .bucket = bucket,
			    .key = "unused",
			    .child_copied = pages,
			    .parent_unshared = 0,
			    .unshared = pages,
			    .changed_bytes = NAN,
			    .noop_copied = NAN,
			    .compared = NAN };
}

static void with_sites(cs_proc_t *k, cs_site_t *v, size_t n)
{
	k->has_sites = true;
	k->sites = v;
	k->nsites = n;
}

/*
 * Sites matched by symbol key and ranked by growth: alloc_a 10 → 40 (+30), the module+offset
 * frame 0 → 20 (new, +20), alloc_b 50 → 55 (+5: exactly 10%, not listed), the bucket 5 → 5.
 * Sites of two children with the same key are summed.
 */
static void test_sites_ranked(void **state)
{
	cs_site_t sb[] = { site(fa, 2, NULL, 10), site(fb, 1, NULL, 50), site(NULL, 0, "heap", 5) };
	cs_site_t sa1[] = { site(fa, 2, NULL, 25), site(fb, 1, NULL, 55), site(fc, 1, NULL, 20) };
	cs_site_t sa2[] = { site(fa, 2, NULL, 15), site(NULL, 0, "heap", 5) };
	fake_t f, g;
	cs_baseline_t *b;
	cs_regression_t *regs = NULL;
	size_t n = 0;

	(void)state;
	fake_init(&f);
	with_sites(kid(&f, 11, 1000, 65, 0), sb, 3);
	fake_init(&g);
	with_sites(kid(&g, 21, 1000, 100, 0), sa1, 3);
	with_sites(kid(&g, 22, 1000, 20, 0), sa2, 2);
	b = baseline_of(&f);
	assert_int_equal(compare(b, &g, 1, 10, &regs, &n), 1);
	assert_int_equal(n, 4); /* copied %, MiB, then two sites */
	assert_reg(&regs[2], "site app!alloc_a a.c:10", 10, 40);
	assert_reg(&regs[3], "site libx.so+0x4f0", 0, 20);
	free(regs);
	/* at 5% alloc_b (+10%) is listed after them; the bucket never grew */
	assert_int_equal(compare(b, &g, 1, 5, &regs, &n), 1);
	assert_int_equal(n, 5);
	assert_reg(&regs[4], "site libx.so!alloc_b", 50, 55);
	free(regs);
	cs_baseline_free(b);
}

/* The write is atomic: one file in the directory afterwards, readable, replaced whole. */
static void test_write(void **state)
{
	fake_t f;
	char *path = NULL, *bad = NULL;
	cs_diag_t d = { "" };
	size_t entries = 0;
	struct dirent *e;
	DIR *dp;

	(void)state;
	fake_init(&f);
	kid(&f, 11, 1000, 100, 10);
	assert_true(asprintf(&path, "%s/b.json", dir) > 0);
	tu_write_file(dir, "b.json", "old", 3);
	assert_int_equal(cs_baseline_write(&f.m, path, &d), 0);
	dp = opendir(dir);
	while ((e = readdir(dp)))
		entries += e->d_name[0] != '.';
	closedir(dp);
	assert_int_equal(entries, 1);
	cs_baseline_free(baseline_of(&f));
	assert_true(asprintf(&bad, "%s/no/such/dir/b.json", dir) > 0);
	assert_int_equal(cs_baseline_write(&f.m, bad, &d), -ENOENT);
	assert_non_null(strstr(d.msg, bad));
	free(bad);
	free(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_load_good, setup, teardown),
		cmocka_unit_test_setup_teardown(test_load_missing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_load_corrupt, setup, teardown),
		cmocka_unit_test_setup_teardown(test_load_newer, setup, teardown),
		cmocka_unit_test_setup_teardown(test_load_wrong_kind, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_regression, setup, teardown),
		cmocka_unit_test_setup_teardown(test_beyond_tolerance, setup, teardown),
		cmocka_unit_test_setup_teardown(test_at_tolerance, setup, teardown),
		cmocka_unit_test_setup_teardown(test_scopes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_amp_one_side, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sites_ranked, setup, teardown),
		cmocka_unit_test_setup_teardown(test_write, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
