/* SPDX-License-Identifier: MIT */
/* Labelled ranges (format 1.6): a process's labellings and the label tables of its children. */
#ifndef CS_LABELS_H
#define CS_LABELS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "cowscope/trace_format.h"

/* One labelling a process recorded (CS_REC_LSET and the CS_REC_LRANGES of its set). */
typedef struct cs_lset {
	uint32_t set;     /* its number in the process */
	uint32_t flags;   /* CS_LSETF_* */
	uint64_t nranges; /* ranges its LSET announced */
	uint64_t t_ns;
	uint64_t bytes; /* the bytes its ranges stand for, as its LSET says */
	char *kind;
	char **names;
	uint32_t nnames;
	cs_lrange_t *ranges; /* those kept, in file order (sorted by addr when joined) */
	size_t nr, capr;
	uint64_t got;     /* ranges read, dropped ones included */
	uint64_t covered; /* bytes the kept ranges cover (their lens summed) */
	uint64_t dropped; /* ranges dropped: label index not below nnames, empty or overflowing */
	bool complete;    /* got == nranges once the file is read */
	bool sorted;      /* ranges sorted by addr (cs_lset_sort) */
} cs_lset_t;

/* Columns of a label row (pages). */
enum cs_lcol { CS_LCOL_CC = 0, CS_LCOL_PU, CS_LCOL_UN, CS_NLCOLS };

/* One label's pages in a child (or summed over a sibling group). */
typedef struct cs_lrow {
	const char *label; /* lives as long as the model */
	double v[CS_NLCOLS];
} cs_lrow_t;

/*
 * A child's pages charged to the labels of one kind: the parent's labelling it inherited.
 * Rows sorted by child-copied pages (unshared when not split) descending, then label.
 */
typedef struct cs_ltab {
	const char *kind;
	uint32_t set; /* the parent's labelling number */
	uint32_t parent_pid;
	bool sampled;
	bool split; /* child-copied and parent-unshared are known (else only unshared) */
	bool no_wp; /* but parent-unshared is not (COWSCOPE_PARENT_UNSHARED=off) */
	uint64_t nranges, bytes;
	double sample_k; /* a sampled labelling: one object in k by bytes (bytes / covered) */
	cs_lrow_t *rows;
	size_t nrows;
	cs_lrow_t rest; /* "not labelled" (label NULL) */
	size_t members; /* children summed (1 for a child) */
} cs_ltab_t;

/* A process's labellings (its own) and the tables of what it inherited (a child). */
typedef struct cs_labels {
	cs_lset_t *sets;
	size_t nsets, capsets;
	cs_ltab_t *tabs; /* sorted by kind */
	size_t ntabs;
} cs_labels_t;

/* The figure rows are ranked by: child-copied when split, else unshared. */
static inline double cs_lrow_key(const cs_ltab_t *t, const cs_lrow_t *r)
{
	return t->split ? r->v[CS_LCOL_CC] : r->v[CS_LCOL_UN];
}

/* Sort t's rows: by cs_lrow_key descending, then label. O(rows log rows). */
void cs_ltab_sort(cs_ltab_t *t);

/* Free a table's rows; it becomes empty. */
void cs_ltab_free(cs_ltab_t *t);

/* Free tables v[0..n) and v. */
void cs_ltabs_free(cs_ltab_t *v, size_t n);

/* Free a labelling's names and ranges. */
void cs_lset_free(cs_lset_t *s);

/* Free everything l holds; it becomes empty. */
void cs_labels_free(cs_labels_t *l);

/*
 * Add table t (a child's, or a group's so far) into the tables *v (*n of them, sorted by
 * kind): rows summed by label; set, parent and counts taken from the first table of the
 * kind, sampled if any is. *v's rows are re-sorted by the caller (cs_ltab_sort) once all
 * are added. Returns 0 or -ENOMEM. O(rows × log) per table via a sorted merge.
 */
int cs_ltabs_add(cs_ltab_t **v, size_t *n, const cs_ltab_t *t);

/* The table of kind in v[0..n), or NULL. */
const cs_ltab_t *cs_ltabs_find(const cs_ltab_t *v, size_t n, const char *kind);

/* One label on either side of a diff: its pages (the diff's metric) before and after. */
typedef struct cs_ldiffrow {
	const char *label;
	double before, after, delta; /* pages; a side without the label: 0 */
} cs_ldiffrow_t;

/* One kind's labels compared. Rows by |delta| descending, then label. */
typedef struct cs_ldiff {
	const char *kind;
	cs_ldiffrow_t *rows;
	size_t nrows;
} cs_ldiff_t;

/*
 * Compare the label tables of two sides (b[0..nb), a[0..na), each summed over its
 * children): per kind of either side, every label of either with its child-copied pages
 * (unshared when !split) before, after and their difference, into *out (kinds sorted;
 * free with cs_ldiffs_free). Returns 0 or -ENOMEM. O(rows log rows).
 */
int cs_ldiff_compute(const cs_ltab_t *b, size_t nb, const cs_ltab_t *a, size_t na, bool split,
		     cs_ldiff_t **out, size_t *nout);

/* Free diffs v[0..n) and v. */
void cs_ldiffs_free(cs_ldiff_t *v, size_t n);
#endif
