/* SPDX-License-Identifier: MIT */
/* This process's trace file: the one writer every shim module appends through. */
#ifndef CS_TRACE_H
#define CS_TRACE_H

#include <stddef.h>
#include <stdint.h>
#include "writer.h"

/*
 * Create this process's trace file ("<pid>.<gen>.cst") in the run directory
 * dfd (reopened later by the absolute path dir, kept by the caller). 0 or
 * -errno. fork-child-safe.
 */
int cs_trace_open(int dfd, const char *dir, int pid);

/* Close the trace descriptor if it is still ours (a fork child's first step). fork-child-safe. */
void cs_trace_close(void);

/*
 * Append one whole record (one write; see cs_writer_put). 0 or -errno; the
 * caller decides whether a failure is counted (cs_trace_put_counted).
 * hook-safe, fork-child-safe.
 */
int cs_trace_put(const void *rec, size_t n);

/*
 * Append one whole record gathered from iov[0..n) (n <= CS_WRITER_IOV_MAX),
 * with writev: the pieces are not copied (see cs_writer_putv). The same
 * guarantees as cs_trace_put. 0 or -errno, not counted. hook-safe.
 */
int cs_trace_putv(const struct iovec *iov, size_t n);

/* The same, counting a failure in CS_CNT_WRITE_FAIL. hook-safe, fork-child-safe. */
int cs_trace_put_counted(const void *rec, size_t n);

/* The trace file's generation (the <gen> in its name). hook-safe. */
uint32_t cs_trace_gen(void);

/* Times the descriptor had to be reopened (CS_CNT_TRACE_REOPEN). hook-safe. */
uint32_t cs_trace_reopens(void);

/*
 * Gather this thread's records in the arena's batch buffer (3 KiB the
 * snapshot scratch leaves spare, CS_HARVEST_SPARE_BYTES) and write them together at cs_trace_batch_end or when
 * it fills (cs_writer_batch_begin). Returns what to pass to the end: 0 when
 * a batch was already open or there is no arena. Only under the snapshot
 * lock or in a fork child's start, whose records use that page alone.
 * hook-safe, fork-child-safe.
 */
int cs_trace_batch_begin(void);

/* Write out and end the batch cs_trace_batch_begin returned began for. 0 or -errno. */
int cs_trace_batch_end(int began);

/*
 * The writer itself, for the harvest (common/harvest.c writes a snapshot's
 * records through it). Only under the snapshot lock (events.c). hook-safe.
 */
cs_writer_t *cs_trace_writer(void);

#endif
