/* SPDX-License-Identifier: MIT */
/* Supervising a `cowscope run`: reaping the tree, sampling children, stopping at the right time. */
#ifndef CS_SUPERVISE_H
#define CS_SUPERVISE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include "diag.h"
#include "trace_read.h"

/* A process file seen in the run directory. */
typedef struct cs_seen cs_seen_t;

/* What the supervisor has learned of one growing process file, from its records so far. */
typedef struct cs_head {
	cs_trace_t t; /* the file, followed: its header and the next record's offset */
	bool have_proc;
	uint8_t role;      /* enum cs_role, once have_proc */
	uint64_t start_ns; /* CS_REC_PROC.start_ns, once have_proc */
	uint8_t backend;   /* the last CS_REC_BACKEND's chosen one */
	bool fork_seq_known;
	uint32_t fork_seq; /* the CS_SNAP_FORK snapshot's seq */
	bool fork_done;    /* its fork snapshot is complete: sampling may start */
	bool ended;        /* it wrote its END (and no RESUME after it) */
} cs_head_t;

/*
 * Read the records appended to a process file since the last call (fd: the
 * file, opened by the caller; path: its name in messages), at most 100000 per
 * call, through the analyzer's reader: the header, record framing and every
 * record's size and version are checked as when a report loads the file,
 * with the same messages; only each record's first bytes are read (bounded
 * work however large the file). h starts zeroed. Returns 0 (stopped at the
 * end, at a record not all written yet, or at the bound), or a negative errno
 * (-EBADMSG, -EPROTONOSUPPORT, -ENOMEM, a read's) with d set: not a file it
 * can follow. Free with cs_head_free.
 */
int cs_head_follow(cs_head_t *h, int fd, const char *path, cs_diag_t *d);

/* Free what cs_head_follow allocated; h keeps what it learned. */
void cs_head_free(cs_head_t *h);

typedef struct cs_sup {
	/* set by the caller */
	int dirfd;            /* the run directory */
	int runfd;            /* run.cst, O_APPEND */
	int sigfd;            /* signalfd for SIGCHLD, SIGTERM, SIGHUP (non-blocking) */
	pid_t root;           /* CMD */
	unsigned interval_ms; /* 0: no sampling */
	unsigned linger_ms;
	/* results */
	bool root_done;
	int root_status; /* wait status of CMD */
	uint32_t still_running;
	uint64_t samples;
	uint64_t sample_ns; /* CPU time the samples took (this process's, kernel included) */
	bool write_failed;  /* a run.cst record could not be written */
	/* internal */
	cs_seen_t *seen;
	size_t nseen, capseen;
	uint64_t deadline_ns;
	bool no_children;
	int inofd;          /* inotify on the run directory (new files), or -1 */
	int64_t tokens_ns;  /* CPU time sampling may spend now; negative: in debt */
	uint64_t refill_ns; /* when tokens were last added */
	uint64_t next_discover_ns;
	uint64_t wake_ns; /* the sampler's next reason to wake up */
} cs_sup_t;

/*
 * Run the supervision loop until CMD has been reaped and no descendant is
 * left (this process must be a child subreaper), or until linger_ms after CMD
 * ended. Every reaped pid gets a CS_REC_CHILD_EXIT in run.cst; SIGTERM and
 * SIGHUP are forwarded to CMD.
 *
 * Sampling (interval_ms > 0, docs/sampling.md): each forked child is sampled
 * as soon as its fork snapshot is whole (a new process file is noticed through
 * inotify, then read every 5 ms until then), and again interval_ms after each
 * sample began (its pid's identity checked first). The CPU time samples take
 * is budgeted: 2% of wall time accrues, up to 50 ms ahead; a round stops when
 * the budget is spent, and whoever has the fewest samples goes first, so a
 * short-lived child gets its first sample before a long-lived one its next.
 * Returns 0 or -errno of a failed wait; s's results are filled either way.
 * Frees its samplers and closes what it opened.
 */
int cs_supervise(cs_sup_t *s);

/* CLOCK_MONOTONIC in ns. */
uint64_t cs_now_ns(void);

#endif
