/* SPDX-License-Identifier: MIT */
/* Changed words (format 1.4): changed bytes, no-op copies and COW amplification of one side. */
#ifndef CS_AMP_H
#define CS_AMP_H

#include <stdbool.h>
#include <stdint.h>
#include "cowscope/trace_format.h"
#include "allocs.h"
#include "pageset.h"

struct cs_snap;

/*
 * One side's changed-word figures (enum cs_diff_side: child-copied or parent-unshared
 * pages) over a process or a range of it, from one snapshot's CS_REC_DIFF, WORDS and
 * NOOP/UNKNOWN sets, taken within the side's pages (the child's copied set, the
 * parent-unshared set). known is false without a CS_REC_DIFF of that side (a trace
 * before 1.4, COWSCOPE_DIFF=off, a backend without a written set): every figure is
 * then unknown (null), never 0. With stride > 1 (one page in k compared, over the
 * shim's budget) changed_bytes, noop_pages and comparable are estimates scaled from
 * the compared pages to the comparable ones; amplification is their ratio either way.
 */
typedef struct cs_amp {
	bool known;
	bool estimated;        /* stride > 1 */
	bool capped;           /* WORDS entries past the memory cap: figures from the summary */
	uint32_t stride;       /* as the shim wrote it */
	int64_t compared;      /* pages compared (not scaled): changed_pages + no-op ones */
	int64_t changed_pages; /* of them, with at least one changed word */
	int64_t changed_words; /* over those (not scaled) */
	double comparable;     /* compared, scaled to the comparable pages when estimated */
	double changed_bytes;  /* 8 × changed words, scaled when estimated */
	double noop_pages;     /* compared pages without a changed word, scaled when estimated */
	int64_t unknown;       /* pages of the side not comparable */
	int64_t unknown_why[CS_DIFFW_COUNT]; /* of them by enum cs_diff_why - 1 (CS_UNKNOWN
					      * per mapping: the trace says why per snapshot) */
	double amplification; /* comparable bytes ÷ changed bytes; NaN if nothing compared or
			       * nothing changed (then infinite: "no net change") */
} cs_amp_t;

/* Set every figure of a to unknown. */
void cs_amp_init(cs_amp_t *a);

/*
 * The figures of one side of snapshot z within pages [lo, hi) of `base` (the side's
 * pages as the analyzer knows them: child-copied, parent-unshared, or S when the
 * backend cannot split), for a process whose pages are page_size bytes. The reasons
 * of the pages not comparable come from z's CS_REC_DIFF for the whole process only
 * (whole: true; the pages outside base are taken off "absent" first, then "changed",
 * "gone", "no view"). Returns 0 or -ENOMEM. Cost: O(WORDS entries × log runs).
 */
int cs_amp_compute(cs_amp_t *a, const struct cs_snap *z, int side, const cs_pageset_t *base,
		   cs_prange_t r, uint64_t page_size, bool whole);

/* Sums of sides over children (totals, bill groups, diffs). */
typedef struct cs_ampsum {
	size_t known;            /* children whose side was compared */
	size_t unknown_children; /* measured children whose side was not */
	bool estimated;          /* some child's figures are estimates */
	double comparable, changed_bytes, noop_pages, comparable_bytes;
	int64_t compared, unknown;
	int64_t unknown_why[CS_DIFFW_COUNT];
	double amplification; /* of the sums (cs_ampsum_finish); NaN as in cs_amp_t */
} cs_ampsum_t;

/*
 * Sum sides in steps: init (nothing known), add each measured child's side (pages of
 * page_size bytes; a side not compared counts in unknown_children), finish (the
 * amplification of the sums, not a sum of amplifications). O(1) each.
 */
void cs_ampsum_init(cs_ampsum_t *s);
void cs_ampsum_add(cs_ampsum_t *s, const cs_amp_t *a, uint64_t page_size);
void cs_ampsum_finish(cs_ampsum_t *s);

/* The field view's bin of a byte offset within an allocation (CS_FIELD_BINS in allocs.h). */
unsigned cs_field_bin(uint64_t offset);

/* The byte offsets [*lo, *hi] of a bin (*hi UINT64_MAX for the last one). */
void cs_field_range(unsigned bin, uint64_t *lo, uint64_t *hi);

/* The field views of n sites summed into out[CS_FIELD_BINS] (NaN: some site's is unknown). */
void cs_fields_sum(const cs_site_t *v, size_t n, double *out);

/* The words of a field view (its bins summed; NaN if unknown). */
double cs_fields_total(const double *fields);

/* A site's amplification: its compared pages × page_size ÷ its changed bytes; NaN if none. */
double cs_site_amplification(const cs_site_t *s, uint64_t page_size);

/* Name of an enum cs_diff_why as the report prints it ("no_view", "gone", "parent_wrote",
 * "absent"); "other" otherwise. */
const char *cs_diff_why_name(int why);

#endif
