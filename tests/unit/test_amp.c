/* SPDX-License-Identifier: MIT */
/* Unit tests: changed words (format 1.4): loading, changed bytes, no-op copies, amplification. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include "analyze.h"
#include "cli.h"
#include "amp_run.h"
#include "cs_testmodel.h"
#include "cs_testutil.h"
#include "diff.h"
#include "figures.h"
#include "model.h"
#include "render.h"
#include "totals.h"

#define P TU_PAGE
#define K AMP_K
#define M AMP_M

static char *dir;

static int setup(void **state)
{
	(void)state;
	dir = tu_mkdtemp();
	amp_use_dir(dir);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	tu_rmtree(dir);
	free(dir);
	return 0;
}

static void load(cs_model_t *m)
{
	cs_diag_t d = { "" };

	amp_write_run();
	assert_int_equal(cs_model_load(m, dir, &d), 0);
}

static void test_load_records(void **state)
{
	const cs_snap_t *s;
	cs_model_t m;

	(void)state;
	load(&m);
	s = cs_work_snap(tm_proc(&m, 201, 0));
	assert_true(s->diff[CS_DIFF_CHILD].has);
	assert_int_equal(s->diff[CS_DIFF_CHILD].stride, 1);
	assert_int_equal(s->diff[CS_DIFF_CHILD].considered, K + M + 2);
	assert_int_equal(s->diff[CS_DIFF_CHILD].unknown[CS_DIFFW_CHANGED - 1], 1);
	assert_int_equal(s->diff[CS_DIFF_CHILD].nwords, M);
	assert_int_equal(s->diff[CS_DIFF_CHILD].bitmap_words, 8);
	assert_int_equal(cs_sdiff_entry(&s->diff[CS_DIFF_CHILD], 1)[0], 16 + K + 1);
	assert_int_equal(cs_sdiff_entry(&s->diff[CS_DIFF_CHILD], 1)[1], 1);
	assert_int_equal(s->diff[CS_DIFF_PARENT].nwords, 1);
	assert_int_equal(cs_sdiff_entry(&s->diff[CS_DIFF_PARENT], 0)[1], 7);
	assert_int_equal(cs_pageset_count(&s->sets[CS_SET_NOOP]), K);
	assert_int_equal(cs_pageset_count(&s->sets[CS_SET_UNKNOWN]), 2);
	assert_int_equal(cs_pageset_count(&s->sets[CS_SET_PNOOP]), 1);
	assert_false(cs_work_snap(tm_proc(&m, 203, 0))->diff[CS_DIFF_CHILD].has);
	cs_model_free(&m);
}

/* K no-op + M pages with one word each: changed 8·M, amplification 4096·(K+M)/(8·M). */
static void test_child_figures(void **state)
{
	const cs_amp_t *a;
	cs_model_t m;

	(void)state;
	load(&m);
	a = &tm_proc(&m, 201, 0)->fig.amp[CS_DIFF_CHILD];
	assert_int_equal(tm_proc(&m, 201, 0)->fig.child_copied, K + M + 1);
	assert_true(a->known);
	assert_false(a->estimated);
	assert_int_equal(a->compared, K + M);
	assert_int_equal(a->changed_pages, M);
	assert_int_equal(a->changed_words, M);
	assert_true(a->changed_bytes == 8.0 * M);
	assert_true(a->noop_pages == K);
	assert_true(fabs(a->amplification - 4096.0 * (K + M) / (8.0 * M)) < 1e-9);
	/* the child-new page in UNKNOWN is not a copy: one page, the parent wrote it */
	assert_int_equal(a->unknown, 1);
	assert_int_equal(a->unknown_why[CS_DIFFW_CHANGED - 1], 1);
	assert_int_equal(a->unknown_why[CS_DIFFW_ABSENT - 1], 0);
	assert_int_equal(a->unknown_why[CS_DIFFW_GONE - 1], 0);
	assert_int_equal(a->unknown_why[CS_DIFFW_NO_VIEW - 1], 0);
	cs_model_free(&m);
}

static void test_parent_figures(void **state)
{
	const cs_amp_t *a;
	cs_model_t m;

	(void)state;
	load(&m);
	assert_int_equal(tm_proc(&m, 201, 0)->fig.parent_unshared, 2);
	a = &tm_proc(&m, 201, 0)->fig.amp[CS_DIFF_PARENT];
	assert_true(a->known);
	assert_int_equal(a->compared, 2);
	assert_true(a->changed_bytes == 24);
	assert_true(a->noop_pages == 1);
	assert_int_equal(a->unknown, 0);
	assert_true(fabs(a->amplification - 2.0 * 4096 / 24) < 1e-9);
	cs_model_free(&m);
}

static void test_per_mapping(void **state)
{
	const cs_mapfig_t *heap, *anon, *late;
	const cs_proc_t *c;
	cs_model_t m;

	(void)state;
	load(&m);
	c = tm_proc(&m, 201, 0);
	heap = tm_mapfig(c, 16);
	anon = tm_mapfig(c, 64);
	late = tm_mapfig(c, 200);
	assert_true(heap->amp[CS_DIFF_CHILD].changed_bytes == 8.0 * M);
	assert_true(heap->amp[CS_DIFF_CHILD].noop_pages == K);
	assert_int_equal(heap->amp[CS_DIFF_CHILD].compared, K + M);
	assert_int_equal(heap->amp[CS_DIFF_CHILD].unknown, 1);
	assert_int_equal(heap->amp[CS_DIFF_CHILD].unknown_why[0], CS_UNKNOWN);
	assert_true(fabs(heap->amp[CS_DIFF_CHILD].amplification - 4096.0 * (K + M) / (8.0 * M)) <
		    1e-9);
	assert_true(heap->amp[CS_DIFF_PARENT].changed_bytes == 0);
	/* the anonymous mapping: no copy there, the parent's 2 pages */
	assert_int_equal(anon->amp[CS_DIFF_CHILD].compared, 0);
	assert_true(isnan(anon->amp[CS_DIFF_CHILD].amplification));
	assert_true(anon->amp[CS_DIFF_PARENT].changed_bytes == 24);
	assert_int_equal(anon->amp[CS_DIFF_PARENT].compared, 2);
	/* a mapping made after the fork holds no copy: its unknown page is child-new */
	assert_int_equal(late->amp[CS_DIFF_CHILD].compared, 0);
	assert_int_equal(late->amp[CS_DIFF_CHILD].unknown, 0);
	cs_model_free(&m);
}

/* One page in 4 compared: the figures scale to the 16 comparable pages; amplification as is. */
static void test_strided_estimate(void **state)
{
	const cs_amp_t *a;
	cs_model_t m;

	(void)state;
	load(&m);
	a = &tm_proc(&m, 202, 0)->fig.amp[CS_DIFF_CHILD];
	assert_true(a->known);
	assert_true(a->estimated);
	assert_int_equal(a->stride, 4);
	assert_int_equal(a->compared, 4);
	assert_true(a->comparable == 16);
	assert_true(a->changed_bytes == 2 * 8 * 4);
	assert_true(a->noop_pages == 12);
	assert_true(fabs(a->amplification - 4.0 * 4096 / 16) < 1e-9);
	cs_model_free(&m);
}

/* Without a DIFF record every changed-word figure is unknown, never 0. */
static void test_no_diff_unknown(void **state)
{
	const cs_amp_t *a;
	cs_model_t m;

	(void)state;
	load(&m);
	a = &tm_proc(&m, 203, 0)->fig.amp[CS_DIFF_CHILD];
	assert_int_equal(tm_proc(&m, 203, 0)->fig.child_copied, 3);
	assert_false(a->known);
	assert_int_equal(a->compared, CS_UNKNOWN);
	assert_true(isnan(a->changed_bytes));
	assert_true(isnan(a->noop_pages));
	assert_false(tm_proc(&m, 203, 0)->fig.amp[CS_DIFF_PARENT].known);
	assert_false(tm_mapfig(tm_proc(&m, 203, 0), 16)->amp[CS_DIFF_CHILD].known);
	cs_model_free(&m);
}

/* Compared pages without a changed word: amplification unknown (infinite), changed 0. */
static void test_no_net_change(void **state)
{
	const cs_amp_t *a;
	cs_model_t m;

	(void)state;
	load(&m);
	a = &tm_proc(&m, 204, 0)->fig.amp[CS_DIFF_CHILD];
	assert_true(a->known);
	assert_int_equal(a->compared, 5);
	assert_true(a->changed_bytes == 0);
	assert_true(a->noop_pages == 5);
	assert_true(isnan(a->amplification));
	cs_model_free(&m);
}

/* Totals sum the children's sides and take the amplification of the sums. */
static void test_totals(void **state)
{
	const cs_ampsum_t *s;
	cs_totals_t t;
	cs_model_t m;

	(void)state;
	load(&m);
	cs_totals_compute(&m, &t);
	s = &t.amp[CS_DIFF_CHILD];
	assert_int_equal(s->known, 3);
	assert_int_equal(s->unknown_children, 1);
	assert_true(s->estimated);
	assert_int_equal(s->compared, K + M + 4 + 5);
	assert_true(s->comparable == K + M + 16 + 5);
	assert_true(s->changed_bytes == 8 * M + 64);
	assert_true(s->noop_pages == K + 12 + 5);
	assert_true(fabs(s->amplification - (K + M + 16 + 5) * 4096.0 / (8 * M + 64)) < 1e-9);
	assert_int_equal(s->unknown_why[CS_DIFFW_CHANGED - 1], 1);
	assert_true(t.amp[CS_DIFF_PARENT].changed_bytes == 24);
	cs_model_free(&m);
}

static char *render(int (*fn)(FILE *, const cs_model_t *, const cs_render_opts_t *))
{
	return tm_render_loaded(load, fn);
}

/* The process's part of the JSON report that begins at "pid": pid. */
static const char *json_proc(const char *doc, uint32_t pid)
{
	char key[32];
	const char *p;

	snprintf(key, sizeof(key), "\"pid\": %u,", pid);
	p = strstr(doc, key);
	assert_non_null(p);
	return p;
}

static void test_json(void **state)
{
	char *doc = render(cs_render_json);
	const char *p;

	(void)state;
	p = json_proc(doc, 201);
	assert_non_null(strstr(p,
			       "\"changed_bytes\": 32,\n      \"noop_copied_pages\": 10,\n"
			       "      \"amplification\": 1792.000,\n"));
	assert_non_null(strstr(p,
			       "\"parent_changed_bytes\": 24,\n      \"parent_noop_pages\": 1,\n"
			       "      \"parent_amplification\": 341.333,\n"));
	assert_non_null(strstr(p,
			       "\"unknown_by_reason\": {\n        \"no_view\": 0,\n"
			       "        \"gone\": 0,\n        \"parent_wrote\": 1,\n"
			       "        \"absent\": 0\n      },\n"));
	p = json_proc(doc, 203);
	assert_non_null(strstr(p,
			       "\"changed_bytes\": null,\n      \"noop_copied_pages\": null,\n"
			       "      \"amplification\": null,\n"));
	assert_non_null(strstr(p, "\"copied_diff\": null,\n      \"parent_diff\": null,\n"));
	p = json_proc(doc, 204);
	assert_non_null(strstr(p,
			       "\"changed_bytes\": 0,\n      \"noop_copied_pages\": 5,\n"
			       "      \"amplification\": null,\n"));
	assert_non_null(strstr(p, "\"no_net_change\": true,\n"));
	p = json_proc(doc, 202);
	assert_non_null(strstr(p, "\"estimated\": true,\n        \"stride\": 4,\n"));
	free(doc);
}

static void test_text(void **state)
{
	char *doc;

	(void)state;
	tm_opts.all = tm_opts.per_process = true; /* each child: its row, its line */
	doc = render(cs_render_text);
	tm_opts.all = tm_opts.per_process = false;
	assert_non_null(strstr(doc, "MINFLT  AMPLIF  ENDED\n"));
	assert_non_null(strstr(doc, "      20   1792\u00d7  exit 0\n"));
	assert_non_null(strstr(doc, "      20  \u22481024\u00d7  exit 0\n"));
	assert_non_null(strstr(doc, "      20       -  exit 0\n"));
	assert_non_null(strstr(doc, "      20       \u221e  exit 0\n"));
	assert_non_null(strstr(
		doc,
		"  pid 201 (worker 1 of 4): 56 KiB copied to change 32 B (1792\u00d7); 10 pages "
		"copied for no net change; 1 page not comparable: the parent "
		"wrote it\n"
		"    the parent's side: 8 KiB unshared to change 24 B (341\u00d7); "
		"1 page unshared for no net change\n"));
	assert_non_null(
		strstr(doc,
		       "  pid 202 (worker 2 of 4): \u224864 KiB copied to change \u224864 B "
		       "(\u22481024\u00d7); \u224812 pages copied for no net change "
		       "(\u2248: one page in 4 compared)\n"));
	assert_non_null(
		strstr(doc, "  pid 203 (worker 3 of 4): not compared (no changed-word records)\n"));
	assert_non_null(strstr(
		doc,
		"  pid 204 (worker 4 of 4): 20 KiB copied to change 0 B (\u221e: no net change); "
		"5 pages copied for no net change\n"));
	free(doc);
}

/* The field view and the site table's columns, from known object layouts. */
static void test_text_sites(void **state)
{
	cs_render_opts_t o = { .top = 5, .all = true }; /* lines unwrapped */
	cs_diag_t d = { "" };
	char *buf = NULL;
	size_t len = 0;
	cs_model_t m;
	FILE *f;

	(void)state;
	amp_write_sites_run();
	assert_int_equal(cs_model_load(&m, dir, &d), 0);
	f = open_memstream(&buf, &len);
	assert_int_equal(cs_render_text(f, &m, &o), 0);
	fclose(f);
	assert_non_null(strstr(buf,
			       "  pid 301, all sampled objects: 97.0% of changed words at "
			       "offsets 16\u201323; 1.5% at offsets 0\u20137; 1.5% at offsets "
			       "24\u201331\n"));
	assert_non_null(strstr(buf,
			       "    100.0% of changed words at offsets 16\u201323\n"
			       "      in 0xfff\n"));
	assert_non_null(strstr(buf, "CHANGED  AMPLIF  ALLOCATION SITE"));
	assert_non_null(strstr(buf, "      512 B     16\u00d7  0xfff\n"));
	assert_non_null(strstr(buf, "        8 B    512\u00d7  [allocator free space"));
	free(buf);
	cs_model_free(&m);
}

/* Load the figures run into m1 and the sites run (or a 1.3 run) into m2, in two directories. */
static void load_two(cs_model_t *m1, cs_model_t *m2, bool v13, char **dir2)
{
	static const uint32_t kids[] = { 203 };
	cs_diag_t d = { "" };

	amp_write_run();
	assert_int_equal(cs_model_load(m1, dir, &d), 0);
	*dir2 = tu_mkdtemp();
	amp_use_dir(*dir2);
	if (v13) {
		amp_root(kids, 1, 3);
		amp_child_no_diff(3);
	} else {
		amp_write_sites_run();
	}
	assert_int_equal(cs_model_load(m2, *dir2, &d), 0);
	amp_use_dir(dir);
}

static void headline_of(bool v13, const char *want)
{
	cs_model_t m1, m2;
	cs_diff_t df = { 0 };
	char *dir2, head[512];

	load_two(&m1, &m2, v13, &dir2);
	df.before = (cs_side_t){ .m = &m1, .phase = -1, .label = "b" };
	df.after = (cs_side_t){ .m = &m2, .phase = -1, .label = "a" };
	assert_int_equal(cs_diff_compute(&df), 0);
	assert_string_equal(cs_diff_headline(&df, head, sizeof(head)), want);
	assert_true(df.amp);
	cs_diff_free(&df);
	cs_model_free(&m1);
	cs_model_free(&m2);
	tu_rmtree(dir2);
	free(dir2);
}

/* The diff's headline gains the amplification of both sides; without one, the old form. */
static void test_diff_headline(void **state)
{
	(void)state;
	headline_of(false,
		    "from b to a: 30.5% \u2192 15.6% of shared pages copied (\u221248.7%); "
		    "amplification \u22481493\u00d7 \u2192 38\u00d7");
	headline_of(true, "from b to a: 30.5% \u2192 9.4% of shared pages copied (\u221269.2%)");
}

/* The diff's text and JSON: changed bytes, no-op copies and amplification on both sides. */
static void test_diff_render(void **state)
{
	cs_model_t m1, m2;
	cs_diff_t df = { 0 };
	char *dir2, *buf = NULL;
	size_t len = 0;
	FILE *f;

	(void)state;
	load_two(&m1, &m2, false, &dir2);
	df.before = (cs_side_t){ .m = &m1, .phase = -1, .label = "b" };
	df.after = (cs_side_t){ .m = &m2, .phase = -1, .label = "a" };
	assert_int_equal(cs_diff_compute(&df), 0);
	f = open_memstream(&buf, &len);
	assert_int_equal(cs_render_diff_text(f, &df, 5), 0);
	fclose(f);
	assert_non_null(strstr(buf,
			       "  changed bytes             \u224896 B      536 B     +440 B\n"
			       "  no-op copies (pages)        \u224827          2        "
			       "\u221225\n"
			       "  amplification            \u22481493\u00d7        38\u00d7\n"));
	free(buf);
	buf = NULL;
	f = open_memstream(&buf, &len);
	assert_int_equal(cs_render_diff_json(f, &df), 0);
	fclose(f);
	assert_non_null(strstr(buf,
			       "\"amplification_before\": 1493.333,\n"
			       "    \"amplification_after\": 38.209\n"));
	assert_non_null(strstr(buf, "\"changed_bytes\": 440,\n    \"noop_copied_pages\": -25\n"));
	free(buf);
	cs_diff_free(&df);
	cs_model_free(&m1);
	cs_model_free(&m2);
	tu_rmtree(dir2);
	free(dir2);
}

/* A trace of format 1.3 reads: its changed-word figures are null, and no 1.4 key appears. */
static void test_v13_nulls(void **state)
{
	static const uint32_t kids[] = { 203 };
	cs_render_opts_t o = { .top = 5 };
	cs_diag_t d = { "" };
	char *buf = NULL;
	size_t len = 0;
	cs_model_t m;
	FILE *f;

	(void)state;
	amp_root(kids, 1, 3);
	amp_child_no_diff(3);
	assert_int_equal(cs_model_load(&m, dir, &d), 0);
	assert_false(m.has_diff);
	assert_false(tm_proc(&m, 203, 0)->fig.amp[CS_DIFF_CHILD].known);
	assert_int_equal(tm_proc(&m, 203, 0)->fig.child_copied, 3);
	f = open_memstream(&buf, &len);
	assert_int_equal(cs_render_json(f, &m, &o), 0);
	fclose(f);
	assert_non_null(strstr(buf,
			       "\"changed_bytes\": null,\n      \"noop_copied_pages\": null,\n"
			       "      \"amplification\": null,\n"));
	assert_null(strstr(buf, "copied_diff"));
	assert_null(strstr(buf, "parent_changed_bytes"));
	free(buf);
	cs_model_free(&m);
}

/* A WORDS record is checked: its bitmap size against the page size, its count against it. */
static void bad_words(uint16_t bitmap_words, uint32_t count, int want_err, const char *want)
{
	static const uint32_t kids[] = { 205 };
	uint8_t rec[24 + 72] = { 0 };
	cs_rec_words_t *w = (cs_rec_words_t *)rec;
	cs_diag_t d = { "" };
	cs_model_t m;
	int fd;

	amp_root(kids, 1, CS_TRACE_MINOR);
	fd = amp_child_file(205, CS_TRACE_MINOR);
	amp_snap_begin(fd, 1, 1, 0);
	w->h = (cs_rec_hdr_t){ .type = CS_REC_WORDS, .size = sizeof(rec) };
	w->seq = 1;
	w->bitmap_words = bitmap_words;
	w->count = count;
	tu_put(fd, rec, sizeof(rec));
	tu_snap_end(fd, 1);
	close(fd);
	assert_int_equal(cs_model_load(&m, dir, &d), want_err);
	if (!want_err) {
		assert_int_equal(cs_work_snap(tm_proc(&m, 205, 0))->diff[CS_DIFF_CHILD].nwords, 1);
		cs_model_free(&m);
		return;
	}
	assert_non_null(strstr(d.msg, "205.0.cst: record "));
	assert_non_null(strstr(d.msg, " at offset "));
	assert_non_null(strstr(d.msg, want));
}

static void test_bad_words(void **state)
{
	(void)state;
	bad_words(4, 1, -EBADMSG, "bad words bitmap size");
	bad_words(8, 2, -EBADMSG, "bad words count");
	bad_words(8, 1, 0, NULL); /* the control: loads */
}

/* The site of fake stack id (its one frame at 0x1000 * id - 1), or the bucket named so. */
static const cs_site_t *site_in(const cs_site_t *v, size_t n, uint64_t id, const char *bucket)
{
	for (size_t i = 0; i < n; i++) {
		const cs_site_t *s = &v[i];

		if (bucket ? s->bucket && !strcmp(s->bucket, bucket)
			   : !s->bucket && s->nframes == 1 &&
				    s->frames[0].offset == 0x1000 * id - 1)
			return s;
	}
	fail_msg("no site %llu / %s", (unsigned long long)id, bucket ? bucket : "-");
	return NULL;
}

static const cs_site_t *site(const cs_proc_t *p, uint64_t id, const char *bucket)
{
	return site_in(p->sites, p->nsites, id, bucket);
}

static double field_sum(const cs_site_t *s)
{
	double t = 0;

	for (size_t b = 0; b < CS_FIELD_BINS; b++)
		t += s->fields[b];
	return t;
}

/*
 * Changed words go to the allocation that holds them (exact mode), no-op copies are shared
 * out as copies are, the rest goes to the page's bucket; the field view of the struct array
 * is 100% at offsets 16-23.
 */
static void test_sites(void **state)
{
	const cs_site_t *arr, *blk, *rest;
	cs_diag_t d = { "" };
	const cs_proc_t *c;
	cs_model_t m;

	(void)state;
	amp_write_sites_run();
	assert_int_equal(cs_model_load(&m, dir, &d), 0);
	c = tm_proc(&m, 301, 0);
	assert_true(c->has_sites);
	assert_true(c->fig.amp[CS_DIFF_CHILD].changed_bytes == 8 * (64 + 3));
	arr = site(c, 1, NULL);
	blk = site(c, 2, NULL);
	rest = site(c, 0, "allocator free space and metadata");
	assert_true(arr->changed_bytes == 64 * 8);
	assert_true(arr->noop_copied == 1);
	assert_true(arr->compared == 2);
	assert_true(arr->fields[cs_field_bin(16)] == 64);
	assert_int_equal(cs_field_bin(16), 2);
	assert_true(field_sum(arr) == 64);
	assert_true(blk->changed_bytes == 16);
	assert_true(blk->noop_copied == 1);
	assert_true(blk->compared == 2);
	assert_true(blk->fields[0] == 1 && blk->fields[3] == 1 && field_sum(blk) == 2);
	assert_true(rest->changed_bytes == 8);
	assert_true(rest->compared == 1);
	assert_true(rest->noop_copied == 0);
	assert_true(field_sum(rest) == 0);
	/* the sibling group's sites sum its children's */
	assert_int_equal(m.ngroups, 1);
	arr = site_in(m.groups[0].sites, m.groups[0].nsites, 1, NULL);
	assert_true(arr->changed_bytes == 64 * 8);
	assert_true(arr->fields[2] == 64);
	cs_model_free(&m);
}

static void test_field_bins(void **state)
{
	uint64_t lo, hi;

	(void)state;
	assert_int_equal(cs_field_bin(0), 0);
	assert_int_equal(cs_field_bin(7), 0);
	assert_int_equal(cs_field_bin(8), 1);
	assert_int_equal(cs_field_bin(255), 31);
	assert_int_equal(cs_field_bin(256), 32);
	assert_int_equal(cs_field_bin(511), 32);
	assert_int_equal(cs_field_bin(512), 33);
	assert_int_equal(cs_field_bin(UINT64_MAX), CS_FIELD_BINS - 1);
	cs_field_range(3, &lo, &hi);
	assert_true(lo == 24 && hi == 31);
	cs_field_range(33, &lo, &hi);
	assert_true(lo == 512 && hi == 1023);
	cs_field_range(CS_FIELD_BINS - 1, &lo, &hi);
	assert_true(hi == UINT64_MAX);
}

/*
 * Past the memory cap (at most one WORDS entry kept per process here) the process's figures
 * come from the trace's summary, per mapping and site ones are unknown, and a note says so.
 */
static void test_memory_cap(void **state)
{
	cs_diag_t d = { "" };
	const cs_proc_t *c;
	const cs_amp_t *a;
	cs_model_t m;
	bool noted = false;

	(void)state;
	amp_write_run();
	assert_int_equal(cs_model_load_capped(&m, dir, 1, &d), 0);
	c = tm_proc(&m, 201, 0);
	a = &c->fig.amp[CS_DIFF_CHILD];
	assert_int_equal(cs_work_snap(c)->diff[CS_DIFF_CHILD].nwords, 1);
	assert_int_equal(cs_work_snap(c)->diff[CS_DIFF_CHILD].capped, M - 1);
	assert_true(a->known && a->capped);
	assert_int_equal(a->changed_words, M);
	assert_true(a->changed_bytes == 8.0 * M);
	assert_int_equal(a->compared, K + M);
	assert_false(tm_mapfig(c, 16)->amp[CS_DIFF_CHILD].known);
	for (size_t i = 0; i < c->nnotes; i++)
		noted |= c->notes[i].code == CS_NOTE_A_WORDS &&
			strstr(c->notes[i].text, "4 pages past the 0 MiB memory cap");
	assert_true(noted);
	/* 202's one entry fits: exact as without a cap */
	assert_false(tm_proc(&m, 202, 0)->fig.amp[CS_DIFF_CHILD].capped);
	cs_model_free(&m);
}

/* `cowscope run --diff MODE` takes auto, all or off; anything else is a usage error (2). */
static void test_run_diff_option(void **state)
{
	char *argv[] = { "cowscope", "run", "--diff", "sometimes", "--", "true", NULL };

	(void)state;
	assert_int_equal(cs_cli_main(&cs_cli_commands, 6, argv), 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_load_records, setup, teardown),
		cmocka_unit_test_setup_teardown(test_child_figures, setup, teardown),
		cmocka_unit_test_setup_teardown(test_parent_figures, setup, teardown),
		cmocka_unit_test_setup_teardown(test_per_mapping, setup, teardown),
		cmocka_unit_test_setup_teardown(test_strided_estimate, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_diff_unknown, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_net_change, setup, teardown),
		cmocka_unit_test_setup_teardown(test_totals, setup, teardown),
		cmocka_unit_test_setup_teardown(test_json, setup, teardown),
		cmocka_unit_test_setup_teardown(test_v13_nulls, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_words, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sites, setup, teardown),
		cmocka_unit_test(test_field_bins),
		cmocka_unit_test_setup_teardown(test_text, setup, teardown),
		cmocka_unit_test_setup_teardown(test_text_sites, setup, teardown),
		cmocka_unit_test_setup_teardown(test_diff_headline, setup, teardown),
		cmocka_unit_test_setup_teardown(test_diff_render, setup, teardown),
		cmocka_unit_test(test_run_diff_option),
		cmocka_unit_test_setup_teardown(test_memory_cap, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
