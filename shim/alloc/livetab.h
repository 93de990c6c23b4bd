/* SPDX-License-Identifier: MIT */
/* The live sampled malloc blocks (ptr -> seq, size, stack): what a LIVESET checkpoint writes. */
#ifndef CS_LIVETAB_H
#define CS_LIVETAB_H

#include <stddef.h>
#include <stdint.h>

/* One live block. */
typedef struct cs_live {
	uint64_t ptr;
	uint64_t seq;
	uint64_t size;
	uint32_t stack;
	uint32_t pad;
} cs_live_t;

/*
 * A dense array of entries (touched as it fills) under an open-addressing
 * index of u32 slots (linear probing, backward-shift deletion) that doubles
 * as the entries grow, so the pages touched follow the live set, not the
 * capacity. Not thread-safe: the caller serializes (evbuf.c's lock).
 */
typedef struct cs_livetab {
	cs_live_t *ent;
	uint32_t *slot;
	uint32_t cap;    /* entries the memory holds */
	uint32_t count;  /* live entries: ent[0, count) */
	uint32_t nslots; /* slots in use by the index (a power of two) */
	uint32_t max_slots;
} cs_livetab_t;

/* Bytes per entry of capacity (entry + two index slots). */
#define CS_LIVETAB_BYTES_PER 40u

/*
 * Lay a table over mem (bytes, zero-filled memory reserved MAP_NORESERVE).
 * 0, or -ENOMEM when it holds fewer than 64 entries. init-only.
 */
int cs_livetab_init(cs_livetab_t *t, void *mem, size_t bytes);

/*
 * Add ptr (or replace the entry of a ptr already held: a free the shim never
 * saw). 0, or -ENOSPC when the table is full (nothing changed). hook-safe:
 * no allocation; growing rebuilds the index (amortized O(1)).
 */
int cs_livetab_put(cs_livetab_t *t, const cs_live_t *e);

/* Remove ptr: 1 if it was held, 0 if not. hook-safe. */
int cs_livetab_take(cs_livetab_t *t, uint64_t ptr);

/* The entry of ptr, or NULL. hook-safe. */
const cs_live_t *cs_livetab_get(const cs_livetab_t *t, uint64_t ptr);

#endif
