/* SPDX-License-Identifier: MIT */
/* Unit tests: perf event records (format 1.5) loaded, bounds-checked, resolved at the working and end snapshots, and rendered. */
#include <errno.h>
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
#include "figures.h"
#include "model.h"
#include "render.h"

#define P TU_PAGE
#define MS 1000000ull
#define T_FORK (1 * MS)
#define MINFLT "perf::PERF_COUNT_SW_PAGE_FAULTS_MIN"
#define BOGUS "bogus::thing"
#define RUNS(...)                          \
	(const cs_run_t[]){ __VA_ARGS__ }, \
		sizeof((const cs_run_t[]){ __VA_ARGS__ }) / sizeof(cs_run_t)

TU_DIR_FIXTURE(dir)

/* CS_REC_EVDEFS: MINFLT counted, BOGUS not (-ENOENT), or only `n` of them with a count of `claim`. */
static void evdefs(int fd, uint32_t claim)
{
	uint8_t buf[256] = { 0 };
	cs_rec_evdefs_t *r = (cs_rec_evdefs_t *)buf;
	cs_event_def_t *d = (cs_event_def_t *)(buf + sizeof(*r));
	size_t n = sizeof(*r) + 2 * sizeof(*d);
	const char *names[] = { MINFLT, BOGUS };

	d[0] = (cs_event_def_t){ .type = 1, .config = 5 };
	d[1] = (cs_event_def_t){ .err = -ENOENT };
	for (int i = 0; i < 2; i++) {
		uint16_t l = (uint16_t)strlen(names[i]);

		memcpy(buf + n, &l, 2);
		memcpy(buf + n + 2, names[i], l);
		n += 2 + l;
	}
	n = (n + 7) & ~(size_t)7;
	*r = (cs_rec_evdefs_t){ .h = { CS_REC_EVDEFS, 0, (uint32_t)n }, .count = claim };
	tu_put(fd, buf, n);
}

/* CS_REC_COUNTS of the two events: minflt counted over running of enabled ns. */
static void counts(int fd, uint8_t at, uint32_t seq, uint64_t minflt, uint64_t running, uint32_t n)
{
	struct {
		cs_rec_counts_t r;
		cs_count_t c[2];
	} rec = { .r = { .h = { CS_REC_COUNTS, 0, sizeof(rec) }, .seq = seq, .at = at, .count = n },
		  .c = { { minflt, 1000, running }, { 0, 0, 0 } } };

	tu_put(fd, &rec, sizeof(rec));
}

static void snap(int fd, uint32_t seq, uint8_t reason, uint64_t t, uint64_t written)
{
	tu_snap_begin(fd, seq, reason, CS_BACKEND_UFFD_WP, t, 10 + seq);
	tu_mapping(fd, seq, 16 * P, 32 * P, CS_MAP_HEAP, CS_MAPF_ARMED, "[heap]");
	tu_pages(fd, seq, CS_SET_PRESENT, RUNS({ 16, 16 }));
	if (written) {
		tu_pages(fd, seq, CS_SET_WRITTEN, RUNS({ 16, written }));
		tu_pages(fd, seq, CS_SET_EXCL, RUNS({ 16, written }));
	}
	tu_snap_end(fd, seq);
}

static void root(void)
{
	int fd = tu_open(dir, "100.0.cst", CS_FILE_PROCESS, 100, 0);

	tu_proc(fd, 100, 1, 0, CS_ROLE_ROOT, "server");
	tu_backend(fd, CS_BACKEND_UFFD_WP, "");
	evdefs(fd, 2);
	tu_fork(fd, 101, 0, T_FORK);
	tu_mark(fd, T_FORK + 30 * MS, 0, "frozen");
	counts(fd, CS_COUNT_AT_MARK, 0, 50, 1000, 2);
	tu_child_exit(fd, 101, 0, T_FORK + 50 * MS);
	counts(fd, CS_COUNT_AT_SNAP, UINT32_MAX, 70, 1000, 2); /* the root's end */
	tu_end(fd, CS_END_EXIT, 0, T_FORK + 60 * MS);
	close(fd);
}

/*
 * 101: 8 pages written by its WORK snapshot (seq 2: 20 minor faults, multiplexed half the
 * time: 40 scaled), 12 by its EXIT one (seq 3: 30, not scaled).
 */
static void child(void)
{
	int fd = tu_open(dir, "101.0.cst", CS_FILE_PROCESS, 101, 0);

	tu_proc(fd, 101, 100, 0, CS_ROLE_CHILD, "worker");
	tu_backend(fd, CS_BACKEND_UFFD_WP, "");
	evdefs(fd, 2);
	counts(fd, CS_COUNT_AT_SNAP, 0, 1, 1000, 2);
	snap(fd, 0, CS_SNAP_FORK, T_FORK, 0);
	counts(fd, CS_COUNT_AT_SNAP, 2, 20, 500, 2);
	snap(fd, 2, CS_SNAP_WORK, T_FORK + 10 * MS, 8);
	counts(fd, CS_COUNT_AT_SNAP, 3, 30, 1000, 2);
	snap(fd, 3, CS_SNAP_EXIT, T_FORK + 20 * MS, 12);
	tu_end(fd, CS_END_EXIT, 0, T_FORK + 21 * MS);
	close(fd);
}

static void load(cs_model_t *m)
{
	cs_diag_t d = { "" };

	root();
	child();
	assert_int_equal(cs_model_load(m, dir, &d), 0);
}

static void test_loaded_and_resolved(void **state)
{
	cs_model_t m;
	const cs_proc_t *c, *r;

	(void)state;
	load(&m);
	c = tm_proc(&m, 101, 0);
	r = tm_proc(&m, 100, 0);
	assert_true(c->ev.has_defs);
	assert_int_equal(c->ev.ndefs, 2);
	assert_string_equal(c->ev.defs[0].name, MINFLT);
	assert_int_equal(c->ev.defs[1].err, -ENOENT);
	assert_int_equal(c->ev.nreads, 3);
	/* the working snapshot (seq 2): 20 counted in 500 of 1000 ns, scaled to 40 */
	assert_true(c->ev.work[0].known && c->ev.work[0].scaled);
	assert_int_equal(c->ev.work[0].value, 40);
	assert_false(c->ev.work[1].known); /* never named: unknown, not 0 */
	assert_non_null(c->ev.end);
	assert_true(c->ev.end[0].known && !c->ev.end[0].scaled);
	assert_int_equal(c->ev.end[0].value, 30);
	/* a root: its end reading, not the mark's */
	assert_int_equal(r->ev.nreads, 2);
	assert_int_equal(r->ev.work[0].value, 70);
	assert_null(r->ev.end);
	cs_model_free(&m);
}

static char *render(int (*fn)(FILE *, const cs_model_t *, const cs_render_opts_t *))
{
	return tm_render_loaded(load, fn);
}

static void test_json(void **state)
{
	char *doc = render(cs_render_json);

	(void)state;
	assert_non_null(strstr(doc,
			       "\"" MINFLT "\": {\n"
			       "          \"count\": 40,\n"
			       "          \"scaled\": true,\n"
			       "          \"at_end\": 30,\n"
			       "          \"error\": null\n"));
	assert_non_null(strstr(doc,
			       "\"" BOGUS "\": {\n"
			       "          \"count\": null,\n"
			       "          \"scaled\": false,\n"
			       "          \"at_end\": null,\n"
			       "          \"error\": 2\n"));
	/* the root's own counts, and those at its mark */
	assert_non_null(strstr(doc, "\"count\": 70,"));
	assert_non_null(strstr(doc,
			       "\"events_at_marks\": [\n"
			       "        {\n"
			       "          \"label\": \"frozen\",\n"
			       "          \"mark\": 0,\n"
			       "          \"events\": {\n"
			       "            \"" MINFLT "\": 50,\n"
			       "            \"" BOGUS "\": null\n"));
	assert_non_null(strstr(doc, "\"events_at_marks\": [],")); /* the child's: none */
	/* summed over the children: the one child, in its parent's group and in totals */
	assert_non_null(strstr(doc,
			       "\"events\": {\n          \"" MINFLT "\": 40,\n          \"" BOGUS
			       "\": null\n        }"));
	assert_non_null(strstr(
		doc, "\"events\": {\n      \"" MINFLT "\": 40,\n      \"" BOGUS "\": null\n    }"));
	free(doc);
}

static void test_text(void **state)
{
	char *doc = render(cs_render_text);

	(void)state;
	/* FLT/COPY: 40 minor faults (the event's) over 8 copied pages */
	assert_non_null(strstr(doc, "FLT/COPY  MINFLT  ENDED\n"));
	assert_non_null(strstr(doc, "     5.00      12  exit 0\n"));
	assert_non_null(strstr(doc,
			       "\n  101 child 1 of 1  PERF_COUNT_SW_PAGE_FAULTS_MIN=~40  "
			       "bogus::thing=-\n"));
	assert_non_null(strstr(doc,
			       "\n  100 parent  PERF_COUNT_SW_PAGE_FAULTS_MIN=70  "
			       "bogus::thing=-\n"
			       "      at mark \"frozen\":  PERF_COUNT_SW_PAGE_FAULTS_MIN=50  "
			       "bogus::thing=-\n"));
	free(doc);
}

/* A child file whose events records are bad as given; the load fails naming why. */
static void bad_load(void (*records)(int fd), const char *why)
{
	cs_model_t m;
	cs_diag_t d = { "" };
	int fd;

	root();
	fd = tu_open(dir, "101.0.cst", CS_FILE_PROCESS, 101, 0);
	tu_proc(fd, 101, 100, 0, CS_ROLE_CHILD, "worker");
	records(fd);
	close(fd);
	assert_int_equal(cs_model_load(&m, dir, &d), -EBADMSG);
	if (!strstr(d.msg, why))
		fail_msg("%s does not say %s", d.msg, why);
	cs_model_free(&m);
}

static void counts_first(int fd)
{
	counts(fd, CS_COUNT_AT_SNAP, 0, 1, 1, 2);
}

static void counts_short(int fd)
{
	evdefs(fd, 2);
	counts(fd, CS_COUNT_AT_SNAP, 0, 1, 1, 3);
}

static void defs_overrun(int fd)
{
	evdefs(fd, 9);
}

static void counts_bad_point(int fd)
{
	evdefs(fd, 2);
	counts(fd, 7, 0, 1, 1, 2);
}

static void test_bad_records(void **state)
{
	(void)state;
	bad_load(counts_first, "counts without event definitions");
	bad_load(counts_short, "counts for a different number of events");
	bad_load(defs_overrun, "bad event count");
	bad_load(counts_bad_point, "bad counts point");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_loaded_and_resolved, setup, teardown),
		cmocka_unit_test_setup_teardown(test_json, setup, teardown),
		cmocka_unit_test_setup_teardown(test_text, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_records, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
