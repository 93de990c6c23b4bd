/* SPDX-License-Identifier: MIT */
/* The run model: every process of a run directory, its snapshots, how it ended, and its figures. */
#ifndef CS_MODEL_H
#define CS_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "cowscope/trace_format.h"
#include "allocs.h"
#include "amp.h"
#include "arena.h"
#include "diag.h"
#include "labels.h"
#include "perfev.h"
#include "pageset.h"

/* A figure that may be unknown: CS_UNKNOWN prints as null. */
#define CS_UNKNOWN (-1)

/*
 * Notes the analyzer adds to a process (beside the trace's enum cs_note_code):
 * symbols that could not be read, allocations that could not be replayed.
 */
#define CS_NOTE_A_SYMBOLS 1000u
#define CS_NOTE_A_ALLOCS 1001u
#define CS_NOTE_A_WORDS 1002u   /* changed words past the memory cap were not kept */
#define CS_NOTE_A_NO_EXCL 1003u /* snapshots without bit 56: parent-unshared unknown */

/* Page sets in a snapshot, indexed by enum cs_pageset (1.4: up to CS_SET_PUNKNOWN). */
#define CS_NSETS 9

/* The sides of a comparison with the fork (enum cs_diff_side), format 1.4. */
#define CS_NSIDES 2

/* How a process image ended, as the report names it. */
enum cs_ended {
	CS_ENDED_UNKNOWN = 0,
	CS_ENDED_EXIT,
	CS_ENDED__EXIT,
	CS_ENDED_EXEC,
	CS_ENDED_SIGNAL,
};

typedef struct cs_mapping {
	uint64_t start;
	uint64_t end;
	uint64_t offset;
	uint8_t kind; /* enum cs_map_kind (unknown values kept) */
	uint8_t prot;
	uint16_t flags; /* CS_MAPF_* */
	char *name;
} cs_mapping_t;

/* Frame numbers of pages first_page .. first_page + count - 1 (0 = unknown). */
typedef struct cs_pfnrun {
	uint64_t first_page;
	uint64_t count;
	uint64_t *pfn;
} cs_pfnrun_t;

/*
 * One side's comparison with the fork in a snapshot (format 1.4): its CS_REC_DIFF summary
 * and the pages of its CS_REC_WORDS records with their bitmaps of changed words. The
 * compared pages without a change and those not comparable are the snapshot's sets
 * NOOP/UNKNOWN (child side) or PNOOP/PUNKNOWN (parent side).
 */
typedef struct cs_sdiff {
	bool has; /* its CS_REC_DIFF was read */
	uint16_t word_bytes;
	uint32_t stride; /* 1: exact; k: one page in k compared (estimates) */
	uint32_t flags;  /* CS_DIFFF_* */
	uint64_t considered;
	uint64_t compared;
	uint64_t changed_pages;
	uint64_t changed_words;
	uint64_t unknown[CS_DIFFW_COUNT]; /* by enum cs_diff_why - 1 */
	uint64_t cost_ns;
	uint16_t bitmap_words; /* u64 per bitmap: page size / 8 / 64 */
	uint64_t *ent; /* nwords entries of 1 + bitmap_words u64: the page, then its bitmap (bit i
			* of u64 j: word 64 j + i changed); ascending by page after loading */
	size_t nwords;
	size_t capent;   /* u64 allocated at ent */
	uint64_t capped; /* entries past the memory cap: counted, not kept */
} cs_sdiff_t;

/* Entry i of a side: its page, then bitmap_words u64 of bitmap. */
static inline const uint64_t *cs_sdiff_entry(const cs_sdiff_t *sd, size_t i)
{
	return &sd->ent[i * (1 + (size_t)sd->bitmap_words)];
}

typedef struct cs_snap {
	uint32_t seq;
	uint8_t reason;     /* enum cs_snap_reason */
	uint8_t backend;    /* enum cs_backend */
	bool complete;      /* its SNAP_END was read */
	bool from_samples;  /* read from the samples file */
	bool open;          /* begun, not yet ended, while loading */
	uint32_t end_flags; /* CS_SNAPF_* */
	uint64_t t_ns;
	uint64_t minflt;
	uint64_t majflt;
	uint64_t cost_ns;
	cs_mapping_t *maps;
	size_t nmaps, capmaps;
	cs_pageset_t sets[CS_NSETS];
	cs_pfnrun_t *pfns; /* sorted by first_page after loading */
	size_t npfns, cappfns;
	cs_sdiff_t diff[CS_NSIDES]; /* format 1.4, by enum cs_diff_side */
} cs_snap_t;

typedef struct cs_probed {
	uint8_t backend;
	uint8_t usable;
	int32_t err;
	char *reason;
} cs_probed_t;

typedef struct cs_note {
	uint32_t code; /* enum cs_note_code */
	int32_t err;
	char *text;
} cs_note_t;

typedef struct cs_forked {
	uint32_t child_pid;
	uint8_t via;
	uint64_t seq;
	uint64_t t_ns;
} cs_forked_t;

typedef struct cs_reaped {
	uint32_t pid;
	int32_t status; /* wait status */
	uint64_t t_ns;
} cs_reaped_t;

/* A cowscope_mark() of a process (format 1.2). */
typedef struct cs_mark {
	uint64_t t_ns; /* CLOCK_MONOTONIC */
	uint32_t seq;
	uint32_t snap_seq; /* its CS_SNAP_MARK snapshot, or UINT32_MAX */
	char *label;
} cs_mark_t;

/* A byte range the shim owns in a process. */
typedef struct cs_brange {
	uint64_t start;
	uint64_t end;
} cs_brange_t;

/* Per mapping figures of one child. */
typedef struct cs_mapfig {
	const char *name;
	uint8_t kind;
	uint64_t start;
	uint64_t end;
	int64_t size_pages;
	int64_t shared_at_fork;
	int64_t child_copied; /* CS_UNKNOWN when the backend cannot split */
	int64_t parent_unshared;
	int64_t unshared;
	int64_t child_new;
	bool approximate;
	cs_amp_t amp[CS_NSIDES]; /* format 1.4: changed words, by enum cs_diff_side */
} cs_mapfig_t;

/* One point of a child's timeline. */
typedef struct cs_tpoint {
	double t_ms;
	uint8_t reason;
	int64_t child_copied;
	int64_t parent_unshared;
	int64_t unshared;
} cs_tpoint_t;

/*
 * The figures of the last snapshot after the working one (docs/working-figures.md):
 * what the process still held after its teardown (atexit handlers, destructors, an
 * interpreter's finalization). CS_UNKNOWN (or NaN) where unknown.
 */
typedef struct cs_endfig {
	int64_t child_copied;
	int64_t parent_unshared;
	int64_t unshared;
	int64_t child_new;
	double share_retained;
	cs_amp_t amp; /* format 1.4: the child side's changed words */
} cs_endfig_t;

/*
 * The figures of one process; CS_UNKNOWN (or NaN) where unknown. The main ones are the
 * WORKING figures: from the working snapshot (the last one before the process began to
 * exit), with the copies recorded by CS_SNAP_UNMAP snapshots before it added.
 */
typedef struct cs_figures {
	int64_t shared_at_fork;
	int64_t child_copied;
	int64_t parent_unshared;
	int64_t unshared;
	int64_t child_new;
	int64_t minor_faults;
	double share_retained;
	bool partial; /* some of S lay in unarmed mappings: split unknown there */
	int64_t unarmed_pages;
	cs_mapfig_t *maps;
	size_t nmaps, capmaps;
	cs_tpoint_t *timeline;
	size_t ntimeline, captimeline;
	/* the working sets, kept for attributing pages to allocation sites */
	cs_pageset_t wc;  /* child-copied, when split */
	cs_pageset_t wp;  /* parent-unshared, when split */
	cs_pageset_t uns; /* unshared, when known */
	bool split;       /* wc and wp are known */
	bool no_wp;       /* but wp is not (CS_SNAPF_NO_EXCL): wc alone is known */
	bool known;       /* uns is known */
	/* working vs end (format 1.3) */
	uint8_t from; /* enum cs_snap_reason of the working snapshot; 0: no figures */
	bool has_end; /* a snapshot later than the working one: at_end holds its figures */
	cs_endfig_t at_end;
	int64_t peak_unshared;   /* most unshared pages at any observed moment (working included) */
	int64_t unmap_snaps;     /* CS_SNAP_UNMAP snapshots added to the working figures */
	int64_t released;        /* pages of S the child no longer maps at the working point */
	cs_amp_t amp[CS_NSIDES]; /* format 1.4: changed words of the working snapshot, by side */
} cs_figures_t;

/* A child's pages can be charged to owners: unshared is known, or child-copied without parent-unshared. */
static inline bool cs_fig_chargeable(const cs_figures_t *f)
{
	return f->known || f->no_wp;
}

typedef struct cs_proc {
	uint32_t pid;
	uint32_t gen;
	int64_t ppid; /* CS_UNKNOWN if not known */
	uint8_t role; /* enum cs_role */
	uint8_t fork_via;
	uint32_t page_size; /* 0 if not known */
	uint64_t start_ns;
	char *cmdline; /* arguments joined by NUL */
	size_t cmdline_len;
	char *exe;
	uint16_t fmt_minor; /* the process file's format minor version */
	bool has_file;      /* a process file exists */
	bool has_proc;      /* its CS_REC_PROC was read */
	bool has_samples;   /* a samples file exists */
	bool truncated;     /* the process file ends inside a record */
	bool has_backend;
	uint8_t backend; /* CS_REC_BACKEND.chosen */
	uint8_t requested;
	cs_probed_t *probed;
	size_t nprobed;
	cs_snap_t *snaps; /* sorted by t_ns after loading */
	size_t nsnaps, capsnaps;
	cs_forked_t *forks;
	size_t nforks, capforks;
	cs_reaped_t *reaped;
	size_t nreaped, capreaped;
	cs_note_t *notes;
	size_t nnotes, capnotes;
	cs_brange_t *shim;
	size_t nshim, capshim;
	cs_mark_t *marks; /* in record order */
	size_t nmarks, capmarks;
	bool has_end; /* an END not followed by a RESUME */
	uint8_t end_how;
	int32_t end_status;
	uint64_t end_ns;
	bool has_counters;
	uint32_t ncounters; /* values known, <= CS_CNT__COUNT */
	uint64_t counters[CS_CNT__COUNT];
	/* resolved after loading */
	int ended;       /* enum cs_ended */
	int exit_status; /* CS_UNKNOWN unless ended by exit/_exit */
	int signal;      /* CS_UNKNOWN unless killed by a signal */
	bool complete;
	const char *incomplete; /* why not complete, or NULL; may point at why_buf */
	char why_buf[160];
	int64_t records_lost; /* CS_NOTE_WRITE_LOST counts summed; CS_UNKNOWN if lost, uncounted */
	bool lost_records;    /* a CS_NOTE_WRITE_LOST note says records are missing */
	bool still_running;   /* alive when `cowscope run` stopped waiting */
	bool running_now;     /* alive when the report was made: no end, and a process with its pid
			       * and start time exists (cs_model_link) */
	bool exec_image;      /* an exec continuation of the process's previous gen (gen > 0) */
	uint32_t exec_no;     /* images before this one in its own exec chain (0: the first) */
	bool pid_reused;      /* gen > 0 but a new process that got a reused pid */
	long parent;          /* index in the model's procs, -1 for a tree root */
	size_t phase;         /* index in the model's phases: the one it was forked in */
	cs_figures_t fig;
	cs_allocinfo_t alloc;    /* format 1.1 allocation records */
	uint64_t max_word_pages; /* format 1.4: WORDS entries the memory cap lets it keep (0: all) */
	uint64_t word_pages;     /* WORDS entries kept */
	bool has_sites;          /* sites were attributed (a measured child of a 1.1 trace) */
	cs_site_t *sites;        /* sorted for the report */
	size_t nsites;
	int64_t shim_pages; /* the shim's own footprint in this child (shimcost.h) */
	/* format 1.3: CS_REC_ALLOCATOR, the allocator the process used */
	bool has_allocator;
	uint32_t allocator_flags; /* CS_ALLOCF_* */
	char *allocator_name;
	char *allocator_path; /* "" when the shim could not tell */
	/* format 1.5: page-fault samples, and the writers of the child's copies */
	cs_wsampinfo_t ws;
	bool has_writers;     /* writers were joined (a measured child with samples) */
	cs_wstack_t *writers; /* by pages, most first; the no-writer bucket among them */
	size_t nwriters;
	cs_evinfo_t ev;     /* format 1.5: perf event counts (perfev.h) */
	cs_labels_t labels; /* format 1.6: its labellings; a child's tables (lattrib.h) */
} cs_proc_t;

/* What run.cst says. */
typedef struct cs_runinfo {
	bool present; /* run.cst exists */
	bool has_run;
	bool has_end;
	bool truncated;
	uint32_t sup_pid; /* the supervisor (file header pid) */
	uint64_t start_ns;
	uint32_t root_pid;
	uint32_t interval_ms;
	uint32_t linger_ms;
	uint8_t backend; /* requested; CS_BACKEND_NONE for auto */
	char *cmdline;
	size_t cmdline_len;
	char *cwd;
	cs_reaped_t *reaped;
	size_t nreaped, capreaped;
	uint64_t end_ns;
	int32_t root_status;
	uint32_t still_running;
	uint64_t samples;
	uint64_t sample_ns;
} cs_runinfo_t;

typedef struct cs_model {
	char *dir;    /* as given */
	char *absdir; /* resolved, or a copy of dir */
	cs_runinfo_t run;
	cs_proc_t *procs; /* sorted by (pid, gen) */
	size_t nprocs, capprocs;
	long root;     /* index of the run's root process, -1 if none */
	bool v11;      /* some process file is format 1.1 or newer: report sites */
	bool v12;      /* some process file is format 1.2 or newer: report phases */
	bool has_diff; /* some snapshot holds a CS_REC_DIFF (format 1.4): report changed words in
			* detail (without one, only the flat keys, null) */
	const char **phases; /* phase names in order of their first mark; [0] is "start" */
	size_t nphases;
	cs_arena_t arena; /* frames, names and keys of the sites */
	cs_group_t *
		groups; /* sibling groups' sites: groups[i] belongs to story->sibs[groups[i].sib] */
	size_t ngroups;
	uint64_t max_memory_bytes; /* the cap cs_model_load_capped was given (or the default) */
	uint64_t evs_left;         /* allocation events the cap still allows */
	uint64_t skipped_evs;      /* allocation events past the cap, all processes */
	struct cs_story *story;    /* roles, sibling groups, significance (story.h); NULL until
				    * computed */
	uint64_t words_left;       /* format 1.4 WORDS entries (72 B each for 4 KiB pages) the cap
				    * still allows: an eighth of it */
} cs_model_t;

/* Sort the processes of m by (pid, gen), as cs_model_find needs. */
void cs_model_sort(cs_model_t *m);

/* Free the contents of a snapshot. */
void cs_snap_free(cs_snap_t *s);

/* Free the contents of a process. */
void cs_proc_free(cs_proc_t *p);

/* Free the backends a process probed. */
void cs_probed_free(cs_proc_t *p);

/* Free a module's segments, build-id and path. */
void cs_module_free(cs_module_t *m);

/* Free what a holds; it becomes empty. */
void cs_allocinfo_free(cs_allocinfo_t *a);

/* Free everything the model holds. */
void cs_model_free(cs_model_t *m);

/* Index of process (pid, gen) in a loaded model, or -1. O(log n). */
long cs_model_find(const cs_model_t *m, uint32_t pid, uint32_t gen);

/* Name of an enum cs_ended value ("exit", "_exit", "exec", "signal", "unknown"). */
const char *cs_ended_name(int ended);

/* Name of a mapping kind ("heap", "stack", "anon", "file", "shared", "other"). */
const char *cs_map_kind_name(int kind);

/*
 * Name of a note code ("backend_fallback", ...; "symbols" and "allocations"
 * for the analyzer's own; "other" for a code this version does not know).
 */
const char *cs_note_code_name(uint32_t code);

/*
 * Write the command line of a NUL-joined argument list into buf as words
 * separated by spaces, an empty argument or one holding whitespace or a quote in
 * single quotes (`a '' 'b c'`), cut to fit: 4 * len + 3 bytes always fit. Returns buf.
 */
char *cs_cmdline_str(const char *cmdline, size_t len, char *buf, size_t size);

#endif
