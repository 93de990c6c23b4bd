/* SPDX-License-Identifier: MIT */
/* The shim's own footprint in a child: pages of its memory the child copied or touched. */
#ifndef CS_SHIMCOST_H
#define CS_SHIMCOST_H

#include "model.h"

/*
 * Set p->shim_pages: pages of the shim's own memory (its CS_REC_SHIM_RANGE
 * ranges and the mappings flagged CS_MAPF_SHIM) that are private to child p
 * at its last snapshot: copied since the fork (written, frame changed, or
 * exclusive already at the fork snapshot, as the backend tells) or touched
 * anew. CS_UNKNOWN for a root, a child without a fork and a later snapshot, or
 * a trace older than 1.3 (the shim's mappings carried no page sets then).
 * These pages are excluded from every other figure. Returns 0 or -ENOMEM.
 * Cost: linear in the runs of the sets.
 */
int cs_shimcost_compute(cs_proc_t *p);

#endif
