/* SPDX-License-Identifier: MIT */
/* The limit math of `cowscope check`: which children a check covers, their figures, the worst. */
#include "check.h"
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "backend.h"
#include "sitetab.h"
#include "totals.h"

#define MIB 1048576.0

/* One measured figure: 1 measured, 0 not measured (no figures), -ENODATA (why set). */
typedef int (*child_fn)(const cs_proc_t *p, double *v, char *why, size_t size);

static const char *const options[CS_LIM__COUNT] = {
	"max-copied-pct",    "max-copied-mib",          "min-share-retained",
	"max-amplification", "max-parent-unshared-pct",
};

const char *cs_limit_option(int lim)
{
	return lim >= 0 && lim < CS_LIM__COUNT ? options[lim] : "?";
}

bool cs_limit_is_min(int lim)
{
	return lim == CS_LIM_SHARE_RETAINED;
}

static const char *base_name(const char *path)
{
	const char *s = path ? strrchr(path, '/') : NULL;

	return s ? s + 1 : path;
}

const char *cs_check_comm(const cs_proc_t *p)
{
	if (p->cmdline && p->cmdline_len && *p->cmdline)
		return base_name(p->cmdline);
	if (p->exe && *p->exe)
		return base_name(p->exe);
	return "?";
}

static bool selected(const cs_model_t *m, const cs_proc_t *p, const cs_check_sel_t *sel)
{
	(void)m;
	if (p->role != CS_ROLE_CHILD || p->exec_no != 0)
		return false;
	if (sel->phase >= 0 && p->phase != (size_t)sel->phase)
		return false;
	return !sel->only || !strcmp(cs_check_comm(p), sel->only);
}

int cs_check_select(const cs_model_t *m, const cs_check_sel_t *sel, size_t **kids, size_t *n)
{
	*n = 0;
	*kids = malloc((m->nprocs + 1) * sizeof(**kids));
	if (!*kids)
		return -ENOMEM;
	for (size_t i = 0; i < m->nprocs; i++)
		if (selected(m, &m->procs[i], sel))
			(*kids)[(*n)++] = i;
	return 0;
}

static int no_split(const cs_proc_t *p, char *why, size_t size)
{
	snprintf(why, size,
		 "the backend `%s` cannot tell the child's copies from the parent's writes",
		 p->has_backend ? cs_backend_name(p->backend) : "unknown");
	return -ENODATA;
}

static int no_words(char *why, size_t size)
{
	snprintf(why, size, "the run has no changed-word figures (format < 1.4 or --diff off)");
	return -ENODATA;
}

static double pct(int64_t part, int64_t whole)
{
	return whole > 0 ? (double)part / (double)whole * 100.0 : 0.0;
}

static int copied_pct(const cs_proc_t *p, double *v, char *why, size_t size)
{
	if (p->fig.shared_at_fork < 0)
		return 0;
	if (p->fig.child_copied < 0)
		return no_split(p, why, size);
	*v = pct(p->fig.child_copied, p->fig.shared_at_fork);
	return 1;
}

static int copied_mib(const cs_proc_t *p, double *v, char *why, size_t size)
{
	if (p->fig.shared_at_fork < 0)
		return 0;
	if (p->fig.child_copied < 0)
		return no_split(p, why, size);
	*v = (double)p->fig.child_copied * (double)p->page_size / MIB;
	return 1;
}

static int share_retained(const cs_proc_t *p, double *v, char *why, size_t size)
{
	(void)why;
	(void)size;
	if (p->fig.shared_at_fork < 0 || p->fig.share_retained != p->fig.share_retained)
		return 0;
	*v = 100.0 * p->fig.share_retained;
	return 1;
}

/* comparable ÷ changed bytes; INFINITY for copies without a change, 0 for no copies. */
static double amp_value(double amp, double comparable)
{
	if (amp == amp)
		return amp;
	return comparable > 0 ? INFINITY : 0.0;
}

static int amplification(const cs_proc_t *p, double *v, char *why, size_t size)
{
	const cs_amp_t *a = &p->fig.amp[CS_DIFF_CHILD];

	if (p->fig.shared_at_fork < 0)
		return 0;
	if (!a->known)
		return no_words(why, size);
	*v = amp_value(a->amplification, a->comparable);
	return 1;
}

static int punshared_pct(const cs_proc_t *p, double *v, char *why, size_t size)
{
	if (p->fig.shared_at_fork < 0)
		return 0;
	if (p->fig.parent_unshared < 0)
		return no_split(p, why, size);
	*v = pct(p->fig.parent_unshared, p->fig.shared_at_fork);
	return 1;
}

static const child_fn child_fns[CS_LIM__COUNT] = {
	copied_pct, copied_mib, share_retained, amplification, punshared_pct,
};

static bool worse(int lim, double a, double b)
{
	return cs_limit_is_min(lim) ? a < b : a > b;
}

static void no_children(cs_check_res_t *res)
{
	res->err = -ENODATA;
	snprintf(res->why, sizeof(res->why), "no child it covers has figures");
}

/* Each child: the worst value decides. */
static void check_children(const cs_model_t *m, const size_t *kids, size_t n, int lim,
			   cs_check_res_t *res)
{
	for (size_t i = 0; i < n; i++) {
		double v = 0;
		int r = child_fns[lim](&m->procs[kids[i]], &v, res->why, sizeof(res->why));

		if (r < 0) {
			res->err = r;
			res->worst = (long)kids[i];
			return;
		}
		if (r == 0)
			continue;
		if (!res->children++ || worse(lim, v, res->value)) {
			res->value = v;
			res->worst = (long)kids[i];
		}
	}
	if (!res->children)
		no_children(res);
}

/* The tree's figure from its bill: 1 known, -ENODATA (why set). */
static int tree_value(const cs_bill_t *b, int lim, double *v, char *why, size_t size)
{
	const cs_totals_t *t = &b->t;
	const cs_proc_t none = { 0 };

	if (lim == CS_LIM_SHARE_RETAINED) {
		*v = 100.0 * t->share_retained;
		return 1;
	}
	if (lim == CS_LIM_AMPLIFICATION) {
		if (!t->amp[CS_DIFF_CHILD].known || t->amp[CS_DIFF_CHILD].unknown_children)
			return no_words(why, size);
		*v = amp_value(t->amp[CS_DIFF_CHILD].amplification,
			       t->amp[CS_DIFF_CHILD].comparable);
		return 1;
	}
	if (lim == CS_LIM_PUNSHARED_PCT)
		return b->parent_unshared < 0
			? no_split(&none, why, size)
			: (*v = pct(b->parent_unshared, b->shared_at_fork), 1);
	if (t->child_copied < 0)
		return no_split(&none, why, size);
	*v = lim == CS_LIM_COPIED_MIB ? t->copied_bytes / MIB
				      : pct(t->child_copied, b->shared_at_fork);
	return 1;
}

/* The backend of the first measured kid, for the tree's "cannot" message. */
static void tree_why(const cs_model_t *m, const size_t *kids, size_t n, int lim,
		     cs_check_res_t *res)
{
	for (size_t i = 0; i < n; i++) {
		const cs_proc_t *p = &m->procs[kids[i]];
		double v;

		if (p->fig.shared_at_fork >= 0 &&
		    child_fns[lim](p, &v, res->why, sizeof(res->why)) < 0)
			return;
	}
}

static int check_tree(const cs_model_t *m, const size_t *kids, size_t n, int lim,
		      cs_check_res_t *res)
{
	cs_bill_t b;
	int err = cs_bill_of(m, kids, n, &b);

	if (err)
		return err;
	res->children = b.t.measured;
	if (!b.t.measured || b.shared_at_fork < 0)
		no_children(res);
	else if (tree_value(&b, lim, &res->value, res->why, sizeof(res->why)) < 0) {
		res->err = -ENODATA;
		tree_why(m, kids, n, lim, res);
	}
	cs_bill_free(&b);
	return 0;
}

int cs_check_limit(const cs_model_t *m, const size_t *kids, size_t n, bool tree, int lim,
		   double limit, cs_check_res_t *res)
{
	int err = 0;

	memset(res, 0, sizeof(*res));
	res->worst = -1;
	if (tree)
		err = check_tree(m, kids, n, lim, res);
	else
		check_children(m, kids, n, lim, res);
	if (!err && !res->err)
		res->pass = cs_limit_is_min(lim) ? res->value >= limit : res->value <= limit;
	return err;
}

double cs_check_site_pages(const cs_site_t *s, int lim)
{
	double v = lim == CS_LIM_PUNSHARED_PCT ? s->parent_unshared : s->child_copied;

	if (v != v && lim != CS_LIM_PUNSHARED_PCT)
		v = s->unshared;
	return v == v ? v : 0.0;
}

/* Most pages first, then by key; ctx points at the limit. */
static int cmp_sites(const void *a, const void *b, void *ctx)
{
	int lim = *(const int *)ctx;
	double x = cs_check_site_pages(a, lim), y = cs_check_site_pages(b, lim);

	if (x != y)
		return x < y ? 1 : -1;
	return strcmp(((const cs_site_t *)a)->key, ((const cs_site_t *)b)->key);
}

/* The sites of the processes kids[0..n) merged by key, into *out. */
static int gather(const cs_model_t *m, const size_t *kids, size_t n, cs_site_t **out, size_t *nout)
{
	cs_site_t *v = NULL;
	size_t nv = 0, cap = 0;
	int err = 0;

	for (size_t i = 0; i < n && !err; i++)
		if (m->procs[kids[i]].has_sites)
			err = cs_sites_append(&v, &nv, &cap, &m->procs[kids[i]]);
	if (!err && nv)
		err = cs_sites_merge(v, nv, false, out, nout);
	free(v);
	return err;
}

int cs_check_sites(const cs_model_t *m, const size_t *kids, size_t n, const cs_check_res_t *res,
		   int lim, cs_site_t **out, size_t *nout)
{
	size_t one;
	int err;

	*out = NULL;
	*nout = 0;
	if (res->worst >= 0) {
		one = (size_t)res->worst;
		kids = &one;
		n = 1;
	}
	err = gather(m, kids, n, out, nout);
	if (err || !*nout)
		return err;
	qsort_r(*out, *nout, sizeof(**out), cmp_sites, &lim);
	return 0;
}
