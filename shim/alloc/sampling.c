/* SPDX-License-Identifier: MIT */
/* Allocation sampling state: set up at init, read by the hooks through a const view. */
#include "evbuf.h"
#include "modules.h"
#include "sampling.h"
#include "stacks.h"

cs_sampling_t cs_sampling_st;

void cs_sampling_reserve(uint64_t sample_bytes, int modules)
{
	cs_sampling_st.sample_bytes = sample_bytes;
	if ((sample_bytes || modules) && cs_shimmem_init(&cs_sampling_st.mem) < 0)
		cs_sampling_st.sample_bytes =
			0; /* no memory for it: run without allocation sites */
	if (!cs_sampling_st.sample_bytes)
		cs_sampling_st.idle = 1;
}

void cs_sampling_start(uint32_t depth, const char *exe)
{
	if (cs_sampling_st.mem.base && !cs_sampling_st.sample_bytes) {
		cs_modules_scan(&cs_sampling_st.mem, exe); /* modules only: writer stacks */
		cs_sampling_st.idle = 1;
		return;
	}
	if (!cs_sampling_st.mem.base || cs_evbuf_init(&cs_sampling_st.mem) < 0) {
		cs_sampling_st.idle = 1;
		return;
	}
	cs_stacks_init(&cs_sampling_st.mem, depth); /* libunwind's set-up may allocate: guarded */
	cs_modules_scan(&cs_sampling_st.mem, exe);
	cs_stacks_wipe(8u * 1024u); /* what unw_init_local left (3.5 KiB measured) */
	cs_sampling_st.on = (uint8_t)(CS_SAMPLING_ON |
				      (cs_sampling_st.sample_bytes == 1 ? CS_SAMPLING_EXACT : 0));
}

uint64_t cs_sampling_next_seq(void)
{
	return __atomic_fetch_add(&cs_sampling_st.seq, 1, __ATOMIC_RELAXED);
}

uint64_t cs_sampling_seq_now(void)
{
	return __atomic_load_n(&cs_sampling_st.seq, __ATOMIC_RELAXED);
}
