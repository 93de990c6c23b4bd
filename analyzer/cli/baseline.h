/* SPDX-License-Identifier: MIT */
/* Baselines for `cowscope check --baseline`: a stored JSON report read back and compared with a run. */
#ifndef CS_BASELINE_H
#define CS_BASELINE_H

#include <stddef.h>
#include "diag.h"
#include "model.h"

/* A stored `cowscope report --format json` document (schema_version 1), parsed. */
typedef struct cs_baseline cs_baseline_t;

/*
 * Read the JSON report at path (every byte untrusted; parsed with libjansson)
 * into *out. Returns 0; -ENOENT when there is no such file; -EBADMSG when it
 * is not a report this version reads: not JSON (d gives jansson's line and
 * column), not a regular file, not a report (a `diff` document, no
 * "processes", a field of the wrong type), or a newer schema_version;
 * -ENOMEM; another -errno when it cannot be opened or read. On error d names
 * the file and *out is NULL. Cost: the file's size.
 */
int cs_baseline_load(const char *path, cs_baseline_t **out, cs_diag_t *d);

/* Free a baseline and every string its comparisons handed out. NULL is a no-op. */
void cs_baseline_free(cs_baseline_t *b);

/* One figure (or allocation site) that got worse: its name, the baseline's value, the run's. */
typedef struct cs_regression {
	const char *what;
	double before, after;
} cs_regression_t;

/*
 * Compare the run m with baseline b. The figures, for the scope (scope_tree 0:
 * the worst child, each figure on its own; 1: the run's totals, the memory
 * bill): child-copied % of shared pages, child-copied MiB, share retained (%),
 * parent-unshared % of shared pages, COW amplification. A figure unknown on
 * either side (null in the JSON, e.g. amplification without changed words) is
 * not compared. A figure regresses when it got worse by more than tol_pct
 * percent of the baseline's value (share retained: lower is worse; the others:
 * higher); exactly at the tolerance passes; from 0, any growth regresses.
 *
 * Returns 0 when nothing regressed (*regs NULL, *nregs 0); 1 when something
 * did: *regs (malloc'd, the caller frees it with free()) holds the figures
 * that got worse, in the order above, then up to 5 allocation sites that grew
 * most beyond the tolerance (child-copied pages, or unshared pages where the
 * backend cannot split, summed over the children; matched by symbol key as
 * `cowscope diff` matches them; what: "site " and the innermost frame),
 * largest growth first; *nregs their number. Every what string is owned by b
 * and valid until cs_baseline_free. <0 on error: -ENOMEM, or -EIO when the
 * run's report could not be rendered (d says so).
 * Cost: renders m's JSON report in memory and parses it.
 */
int cs_baseline_compare(const cs_baseline_t *b, const cs_model_t *m, int scope_tree, double tol_pct,
			cs_regression_t **regs, size_t *nregs, cs_diag_t *d);

/*
 * Write m's JSON report (cs_render_json: what `cowscope report --format json`
 * prints) to path atomically: to a temporary file in the same directory, then
 * renamed over path (mode 0666 less the umask). Returns 0 or -errno (d names
 * the file); on error path is untouched and no temporary file is left.
 */
int cs_baseline_write(const cs_model_t *m, const char *path, cs_diag_t *d);

#endif
