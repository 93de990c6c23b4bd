/* SPDX-License-Identifier: MIT */
/* Tables of allocation sites and writers: merged by key, sorted for the report, gathered over a run. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "sitetab.h"
#include "vec.h"

static int cmp_key(const void *x, const void *y)
{
	return strcmp(((const cs_site_t *)x)->key, ((const cs_site_t *)y)->key);
}

/* v, with unknown (NaN) below every known figure. */
static double known_or_low(double v)
{
	return v == v ? v : -1;
}

static int cmp_desc(double a, double b)
{
	return (a < b) - (a > b);
}

static int cmp_report(const void *x, const void *y)
{
	const cs_site_t *a = x, *b = y;
	int r = cmp_desc(known_or_low(a->child_copied), known_or_low(b->child_copied));

	if (!r)
		r = cmp_desc(known_or_low(a->parent_unshared), known_or_low(b->parent_unshared));
	if (!r)
		r = cmp_desc(known_or_low(a->unshared), known_or_low(b->unshared));
	if (!r)
		r = cmp_desc((double)a->estimated_bytes, (double)b->estimated_bytes);
	return r ? r : strcmp(a->key, b->key);
}

void cs_sites_sort(cs_site_t *v, size_t n)
{
	if (n > 1)
		qsort(v, n, sizeof(*v), cmp_report);
}

static void fold(cs_site_t *into, const cs_site_t *s, bool sum_bytes)
{
	into->child_copied += s->child_copied;
	into->parent_unshared += s->parent_unshared;
	into->unshared += s->unshared;
	into->freed_in_child += s->freed_in_child;
	into->changed_bytes += s->changed_bytes;
	into->noop_copied += s->noop_copied;
	into->compared += s->compared;
	for (size_t b = 0; b < CS_FIELD_BINS; b++)
		into->fields[b] += s->fields[b];
	if (sum_bytes) {
		into->estimated_bytes += s->estimated_bytes;
		into->samples += s->samples;
		return;
	}
	into->estimated_bytes = s->estimated_bytes > into->estimated_bytes ? s->estimated_bytes
									   : into->estimated_bytes;
	into->samples = s->samples > into->samples ? s->samples : into->samples;
}

int cs_sites_merge(const cs_site_t *in, size_t n, bool sum_bytes, cs_site_t **out, size_t *nout)
{
	cs_site_t *v = malloc((n + 1) * sizeof(*v));
	size_t k = 0;

	if (!v)
		return -ENOMEM;
	if (n)
		memcpy(v, in, n * sizeof(*v));
	qsort(v, n, sizeof(*v), cmp_key);
	for (size_t i = 0; i < n; i++) {
		if (k && !strcmp(v[k - 1].key, v[i].key))
			fold(&v[k - 1], &v[i], sum_bytes);
		else
			v[k++] = v[i];
	}
	cs_sites_sort(v, k);
	*out = v;
	*nout = k;
	return 0;
}

int cs_sites_append(cs_site_t **v, size_t *n, size_t *cap, const cs_proc_t *p)
{
	if (cs_vec_reserve((void **)v, cap, *n, p->nsites, sizeof(**v)))
		return -ENOMEM;
	if (p->nsites)
		memcpy(*v + *n, p->sites, p->nsites * sizeof(**v));
	*n += p->nsites;
	return 0;
}

int cs_sites_of_run(const cs_model_t *m, cs_site_t **out, size_t *nout)
{
	cs_site_t *v = NULL;
	size_t n = 0, cap = 0;
	int err = 0;

	for (size_t i = 0; i < m->nprocs && !err; i++)
		if (m->procs[i].has_sites)
			err = cs_sites_append(&v, &n, &cap, &m->procs[i]);
	if (!err)
		err = cs_sites_merge(v, n, false, out, nout);
	free(v);
	return err;
}

void cs_groups_free(cs_model_t *m)
{
	for (size_t i = 0; i < m->ngroups; i++) {
		free(m->groups[i].children);
		free(m->groups[i].sites);
		cs_writers_free(m->groups[i].writers, m->groups[i].nwriters);
		cs_ltabs_free(m->groups[i].labels, m->groups[i].nlabels);
	}
	free(m->groups);
	m->groups = NULL;
	m->ngroups = 0;
}

/* ---- writers: merged by key, in the report's order ---- */

static int cmp_writer(const void *x, const void *y)
{
	const cs_wstack_t *a = x, *b = y;

	if (a->child_copied != b->child_copied)
		return a->child_copied > b->child_copied ? -1 : 1;
	return strcmp(a->key, b->key);
}

/* ---- groups ---- */

static int cmp_wkey(const void *x, const void *y)
{
	return strcmp(((const cs_wstack_t *)x)->key, ((const cs_wstack_t *)y)->key);
}

/* Fold b into a: pages summed, owner sites merged by key. */
static int wfold(cs_wstack_t *a, const cs_wstack_t *b)
{
	cs_site_t *all = malloc((a->nowners + b->nowners + 1) * sizeof(*all)), *m = NULL;
	size_t nm = 0;
	int err = all ? 0 : -ENOMEM;

	if (!err) {
		memcpy(all, a->owners, a->nowners * sizeof(*all));
		memcpy(all + a->nowners, b->owners, b->nowners * sizeof(*all));
		err = cs_sites_merge(all, a->nowners + b->nowners, false, &m, &nm);
	}
	free(all);
	if (err)
		return err;
	free(a->owners);
	a->owners = m;
	a->nowners = nm;
	a->child_copied += b->child_copied;
	return 0;
}

static int copy_owners(cs_wstack_t *w)
{
	cs_site_t *o = malloc((w->nowners + 1) * sizeof(*o));

	if (!o) {
		w->owners = NULL;
		w->nowners = 0;
		return -ENOMEM;
	}
	memcpy(o, w->owners, w->nowners * sizeof(*o));
	w->owners = o;
	return 0;
}

int cs_writers_merge(const cs_proc_t *const *ps, size_t n, cs_wstack_t **out, size_t *nout)
{
	cs_wstack_t *v = NULL;
	size_t nv = 0, cap = 0, k = 0;
	int err = 0;

	for (size_t i = 0; i < n && !err; i++) {
		if (cs_vec_reserve((void **)&v, &cap, nv, ps[i]->nwriters + 1, sizeof(*v)))
			err = -ENOMEM;
		for (size_t w = 0; !err && w < ps[i]->nwriters; w++)
			v[nv++] = ps[i]->writers[w];
	}
	if (!err && nv)
		qsort(v, nv, sizeof(*v), cmp_wkey);
	for (size_t i = 0; i < nv && !err; i++) {
		if (k && !strcmp(v[k - 1].key, v[i].key)) {
			err = wfold(&v[k - 1], &v[i]);
			continue;
		}
		v[k] = v[i];
		err = copy_owners(&v[k++]);
	}
	if (err) {
		cs_writers_free(v, k);
		return err;
	}
	if (k)
		cs_writers_sort(v, k);
	*out = v;
	*nout = k;
	return 0;
}

void cs_writers_sort(cs_wstack_t *v, size_t n)
{
	if (n > 1)
		qsort(v, n, sizeof(*v), cmp_writer);
}
