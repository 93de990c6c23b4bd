/* SPDX-License-Identifier: MIT */
/* The trace's counters (CS_COUNTERS in trace_format.h): one relaxed atomic helper for every update. */
#ifndef CS_COUNTERS_H
#define CS_COUNTERS_H

#include <stdint.h>
#include "cowscope/trace_format.h"

/*
 * Add n to counter id (enum cs_counter_id, CS_COUNTERS' X-macro list). Any
 * thread, any time: one relaxed atomic add, so concurrent updates never lose
 * a count. The only way the shim changes a counter. hook-safe,
 * fork-child-safe, async-signal-safe.
 */
void cs_counter_add(enum cs_counter_id id, uint64_t n);

/* The current value of counter id (relaxed load). hook-safe. */
uint64_t cs_counter_get(enum cs_counter_id id);

/* Copy every counter into out[CS_CNT__COUNT], in record order. hook-safe. */
void cs_counters_read(uint64_t out[CS_CNT__COUNT]);

/* Zero every counter: a fork child counts its own. fork-child-safe. */
void cs_counters_reset(void);

#endif
