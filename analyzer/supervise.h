/* SPDX-License-Identifier: MIT */
/* Supervising a `cowscope run`: reaping the tree, sampling children, stopping at the right time. */
#ifndef CS_SUPERVISE_H
#define CS_SUPERVISE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

/* A process file seen in the run directory. */
typedef struct cs_seen cs_seen_t;

typedef struct cs_sup {
	/* set by the caller */
	int dirfd;           /* the run directory */
	int runfd;           /* run.cst, O_APPEND */
	int sigfd;           /* signalfd for SIGCHLD, SIGTERM, SIGHUP (non-blocking) */
	pid_t root;          /* CMD */
	unsigned interval_ms; /* 0: no sampling */
	unsigned linger_ms;
	/* results */
	bool root_done;
	int root_status;     /* wait status of CMD */
	uint32_t still_running;
	uint64_t samples;
	uint64_t sample_ns;
	bool write_failed;   /* a run.cst record could not be written */
	/* internal */
	cs_seen_t *seen;
	size_t nseen, capseen;
	uint64_t deadline_ns;
	bool no_children;
} cs_sup_t;

/*
 * Run the supervision loop until CMD has been reaped and no descendant is
 * left (this process must be a child subreaper), or until linger_ms after CMD
 * ended. Every reaped pid gets a CS_REC_CHILD_EXIT in run.cst; SIGTERM and
 * SIGHUP are forwarded to CMD; every interval_ms each live forked child is
 * sampled (its pid's identity checked first), stretching the interval so that
 * sampling stays within about 2% of wall time. Returns 0 or -errno of a
 * failed wait; s's results are filled either way. Frees its samplers.
 */
int cs_supervise(cs_sup_t *s);

/* CLOCK_MONOTONIC in ns. */
uint64_t cs_now_ns(void);

#endif
