/* SPDX-License-Identifier: MIT */
/* Stand-in for baseline.c until the baseline branch is merged (the lead deletes this file). */
#include <errno.h>
#include <stdio.h>
#include "baseline.h"

static int not_here(cs_diag_t *d)
{
	snprintf(d->msg, sizeof(d->msg), "baselines are not in this build yet");
	return -ENOSYS;
}

int cs_baseline_load(const char *path, cs_baseline_t **out, cs_diag_t *d)
{
	(void)path;
	*out = NULL;
	return not_here(d);
}

void cs_baseline_free(cs_baseline_t *b)
{
	(void)b;
}

int cs_baseline_compare(const cs_baseline_t *b, const cs_model_t *m, int scope_tree, double tol_pct,
			cs_regression_t **regs, size_t *nregs, cs_diag_t *d)
{
	(void)b;
	(void)m;
	(void)scope_tree;
	(void)tol_pct;
	*regs = NULL;
	*nregs = 0;
	return not_here(d);
}

int cs_baseline_write(const cs_model_t *m, const char *path, cs_diag_t *d)
{
	(void)m;
	(void)path;
	return not_here(d);
}
