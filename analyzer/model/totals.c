/* SPDX-License-Identifier: MIT */
/* Totals and the memory bill of a run, and the figures of its sampling and its backend. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "figures.h"
#include "totals.h"
#include "vec.h"

static void add(int64_t *sum, int64_t v)
{
	if (*sum == CS_UNKNOWN || v == CS_UNKNOWN)
		*sum = CS_UNKNOWN;
	else
		*sum += v;
}

static void add_child(cs_totals_t *t, const cs_proc_t *p)
{
	const cs_figures_t *f = &p->fig;
	double ps = p->page_size;

	if (t->measured++ == 0)
		t->page_size = p->page_size;
	else if (t->page_size != (int64_t)p->page_size)
		t->page_size = CS_UNKNOWN;
	add(&t->shared_at_fork, f->shared_at_fork);
	add(&t->child_copied, f->child_copied);
	add(&t->parent_unshared, f->parent_unshared);
	add(&t->unshared, f->unshared);
	add(&t->child_new, f->child_new);
	t->shared_bytes += (double)f->shared_at_fork * ps;
	t->copied_bytes += f->child_copied > 0 ? (double)f->child_copied * ps : 0;
	t->punshared_bytes += f->parent_unshared > 0 ? (double)f->parent_unshared * ps : 0;
	t->unshared_bytes += f->unshared > 0 ? (double)f->unshared * ps : 0;
	t->new_bytes += f->child_new > 0 ? (double)f->child_new * ps : 0;
	for (size_t i = 0; i < CS_NSIDES; i++)
		cs_ampsum_add(&t->amp[i], &f->amp[i], p->page_size);
}

void cs_totals_init(cs_totals_t *t)
{
	memset(t, 0, sizeof(*t));
	t->page_size = CS_UNKNOWN;
	for (size_t i = 0; i < CS_NSIDES; i++)
		cs_ampsum_init(&t->amp[i]);
}

size_t cs_samples(const cs_proc_t *p)
{
	return p->fig.shared_at_fork >= 0 ? p->fig.ntimeline : 0;
}

bool cs_few_samples(const cs_proc_t *p)
{
	return p->role == CS_ROLE_CHILD && cs_samples(p) < 2;
}

/* A fork snapshot and a snapshot after it: then child-new is known, whatever the backend. */
static bool has_figures(const cs_proc_t *p)
{
	return p->fig.shared_at_fork >= 0 && p->fig.child_new >= 0;
}

void cs_totals_add(cs_totals_t *t, const cs_proc_t *p)
{
	t->children++;
	t->few_samples += cs_few_samples(p);
	if (p->fig.shared_at_fork < 0)
		t->no_fork_snap++;
	else if (!has_figures(p))
		t->no_sample++;
	else
		add_child(t, p);
}

void cs_totals_finish(cs_totals_t *t)
{
	if (!t->measured)
		t->shared_at_fork = t->child_copied = t->parent_unshared = t->unshared =
			t->child_new = CS_UNKNOWN;
	t->share_retained = NAN;
	if (t->unshared >= 0 && t->shared_bytes > 0)
		t->share_retained = 1.0 - t->unshared_bytes / t->shared_bytes;
	for (size_t i = 0; i < CS_NSIDES; i++)
		cs_ampsum_finish(&t->amp[i]);
}

void cs_totals_compute(const cs_model_t *m, cs_totals_t *t)
{
	cs_totals_init(t);
	for (size_t i = 0; i < m->nprocs; i++)
		if (m->procs[i].role == CS_ROLE_CHILD)
			cs_totals_add(t, &m->procs[i]);
	cs_totals_finish(t);
}

/* Key that brings one parent's children together: its index, else its pid. */
static uint64_t group_key(const cs_proc_t *p)
{
	if (p->parent >= 0)
		return (uint64_t)p->parent;
	return p->ppid >= 0 ? (1ull << 40) + (uint64_t)p->ppid : UINT64_MAX;
}

static int by_group(const void *a, const void *b, void *arg)
{
	const cs_proc_t *v = arg;
	size_t i = *(const size_t *)a, k = *(const size_t *)b;
	uint64_t x = group_key(&v[i]), y = group_key(&v[k]);

	if (x != y)
		return x < y ? -1 : 1;
	return (i > k) - (i < k);
}

static void group_new(cs_bill_group_t *g, const cs_proc_t *p, size_t first)
{
	memset(g, 0, sizeof(*g));
	g->parent = p->parent;
	g->ppid = p->ppid;
	g->first = first;
	g->shared_at_fork = g->parent_unshared = CS_UNKNOWN;
	cs_totals_init(&g->t);
}

/* Add a child: its shared set may be the largest, its parent-unshared too. */
static void group_add(cs_bill_group_t *g, const cs_proc_t *p)
{
	const cs_figures_t *f = &p->fig;
	bool first = g->t.measured == 0;

	cs_totals_add(&g->t, p);
	if (f->shared_at_fork > g->shared_at_fork) {
		g->shared_at_fork = f->shared_at_fork;
		g->shared_bytes = (double)f->shared_at_fork * p->page_size;
	}
	if (!has_figures(p))
		return;
	if (first && p->has_backend)
		g->backend = p->backend;
	else if (first)
		g->backend = cs_fork_snap(p) ? cs_fork_snap(p)->backend : CS_BACKEND_NONE;
	if (f->parent_unshared < 0 || (!first && g->parent_unshared < 0)) {
		g->parent_unshared = CS_UNKNOWN;
	} else if (first || f->parent_unshared > g->parent_unshared) {
		g->parent_unshared = f->parent_unshared;
		g->punshared_bytes = (double)f->parent_unshared * p->page_size;
	}
}

/* The grand total: each parent's shared memory and parent-unshared pages once. */
static void bill_sum(cs_bill_t *b)
{
	bool any_shared = false, any_measured = false, unknown = false;

	for (size_t i = 0; i < b->ngroups; i++) {
		const cs_bill_group_t *g = &b->groups[i];

		if (g->shared_at_fork >= 0) {
			any_shared = true;
			b->shared_at_fork += g->shared_at_fork;
			b->shared_bytes += g->shared_bytes;
		}
		if (!g->t.measured)
			continue;
		any_measured = true;
		unknown |= g->parent_unshared < 0;
		b->parent_unshared += g->parent_unshared < 0 ? 0 : g->parent_unshared;
		b->punshared_bytes += g->punshared_bytes;
	}
	if (!any_shared)
		b->shared_at_fork = CS_UNKNOWN;
	if (!any_measured || unknown)
		b->parent_unshared = CS_UNKNOWN;
}

int cs_bill_compute(const cs_model_t *m, cs_bill_t *b)
{
	size_t *kids = malloc((m->nprocs + 1) * sizeof(*kids)), n = 0;
	int err;

	if (!kids)
		return -ENOMEM;
	for (size_t i = 0; i < m->nprocs; i++)
		if (m->procs[i].role == CS_ROLE_CHILD)
			kids[n++] = i;
	err = cs_bill_of(m, kids, n, b);
	free(kids);
	return err;
}

int cs_bill_of(const cs_model_t *m, const size_t *kids, size_t n, cs_bill_t *b)
{
	memset(b, 0, sizeof(*b));
	b->kids = malloc((n + 1) * sizeof(*b->kids));
	b->groups = malloc((n + 1) * sizeof(*b->groups));
	if (!b->kids || !b->groups) {
		cs_bill_free(b);
		return -ENOMEM;
	}
	cs_totals_init(&b->t);
	for (size_t i = 0; i < n; i++)
		cs_totals_add(&b->t, &m->procs[kids[i]]);
	cs_totals_finish(&b->t);
	memcpy(b->kids, kids, n * sizeof(*kids));
	qsort_r(b->kids, n, sizeof(*b->kids), by_group, m->procs);
	for (size_t i = 0; i < n; i++) {
		const cs_proc_t *p = &m->procs[b->kids[i]];

		if (i == 0 || group_key(p) != group_key(&m->procs[b->kids[i - 1]]))
			group_new(&b->groups[b->ngroups++], p, i);
		group_add(&b->groups[b->ngroups - 1], p);
	}
	for (size_t i = 0; i < b->ngroups; i++)
		cs_totals_finish(&b->groups[i].t);
	bill_sum(b);
	return 0;
}

void cs_bill_free(cs_bill_t *b)
{
	free(b->groups);
	free(b->kids);
	b->groups = NULL;
	b->kids = NULL;
	b->ngroups = 0;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* Gaps between consecutive outside samples of p, in ms, appended to *v. */
static int sample_gaps(const cs_proc_t *p, double **v, size_t *n, size_t *cap)
{
	const cs_snap_t *prev = NULL;

	for (size_t i = 0; i < p->nsnaps; i++) {
		const cs_snap_t *s = &p->snaps[i];

		if (!s->from_samples || s->reason != CS_SNAP_SAMPLE)
			continue;
		if (prev && CS_VEC_GROW(*v, *n, *cap))
			return -ENOMEM;
		if (prev)
			(*v)[(*n)++] = (double)(s->t_ns - prev->t_ns) / 1e6;
		prev = s;
	}
	return 0;
}

double cs_achieved_interval_ms(const cs_model_t *m, double *mean_ms)
{
	double *v = NULL, med = NAN, sum = 0;
	size_t n = 0, cap = 0;
	int err = 0;

	for (size_t i = 0; i < m->nprocs && !err; i++)
		err = sample_gaps(&m->procs[i], &v, &n, &cap);
	if (!err && n) {
		qsort(v, n, sizeof(*v), cmp_double);
		med = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
		for (size_t i = 0; i < n; i++)
			sum += v[i];
	}
	if (mean_ms)
		*mean_ms = !err && n ? sum / (double)n : NAN;
	free(v);
	return med;
}

long cs_run_backend_proc(const cs_model_t *m)
{
	if (m->root >= 0 && m->procs[m->root].has_backend)
		return m->root;
	for (size_t i = 0; i < m->nprocs; i++)
		if (m->procs[i].has_backend)
			return (long)i;
	return -1;
}
