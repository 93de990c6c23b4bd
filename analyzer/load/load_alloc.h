/* SPDX-License-Identifier: MIT */
/* Loading the allocation records of formats 1.1 and 1.7 into a process (internal to the model). */
#ifndef CS_LOAD_ALLOC_H
#define CS_LOAD_ALLOC_H

#include "allocs.h"
#include "diag.h"
#include "loader.h"
#include "trace_read.h"

/*
 * The record table's handlers (cs_rec_fn) of CS_REC_SAMPLING .. CS_REC_FORK_POINT,
 * reading into l->p->alloc: every count, length, kind and address range past
 * the fixed part is checked against the record. Each returns 0, -EBADMSG with
 * l->d naming file and record, or -ENOMEM. Cost: linear in the record.
 */
int cs_load_sampling(cs_loader_t *l, const cs_rec_t *r, const cs_fixed_t *f, cs_cur_t *c);
/* CS_REC_MODULE: segments, build-id and path. */
int cs_load_module(cs_loader_t *l, const cs_rec_t *r, const cs_fixed_t *f, cs_cur_t *c);
/* CS_REC_STACK: an interned stack. */
int cs_load_stack(cs_loader_t *l, const cs_rec_t *r, const cs_fixed_t *f, cs_cur_t *c);
/* CS_REC_ALLOCS: sampled allocations (kinds of a newer minor skipped). */
int cs_load_allocs(cs_loader_t *l, const cs_rec_t *r, const cs_fixed_t *f, cs_cur_t *c);
/* CS_REC_FREES: frees (kinds of a newer minor skipped). */
int cs_load_frees(cs_loader_t *l, const cs_rec_t *r, const cs_fixed_t *f, cs_cur_t *c);
/*
 * CS_REC_EVPACK (1.7): a thread's packed allocations and frees, raw or one zstd
 * frame of exactly raw_bytes (<= 16 MiB), each event checked as ALLOCS and
 * FREES check theirs; a malformed packing or a count that does not match is
 * refused. Weights are computed by cs_allocinfo_finish. Past the memory cap the
 * events are counted, not kept.
 */
int cs_load_evpack(cs_loader_t *l, const cs_rec_t *r, const cs_fixed_t *f, cs_cur_t *c);
/*
 * CS_REC_LIVESET (1.7): a checkpoint, appended to ckpts; its entries (malloc
 * blocks only) become ALLOC events with in_ckpt set and ckpt its number.
 */
int cs_load_liveset(cs_loader_t *l, const cs_rec_t *r, const cs_fixed_t *f, cs_cur_t *c);
/* CS_REC_FORK_POINT: the first one counts. */
int cs_load_fork_point(cs_loader_t *l, const cs_rec_t *r, const cs_fixed_t *f, cs_cur_t *c);

/*
 * After the file is read: weigh the 1.7 events (an mmap region or exact mode:
 * its size; else cs_weight_bytes with the SAMPLING mean), sort the events by
 * seq and the stacks by id, dropping repeated stack ids. O(n log n).
 */
void cs_allocinfo_finish(cs_allocinfo_t *a);

/* Free what a holds; it becomes empty. */
void cs_allocinfo_free(cs_allocinfo_t *a);

#endif
