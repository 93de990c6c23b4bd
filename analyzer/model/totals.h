/* SPDX-License-Identifier: MIT */
/* Totals over children, the memory bill of a run, and its sampling and backend figures. */
#ifndef CS_TOTALS_H
#define CS_TOTALS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "model.h"

/*
 * Sums over the children, per child (each child's own figures added up); a sum
 * is CS_UNKNOWN if a measured child lacks that figure. A child is measured when
 * it has figures: a fork snapshot and a snapshot after it (a sample or its own).
 */
typedef struct cs_totals {
	size_t children;     /* processes with role child */
	size_t measured;     /* children with figures */
	size_t no_fork_snap; /* children without a fork snapshot: no figures */
	size_t no_sample;    /* children with a fork snapshot and nothing after it: ended before
			      * any sample, no figures */
	size_t few_samples; /* children with fewer than 2 snapshots after the fork (cs_few_samples) */
	int64_t shared_at_fork;
	int64_t child_copied;
	int64_t parent_unshared;
	int64_t unshared;
	int64_t child_new;
	double shared_bytes, copied_bytes, punshared_bytes, unshared_bytes, new_bytes;
	double share_retained;      /* NaN when unknown */
	int64_t page_size;          /* common to the measured children, else CS_UNKNOWN */
	cs_ampsum_t amp[CS_NSIDES]; /* format 1.4: changed words summed, by enum cs_diff_side */
} cs_totals_t;

/* Compute the totals of a loaded model: over every process with role child. */
void cs_totals_compute(const cs_model_t *m, cs_totals_t *t);

/*
 * One parent's children as a memory bill: the parent's shared memory counted
 * once, the children's private copies summed (docs/reading-the-report.md).
 */
typedef struct cs_bill_group {
	long parent; /* index in the model's procs, -1 if the parent left no trace */
	int64_t ppid;
	size_t first;            /* its children: the bill's kids[first .. first + n) */
	uint8_t backend;         /* the backend of its first child with figures */
	cs_totals_t t;           /* the per-child sums over its children */
	int64_t shared_at_fork;  /* the parent's shared set as its children saw it: the largest
				 * of their shared-at-fork (never a sum) */
	int64_t parent_unshared; /* the largest of their parent-unshared (one parent write costs
				  * one page, however many children shared it) */
	double shared_bytes, punshared_bytes;
} cs_bill_group_t;

/* The memory bill of a run: one group per parent that forked children, and the grand total. */
typedef struct cs_bill {
	cs_bill_group_t *groups; /* by parent, in the model's order */
	size_t ngroups;
	size_t *kids;            /* indexes of the children in the model, grouped */
	cs_totals_t t;           /* per-child sums over all children (cs_totals_compute) */
	int64_t shared_at_fork;  /* summed over the groups: each parent's shared memory once */
	int64_t parent_unshared; /* summed over the groups */
	double shared_bytes, punshared_bytes;
} cs_bill_t;

/*
 * Compute the memory bill of a loaded model. Returns 0 or -ENOMEM (then b
 * holds nothing to free). Cost: O(n log n) in processes.
 */
int cs_bill_compute(const cs_model_t *m, cs_bill_t *b);

/*
 * The same over the n children of m at indexes kids[] (e.g. one side of a
 * diff); b->t sums those children only. Returns 0 or -ENOMEM.
 */
int cs_bill_of(const cs_model_t *m, const size_t *kids, size_t n, cs_bill_t *b);

/* Free what cs_bill_compute allocated. */
void cs_bill_free(cs_bill_t *b);

/*
 * The snapshots that give a child its figures over time: outside samples and
 * its own snapshots after its fork snapshot (0 without one).
 */
size_t cs_samples(const cs_proc_t *p);

/* A child with fewer than 2 of those: its figures rest on one point in time, or none. */
bool cs_few_samples(const cs_proc_t *p);

/*
 * The sampling interval achieved: the median time between two consecutive
 * outside samples of one child, over every child, in ms; NaN if no child was
 * sampled twice. *mean_ms (if not NULL) gets their mean, which shows what the
 * median hides when the budget held samples back for part of the run.
 */
double cs_achieved_interval_ms(const cs_model_t *m, double *mean_ms);

/*
 * The same in steps, over any set of children: init, add each child (counted;
 * its figures summed if it has a shared-at-fork set), finish (unknown sums
 * when none was measured; share retained).
 */
void cs_totals_init(cs_totals_t *t);
void cs_totals_add(cs_totals_t *t, const cs_proc_t *p);
void cs_totals_finish(cs_totals_t *t);

/*
 * The process whose backend stands for the run: the root if it recorded one,
 * else the first process that did. -1 if none.
 */
long cs_run_backend_proc(const cs_model_t *m);

#endif
