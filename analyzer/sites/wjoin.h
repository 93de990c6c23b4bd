/* SPDX-License-Identifier: MIT */
/* The writers join: each child-copied page to the first sampled write that copied it. */
#ifndef CS_WJOIN_H
#define CS_WJOIN_H

#include <stddef.h>
#include "model.h"
#include "pageset.h"

/* How the join names what it finds (sites.c gives symbolized stacks and owner sites). */
typedef struct cs_writer_namer {
	void *ctx;
	/*
	 * The frames (innermost first: the faulting ip's own, then each return
	 * address's) and key of sample s's call chain; frames and key must live
	 * as long as the model. 0 or -ENOMEM.
	 */
	int (*chain)(void *ctx, const cs_proc_t *p, const cs_wsamp_t *s, const cs_frame_t **frames,
		     size_t *nframes, const char **key);
	/* The allocation sites owning pages (their child_copied: pages), malloc'd. 0 or -ENOMEM. */
	int (*owners)(void *ctx, const cs_pageset_t *pages, cs_site_t **sites, size_t *nsites);
} cs_writer_namer_t;

/*
 * For a child whose copies are known (p->fig.split) and that has samples:
 * each page of p->fig.wc goes to the first sample (in trace order) whose data
 * address lies in it; samples are grouped by call chain, named through nm,
 * merged by key; the pages no sample saw form the bucket
 * CS_BUCKET_NO_WRITER. Writers and bucket add up to |wc|. Sets p->writers
 * (sorted: pages descending, then key) and p->has_writers.
 * Returns 0 or -ENOMEM. Cost: O(samples log samples + runs of wc), one
 * nm->chain per distinct raw chain, one nm->owners per writer.
 */
int cs_writers_join(cs_proc_t *p, const cs_writer_namer_t *nm, cs_arena_t *arena);

#endif
