/* SPDX-License-Identifier: MIT */
/* JSON of labelled ranges: per kind, the labels' pages and the pages no label covers. */
#include <math.h>
#include "json_labels.h"

/* Pages: a whole number as an integer, else 9 decimals; NaN as null. */
static void pages(cs_json_t *j, const char *key, double v)
{
	if (v == v && fabs(v - round(v)) < 5e-10)
		cs_json_int(j, key, (int64_t)llround(v));
	else
		cs_json_num(j, key, v, 9);
}

static void figures(cs_json_t *j, const cs_ltab_t *t, const cs_lrow_t *r)
{
	pages(j, "child_copied_pages", t->split ? r->v[CS_LCOL_CC] : NAN);
	pages(j, "parent_unshared_pages", t->split && !t->no_wp ? r->v[CS_LCOL_PU] : NAN);
	pages(j, "unshared_pages", t->no_wp ? NAN : r->v[CS_LCOL_UN]);
}

static void table(cs_json_t *j, const cs_ltab_t *t)
{
	cs_json_obj(j, NULL);
	cs_json_str(j, "kind", t->kind);
	cs_json_uint(j, "set", t->set);
	cs_json_uint(j, "parent_pid", t->parent_pid);
	cs_json_bool(j, "sampled", t->sampled);
	cs_json_uint(j, "ranges", t->nranges);
	cs_json_uint(j, "bytes", t->bytes);
	cs_json_arr(j, "rows");
	for (size_t i = 0; i < t->nrows; i++) {
		cs_json_obj(j, NULL);
		cs_json_str(j, "label", t->rows[i].label);
		figures(j, t, &t->rows[i]);
		cs_json_end_obj(j);
	}
	cs_json_end_arr(j);
	cs_json_obj(j, "not_labelled");
	figures(j, t, &t->rest);
	cs_json_end_obj(j);
	cs_json_end_obj(j);
}

void cs_json_labels(cs_json_t *j, const cs_ltab_t *v, size_t n)
{
	cs_json_arr(j, "labels");
	for (size_t i = 0; i < n; i++)
		table(j, &v[i]);
	cs_json_end_arr(j);
}

void cs_json_ldiffs(cs_json_t *j, const cs_ldiff_t *v, size_t n)
{
	cs_json_arr(j, "labels");
	for (size_t k = 0; k < n; k++) {
		cs_json_obj(j, NULL);
		cs_json_str(j, "kind", v[k].kind);
		cs_json_arr(j, "rows");
		for (size_t i = 0; i < v[k].nrows; i++) {
			cs_json_obj(j, NULL);
			cs_json_str(j, "label", v[k].rows[i].label);
			pages(j, "before", v[k].rows[i].before);
			pages(j, "after", v[k].rows[i].after);
			pages(j, "delta", v[k].rows[i].delta);
			cs_json_end_obj(j);
		}
		cs_json_end_arr(j);
		cs_json_end_obj(j);
	}
	cs_json_end_arr(j);
}
