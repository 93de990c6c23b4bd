/* SPDX-License-Identifier: MIT */
/* Loading the records of one trace file into the model (internal to the model). */
#ifndef CS_LOAD_FILE_H
#define CS_LOAD_FILE_H

#include <stdbool.h>
#include "diag.h"
#include "model.h"
#include "trace_read.h"

/*
 * Read every record of an open process file (samples = false) or samples file
 * (samples = true) into p: identity, backend, snapshots (those without a
 * SNAP_END are dropped), forks, reaped children, end, counters, notes, shim
 * ranges, (format 1.1) sampling, modules, stacks, allocation events and the
 * fork point, (format 1.2) marks and (1.3) the allocator. Unknown record types and sets are
 * skipped. Sets p->truncated for a process file cut short. Returns 0,
 * -EBADMSG naming file and record in d, or -ENOMEM.
 */
int cs_load_proc_file(cs_proc_t *p, cs_trace_t *t, bool samples, cs_diag_t *d);

/*
 * Check record r of trace t against its type's row in the record table, the
 * one every reader uses (the loaders here, and `cowscope run`'s supervisor):
 * a type this analyzer does not know (a newer minor's) or one that does not
 * belong in t's file kind is skipped (0); a type newer than the file's own
 * minor version ("record type T is newer than the file's version 1.M") or a
 * record shorter than its type's fixed part ("record too short for its type")
 * is -EBADMSG with d saying "PATH: record N at offset O: WHAT". Else returns
 * 1, with the fixed part copied into *f and *c positioned after it. O(1).
 */
int cs_rec_admit(const cs_trace_t *t, const cs_rec_t *r, cs_fixed_t *f, cs_cur_t *c, cs_diag_t *d);

/* Read run.cst (an open CS_FILE_RUN trace) into run. Same returns. */
int cs_load_run_file(cs_runinfo_t *run, cs_trace_t *t, cs_diag_t *d);

/* Free the contents of a snapshot. */
void cs_snap_free(cs_snap_t *s);

/* Free the contents of a process. */
void cs_proc_free(cs_proc_t *p);

#endif
