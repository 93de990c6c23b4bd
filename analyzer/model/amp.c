/* SPDX-License-Identifier: MIT */
/* Changed bytes, no-op copies and amplification from a snapshot's changed-word records (1.4). */
#include <errno.h>
#include <math.h>
#include <string.h>
#include "amp.h"
#include "bits.h"
#include "model.h"

unsigned cs_field_bin(uint64_t offset)
{
	unsigned log2 = 63 - (unsigned)__builtin_clzll(offset | 1);

	if (offset < 8 * CS_FIELD_WORD_BINS)
		return (unsigned)(offset / 8);
	log2 = CS_FIELD_WORD_BINS + log2 - 8; /* 256 = 2^8 starts the ranges */
	return log2 < CS_FIELD_BINS ? log2 : CS_FIELD_BINS - 1;
}

void cs_field_range(unsigned bin, uint64_t *lo, uint64_t *hi)
{
	if (bin < CS_FIELD_WORD_BINS) {
		*lo = 8ull * bin;
		*hi = *lo + 7;
		return;
	}
	*lo = 256ull << (bin - CS_FIELD_WORD_BINS);
	*hi = bin + 1 < CS_FIELD_BINS ? (*lo << 1) - 1 : UINT64_MAX;
}

void cs_fields_sum(const cs_site_t *v, size_t n, double *out)
{
	for (size_t b = 0; b < CS_FIELD_BINS; b++)
		out[b] = n ? 0 : NAN;
	for (size_t i = 0; i < n; i++)
		for (size_t b = 0; b < CS_FIELD_BINS; b++)
			out[b] += v[i].fields[b];
}

double cs_fields_total(const double *fields)
{
	double t = 0;

	for (size_t b = 0; b < CS_FIELD_BINS; b++)
		t += fields[b];
	return t;
}

double cs_site_amplification(const cs_site_t *s, uint64_t page_size)
{
	if (!(s->compared > 0) || !(s->changed_bytes > 0))
		return NAN;
	return s->compared * (double)page_size / s->changed_bytes;
}

void cs_amp_init(cs_amp_t *a)
{
	memset(a, 0, sizeof(*a));
	a->compared = a->changed_pages = a->changed_words = a->unknown = CS_UNKNOWN;
	for (size_t i = 0; i < CS_DIFFW_COUNT; i++)
		a->unknown_why[i] = CS_UNKNOWN;
	a->comparable = a->changed_bytes = a->noop_pages = a->amplification = NAN;
}

const char *cs_diff_why_name(int why)
{
	static const char *const names[] = {
		[CS_DIFFW_NO_VIEW] = "no_view",
		[CS_DIFFW_GONE] = "gone",
		[CS_DIFFW_CHANGED] = "parent_wrote",
		[CS_DIFFW_ABSENT] = "absent",
	};

	if (why <= 0 || why > CS_DIFFW_COUNT)
		return "other";
	return names[why];
}

/* |a ∩ b| within [r.lo, r.hi). */
static int64_t count_both(const cs_pageset_t *a, const cs_pageset_t *b, cs_prange_t r, int *err)
{
	cs_pageset_t x = { 0 };
	int64_t n = 0;

	*err = cs_pageset_intersect(&x, a, b);
	if (!*err)
		n = (int64_t)cs_pageset_count_within(&x, r.lo, r.hi);
	cs_pageset_free(&x);
	return n;
}

/* Changed pages and words of the WORDS entries within r and base. */
static void count_words(cs_amp_t *a, const cs_sdiff_t *sd, const cs_pageset_t *base, cs_prange_t r)
{
	size_t at = 0; /* entries are sorted by page (cs_load_diff_finish) */

	a->changed_pages = a->changed_words = 0;
	for (size_t i = 0; i < sd->nwords; i++) {
		const uint64_t *e = cs_sdiff_entry(sd, i);
		int64_t w;

		if (e[0] < r.lo || e[0] >= r.hi || !cs_pageset_contains_from(base, &at, e[0]))
			continue;
		w = (int64_t)cs_popcount_words(e + 1, sd->bitmap_words);
		a->changed_pages += w > 0;
		a->changed_words += w;
	}
}

/* The side's own counts (past the memory cap the WORDS entries are not all kept). */
static void from_summary(cs_amp_t *a, const cs_sdiff_t *sd)
{
	a->capped = true;
	a->changed_pages = (int64_t)sd->changed_pages;
	a->changed_words = (int64_t)sd->changed_words;
}

/* The reasons of the whole side, down to `unknown` pages: the excess off "absent" first. */
static void reasons(cs_amp_t *a, const cs_sdiff_t *sd)
{
	static const int order[] = { CS_DIFFW_ABSENT, CS_DIFFW_CHANGED, CS_DIFFW_GONE,
				     CS_DIFFW_NO_VIEW };
	int64_t total = 0, excess, take;

	for (size_t i = 0; i < CS_DIFFW_COUNT; i++) {
		a->unknown_why[i] = sd->unknown[i] > INT64_MAX / 8 ? 0 : (int64_t)sd->unknown[i];
		total += a->unknown_why[i];
	}
	excess = total - a->unknown;
	for (size_t i = 0; i < 4 && excess > 0; i++) {
		take = a->unknown_why[order[i] - 1] < excess ? a->unknown_why[order[i] - 1]
							     : excess;
		a->unknown_why[order[i] - 1] -= take;
		excess -= take;
	}
}

/* Comparable pages per compared one: the shim's sampling over its budget (1 if none). */
static double scale_of(const cs_sdiff_t *sd)
{
	uint64_t unk = 0;

	for (size_t i = 0; i < CS_DIFFW_COUNT; i++)
		unk += sd->unknown[i];
	if (sd->stride <= 1 || !sd->compared || sd->considered <= unk)
		return 1;
	return fmax(1.0, (double)(sd->considered - unk) / (double)sd->compared);
}

/* The scaled figures and the amplification. */
static void finish(cs_amp_t *a, const cs_sdiff_t *sd, uint64_t page_size)
{
	double k = scale_of(sd);

	a->estimated = sd->stride > 1;
	a->comparable = (double)a->compared * k;
	a->changed_bytes = 8.0 * (double)a->changed_words * k;
	a->noop_pages = (double)(a->compared - a->changed_pages) * k;
	if (a->compared > 0 && a->changed_words > 0)
		a->amplification =
			(double)a->compared * (double)page_size / (8.0 * (double)a->changed_words);
}

int cs_amp_compute(cs_amp_t *a, const struct cs_snap *z, int side, const cs_pageset_t *base,
		   cs_prange_t r, uint64_t page_size, bool whole)
{
	const cs_sdiff_t *sd = &z->diff[side];
	int noop_set = side == CS_DIFF_PARENT ? CS_SET_PNOOP : CS_SET_NOOP;
	int unk_set = side == CS_DIFF_PARENT ? CS_SET_PUNKNOWN : CS_SET_UNKNOWN;
	int64_t noop;
	int err = 0;

	cs_amp_init(a);
	if (!sd->has)
		return 0;
	if (sd->capped && !whole)
		return 0; /* past the memory cap: only the side's own totals are known */
	a->known = true;
	a->stride = sd->stride;
	noop = count_both(&z->sets[noop_set], base, r, &err);
	if (!err)
		a->unknown = count_both(&z->sets[unk_set], base, r, &err);
	if (err)
		return err;
	if (sd->capped)
		from_summary(a, sd);
	else
		count_words(a, sd, base, r);
	a->compared = noop + a->changed_pages;
	if (whole)
		reasons(a, sd);
	finish(a, sd, page_size);
	return 0;
}

void cs_ampsum_init(cs_ampsum_t *s)
{
	memset(s, 0, sizeof(*s));
	s->amplification = NAN;
}

void cs_ampsum_add(cs_ampsum_t *s, const cs_amp_t *a, uint64_t page_size)
{
	if (!a->known) {
		s->unknown_children++;
		return;
	}
	s->known++;
	s->estimated |= a->estimated;
	s->compared += a->compared;
	s->comparable += a->comparable;
	s->comparable_bytes += a->comparable * (double)page_size;
	s->changed_bytes += a->changed_bytes;
	s->noop_pages += a->noop_pages;
	s->unknown += a->unknown;
	for (size_t i = 0; i < CS_DIFFW_COUNT; i++)
		s->unknown_why[i] += a->unknown_why[i] > 0 ? a->unknown_why[i] : 0;
}

void cs_ampsum_finish(cs_ampsum_t *s)
{
	s->amplification = NAN;
	if (s->comparable > 0 && s->changed_bytes > 0)
		s->amplification = s->comparable_bytes / s->changed_bytes;
}
