/* SPDX-License-Identifier: MIT */
/* The page → label join: a sweep of page runs against address-sorted labelled ranges. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "lattrib.h"
#include "replay.h"
#include "story.h"
#include "vec.h"

/* The state of one sweep of a page set over a labelling's ranges. */
typedef struct sweep {
	const cs_lset_t *s;
	uint64_t ps;
	unsigned shift;
	size_t next; /* the next range to admit */
	size_t *act; /* ranges that may cover the current page */
	size_t nact, capact;
	int col;
	double *acc;
	double *rest;
} sweep_t;

static uint64_t end_of(const cs_lrange_t *g)
{
	return g->addr + g->len;
}

static int cmp_addr(const void *x, const void *y)
{
	const cs_lrange_t *a = x, *b = y;

	if (a->addr != b->addr)
		return a->addr < b->addr ? -1 : 1;
	return (end_of(a) > end_of(b)) - (end_of(a) < end_of(b));
}

void cs_lset_sort(cs_lset_t *s)
{
	if (!s->sorted)
		qsort(s->ranges, s->nr, sizeof(*s->ranges), cmp_addr);
	s->sorted = true;
}

/* Admit the ranges that start before page pg ends; drop those that end before it starts. */
static int admit(sweep_t *w, uint64_t pg)
{
	uint64_t lo = pg << w->shift, hi = lo + w->ps;
	size_t k = 0;

	for (; w->next < w->s->nr && w->s->ranges[w->next].addr < hi; w->next++) {
		if (end_of(&w->s->ranges[w->next]) <= lo)
			continue;
		if (CS_VEC_GROW(w->act, w->nact, w->capact))
			return -ENOMEM;
		w->act[w->nact++] = w->next;
	}
	for (size_t i = 0; i < w->nact; i++)
		if (end_of(&w->s->ranges[w->act[i]]) > lo)
			w->act[k++] = w->act[i];
	w->nact = k;
	return 0;
}

/* The page after the last of [pg, hi) that looks like pg: no active range starts or ends. */
static uint64_t uniform_end(const sweep_t *w, uint64_t pg, uint64_t hi)
{
	uint64_t lo = pg << w->shift, q = hi;

	if (w->next < w->s->nr && (w->s->ranges[w->next].addr >> w->shift) < q)
		q = w->s->ranges[w->next].addr >> w->shift;
	for (size_t i = 0; i < w->nact; i++) {
		const cs_lrange_t *g = &w->s->ranges[w->act[i]];

		if (g->addr > lo || end_of(g) < lo + w->ps)
			return pg + 1;
		if ((end_of(g) >> w->shift) < q)
			q = end_of(g) >> w->shift;
	}
	return q > pg ? q : pg + 1;
}

/* The bytes range g gives page pg: its overlap × weight / len. */
static double gift(const sweep_t *w, const cs_lrange_t *g, uint64_t pg)
{
	uint64_t lo = pg << w->shift, hi = lo + w->ps;
	uint64_t a = g->addr > lo ? g->addr : lo, b = end_of(g) < hi ? end_of(g) : hi;

	return b > a ? (double)(b - a) * ((double)g->weight / (double)g->len) : 0;
}

/* Charge n pages that look like page pg to the active ranges' labels and the rest. */
static void charge(sweep_t *w, uint64_t pg, uint64_t n)
{
	double sum = 0, scale, ps = (double)w->ps;

	for (size_t i = 0; i < w->nact; i++)
		sum += gift(w, &w->s->ranges[w->act[i]], pg);
	scale = sum > ps ? ps / sum : 1;
	for (size_t i = 0; i < w->nact && sum > 0; i++) {
		const cs_lrange_t *g = &w->s->ranges[w->act[i]];

		w->acc[(size_t)g->label * CS_NLCOLS + (size_t)w->col] +=
			gift(w, g, pg) * scale / ps * (double)n;
	}
	*w->rest += (1 - (sum > ps ? ps : sum) / ps) * (double)n;
}

double cs_lattrib_charge(const cs_lset_t *s, const cs_pageset_t *set, uint32_t page_size, int col,
			 double *acc, double *rest, int *err)
{
	sweep_t w = { .s = s,
		      .ps = page_size,
		      .shift = cs_page_shift(page_size),
		      .col = col,
		      .acc = acc,
		      .rest = rest };
	double pages = 0;

	*err = 0;
	for (size_t r = 0; r < set->n && !*err; r++) {
		for (uint64_t pg = set->r[r].lo; pg < set->r[r].hi && !*err;) {
			uint64_t q;

			*err = admit(&w, pg);
			q = uniform_end(&w, pg, set->r[r].hi);
			charge(&w, pg, q - pg);
			pages += (double)(q - pg);
			pg = q;
		}
	}
	free(w.act);
	return pages;
}

/* When child i was forked: its parent's FORK record for it, else its own start (story.c). */
static uint64_t fork_ns(const cs_model_t *m, size_t i)
{
	const cs_proc_t *p = &m->procs[i], *q = &m->procs[p->parent];

	for (size_t k = 0; k < q->nforks; k++)
		if (q->forks[k].child_pid == p->pid)
			return q->forks[k].t_ns;
	return p->has_proc ? p->start_ns : 0;
}

/* Whether labelling a of q is the one to use over b (latest before t, then highest number). */
static bool better(const cs_lset_t *a, const cs_lset_t *b, uint64_t t)
{
	if (!a->complete || a->t_ns >= t)
		return false;
	if (!b)
		return true;
	return a->t_ns > b->t_ns || (a->t_ns == b->t_ns && a->set > b->set);
}

/* The labelling of kind in q that a child forked at t inherits, or NULL. */
static cs_lset_t *inherited(cs_proc_t *q, const char *kind, uint64_t t)
{
	cs_lset_t *best = NULL;

	for (size_t k = 0; k < q->labels.nsets; k++)
		if (!strcmp(q->labels.sets[k].kind, kind) && better(&q->labels.sets[k], best, t))
			best = &q->labels.sets[k];
	return best;
}

/* The rows of the labels acc charged (acc: nnames × CS_NLCOLS). */
static int rows_of(cs_ltab_t *t, const cs_lset_t *s, const double *acc)
{
	t->rows = calloc((size_t)s->nnames + 1, sizeof(*t->rows));
	if (!t->rows)
		return -ENOMEM;
	for (uint32_t l = 0; l < s->nnames; l++) {
		const double *v = &acc[(size_t)l * CS_NLCOLS];

		if (v[CS_LCOL_CC] == 0 && v[CS_LCOL_PU] == 0 && v[CS_LCOL_UN] == 0)
			continue;
		t->rows[t->nrows].label = s->names[l];
		memcpy(t->rows[t->nrows++].v, v, sizeof(t->rows->v));
	}
	cs_ltab_sort(t);
	return 0;
}

/* Charge p's sets to s into t. */
static int join(const cs_proc_t *p, const cs_lset_t *s, uint32_t ppid, cs_ltab_t *t)
{
	const cs_figures_t *f = &p->fig;
	double *acc = calloc((size_t)s->nnames * CS_NLCOLS + 1, sizeof(*acc));
	int err = acc ? 0 : -ENOMEM;

	*t = (cs_ltab_t){ .kind = s->kind,
			  .set = s->set,
			  .parent_pid = ppid,
			  .sampled = s->flags & CS_LSETF_SAMPLED,
			  .split = f->split,
			  .no_wp = f->no_wp,
			  .nranges = s->nranges,
			  .bytes = s->bytes,
			  .members = 1,
			  .sample_k = s->covered ? (double)s->bytes / (double)s->covered : 0 };
	if (!err)
		cs_lattrib_charge(s, f->split ? &f->wc : &f->uns, p->page_size, CS_LCOL_CC, acc,
				  &t->rest.v[CS_LCOL_CC], &err);
	if (!err && f->split && !f->no_wp)
		cs_lattrib_charge(s, &f->wp, p->page_size, CS_LCOL_PU, acc, &t->rest.v[CS_LCOL_PU],
				  &err);
	if (!err && !f->no_wp)
		cs_lattrib_charge(s, &f->uns, p->page_size, CS_LCOL_UN, acc, &t->rest.v[CS_LCOL_UN],
				  &err);
	if (!err)
		err = rows_of(t, s, acc);
	free(acc);
	return err;
}

/* Whether kind was met before set k of q (each kind is joined once). */
static bool kind_seen(const cs_proc_t *q, size_t k)
{
	for (size_t i = 0; i < k; i++)
		if (!strcmp(q->labels.sets[i].kind, q->labels.sets[k].kind))
			return true;
	return false;
}

/* The tables of child i: one per kind its parent labelled before its fork. */
static int child_tables(cs_model_t *m, size_t i)
{
	cs_proc_t *p = &m->procs[i], *q = &m->procs[p->parent];
	uint64_t t = fork_ns(m, i);
	int err = 0;

	for (size_t k = 0; k < q->labels.nsets && !err; k++) {
		cs_lset_t *s;
		cs_ltab_t tab;

		if (kind_seen(q, k) || !(s = inherited(q, q->labels.sets[k].kind, t)))
			continue;
		cs_lset_sort(s);
		err = join(p, s, q->pid, &tab);
		if (!err)
			err = cs_ltabs_add(&p->labels.tabs, &p->labels.ntabs, &tab);
		cs_ltab_free(&tab);
	}
	for (size_t k = 0; k < p->labels.ntabs; k++)
		cs_ltab_sort(&p->labels.tabs[k]);
	return err;
}

static bool measured(const cs_model_t *m, size_t i)
{
	const cs_proc_t *p = &m->procs[i];

	return cs_proc_inherits(m, i) && p->page_size && cs_fig_chargeable(&p->fig) &&
		m->procs[p->parent].labels.nsets;
}

/* The label tables of group g: its members' summed (the members its sites sum). */
static int group_tables(cs_model_t *m, cs_group_t *g)
{
	int err = 0;

	for (size_t k = 0; k < g->nchildren && !err; k++) {
		long i = -1;

		for (size_t j = 0; m->story && g->sib >= 0 && j < m->story->sibs[g->sib].n; j++)
			if (m->procs[m->story->sibs[g->sib].members[j]].pid == g->children[k])
				i = (long)m->story->sibs[g->sib].members[j];
		for (size_t t = 0; i >= 0 && t < m->procs[i].labels.ntabs && !err; t++)
			err = cs_ltabs_add(&g->labels, &g->nlabels, &m->procs[i].labels.tabs[t]);
	}
	for (size_t t = 0; t < g->nlabels; t++)
		cs_ltab_sort(&g->labels[t]);
	return err;
}

int cs_labels_compute(cs_model_t *m, cs_diag_t *d)
{
	int err = 0;

	for (size_t i = 0; i < m->nprocs && !err; i++)
		if (measured(m, i))
			err = child_tables(m, i);
	for (size_t g = 0; g < m->ngroups && !err; g++)
		err = group_tables(m, &m->groups[g]);
	if (err)
		cs_diag_set(d, "out of memory charging pages to labels");
	return err;
}
