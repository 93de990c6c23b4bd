/* SPDX-License-Identifier: MIT */
/* Loading the labelled ranges of format 1.6 (CS_REC_LSET, CS_REC_LRANGES) into a process. */
#ifndef CS_LOAD_LABELS_H
#define CS_LOAD_LABELS_H

#include "loader.h"

/*
 * The record table's handler of CS_REC_LSET: a labelling begins in l->p->labels (its
 * kind and names copied, each string checked against the record's length). A set number
 * the process already used replaces nothing: the second one is dropped with a note.
 * Returns 0, -EBADMSG (l->d names file and record) or -ENOMEM. Cost: linear in the record.
 */
int cs_load_lset(cs_loader_t *l, const cs_rec_t *r, const cs_fixed_t *f, cs_cur_t *c);

/*
 * The record table's handler of CS_REC_LRANGES: count ranges of a labelling appended to
 * its set (count checked against the record's length); a range whose label index is not
 * below the set's nnames, that is empty or that wraps past 2^64 is counted and dropped.
 * Ranges of a set never begun are ignored. Returns 0, -EBADMSG or -ENOMEM. Cost: linear.
 */
int cs_load_lranges(cs_loader_t *l, const cs_rec_t *r, const cs_fixed_t *f, cs_cur_t *c);

/*
 * Once p's process file is read: mark each labelling complete when its ranges add up to
 * its LSET's count, and note (CS_NOTE_LABELS) those cut short and those with dropped
 * ranges. Returns 0 or -ENOMEM.
 */
int cs_load_labels_finish(cs_proc_t *p);

#endif
