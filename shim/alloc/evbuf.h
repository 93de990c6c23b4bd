/* SPDX-License-Identifier: MIT */
/* Per-thread event buffers: allocation events are appended in memory and written in batches. */
#ifndef CS_EVBUF_H
#define CS_EVBUF_H

#include <stddef.h>
#include <stdint.h>
#include "cowscope/trace_format.h"
#include "shimmem.h"

#define CS_EVBUF_BYTES (64u * 1024u)

/* Carve the buffers out of m. 0 or -errno. init-only (no pthread key: see claim in evbuf.c). */
int cs_evbuf_init(const cs_shimmem_t *m);

/*
 * Append one event to the calling thread's buffer (a thread takes a free
 * buffer on first use, or the buffer of a thread that ended, flushed). A full
 * buffer is written with one write(2). No buffer free: the event is dropped
 * and counted. hook-safe: no allocation, no lock another thread can hold for
 * long (the buffer's busy flag is held only while appending or flushing).
 */
void cs_ev_alloc(const cs_alloc_ev_t *e);
void cs_ev_free(const cs_free_ev_t *e);

/* Append a whole record (a CS_REC_STACK) to the calling thread's buffer. hook-safe. */
void cs_ev_record(const void *rec, size_t n);

/*
 * Write out every thread's buffer. A buffer whose owner is appending at that
 * moment is waited for briefly, then skipped. hook-safe.
 */
void cs_evbuf_flush_all(void);

/* In a fork child: drop the parent's buffered events and disown every other buffer without writing it (a new epoch). fork-child-safe. */
void cs_evbuf_reset_in_child(void);

#endif
