/* SPDX-License-Identifier: MIT */
/* The text report's label tables (format 1.6): copied MiB by label, per sibling group or child. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "render.h"
#include "text.h"

#define MAX_FRAMES 4    /* python-line frames shown per label */
#define LABEL_INDENT 36 /* where a label starts, under LABEL */

/* One table: a child's or a group's labels of one kind. */
typedef struct ltable {
	FILE *f;
	const cs_ltab_t *t;
	uint32_t page_size;
	unsigned top;
	bool all;
	double total; /* the ranked figure over rows and rest */
} ltable_t;

static char *mib(const ltable_t *lt, double pages, char *buf, size_t size)
{
	return cs_fmt_mib(pages * lt->page_size, buf, size);
}

/* "COPIED P-UNSHARED (MiB) SHARE" cells of figures v. */
static void cells(const ltable_t *lt, const double *v)
{
	char a[16], b[16], c[16];
	double key = lt->t->split ? v[CS_LCOL_CC] : v[CS_LCOL_UN];

	fprintf(lt->f, "    %6s %10s %5s %5s%%  ", mib(lt, key, a, sizeof(a)),
		lt->t->split && !lt->t->no_wp ? mib(lt, v[CS_LCOL_PU], b, sizeof(b)) : "-", "",
		cs_fmt_pct(lt->total > 0 ? 100 * key / lt->total : 0, c, sizeof(c)));
}

/* A python-line label: its frames' basenames, innermost first, one a line. */
static void print_line_label(FILE *f, const char *label)
{
	const char *fr[MAX_FRAMES + 1], *end = label + strlen(label);
	size_t n = 0, total = 1;
	char buf[256];

	for (const char *s = label; *s; s++)
		total += *s == ';';
	for (const char *e = end; e > label && n < MAX_FRAMES;) {
		const char *b = e;

		while (b > label && b[-1] != ';')
			b--;
		fr[n++] = b;
		e = b > label ? b - 1 : label;
	}
	for (size_t i = 0; i < n; i++) {
		const char *stop = strchr(fr[i], ';'), *base = fr[i];
		size_t len = stop ? (size_t)(stop - fr[i]) : strlen(fr[i]);

		for (const char *s = fr[i]; s < fr[i] + len; s++)
			if (*s == '/')
				base = s + 1;
		len -= (size_t)(base - fr[i]);
		fprintf(f, "%*s%s\n", i ? LABEL_INDENT : 0, "",
			cs_clean_text(base, len, buf, sizeof(buf)));
	}
	if (total > n)
		fprintf(f, "%*s… %zu more frames\n", LABEL_INDENT, "", total - n);
}

static void row(const ltable_t *lt, const cs_lrow_t *r)
{
	char buf[256];

	cells(lt, r->v);
	if (!strcmp(lt->t->kind, "python-line")) {
		print_line_label(lt->f, r->label);
		return;
	}
	fprintf(lt->f, "%s\n", cs_clean_text(r->label, strlen(r->label), buf, sizeof(buf)));
}

/* Whether row k (its ranked figure key) is shown, not in "rest" (text_sites.c's rule). */
static bool shown(const ltable_t *lt, size_t k, double key)
{
	if (k >= lt->top || key <= 0)
		return false;
	return lt->all || key * 100 >= lt->total || key * lt->page_size >= 0.1 * 1024 * 1024;
}

static void table(const ltable_t *lt)
{
	const cs_ltab_t *t = lt->t;
	double rest[CS_NLCOLS] = { 0 };
	size_t nrest = 0;

	fprintf(lt->f, "    %6s %10s %5s %6s  %s\n", t->split ? "COPIED" : "UNSHARED",
		t->split ? "P-UNSHARED" : "", "(MiB)", "SHARE", "LABEL");
	for (size_t i = 0; i < t->nrows; i++) {
		if (shown(lt, i, cs_lrow_key(t, &t->rows[i]))) {
			row(lt, &t->rows[i]);
			continue;
		}
		nrest++;
		for (int c = 0; c < CS_NLCOLS; c++)
			rest[c] += t->rows[i].v[c];
	}
	if (nrest) {
		cells(lt, rest);
		fprintf(lt->f, "rest (%zu row%s)\n", nrest, nrest == 1 ? "" : "s");
	}
	cells(lt, t->rest.v);
	fputs("not labelled\n", lt->f);
	if (t->sampled)
		fprintf(lt->f, "    sampled: one object in %.0f by bytes, figures estimated\n",
			t->sample_k > 1 ? t->sample_k : 1);
}

static void heading(FILE *f, const cs_ltab_t *t, const char *who)
{
	fprintf(f, "\n%s by %s, %s:\n", t->split ? "copied" : "unshared", t->kind, who);
}

static void tables(FILE *f, const cs_render_opts_t *o, const cs_ltab_t *v, size_t n,
		   uint32_t page_size, const char *who)
{
	for (size_t k = 0; k < n; k++) {
		ltable_t lt = {
			.f = f, .t = &v[k], .page_size = page_size, .top = o->top, .all = o->all
		};

		lt.total = cs_lrow_key(&v[k], &v[k].rest);
		for (size_t i = 0; i < v[k].nrows; i++)
			lt.total += cs_lrow_key(&v[k], &v[k].rows[i]);
		heading(f, &v[k], who);
		if (lt.total > 0)
			table(&lt);
		else
			fputs("  none\n", f);
	}
}

/* The page size of a group's members (4096 if none says). */
static uint32_t group_page_size(const cs_model_t *m, const cs_group_t *g)
{
	for (size_t i = 0; i < m->nprocs; i++)
		if (m->procs[i].labels.ntabs && m->procs[i].parent == g->parent &&
		    m->procs[i].page_size)
			return m->procs[i].page_size;
	return 4096;
}

/* Whether a group of 2 or more children is in the report (text_sites.c's rule). */
static bool group_listed(const cs_model_t *m, const cs_render_opts_t *o, const cs_group_t *g)
{
	if (g->nchildren < 2 || !g->nlabels)
		return false;
	return o->all || !m->story || g->sib < 0 || m->story->sibs[g->sib].significant;
}

static void group_tables(FILE *f, const cs_model_t *m, const cs_render_opts_t *o,
			 const cs_group_t *g)
{
	char who[240], name[200];

	if (m->story && g->sib >= 0)
		snprintf(who, sizeof(who), "summed over the %s",
			 cs_text_sib_name(m, (size_t)g->sib, name, sizeof(name)));
	else
		snprintf(who, sizeof(who), "summed over %zu children of pid %u", g->nchildren,
			 (unsigned)m->procs[g->parent].pid);
	tables(f, o, g->labels, g->nlabels, group_page_size(m, g), who);
}

static void child_tables(FILE *f, const cs_model_t *m, const cs_render_opts_t *o, size_t i)
{
	const cs_proc_t *p = &m->procs[i];
	char who[240], name[200];

	if (m->story)
		snprintf(who, sizeof(who), "%s", cs_text_member_name(m, i, name, sizeof(name)));
	else
		snprintf(who, sizeof(who), "pid %u", (unsigned)p->pid);
	tables(f, o, p->labels.tabs, p->labels.ntabs, p->page_size, who);
}

int cs_render_text_labels(FILE *f, const cs_model_t *m, const cs_render_opts_t *o)
{
	for (size_t i = 0; i < m->nprocs && o->top; i++)
		if (m->procs[i].labels.ntabs && cs_text_listed(m, o, i) &&
		    !cs_text_grouped(m, o, i))
			child_tables(f, m, o, i);
	for (size_t g = 0; g < m->ngroups && o->top; g++)
		if (group_listed(m, o, &m->groups[g]))
			group_tables(f, m, o, &m->groups[g]);
	return ferror(f) ? -EIO : 0;
}

/* ---- cowscope diff -------------------------------------------------------------------- */

/* A signed MiB change, as the diff's other tables: "−2.5", "+0.5", "0". */
static char *signed_mib(double bytes, char *buf, size_t size)
{
	char m[16];

	cs_fmt_mib(bytes < 0 ? -bytes : bytes, m, sizeof(m));
	if (!strcmp(m, "0"))
		return strcpy(buf, "0");
	snprintf(buf, size, "%s%s", bytes < 0 ? "\u2212" : "+", m);
	return buf;
}

static void diff_row(FILE *f, const cs_ldiff_t *d, const cs_ldiffrow_t *r, double psb, double psa)
{
	char a[16], b[16], c[24], buf[256];

	fprintf(f, "  %9s %9s ", cs_fmt_mib(r->before * psb, a, sizeof(a)),
		cs_fmt_mib(r->after * psa, b, sizeof(b)));
	cs_fprint_right(f, signed_mib(r->after * psa - r->before * psb, c, sizeof(c)), 10);
	fputs("  ", f);
	if (!strcmp(d->kind, "python-line"))
		print_line_label(f, r->label);
	else
		fprintf(f, "%s\n", cs_clean_text(r->label, strlen(r->label), buf, sizeof(buf)));
}

int cs_render_diff_labels(FILE *f, const cs_diff_t *df, unsigned top, double psb, double psa)
{
	const char *what = df->split ? "copied" : "unshared";

	for (size_t k = 0; k < df->nlabels && top; k++) {
		const cs_ldiff_t *d = &df->labels[k];
		size_t shown = 0;

		fprintf(f, "\ntop %u labels (%s) by change in %s MiB:\n  %9s %9s %10s  %s\n", top,
			d->kind, what, "BEFORE", "AFTER", "CHANGE", "LABEL");
		for (size_t i = 0; i < d->nrows && shown < top; i++) {
			if (d->rows[i].delta > -1e-9 && d->rows[i].delta < 1e-9)
				break; /* sorted by change: the rest did not change */
			diff_row(f, d, &d->rows[i], psb, psa);
			shown++;
		}
		if (!shown)
			fprintf(f, "  no label's %s pages changed\n", what);
	}
	return ferror(f) ? -EIO : 0;
}
