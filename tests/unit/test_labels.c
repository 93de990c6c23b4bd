/* SPDX-License-Identifier: MIT */
/* Unit tests: labelled ranges (format 1.6) loaded, joined to a child's pages, and reported. */
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
#include <sys/stat.h>
#include <cmocka.h>
#include <jansson.h>
#include <zlib.h>
#include "analyze.h"
#include "cs_testmodel.h"
#include "cs_testutil.h"
#include "model.h"
#include "profile.pb-c.h"
#include "render.h"

#define MS 1000000ull
#define HP 0x10000ull /* first page of the heap */
#define HEAP_PAGES 16u
#define ADDR(pg) ((uint64_t)(pg)*TU_PAGE)
#define EPS 1e-9

TM_DIR_MODEL_FIXTURE(dir, m)

static const char *const ab[] = { "A", "B" };

static cs_lrange_t rg(uint64_t pg, uint64_t off, uint64_t len, uint64_t weight, uint32_t label)
{
	return (cs_lrange_t){
		.addr = ADDR(HP + pg) + off, .len = len, .weight = weight, .label = label
	};
}

/*
 * Labelling 1 (python-type, A and B, sampled) over heap pages 0-7: page 0 A whole; page 1
 * B's first quarter; A from the middle of page 2 to the middle of page 3; page 4 A whole
 * and B on its second half (6 KiB on a page: scaled by 2/3); page 5 B on 512 bytes that
 * stand for 2 KiB; page 6 B on half a page standing for 8 KiB (capped to the page); page 7
 * nothing; one range with label 7 (dropped).
 */
static void labelling1(int fd, uint64_t t_ns)
{
	cs_lrange_t v[] = {
		rg(0, 0, TU_PAGE, TU_PAGE, 0),    rg(1, 0, 1024, 1024, 1),
		rg(2, 2048, TU_PAGE, TU_PAGE, 0), rg(4, 0, TU_PAGE, TU_PAGE, 0),
		rg(4, 2048, 2048, 2048, 1),       rg(5, 0, 512, 2048, 1),
		rg(6, 0, 2048, 8192, 1),          rg(3, 3000, 8, 8, 7),
	};

	tu_lset(fd, 1, t_ns, 8, 5 * TU_PAGE, CS_LSETF_SAMPLED, "python-type", ab, 2);
	tu_lranges(fd, 1, v, 5); /* split over two records */
	tu_lranges(fd, 1, v + 5, 3);
}

/* Labelling 2 (python-type, C over pages 0-8 in one range), after the first fork. */
static void labelling2(int fd, uint64_t t_ns)
{
	static const char *const c[] = { "C" };
	cs_lrange_t v = rg(0, 0, 8 * TU_PAGE, 8 * TU_PAGE, 0);

	tu_lset(fd, 2, t_ns, 1, 8 * TU_PAGE, 0, "python-type", c, 1);
	tu_lranges(fd, 2, &v, 1);
}

/* Labelling 3 (python-line, complete): two stacks on pages 0 and 1. */
static void lines(int fd, uint64_t t_ns)
{
	static const char *const l[] = { "/srv/app.py:5;/srv/lib/mod.py:12",
					 "a.py:1;b.py:2;c.py:3;d.py:4;/x/e.py:5;f.py:6" };
	cs_lrange_t v[] = { rg(0, 0, TU_PAGE, TU_PAGE, 0), rg(1, 0, TU_PAGE, TU_PAGE, 1) };

	tu_lset(fd, 3, t_ns, 2, 2 * TU_PAGE, 0, "python-line", l, 2);
	tu_lranges(fd, 3, v, 2);
}

/* Labelling 4 (python-line), later: 5 ranges announced, 2 written. */
static void cut_short(int fd, uint64_t t_ns)
{
	static const char *const l[] = { "z.py:1", "z.py:2" };
	cs_lrange_t v[] = { rg(0, 0, TU_PAGE, TU_PAGE, 0), rg(1, 0, TU_PAGE, TU_PAGE, 1) };

	tu_lset(fd, 4, t_ns, 5, 5 * TU_PAGE, 0, "python-line", l, 2);
	tu_lranges(fd, 4, v, 2);
}

/* Root 100: labellings 1, 3 and 4, forks at 5 ms (101, 103) and 8 ms (102), labelling 2 at 7 ms. */
static const char *cur; /* the run directory being written */

static void root(void)
{
	int fd = tu_proc_file(cur, 100, 1, CS_ROLE_ROOT, CS_BACKEND_UFFD_WP);

	labelling1(fd, 1 * MS);
	lines(fd, 1 * MS + 500);
	cut_short(fd, 2 * MS);
	tu_fork(fd, 101, 1, 5 * MS);
	tu_fork(fd, 103, 2, 5 * MS);
	labelling2(fd, 7 * MS);
	tu_fork(fd, 102, 3, 8 * MS);
	tu_end(fd, CS_END_EXIT, 0, 20 * MS);
	close(fd);
}

static void snap(int fd, uint32_t seq, uint8_t reason, const cs_run_t *wr, size_t nwr,
		 const cs_run_t *ex, size_t nex)
{
	cs_run_t all = { HP, HEAP_PAGES };

	tu_snap_begin(fd, seq, reason, CS_BACKEND_UFFD_WP, (10 + seq) * MS, 0);
	tu_mapping(fd, seq, ADDR(HP), ADDR(HP + HEAP_PAGES), CS_MAP_HEAP, CS_MAPF_ARMED, "[heap]");
	tu_pages(fd, seq, CS_SET_PRESENT, &all, 1);
	tu_pages(fd, seq, CS_SET_WRITTEN, wr, nwr);
	tu_pages(fd, seq, CS_SET_EXCL, ex, nex);
	tu_snap_end(fd, seq);
}

/* A child of 100 that copied heap pages 0, 1, 3, 4, 5; its parent wrote page 6. */
static void child(uint32_t pid)
{
	cs_run_t wr[] = { { HP, 2 }, { HP + 3, 3 } }, ex[] = { { HP, 2 }, { HP + 3, 4 } };
	int fd = tu_proc_file(cur, pid, 100, CS_ROLE_CHILD, CS_BACKEND_UFFD_WP);

	snap(fd, 0, CS_SNAP_FORK, NULL, 0, NULL, 0);
	snap(fd, 1, CS_SNAP_EXIT, wr, 2, ex, 2);
	tu_end(fd, CS_END_EXIT, 0, 15 * MS);
	close(fd);
}

static void load(void)
{
	cs_diag_t d = { "" };

	cur = dir;
	root();
	child(101);
	child(102);
	child(103);
	assert_int_equal(cs_model_load(&m, dir, &d), 0);
}

static void assert_near(double got, double want)
{
	if (fabs(got - want) > EPS)
		fail_msg("got %.12f, want %.12f", got, want);
}

static const cs_lrow_t *row(const cs_ltab_t *t, const char *label)
{
	for (size_t i = 0; i < t->nrows; i++)
		if (!strcmp(t->rows[i].label, label))
			return &t->rows[i];
	fail_msg("no row %s", label);
	return NULL;
}

static const cs_ltab_t *tab(const cs_ltab_t *v, size_t n, const char *kind)
{
	const cs_ltab_t *t = cs_ltabs_find(v, n, kind);

	if (!t)
		fail_msg("no table of %s", kind);
	return t;
}

static double col_sum(const cs_ltab_t *t, int col)
{
	double s = t->rest.v[col];

	for (size_t i = 0; i < t->nrows; i++)
		s += t->rows[i].v[col];
	return s;
}

/* Exact fractional rows; rows + not labelled = the child's figures. */
static void test_join_exact(void **state)
{
	const cs_proc_t *p;
	const cs_ltab_t *t;

	(void)state;
	load();
	p = tm_proc(&m, 101, 0);
	assert_int_equal(p->fig.child_copied, 5);
	assert_int_equal(p->fig.parent_unshared, 1);
	assert_int_equal(p->labels.ntabs, 2);
	assert_string_equal(p->labels.tabs[0].kind, "python-line"); /* sorted by kind */
	assert_int_equal(p->labels.tabs[0].set, 3); /* the later labelling 4 was cut short */
	t = tab(p->labels.tabs, p->labels.ntabs, "python-type");
	assert_int_equal(t->set, 1);
	assert_int_equal(t->parent_pid, 100);
	assert_true(t->sampled && t->split);
	assert_int_equal(t->nrows, 2);
	assert_string_equal(t->rows[0].label, "A"); /* most copied first */
	assert_near(row(t, "A")->v[CS_LCOL_CC], 1 + 0.5 + 2.0 / 3);
	assert_near(row(t, "B")->v[CS_LCOL_CC], 0.25 + 1.0 / 3 + 0.5);
	assert_near(t->rest.v[CS_LCOL_CC], 0.75 + 0.5 + 0.5);
	assert_near(row(t, "A")->v[CS_LCOL_PU], 0);
	assert_near(row(t, "B")->v[CS_LCOL_PU], 1); /* page 6: 8 KiB capped to the page */
	assert_near(t->rest.v[CS_LCOL_PU], 0);
	assert_near(row(t, "B")->v[CS_LCOL_UN], 0.25 + 1.0 / 3 + 0.5 + 1);
	assert_near(col_sum(t, CS_LCOL_CC), (double)p->fig.child_copied);
	assert_near(col_sum(t, CS_LCOL_PU), (double)p->fig.parent_unshared);
	assert_near(col_sum(t, CS_LCOL_UN), (double)p->fig.unshared);
}

/* The latest complete labelling before the fork wins. */
static void test_latest_before_fork(void **state)
{
	const cs_proc_t *p;
	const cs_ltab_t *t;

	(void)state;
	load();
	p = tm_proc(&m, 102, 0);
	t = tab(p->labels.tabs, p->labels.ntabs, "python-type");
	assert_int_equal(t->set, 2);
	assert_false(t->sampled);
	assert_int_equal(t->nrows, 1);
	assert_near(row(t, "C")->v[CS_LCOL_CC], 5);
	assert_near(row(t, "C")->v[CS_LCOL_PU], 1);
	assert_near(t->rest.v[CS_LCOL_CC], 0);
	p = tm_proc(&m, 103, 0);
	assert_int_equal(tab(p->labels.tabs, p->labels.ntabs, "python-type")->set, 1);
}

static bool has_note(const cs_proc_t *p, const char *text)
{
	for (size_t i = 0; i < p->nnotes; i++)
		if (p->notes[i].code == CS_NOTE_LABELS && !strcmp(p->notes[i].text, text))
			return true;
	return false;
}

/* Cut short: ignored, with a note; a label index out of range: dropped, with a note. */
static void test_notes(void **state)
{
	const cs_proc_t *p;

	(void)state;
	load();
	p = tm_proc(&m, 100, 0);
	assert_int_equal(p->labels.nsets, 4);
	assert_false(p->labels.sets[2].complete);
	assert_true(p->labels.sets[0].complete);
	assert_int_equal(p->labels.sets[0].dropped, 1);
	assert_int_equal(p->labels.sets[0].nr, 7);
	assert_true(has_note(p, "labelling 4 (python-line) cut short: 2 of 5 ranges"));
	assert_true(has_note(p,
			     "labelling 1 (python-type): 1 ranges dropped (a label index out "
			     "of range, no bytes, or past the address space)"));
	assert_int_equal(cs_ltabs_find(tm_proc(&m, 101, 0)->labels.tabs, 2, "python-line")->set, 3);
}

/* A sibling group sums its members' rows by (kind, label). */
static void test_group_sums(void **state)
{
	const cs_group_t *g;
	const cs_ltab_t *t;

	(void)state;
	load();
	assert_int_equal(m.ngroups, 1);
	g = &m.groups[0];
	assert_int_equal(g->nchildren, 3);
	t = tab(g->labels, g->nlabels, "python-type");
	assert_int_equal(t->members, 3);
	assert_int_equal(t->nrows, 3);
	assert_string_equal(t->rows[0].label, "C");
	assert_near(row(t, "C")->v[CS_LCOL_CC], 5);
	assert_near(row(t, "A")->v[CS_LCOL_CC], 2 * (1 + 0.5 + 2.0 / 3));
	assert_near(row(t, "B")->v[CS_LCOL_CC], 2 * (0.25 + 1.0 / 3 + 0.5));
	assert_near(t->rest.v[CS_LCOL_CC], 2 * 1.75);
	assert_near(col_sum(t, CS_LCOL_CC), 15);
	assert_true(t->sampled);
}

static json_t *json_of(void)
{
	char *s = tm_render(cs_render_json, &m);
	json_error_t e;
	json_t *j = json_loads(s, 0, &e);

	if (!j)
		fail_msg("bad JSON: %s", e.text);
	free(s);
	return j;
}

static json_t *proc_json(json_t *root, int pid)
{
	json_t *v = json_object_get(root, "processes"), *p;
	size_t i;

	json_array_foreach(v, i,
			   p) if (json_integer_value(json_object_get(p, "pid")) == pid) return p;
	fail_msg("no process %d", pid);
	return NULL;
}

/* The JSON keys of a child's labels (docs/json-report.md), and the root's empty list. */
static void test_json(void **state)
{
	json_t *root, *l, *r0, *rest;

	(void)state;
	load();
	root = json_of();
	assert_int_equal(json_array_size(json_object_get(proc_json(root, 100), "labels")), 0);
	l = json_array_get(json_object_get(proc_json(root, 101), "labels"), 1);
	assert_string_equal(json_string_value(json_object_get(l, "kind")), "python-type");
	assert_int_equal(json_integer_value(json_object_get(l, "set")), 1);
	assert_int_equal(json_integer_value(json_object_get(l, "parent_pid")), 100);
	assert_true(json_is_true(json_object_get(l, "sampled")));
	assert_int_equal(json_integer_value(json_object_get(l, "ranges")), 8);
	assert_int_equal(json_integer_value(json_object_get(l, "bytes")), 5 * TU_PAGE);
	r0 = json_array_get(json_object_get(l, "rows"), 0);
	assert_string_equal(json_string_value(json_object_get(r0, "label")), "A");
	assert_near(json_number_value(json_object_get(r0, "child_copied_pages")), 13.0 / 6);
	assert_near(json_number_value(json_object_get(r0, "parent_unshared_pages")), 0);
	assert_near(json_number_value(json_object_get(r0, "unshared_pages")), 13.0 / 6);
	rest = json_object_get(l, "not_labelled");
	assert_near(json_number_value(json_object_get(rest, "child_copied_pages")), 1.75);
	assert_int_equal(json_object_size(l), 8);
	assert_int_equal(json_object_size(r0), 4);
	l = json_object_get(json_array_get(json_object_get(root, "sibling_groups"), 0), "labels");
	assert_near(json_number_value(json_object_get(
			    json_array_get(json_object_get(json_array_get(l, 1), "rows"), 0),
			    "child_copied_pages")),
		    5);
	json_decref(root);
}

static void assert_has(const char *s, const char *want)
{
	assert_non_null(s);
	if (!s || !strstr(s, want))
		fail_msg("no\n%s\nin\n%s", want, s ? s : "(nothing)");
}

/* The text tables: the group's, in the default report; each child's with --per-process. */
static void test_text(void **state)
{
	char *s;

	(void)state;
	load();
	s = tm_render(cs_render_text, &m);
	assert_has(s,
		   "\ncopied by python-type, summed over the 3 workers of prog master (pid "
		   "100):\n"
		   "    COPIED P-UNSHARED (MiB)  SHARE  LABEL\n"
		   "      <0.1       <0.1        33.3%  C\n"
		   "      <0.1          0        28.9%  A\n"
		   "      <0.1       <0.1        14.4%  B\n"
		   "      <0.1          0        23.3%  not labelled\n"
		   "    sampled: one object in 1 by bytes, figures estimated\n");
	assert_has(s,
		   "      <0.1          0        20.0%  mod.py:12\n"
		   "                                    app.py:5\n"
		   "      <0.1          0        20.0%  f.py:6\n"
		   "                                    e.py:5\n"
		   "                                    d.py:4\n"
		   "                                    c.py:3\n"
		   "                                    … 2 more frames\n");
	assert_null(strstr(s, "copied by python-type, worker"));
	free(s);
	tm_opts.per_process = true;
	tm_opts.top = 1;
	s = tm_render(cs_render_text, &m);
	tm_opts.per_process = false;
	tm_opts.top = 5;
	assert_has(s,
		   "\ncopied by python-type, worker 1 of 3 (pid 101):\n"
		   "    COPIED P-UNSHARED (MiB)  SHARE  LABEL\n"
		   "      <0.1          0        43.3%  A\n"
		   "      <0.1       <0.1        21.7%  rest (1 row)\n"
		   "      <0.1          0        35.0%  not labelled\n");
	free(s);
}

/* Folded --by label:KIND: a line per label summed over the children, rounded pages. */
static void test_folded(void **state)
{
	char *s;

	(void)state;
	load();
	tm_opts.by = CS_BY_LABEL;
	tm_opts.label_kind = "python-type";
	s = tm_render(cs_render_folded, &m);
	assert_string_equal(s, "A 4\nB 2\nC 5\n[not labelled] 4\n");
	free(s);
	tm_opts.label_kind = "python-line";
	s = tm_render(cs_render_folded, &m);
	/* page 0 and 1 of each of the 3 children; 9 pages not labelled */
	assert_string_equal(s,
			    "/srv/app.py:5;/srv/lib/mod.py:12 3\n"
			    "[not labelled] 9\n"
			    "a.py:1;b.py:2;c.py:3;d.py:4;/x/e.py:5;f.py:6 3\n");
	free(s);
	tm_opts.by = CS_BY_SITE;
	tm_opts.label_kind = NULL;
}

typedef Perftools__Profiles__Profile profile_t;

/* The model rendered as pprof --by label:kind, decoded. */
static profile_t *pprof_of(const char *kind)
{
	cs_render_opts_t o = { .top = 5, .by = CS_BY_LABEL, .label_kind = kind };
	char *buf = NULL;
	size_t n = 0, cap = 1 << 20;
	FILE *f = open_memstream(&buf, &n);
	uint8_t *raw = malloc(cap);
	z_stream z = { 0 };
	profile_t *p;

	assert_non_null(f);
	assert_int_equal(cs_render_pprof(f, &m, &o), 0);
	fclose(f);
	z.next_in = (Bytef *)buf;
	z.avail_in = (uInt)n;
	z.next_out = raw;
	z.avail_out = (uInt)cap;
	assert_int_equal(inflateInit2(&z, 15 + 16), Z_OK);
	assert_int_equal(inflate(&z, Z_FINISH), Z_STREAM_END);
	p = perftools__profiles__profile__unpack(NULL, z.total_out, raw);
	inflateEnd(&z);
	assert_non_null(p);
	free(raw);
	free(buf);
	return p;
}

/* Function name, file and line of location id's only line. */
static const Perftools__Profiles__Function *func_of(const profile_t *p, uint64_t id, int64_t *line)
{
	const Perftools__Profiles__Location *l = p->location[id - 1];

	assert_int_equal(l->n_line, 1);
	*line = l->line[0]->line;
	return p->function[l->line[0]->function_id - 1];
}

/* pprof --by label:python-line: a sample per (child, label), a location per frame. */
static void test_pprof(void **state)
{
	profile_t *p;
	size_t hits = 0;

	(void)state;
	load();
	p = pprof_of("python-line");
	assert_int_equal(p->n_sample, 3 * 3); /* 3 children: two labels and not labelled */
	for (size_t i = 0; i < p->n_sample; i++) {
		const Perftools__Profiles__Sample *s = p->sample[i];
		const Perftools__Profiles__Function *fn;
		int64_t line;

		if (s->n_location_id != 2)
			continue;
		hits++;
		fn = func_of(p, s->location_id[0], &line); /* innermost first */
		assert_string_equal(p->string_table[fn->name], "/srv/lib/mod.py:12");
		assert_string_equal(p->string_table[fn->filename], "/srv/lib/mod.py");
		assert_int_equal(line, 12);
		fn = func_of(p, s->location_id[1], &line);
		assert_string_equal(p->string_table[fn->name], "/srv/app.py:5");
		assert_int_equal(s->n_value, 3);
		assert_int_equal(s->value[0], 1); /* copied */
		assert_int_equal(s->value[1], 1); /* unshared */
		assert_int_equal(s->value[2], 0); /* parent-unshared */
	}
	assert_int_equal(hits, 3);
	perftools__profiles__profile__free_unpacked(p, NULL);
}

/* cowscope diff: per kind, the labels' copied pages before and after, by |change|. */
static void test_diff(void **state)
{
	char *d2 = tu_mkdtemp(), *buf = NULL;
	cs_model_t m2 = { 0 };
	cs_diag_t d = { "" };
	cs_diff_t df = { 0 };
	size_t n = 0;
	FILE *f;
	json_t *j, *rows;

	(void)state;
	load();
	cur = d2; /* the same run with only child 102 */
	root();
	child(102);
	assert_int_equal(cs_model_load(&m2, d2, &d), 0);
	df.before = (cs_side_t){ .m = &m, .phase = -1, .label = "b" };
	df.after = (cs_side_t){ .m = &m2, .phase = -1, .label = "a" };
	assert_int_equal(cs_diff_compute(&df), 0);
	assert_int_equal(df.nlabels, 2);
	assert_string_equal(df.labels[1].kind, "python-type");
	assert_int_equal(df.labels[1].nrows, 3);
	assert_string_equal(df.labels[1].rows[0].label, "A");
	assert_near(df.labels[1].rows[0].before, 13.0 / 3);
	assert_near(df.labels[1].rows[0].after, 0);
	assert_near(df.labels[1].rows[0].delta, -13.0 / 3);
	assert_string_equal(df.labels[1].rows[1].label, "B");
	assert_near(df.labels[1].rows[1].delta, -13.0 / 6);
	assert_string_equal(df.labels[1].rows[2].label, "C");
	assert_near(df.labels[1].rows[2].delta, 0);
	assert_string_equal(df.labels[0].rows[0].label, "/srv/app.py:5;/srv/lib/mod.py:12");
	assert_near(df.labels[0].rows[0].before, 3);
	assert_near(df.labels[0].rows[0].after, 1);
	f = open_memstream(&buf, &n);
	assert_int_equal(cs_render_diff_json(f, &df), 0);
	fclose(f);
	j = json_loads(buf, 0, NULL);
	assert_non_null(j);
	rows = json_object_get(json_array_get(json_object_get(j, "labels"), 1), "rows");
	assert_string_equal(json_string_value(json_object_get(json_array_get(rows, 2), "label")),
			    "C");
	assert_near(json_number_value(json_object_get(json_array_get(rows, 0), "delta")),
		    -13.0 / 3);
	assert_int_equal(json_object_size(json_array_get(rows, 0)), 4);
	json_decref(j);
	free(buf);
	f = open_memstream(&buf, &n);
	assert_int_equal(cs_render_diff_text(f, &df, 5), 0);
	fclose(f);
	assert_has(buf,
		   "\ntop 5 labels (python-type) by change in copied MiB:\n"
		   "     BEFORE     AFTER     CHANGE  LABEL\n"
		   "       <0.1         0      \u2212<0.1  A\n"
		   "       <0.1         0      \u2212<0.1  B\n");
	assert_null(strstr(buf, "  C\n")); /* no change: not listed */
	assert_has(buf,
		   "       <0.1      <0.1      \u2212<0.1  mod.py:12\n"
		   "                                    app.py:5\n");
	free(buf);
	cs_diff_free(&df);
	cs_model_free(&m2);
	tu_rmtree(d2);
	free(d2);
}

/* Counts past the record's end are corrupt: the load fails naming the file and record. */
static void test_bad_counts(void **state)
{
	cs_rec_lranges_t r = { .h = { CS_REC_LRANGES, 0, sizeof(r) }, .set = 1, .count = 2 };
	cs_diag_t d = { "" };
	int fd;

	(void)state;
	fd = tu_proc_file(dir, 100, 1, CS_ROLE_ROOT, CS_BACKEND_UFFD_WP);
	tu_lset(fd, 1, MS, 2, 2 * TU_PAGE, 0, "python-type", ab, 2);
	tu_put(fd, &r, sizeof(r)); /* 2 ranges announced, none follow */
	close(fd);
	assert_int_equal(cs_model_load(&m, dir, &d), -EBADMSG);
	assert_non_null(strstr(d.msg, "100.0.cst: record 4"));
	assert_non_null(strstr(d.msg, "bad range count"));
}

/* `test_labels --write-run DIR`: write the labelled run into new DIR (the JSON schema test). */
static int write_run(const char *path)
{
	if (mkdir(path, 0700)) {
		perror(path);
		return 1;
	}
	cur = path;
	root();
	child(101);
	child(102);
	child(103);
	return 0;
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_join_exact, setup, teardown),
		cmocka_unit_test_setup_teardown(test_latest_before_fork, setup, teardown),
		cmocka_unit_test_setup_teardown(test_notes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_group_sums, setup, teardown),
		cmocka_unit_test_setup_teardown(test_json, setup, teardown),
		cmocka_unit_test_setup_teardown(test_text, setup, teardown),
		cmocka_unit_test_setup_teardown(test_folded, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pprof, setup, teardown),
		cmocka_unit_test_setup_teardown(test_diff, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_counts, setup, teardown),
	};

	if (argc == 3 && !strcmp(argv[1], "--write-run"))
		return write_run(argv[2]);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
