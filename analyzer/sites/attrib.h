/* SPDX-License-Identifier: MIT */
/* The page → owner join: a child's copied pages shared among the allocations live at its fork. */
#ifndef CS_ATTRIB_H
#define CS_ATTRIB_H

#include <stddef.h>
#include <stdint.h>
#include "arena.h"
#include "model.h"
#include "replay.h"

/* How allocations were recorded, which names the pages no allocation owns. */
enum cs_track_mode {
	CS_TRACK_NONE = 0, /* no SAMPLING record: no allocation tracking */
	CS_TRACK_EXACT,    /* mean_bytes == 1: every allocation */
	CS_TRACK_SAMPLED,
};

/* Columns of an owner's figures. */
enum cs_col {
	CS_COL_CC = 0,
	CS_COL_PU,
	CS_COL_UN,
	CS_COL_FREED,
	/* format 1.4, the child's copied pages: */
	CS_COL_NOOP, /* compared without a changed word (pages) */
	CS_COL_CMP,  /* compared (pages) */
	CS_COL_CHB,  /* changed bytes */
	CS_NCOLS
};

/*
 * An owner of pages: an allocation stack (bucket NULL; stack NULL when the
 * allocations have none) or a bucket named after a fork-time mapping.
 */
typedef struct cs_owner {
	const cs_stack_t *stack;
	const char *bucket;
	double v[CS_NCOLS]; /* pages, per enum cs_col */
	uint64_t bytes;     /* weights of its live allocations */
	uint64_t samples;
	double field[CS_FIELD_BINS]; /* changed words inside its malloc blocks, by offset */
} cs_owner_t;

/*
 * Share the pages of p's final sets (child-copied, parent-unshared and
 * unshared, those p->fig knows) among the allocations of live (the child's
 * allocations at its fork, freed flags set): per page, malloc blocks by
 * overlapping bytes × weight/size ÷ page size; an mmap region (an allocator's
 * arena) gets its pages (× weight/size) less what the malloc blocks inside it
 * explain, per span of it in a mapping, never below 0: a block's pages are
 * the block's, not its arena's. In exact mode a page's shares never pass 1. Sampled, a
 * share may pass its page (the sample stands for more bytes than it has):
 * shares are kept whole, so each site's estimate stays unbiased, unless a
 * mapping's shares add up to more than its pages, when they are scaled down
 * there. The pages left in a mapping go to its bucket (named by its kind and
 * the mode). Sites and buckets add up to each set's pages. *owners
 * (malloc'd) lists the stacks first, then the buckets that got pages; bucket
 * names live in arena. Returns 0 or -ENOMEM.
 * Cost: O((runs + allocations + mappings) × log allocations) per set: pages
 * that look alike (no allocation or mapping starts or ends among them) go in
 * one step.
 */
/*
 * Also, when p's working snapshot compared the child's copies (format 1.4, p->fig split
 * and its WORDS all kept: cs_attribute_diff_known), the compared and no-op copies
 * (shared out as the copied pages are) and the changed bytes: each changed word goes to
 * the malloc block that holds it (× weight/size), else the mmap region, else the
 * mapping's bucket, as pages do (shares over a mapping's words scaled down to fit);
 * words in malloc blocks fill the owner's field view by offset. With the shim's stride
 * over 1 these columns are scaled like the process's (cs_amp_t.comparable / compared).
 */
int cs_attribute(const cs_proc_t *p, const cs_liveset_t *live, int mode, cs_arena_t *arena,
		 cs_owner_t **owners, size_t *nowners);

/* Whether cs_attribute fills the changed-word columns of p. */
bool cs_attribute_diff_known(const cs_proc_t *p);

/* The name of the pages of a mapping that no allocation owns (static or in arena); NULL: OOM. */
const char *cs_bucket_name(const cs_mapping_t *map, int mode, bool traced, cs_arena_t *arena);

#endif
