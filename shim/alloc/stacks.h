/* SPDX-License-Identifier: MIT */
/* Call stacks of sampled allocations: unwound with libunwind, interned so each is written once. */
#ifndef CS_STACKS_H
#define CS_STACKS_H

#include <stdint.h>
#include "shimmem.h"

#define CS_STACK_MAX_DEPTH 64

/*
 * Set up: the table in m, the depth kept per stack, and the shim's own code
 * range (frames inside it are dropped); libunwind's process-wide set-up. Each
 * thread's trace cache is built by its first sample (cs_stack_capture), so a
 * process that never samples costs no unwinding at all. init-only.
 */
void cs_stacks_init(const cs_shimmem_t *m, uint32_t depth);

/*
 * Zero `bytes` of stack below the caller's frame. Unwinding leaves return
 * addresses and heap pointers in stack memory the program later reuses for
 * uninitialized locals; a conservative collector scanning the stack (Ruby's,
 * Boehm's) takes them for live references, keeps objects alive, and changes
 * the program's heap and so what its children copy (Ruby 3.1 with allocation
 * tracking on but no sample taken: a child dirtied 11.5 MiB instead of 7.7 in
 * some runs, until the init wiped what libunwind's warm-up left). A thread's
 * first sample wipes what its first unwind left. hook-safe.
 */
void cs_stacks_wipe(size_t bytes);

/*
 * fp0: the frame record of the shim's outermost frame on this stack that has
 * one (__builtin_frame_address(0) in the hook's slow path), where the frame
 * pointer unwinder starts; libunwind ignores it.
 * Unwind the caller's stack and return its id, writing a CS_REC_STACK the
 * first time this process (or its ancestors before the fork) saw it. 0 when
 * there is no stack (no libunwind, or the table is full). Cost: about 8 ns a
 * frame plus a hash lookup. hook-safe (the hook guard must be held: libunwind
 * may allocate on a thread's first unwind). Never in an atfork or signal
 * handler (libunwind takes the loader lock).
 */
uint32_t cs_stack_capture(const void *fp0);

/*
 * Choose the unwinder (CS_UNWIND_LIBUNWIND or CS_UNWIND_FP, common/options.h)
 * before cs_stacks_init. With CS_UNWIND_FP, cs_stack_capture walks the frame
 * pointer chain from fp0 (cs_fp_walk), bounded by this thread's stack:
 * programs built with -fno-omit-frame-pointer, at a fraction of libunwind's
 * cost; a frame without a frame pointer ends the walk or skips its caller.
 * init-only.
 */
void cs_stacks_set_unwinder(uint8_t unwinder);

/* The CS_REC_SAMPLING flags of the unwinder in use (CS_SAMPLINGF_*). hook-safe. */
uint32_t cs_stacks_sampling_flags(void);

/*
 * Bracket a call into libunwind or dl_iterate_phdr: enter returns 0 (and the
 * caller must not make the call) when the loader's locks may be held for good
 * in this process (see cs_stacks_fork_child); else 1, and the caller calls
 * leave after the call. Two atomic operations. hook-safe.
 */
int cs_stacks_loader_enter(void);
void cs_stacks_loader_leave(void);

/*
 * In a fork child, first thing: if a thread of the parent was inside
 * libunwind at the fork (its locks are held for good here), stacks go off in
 * this process and its descendants: allocations are still recorded, with
 * stack id 0. Returns 1 if stacks are off (the caller writes
 * CS_NOTE_UNWIND_OFF), else 0. fork-child-safe.
 */
int cs_stacks_fork_child(void);

/* Ids handed out so far + 1: the next id (for CS_REC_FORK_POINT). hook-safe. */
uint32_t cs_stack_next_id(void);

/* 1 if built with libunwind. */
int cs_stacks_unwind_available(void);

#endif
