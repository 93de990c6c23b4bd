/* SPDX-License-Identifier: MIT */
/* Event records, marks, snapshots and a process's final records, owned by events.c. */
#ifndef CS_EVENTS_H
#define CS_EVENTS_H

#include <stdint.h>
#include "maps.h"

/* Take a snapshot now (enum cs_snap_reason). 0, -EBUSY or -errno. hook-safe (not reentrant). */
int cs_snapshot(uint8_t reason);

/* The same, arming each tracked mapping with arm (the fork snapshot). fork-child-safe. */
int cs_snapshot_arm(uint8_t reason, int (*arm)(void *arg, const cs_vma_t *v));

/*
 * The working snapshot (CS_SNAP_WORK) of a forked child: the process begins
 * to exit (exit() before its atexit handlers, or cowscope_exiting()). Once per
 * process: later calls return 0 and take none. 0 (also in a root, or without
 * a backend), -EBUSY or -errno. Call with the recursion guard held. hook-safe.
 */
int cs_snapshot_work(void);

/*
 * [lo, hi) is about to be unmapped: in a forked child, when it touches a
 * mapping tracked at the fork, take a CS_SNAP_UNMAP snapshot of that range
 * (its mappings clipped to it) first, so the copies made there are kept, and
 * forget the range. Any other call costs a few loads, or a getpid and an
 * atomic exchange in a child. Skipped when a snapshot is under way
 * (counted). Takes the recursion guard itself (nothing when it is held). hook-safe.
 */
void cs_snapshot_unmap(uint64_t lo, uint64_t hi);

/* The same for mremap(old, old_len, new_len, flags): the part that goes (or may go) away. */
void cs_snapshot_remap(uint64_t old, uint64_t old_len, uint64_t new_len, int flags);

/*
 * A CS_REC_MARK with label (up to 200 bytes; NULL: ""), and in a tracked
 * child a CS_SNAP_MARK snapshot. 0, -EIO (the record was not written),
 * -EBUSY or -errno (the snapshot). Call with the recursion guard held. hook-safe.
 */
int cs_mark(const char *label);

/*
 * Write records for modules loaded since the last look (glibc's own dlopens,
 * e.g. NSS plugins, bypass the dlopen hook). Takes the loader lock: only from
 * exit and cowscope_snapshot(), never from _exit or exec (signal handlers).
 * Call with the recursion guard held.
 */
void cs_modules_refresh(void);

/* Final records: snapshot (children), counters, end. hook-safe. */
void cs_finish(uint8_t how, int status);

/* In a fork child: snapshot and mark numbers start again, no snapshot under way. fork-child-safe. */
void cs_events_reset_in_child(void);

/* Small records. All hook-safe and async-signal-safe. */
void cs_rec_fork(int child_pid, uint8_t via, uint64_t seq);
void cs_rec_child_exit(int pid, int status);
void cs_rec_resume(int err);
void cs_rec_note(uint32_t code, int err, const char *text);

#endif
