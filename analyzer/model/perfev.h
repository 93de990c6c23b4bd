/* SPDX-License-Identifier: MIT */
/* Perf event counts of one process (format 1.5): what was counted, the counts read, and the values at its figures. */
#ifndef CS_MODEL_PERFEV_H
#define CS_MODEL_PERFEV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "cowscope/trace_format.h"

/* One event a process counted (CS_REC_EVDEFS). */
typedef struct cs_evdef {
	char *name;
	uint32_t type;
	int32_t err; /* 0, or -errno: never counted, its values are unknown */
	uint64_t config;
} cs_evdef_t;

/* One CS_REC_COUNTS: ndefs values. */
typedef struct cs_evread {
	uint32_t seq;
	uint8_t at; /* enum cs_count_at */
	uint64_t t_ns;
	cs_count_t *v;
} cs_evread_t;

/* An event's value at one point: unknown, exact, or scaled (multiplexed: value × enabled / running). */
typedef struct cs_evval {
	bool known;
	bool scaled;
	uint64_t value;
} cs_evval_t;

typedef struct cs_evinfo {
	bool has_defs;
	cs_evdef_t *defs;
	size_t ndefs;
	cs_evread_t *reads; /* in record order */
	size_t nreads, capreads;
	/* resolved by cs_events_compute */
	cs_evval_t *work; /* ndefs: at the working snapshot (a root: its end), or NULL */
	cs_evval_t *end;  /* ndefs: at the end snapshot when later than the working one, or NULL */
} cs_evinfo_t;

/* Free what e holds; it becomes empty. */
void cs_evinfo_free(cs_evinfo_t *e);

/*
 * The value of read r for event i: unknown when the event was not counted or
 * never ran, scaled when it ran part of the time it was enabled. O(1).
 */
cs_evval_t cs_evval_of(const cs_evinfo_t *e, const cs_evread_t *r, size_t i);

/*
 * The read at (at, seq), the last one with that pair, or NULL. O(reads).
 */
const cs_evread_t *cs_evread_find(const cs_evinfo_t *e, uint8_t at, uint32_t seq);

/*
 * Resolve e->work and e->end: the counts read at the working snapshot work_seq
 * (UINT32_MAX: none), else at the process's end (a root's, or the last read at a
 * snapshot); e->end from end_seq when it differs. 0 or -ENOMEM. O(reads × defs).
 */
int cs_events_compute(cs_evinfo_t *e, uint32_t work_seq, uint32_t end_seq);

/* Index of the event named name in e, or -1. */
long cs_evdef_find(const cs_evinfo_t *e, const char *name);

struct cs_proc;

/*
 * cs_events_compute for a process, its figures computed: the working and end
 * snapshots of its own file (samples-file snapshots number differently). 0 or -ENOMEM.
 */
int cs_proc_events_compute(struct cs_proc *p);

#endif
