/* SPDX-License-Identifier: MIT */
/* The diff as JSON, schema_version 1: stable keys, null for what is unknown (docs/diff.md). */
#include <math.h>
#include <stdlib.h>
#include "backend.h"
#include "render.h"
#include "json_amp.h"
#include "json_labels.h"
#include "json_writer.h"

#define CS_DIFF_SCHEMA_VERSION 1

/* after − before, or null when either is unknown. */
static void delta_int(cs_json_t *j, const char *key, int64_t b, int64_t a)
{
	if (b < 0 || a < 0)
		cs_json_null(j, key);
	else
		cs_json_int(j, key, a - b);
}

static void headline(cs_json_t *j, const cs_diff_t *df)
{
	char text[512];

	cs_json_obj(j, "headline");
	cs_json_str(j, "text", cs_diff_headline(df, text, sizeof(text)));
	cs_json_str(j, "metric", df->split ? "child_copied" : "unshared");
	cs_json_str(j, "figures", "working");
	cs_json_num(j, "before_percent", df->pct_before, 3);
	cs_json_num(j, "after_percent", df->pct_after, 3);
	cs_json_num(j, "change_percent", df->change, 3);
	if (df->amp) {
		cs_json_num(j, "amplification_before",
			    df->before.tot.amp[CS_DIFF_CHILD].amplification, 3);
		cs_json_num(j, "amplification_after",
			    df->after.tot.amp[CS_DIFF_CHILD].amplification, 3);
	}
	cs_json_end_obj(j);
}

static double pct_of(const cs_totals_t *t, int64_t pages, double bytes)
{
	return t->measured && pages >= 0 && t->shared_bytes > 0 ? 100.0 * bytes / t->shared_bytes
								: NAN;
}

/* A side's totals after its children's teardowns (each child's working figures if none). */
static void side_end(cs_json_t *j, const cs_endtot_t *e)
{
	cs_json_obj(j, "at_end");
	cs_json_int(j, "children_with_later_snapshot", (int64_t)e->later);
	cs_json_opt(j, "child_copied_pages", e->child_copied);
	cs_json_opt(j, "parent_unshared_pages", e->parent_unshared);
	cs_json_opt(j, "unshared_pages", e->unshared);
	cs_json_opt(j, "child_new_pages", e->child_new);
	cs_json_num(j, "share_retained", e->share_retained, 6);
	cs_json_num(j, "copied_percent",
		    e->measured && e->child_copied >= 0 && e->shared_bytes > 0
			    ? 100.0 * e->copied_bytes / e->shared_bytes
			    : NAN,
		    3);
	cs_json_end_obj(j);
}

static void side(cs_json_t *j, const char *key, const cs_side_t *s, bool amp)
{
	const cs_totals_t *t = &s->tot;
	long b = cs_run_backend_proc(s->m);

	cs_json_obj(j, key);
	cs_json_str(j, "dir", s->m->absdir);
	cs_json_str(j, "phase", s->phase >= 0 ? s->m->phases[s->phase] : NULL);
	cs_json_str(j, "label", s->label);
	cs_json_str(j, "backend", b >= 0 ? cs_backend_name(s->m->procs[b].backend) : NULL);
	cs_json_int(j, "children", (int64_t)t->children);
	cs_json_int(j, "children_measured", (int64_t)t->measured);
	cs_json_opt(j, "shared_at_fork_pages", s->shared_once);
	cs_json_opt(j, "child_copied_pages", t->child_copied);
	cs_json_opt(j, "parent_unshared_pages", s->punshared_once);
	cs_json_opt(j, "unshared_pages", t->unshared);
	cs_json_opt(j, "child_new_pages", t->child_new);
	cs_json_num(j, "share_retained", t->share_retained, 6);
	cs_json_num(j, "copied_percent", pct_of(t, t->child_copied, t->copied_bytes), 3);
	cs_json_num(j, "unshared_percent", pct_of(t, t->unshared, t->unshared_bytes), 3);
	cs_json_opt(j, "page_size", t->page_size);
	side_end(j, &s->end);
	if (amp) {
		cs_json_ampsum_flat(j, &t->amp[CS_DIFF_CHILD], "changed_bytes", "noop_copied_pages",
				    "amplification");
		cs_json_ampsum(j, "copied_diff", &t->amp[CS_DIFF_CHILD]);
		cs_json_ampsum(j, "parent_diff", &t->amp[CS_DIFF_PARENT]);
	}
	cs_json_end_obj(j);
}

/* after − before of the summed changed words; null unless both sides compared copies. */
static void amp_delta(cs_json_t *j, const cs_ampsum_t *b, const cs_ampsum_t *a)
{
	bool both = b->known && a->known;

	cs_json_pages(j, "changed_bytes", both ? a->changed_bytes - b->changed_bytes : NAN);
	cs_json_pages(j, "noop_copied_pages", both ? a->noop_pages - b->noop_pages : NAN);
}

static void totals_delta(cs_json_t *j, const cs_diff_t *df)
{
	const cs_totals_t *b = &df->before.tot, *a = &df->after.tot;

	cs_json_obj(j, "delta");
	delta_int(j, "shared_at_fork_pages", df->before.shared_once, df->after.shared_once);
	delta_int(j, "child_copied_pages", b->child_copied, a->child_copied);
	delta_int(j, "parent_unshared_pages", df->before.punshared_once, df->after.punshared_once);
	delta_int(j, "unshared_pages", b->unshared, a->unshared);
	delta_int(j, "child_new_pages", b->child_new, a->child_new);
	cs_json_num(j, "share_retained", a->share_retained - b->share_retained, 6);
	if (df->amp)
		amp_delta(j, &b->amp[CS_DIFF_CHILD], &a->amp[CS_DIFF_CHILD]);
	cs_json_end_obj(j);
}

static const cs_proc_t *kid(const cs_side_t *s, size_t i)
{
	return i < s->nkids ? &s->m->procs[s->kids[i]] : NULL;
}

/* A child's figures after its teardown, null without a snapshot after its working one. */
static void child_end(cs_json_t *j, const cs_figures_t *f)
{
	if (!f->has_end) {
		cs_json_null(j, "at_end");
		return;
	}
	cs_json_obj(j, "at_end");
	cs_json_opt(j, "child_copied_pages", f->at_end.child_copied);
	cs_json_opt(j, "parent_unshared_pages", f->at_end.parent_unshared);
	cs_json_opt(j, "unshared_pages", f->at_end.unshared);
	cs_json_opt(j, "child_new_pages", f->at_end.child_new);
	cs_json_num(j, "share_retained", f->at_end.share_retained, 6);
	cs_json_end_obj(j);
}

static void child(cs_json_t *j, const char *key, const cs_side_t *s, const cs_proc_t *p, bool amp)
{
	char *cmd = p && p->cmdline ? malloc(4 * p->cmdline_len + 3) : NULL;

	if (!p) {
		cs_json_null(j, key);
		return;
	}
	cs_json_obj(j, key);
	cs_json_int(j, "pid", p->pid);
	cs_json_str(j, "phase", s->m->phases[p->phase]);
	cs_json_str(j, "cmd",
		    cmd ? cs_cmdline_str(p->cmdline, p->cmdline_len, cmd, 4 * p->cmdline_len + 3)
			: NULL);
	cs_json_bool(j, "complete", p->complete);
	cs_json_opt(j, "shared_at_fork_pages", p->fig.shared_at_fork);
	cs_json_opt(j, "child_copied_pages", p->fig.child_copied);
	cs_json_opt(j, "parent_unshared_pages", p->fig.parent_unshared);
	cs_json_opt(j, "unshared_pages", p->fig.unshared);
	cs_json_opt(j, "child_new_pages", p->fig.child_new);
	cs_json_num(j, "share_retained", p->fig.share_retained, 6);
	cs_json_str(j, "figures_from", p->fig.from ? cs_snap_reason_name(p->fig.from) : NULL);
	child_end(j, &p->fig);
	if (amp)
		cs_json_amp_flat(j, &p->fig.amp[CS_DIFF_CHILD], "changed_bytes",
				 "noop_copied_pages", "amplification");
	cs_json_end_obj(j);
	free(cmd);
}

/* after − before of two paired children's changed words; null unless both compared. */
static void child_amp_delta(cs_json_t *j, const cs_proc_t *b, const cs_proc_t *a)
{
	const cs_amp_t *x = b ? &b->fig.amp[CS_DIFF_CHILD] : NULL;
	const cs_amp_t *y = a ? &a->fig.amp[CS_DIFF_CHILD] : NULL;
	bool both = x && y && x->known && y->known;

	cs_json_pages(j, "changed_bytes", both ? y->changed_bytes - x->changed_bytes : NAN);
	cs_json_pages(j, "noop_copied_pages", both ? y->noop_pages - x->noop_pages : NAN);
}

static void pair(cs_json_t *j, const cs_diff_t *df, size_t i)
{
	const cs_proc_t *b = kid(&df->before, i), *a = kid(&df->after, i);
	const cs_figures_t none = { .shared_at_fork = CS_UNKNOWN,
				    .child_copied = CS_UNKNOWN,
				    .parent_unshared = CS_UNKNOWN,
				    .unshared = CS_UNKNOWN };
	const cs_figures_t *fb = b ? &b->fig : &none, *fa = a ? &a->fig : &none;

	cs_json_obj(j, NULL);
	cs_json_int(j, "index", (int64_t)i);
	child(j, "before", &df->before, b, df->amp);
	child(j, "after", &df->after, a, df->amp);
	cs_json_obj(j, "delta");
	delta_int(j, "shared_at_fork_pages", fb->shared_at_fork, fa->shared_at_fork);
	delta_int(j, "child_copied_pages", fb->child_copied, fa->child_copied);
	delta_int(j, "parent_unshared_pages", fb->parent_unshared, fa->parent_unshared);
	delta_int(j, "unshared_pages", fb->unshared, fa->unshared);
	if (df->amp)
		child_amp_delta(j, b, a);
	cs_json_end_obj(j);
	cs_json_end_obj(j);
}

static void site_side(cs_json_t *j, const char *key, const cs_site_t *s, const cs_side_t *side,
		      bool amp)
{
	if (!s) {
		cs_json_null(j, key);
		return;
	}
	cs_json_obj(j, key);
	cs_json_pages(j, "child_copied_pages", s->child_copied);
	cs_json_pages(j, "parent_unshared_pages", s->parent_unshared);
	cs_json_pages(j, "unshared_pages", s->unshared);
	cs_json_uint(j, "estimated_bytes", s->estimated_bytes);
	if (amp) {
		cs_json_pages(j, "changed_bytes", s->changed_bytes);
		cs_json_pages(j, "noop_copied_pages", s->noop_copied);
		cs_json_num(j, "amplification",
			    cs_site_amplification(
				    s,
				    side->tot.page_size > 0 ? (uint64_t)side->tot.page_size : 4096),
			    3);
	}
	cs_json_end_obj(j);
}

/* A figure of a site on one side; a side without the site counts 0 (NaN stays unknown). */
#define SITE_FIG(s, field) ((s) ? (s)->field : 0.0)

static void site(cs_json_t *j, const cs_diff_t *df, const cs_sitediff_t *x)
{
	const cs_site_t *s = x->after ? x->after : x->before;

	cs_json_obj(j, NULL);
	cs_json_arr(j, "frames");
	for (size_t i = 0; i < s->nframes; i++)
		cs_json_frame(j, &s->frames[i]);
	cs_json_end_arr(j);
	cs_json_str(j, "bucket", s->bucket);
	site_side(j, "before", x->before, &df->before, df->amp);
	site_side(j, "after", x->after, &df->after, df->amp);
	cs_json_obj(j, "delta");
	cs_json_pages(j, "child_copied_pages",
		      SITE_FIG(x->after, child_copied) - SITE_FIG(x->before, child_copied));
	cs_json_pages(j, "parent_unshared_pages",
		      SITE_FIG(x->after, parent_unshared) - SITE_FIG(x->before, parent_unshared));
	cs_json_pages(j, "unshared_pages",
		      SITE_FIG(x->after, unshared) - SITE_FIG(x->before, unshared));
	if (df->amp) {
		cs_json_pages(j, "changed_bytes",
			      SITE_FIG(x->after, changed_bytes) -
				      SITE_FIG(x->before, changed_bytes));
		cs_json_pages(j, "noop_copied_pages",
			      SITE_FIG(x->after, noop_copied) - SITE_FIG(x->before, noop_copied));
	}
	cs_json_end_obj(j);
	cs_json_end_obj(j);
}

static void writer_side(cs_json_t *j, const char *key, const cs_wstack_t *w)
{
	if (!w) {
		cs_json_null(j, key);
		return;
	}
	cs_json_obj(j, key);
	cs_json_pages(j, "child_copied_pages", w->child_copied);
	cs_json_end_obj(j);
}

/* A writer of either side (format 1.5): its chain, both sides' copied pages and the change. */
static void writer(cs_json_t *j, const cs_writerdiff_t *x)
{
	const cs_wstack_t *w = x->after ? x->after : x->before;

	cs_json_obj(j, NULL);
	cs_json_arr(j, "frames");
	for (size_t i = 0; i < w->nframes; i++)
		cs_json_frame(j, &w->frames[i]);
	cs_json_end_arr(j);
	cs_json_str(j, "bucket", w->bucket);
	writer_side(j, "before", x->before);
	writer_side(j, "after", x->after);
	cs_json_obj(j, "delta");
	cs_json_pages(j, "child_copied_pages", x->delta);
	cs_json_end_obj(j);
	cs_json_end_obj(j);
}

int cs_render_diff_json(FILE *f, const cs_diff_t *df)
{
	cs_json_t j;

	cs_json_init(&j, f);
	cs_json_obj(&j, NULL);
	cs_json_int(&j, "schema_version", CS_DIFF_SCHEMA_VERSION);
	headline(&j, df);
	side(&j, "before", &df->before, df->amp);
	side(&j, "after", &df->after, df->amp);
	totals_delta(&j, df);
	cs_json_arr(&j, "children");
	for (size_t i = 0; i < df->npairs; i++)
		pair(&j, df, i);
	cs_json_end_arr(&j);
	cs_json_arr(&j, "sites");
	for (size_t i = 0; i < df->nsites; i++)
		site(&j, df, &df->sites[i]);
	if (df->writers) {
		cs_json_end_arr(&j);
		cs_json_arr(&j, "writers");
		for (size_t i = 0; i < df->nwdiffs; i++)
			writer(&j, &df->wdiffs[i]);
	}
	cs_json_end_arr(&j);
	cs_json_ldiffs(&j, df->labels, df->nlabels);
	cs_json_end_obj(&j);
	return cs_json_finish(&j);
}
