/* SPDX-License-Identifier: MIT */
/* Renderers of a loaded run model, and the figures they share (totals, the run's backend). */
#ifndef CS_RENDER_H
#define CS_RENDER_H

#include <stdbool.h>
#include <stdio.h>
#include "model.h"

struct cs_json;

typedef struct cs_render_opts {
	unsigned top;        /* mappings and allocation sites listed per child in the text report */
} cs_render_opts_t;

/*
 * Sums over the children, per child (each child's own figures added up); a sum
 * is CS_UNKNOWN if a measured child lacks that figure. A child is measured when
 * it has figures: a fork snapshot and a snapshot after it (a sample or its own).
 */
typedef struct cs_totals {
	size_t children;     /* processes with role child */
	size_t measured;     /* children with figures */
	size_t no_fork_snap; /* children without a fork snapshot: no figures */
	size_t no_sample;    /* children with a fork snapshot and nothing after it: ended before
			      * any sample, no figures */
	size_t few_samples;  /* children with fewer than 2 snapshots after the fork (cs_few_samples) */
	int64_t shared_at_fork;
	int64_t child_copied;
	int64_t parent_unshared;
	int64_t unshared;
	int64_t child_new;
	double shared_bytes, copied_bytes, punshared_bytes, unshared_bytes, new_bytes;
	double share_retained;  /* NaN when unknown */
	int64_t page_size;   /* common to the measured children, else CS_UNKNOWN */
} cs_totals_t;

/* Compute the totals of a loaded model: over every process with role child. */
void cs_totals_compute(const cs_model_t *m, cs_totals_t *t);

/*
 * One parent's children as a memory bill: the parent's shared memory counted
 * once, the children's private copies summed (docs/reading-the-report.md).
 */
typedef struct cs_bill_group {
	long parent;            /* index in the model's procs, -1 if the parent left no trace */
	int64_t ppid;
	size_t first;           /* its children: the bill's kids[first .. first + n) */
	uint8_t backend;        /* the backend of its first child with figures */
	cs_totals_t t;          /* the per-child sums over its children */
	int64_t shared_at_fork; /* the parent's shared set as its children saw it: the largest
				 * of their shared-at-fork (never a sum) */
	int64_t parent_unshared; /* the largest of their parent-unshared (one parent write costs
				  * one page, however many children shared it) */
	double shared_bytes, punshared_bytes;
} cs_bill_group_t;

/* The memory bill of a run: one group per parent that forked children, and the grand total. */
typedef struct cs_bill {
	cs_bill_group_t *groups;  /* by parent, in the model's order */
	size_t ngroups;
	size_t *kids;             /* indexes of the children in the model, grouped */
	cs_totals_t t;            /* per-child sums over all children (cs_totals_compute) */
	int64_t shared_at_fork;   /* summed over the groups: each parent's shared memory once */
	int64_t parent_unshared;  /* summed over the groups */
	double shared_bytes, punshared_bytes;
} cs_bill_t;

/*
 * Compute the memory bill of a loaded model. Returns 0 or -ENOMEM (then b
 * holds nothing to free). Cost: O(n log n) in processes.
 */
int cs_bill_compute(const cs_model_t *m, cs_bill_t *b);

/*
 * The same over the n children of m at indexes kids[] (e.g. one side of a
 * diff); b->t sums those children only. Returns 0 or -ENOMEM.
 */
int cs_bill_of(const cs_model_t *m, const size_t *kids, size_t n, cs_bill_t *b);

/* Free what cs_bill_compute allocated. */
void cs_bill_free(cs_bill_t *b);

/*
 * The snapshots that give a child its figures over time: outside samples and
 * its own snapshots after its fork snapshot (0 without one).
 */
size_t cs_samples(const cs_proc_t *p);

/* A child with fewer than 2 of those: its figures rest on one point in time, or none. */
bool cs_few_samples(const cs_proc_t *p);

/*
 * The sampling interval achieved: the median time between two consecutive
 * outside samples of one child, over every child, in ms; NaN if no child was
 * sampled twice. *mean_ms (if not NULL) gets their mean, which shows what the
 * median hides when the budget held samples back for part of the run.
 */
double cs_achieved_interval_ms(const cs_model_t *m, double *mean_ms);

/*
 * The same in steps, over any set of children: init, add each child (counted;
 * its figures summed if it has a shared-at-fork set), finish (unknown sums
 * when none was measured; share retained).
 */
void cs_totals_init(cs_totals_t *t);
void cs_totals_add(cs_totals_t *t, const cs_proc_t *p);
void cs_totals_finish(cs_totals_t *t);

/*
 * The process whose backend stands for the run: the root if it recorded one,
 * else the first process that did. -1 if none.
 */
long cs_run_backend_proc(const cs_model_t *m);

/*
 * Write the report as JSON (schema_version 1, see DESIGN.md) to f. Returns 0,
 * -ENOMEM, or -EIO if writing failed.
 */
int cs_render_json(FILE *f, const cs_model_t *m, const cs_render_opts_t *o);

/* Pages for JSON: a whole number as an integer, a fraction with 3 decimals, NaN as null. */
void cs_json_pages(struct cs_json *j, const char *key, double v);

/* A stack frame as a JSON object (module, function, file, line, offset, inlined). */
void cs_json_frame(struct cs_json *j, const cs_frame_t *f);

/* Write the report as text for a person to f. Returns 0, -ENOMEM or -EIO. */
int cs_render_text(FILE *f, const cs_model_t *m, const cs_render_opts_t *o);

/*
 * The text report's allocation-site sections: the top o->top sites of each
 * child by copied MiB, with their stacks, then the same per sibling group of
 * two or more children. Nothing for a run without format 1.1 traces.
 * Returns 0 or -ENOMEM.
 */
int cs_render_text_sites(FILE *f, const cs_model_t *m, const cs_render_opts_t *o);

/*
 * Write folded stacks (flamegraph.pl, inferno, speedscope) to f: one line per
 * stack, frames outermost first joined by ';', a space, and the child-copied
 * pages of all children on it (unshared pages where the backend cannot split),
 * rounded; lines that round to 0 are left out. Labels are the function name
 * (as perf's folded stacks: no module), module+0xOFFSET without symbols,
 * "[unknown]" outside every module, "[bucket name]" for a bucket; ';' and
 * control characters in names are replaced. Lines sorted; lines of the same
 * text (sites that differ only by file:line) summed. Returns 0, -ENOMEM or
 * -EIO.
 */
int cs_render_folded(FILE *f, const cs_model_t *m, const cs_render_opts_t *o);

/*
 * Copy len bytes of s to buf (size bytes) made safe for a terminal: NUL
 * becomes a space, other control characters '?', trailing spaces dropped.
 * Returns buf.
 */
char *cs_clean_text(const char *s, size_t len, char *buf, size_t size);

/*
 * Format a byte count as MiB: "0", "<0.1", one decimal below 10 (without a
 * trailing ".0"), else a whole number. Returns buf.
 */
char *cs_fmt_mib(double bytes, char *buf, size_t size);

/*
 * A frame for a person, in buf: "function file:line", with " [module]"
 * outside the main program and " (inlined)"; "function [module]" without
 * lines; "module+0xoff" without symbols. Made safe for a terminal. Returns buf.
 */
char *cs_frame_label(const cs_frame_t *f, char *buf, size_t size);

/*
 * Print a site's stack, one frame a line, at most max_frames, the first line
 * where the cursor is and the others indented to column indent ("… N more
 * frames" when cut); a bucket prints as its "[name]".
 */
void cs_print_site_stack(FILE *f, const cs_site_t *s, size_t max_frames, int indent);

/* Format a percentage with one decimal ("<0.1" for a tiny nonzero one). Returns buf. */
char *cs_fmt_pct(double pct, char *buf, size_t size);

#endif
