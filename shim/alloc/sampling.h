/* SPDX-License-Identifier: MIT */
/* Allocation sampling state, owned by alloc/sampling.c: on/off, the mean interval, sequence numbers, shim memory. */
#ifndef CS_SAMPLING_H
#define CS_SAMPLING_H

#include <stdint.h>
#include "shimmem.h"

/*
 * Written only by alloc/sampling.c; the hooks read it on every allocation
 * through cs_sampling(), a const view (one load, no call).
 */
#define CS_SAMPLING_ON 1u    /* `on`: allocation sampling is running */
#define CS_SAMPLING_EXACT 2u /* `on`: and records every allocation and free */

typedef struct cs_sampling {
	volatile uint8_t on;   /* 0, or CS_SAMPLING_ON with CS_SAMPLING_EXACT in exact mode */
	volatile uint8_t idle; /* off for good in this process: it will never start */
	uint64_t sample_bytes; /* mean sampling interval; 1: every allocation; 0: off */
	uint64_t seq;          /* next allocation event sequence number (atomic) */
	cs_shimmem_t mem;      /* allocation tracking's own memory (base NULL: none) */
} cs_sampling_t;

extern cs_sampling_t cs_sampling_st __attribute__((visibility("hidden")));

/* The const view. hook-safe. */
static inline const cs_sampling_t *cs_sampling(void)
{
	return &cs_sampling_st;
}

/*
 * Reserve the shim's memory for sampling every sample_bytes bytes (0: off),
 * or with modules set for the module records alone (writer sampling needs
 * them to name its stacks). Without memory, sampling stays off. init-only.
 */
void cs_sampling_reserve(uint64_t sample_bytes, int modules);

/*
 * Start recording: event buffers, stacks (libunwind warmed up, keeping depth
 * frames), the loaded modules (exe: the main program's path); with the memory
 * reserved for modules only, just the modules. Call with the
 * recursion guard held. init-only.
 */
void cs_sampling_start(uint32_t depth, const char *exe);

/* The next allocation event sequence number (one relaxed atomic add). hook-safe. */
uint64_t cs_sampling_next_seq(void);

/* The next sequence number without taking it (a fork child's fork point). fork-child-safe. */
uint64_t cs_sampling_seq_now(void);

#endif
