/* SPDX-License-Identifier: MIT */
/* The opt-in frame-pointer unwinder (COWSCOPE_UNWIND=fp): a bounded walk of the rbp chain. */
#ifndef CS_FPUNWIND_H
#define CS_FPUNWIND_H

#include <stddef.h>
#include <stdint.h>

/*
 * Walk a frame-pointer chain from the frame record at fp (a record is two
 * words: the caller's frame pointer, then the return address into the
 * caller), storing up to max return addresses in out. Reads only records that
 * lie wholly inside [lo, hi) (the current thread's stack, from the current sp
 * to the top of its mapping), so it never faults; stops at the first record
 * outside, misaligned (fp % 8), with a zero return address, or whose next
 * frame pointer does not lie above it. Returns the count stored. Pure,
 * allocation-free; about 8 instructions a frame. hook-safe.
 */
int cs_fp_walk(uintptr_t fp, uintptr_t lo, uintptr_t hi, void **out, int max);

/*
 * The end of the mapping that holds address sp, from the text of
 * /proc/self/maps ("start-end perms ..." lines) in buf[0..len): 0 if no whole
 * line in buf holds it (else *start gets the mapping's start). *used gets the
 * bytes of whole lines consumed, so a caller reading in chunks keeps the
 * rest. Pure. hook-safe.
 */
uintptr_t cs_fp_maps_end(const char *buf, size_t len, uintptr_t sp, size_t *used, uintptr_t *start);

/*
 * The top of this thread's stack (the end of the mapping holding sp), read
 * once per thread from /proc/self/maps with raw system calls into a stack
 * buffer (no allocation; the descriptor is open only meanwhile, close-on-exec)
 * and kept in initial-exec TLS (read again when sp leaves that mapping: an
 * alternate signal stack, a coroutine's). 0 if it cannot be read (then the fp unwinder
 * records no frames). hook-safe, not in a fork child's first steps.
 */
uintptr_t cs_fp_stack_top(uintptr_t sp);

#endif
