/* SPDX-License-Identifier: MIT */
/* Building trace records in a caller-supplied buffer (pure; shared with the analyzer's tests). */
#ifndef CS_RECORD_H
#define CS_RECORD_H

#include <stddef.h>
#include <stdint.h>
#include "cowscope/trace_format.h"

typedef struct cs_recbuf {
	uint8_t *buf;
	uint32_t cap; /* bytes available in buf */
	uint32_t len; /* bytes used by the record so far */
} cs_recbuf_t;

/*
 * Start a record of `type` whose fixed part (header included) is `fixed`
 * bytes, zeroed. Returns a pointer to the fixed part, or NULL if it does not
 * fit. hook-safe, fork-child-safe.
 */
void *cs_rec_begin(cs_recbuf_t *b, uint16_t type, size_t fixed);

/* Append n bytes. Returns 0 or -ENOSPC (the record is left as it was). hook-safe. */
int cs_rec_put(cs_recbuf_t *b, const void *p, size_t n);

/* Append a u16-length-prefixed string (cut at 65535 bytes). 0 or -ENOSPC. hook-safe. */
int cs_rec_put_str(cs_recbuf_t *b, const char *s, size_t n);

/* Pad to 8, store the size in the header; returns the record size. hook-safe. */
uint32_t cs_rec_finish(cs_recbuf_t *b);

/* Bytes still free for payload, keeping room for padding. hook-safe. */
size_t cs_rec_room(const cs_recbuf_t *b);

/* Fill a file header. hook-safe. */
void cs_file_hdr_init(cs_file_hdr_t *h, uint32_t kind, uint32_t pid, uint32_t gen);

/* Names of counters, in CS_COUNTERS order. */
extern const char *const cs_counter_names[CS_CNT__COUNT];

#endif
