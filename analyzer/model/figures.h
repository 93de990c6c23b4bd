/* SPDX-License-Identifier: MIT */
/* The COW math for one process: shared set, copies, unsharing, new pages, timeline, per mapping. */
#ifndef CS_FIGURES_H
#define CS_FIGURES_H

#include "diag.h"
#include "model.h"

/* The process's fork snapshot (its first complete CS_SNAP_FORK), or NULL. */
const cs_snap_t *cs_fork_snap(const cs_proc_t *p);

/*
 * The final snapshot (Z): the latest complete snapshot of the process and
 * samples files that is neither a FORK nor an UNMAP one, not older than the
 * fork snapshot; samples taken after the process's own exit, _exit or exec
 * snapshot do not count (its memory is being torn down). NULL if none.
 */
const cs_snap_t *cs_final_snap(const cs_proc_t *p);

/*
 * The working snapshot (W), where the working figures come from: the last
 * snapshot before the process began to exit. Its first CS_SNAP_WORK snapshot
 * (exit() before the atexit handlers, or cowscope_exiting()) if it has one,
 * else Z: the _exit or exec snapshot (no teardown follows those), the last
 * sample or API snapshot of a process killed by a signal, or the exit
 * snapshot. NULL if none. docs/working-figures.md.
 */
const cs_snap_t *cs_work_snap(const cs_proc_t *p);

/*
 * Whether snapshot s is blind: its sets were cut short (CS_SNAPF_TRUNCATED)
 * and not one tracked mapping in it was scanned (every private one flagged
 * CS_MAPF_SKIPPED): its page state could not be read (pagemap unreadable),
 * so it says nothing, not "0 pages". O(mappings).
 */
bool cs_snap_blind(const cs_snap_t *s);

/* Whether some snapshot of p is blind, or p has a CS_NOTE_BLIND note. */
bool cs_proc_blind(const cs_proc_t *p);

/*
 * Name of a snapshot reason as the report prints it: "fork", "exit", "_exit",
 * "exec", "api", "sample", "mark", "work", "unmap"; "unknown" otherwise.
 */
const char *cs_snap_reason_name(int reason);

/*
 * Compute p->fig from p's snapshots (sets normalized, snapshots sorted by
 * time): for a child, S from its fork snapshot and, per backend, child-copied,
 * parent-unshared, unshared and child-new against every later candidate
 * snapshot (the timeline and the peak), the working one W (the figures, the
 * per-mapping table, and the sets kept in p->fig for the allocation sites),
 * and Z when it is later than W (the at-end figures). The copies, parent
 * writes and unshared pages that CS_SNAP_UNMAP snapshots taken before W saw in
 * ranges about to be unmapped are added to W's sets (the pages are gone
 * afterwards, but the child held them). A root, or a child without a fork
 * snapshot (or a blind one), keeps unknown figures except its minor faults;
 * blind snapshots are never candidates, and a blind process gets a
 * CS_NOTE_BLIND note if none says so. Returns 0 or
 * -ENOMEM (d says so). Cost: linear in the runs of the sets, times the number
 * of snapshots.
 */
int cs_figures_compute(cs_proc_t *p, cs_diag_t *d);

/* At-end sums over children: each child's at-end figures, its working ones when it has none. */
typedef struct cs_endtot {
	size_t measured;      /* children with a known shared-at-fork set */
	size_t later;         /* of them, children with a snapshot after their working one */
	int64_t child_copied; /* CS_UNKNOWN if some measured child lacks it */
	int64_t parent_unshared;
	int64_t unshared;
	int64_t child_new;
	double shared_bytes, copied_bytes, punshared_bytes, unshared_bytes, new_bytes;
	double share_retained; /* NaN when unknown */
	cs_ampsum_t amp;       /* format 1.4: the child side's changed words */
} cs_endtot_t;

/* Start, add a child (ignored unless it has a shared-at-fork set), finish (share retained). */
void cs_endtot_init(cs_endtot_t *t);
void cs_endtot_add(cs_endtot_t *t, const cs_proc_t *p);
void cs_endtot_finish(cs_endtot_t *t);

/*
 * Pages of sp whose frame number differs between snapshots f and z (both
 * known: pfn backend) into out. Returns 0 or -ENOMEM. Cost: O(pages of f's
 * frame records x log(runs)).
 */
int cs_pfn_changed(const cs_snap_t *f, const cs_snap_t *z, const cs_pageset_t *sp,
		   cs_pageset_t *out);

/* Set every figure of f to unknown. */
void cs_figures_init(cs_figures_t *f);

#endif
