/* SPDX-License-Identifier: MIT */
/* The trace's counters: the only storage, updated with relaxed atomics from any thread. */
#include "counters.h"

/* Written only here (cs_counter_add, cs_counters_reset); read through cs_counter_get. */
static uint64_t counters[CS_CNT__COUNT];

void cs_counter_add(enum cs_counter_id id, uint64_t n)
{
	if ((unsigned)id < CS_CNT__COUNT)
		__atomic_add_fetch(&counters[id], n, __ATOMIC_RELAXED);
}

uint64_t cs_counter_get(enum cs_counter_id id)
{
	return (unsigned)id < CS_CNT__COUNT ? __atomic_load_n(&counters[id], __ATOMIC_RELAXED) : 0;
}

void cs_counters_read(uint64_t out[CS_CNT__COUNT])
{
	for (unsigned i = 0; i < CS_CNT__COUNT; i++)
		out[i] = __atomic_load_n(&counters[i], __ATOMIC_RELAXED);
}

void cs_counters_reset(void)
{
	for (unsigned i = 0; i < CS_CNT__COUNT; i++)
		__atomic_store_n(&counters[i], 0, __ATOMIC_RELAXED);
}
