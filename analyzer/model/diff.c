/* SPDX-License-Identifier: MIT */
/* The diff math: each side's children, totals and sites; percentages, their change, site deltas. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "diff.h"
#include "sitetab.h"
#include "vec.h"

/* Children by start time, then pid; ctx is the model. */
static int cmp_kid(const void *a, const void *b, void *ctx)
{
	const cs_model_t *m = ctx;
	const cs_proc_t *x = &m->procs[*(const size_t *)a];
	const cs_proc_t *y = &m->procs[*(const size_t *)b];

	if (x->start_ns != y->start_ns)
		return x->start_ns < y->start_ns ? -1 : 1;
	return (x->pid > y->pid) - (x->pid < y->pid);
}

static bool in_side(const cs_side_t *s, const cs_proc_t *p)
{
	if (p->role != CS_ROLE_CHILD || p->exec_no != 0)
		return false;
	return s->phase < 0 || p->phase == (size_t)s->phase;
}

static int select_kids(cs_side_t *s)
{
	const cs_model_t *m = s->m;

	s->kids = malloc((m->nprocs + 1) * sizeof(*s->kids));
	if (!s->kids)
		return -ENOMEM;
	for (size_t i = 0; i < m->nprocs; i++)
		if (in_side(s, &m->procs[i]))
			s->kids[s->nkids++] = i;
	if (s->nkids > 1)
		qsort_r(s->kids, s->nkids, sizeof(*s->kids), cmp_kid, (void *)m);
	return 0;
}

/* Each parent once: the memory bill of cs_bill_of over this side's kids. */
static int once_per_parent(cs_side_t *s)
{
	cs_bill_t b;
	int err = cs_bill_of(s->m, s->kids, s->nkids, &b);

	if (err)
		return err;
	s->shared_once = b.shared_at_fork;
	s->shared_once_bytes = b.shared_bytes;
	s->punshared_once = b.parent_unshared;
	s->punshared_once_bytes = b.punshared_bytes;
	cs_bill_free(&b);
	return 0;
}

static void side_totals(cs_side_t *s)
{
	cs_totals_init(&s->tot);
	cs_endtot_init(&s->end);
	for (size_t i = 0; i < s->nkids; i++) {
		cs_totals_add(&s->tot, &s->m->procs[s->kids[i]]);
		cs_endtot_add(&s->end, &s->m->procs[s->kids[i]]);
	}
	cs_totals_finish(&s->tot);
	cs_endtot_finish(&s->end);
	s->split = s->tot.measured > 0 && s->tot.child_copied >= 0 && s->tot.parent_unshared >= 0;
}

static int side_sites(cs_side_t *s)
{
	cs_site_t *v = NULL;
	size_t n = 0, cap = 0;
	int err = 0;

	for (size_t i = 0; i < s->nkids && !err; i++) {
		const cs_proc_t *p = &s->m->procs[s->kids[i]];

		if (!p->has_sites || !p->nsites)
			continue;
		err = cs_vec_reserve((void **)&v, &cap, n, p->nsites, sizeof(*v));
		if (!err)
			memcpy(v + n, p->sites, p->nsites * sizeof(*v));
		n += err ? 0 : p->nsites;
	}
	if (!err)
		err = cs_sites_merge(v, n, false, &s->sites, &s->nsites);
	free(v);
	return err;
}

/* The writers of the side's kids merged by key. */
static int side_writers(cs_side_t *s)
{
	const cs_proc_t **ps = malloc((s->nkids + 1) * sizeof(*ps));
	size_t n = 0;
	int err;

	if (!ps)
		return -ENOMEM;
	for (size_t i = 0; i < s->nkids; i++)
		if (s->m->procs[s->kids[i]].has_writers)
			ps[n++] = &s->m->procs[s->kids[i]];
	s->has_writers = n > 0;
	err = n ? cs_writers_merge(ps, n, &s->writers, &s->nwriters) : 0;
	free(ps);
	return err;
}

/* The kids' label tables summed by (kind, label). */
static int side_labels(cs_side_t *s)
{
	int err = 0;

	for (size_t k = 0; k < s->nkids && !err; k++) {
		const cs_labels_t *l = &s->m->procs[s->kids[k]].labels;

		for (size_t t = 0; t < l->ntabs && !err; t++)
			err = cs_ltabs_add(&s->labels, &s->nlabels, &l->tabs[t]);
	}
	return err;
}

static int side_compute(cs_side_t *s)
{
	int err = select_kids(s);

	if (err)
		return err;
	side_totals(s);
	err = once_per_parent(s);
	if (!err)
		err = side_sites(s);
	if (!err)
		err = side_labels(s);
	return err ? err : side_writers(s);
}

/* The metric as a percentage of the shared pages; NaN without measured children. */
static double side_pct(const cs_side_t *s, bool split)
{
	const cs_totals_t *t = &s->tot;

	if (!t->measured || !(t->shared_bytes > 0))
		return NAN;
	if (split)
		return 100.0 * t->copied_bytes / t->shared_bytes;
	return t->unshared >= 0 ? 100.0 * t->unshared_bytes / t->shared_bytes : NAN;
}

double cs_diff_change(double a, double b)
{
	if (a != a || b != b || a == 0)
		return NAN;
	return (b - a) / a * 100.0;
}

double cs_diff_site_metric(const cs_diff_t *df, const cs_site_t *s)
{
	double v = !s ? 0 : df->split ? s->child_copied : s->unshared;

	return v == v ? v : 0;
}

/* ---- sites matched by key ------------------------------------------------------------- */

static int cmp_site_ptr(const void *a, const void *b)
{
	return strcmp((*(const cs_site_t *const *)a)->key, (*(const cs_site_t *const *)b)->key);
}

static const cs_site_t **by_key(const cs_side_t *s)
{
	const cs_site_t **v = malloc((s->nsites + 1) * sizeof(*v));

	for (size_t i = 0; v && i < s->nsites; i++)
		v[i] = &s->sites[i];
	if (v && s->nsites > 1)
		qsort(v, s->nsites, sizeof(*v), cmp_site_ptr);
	return v;
}

static double larger(const cs_diff_t *df, const cs_sitediff_t *x)
{
	return fmax(cs_diff_site_metric(df, x->before), cs_diff_site_metric(df, x->after));
}

static const char *key_of(const cs_sitediff_t *x)
{
	return x->before ? x->before->key : x->after->key;
}

/* Largest change first, then the larger figure, then the key; ctx is the diff. */
static int cmp_sitediff(const void *a, const void *b, void *ctx)
{
	const cs_diff_t *df = ctx;
	const cs_sitediff_t *x = a, *y = b;
	double dx = fabs(x->delta), dy = fabs(y->delta);

	if (dx != dy)
		return dx > dy ? -1 : 1;
	dx = larger(df, x);
	dy = larger(df, y);
	if (dx != dy)
		return dx > dy ? -1 : 1;
	return strcmp(key_of(x), key_of(y));
}

static void put_pair(cs_diff_t *df, const cs_site_t *b, const cs_site_t *a)
{
	cs_sitediff_t *x = &df->sites[df->nsites++];

	x->before = b;
	x->after = a;
	x->delta = cs_diff_site_metric(df, a) - cs_diff_site_metric(df, b);
}

/* Walk both key-sorted lists together: a key on one side only pairs with NULL. */
static void join(cs_diff_t *df, const cs_site_t **b, size_t nb, const cs_site_t **a, size_t na)
{
	size_t i = 0, k = 0;

	while (i < nb || k < na) {
		int c = i == nb ? 1 : k == na ? -1 : strcmp(b[i]->key, a[k]->key);

		if (c == 0)
			put_pair(df, b[i++], a[k++]);
		else if (c < 0)
			put_pair(df, b[i++], NULL);
		else
			put_pair(df, NULL, a[k++]);
	}
}

static int site_deltas(cs_diff_t *df)
{
	const cs_site_t **b = by_key(&df->before), **a = by_key(&df->after);
	int err = 0;

	df->sites = malloc((df->before.nsites + df->after.nsites + 1) * sizeof(*df->sites));
	if (!a || !b || !df->sites) {
		err = -ENOMEM;
		goto out;
	}
	join(df, b, df->before.nsites, a, df->after.nsites);
	if (df->nsites > 1)
		qsort_r(df->sites, df->nsites, sizeof(*df->sites), cmp_sitediff, df);
out:
	free(a);
	free(b);
	return err;
}

/* ---- writers matched by key (format 1.5) ----------------------------------------------- */

static int cmp_writer_ptr(const void *a, const void *b)
{
	return strcmp((*(const cs_wstack_t *const *)a)->key, (*(const cs_wstack_t *const *)b)->key);
}

static const cs_wstack_t **writers_by_key(const cs_side_t *s)
{
	const cs_wstack_t **v = malloc((s->nwriters + 1) * sizeof(*v));

	for (size_t i = 0; v && i < s->nwriters; i++)
		v[i] = &s->writers[i];
	if (v && s->nwriters > 1)
		qsort(v, s->nwriters, sizeof(*v), cmp_writer_ptr);
	return v;
}

static double wpages(const cs_wstack_t *w)
{
	return w && w->child_copied == w->child_copied ? w->child_copied : 0;
}

/* Largest change first, then the larger figure, then the key. */
static int cmp_writerdiff(const void *a, const void *b)
{
	const cs_writerdiff_t *x = a, *y = b;
	double dx = fabs(x->delta), dy = fabs(y->delta);

	if (dx != dy)
		return dx > dy ? -1 : 1;
	dx = fmax(wpages(x->before), wpages(x->after));
	dy = fmax(wpages(y->before), wpages(y->after));
	if (dx != dy)
		return dx > dy ? -1 : 1;
	return strcmp((x->before ? x->before : x->after)->key,
		      (y->before ? y->before : y->after)->key);
}

static void put_wpair(cs_diff_t *df, const cs_wstack_t *b, const cs_wstack_t *a)
{
	cs_writerdiff_t *x = &df->wdiffs[df->nwdiffs++];

	*x = (cs_writerdiff_t){ .before = b, .after = a, .delta = wpages(a) - wpages(b) };
}

static int writer_deltas(cs_diff_t *df)
{
	const cs_wstack_t **b = writers_by_key(&df->before), **a = writers_by_key(&df->after);
	size_t nb = df->before.nwriters, na = df->after.nwriters, i = 0, k = 0;
	int err = 0;

	df->writers = df->before.has_writers || df->after.has_writers;
	df->wdiffs = malloc((nb + na + 1) * sizeof(*df->wdiffs));
	if (!a || !b || !df->wdiffs) {
		err = -ENOMEM;
		goto out;
	}
	while (i < nb || k < na) {
		int c = i == nb ? 1 : k == na ? -1 : strcmp(b[i]->key, a[k]->key);

		put_wpair(df, c <= 0 ? b[i++] : NULL, c >= 0 ? a[k++] : NULL);
	}
	if (df->nwdiffs > 1)
		qsort(df->wdiffs, df->nwdiffs, sizeof(*df->wdiffs), cmp_writerdiff);
out:
	free(a);
	free(b);
	return err;
}

/* ---- the whole diff ------------------------------------------------------------------- */

int cs_diff_compute(cs_diff_t *df)
{
	int err = side_compute(&df->before);

	if (!err)
		err = side_compute(&df->after);
	if (err)
		return err;
	df->split = !(df->before.tot.measured && !df->before.split) &&
		!(df->after.tot.measured && !df->after.split);
	df->pct_before = side_pct(&df->before, df->split);
	df->pct_after = side_pct(&df->after, df->split);
	df->change = cs_diff_change(df->pct_before, df->pct_after);
	df->amp = df->before.m->has_diff || df->after.m->has_diff;
	df->npairs = df->before.nkids > df->after.nkids ? df->before.nkids : df->after.nkids;
	err = site_deltas(df);
	if (!err)
		err = cs_ldiff_compute(df->before.labels, df->before.nlabels, df->after.labels,
				       df->after.nlabels, df->split, &df->labels, &df->nlabels);
	return err ? err : writer_deltas(df);
}

static void side_free(cs_side_t *s)
{
	cs_writers_free(s->writers, s->nwriters);
	s->writers = NULL;
	s->nwriters = 0;
	cs_ltabs_free(s->labels, s->nlabels);
	s->labels = NULL;
	s->nlabels = 0;
	free(s->kids);
	free(s->sites);
	s->kids = NULL;
	s->sites = NULL;
	s->nkids = s->nsites = 0;
}

void cs_diff_free(cs_diff_t *df)
{
	side_free(&df->before);
	side_free(&df->after);
	free(df->sites);
	df->sites = NULL;
	df->nsites = 0;
	free(df->wdiffs);
	df->wdiffs = NULL;
	df->nwdiffs = 0;
	cs_ldiffs_free(df->labels, df->nlabels);
	df->labels = NULL;
	df->nlabels = 0;
}
