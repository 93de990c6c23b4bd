/* SPDX-License-Identifier: MIT */
/* Per-thread event buffers: allocation events are packed in memory and written as EVPACK records. */
#ifndef CS_EVBUF_H
#define CS_EVBUF_H

#include <stddef.h>
#include <stdint.h>
#include "cowscope/trace_format.h"
#include "evpack.h"
#include "shimmem.h"

#define CS_EVBUF_BYTES (64u * 1024u)

/*
 * Carve the buffers, the stack buffer, the live-block table and the zstd
 * context out of m; compaction on unless exact mode or COWSCOPE_COMPACT=off.
 * 0 or -errno. init-only (no pthread key: see claim in evbuf.c).
 */
int cs_evbuf_init(const cs_shimmem_t *m);

/*
 * Record one event. Malloc-kind events (CS_ALLOC_MALLOC, CS_FREE_FREE) are
 * packed into the calling thread's open CS_REC_EVPACK (a thread takes a free
 * buffer on first use, or the buffer of a thread that ended); a full buffer is
 * written with one write(2), zstd-compressed when smaller. With compaction on
 * (sampling mode), an allocation enters the live-block table and a free is
 * written only if its block was there; past the write budget a full buffer is
 * dropped and the next sync point writes a CS_REC_LIVESET instead. mmap-kind
 * events are written at once as their own EVPACK. No buffer free: the event
 * is dropped and counted. hook-safe: no allocation; a buffer's busy flag and
 * the compaction lock are held only while appending, flushing or checkpointing.
 */
void cs_ev_alloc(const cs_pev_t *ev); /* what CS_PEV_ALLOC; len = bytes requested */
void cs_ev_free(const cs_pev_t *ev);  /* what CS_PEV_FREE; len = munmap/mremap bytes, 0 */

/*
 * Append a whole record (a CS_REC_STACK) to the shared stack buffer, written
 * before any event buffer (and never dropped). hook-safe.
 */
void cs_ev_record(const void *rec, size_t n);

/*
 * The sync point (a snapshot, a fork, the end): write the stack buffer, then,
 * if compaction dropped events since the last one, a CS_REC_LIVESET of the
 * live blocks in place of every buffered malloc-kind event; else every
 * thread's buffer. A buffer whose owner is appending at that moment (without
 * compaction) is waited for briefly, then skipped. hook-safe.
 */
void cs_evbuf_flush_all(void);

/*
 * In a fork child: drop the parent's buffered events and disown every other
 * buffer without writing it (a new epoch); keep the live-block table, reset
 * its lock and the write budget. fork-child-safe.
 */
void cs_evbuf_reset_in_child(void);

#endif
