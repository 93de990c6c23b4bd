/* SPDX-License-Identifier: MIT */
/* The text report's allocation sites: top sites per child and per sibling group, with stacks. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include "render.h"

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
} table_t;

static char *mib_pages(double pages, uint32_t ps, char *buf, size_t size)
{
	if (pages != pages || !ps)
		return strcpy(buf, "-");
	return cs_fmt_mib(pages * ps, buf, size);
}

static double key_of(const table_t *t, const cs_site_t *s)
{
	double v = t->split ? s->child_copied : s->unshared;

	if (t->split && !(v > 0))
		v = s->parent_unshared;
	return v == v ? v : 0;
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

static void table(const table_t *t)
{
	size_t shown = 0;

	fprintf(t->f, "    %9s %10s %9s  ", t->split ? "COPIED" : "UNSHARED",
		t->split ? "P-UNSHARED" : "", "AT FORK");
	if (t->amp)
		fprintf(t->f, "%9s %7s  ", "CHANGED", "AMPLIF");
	fprintf(t->f, "%s\n", "ALLOCATION SITE (innermost frame first)");
	for (size_t i = 0; i < t->n && shown < t->top; i++) {
		if (key_of(t, &t->v[i]) <= 0)
			continue;
		site_row(t, &t->v[i]);
		shown++;
	}
}

/* Whether any site has pages to show. */
static bool any_pages(const table_t *t)
{
	for (size_t i = 0; i < t->n; i++)
		if (key_of(t, &t->v[i]) > 0)
			return true;
	return false;
}

static void child_sites(FILE *f, const cs_proc_t *p, unsigned top)
{
	table_t t = { .f = f,
		      .v = p->sites,
		      .n = p->nsites,
		      .page_size = p->page_size,
		      .split = p->fig.split,
		      .top = top,
		      .who = "the child",
		      .amp = p->fig.split && p->fig.amp[CS_DIFF_CHILD].known };

	if (!any_pages(&t)) {
		fprintf(f, "  pid %u: no pages copied\n", (unsigned)p->pid);
		return;
	}
	fprintf(f, "  pid %u:\n", (unsigned)p->pid);
	table(&t);
}

static void group_sites(FILE *f, const cs_model_t *m, const cs_group_t *g, unsigned top)
{
	table_t t = { .f = f,
		      .v = g->sites,
		      .n = g->nsites,
		      .split = g->split,
		      .top = top,
		      .who = "the children",
		      .amp = g->split && m->has_diff };
	const cs_proc_t *parent = &m->procs[g->parent];

	for (size_t i = 0; i < m->nprocs && !t.page_size; i++)
		if (m->procs[i].has_sites && m->procs[i].parent == g->parent)
			t.page_size = m->procs[i].page_size;
	fprintf(f, "\ntop %u allocation sites by %s MiB, summed over the %zu children of pid %u",
		top, g->split ? "copied" : "unshared", g->nchildren, (unsigned)parent->pid);
	/* One pid can parent several groups, one per exec image: say which image. */
	if (parent->exe)
		fprintf(f, " (%s",
			strrchr(parent->exe, '/') ? strrchr(parent->exe, '/') + 1 : parent->exe);
	if (parent->exe && parent->gen)
		fprintf(f, ", exec image %u", (unsigned)parent->gen);
	fputs(parent->exe ? "):\n" : ":\n", f);
	if (!any_pages(&t))
		fprintf(f, "  no pages copied\n");
	else
		table(&t);
}

int cs_render_text_sites(FILE *f, const cs_model_t *m, const cs_render_opts_t *o)
{
	bool any = false;

	for (size_t i = 0; i < m->nprocs && o->top; i++) {
		if (!m->procs[i].has_sites)
			continue;
		if (!any)
			fprintf(f,
				"\ntop %u allocation sites by copied MiB (AT FORK: what the site's "
				"allocations held at the fork):\n",
				o->top);
		any = true;
		child_sites(f, &m->procs[i], o->top);
	}
	for (size_t i = 0; i < m->ngroups && o->top; i++)
		if (m->groups[i].nchildren >= 2)
			group_sites(f, m, &m->groups[i], o->top);
	return 0;
}
