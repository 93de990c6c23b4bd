/* SPDX-License-Identifier: MIT */
/* Labelled ranges (format 1.6): freeing, sorting and summing label tables. */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include "labels.h"
#include "vec.h"

static int cmp_row(const void *x, const void *y, void *arg)
{
	const cs_ltab_t *t = arg;
	const cs_lrow_t *a = x, *b = y;
	double ka = cs_lrow_key(t, a), kb = cs_lrow_key(t, b);

	if (ka != kb)
		return ka > kb ? -1 : 1;
	return strcmp(a->label, b->label);
}

void cs_ltab_sort(cs_ltab_t *t)
{
	qsort_r(t->rows, t->nrows, sizeof(*t->rows), cmp_row, t);
}

void cs_ltab_free(cs_ltab_t *t)
{
	free(t->rows);
	t->rows = NULL;
	t->nrows = 0;
}

void cs_ltabs_free(cs_ltab_t *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		cs_ltab_free(&v[i]);
	free(v);
}

void cs_lset_free(cs_lset_t *s)
{
	for (uint32_t i = 0; s->names && i < s->nnames; i++)
		free(s->names[i]);
	free(s->names);
	free(s->kind);
	free(s->ranges);
	*s = (cs_lset_t){ 0 };
}

void cs_labels_free(cs_labels_t *l)
{
	for (size_t i = 0; i < l->nsets; i++)
		cs_lset_free(&l->sets[i]);
	free(l->sets);
	cs_ltabs_free(l->tabs, l->ntabs);
	*l = (cs_labels_t){ 0 };
}

const cs_ltab_t *cs_ltabs_find(const cs_ltab_t *v, size_t n, const char *kind)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(v[i].kind, kind))
			return &v[i];
	return NULL;
}

/*
 * The element of kind in *v (n elements of size bytes, each starting with its
 * const char *kind, kept in kind order), inserted zeroed if missing (*added).
 * NULL: no memory.
 */
_Static_assert(offsetof(cs_ltab_t, kind) == 0 && offsetof(cs_ldiff_t, kind) == 0,
	       "by_kind reads an element's kind at its start");

static void *by_kind(void **v, size_t *n, size_t size, const char *kind, bool *added)
{
	size_t at = 0;
	uint8_t *p = *v;

	*added = false;
	while (at < *n && strcmp(*(const char *const *)(p + at * size), kind) < 0)
		at++;
	if (at < *n && !strcmp(*(const char *const *)(p + at * size), kind))
		return p + at * size;
	p = realloc(*v, (*n + 1) * size);
	if (!p)
		return NULL;
	*v = p;
	memmove(p + (at + 1) * size, p + at * size, (*n - at) * size);
	memset(p + at * size, 0, size);
	(*n)++;
	*added = true;
	return p + at * size;
}

/* The table of t's kind in *v, inserted empty (t's identity) in kind order if missing. */
static cs_ltab_t *tab_for(cs_ltab_t **v, size_t *n, const cs_ltab_t *t)
{
	bool added;
	cs_ltab_t *p = by_kind((void **)v, n, sizeof(**v), t->kind, &added);

	if (p && added) {
		*p = *t;
		p->rows = NULL;
		p->nrows = 0;
		p->rest = (cs_lrow_t){ 0 };
		p->members = 0;
		p->split = true;
	}
	return p;
}

static int cmp_label(const void *x, const void *y)
{
	return strcmp(((const cs_lrow_t *)x)->label, ((const cs_lrow_t *)y)->label);
}

/* Rows of the same label summed into one (rows sorted by label first). */
static void merge_rows(cs_ltab_t *d)
{
	size_t k = 0;

	qsort(d->rows, d->nrows, sizeof(*d->rows), cmp_label);
	for (size_t i = 0; i < d->nrows; i++) {
		if (k && !strcmp(d->rows[k - 1].label, d->rows[i].label)) {
			for (int c = 0; c < CS_NLCOLS; c++)
				d->rows[k - 1].v[c] += d->rows[i].v[c];
			continue;
		}
		d->rows[k++] = d->rows[i];
	}
	d->nrows = k;
}

int cs_ltabs_add(cs_ltab_t **v, size_t *n, const cs_ltab_t *t)
{
	cs_ltab_t *d = tab_for(v, n, t);
	cs_lrow_t *rows;

	if (!d)
		return -ENOMEM;
	rows = realloc(d->rows, (d->nrows + t->nrows + 1) * sizeof(*rows));
	if (!rows)
		return -ENOMEM;
	d->rows = rows;
	memcpy(&rows[d->nrows], t->rows, t->nrows * sizeof(*rows));
	d->nrows += t->nrows;
	merge_rows(d);
	for (int c = 0; c < CS_NLCOLS; c++)
		d->rest.v[c] += t->rest.v[c];
	d->sampled = d->sampled || t->sampled;
	d->split = d->split && t->split;
	d->no_wp = d->no_wp || t->no_wp;
	d->members += t->members;
	return 0;
}

/* ---- diffs ---------------------------------------------------------------------------- */

void cs_ldiffs_free(cs_ldiff_t *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i].rows);
	free(v);
}

static double metric(const cs_lrow_t *r, bool split)
{
	return split ? r->v[CS_LCOL_CC] : r->v[CS_LCOL_UN];
}

/* Append t's rows to d's, on side after or before (merged by label later). */
static int ldiff_add(cs_ldiff_t *d, const cs_ltab_t *t, bool split, bool after)
{
	cs_ldiffrow_t *rows = realloc(d->rows, (d->nrows + t->nrows + 1) * sizeof(*rows));

	if (!rows)
		return -ENOMEM;
	d->rows = rows;
	for (size_t i = 0; i < t->nrows; i++) {
		rows[d->nrows] = (cs_ldiffrow_t){ .label = t->rows[i].label };
		*(after ? &rows[d->nrows].after : &rows[d->nrows].before) =
			metric(&t->rows[i], split);
		d->nrows++;
	}
	return 0;
}

static int cmp_ldiff_label(const void *x, const void *y)
{
	return strcmp(((const cs_ldiffrow_t *)x)->label, ((const cs_ldiffrow_t *)y)->label);
}

static int cmp_ldiffrow(const void *x, const void *y)
{
	const cs_ldiffrow_t *a = x, *b = y;
	double da = a->delta < 0 ? -a->delta : a->delta, db = b->delta < 0 ? -b->delta : b->delta;

	if (da != db)
		return da > db ? -1 : 1;
	return strcmp(a->label, b->label);
}

/* Rows of one label merged into one, deltas set, then sorted by |delta|. */
static void ldiff_finish(cs_ldiff_t *d)
{
	size_t k = 0;

	qsort(d->rows, d->nrows, sizeof(*d->rows), cmp_ldiff_label);
	for (size_t i = 0; i < d->nrows; i++) {
		if (k && !strcmp(d->rows[k - 1].label, d->rows[i].label)) {
			d->rows[k - 1].before += d->rows[i].before;
			d->rows[k - 1].after += d->rows[i].after;
			continue;
		}
		d->rows[k++] = d->rows[i];
	}
	d->nrows = k;
	for (size_t i = 0; i < d->nrows; i++)
		d->rows[i].delta = d->rows[i].after - d->rows[i].before;
	qsort(d->rows, d->nrows, sizeof(*d->rows), cmp_ldiffrow);
}

/* The diff of kind in *v, added (kinds sorted) if missing. */
static cs_ldiff_t *ldiff_for(cs_ldiff_t **v, size_t *n, const char *kind)
{
	bool added;
	cs_ldiff_t *p = by_kind((void **)v, n, sizeof(**v), kind, &added);

	if (p && added)
		p->kind = kind;
	return p;
}

int cs_ldiff_compute(const cs_ltab_t *b, size_t nb, const cs_ltab_t *a, size_t na, bool split,
		     cs_ldiff_t **out, size_t *nout)
{
	int err = 0;

	*out = NULL;
	*nout = 0;
	for (size_t i = 0; i < nb + na && !err; i++) {
		const cs_ltab_t *t = i < nb ? &b[i] : &a[i - nb];
		cs_ldiff_t *d = ldiff_for(out, nout, t->kind);

		err = d ? ldiff_add(d, t, split, i >= nb) : -ENOMEM;
	}
	for (size_t k = 0; k < *nout && !err; k++)
		ldiff_finish(&(*out)[k]);
	return err;
}
