/* SPDX-License-Identifier: MIT */
/* Comparing two sides (runs, or phases of runs): totals, children paired by fork order, site deltas. */
#ifndef CS_DIFF_H
#define CS_DIFF_H

#include <stdbool.h>
#include <stddef.h>
#include "figures.h"
#include "model.h"
#include "totals.h"

/* One side of a diff: the forked children of a run, or of one of its phases. */
typedef struct cs_side {
	const cs_model_t *m;
	long phase;        /* index in m->phases; -1: every child of the run */
	const char *label; /* how the text names the side (the caller's string) */
	/* computed by cs_diff_compute */
	size_t *kids; /* indices in m->procs: children (gen 0) by start time, then pid */
	size_t nkids;
	cs_totals_t tot; /* summed over kids: their working figures */
	cs_endtot_t end; /* the same after the kids' teardowns (docs/working-figures.md) */
	/* the memory bill: each parent's shared set and parent-unshared pages once (the largest
	 * any of its children saw, never a sum); CS_UNKNOWN without a measured child */
	int64_t shared_once, punshared_once;
	double shared_once_bytes, punshared_once_bytes;
	bool split;       /* every measured child knows child-copied apart from parent-unshared */
	cs_site_t *sites; /* the kids' sites merged by key (cs_sites_merge, bytes not summed) */
	size_t nsites;
	cs_wstack_t *writers; /* format 1.5: the kids' writers merged by key (cs_writers_merge) */
	size_t nwriters;
	bool has_writers;  /* some kid's writers were joined */
	cs_ltab_t *labels; /* format 1.6: the kids' label tables summed, by kind */
	size_t nlabels;
} cs_side_t;

/* A site on either side, matched by its symbolized key. */
typedef struct cs_sitediff {
	const cs_site_t *before; /* NULL: only after has it */
	const cs_site_t *after;  /* NULL: only before has it */
	double delta;            /* the diff's metric, after − before, in pages (absent = 0) */
} cs_sitediff_t;

/* A writer on either side, matched by its symbolized key (format 1.5). */
typedef struct cs_writerdiff {
	const cs_wstack_t *before; /* NULL: only after has it */
	const cs_wstack_t *after;  /* NULL: only before has it */
	double delta;              /* child-copied pages, after − before (absent = 0) */
} cs_writerdiff_t;

typedef struct cs_diff {
	cs_side_t before;
	cs_side_t after;
	bool split;        /* both sides split: the metric is child-copied, else unshared */
	double pct_before; /* metric / shared at fork, percent; NaN without measured children */
	double pct_after;
	double change; /* (pct_after − pct_before) / pct_before, percent; NaN if undefined */
	size_t npairs; /* max(before.nkids, after.nkids): i-th child paired with i-th */
	bool amp;      /* either side's run compared pages (format 1.4): changed words reported */
	cs_sitediff_t *sites; /* every key of either side, largest |delta| first */
	size_t nsites;
	bool writers;            /* either side has writers (format 1.5, writers on) */
	cs_writerdiff_t *wdiffs; /* every writer key of either side, largest |delta| first */
	size_t nwdiffs;
	cs_ldiff_t *labels; /* format 1.6: per kind, every label of either side by |delta| */
	size_t nlabels;
} cs_diff_t;

/*
 * Compare two sides. The caller sets m, phase and label of each (both may be
 * the same model); this fills the rest: the sides' children, totals and
 * merged sites, the percentages and their relative change, and the site
 * deltas. Returns 0 or -ENOMEM. Cost: O(processes + sites log sites).
 */
int cs_diff_compute(cs_diff_t *df);

/* Free what cs_diff_compute allocated (not the models). */
void cs_diff_free(cs_diff_t *df);

/*
 * Relative change from percentage a to b in percent: (b − a) / a × 100; NaN
 * when a is 0 or either is unknown (NaN).
 */
double cs_diff_change(double a, double b);

/* The metric (child-copied or unshared pages) of a site under this diff, 0 if unknown. */
double cs_diff_site_metric(const cs_diff_t *df, const cs_site_t *s);

#endif
