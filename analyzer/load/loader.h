/* SPDX-License-Identifier: MIT */
/* The record table's handlers: the state they load into and their type (internal to load/). */
#ifndef CS_LOADER_H
#define CS_LOADER_H

#include <errno.h>
#include <stdbool.h>
#include "diag.h"
#include "model.h"
#include "trace_read.h"

/* What the records of one file are loaded into. */
typedef struct cs_loader {
	cs_trace_t *t;
	cs_diag_t *d;
	cs_proc_t *p;      /* process and samples files */
	cs_runinfo_t *run; /* run.cst */
	bool samples;      /* a samples file */
} cs_loader_t;

/*
 * A row's handler. The reader has checked r against its row (size, version,
 * file kind) before the call: f holds the fixed part (the row's minimum size,
 * header included) copied out of the file, and c is positioned after it.
 * Returns 0, -EBADMSG (cs_load_bad) or -ENOMEM (cs_load_nomem).
 */
typedef int (*cs_rec_fn)(cs_loader_t *l, const cs_rec_t *r, const cs_fixed_t *f, cs_cur_t *c);

/* The snapshot being assembled with this seq, in this file, or NULL. O(snapshots). */
cs_snap_t *cs_load_open_snap(cs_loader_t *l, uint32_t seq);

/* A bad field of r: "PATH: record N at offset O: WHAT". Returns -EBADMSG. */
static inline int cs_load_bad(cs_loader_t *l, const cs_rec_t *r, const char *what)
{
	return cs_trace_bad(l->t, r, l->d, what);
}

/* Out of memory reading this file. Returns -ENOMEM. */
static inline int cs_load_nomem(cs_loader_t *l)
{
	cs_diag_set(l->d, "out of memory reading %s", l->t->path);
	return -ENOMEM;
}

#endif
