/* SPDX-License-Identifier: MIT */
/* Unit tests of the run's story (model/story.c): groups, roles, exec chains, significance. */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>
#include "cs_testmodel.h"
#include "story.h"

#define MIB_PAGES 256 /* 4 KiB pages in a MiB */

typedef tm_fake_t fake_t;

static void fake_init(fake_t *f)
{
	tm_fake_init(f);
	f->m.run.has_run = true;
	f->m.run.start_ns = 1000000000ull;
}

/* A process image; cmd is NUL-joined with its length including the last NUL. */
static cs_proc_t *proc(fake_t *f, uint32_t pid, uint32_t gen, int64_t ppid, uint8_t role,
		       const char *cmd, size_t len)
{
	cs_proc_t *p = &f->procs[f->m.nprocs++];

	p->pid = pid;
	p->gen = gen;
	p->ppid = ppid;
	p->role = role;
	p->page_size = 4096;
	p->has_proc = true;
	p->cmdline = (char *)cmd;
	p->cmdline_len = len;
	p->parent = -1;
	p->fig.shared_at_fork = p->fig.child_copied = p->fig.parent_unshared = CS_UNKNOWN;
	p->fig.unshared = p->fig.child_new = CS_UNKNOWN;
	return p;
}

/* A measured child of image parent, forked at t seconds into the run, ended at end (0: no). */
static cs_proc_t *kid(fake_t *f, uint32_t pid, long parent, const char *cmd, size_t len, double t,
		      double end, int64_t shared, int64_t copied, int64_t punshared)
{
	cs_proc_t *p = proc(f, pid, 0, f->procs[parent].pid, CS_ROLE_CHILD, cmd, len);

	p->parent = parent;
	p->start_ns = f->m.run.start_ns + (uint64_t)(t * 1e9);
	if (end > 0) {
		p->has_end = true;
		p->end_how = CS_END_EXIT;
		p->end_ns = f->m.run.start_ns + (uint64_t)(end * 1e9);
	}
	p->fig = (cs_figures_t){ .shared_at_fork = shared,
				 .child_copied = copied,
				 .parent_unshared = punshared,
				 .unshared = copied + punshared,
				 .child_new = 0,
				 .share_retained =
					 1 - (double)(copied + punshared) / (double)shared };
	return p;
}

#define GUNICORN "/usr/bin/python3\0/usr/bin/gunicorn\0--preload\0app:app"
#define HELPER "/bin/sh\0-c\0true"

/* A gunicorn-like master: four workers forked out of pid order, the second dies and is
 * replaced, plus a small helper. */
static void gunicorn(fake_t *f)
{
	fake_init(f);
	proc(f, 100, 0, 1, CS_ROLE_ROOT, GUNICORN, sizeof(GUNICORN));
	f->m.root = 0;
	kid(f, 101, 0, GUNICORN, sizeof(GUNICORN), 0.4, 0, 64 * MIB_PAGES, 40 * MIB_PAGES, 0);
	kid(f, 102, 0, GUNICORN, sizeof(GUNICORN), 0.1, 2.0, 64 * MIB_PAGES, 10 * MIB_PAGES, 1);
	kid(f, 103, 0, GUNICORN, sizeof(GUNICORN), 0.2, 0, 64 * MIB_PAGES, 20 * MIB_PAGES, 0);
	kid(f, 104, 0, GUNICORN, sizeof(GUNICORN), 0.3, 0, 64 * MIB_PAGES, 30 * MIB_PAGES, 0);
	kid(f, 105, 0, GUNICORN, sizeof(GUNICORN), 3.0, 0, 64 * MIB_PAGES, 50 * MIB_PAGES, 0);
	kid(f, 106, 0, HELPER, sizeof(HELPER), 0.5, 0.6, 32, 8, 0); /* 128 KiB: folded */
}

static void test_workers(void **state)
{
	fake_t f;
	cs_story_t s;
	const cs_sib_t *g;

	(void)state;
	gunicorn(&f);
	assert_int_equal(cs_story_compute(&f.m, &s), 0);
	assert_int_equal(s.nsibs, 2);
	g = &s.sibs[0];
	assert_int_equal(g->n, 5);
	/* fork order, not pid order */
	assert_int_equal(f.procs[g->members[0]].pid, 102);
	assert_int_equal(f.procs[g->members[3]].pid, 101);
	assert_int_equal(f.procs[g->members[4]].pid, 105);
	assert_string_equal(s.p[2].label, "worker 1 of 4");
	assert_string_equal(s.p[3].label, "worker 2 of 4");
	assert_string_equal(s.p[1].label, "worker 4 of 4");
	assert_string_equal(s.p[5].label, "respawned worker 5");
	assert_int_equal(s.p[5].role, CS_SR_RESPAWN);
	assert_int_equal(g->respawned, 1);
	assert_string_equal(s.p[0].label, "master");
	assert_string_equal(s.p[0].program, "gunicorn");
	assert_string_equal(s.p[6].label, "child 5 of 6"); /* forked fifth, at 0.5 s */
	/* spreads over the five measured workers: 10, 20, 30, 40, 50 MiB copied */
	assert_true(g->copied.min == 10 * MIB_PAGES && g->copied.max == 50 * MIB_PAGES);
	assert_true(g->copied.median == 30 * MIB_PAGES && g->copied.sum == 150 * MIB_PAGES);
	assert_true(g->punshared.median == 0 && g->punshared.sum == 1);
	assert_int_equal(f.procs[g->worst].pid, 105);
	assert_true(fabs(g->first_fork_s - 0.1) < 1e-6);
	assert_true(fabs(s.p[5].forked_at_s - 3.0) < 1e-6);
	assert_true(fabs(s.p[2].ended_at_s - 2.0) < 1e-6);
	cs_story_free(&s);
}

/* A loop of fork-and-wait: the same command one after another are children, not workers. */
static void test_sequential(void **state)
{
	fake_t f;
	cs_story_t s;

	(void)state;
	fake_init(&f);
	proc(&f, 100, 0, 1, CS_ROLE_ROOT, HELPER, sizeof(HELPER));
	kid(&f, 101, 0, HELPER, sizeof(HELPER), 0.1, 0.2, 4 * MIB_PAGES, MIB_PAGES, 0);
	kid(&f, 102, 0, HELPER, sizeof(HELPER), 0.3, 0.4, 4 * MIB_PAGES, 2 * MIB_PAGES, 0);
	kid(&f, 103, 0, HELPER, sizeof(HELPER), 0.5, 0.6, 4 * MIB_PAGES, 3 * MIB_PAGES, 0);
	assert_int_equal(cs_story_compute(&f.m, &s), 0);
	assert_int_equal(s.nsibs, 1);
	assert_false(s.sibs[0].concurrent);
	assert_int_equal(s.sibs[0].respawned, 0);
	assert_string_equal(cs_sib_noun(&s.sibs[0]), "children");
	assert_string_equal(s.p[1].label, "child 1 of 3");
	assert_string_equal(s.p[3].label, "child 3 of 3");
	assert_int_equal(s.p[2].role, CS_SR_CHILD);
	assert_string_equal(s.p[0].label, "parent");
	assert_true(s.sibs[0].copied.median == 2 * MIB_PAGES); /* still one group */
	cs_story_free(&s);

	/* the second overlaps the first: workers; the third replaces the first while the
	 * second runs: a respawn */
	f.procs[1].end_ns = f.m.run.start_ns + 400000000ull; /* ends at 0.4 s */
	f.procs[2].has_end = false;
	assert_int_equal(cs_story_compute(&f.m, &s), 0);
	assert_true(s.sibs[0].concurrent);
	assert_string_equal(cs_sib_noun(&s.sibs[0]), "workers");
	assert_string_equal(s.p[1].label, "worker 1 of 2");
	assert_string_equal(s.p[2].label, "worker 2 of 2");
	assert_string_equal(s.p[3].label, "respawned worker 3");
	assert_string_equal(s.p[0].label, "master");
	cs_story_free(&s);
}

static void test_significance(void **state)
{
	fake_t f;
	cs_story_t s;

	(void)state;
	gunicorn(&f);
	assert_int_equal(cs_story_compute(&f.m, &s), 0);
	/* the largest child shares 64 MiB: 1% of it is below 1 MiB, so 1 MiB is the bar */
	assert_true(s.threshold_bytes == 1024.0 * 1024.0);
	assert_int_equal(s.folded, 1);
	assert_false(s.p[6].significant);
	assert_false(s.sibs[1].significant);
	assert_true(s.p[1].significant && s.p[0].significant && s.sibs[0].significant);
	assert_int_equal(s.dominant, CS_SORT_COPIED);
	cs_story_free(&s);

	/* no child reaches 1 MiB: every child is significant */
	fake_init(&f);
	proc(&f, 100, 0, 1, CS_ROLE_ROOT, HELPER, sizeof(HELPER));
	kid(&f, 101, 0, HELPER, sizeof(HELPER), 0.1, 0, 32, 8, 0);
	assert_int_equal(cs_story_compute(&f.m, &s), 0);
	assert_true(s.threshold_bytes == 0);
	assert_int_equal(s.folded, 0);
	assert_true(s.p[1].significant);
	cs_story_free(&s);
}

/* A BGSAVE-like child: the parent unshared more than the child copied. */
static void test_dominant(void **state)
{
	fake_t f;
	cs_story_t s;

	(void)state;
	fake_init(&f);
	proc(&f, 100, 0, 1, CS_ROLE_ROOT, "redis-server", sizeof("redis-server"));
	kid(&f, 101, 0, "redis-server", sizeof("redis-server"), 1, 0, 1000, 10, 900);
	assert_int_equal(cs_story_compute(&f.m, &s), 0);
	assert_int_equal(s.dominant, CS_SORT_PUNSHARED);
	assert_true(cs_story_key(&f.procs[1], s.dominant) == 900);
	assert_true(cs_story_key(&f.procs[1], CS_SORT_COPIED) == 10);
	assert_true(cs_story_key(&f.procs[1], CS_SORT_UNSHARED) == 910);
	assert_true(cs_story_key(&f.procs[1], CS_SORT_NEW) == 0);
	assert_string_equal(s.p[1].label, "child 1 of 1");
	assert_string_equal(s.p[0].label, "parent");
	cs_story_free(&s);
}

/* A pyenv-like exec chain: env → bash → python3, which forks the child that matters. */
static void test_exec_chain(void **state)
{
	static const char env[] = "/usr/bin/env\0bash\0/root/.pyenv/shims/python3\0app.py";
	static const char bash[] = "bash\0/root/.pyenv/shims/python3\0app.py";
	static const char py[] = "/usr/bin/python3\0app.py";
	fake_t f;
	cs_story_t s;

	(void)state;
	fake_init(&f);
	proc(&f, 100, 0, 1, CS_ROLE_ROOT, env, sizeof(env));
	proc(&f, 100, 1, 1, CS_ROLE_ROOT, bash, sizeof(bash))->exec_image = true;
	proc(&f, 100, 2, 1, CS_ROLE_ROOT, py, sizeof(py))->exec_image = true;
	f.procs[1].parent = 0;
	f.procs[2].parent = 1;
	f.procs[1].exec_no = 1;
	f.procs[2].exec_no = 2;
	f.m.root = 0;
	kid(&f, 101, 1, bash, sizeof(bash), 0.1, 0.2, 100, 20, 0); /* a helper of the shim script */
	kid(&f, 102, 2, py, sizeof(py), 1.0, 0, 16 * MIB_PAGES, 8 * MIB_PAGES, 0);
	assert_int_equal(cs_story_compute(&f.m, &s), 0);
	assert_int_equal(s.p[0].chain_last, 2);
	assert_int_equal(s.p[2].chain_first, 0);
	assert_int_equal(s.p[2].execs, 2);
	assert_int_equal(s.p[0].role, CS_SR_IMAGE);
	assert_string_equal(s.p[0].label, "exec image 1");
	assert_string_equal(s.p[1].label, "parent"); /* it forked the helper */
	assert_string_equal(s.p[2].label, "parent");
	assert_string_equal(s.p[0].program, "app.py"); /* env → bash → python3 shim → app.py */
	assert_true(s.p[2].significant && s.p[4].significant);
	assert_false(s.p[3].significant);
	assert_false(s.p[0].significant || s.p[1].significant);
	assert_int_equal(s.folded, 1);
	cs_story_free(&s);
}

static void test_program_names(void **state)
{
	char buf[64];

	(void)state;
	assert_string_equal(cs_program_name(GUNICORN, sizeof(GUNICORN), buf, sizeof(buf)),
			    "gunicorn");
	assert_string_equal(cs_program_name("/usr/bin/python3.11\0-c\0pass", 27, buf, sizeof(buf)),
			    "python3.11");
	assert_string_equal(cs_program_name("./server\0--port\0"
					    "80",
					    19, buf, sizeof(buf)),
			    "server");
	assert_string_equal(cs_program_name("ruby3.1\0bin/unicorn", 20, buf, sizeof(buf)),
			    "unicorn");
	assert_string_equal(cs_program_name("", 0, buf, sizeof(buf)), "?");
	assert_string_equal(cs_program_name(NULL, 0, buf, sizeof(buf)), "?");
	/* a launcher with nothing after it is itself */
	assert_string_equal(cs_program_name("/usr/bin/env", 13, buf, sizeof(buf)), "env");
}

static void test_sort_names(void **state)
{
	int v = -1;

	(void)state;
	assert_int_equal(cs_sort_parse("parent-unshared", &v), 0);
	assert_int_equal(v, CS_SORT_PUNSHARED);
	assert_int_equal(cs_sort_parse("auto", &v), 0);
	assert_int_equal(v, CS_SORT_AUTO);
	assert_int_equal(cs_sort_parse("bytes", &v), -EINVAL);
	assert_string_equal(cs_sort_name(CS_SORT_NEW), "new");
}

/* A model built by hand has no m->story: cs_story_get computes one. */
static void test_get(void **state)
{
	fake_t f;
	cs_story_t own = { 0 };
	const cs_story_t *s;

	(void)state;
	gunicorn(&f);
	s = cs_story_get(&f.m, &own);
	assert_ptr_equal(s, &own);
	assert_int_equal(s->nsibs, 2);
	cs_story_free(&own);
	f.m.story = &own;
	assert_ptr_equal(cs_story_get(&f.m, NULL), &own);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_workers),      cmocka_unit_test(test_sequential),
		cmocka_unit_test(test_significance), cmocka_unit_test(test_dominant),
		cmocka_unit_test(test_exec_chain),   cmocka_unit_test(test_program_names),
		cmocka_unit_test(test_sort_names),   cmocka_unit_test(test_get),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
