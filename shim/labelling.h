/* SPDX-License-Identifier: MIT */
/* Labelled ranges: the records of cowscope_label_ranges() (trace format 1.6), owned by labelling.c. */
#ifndef CS_LABELLING_H
#define CS_LABELLING_H

#include <stddef.h>

struct cowscope_range;

/*
 * Record one labelling of kind (include/cowscope.h, cowscope_label_ranges):
 * check every argument first (kind 1..64 bytes, no NULL array with a count,
 * no NULL name, every ranges[i].label < nnames: else -EINVAL and nothing is
 * written), then one CS_REC_LSET (the next set number of this process, from
 * 1; names cut to 1024 bytes; built in a scratch mapping of its own size, never
 * malloc) and CS_REC_LRANGES records of at most CS_REC_MAX_BYTES each, written
 * with writev straight from the caller's array (never copied). Returns 0,
 * -EINVAL, -E2BIG (kind and names need more than one record holds: nothing
 * written but a CS_NOTE_LABELS note), -ENOMEM (no scratch mapping: the same),
 * or -EIO (a write failed: the labelling is incomplete and a CS_NOTE_LABELS
 * note says after how many ranges). Cost: one pass over names and ranges, and
 * one write per 16 MiB of trace. Call with the recursion guard held, in a
 * normal thread context (not a hook, not a signal handler, not a fork child).
 */
int cs_labels_record(const char *kind, const char *const *names, size_t nnames,
		     const struct cowscope_range *ranges, size_t n);

/* In a fork child: labelling numbers start again from 1. fork-child-safe. */
void cs_labels_reset_in_child(void);

#endif
