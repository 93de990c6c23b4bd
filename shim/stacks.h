/* SPDX-License-Identifier: MIT */
/* Call stacks of sampled allocations: unwound with libunwind, interned so each is written once. */
#ifndef CS_STACKS_H
#define CS_STACKS_H

#include <stdint.h>
#include "shimmem.h"

#define CS_STACK_MAX_DEPTH 64

/*
 * Set up: the table in m, the depth kept per stack, and the shim's own code
 * range (frames inside it are dropped). Warms libunwind up with one unwind so
 * later ones do not allocate. init-only.
 */
void cs_stacks_init(const cs_shimmem_t *m, uint32_t depth);

/*
 * Unwind the caller's stack and return its id, writing a CS_REC_STACK the
 * first time this process (or its ancestors before the fork) saw it. 0 when
 * there is no stack (no libunwind, or the table is full). Cost: about 8 ns a
 * frame plus a hash lookup. hook-safe (the hook guard must be held: libunwind
 * may allocate on a thread's first unwind). Never in an atfork or signal
 * handler (libunwind takes the loader lock).
 */
uint32_t cs_stack_capture(void);

/* Ids handed out so far + 1: the next id (for CS_REC_FORK_POINT). hook-safe. */
uint32_t cs_stack_next_id(void);

/* 1 if built with libunwind. */
int cs_stacks_unwind_available(void);

#endif
