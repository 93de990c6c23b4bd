/* SPDX-License-Identifier: MIT */
/* Allocation sites: replay, attribution and symbolization put together for every child. */
#ifndef CS_SITES_H
#define CS_SITES_H

#include <stdbool.h>
#include <stddef.h>
#include "diag.h"
#include "model.h"

/* The name of the bucket of allocations recorded without a call stack. */
#define CS_BUCKET_NO_STACK "allocations with no call stack recorded"

/*
 * For a run with format 1.1 traces (m->v11): walk the process tree from its
 * roots, replaying each process's allocation events to find what every child
 * inherited at its FORK_POINT, attribute each measured child's pages
 * (cs_attribute), symbolize the stacks (one symbolizer per distinct module
 * list), merge the owners by symbolized stack into p->sites, and group the
 * children of each parent into m->groups. Problems with symbols or with the
 * replay become notes of the process. Returns 0 or -ENOMEM (d says so).
 * Cost: events of each parent once, plus a copy of its live set per child;
 * attribution per child; each distinct address symbolized once per module list.
 */
int cs_sites_compute(cs_model_t *m, cs_diag_t *d);

#endif
