/* SPDX-License-Identifier: MIT */
/* Loading the allocation records of format 1.1 into a process (internal to the model). */
#ifndef CS_LOAD_ALLOC_H
#define CS_LOAD_ALLOC_H

#include "allocs.h"
#include "diag.h"
#include "trace_read.h"

/*
 * Read record r of trace t, one of CS_REC_SAMPLING .. CS_REC_FORK_POINT, into
 * a: every count, length, kind and address range is checked against the
 * record. Returns 0, -EBADMSG with d naming file and record, or -ENOMEM.
 * Cost: linear in the record.
 */
int cs_load_alloc_rec(cs_allocinfo_t *a, const cs_trace_t *t, const cs_rec_t *r, cs_diag_t *d);

/*
 * After the file is read: sort the events by seq and the stacks by id,
 * dropping repeated stack ids. O(n log n).
 */
void cs_allocinfo_finish(cs_allocinfo_t *a);

/* Free what a holds; it becomes empty. */
void cs_allocinfo_free(cs_allocinfo_t *a);

#endif
