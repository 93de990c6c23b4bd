/* SPDX-License-Identifier: MIT */
/* The page → label join (format 1.6): a child's copied pages charged to its parent's labels. */
#ifndef CS_LATTRIB_H
#define CS_LATTRIB_H

#include "diag.h"
#include "labels.h"
#include "model.h"

/*
 * Charge the pages of page set `set` (page numbers of page_size pages) to the ranges of
 * labelling s (its ranges sorted by address: cs_lset_sort), into column col of acc
 * (s->nnames × CS_NLCOLS, pages) and of *rest: a range covering c bytes of a page gives
 * c × weight / len bytes; a page's gifts past the page size are scaled down to it; each
 * label gets its gifts ÷ page size pages, the rest of the page goes to rest. Pages that no
 * range starts or ends in go in one step. Returns the pages charged. Cost: O(runs +
 * ranges + page-range overlaps); no allocation but the active list (-ENOMEM as 0 pages and
 * *err set).
 */
double cs_lattrib_charge(const cs_lset_t *s, const cs_pageset_t *set, uint32_t page_size, int col,
			 double *acc, double *rest, int *err);

/* Sort s's ranges by address (once: later calls return at once). O(n log n). */
void cs_lset_sort(cs_lset_t *s);

/*
 * For every measured child of m (a fork child with known figures) whose parent image
 * recorded labellings: per kind, the parent's latest complete labelling recorded before
 * the child's fork (the parent's FORK record for it, else the child's start), charged
 * with the child's child-copied (unshared when not split), parent-unshared and unshared
 * pages into p->labels.tabs (rows + rest = the child's figures); then each of m->groups
 * gets its members' tables summed by (kind, label). Returns 0 or -ENOMEM (d says so).
 * Cost: O(ranges log ranges) per labelling, plus the sweep per child.
 */
int cs_labels_compute(cs_model_t *m, cs_diag_t *d);

#endif
