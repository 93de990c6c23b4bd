/* SPDX-License-Identifier: MIT */
/* What the text report's files share: which processes it lists, how it ranks, its verdict. */
#ifndef CS_TEXT_H
#define CS_TEXT_H

#include <stdbool.h>
#include <stdio.h>
#include "model.h"
#include "render.h"
#include "story.h"

/* Widest line of the default report, in terminal columns (UTF-8 code points). */
#define CS_TEXT_WIDTH 100

/* Cut buf to at most cols columns (UTF-8 code points), ending in "…" when cut. Returns buf. */
char *cs_text_cut(char *buf, size_t size, size_t cols);

/* The sort the tables use: o->sort, or the run's dominant figure for CS_SORT_AUTO. */
int cs_text_sort(const cs_model_t *m, const cs_render_opts_t *o);

/* What a sort ranks by, for a table header: "copied", "parent-unshared"... */
const char *cs_text_sort_words(int sort);

/* Whether process i is listed: significant (story.h), or o->all. */
bool cs_text_listed(const cs_model_t *m, const cs_render_opts_t *o, size_t i);

/*
 * Whether child i is told through its sibling group only: a group of 2 or more
 * without --per-process.
 */
bool cs_text_grouped(const cs_model_t *m, const cs_render_opts_t *o, size_t i);

/*
 * The sibling groups to list (significant, or every one with o->all) ranked by the sum
 * of the sort figure over their members, most first, into *out (free it). Returns the
 * count, or -ENOMEM.
 */
long cs_text_sibs(const cs_model_t *m, const cs_render_opts_t *o, size_t **out);

/* "4 workers of gunicorn master (pid 812)" for sibling group g, into buf. Returns buf. */
char *cs_text_sib_name(const cs_model_t *m, size_t g, char *buf, size_t size);

/* "worker 2 of 4 (pid 815)" for child i, into buf. Returns buf. */
char *cs_text_member_name(const cs_model_t *m, size_t i, char *buf, size_t size);

/* The model's site group (cs_group_t) of sibling group g, or NULL. */
const cs_group_t *cs_text_site_group(const cs_model_t *m, size_t g);

/*
 * The figure (pages) a sort ranks a site by: copied (unshared where not split: sites have
 * no child-new figure, so new ranks by copied), parent-unshared, unshared; 0 if unknown.
 */
double cs_text_site_key(const cs_site_t *s, bool split, int sort);

/* The verdict: a few wrapped lines per sibling group listed. Returns 0 or -ENOMEM. */
int cs_text_verdict(FILE *f, const cs_model_t *m, const cs_render_opts_t *o);

/* The line for the children folded as not significant (nothing without any or with --all). */
void cs_text_fold_line(FILE *f, const cs_model_t *m, const cs_render_opts_t *o);

/*
 * Write text to f wrapped at CS_TEXT_WIDTH columns on spaces, continuation lines
 * indented by indent columns.
 */
void cs_text_wrap(FILE *f, const char *text, int indent);

/*
 * Copy the report in buf (len bytes) to f, each line longer than CS_TEXT_WIDTH columns
 * wrapped on spaces when it starts within 8 columns (prose; continuation lines indented
 * 4 more), else cut with "…" (stack frames indented under a table). Returns 0 or -EIO.
 */
int cs_text_emit_cut(FILE *f, const char *buf, size_t len);

#endif
