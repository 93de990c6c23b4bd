/* SPDX-License-Identifier: MIT */
/* The COW math for one process: shared set, copies, unsharing, new pages, timeline, per mapping. */
#ifndef CS_FIGURES_H
#define CS_FIGURES_H

#include "diag.h"
#include "model.h"

/* The process's fork snapshot (its first complete CS_SNAP_FORK), or NULL. */
const cs_snap_t *cs_fork_snap(const cs_proc_t *p);

/*
 * The snapshot the figures come from (Z): the latest complete non-FORK
 * snapshot of the process and samples files, not older than the fork
 * snapshot. NULL if none.
 */
const cs_snap_t *cs_final_snap(const cs_proc_t *p);

/*
 * Compute p->fig from p's snapshots (sets normalized, snapshots sorted by
 * time): for a child, S from its fork snapshot and, per backend, child-copied,
 * parent-unshared, unshared and child-new against every later snapshot (the
 * timeline) and the final one (the figures, the per-mapping table, and the
 * final sets kept in p->fig for the allocation sites). A root,
 * or a child without a fork snapshot, keeps unknown figures except its minor
 * faults. Returns 0 or -ENOMEM (d says so). Cost: linear in the runs of the
 * sets, times the number of snapshots.
 */
int cs_figures_compute(cs_proc_t *p, cs_diag_t *d);

/* Set every figure of f to unknown. */
void cs_figures_init(cs_figures_t *f);

#endif
