/* SPDX-License-Identifier: MIT */
/* Allocation data of one process as the model holds it (format 1.1), and the sites it yields. */
#ifndef CS_ALLOCS_H
#define CS_ALLOCS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "cowscope/trace_format.h"
#include "labels.h"
#include "wsamples.h"

/* A loaded object, from CS_REC_MODULE. */
typedef struct cs_module {
	uint64_t base; /* load bias */
	cs_seg_t *segs;
	uint32_t nsegs;
	uint16_t build_id_len;
	uint8_t *build_id; /* NULL when build_id_len is 0 */
	char *path;        /* "" = the main program */
} cs_module_t;

/* An interned call stack, from CS_REC_STACK. */
typedef struct cs_stack {
	uint32_t id;
	uint32_t depth;
	uint64_t *ra; /* return addresses, innermost first */
} cs_stack_t;

/* What an event does. */
enum cs_aev_what { CS_AEV_ALLOC = 1, CS_AEV_FREE = 2 };

/* One allocation or free event, from CS_REC_ALLOCS or CS_REC_FREES (1.1), or CS_REC_EVPACK or
 * CS_REC_LIVESET (1.7). */
typedef struct cs_aev {
	uint64_t seq;
	uint64_t ptr;
	uint64_t len;    /* ALLOC: bytes requested; FREE: munmap/mremap bytes, else 0 */
	uint64_t weight; /* ALLOC: bytes the sample stands for */
	uint32_t stack;  /* ALLOC: stack id, 0 if none */
	uint8_t what;    /* enum cs_aev_what */
	uint8_t kind;    /* enum cs_alloc_kind or enum cs_free_kind */
	bool in_ckpt;    /* 1.7: an allocation listed by LIVESET number ckpt, not an event */
	bool unweighed;  /* 1.7: weight not known yet (cs_allocinfo_finish computes it) */
	uint32_t ckpt;   /* 1.7: LIVESETs before it in the file (its own number if in_ckpt) */
} cs_aev_t;

/* A LIVESET checkpoint (format 1.7), numbered from 1 in file order; its entries are in evs. */
typedef struct cs_ckpt {
	uint64_t cut; /* the live set once every event with seq < cut happened */
} cs_ckpt_t;

/* A frame of a symbolized stack. Strings live in the model's arena. */
typedef struct cs_frame {
	const char *module;   /* basename of the object, NULL if no module holds the address */
	const char *function; /* NULL if unknown (no symbols) */
	const char *file;     /* source file as the debug info names it, NULL if unknown */
	int64_t line;         /* CS_UNKNOWN (-1) if unknown */
	uint64_t offset;      /* pc - module base; the pc itself when no module holds it */
	bool inlined;         /* inlined into the next (outer) frame */
	bool main_program;    /* the module is the main program */
} cs_frame_t;

/*
 * The field view (format 1.4): changed words inside sampled allocations by their offset
 * from the allocation's start, one bin per 8-byte word up to 256 bytes, then one per
 * power-of-two range (256-511, 512-1023, ...; the last one open). cs_field_bin().
 */
#define CS_FIELD_WORD_BINS 32
#define CS_FIELD_BINS 64

/*
 * An allocation site (a symbolized stack) or a named bucket, with its share
 * of a child's pages. Page figures are fractional; NaN when the backend
 * cannot know them.
 */
typedef struct cs_site {
	const cs_frame_t *frames; /* innermost first; none for a bucket */
	size_t nframes;
	const char *bucket; /* NULL for an allocation site */
	const char *key;    /* frames as text (or the bucket name): how sites match */
	double child_copied;
	double parent_unshared;
	double unshared;
	double freed_in_child;    /* of child_copied: pages on allocations the child freed */
	uint64_t estimated_bytes; /* weights of its allocations live at the fork */
	uint64_t samples;         /* how many of them were recorded */
	/* format 1.4, NaN without changed words: the child's copied pages, as child_copied */
	double changed_bytes; /* changed words × 8 attributed to it (weighted when sampled) */
	double noop_copied;   /* its share of the compared copies without a changed word */
	double compared;      /* its share of the compared copies (amplification's numerator) */
	double fields[CS_FIELD_BINS]; /* changed words inside its allocations by offset, weighted
				       * as changed_bytes / 8 (buckets: all 0) */
} cs_site_t;

/* Everything a process's 1.1 records say about its allocations. */
typedef struct cs_allocinfo {
	bool has_sampling;
	uint64_t mean_bytes; /* 1 = exact mode */
	uint32_t max_depth;
	uint32_t sampling_flags; /* CS_SAMPLINGF_* */
	bool has_fork_point;
	uint64_t fp_alloc_seq;
	uint32_t fp_stack_id;
	cs_module_t *mods; /* in record order */
	size_t nmods, capmods;
	cs_stack_t *stacks; /* sorted by id, unique, after loading */
	size_t nstacks, capstacks;
	cs_aev_t *evs; /* sorted by seq after loading */
	size_t nevs, capevs;
	cs_ckpt_t *ckpts; /* 1.7: LIVESET checkpoints in file order; ckpts[k - 1] is number k */
	size_t nckpts, capckpts;
	/* the memory cap (cs_model_load_capped): events past max_evs are counted, not kept */
	uint64_t max_evs; /* 0: no cap */
	uint64_t skipped_evs;
	size_t skipped_from; /* file offset of the first record skipped */
	size_t file_len;     /* bytes of the process file */
} cs_allocinfo_t;

/* The sites of a sibling group: the children one parent image forked that run one command. */
typedef struct cs_group {
	long sib; /* its story sibling group (story.h), -1 if none */
	uint32_t ppid;
	long parent;        /* index in the model's procs */
	uint32_t *children; /* pids */
	size_t nchildren;
	cs_site_t *sites;
	size_t nsites;
	bool split;           /* child-copied and parent-unshared are known */
	cs_wstack_t *writers; /* format 1.5: the children's writers merged by key */
	size_t nwriters;
	uint64_t writer_samples, writer_samples_lost;
	cs_ltab_t *labels; /* format 1.6: the children's label tables summed, by kind */
	size_t nlabels;
} cs_group_t;

#endif
