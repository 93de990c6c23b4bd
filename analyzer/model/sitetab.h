/* SPDX-License-Identifier: MIT */
/* Tables of allocation sites: merged by key, sorted for the report, gathered over a run. */
#ifndef CS_SITETAB_H
#define CS_SITETAB_H

#include <stdbool.h>
#include <stddef.h>
#include "model.h"

/*
 * Merge the sites of in that have the same key: page figures are summed
 * (NaN stays NaN); estimated bytes and samples are summed when sum_bytes (one
 * child's different stacks that symbolize alike), else the largest is kept
 * (siblings inheriting the same allocations). *out (malloc'd) is sorted with
 * cs_sites_sort. Returns 0 or -ENOMEM. O(n log n).
 */
int cs_sites_merge(const cs_site_t *in, size_t n, bool sum_bytes, cs_site_t **out, size_t *nout);

/*
 * Sort for the report: child-copied pages descending, then parent-unshared,
 * unshared, estimated bytes, and the key (unknown figures last).
 */
void cs_sites_sort(cs_site_t *v, size_t n);

/*
 * The sites of every child of the run merged by key, as cs_sites_merge with
 * sum_bytes false. Returns 0 or -ENOMEM.
 */
int cs_sites_of_run(const cs_model_t *m, cs_site_t **out, size_t *nout);

/* Append the sites of p to *v (a vector of *n used, *cap allocated). Returns 0 or -ENOMEM. */
int cs_sites_append(cs_site_t **v, size_t *n, size_t *cap, const cs_proc_t *p);

/* Free the sibling groups of m. */
void cs_groups_free(cs_model_t *m);

/*
 * The writers of the processes ps[0..n) merged by key (pages and owner sites
 * summed), sorted as cs_writers_sort sorts. Returns 0 or -ENOMEM.
 */
int cs_writers_merge(const cs_proc_t *const *ps, size_t n, cs_wstack_t **out, size_t *nout);

/* Sort writers for the report: pages descending, then key. */
void cs_writers_sort(cs_wstack_t *v, size_t n);

#endif
