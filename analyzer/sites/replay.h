/* SPDX-License-Identifier: MIT */
/* Replaying allocation events: which allocations were live in a process when it forked a child. */
#ifndef CS_REPLAY_H
#define CS_REPLAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "model.h"

/* A live allocation. */
typedef struct cs_live {
	uint64_t ptr;
	uint64_t seq; /* of its allocation event (or checkpoint entry) */
	uint64_t size;
	uint64_t weight;         /* bytes it stands for (== size in exact mode) */
	const cs_stack_t *stack; /* NULL: no stack, or one no trace holds */
	uint8_t kind;            /* enum cs_alloc_kind */
	bool freed;              /* the child freed it (cs_liveset_mark_frees) */
} cs_live_t;

/* Allocations live at a fork: malloc blocks and mmap regions, each sorted by ptr. */
typedef struct cs_liveset {
	cs_live_t *mal;
	size_t nmal;
	cs_live_t *mm; /* non-overlapping */
	size_t nmm;
} cs_liveset_t;

/* One process's events being applied, in seq order, over what it inherited. */
typedef struct cs_replay cs_replay_t;

/*
 * Start replaying process `proc` of m over base (the allocations it inherited
 * at its own fork; NULL for none; the freed flags are not carried over).
 * Returns 0 or -ENOMEM. O(|base|).
 */
int cs_replay_start(cs_replay_t **out, const cs_model_t *m, size_t proc, const cs_liveset_t *base);

/*
 * Apply the process's events with seq < cut that are not applied yet: an
 * ALLOC adds ptr (a malloc block replaces one at the same ptr; an mmap region
 * replaces what it overlaps), a free removes the exact ptr, munmap and mremap
 * remove or trim the regions overlapping [ptr, ptr + len). Frees of unknown
 * pointers are ignored. Stack ids resolve in the process, then in its
 * ancestors for ids below each one's FORK_POINT.stack_id.
 *
 * Format 1.7 checkpoints: when the last checkpoint k in the file with cut_k <=
 * cut is later than the one the malloc blocks stand on, they restart from it
 * (what was inherited included): its entries, then the malloc-kind events
 * after it in the file, in seq order (one numbered below cut_k is skipped
 * where the block at its ptr is younger than it). Malloc-kind events before
 * that checkpoint in the file are ignored; mmap regions always replay from
 * every event. Without such a checkpoint, every event applies, never a
 * checkpoint's entries. Call with increasing cuts. Returns 0 or -ENOMEM.
 * O(events) amortized, O(regions) per region change, O(events) per restart.
 */
int cs_replay_until(cs_replay_t *r, uint64_t cut);

/* The live set now, as a new cs_liveset_t. Returns 0 or -ENOMEM. O(n log n). */
int cs_replay_snapshot(const cs_replay_t *r, cs_liveset_t *out);

/* Free a replay (NULL is fine). */
void cs_replay_free(cs_replay_t *r);

/*
 * Flag the malloc blocks of s that the child's own frees (a) freed. Only a
 * block live at the fork can be freed before the child allocates at its
 * address again, so the first free of a ptr is the one that counts. With a
 * checkpoint (1.7) in the child, a block whose (ptr, seq) its first checkpoint
 * does not list was freed before that cut, and only frees after that
 * checkpoint in the file count. O(frees × log |s|), O(entries log entries).
 */
void cs_liveset_mark_frees(cs_liveset_t *s, const cs_allocinfo_t *a);

/* Free the arrays of s; it becomes empty. */
void cs_liveset_free(cs_liveset_t *s);

/* Stack `id` as process proc sees it (its own, then its ancestors'), or NULL. O(depth log n). */
const cs_stack_t *cs_stack_resolve(const cs_model_t *m, size_t proc, uint32_t id);

/* Whether child c of m inherits its parent's allocations (a fork, not an exec). */
bool cs_proc_inherits(const cs_model_t *m, size_t c);

#endif
