/* SPDX-License-Identifier: MIT */
/* Baselines for `cowscope check`: stored JSON reports, compared with a run. */
#ifndef CS_BASELINE_H
#define CS_BASELINE_H

#include <stddef.h>
#include "diag.h"
#include "model.h"

/* the cli layer: it reads files, renders the JSON report, and may use every layer below */
typedef struct cs_baseline cs_baseline_t; /* opaque */

/* Load a baseline: 0, -ENOENT, -EBADMSG (corrupt / wrong kind / newer schema: d names the file), -ENOMEM. */
int cs_baseline_load(const char *path, cs_baseline_t **out, cs_diag_t *d);

/* Free a loaded baseline (NULL: nothing). */
void cs_baseline_free(cs_baseline_t *b);

/* A figure that grew: what it is, and its value before (the baseline) and after (the run). */
typedef struct cs_regression {
	const char *what;
	double before, after;
} cs_regression_t;

/*
 * Compare the run's figures (scope as given) with the baseline: 0 = no regression beyond
 * tol_pct, 1 = regression (*regs: the figures that grew, and the top sites that grew most by
 * symbol key, malloc'd, *nregs), <0 error.
 */
int cs_baseline_compare(const cs_baseline_t *b, const cs_model_t *m, int scope_tree, double tol_pct,
			cs_regression_t **regs, size_t *nregs, cs_diag_t *d);

/* Write the run's JSON report to path as a baseline. Returns 0 or -errno (d says why). */
int cs_baseline_write(const cs_model_t *m, const char *path, cs_diag_t *d);

#endif
