/* SPDX-License-Identifier: MIT */
/* Loading the perf event records of format 1.5 (EVDEFS, COUNTS) into a process (internal to load/). */
#ifndef CS_LOAD_EVENTS_H
#define CS_LOAD_EVENTS_H

#include "diag.h"
#include "loader.h"
#include "trace_read.h"

/*
 * CS_REC_EVDEFS: the events of this process file. count × 32 bytes of
 * definitions and count names must fit the record ("bad event count", "bad event
 * name"); a second one replaces the first and drops the counts read before it.
 * 0, -EBADMSG or -ENOMEM. Linear in the record.
 */
int cs_load_evdefs(cs_loader_t *l, const cs_rec_t *r, const cs_fixed_t *f, cs_cur_t *c);

/*
 * CS_REC_COUNTS: one reading. Needs an EVDEFS before it with as many events
 * ("counts without event definitions", "counts for a different number of
 * events") and count × 24 bytes in the record ("bad counts count"). at must be
 * a known enum cs_count_at ("bad counts point"). 0, -EBADMSG or -ENOMEM.
 */
int cs_load_counts(cs_loader_t *l, const cs_rec_t *r, const cs_fixed_t *f, cs_cur_t *c);

#endif
