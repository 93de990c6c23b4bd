/* SPDX-License-Identifier: MIT */
/* The limit math of `cowscope check`: which children a check covers, their figures, the worst. */
#ifndef CS_CHECK_H
#define CS_CHECK_H

#include <stdbool.h>
#include <stddef.h>
#include "model.h"

/* The limits `check` knows, in the order it reports them. */
enum cs_limit {
	CS_LIM_COPIED_PCT,     /* child-copied pages, percent of shared at fork: at most */
	CS_LIM_COPIED_MIB,     /* child-copied MiB: at most */
	CS_LIM_SHARE_RETAINED, /* share retained, percent: at least */
	CS_LIM_AMPLIFICATION,  /* COW amplification of the child's copies (format 1.4): at most */
	CS_LIM_PUNSHARED_PCT,  /* parent-unshared pages, percent of shared at fork: at most */
	CS_LIM__COUNT,
};

/* Which processes a check covers. */
typedef struct cs_check_sel {
	bool tree;        /* the whole run's totals (the memory bill), else each child */
	const char *only; /* command name (basename of argv[0], else of exe); NULL: any */
	long phase;       /* index in m->phases; -1: every phase */
} cs_check_sel_t;

/* The outcome of one limit. */
typedef struct cs_check_res {
	int err;         /* 0, or -ENODATA: the run cannot measure it (why says so) */
	char why[200];   /* when err: why the run cannot measure it */
	double value;    /* percent, MiB or a ratio (INFINITY: copies without a changed word) */
	bool pass;       /* value <= limit (at least: >=) */
	long worst;      /* child scope: index in m->procs of the worst child; -1 for the tree */
	size_t children; /* children measured */
} cs_check_res_t;

/* The long option of a limit ("max-copied-pct", ...). */
const char *cs_limit_option(int lim);

/* Whether a limit is a floor (share retained: at least), not a ceiling. */
bool cs_limit_is_min(int lim);

/*
 * The children of m that sel covers (role child, first image, sel's phase and
 * command name), in m's order, into *kids (malloc'd, may be empty). Returns 0
 * or -ENOMEM. O(processes).
 */
int cs_check_select(const cs_model_t *m, const cs_check_sel_t *sel, size_t **kids, size_t *n);

/*
 * Check limit lim (an enum cs_limit) against `limit` over the children kids[0..n)
 * of m: each one (the worst one decides) or, with tree, their memory bill
 * (copies summed, each parent's shared pages once, as `report` totals do). A
 * percent is pages × 100 ÷ pages, MiB bytes ÷ 2^20, so a limit equal to the
 * value passes. res->err is -ENODATA when nothing was measured or the backend
 * cannot tell the figure (child-copied on `exclusive`, amplification without
 * changed words). Returns 0 or -ENOMEM. O(n) (tree: O(n log n)).
 */
int cs_check_limit(const cs_model_t *m, const size_t *kids, size_t n, bool tree, int lim,
		   double limit, cs_check_res_t *res);

/*
 * The allocation sites behind res (a limit over kids[0..n) of m): the worst
 * child's, or with tree the kids' sites merged by key; sorted by the limit's
 * pages (parent-unshared for CS_LIM_PUNSHARED_PCT, else child-copied, unshared
 * where unknown), most first. *out is malloc'd (NULL when none). Returns 0 or
 * -ENOMEM. O(sites log sites).
 */
int cs_check_sites(const cs_model_t *m, const size_t *kids, size_t n, const cs_check_res_t *res,
		   int lim, cs_site_t **out, size_t *nout);

/* The pages of site s that count for limit lim (0 when unknown). */
double cs_check_site_pages(const cs_site_t *s, int lim);

/* The command name of a process (basename of argv[0], else of its exe, else "?"). */
const char *cs_check_comm(const cs_proc_t *p);

#endif
