/* SPDX-License-Identifier: MIT */
/* Loading the changed-word records of format 1.4 into a process's snapshots (internal to load/). */
#ifndef CS_LOAD_DIFF_H
#define CS_LOAD_DIFF_H

#include "diag.h"
#include "loader.h"
#include "model.h"
#include "trace_read.h"

/*
 * CS_REC_DIFF: one side's summary in the open snapshot of its seq (a record of a
 * cut-short snapshot is skipped). -EBADMSG ("bad diff side", "bad diff word size",
 * "bad diff stride") naming file, record and offset; 0 otherwise. O(1).
 */
int cs_load_diff(cs_loader_t *l, const cs_rec_t *r, const cs_fixed_t *f, cs_cur_t *c);

/*
 * CS_REC_WORDS: pages and bitmaps of changed words. count × (8 + 8 × bitmap_words) must
 * fit the record ("bad words count") and bitmap_words must be the process's page size /
 * 8 / 64 ("bad words bitmap size", also without a PROC record before it). Entries past
 * the process's cap (p->max_word_pages) are counted in the side's `capped`, not kept.
 * Returns 0, -EBADMSG or -ENOMEM. Cost: linear in the record.
 */
int cs_load_words(cs_loader_t *l, const cs_rec_t *r, const cs_fixed_t *f, cs_cur_t *c);

/* After the file is read: each side's pages sorted (with their bitmaps). O(n log n). */
void cs_load_diff_finish(cs_proc_t *p);

#endif
