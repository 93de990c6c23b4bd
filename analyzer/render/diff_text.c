/* SPDX-License-Identifier: MIT */
/* The diff for a person: the headline, both sides' totals and their change, children pairs, sites. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include "backend.h"
#include "render.h"

/* ---- the headline --------------------------------------------------------------------- */

static const char *change_str(const cs_diff_t *df, char *buf, size_t size)
{
	if (df->change == df->change && fabs(df->change) >= 0.05)
		snprintf(buf, size, "%s%.1f%%", df->change < 0 ? "\u2212" : "+", fabs(df->change));
	else if (df->pct_before == 0 && df->pct_after > 0)
		snprintf(buf, size, "none before");
	else
		snprintf(buf, size, "no change");
	return buf;
}

static const char *unmeasured(const cs_diff_t *df)
{
	bool b = df->pct_before != df->pct_before, a = df->pct_after != df->pct_after;

	return b && a ? "either side" : b ? df->before.label : df->after.label;
}

/* Whether a side's children had their copies compared (format 1.4). */
static bool amp_known(const cs_side_t *s)
{
	return s->tot.amp[CS_DIFF_CHILD].known > 0;
}

/* A side's amplification of the summed copies: "410×", "∞", "≈35×". */
static char *side_amp(const cs_side_t *s, char *buf, size_t size)
{
	const cs_ampsum_t *a = &s->tot.amp[CS_DIFF_CHILD];

	return cs_fmt_amp(a->amplification, a->known > 0, a->compared > 0, a->estimated, buf, size);
}

char *cs_diff_headline(const cs_diff_t *df, char *buf, size_t size)
{
	char pb[32], pa[32], ch[32];
	int n;

	if (df->pct_before != df->pct_before || df->pct_after != df->pct_after) {
		snprintf(buf, size, "from %s to %s: no measured children in %s", df->before.label,
			 df->after.label, unmeasured(df));
		return buf;
	}
	n = snprintf(buf, size, "from %s to %s: %s%% \u2192 %s%% of shared pages %s (%s)",
		     df->before.label, df->after.label, cs_fmt_pct(df->pct_before, pb, sizeof(pb)),
		     cs_fmt_pct(df->pct_after, pa, sizeof(pa)), df->split ? "copied" : "unshared",
		     change_str(df, ch, sizeof(ch)));
	if (n > 0 && (size_t)n < size && df->split && amp_known(&df->before) &&
	    amp_known(&df->after))
		snprintf(buf + n, size - (size_t)n, "; amplification %s \u2192 %s",
			 side_amp(&df->before, pb, sizeof(pb)),
			 side_amp(&df->after, pa, sizeof(pa)));
	return buf;
}

#define MAX_FRAMES 4    /* frames shown per site */
#define STACK_INDENT 34 /* where a site's frames start */

typedef struct dtext {
	FILE *f;
	const cs_diff_t *df;
	unsigned top;
} dtext_t;

/* s right-aligned in width columns, counting UTF-8 characters (not bytes) as printf would not. */
static void col(FILE *f, const char *s, int width)
{
	int n = 0;

	for (const char *p = s; *p; p++)
		n += ((unsigned char)*p & 0xc0) != 0x80;
	fprintf(f, " %*s%s", width > n ? width - n : 0, "", s);
}

static char *mib(bool known, double bytes, char *buf, size_t size)
{
	return known ? cs_fmt_mib(bytes, buf, size) : strcpy(buf, "-");
}

/* A signed MiB change: "−233", "+0.5", "0"; "-" when unknown. */
static char *signed_mib(bool known, double bytes, char *buf, size_t size)
{
	char m[16];

	if (!known)
		return strcpy(buf, "-");
	cs_fmt_mib(fabs(bytes), m, sizeof(m));
	if (!strcmp(m, "0"))
		return strcpy(buf, "0");
	snprintf(buf, size, "%s%s", bytes < 0 ? "\u2212" : "+", m);
	return buf;
}

static char *pct(double share, char *buf, size_t size)
{
	if (share != share)
		return strcpy(buf, "-");
	snprintf(buf, size, "%.1f%%", 100.0 * share);
	return buf;
}

/* The page size a side's figures are in (its children's, the first one's if they differ). */
static double side_ps(const cs_side_t *s)
{
	if (s->tot.page_size > 0)
		return (double)s->tot.page_size;
	return s->nkids ? s->m->procs[s->kids[0]].page_size : 0;
}

static void side_line(const dtext_t *t, const char *which, const cs_side_t *s)
{
	long b = cs_run_backend_proc(s->m);

	fprintf(t->f, "  %s: %s", which, s->m->absdir);
	if (s->phase >= 0)
		fprintf(t->f, ", phase %s", s->m->phases[s->phase]);
	fprintf(t->f, ": %zu %s, %zu measured, backend %s\n", s->nkids,
		s->nkids == 1 ? "child" : "children", s->tot.measured,
		b >= 0 ? cs_backend_name(s->m->procs[b].backend) : "unknown");
}

static void total_row(const dtext_t *t, const char *name, int64_t pb, double bb, int64_t pa,
		      double ba)
{
	char x[16], y[16], z[24];

	fprintf(t->f, "  %-20s %10s %10s", name, mib(pb >= 0, bb, x, 16), mib(pa >= 0, ba, y, 16));
	col(t->f, signed_mib(pb >= 0 && pa >= 0, ba - bb, z, sizeof(z)), 10);
	fputc('\n', t->f);
}

/* Whether a side's at-end totals differ from its working ones (some child went on past W). */
static bool end_differs(const cs_side_t *s)
{
	return s->end.later &&
		(s->end.child_copied != s->tot.child_copied ||
		 s->end.parent_unshared != s->tot.parent_unshared ||
		 s->end.unshared != s->tot.unshared);
}

/* The totals after the children's teardowns, beside the working ones, when they differ. */
static void end_totals(const dtext_t *t)
{
	const cs_endtot_t *b = &t->df->before.end, *a = &t->df->after.end;
	char x[16], y[16];

	if (!end_differs(&t->df->before) && !end_differs(&t->df->after))
		return;
	fprintf(t->f,
		"  after teardown (children that went on past their working snapshot: %zu "
		"before, %zu after):\n",
		b->later, a->later);
	total_row(t, "child-copied at end", b->child_copied, b->copied_bytes, a->child_copied,
		  a->copied_bytes);
	total_row(t, "p-unshared at end", b->parent_unshared, b->punshared_bytes,
		  a->parent_unshared, a->punshared_bytes);
	total_row(t, "unshared at end", b->unshared, b->unshared_bytes, a->unshared,
		  a->unshared_bytes);
	fprintf(t->f, "  %-20s %10s %10s\n", "retained at end", pct(b->share_retained, x, 16),
		pct(a->share_retained, y, 16));
}

/* A side's figure of its summed changed words, or "-" when no child's copies were compared. */
static const char *amp_cell(const cs_ampsum_t *a, double v, bool bytes, char *buf, size_t size)
{
	char tmp[24];

	if (!a->known)
		return "-";
	if (bytes)
		cs_fmt_bytes(v, tmp, sizeof(tmp));
	else
		cs_fmt_count(v, tmp, sizeof(tmp));
	snprintf(buf, size, "%s%s", a->estimated ? "\u2248" : "", tmp);
	return buf;
}

static void amp_row(const dtext_t *t, const char *name, double b, double a, bool bytes)
{
	const cs_ampsum_t *sb = &t->df->before.tot.amp[CS_DIFF_CHILD];
	const cs_ampsum_t *sa = &t->df->after.tot.amp[CS_DIFF_CHILD];
	char x[40], y[40], z[40], d[32];

	fprintf(t->f, "  %-20s", name);
	col(t->f, amp_cell(sb, b, bytes, x, sizeof(x)), 10);
	col(t->f, amp_cell(sa, a, bytes, y, sizeof(y)), 10);
	if (sb->known && sa->known) {
		if (bytes)
			cs_fmt_bytes(fabs(a - b), d, sizeof(d));
		else
			cs_fmt_count(fabs(a - b), d, sizeof(d));
		snprintf(z, sizeof(z), "%s%s", a < b ? "\u2212" : a > b ? "+" : "", d);
		col(t->f, z, 10);
	}
	fputc('\n', t->f);
}

/* The children's changed words on both sides (format 1.4 runs). */
static void amp_totals(const dtext_t *t)
{
	const cs_ampsum_t *b = &t->df->before.tot.amp[CS_DIFF_CHILD];
	const cs_ampsum_t *a = &t->df->after.tot.amp[CS_DIFF_CHILD];
	char x[32], y[32];

	amp_row(t, "changed bytes", b->changed_bytes, a->changed_bytes, true);
	amp_row(t, "no-op copies (pages)", b->noop_pages, a->noop_pages, false);
	fprintf(t->f, "  %-20s", "amplification");
	col(t->f, cs_fmt_amp(b->amplification, b->known, b->compared > 0, b->estimated, x, 32), 10);
	col(t->f, cs_fmt_amp(a->amplification, a->known, a->compared > 0, a->estimated, y, 32), 10);
	fputc('\n', t->f);
}

static void totals(const dtext_t *t)
{
	const cs_totals_t *b = &t->df->before.tot, *a = &t->df->after.tot;
	char x[16], y[16], z[32];
	double d = 100.0 * (a->share_retained - b->share_retained);

	fprintf(t->f,
		"\ntotals over the children (MiB; - = unknown; shared and parent-unshared "
		"count each parent once):\n");
	fprintf(t->f, "  %-20s %10s %10s %10s\n", "", "BEFORE", "AFTER", "CHANGE");
	const cs_side_t *sb = &t->df->before, *sa = &t->df->after;

	total_row(t, "shared at fork", sb->shared_once, sb->shared_once_bytes, sa->shared_once,
		  sa->shared_once_bytes);
	total_row(t, "child-copied", b->child_copied, b->copied_bytes, a->child_copied,
		  a->copied_bytes);
	total_row(t, "parent-unshared", sb->punshared_once, sb->punshared_once_bytes,
		  sa->punshared_once, sa->punshared_once_bytes);
	total_row(t, "unshared", b->unshared, b->unshared_bytes, a->unshared, a->unshared_bytes);
	total_row(t, "new in children", b->child_new, b->new_bytes, a->child_new, a->new_bytes);
	if (d == d)
		snprintf(z, sizeof(z), "%s%.1f pts", d < 0 ? "\u2212" : "+", fabs(d));
	else
		strcpy(z, "-");
	fprintf(t->f, "  %-20s %10s %10s", "share retained", pct(b->share_retained, x, 16),
		pct(a->share_retained, y, 16));
	col(t->f, z, 10);
	fputc('\n', t->f);
	if (t->df->amp)
		amp_totals(t);
	end_totals(t);
}

/* A child's metric after its teardown, in bytes; NaN if it has none or the same as working. */
static double end_metric(const cs_diff_t *df, const cs_proc_t *p)
{
	const cs_figures_t *f = p ? &p->fig : NULL;
	int64_t w, e;

	if (!f || !f->has_end)
		return NAN;
	w = df->split ? f->child_copied : f->unshared;
	e = df->split ? f->at_end.child_copied : f->at_end.unshared;
	return e >= 0 && e != w ? (double)e * p->page_size : NAN;
}

/* Under a pair whose teardowns changed their metric: the at-end figures, in the metric column. */
static void end_pair(const dtext_t *t, size_t i)
{
	const cs_side_t *sb = &t->df->before, *sa = &t->df->after;
	double b = end_metric(t->df, i < sb->nkids ? &sb->m->procs[sb->kids[i]] : NULL);
	double a = end_metric(t->df, i < sa->nkids ? &sa->m->procs[sa->kids[i]] : NULL);
	char x[16], y[16];

	if (b != b && a != a)
		return;
	fprintf(t->f, "  %4s %9s %8s %8s %8s %9s %8s %8s %8s\n", "", "at end:", "",
		b == b ? cs_fmt_mib(b, x, 16) : "", "", "", "", a == a ? cs_fmt_mib(a, y, 16) : "",
		"");
}

/* A child's figures: pid, shared, copied (or unshared), retained; blanks when absent. */
static void child_cols(const dtext_t *t, const cs_side_t *s, size_t i, double *metric)
{
	const cs_proc_t *p = i < s->nkids ? &s->m->procs[s->kids[i]] : NULL;
	const cs_figures_t *f = p ? &p->fig : NULL;
	int64_t v = !f ? CS_UNKNOWN : t->df->split ? f->child_copied : f->unshared;
	double ps = p ? p->page_size : 0;
	char id[16], a[16], b[16], c[16];

	*metric = v >= 0 ? (double)v * ps : NAN;
	if (!p) {
		fprintf(t->f, " %9s %8s %8s %8s", "", "", "", "");
		return;
	}
	snprintf(id, sizeof(id), "%u", (unsigned)p->pid);
	fprintf(t->f, " %9s %8s %8s %8s", id,
		mib(f->shared_at_fork >= 0, (double)f->shared_at_fork * ps, a, 16),
		mib(v >= 0, (double)v * ps, b, 16), pct(f->share_retained, c, 16));
}

static void children(const dtext_t *t)
{
	const char *what = t->df->split ? "COPIED" : "UNSHARED";
	double mb, ma;
	char d[24];

	if (!t->df->npairs)
		return;
	fprintf(t->f,
		"\nchildren, paired in fork order (MiB):\n  %4s %9s %8s %8s %8s %9s %8s %8s "
		"%8s %9s\n",
		"#", "BEFORE", "SHARED", what, "RETAINED", "AFTER", "SHARED", what, "RETAINED",
		"CHANGE");
	for (size_t i = 0; i < t->df->npairs; i++) {
		fprintf(t->f, "  %4zu", i + 1);
		child_cols(t, &t->df->before, i, &mb);
		child_cols(t, &t->df->after, i, &ma);
		col(t->f, signed_mib(mb == mb && ma == ma, ma - mb, d, sizeof(d)), 9);
		fputc('\n', t->f);
		end_pair(t, i);
	}
}

static const cs_site_t *either(const cs_sitediff_t *x)
{
	return x->after ? x->after : x->before;
}

static void site_row(const dtext_t *t, const cs_sitediff_t *x)
{
	double pb = side_ps(&t->df->before), pa = side_ps(&t->df->after);
	double b = cs_diff_site_metric(t->df, x->before) * pb;
	double a = cs_diff_site_metric(t->df, x->after) * pa;
	char s1[16], s2[16], s3[24];

	fprintf(t->f, "  %9s %9s", x->before ? cs_fmt_mib(b, s1, 16) : "-",
		x->after ? cs_fmt_mib(a, s2, 16) : "-");
	col(t->f, signed_mib(true, a - b, s3, sizeof(s3)), 10);
	fputs("  ", t->f);
	cs_print_site_stack(t->f, either(x), MAX_FRAMES, STACK_INDENT);
}

static void sites(const dtext_t *t)
{
	const char *what = t->df->split ? "copied" : "unshared";
	size_t shown = 0;

	if (!t->df->nsites || !t->top)
		return;
	fprintf(t->f,
		"\ntop %u allocation sites by change in %s MiB (matched by symbolized stack):\n"
		"  %9s %9s %10s  %s\n",
		t->top, what, "BEFORE", "AFTER", "CHANGE",
		"ALLOCATION SITE (innermost frame first)");
	for (size_t i = 0; i < t->df->nsites && shown < t->top; i++) {
		if (fabs(t->df->sites[i].delta) < 1e-9)
			break; /* sorted by change: the rest did not change */
		site_row(t, &t->df->sites[i]);
		shown++;
	}
	if (!shown)
		fprintf(t->f, "  no site's %s pages changed\n", what);
}

/* Format 1.5 runs with writers: the writers whose copied pages changed most. */
static void writers(const dtext_t *t)
{
	double pb = side_ps(&t->df->before), pa = side_ps(&t->df->after);
	size_t shown = 0;
	char s1[16], s2[16], s3[24];

	if (!t->df->writers || !t->top)
		return;
	fprintf(t->f,
		"\ntop %u writers by change in copied MiB (matched by symbolized stack):\n"
		"  %9s %9s %10s  %s\n",
		t->top, "BEFORE", "AFTER", "CHANGE", "WRITER (the faulting instruction first)");
	for (size_t i = 0; i < t->df->nwdiffs && shown < t->top; i++) {
		const cs_writerdiff_t *x = &t->df->wdiffs[i];
		double b = x->before ? x->before->child_copied * pb : 0;
		double a = x->after ? x->after->child_copied * pa : 0;

		if (fabs(x->delta) < 1e-9)
			break; /* sorted by change: the rest did not change */
		fprintf(t->f, "  %9s %9s", x->before ? cs_fmt_mib(b, s1, 16) : "-",
			x->after ? cs_fmt_mib(a, s2, 16) : "-");
		col(t->f, signed_mib(true, a - b, s3, sizeof(s3)), 10);
		fputs("  ", t->f);
		cs_print_writer_chain(t->f, x->after ? x->after : x->before, MAX_FRAMES);
		shown++;
	}
	if (!shown)
		fprintf(t->f, "  no writer's copied pages changed\n");
}

int cs_render_diff_text(FILE *f, const cs_diff_t *df, unsigned top)
{
	dtext_t t = { .f = f, .df = df, .top = top };
	char head[512];

	fprintf(f, "%s\n", cs_diff_headline(df, head, sizeof(head)));
	fprintf(f,
		"(working figures: each child's last snapshot before it began to exit; "
		"docs/working-figures.md)\n\n");
	side_line(&t, "before", &df->before);
	side_line(&t, "after ", &df->after);
	if (!df->split)
		fprintf(f,
			"  (a backend cannot tell child copies from parent writes: comparing "
			"unshared pages)\n");
	totals(&t);
	children(&t);
	sites(&t);
	writers(&t);
	cs_render_diff_labels(f, df, top, side_ps(&df->before), side_ps(&df->after));
	return ferror(f) ? -EIO : 0;
}
