/* SPDX-License-Identifier: MIT */
/* Perf event counters of one process (COWSCOPE_EVENTS): naming, opening, reading, records. */
#ifndef CS_PERFCOUNT_H
#define CS_PERFCOUNT_H

#include <stdint.h>

/* Events one process counts at most; names longer than this are cut (and fail to encode). */
#define CS_PC_MAX 16u
#define CS_PC_NAME_MAX 128u

/*
 * Name the events of list (COWSCOPE_EVENTS, comma-separated; NULL or "": the
 * default four software fault and switch events; "none": no events). Built-in
 * software names are encoded from a table; any other name through libpfm4,
 * loaded with dlopen("libpfm.so.4") (it allocates: init only). A name that
 * cannot be encoded keeps err = -errno and a reason for its note. Then opens
 * every named event on this process (see cs_perfcount_open_all). init-only.
 */
void cs_perfcount_init(const char *list);

/*
 * Open every named event on the calling process: pid 0, cpu -1, inherited by
 * threads created later (inherit_thread; not by child processes), user space
 * only where the kernel refuses more, descriptors high and close-on-exec.
 * Failures set the event's err. fork-child-safe (raw syscalls only).
 */
void cs_perfcount_open_all(void);

/*
 * In a fork child, first thing: close the descriptors inherited from the
 * parent (only those still ours) and open this process's own, so its counts
 * start at its fork. fork-child-safe.
 */
void cs_perfcount_child(void);

/*
 * CS_REC_EVDEFS (nothing when no events are named), then the CS_NOTE_EVENTS
 * notes: one per event that could not be named or opened, or one for all when
 * perf is not permitted here. Call after CS_REC_BACKEND. fork-child-safe.
 */
void cs_perfcount_put_defs(void);

/*
 * CS_REC_COUNTS: every event's value, enabled and running time now, with at
 * (enum cs_count_at) and seq (the snapshot's or the mark's; UINT32_MAX at
 * the end of a process that took no snapshot then). One read(2) per event.
 * hook-safe.
 */
void cs_perfcount_put_counts(uint8_t at, uint32_t seq);

#endif
