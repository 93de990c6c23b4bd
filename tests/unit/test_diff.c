/* SPDX-License-Identifier: MIT */
/* Unit tests: the diff math on hand-built models, the headline, site matching, JSON, and exit codes. */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include "cli.h"
#include "cs_testutil.h"
#include "diff.h"
#include "render.h"

#define MAXP 8

/* A model built in memory: children with given figures, in phases "start" and "frozen". */
typedef struct fake {
	cs_model_t m;
	cs_proc_t procs[MAXP];
	const char *phases[2];
} fake_t;

static void fake_init(fake_t *f)
{
	memset(f, 0, sizeof(*f));
	f->phases[0] = "start";
	f->phases[1] = "frozen";
	f->m.procs = f->procs;
	f->m.phases = f->phases;
	f->m.nphases = 2;
	f->m.root = -1;
	f->m.absdir = "/runs/x";
	f->m.dir = "/runs/x";
}

/* A measured child: shared S, copied C (CS_UNKNOWN: backend cannot split), parent-unshared P. */
static cs_proc_t *kid(fake_t *f, uint32_t pid, size_t phase, uint64_t start, int64_t s, int64_t c,
		      int64_t p)
{
	cs_proc_t *k = &f->procs[f->m.nprocs++];
	int64_t u = c >= 0 ? c + p : p;

	k->pid = pid;
	k->role = CS_ROLE_CHILD;
	k->page_size = 4096;
	k->start_ns = start;
	k->phase = phase;
	k->parent = -1;
	k->complete = true;
	k->fig = (cs_figures_t){ .shared_at_fork = s,
				 .child_copied = c,
				 .parent_unshared = c >= 0 ? p : CS_UNKNOWN,
				 .unshared = u,
				 .child_new = 0,
				 .minor_faults = CS_UNKNOWN,
				 .share_retained = 1.0 - (double)u / (double)s,
				 .split = c >= 0 };
	return k;
}

static cs_diff_t diff_of(fake_t *b, long pb, fake_t *a, long pa)
{
	cs_diff_t df = { 0 };

	df.before = (cs_side_t){ .m = &b->m, .phase = pb, .label = pb >= 0 ? b->phases[pb] : "b" };
	df.after = (cs_side_t){ .m = &a->m, .phase = pa, .label = pa >= 0 ? a->phases[pa] : "a" };
	assert_int_equal(cs_diff_compute(&df), 0);
	return df;
}

static void test_change(void **state)
{
	(void)state;
	assert_true(fabs(cs_diff_change(61.2, 3.1) - (-94.934640)) < 1e-5);
	assert_true(fabs(cs_diff_change(10, 15) - 50.0) < 1e-9);
	assert_true(isnan(cs_diff_change(0, 5)));
	assert_true(isnan(cs_diff_change(NAN, 5)));
	assert_true(isnan(cs_diff_change(5, NAN)));
}

/* The example: 61.2% → 3.1%, two phases of one run. */
static void test_headline_phases(void **state)
{
	fake_t f;
	cs_diff_t df;
	char buf[256];

	(void)state;
	fake_init(&f);
	kid(&f, 11, 0, 100, 1000, 612, 3);
	kid(&f, 12, 0, 200, 1000, 612, 0);
	kid(&f, 13, 1, 300, 1000, 31, 0);
	kid(&f, 14, 1, 400, 1000, 31, 1);
	df = diff_of(&f, 0, &f, 1);
	assert_true(df.split);
	assert_int_equal(df.before.nkids, 2);
	assert_int_equal(df.after.nkids, 2);
	assert_string_equal(cs_diff_headline(&df, buf, sizeof(buf)),
			    "from start to frozen: 61.2% \u2192 3.1% of shared pages copied "
			    "(\u221294.9%)");
	assert_int_equal(df.before.tot.child_copied, 1224);
	assert_int_equal(df.after.tot.child_copied, 62);
	assert_int_equal(df.before.tot.parent_unshared, 3);
	assert_int_equal(df.after.tot.unshared, 63);
	cs_diff_free(&df);
}

/* Whole runs: children paired in start order, the longer side's extras unpaired. */
static void test_pairs_and_totals(void **state)
{
	fake_t b, a;
	cs_diff_t df;

	(void)state;
	fake_init(&b);
	fake_init(&a);
	kid(&b, 30, 0, 300, 100, 50, 0);
	kid(&b, 20, 1, 100, 100, 10, 0); /* started first: paired first */
	kid(&a, 40, 0, 100, 200, 20, 0);
	kid(&a, 41, 0, 200, 200, 40, 0);
	kid(&a, 42, 0, 300, 200, 0, 0);
	a.procs[2].role = CS_ROLE_ROOT; /* not a child: not on a side */
	df = diff_of(&b, -1, &a, -1);
	assert_int_equal(df.npairs, 2);
	assert_int_equal(b.procs[df.before.kids[0]].pid, 20);
	assert_int_equal(b.procs[df.before.kids[1]].pid, 30);
	assert_int_equal(a.procs[df.after.kids[0]].pid, 40);
	assert_int_equal(df.before.tot.shared_at_fork, 200);
	assert_int_equal(df.after.tot.shared_at_fork, 400);
	assert_true(fabs(df.pct_before - 30.0) < 1e-9);
	assert_true(fabs(df.pct_after - 15.0) < 1e-9);
	assert_true(fabs(df.change + 50.0) < 1e-9);
	cs_diff_free(&df);
}

/* The bill: each parent's shared set and parent-unshared pages once, never summed over kids. */
static void test_once_per_parent(void **state)
{
	fake_t f;
	cs_diff_t df;

	(void)state;
	fake_init(&f);
	kid(&f, 11, 0, 100, 1000, 600, 3)->ppid = 5;
	kid(&f, 12, 0, 200, 1010, 600, 7)->ppid = 5;
	kid(&f, 13, 0, 300, 400, 100, 2)->ppid = 6;
	kid(&f, 14, 1, 400, 1000, 30, 0)->ppid = 5;
	kid(&f, 15, 1, 500, 2000, 30, 1)->ppid = 5;
	kid(&f, 16, 1, 600, 100, 0, 0)->ppid = 6;
	f.procs[5].fig.shared_at_fork = CS_UNKNOWN; /* not measured: left out */
	df = diff_of(&f, 0, &f, 1);
	assert_int_equal(df.before.tot.shared_at_fork, 2410);
	assert_int_equal(df.before.shared_once, 1010 + 400);
	assert_int_equal(df.before.punshared_once, 7 + 2);
	assert_true(fabs(df.before.shared_once_bytes - 1410.0 * 4096) < 1e-6);
	assert_int_equal(df.after.shared_once, 2000);
	assert_int_equal(df.after.punshared_once, 1);
	cs_diff_free(&df);
}

static cs_site_t site(const char *key, const char *bucket, double copied)
{
	return (cs_site_t){ .key = key,
			    .bucket = bucket,
			    .child_copied = copied,
			    .parent_unshared = 0,
			    .unshared = copied };
}

/* Sites match by key across the sides; sorted by the size of their change. */
static void test_sites_matched(void **state)
{
	fake_t b, a;
	cs_site_t sb[2][2] = { { site("m!alloc_a", NULL, 60), site("m!alloc_b", NULL, 50) },
			       { site("m!alloc_a", NULL, 40), site("heap", "heap", 10) } };
	cs_site_t sa[2] = { site("m!alloc_a", NULL, 5), site("heap", "heap", 10) };
	cs_site_t sd = site("m!alloc_d", NULL, 20);
	cs_diff_t df;
	cs_proc_t *k;

	(void)state;
	fake_init(&b);
	fake_init(&a);
	for (int i = 0; i < 2; i++) {
		k = kid(&b, 10 + i, 0, 10 + i, 1000, 110, 0);
		k->has_sites = true;
		k->sites = sb[i];
		k->nsites = 2;
	}
	k = kid(&a, 20, 0, 1, 1000, 15, 0);
	k->has_sites = true;
	k->sites = sa;
	k->nsites = 2;
	k = kid(&a, 21, 0, 2, 1000, 20, 0);
	k->has_sites = true;
	k->sites = &sd;
	k->nsites = 1;
	df = diff_of(&b, -1, &a, -1);
	assert_int_equal(df.nsites, 4);
	assert_string_equal(df.sites[0].before->key, "m!alloc_a"); /* 100 → 5 */
	assert_true(fabs(df.sites[0].delta + 95) < 1e-9);
	assert_string_equal(df.sites[0].after->key, "m!alloc_a");
	assert_null(df.sites[1].after); /* 50 → none */
	assert_true(fabs(df.sites[1].delta + 50) < 1e-9);
	assert_null(df.sites[2].before); /* none → 20 */
	assert_true(fabs(df.sites[2].delta - 20) < 1e-9);
	assert_string_equal(df.sites[3].after->bucket, "heap"); /* 10 → 10 */
	assert_true(df.sites[3].delta == 0);
	cs_diff_free(&df);
}

/* A side whose backend cannot split: the diff compares unshared pages and says so. */
static void test_unsplit(void **state)
{
	fake_t b, a;
	cs_diff_t df;
	char buf[256];

	(void)state;
	fake_init(&b);
	fake_init(&a);
	kid(&b, 10, 0, 1, 1000, CS_UNKNOWN, 500);
	kid(&a, 20, 0, 1, 1000, 100, 100);
	df = diff_of(&b, -1, &a, -1);
	assert_false(df.split);
	assert_string_equal(
		cs_diff_headline(&df, buf, sizeof(buf)),
		"from b to a: 50.0% \u2192 20.0% of shared pages unshared (\u221260.0%)");
	cs_diff_free(&df);
}

static void test_headline_edges(void **state)
{
	fake_t f;
	cs_diff_t df;
	char buf[256];

	(void)state;
	fake_init(&f);
	kid(&f, 10, 0, 1, 1000, 0, 0);
	df = diff_of(&f, 0, &f, 1);
	assert_string_equal(cs_diff_headline(&df, buf, sizeof(buf)),
			    "from start to frozen: no measured children in frozen");
	cs_diff_free(&df);
	kid(&f, 11, 1, 2, 1000, 0, 0);
	df = diff_of(&f, 0, &f, 1);
	assert_string_equal(
		cs_diff_headline(&df, buf, sizeof(buf)),
		"from start to frozen: 0.0% \u2192 0.0% of shared pages copied (no change)");
	cs_diff_free(&df);
	f.procs[1].fig.child_copied = 1;
	f.procs[1].fig.unshared = 1;
	df = diff_of(&f, 0, &f, 1);
	assert_string_equal(
		cs_diff_headline(&df, buf, sizeof(buf)),
		"from start to frozen: 0.0% \u2192 0.1% of shared pages copied (none before)");
	cs_diff_free(&df);
}

static char *render(const cs_diff_t *df, bool json)
{
	char *buf = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&buf, &n);

	assert_non_null(f);
	assert_int_equal(json ? cs_render_diff_json(f, df) : cs_render_diff_text(f, df, 10), 0);
	fclose(f);
	return buf;
}

static void test_render(void **state)
{
	fake_t f;
	cs_diff_t df;
	char *out;

	(void)state;
	fake_init(&f);
	kid(&f, 11, 0, 100, 1000, 612, 0);
	kid(&f, 13, 1, 300, 1000, 31, 0);
	df = diff_of(&f, 0, &f, 1);
	out = render(&df, true);
	assert_non_null(strstr(out,
			       "\"schema_version\": 1,\n  \"headline\": {\n    \"text\": "
			       "\"from start to frozen: 61.2% \u2192 3.1%"));
	assert_non_null(strstr(out, "\"metric\": \"child_copied\""));
	assert_non_null(strstr(out, "\"change_percent\": -94.935"));
	assert_non_null(strstr(out, "\"phase\": \"frozen\""));
	assert_non_null(strstr(out, "\"child_copied_pages\": -581"));
	free(out);
	out = render(&df, false);
	assert_non_null(strstr(out, "from start to frozen: 61.2% \u2192 3.1%"));
	assert_non_null(
		strstr(out, "  child-copied                2.4        0.1       \u22122.3\n"));
	free(out);
	cs_diff_free(&df);
}

/* ---- the command ---------------------------------------------------------------------- */

TU_DIR_FIXTURE(dir)

/* Run `cowscope diff ARGS` with stdout and stderr to /dev/null; returns its exit code. */
static int diff_exit(int argc, char **argv)
{
	static const cs_cmd_t *const cmds[] = { &cs_cmd_diff, &cs_cmd_help };
	const cs_cli_t cli = { cmds, 2 };
	int saved = dup(1), saved2 = dup(2), null = open("/dev/null", O_WRONLY), rc;

	fflush(stdout);
	dup2(null, 1);
	dup2(null, 2);
	rc = cs_cli_exec(&cli, &cs_cmd_diff, argc, argv);
	fflush(stdout);
	dup2(saved, 1);
	dup2(saved2, 2);
	close(saved);
	close(saved2);
	close(null);
	return rc;
}

static void test_exit_codes(void **state)
{
	char with_phase[4200], bad_phase[4200], empty_phase[4200];
	int fd = tu_proc_file(dir, 100, 1, CS_ROLE_ROOT, CS_BACKEND_UFFD_WP);

	(void)state;
	tu_mark(fd, 5, 0, "frozen");
	close(fd);
	snprintf(with_phase, sizeof(with_phase), "%s:frozen", dir);
	snprintf(bad_phase, sizeof(bad_phase), "%s:nope", dir);
	snprintf(empty_phase, sizeof(empty_phase), "%s:", dir);
	assert_int_equal(diff_exit(3, (char *[]){ "diff", dir, dir, NULL }), 0);
	assert_int_equal(diff_exit(5,
				   (char *[]){ "diff", "--format", "json", dir, with_phase, NULL }),
			 2); /* "frozen" marks no child-forking process here: no such phase */
	assert_int_equal(diff_exit(3, (char *[]){ "diff", dir, bad_phase, NULL }), 2);
	assert_int_equal(diff_exit(3, (char *[]){ "diff", dir, empty_phase, NULL }), 2);
	assert_int_equal(diff_exit(2, (char *[]){ "diff", dir, NULL }), 2);
	assert_int_equal(diff_exit(4, (char *[]){ "diff", dir, dir, dir, NULL }), 2);
	assert_int_equal(diff_exit(5, (char *[]){ "diff", "--format", "svg", dir, dir, NULL }), 2);
	assert_int_equal(diff_exit(5, (char *[]){ "diff", "--top", "x", dir, dir, NULL }), 2);
	assert_int_equal(diff_exit(2, (char *[]){ "diff", "--help", NULL }), 0);
	assert_int_equal(diff_exit(3, (char *[]){ "diff", dir, "/nonexistent/run", NULL }), 3);
	assert_int_equal(diff_exit(3, (char *[]){ "diff", "/nonexistent/run:start", dir, NULL }),
			 3);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_change),
		cmocka_unit_test(test_headline_phases),
		cmocka_unit_test(test_pairs_and_totals),
		cmocka_unit_test(test_once_per_parent),
		cmocka_unit_test(test_sites_matched),
		cmocka_unit_test(test_unsplit),
		cmocka_unit_test(test_headline_edges),
		cmocka_unit_test(test_render),
		cmocka_unit_test_setup_teardown(test_exit_codes, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
