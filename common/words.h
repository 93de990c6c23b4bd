/* SPDX-License-Identifier: MIT */
/* Changed words (words.c): compare a fork child's pages with the parent's, written as CS_REC_DIFF/WORDS/PAGES. */
#ifndef CS_WORDS_H
#define CS_WORDS_H

#include <stdint.h>
#include "cowscope/trace_format.h"
#include "writer.h"

/* Pages compared per side and snapshot by default (COWSCOPE_DIFF=auto). */
#define CS_DIFF_DEFAULT_BUDGET 65536u

/* Scratch a comparison needs (maps buffer, parent pages, scan vectors, record builders). */
#define CS_DIFF_SCRATCH (192u * 1024u)

/* COWSCOPE_DIFF modes. */
enum cs_diff_mode { CS_DIFF_AUTO = 0, CS_DIFF_ALL = 1, CS_DIFF_OFF = 2 };

typedef struct cs_diff {
	/* Set by the caller. */
	int self_pm_fd;    /* this process's pagemap (its written and exclusive pages) */
	int view_mem_fd;   /* the parent's memory (/proc/self/mem the parent opened), or -1 */
	int view_pm_fd;    /* the parent's pagemap, the same way, or -1 */
	uint8_t backend;   /* enum cs_backend: which written set (uffd-wp or soft-dirty) */
	uint8_t no_view;   /* the view is not usable: every page is CS_DIFFW_NO_VIEW */
	uint8_t all;       /* no budget (CS_DIFFF_ALL) */
	uint8_t no_parent; /* child side only: the parent side's candidates need bit 56
			    * (COWSCOPE_PARENT_UNSHARED=off reads none) */
	uint32_t budget;   /* pages per side when !all (0: CS_DIFF_DEFAULT_BUDGET) */
	uint32_t seq;      /* the snapshot */
	unsigned page_shift;
	const char *shim_path; /* mappings of this file are the shim's: never compared */
	uint64_t own[3][2];    /* [start, end) ranges of the shim's own memory */
	uint64_t lo, hi;       /* only [lo, hi); 0, 0: everything */
	/* The harvest's exclusive runs of this snapshot (cs_harvest_excl), nexcl of
	 * them, or NULL: the parent side then reads bit 56 from the pagemap itself. */
	const cs_run_t *excl;
	uint32_t nexcl;
	cs_writer_t *w;
	uint8_t *scratch; /* CS_DIFF_SCRATCH bytes, owned by the caller */
	/* Results: the two records written (side CS_DIFF_CHILD, CS_DIFF_PARENT). */
	cs_rec_diff_t rec[2];
} cs_diff_t;

/*
 * Compare, per side, the candidates (child side: this process's written pages;
 * parent side: its present, exclusive, unwritten pages) with the parent's
 * pages read through the view, one in d->rec[side].stride over the budget,
 * and write for each side the CS_REC_WORDS, the CS_REC_PAGES sets
 * (NOOP/UNKNOWN, PNOOP/PUNKNOWN) and one CS_REC_DIFF. Reads this process's
 * own pages directly (readable mappings only), never writes program memory.
 * Cost: two PAGEMAP_SCAN passes over the written set and over the present
 * unwritten part of the exclusive runs (d->excl; without them, a pagemap read
 * of the present unwritten pages, twice), then about 1-3 us per compared page.
 * Returns 0 or -errno (write failures). fork-child-safe; not reentrant
 * (d->scratch).
 */
int cs_diff_run(cs_diff_t *d);

/*
 * Compare two pages word by word: set bit i of bitmap word i / 64 for each
 * differing 8-byte word, return how many differ. bitmap has page_bytes / 512
 * words. Pure, hook-safe.
 */
uint32_t cs_diff_words(const uint64_t *a, const uint64_t *b, size_t page_bytes, uint64_t *bitmap);

#endif
