/* SPDX-License-Identifier: MIT */
/* JSON of changed bytes, no-op copies and amplification (format 1.4, docs/json-report.md). */
#include <math.h>
#include "json_amp.h"
#include "render.h"

void cs_json_amp_flat(cs_json_t *j, const cs_amp_t *a, const char *changed_key,
		      const char *noop_key, const char *amp_key)
{
	if (!a->known) {
		cs_json_null(j, changed_key);
		cs_json_null(j, noop_key);
		cs_json_null(j, amp_key);
		return;
	}
	cs_json_pages(j, changed_key, a->changed_bytes);
	cs_json_pages(j, noop_key, a->noop_pages);
	cs_json_num(j, amp_key, a->amplification, 3);
}

static void reasons(cs_json_t *j, const int64_t *why)
{
	cs_json_obj(j, "unknown_by_reason");
	for (int i = 1; i <= CS_DIFFW_COUNT; i++)
		cs_json_opt(j, cs_diff_why_name(i), why[i - 1]);
	cs_json_end_obj(j);
}

void cs_json_amp(cs_json_t *j, const char *key, const cs_amp_t *a)
{
	if (!a->known) {
		cs_json_null(j, key);
		return;
	}
	cs_json_obj(j, key);
	cs_json_amp_flat(j, a, "changed_bytes", "noop_pages", "amplification");
	cs_json_bool(j, "no_net_change", a->compared > 0 && a->changed_words == 0);
	cs_json_int(j, "compared_pages", a->compared);
	cs_json_pages(j, "comparable_pages", a->comparable);
	cs_json_int(j, "changed_pages", a->changed_pages);
	cs_json_int(j, "changed_words", a->changed_words);
	cs_json_int(j, "unknown_pages", a->unknown);
	if (a->unknown_why[0] >= 0)
		reasons(j, a->unknown_why);
	else
		cs_json_null(j, "unknown_by_reason");
	cs_json_bool(j, "estimated", a->estimated);
	cs_json_int(j, "stride", a->stride);
	cs_json_bool(j, "capped", a->capped);
	cs_json_end_obj(j);
}

void cs_json_ampsum_flat(cs_json_t *j, const cs_ampsum_t *s, const char *changed_key,
			 const char *noop_key, const char *amp_key)
{
	if (!s->known) {
		cs_json_null(j, changed_key);
		cs_json_null(j, noop_key);
		cs_json_null(j, amp_key);
		return;
	}
	cs_json_pages(j, changed_key, s->changed_bytes);
	cs_json_pages(j, noop_key, s->noop_pages);
	cs_json_num(j, amp_key, s->amplification, 3);
}

void cs_json_ampsum(cs_json_t *j, const char *key, const cs_ampsum_t *s)
{
	if (!s->known) {
		cs_json_null(j, key);
		return;
	}
	cs_json_obj(j, key);
	cs_json_int(j, "children", (int64_t)s->known);
	cs_json_int(j, "children_unknown", (int64_t)s->unknown_children);
	cs_json_ampsum_flat(j, s, "changed_bytes", "noop_pages", "amplification");
	cs_json_bool(j, "no_net_change", s->compared > 0 && s->changed_bytes == 0);
	cs_json_int(j, "compared_pages", s->compared);
	cs_json_pages(j, "comparable_pages", s->comparable);
	cs_json_int(j, "unknown_pages", s->unknown);
	reasons(j, s->unknown_why);
	cs_json_bool(j, "estimated", s->estimated);
	cs_json_end_obj(j);
}

static void field_bin(cs_json_t *j, unsigned b, double words, double total)
{
	uint64_t lo, hi;

	cs_field_range(b, &lo, &hi);
	cs_json_obj(j, NULL);
	cs_json_uint(j, "offset_from", lo);
	if (hi == UINT64_MAX)
		cs_json_null(j, "offset_to");
	else
		cs_json_uint(j, "offset_to", hi);
	cs_json_pages(j, "words", words);
	cs_json_num(j, "share", total > 0 ? words / total : NAN, 6);
	cs_json_end_obj(j);
}

void cs_json_fields(cs_json_t *j, const char *key, const double *fields)
{
	double total = cs_fields_total(fields);

	if (total != total) {
		cs_json_null(j, key);
		return;
	}
	cs_json_obj(j, key);
	cs_json_pages(j, "words", total);
	cs_json_arr(j, "bins");
	for (unsigned b = 0; b < CS_FIELD_BINS; b++)
		if (fields[b] > 0)
			field_bin(j, b, fields[b], total);
	cs_json_end_arr(j);
	cs_json_end_obj(j);
}

void cs_json_site_amp(cs_json_t *j, const cs_site_t *s, uint64_t page_size)
{
	cs_json_pages(j, "changed_bytes", s->changed_bytes);
	cs_json_pages(j, "noop_copied_pages", s->noop_copied);
	cs_json_pages(j, "compared_pages", s->compared);
	cs_json_num(j, "amplification", cs_site_amplification(s, page_size), 3);
	if (s->bucket)
		cs_json_null(j, "fields");
	else
		cs_json_fields(j, "fields", s->fields);
}
