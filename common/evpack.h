/* SPDX-License-Identifier: MIT */
/* Packing and unpacking allocation events (format 1.7 CS_REC_EVPACK and CS_REC_LIVESET). */
#ifndef CS_EVPACK_H
#define CS_EVPACK_H

#include <stddef.h>
#include <stdint.h>
#include "cowscope/trace_format.h"

/* Bytes one packed event takes at most: tag, three 10-byte varints, a 5-byte stack id. */
#define CS_PEV_MAX_BYTES 36u

/* One event, unpacked. what: CS_PEV_ALLOC or CS_PEV_FREE; len: ALLOC size, FREE len. */
typedef struct cs_pev {
	uint64_t seq;
	uint64_t ptr;
	uint64_t len;
	uint32_t stack; /* ALLOC only */
	uint8_t what;
	uint8_t kind;
} cs_pev_t;

/* Packing state: the previous event's seq and ptr. */
typedef struct cs_evenc {
	uint64_t seq;
	uint64_t ptr;
} cs_evenc_t;

/* Start packing a record whose header seq is seq0. hook-safe. */
void cs_evenc_start(cs_evenc_t *e, uint64_t seq0);

/*
 * Pack ev into out (room for CS_PEV_MAX_BYTES) after the events packed so far
 * with e. Returns the bytes written. hook-safe: no allocation, ~20 instructions
 * a field.
 */
size_t cs_evenc_put(cs_evenc_t *e, uint8_t *out, const cs_pev_t *ev);

/* Unpacking state over a buffer of packed events. */
typedef struct cs_evdec {
	const uint8_t *p;
	const uint8_t *end;
	uint64_t seq;
	uint64_t ptr;
} cs_evdec_t;

/* Start unpacking n bytes at buf, packed after header seq seq0. */
void cs_evdec_start(cs_evdec_t *d, const void *buf, size_t n, uint64_t seq0);

/*
 * The next event into ev: 1, or 0 at the end of the buffer, or -EINVAL when
 * the bytes are not packed events (a varint runs past the end or past 10
 * bytes, a tag has reserved bits or what 0/3). Kinds are not checked: a reader
 * skips kinds it does not know.
 */
int cs_evdec_next(cs_evdec_t *d, cs_pev_t *ev);

#endif
