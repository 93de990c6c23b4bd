/* SPDX-License-Identifier: MIT */
/* How a report tells a run: roles in fork order, sibling groups, exec chains, significance. */
#ifndef CS_STORY_H
#define CS_STORY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "model.h"

/* What a process image is in the run's story. */
enum cs_story_role {
	CS_SR_ROOT = 0, /* an image that forked nothing and is the last of its exec chain */
	CS_SR_MASTER,   /* forked a concurrent sibling group ("master") */
	CS_SR_PARENT,   /* forked children, none in a concurrent group ("parent") */
	CS_SR_WORKER,   /* member of a concurrent sibling group: "worker K of N" */
	CS_SR_RESPAWN,  /* a worker forked after an earlier one ended while another still ran */
	CS_SR_CHILD,    /* alone in its group, or in a group that ran one after another:
			 * "child K of N", K-th of its parent's N children in fork order */
	CS_SR_IMAGE,    /* an exec image of a chain that is not its last (folded into it) */
};

/* What the report ranks by (`--sort`); CS_SORT_AUTO picks the run's dominant figure. */
enum cs_sort {
	CS_SORT_AUTO = 0,
	CS_SORT_COPIED,
	CS_SORT_UNSHARED,
	CS_SORT_PUNSHARED,
	CS_SORT_NEW,
};

/* Smallest, median and largest of one figure over a group's measured members (pages). */
typedef struct cs_spread {
	double min, median, max; /* NaN when no member knows it */
	double sum;              /* NaN when some measured member does not know it */
} cs_spread_t;

/*
 * Identical siblings: the children one parent image forked that run the same command
 * line. Their figures as spreads; their sites are the model's group with the same index
 * (cs_group_t.sib).
 */
typedef struct cs_sib {
	long parent; /* index of the parent image in m->procs, -1 if it left no trace */
	int64_t ppid;
	const char *cmd; /* the members' command line, NUL-joined (the first member's) */
	size_t cmd_len;
	size_t *members; /* indexes in m->procs, in fork order */
	size_t n;
	size_t measured;  /* members with figures */
	bool concurrent;  /* two members ran at once: they are workers (else children that ran one
			   * after another) */
	size_t respawned; /* members of a concurrent group forked after an earlier one had ended
			   * while another still ran */
	bool significant; /* some member is significant */
	long worst;       /* the measured member with the most of the sort figure, -1 if none */
	cs_spread_t shared, copied, punshared, unshared, newp, retained; /* retained: a fraction */
	double first_fork_s; /* seconds from the run's start to its first member's fork, NaN */
} cs_sib_t;

/* One process image's place in the story. */
typedef struct cs_pstory {
	uint8_t role;       /* enum cs_story_role */
	uint32_t rank;      /* 1-based position in fork order within its sibling group */
	uint32_t of;        /* members of its sibling group */
	long sib;           /* its sibling group (index in cs_story_t.sibs), -1 for none */
	bool significant;   /* shown by default (cs_story_t.threshold_bytes) */
	long chain_first;   /* the first image of its exec chain (itself without one) */
	long chain_last;    /* the image that ran last in its chain */
	uint32_t execs;     /* on the last image: how many execs led to it (0: none) */
	double forked_at_s; /* seconds from the run's start to its fork, NaN if unknown */
	double ended_at_s;  /* seconds from the run's start to its end, NaN if unknown */
	char program[64];   /* who it is for a person: "gunicorn", "python3", "redis-server" */
	char label[48];     /* "master", "worker 2 of 4", "respawned worker 5", "child 1 of 1" */
} cs_pstory_t;

typedef struct cs_story {
	cs_pstory_t *p; /* one per process of the model, same index */
	size_t np;
	cs_sib_t *sibs; /* by parent in model order, then by first fork */
	size_t nsibs;
	double threshold_bytes; /* a child is significant when its shared-at-fork or child-new
				 * bytes reach this: the larger of 1 MiB and 1% of the largest
				 * child's, or 0 when no child reaches 1 MiB */
	size_t folded;          /* children that are not significant */
	int dominant;           /* enum cs_sort: the figure that dominates the run, never AUTO */
	double start_ns;        /* the run's start on CLOCK_MONOTONIC, NaN if unknown */
} cs_story_t;

/*
 * Tell the story of a loaded model whose figures are computed: exec chains, sibling
 * groups (one parent image, one phase, one command line) with members in fork order and their
 * spreads, roles and labels, significance and the dominant figure (parent-unshared when
 * the parents unshared more pages than the children copied, else copied). Returns 0 or
 * -ENOMEM (then s holds nothing to free). Cost: O(n log n) in processes.
 */
int cs_story_compute(const cs_model_t *m, cs_story_t *s);

/* Free what cs_story_compute allocated (a zeroed story holds nothing: freeing it is a no-op). */
void cs_story_free(cs_story_t *s);

/*
 * The story of m: m->story, or for a model built without cs_model_load (tests, a diff's
 * side) one computed into *local. *local must be zeroed; free it with cs_story_free after
 * use either way. NULL when out of memory.
 */
const cs_story_t *cs_story_get(const cs_model_t *m, cs_story_t *local);

/* The figure (pages) a sort key ranks a process by: NaN when unknown. AUTO is COPIED. */
double cs_story_key(const cs_proc_t *p, int sort);

/* What a group's members are called: "workers" (concurrent) or "children". */
const char *cs_sib_noun(const cs_sib_t *g);

/* Name of a sort key as `--sort` spells it ("copied", "unshared", "parent-unshared", "new"). */
const char *cs_sort_name(int sort);

/* Parse a `--sort` value ("auto" too). Returns 0 or -EINVAL. */
int cs_sort_parse(const char *s, int *sort);

/*
 * Who a command line is for a person, into buf: the basename of argv[0], or of the script
 * when argv[0] is an interpreter (python3, ruby, perl, node, sh, bash...) running one.
 * Returns buf ("?" for an empty command line).
 */
char *cs_program_name(const char *cmdline, size_t len, char *buf, size_t size);

#endif
