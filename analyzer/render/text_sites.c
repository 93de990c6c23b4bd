/* SPDX-License-Identifier: MIT */
/* The text report's allocation sites: top sites per child and per sibling group, with stacks. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include "render.h"
#include "text.h"

#define MAX_FRAMES 4    /* frames shown per site */
#define STACK_INDENT 36 /* where a site's frames start, under SITE */

/* One table: the sites of a child or a group. */
typedef struct table {
	FILE *f;
	const cs_site_t *v;
	size_t n;
	uint32_t page_size;
	bool split; /* columns child-copied and parent-unshared; else unshared */
	unsigned top;
	const char *who; /* "the child" or "the children" */
	bool amp;        /* columns CHANGED and AMPLIF (format 1.4 changed words) */
	int sort;        /* enum cs_sort: what ranks the rows */
	bool all;        /* no row folded into "rest" for being small */
} table_t;

static char *mib_pages(double pages, uint32_t ps, char *buf, size_t size)
{
	if (pages != pages || !ps)
		return strcpy(buf, "-");
	return cs_fmt_mib(pages * ps, buf, size);
}

/* What a site table ranks by: sites have no child-new figure, so new ranks them by copied. */
static const char *site_sort_words(int sort)
{
	return cs_text_sort_words(sort == CS_SORT_NEW ? CS_SORT_COPIED : sort);
}

static double key_of(const table_t *t, const cs_site_t *s)
{
	return cs_text_site_key(s, t->split, t->sort);
}

/* CHANGED (bytes) and AMPLIF of a site. */
static void amp_cells(const table_t *t, const cs_site_t *s)
{
	char a[32], b[32];
	bool known = s->changed_bytes == s->changed_bytes;

	cs_fprint_right(t->f, known ? cs_fmt_bytes(s->changed_bytes, a, sizeof(a)) : "-", 9);
	fputc(' ', t->f);
	cs_fprint_right(t->f,
			cs_fmt_amp(cs_site_amplification(s, t->page_size), known, s->compared > 0,
				   false, b, sizeof(b)),
			7);
	fputs("  ", t->f);
}

static void site_row(const table_t *t, const cs_site_t *s)
{
	char a[16], b[16], c[16];

	if (t->split)
		fprintf(t->f, "    %9s %10s %9s  ", mib_pages(s->child_copied, t->page_size, a, 16),
			mib_pages(s->parent_unshared, t->page_size, b, 16),
			s->bucket ? "-" : cs_fmt_mib((double)s->estimated_bytes, c, 16));
	else
		fprintf(t->f, "    %9s %10s %9s  ", mib_pages(s->unshared, t->page_size, a, 16),
			"-", s->bucket ? "-" : cs_fmt_mib((double)s->estimated_bytes, c, 16));
	if (t->amp)
		amp_cells(t, s);
	cs_print_site_stack_among(t->f, s, t->v, t->n, MAX_FRAMES,
				  t->amp ? STACK_INDENT + 19 : STACK_INDENT);
	if (s->freed_in_child > 0)
		fprintf(t->f,
			"%*s(%s MiB of it freed in %s: glibc free() writes list links into "
			"freed memory)\n",
			STACK_INDENT, "", mib_pages(s->freed_in_child, t->page_size, a, 16),
			t->who);
}

/* The sites left out of a table, summed in one row: "rest (N rows)". */
static void rest_row(const table_t *t, const cs_site_t *const *v, size_t n, const bool *shown)
{
	double cp = 0, pu = 0, un = 0, at = 0;
	size_t rest = 0;
	char a[16], b[16], c[16];

	for (size_t i = 0; i < n; i++) {
		if (shown[i])
			continue;
		rest++;
		cp += v[i]->child_copied == v[i]->child_copied ? v[i]->child_copied : 0;
		pu += v[i]->parent_unshared == v[i]->parent_unshared ? v[i]->parent_unshared : 0;
		un += v[i]->unshared == v[i]->unshared ? v[i]->unshared : 0;
		at += v[i]->bucket ? 0 : (double)v[i]->estimated_bytes;
	}
	if (!rest)
		return;
	fprintf(t->f, "    %9s %10s %9s  ", mib_pages(t->split ? cp : un, t->page_size, a, 16),
		t->split ? mib_pages(pu, t->page_size, b, 16) : "-", cs_fmt_mib(at, c, 16));
	if (t->amp)
		fprintf(t->f, "%9s %7s  ", "", "");
	fprintf(t->f, "rest (%zu row%s)\n", rest, rest == 1 ? "" : "s");
}

static int cmp_site(const void *a, const void *b, void *arg)
{
	const cs_site_t *x = *(const cs_site_t *const *)a, *y = *(const cs_site_t *const *)b;
	double kx = key_of(arg, x), ky = key_of(arg, y);

	if (kx != ky)
		return kx > ky ? -1 : 1;
	return (x > y) - (x < y);
}

/* Whether row k (key, of a table whose keys sum to total) is shown, not in "rest". */
static bool row_shown(const table_t *t, size_t k, double key, double total)
{
	if (k >= t->top)
		return false;
	/* small: under 1% of the table and under 0.1 MiB */
	return t->all || key * 100 >= total || key * t->page_size >= 0.1 * 1024 * 1024;
}

static int table(const table_t *t)
{
	const cs_site_t **v = malloc((t->n + 1) * sizeof(*v));
	bool *shown = calloc(t->n + 1, sizeof(*shown));
	size_t n = 0;
	double total = 0;

	if (!v || !shown) {
		free(v);
		free(shown);
		return -ENOMEM;
	}
	fprintf(t->f, "    %9s %10s %9s  ", t->split ? "COPIED" : "UNSHARED",
		t->split ? "P-UNSHARED" : "", "AT FORK");
	if (t->amp)
		fprintf(t->f, "%9s %7s  ", "CHANGED", "AMPLIF");
	fprintf(t->f, "%s\n", "ALLOCATION SITE (innermost frame first)");
	for (size_t i = 0; i < t->n; i++)
		if (key_of(t, &t->v[i]) > 0) {
			v[n++] = &t->v[i];
			total += key_of(t, &t->v[i]);
		}
	qsort_r(v, n, sizeof(*v), cmp_site, (void *)t);
	for (size_t i = 0; i < n; i++)
		if ((shown[i] = row_shown(t, i, key_of(t, v[i]), total)))
			site_row(t, v[i]);
	rest_row(t, v, n, shown);
	free(v);
	free(shown);
	return 0;
}

/* Whether any site has pages to show. */
static bool any_pages(const table_t *t)
{
	for (size_t i = 0; i < t->n; i++)
		if (key_of(t, &t->v[i]) > 0)
			return true;
	return false;
}

static int child_sites(FILE *f, const cs_model_t *m, const cs_render_opts_t *o, size_t i)
{
	const cs_proc_t *p = &m->procs[i];
	table_t t = { .f = f,
		      .v = p->sites,
		      .n = p->nsites,
		      .page_size = p->page_size,
		      .split = p->fig.split,
		      .top = o->top,
		      .who = "the child",
		      .amp = p->fig.split && p->fig.amp[CS_DIFF_CHILD].known,
		      .sort = cs_text_sort(m, o),
		      .all = o->all };

	if (m->story)
		fprintf(f, "  pid %u (%s):", (unsigned)p->pid, m->story->p[i].label);
	else
		fprintf(f, "  pid %u:", (unsigned)p->pid);
	if (!any_pages(&t)) {
		fprintf(f, " none\n");
		return 0;
	}
	fputc('\n', f);
	return table(&t);
}

/* The heading of a group's table: who the children are. */
static void group_heading(FILE *f, const cs_model_t *m, const cs_group_t *g, const table_t *t)
{
	const cs_proc_t *parent = &m->procs[g->parent];
	char who[200];

	fprintf(f, "\ntop %u allocation sites by %s MiB, summed over the ", t->top,
		g->split ? site_sort_words(t->sort) : "unshared");
	if (m->story && g->sib >= 0) {
		fprintf(f, "%s:\n", cs_text_sib_name(m, (size_t)g->sib, who, sizeof(who)));
		return;
	}
	fprintf(f, "%zu children of pid %u", g->nchildren, (unsigned)parent->pid);
	/* One pid can parent several groups, one per exec image: say which image. */
	if (parent->exe)
		fprintf(f, " (%s",
			strrchr(parent->exe, '/') ? strrchr(parent->exe, '/') + 1 : parent->exe);
	if (parent->exe && parent->gen)
		fprintf(f, ", exec image %u", (unsigned)parent->gen);
	fputs(parent->exe ? "):\n" : ":\n", f);
}

static int group_sites(FILE *f, const cs_model_t *m, const cs_render_opts_t *o, const cs_group_t *g)
{
	table_t t = { .f = f,
		      .v = g->sites,
		      .n = g->nsites,
		      .split = g->split,
		      .top = o->top,
		      .who = "the children",
		      .amp = g->split && m->has_diff,
		      .sort = cs_text_sort(m, o),
		      .all = o->all };

	for (size_t i = 0; i < m->nprocs && !t.page_size; i++)
		if (m->procs[i].has_sites && m->procs[i].parent == g->parent)
			t.page_size = m->procs[i].page_size;
	group_heading(f, m, g, &t);
	if (!any_pages(&t)) {
		fprintf(f, "  none\n");
		return 0;
	}
	return table(&t);
}

/* Whether child i has a site table of its own: listed, and not told through its group. */
static bool own_table(const cs_model_t *m, const cs_render_opts_t *o, size_t i)
{
	return m->procs[i].has_sites && cs_text_listed(m, o, i) && !cs_text_grouped(m, o, i);
}

/* Whether a site group of 2 or more children is in the report. */
static bool group_listed(const cs_model_t *m, const cs_render_opts_t *o, const cs_group_t *g)
{
	if (g->nchildren < 2)
		return false;
	return o->all || !m->story || g->sib < 0 || m->story->sibs[g->sib].significant;
}

int cs_render_text_sites(FILE *f, const cs_model_t *m, const cs_render_opts_t *o)
{
	bool any = false;
	int err = 0;

	for (size_t i = 0; i < m->nprocs && o->top && !err; i++) {
		if (!own_table(m, o, i))
			continue;
		if (!any)
			fprintf(f,
				"\ntop %u allocation sites by %s MiB (AT FORK: what its allocations "
				"held at the fork):\n",
				o->top, site_sort_words(cs_text_sort(m, o)));
		any = true;
		err = child_sites(f, m, o, i);
	}
	for (size_t i = 0; i < m->ngroups && o->top && !err; i++)
		if (group_listed(m, o, &m->groups[i]))
			err = group_sites(f, m, o, &m->groups[i]);
	return err;
}
