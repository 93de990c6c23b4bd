/* SPDX-License-Identifier: MIT */
/* The cowscope trace file format, version 1.7: the contract between shim and analyzer. */
#ifndef COWSCOPE_TRACE_FORMAT_H
#define COWSCOPE_TRACE_FORMAT_H

#include <stddef.h>
#include <stdint.h>

/*
 * A run directory holds one file per process image ("<pid>.<gen>.cst",
 * written by the shim inside that process) and one file per sampled process
 * ("<pid>.<gen>.samples.cst", written by `cowscope run` from outside). <gen>
 * counts exec generations of one pid from 0.
 *
 * File header (32 bytes, host byte order; byte_order tells the reader):
 *
 *   offset size field
 *   0      8    magic          "COWSCOPE"
 *   8      2    version_major  CS_TRACE_MAJOR; a reader refuses a newer major
 *   10     2    version_minor  CS_TRACE_MINOR; a reader skips unknown record types
 *   12     4    header_bytes   32; a reader skips to this offset
 *   16     4    byte_order     0x01020304 as written by the producer
 *   20     4    file_kind      CS_FILE_PROCESS or CS_FILE_SAMPLES
 *   24     4    pid            the traced process
 *   28     4    gen            exec generation
 *
 * Records follow, each starting with cs_rec_hdr_t:
 *
 *   0      2    type           CS_REC_*
 *   2      2    flags          0 in v1.0
 *   4      4    size           whole record in bytes, header included,
 *                              a multiple of 8, >= 8, <= CS_REC_MAX_BYTES
 *
 * Records are appended with one write(2) each on an O_APPEND descriptor, so
 * they never interleave. A file that ends inside a record was cut short (crash,
 * SIGKILL, full disk): the reader keeps every whole record before it and marks
 * the process incomplete.
 *
 * Strings inside records are length-prefixed (u16 length, then bytes, no NUL)
 * and the record is zero-padded to a multiple of 8.
 */

#define CS_TRACE_MAGIC "COWSCOPE"
#define CS_TRACE_MAGIC_LEN 8
#define CS_TRACE_MAJOR 1
#define CS_TRACE_MINOR 7
#define CS_TRACE_BYTE_ORDER 0x01020304u
#define CS_REC_MAX_BYTES (16u << 20)
#define CS_TRACE_SUFFIX ".cst"
#define CS_SAMPLES_SUFFIX ".samples.cst"

/*
 * `cowscope run` also writes "run.cst" (CS_FILE_RUN, pid = its own): one
 * CS_REC_RUN, a CS_REC_CHILD_EXIT for every process it reaped (CMD and the
 * orphans it adopted as subreaper), and a CS_REC_RUN_END.
 */
#define CS_RUN_FILE "run.cst"

enum cs_file_kind { CS_FILE_PROCESS = 1, CS_FILE_SAMPLES = 2, CS_FILE_RUN = 3 };

typedef struct cs_file_hdr {
	char magic[CS_TRACE_MAGIC_LEN];
	uint16_t version_major;
	uint16_t version_minor;
	uint32_t header_bytes;
	uint32_t byte_order;
	uint32_t file_kind;
	uint32_t pid;
	uint32_t gen;
} cs_file_hdr_t;

typedef struct cs_rec_hdr {
	uint16_t type;
	uint16_t flags;
	uint32_t size;
} cs_rec_hdr_t;

enum cs_rec_type {
	CS_REC_PROC = 1,        /* cs_rec_proc_t + strings: who this process is */
	CS_REC_BACKEND = 2,     /* cs_rec_backend_t + entries: which backend and why */
	CS_REC_SNAP_BEGIN = 3,  /* cs_rec_snap_t: a page-state snapshot starts */
	CS_REC_MAPPING = 4,     /* cs_rec_mapping_t + name: one mapping in a snapshot */
	CS_REC_PAGES = 5,       /* cs_rec_pages_t + runs: one page set, part of a snapshot */
	CS_REC_PFNS = 6,        /* cs_rec_pfns_t + u64 pfns: frame numbers of a run */
	CS_REC_SNAP_END = 7,    /* cs_rec_snap_end_t: the snapshot is whole */
	CS_REC_FORK = 8,        /* cs_rec_fork_t: this process forked a child */
	CS_REC_CHILD_EXIT = 9,  /* cs_rec_child_exit_t: this process reaped a child */
	CS_REC_END = 10,        /* cs_rec_end_t: the process image ends */
	CS_REC_RESUME = 11,     /* cs_rec_resume_t: an exec failed; the image goes on */
	CS_REC_COUNTERS = 12,   /* cs_rec_counters_t + u64 values, see CS_COUNTERS */
	CS_REC_NOTE = 13,       /* cs_rec_note_t + text: a degradation, with its reason */
	CS_REC_SHIM_RANGE = 14, /* cs_rec_shim_range_t: memory the shim owns, excluded */
	CS_REC_RUN = 15,        /* cs_rec_run_t + strings: a `cowscope run` (run.cst only) */
	CS_REC_RUN_END = 16,    /* cs_rec_run_end_t: the supervised tree is done (run.cst only) */
	/* 1.1: allocation sites */
	CS_REC_SAMPLING = 17, /* cs_rec_sampling_t: how allocations are sampled in this process */
	CS_REC_MODULE = 18,   /* cs_rec_module_t + segments + build-id + path: a loaded object */
	CS_REC_STACK = 19,    /* cs_rec_stack_t + u64 frames: an interned call stack */
	CS_REC_ALLOCS = 20,   /* cs_rec_events_t + cs_alloc_ev_t[]: sampled allocations */
	CS_REC_FREES = 21, /* cs_rec_events_t + cs_free_ev_t[]: frees of (possibly) sampled ones */
	CS_REC_FORK_POINT =
		22, /* cs_rec_fork_point_t: in a child, where the parent's history stops */
	/* 1.2: phases */
	CS_REC_MARK = 23, /* cs_rec_mark_t + str label: cowscope_mark() */
	/* 1.3: real programs */
	CS_REC_ALLOCATOR = 24, /* cs_rec_allocator_t + strings: the allocator the program uses */
	/* 1.4: changed words (COW amplification) */
	CS_REC_DIFF = 25,  /* cs_rec_diff_t: one side's comparison with the fork, in a snapshot */
	CS_REC_WORDS = 26, /* cs_rec_words_t + entries: pages with changed words, and which */
	/* 1.5: perf events (counters) and page-fault samples (writers) */
	CS_REC_EVDEFS = 27,   /* cs_rec_evdefs_t + cs_event_def_t[] + str names: what is counted */
	CS_REC_COUNTS = 28,   /* cs_rec_counts_t + cs_count_t[]: the counts at a snapshot or mark */
	CS_REC_WSAMPLES = 29, /* cs_rec_wsamples_t + samples: page faults with address and stack */
	/* 1.6: labelled ranges (cowscope_label_ranges: a runtime's objects by type, by line) */
	CS_REC_LSET = 30,    /* cs_rec_lset_t + str kind + str names: a labelling begins */
	CS_REC_LRANGES = 31, /* cs_rec_lranges_t + cs_lrange_t[]: ranges of that labelling */
	/* 1.7: packed events and live-set checkpoints */
	CS_REC_EVPACK = 32,  /* cs_rec_evpack_t + packed events: a thread's allocations and frees */
	CS_REC_LIVESET = 33, /* cs_rec_evpack_t + packed allocations: the live sampled set */
};

/* Process roles. */
enum cs_role { CS_ROLE_ROOT = 0, CS_ROLE_CHILD = 1 };

/* How a child came to be. */
enum cs_fork_via { CS_VIA_NONE = 0, CS_VIA_FORK = 1, CS_VIA_UNDERSCORE_FORK = 2 };

/* Page-tracking backends, best first. */
enum cs_backend {
	CS_BACKEND_NONE = 0,
	CS_BACKEND_UFFD_WP = 1,
	CS_BACKEND_SOFT_DIRTY = 2,
	CS_BACKEND_PFN = 3,
	CS_BACKEND_EXCLUSIVE = 4,
	CS_BACKEND_COUNT = 5,
};

typedef struct cs_rec_proc {
	cs_rec_hdr_t h;
	uint32_t pid;
	uint32_t ppid;
	uint32_t gen;
	uint8_t role;     /* enum cs_role */
	uint8_t fork_via; /* enum cs_fork_via */
	uint16_t pad0;
	uint32_t page_size;
	uint32_t pad1;
	uint64_t start_ns;        /* CLOCK_MONOTONIC */
	uint64_t parent_fork_seq; /* index of the fork in the parent (CS_REC_FORK.seq) */
	/* then: str cmdline (arguments joined by NUL), str exe, str shim_path */
} cs_rec_proc_t;

/* One entry per backend in CS_REC_BACKEND, after the fixed part. */
typedef struct cs_backend_entry {
	uint8_t backend; /* enum cs_backend */
	uint8_t usable;  /* 1 if its probe passed */
	uint16_t reason_len;
	int32_t err; /* errno of the failing step, 0 if none */
		     /* then reason_len bytes of text, padded to 8 */
} cs_backend_entry_t;

typedef struct cs_rec_backend {
	cs_rec_hdr_t h;
	uint8_t chosen;    /* enum cs_backend actually in use */
	uint8_t requested; /* COWSCOPE_BACKEND, or CS_BACKEND_NONE for "auto" */
	uint8_t scan;      /* 1 if PAGEMAP_SCAN is available */
	uint8_t nentries;
	uint32_t pad;
	/* then nentries cs_backend_entry_t, each followed by its reason */
} cs_rec_backend_t;

/* Why a snapshot was taken. */
enum cs_snap_reason {
	CS_SNAP_FORK = 1,   /* the child, first thing after fork: the shared set */
	CS_SNAP_EXIT = 2,   /* exit() or return from main */
	CS_SNAP__EXIT = 3,  /* _exit() / _Exit() */
	CS_SNAP_EXEC = 4,   /* just before exec* */
	CS_SNAP_API = 5,    /* cowscope_snapshot() */
	CS_SNAP_SAMPLE = 6, /* `cowscope run` sampling from outside */
	CS_SNAP_MARK = 7,   /* (1.2) cowscope_mark() in a child */
	CS_SNAP_WORK = 8,   /* (1.3) the process begins to exit: exit() before its atexit
			     * handlers, or a runtime's own hook (cowscope_exiting(), e.g. the
			     * CPython helper's atexit) before its teardown. The working figures. */
	CS_SNAP_UNMAP = 9,  /* (1.3) a partial snapshot of [start, end) about to be unmapped:
			     * only the mappings (clipped) of that range. Copies made there are
			     * kept although the pages are gone afterwards. */
};

typedef struct cs_rec_snap {
	cs_rec_hdr_t h;
	uint32_t seq;    /* snapshot number within the file */
	uint8_t reason;  /* enum cs_snap_reason */
	uint8_t backend; /* enum cs_backend whose sets follow */
	uint16_t pad;
	uint64_t t_ns;   /* CLOCK_MONOTONIC */
	uint64_t minflt; /* minor faults of the process so far */
	uint64_t majflt;
} cs_rec_snap_t;

typedef struct cs_rec_snap_end {
	cs_rec_hdr_t h;
	uint32_t seq;
	uint32_t flags;   /* CS_SNAPF_* */
	uint64_t cost_ns; /* time the snapshot took */
} cs_rec_snap_end_t;

#define CS_SNAPF_TRUNCATED 1u /* some set was cut short (limit or error); see notes */
#define CS_SNAPF_NO_EXCL \
	2u /* 1.7: no exclusive set was read (COWSCOPE_PARENT_UNSHARED=off): parent-unshared, \
	    * and so unshared and the split, are unknown in this snapshot */

/* Mapping kinds. */
enum cs_map_kind {
	CS_MAP_HEAP = 1,   /* [heap] */
	CS_MAP_STACK = 2,  /* [stack] */
	CS_MAP_ANON = 3,   /* private anonymous */
	CS_MAP_FILE = 4,   /* private file mapping (.data/.bss of a module, ...) */
	CS_MAP_SHARED = 5, /* MAP_SHARED: never copied on write */
	CS_MAP_OTHER = 6,  /* anything else that is writable */
};

/* Mapping flags. */
#define CS_MAPF_ARMED 1u   /* the backend tracks writes here (uffd-wp registered) */
#define CS_MAPF_HUGE 2u    /* huge pages seen: figures approximate */
#define CS_MAPF_SHIM 4u    /* the shim's own memory: excluded from every figure */
#define CS_MAPF_SKIPPED 8u /* too large or unreadable: not scanned */

typedef struct cs_rec_mapping {
	cs_rec_hdr_t h;
	uint64_t start;
	uint64_t end;
	uint64_t offset;
	uint32_t seq;   /* snapshot this belongs to */
	uint8_t kind;   /* enum cs_map_kind */
	uint8_t prot;   /* PROT_* bits */
	uint16_t flags; /* CS_MAPF_* */
			/* then str name (path or [heap] etc., may be empty) */
} cs_rec_mapping_t;

/* Page sets. Each is a list of runs of page numbers (address >> page shift). */
enum cs_pageset {
	CS_SET_PRESENT =
		1, /* present or swapped, private (not file/shared) and not the zero page */
	CS_SET_WRITTEN = 2, /* uffd-wp: written since armed; soft-dirty: dirty since cleared */
	CS_SET_EXCL = 3,    /* pagemap bit 56: mapped exactly once */
	CS_SET_HUGE = 4,    /* backed by a huge page */
	/* 1.4 (with CS_REC_DIFF; older readers skip unknown sets) */
	CS_SET_NOOP = 5,     /* child-copied, compared with the fork: no word changed */
	CS_SET_UNKNOWN = 6,  /* child-copied, not comparable (CS_REC_DIFF says why) */
	CS_SET_PNOOP = 7,    /* parent-unshared, compared: no word changed */
	CS_SET_PUNKNOWN = 8, /* parent-unshared, not comparable */
};

typedef struct cs_run {
	uint64_t first_page;
	uint64_t npages;
} cs_run_t;

typedef struct cs_rec_pages {
	cs_rec_hdr_t h;
	uint32_t seq;
	uint8_t set; /* enum cs_pageset */
	uint8_t pad[3];
	/* then (size - 16) / 16 cs_run_t, ascending and non-overlapping */
} cs_rec_pages_t;

typedef struct cs_rec_pfns {
	cs_rec_hdr_t h;
	uint32_t seq;
	uint32_t count;
	uint64_t first_page;
	/* then count u64 frame numbers, one per page from first_page */
} cs_rec_pfns_t;

typedef struct cs_rec_fork {
	cs_rec_hdr_t h;
	uint32_t child_pid;
	uint8_t via; /* enum cs_fork_via */
	uint8_t pad[3];
	uint64_t seq; /* fork number within this process */
	uint64_t t_ns;
} cs_rec_fork_t;

typedef struct cs_rec_child_exit {
	cs_rec_hdr_t h;
	uint32_t pid;
	int32_t status; /* as from waitpid(2) */
	uint64_t t_ns;
} cs_rec_child_exit_t;

/* How a process image ended. */
enum cs_end_how {
	CS_END_UNKNOWN = 0,
	CS_END_EXIT = 1,   /* exit() or return from main */
	CS_END__EXIT = 2,  /* _exit() / _Exit() */
	CS_END_EXEC = 3,   /* replaced by exec */
	CS_END_SIGNAL = 4, /* killed by a signal (seen from outside) */
};

typedef struct cs_rec_end {
	cs_rec_hdr_t h;
	uint8_t how; /* enum cs_end_how */
	uint8_t pad[3];
	int32_t status; /* exit status (or signal number) */
	uint64_t t_ns;
} cs_rec_end_t;

typedef struct cs_rec_resume {
	cs_rec_hdr_t h;
	int32_t err; /* errno of the failed exec */
	uint32_t pad;
	uint64_t t_ns;
} cs_rec_resume_t;

/*
 * Counters, an X-macro list: X(id, "name"). Values are written in this order in
 * CS_REC_COUNTERS; a reader takes as many as the record holds. Positions never
 * change: a retired counter keeps its slot with a NULL name (readers skip it).
 */
#define CS_COUNTERS(X)                                     \
	X(CS_CNT_TRACE_REOPEN, "trace_reopened")           \
	X(CS_CNT_WRITE_FAIL, "trace_write_failed")         \
	X(CS_CNT_ARM_FAIL, "arm_failed_mappings")          \
	X(CS_CNT_ARM_OK, "armed_mappings")                 \
	X(CS_CNT_SNAP_BUSY, "snapshots_skipped_busy")      \
	X(CS_CNT_SNAP_FAIL, "snapshots_failed")            \
	X(CS_CNT_MAPS_SKIPPED, "mappings_skipped")         \
	X(CS_CNT_FORKS, "forks")                           \
	X(CS_CNT_RETIRED_8, NULL) /* 1.0: never counted */ \
	X(CS_CNT_EVENTS_DROPPED, "alloc_events_dropped")   \
	X(CS_CNT_STACKS_FULL, "stack_table_full")          \
	X(CS_CNT_SELF_TRACK, "self_tracking_armed")        \
	X(CS_CNT_SELF_TRACK_NS, "self_tracking_ns")

enum cs_counter_id {
#define CS_X_ENUM(id, name) id,
	CS_COUNTERS(CS_X_ENUM)
#undef CS_X_ENUM
		CS_CNT__COUNT
};

typedef struct cs_rec_counters {
	cs_rec_hdr_t h;
	uint32_t count;
	uint32_t pad;
	/* then count u64 values in CS_COUNTERS order */
} cs_rec_counters_t;

/* Note codes: why something degraded. */
enum cs_note_code {
	CS_NOTE_BACKEND_FALLBACK = 1, /* the requested backend was not usable */
	CS_NOTE_ARM_FAILED = 2,       /* arming tracking failed; figures from the fallback */
	CS_NOTE_SCAN_FAILED = 3,      /* a snapshot could not read page state */
	CS_NOTE_OPTION = 4,           /* a bad COWSCOPE_* value */
	CS_NOTE_TRACE = 5,            /* the trace file needed reopening */
	CS_NOTE_LIMIT = 6,            /* a mapping was too large to scan */
	/* 1.3 */
	CS_NOTE_WRITE_LOST = 7,   /* records were lost (err: ENOSPC, EBADF, ...); none partial */
	CS_NOTE_BLIND = 8,        /* page state could not be read: figures unknown, not 0 */
	CS_NOTE_UNWIND_OFF = 9,   /* stacks off in this process (e.g. a parent thread was
				       * inside the unwinder at the fork) */
	CS_NOTE_ARM_SKIPPED = 10, /* mappings not armed (reserved, unpopulated, too large) */
	CS_NOTE_FD = 11,          /* a descriptor was not ours any more, or none could be had
				       * outside the program's range: what the shim did instead */
	/* 1.5 */
	CS_NOTE_EVENTS = 12,  /* an event could not be named or opened (bad name, perf not
			       * permitted, no PMU): err and text say which and why */
	CS_NOTE_WRITERS = 13, /* page-fault sampling could not start or lost samples */
	CS_NOTE_LABELS = 14,  /* 1.6: a labelling was refused or cut short: err and text say why */
	CS_NOTE_COMPACT = 15, /* 1.7: live-set compaction is off in this process: text says why */
};

typedef struct cs_rec_note {
	cs_rec_hdr_t h;
	uint32_t code; /* enum cs_note_code */
	int32_t err;
	/* then str text */
} cs_rec_note_t;

/* Memory the shim itself owns in this process (its arena); never counted. */
typedef struct cs_rec_shim_range {
	cs_rec_hdr_t h;
	uint64_t start;
	uint64_t end;
} cs_rec_shim_range_t;

typedef struct cs_rec_run {
	cs_rec_hdr_t h;
	uint64_t start_ns; /* CLOCK_MONOTONIC */
	uint32_t root_pid; /* CMD's pid */
	uint32_t interval_ms;
	uint32_t linger_ms;
	uint8_t backend; /* requested backend, CS_BACKEND_NONE for auto */
	uint8_t pad[3];
	/* then str cmdline (arguments joined by NUL), str cwd */
} cs_rec_run_t;

typedef struct cs_rec_run_end {
	cs_rec_hdr_t h;
	uint64_t t_ns;
	int32_t root_status;    /* CMD's wait status */
	uint32_t still_running; /* descendants still alive when waiting stopped */
	uint64_t samples;       /* samples taken */
	uint64_t sample_ns;     /* CPU time the samples took (the supervisor's, kernel included);
			      * wall time of the sampling rounds in runs made before 2026-11 */
} cs_rec_run_end_t;

/*
 * ---- 1.1: allocation sites ----
 *
 * The shim samples allocations by bytes: each thread draws a geometric byte
 * interval of mean CS_REC_SAMPLING.mean_bytes; the allocation that crosses it
 * is recorded with weight_bytes = size / (1 - exp(-size / mean)), so summing
 * weights estimates bytes without bias. mean_bytes == 1 records every
 * allocation (exact mode, weight == size).
 *
 * Events carry a sequence number from one per-process counter, so events
 * written from different threads' buffers can be put back in order. A child
 * inherits its parent's live allocations: those of the parent's (and its
 * ancestors') events with seq < CS_REC_FORK_POINT.alloc_seq. Stack ids are
 * shared the same way: a child's stack id below FORK_POINT.stack_id is one its
 * parent (or an ancestor) interned and wrote.
 *
 * CS_REC_FREES holds the frees of sampled allocations and, rarely, of
 * unsampled ones (the shim filters frees through a Bloom filter of sampled
 * pointers): a reader ignores frees of pointers it does not know.
 */

/* Allocation kinds. */
enum cs_alloc_kind {
	CS_ALLOC_MALLOC = 1, /* malloc, calloc, realloc, memalign & co, operator new */
	CS_ALLOC_MMAP = 2,   /* an anonymous private mmap by the program (an arena) */
};

/* Free kinds. */
enum cs_free_kind {
	CS_FREE_FREE = 1,   /* free, or the old block of a realloc */
	CS_FREE_MUNMAP = 2, /* munmap of [ptr, ptr + len) (may cover part of a region) */
	CS_FREE_MREMAP = 3, /* mremap moved or resized [ptr, ptr + len): the old region ends */
};

typedef struct cs_rec_sampling {
	cs_rec_hdr_t h;
	uint64_t mean_bytes; /* 1 = every allocation */
	uint32_t max_depth;  /* frames kept per stack */
	uint32_t flags;      /* CS_SAMPLINGF_* */
} cs_rec_sampling_t;

#define CS_SAMPLINGF_NO_UNWIND 1u /* built without libunwind: stacks are empty */
#define CS_SAMPLINGF_FP_UNWIND 2u /* 1.6: stacks walked by frame pointers (COWSCOPE_UNWIND=fp) */

typedef struct cs_seg {
	uint64_t start; /* runtime address of a PT_LOAD segment */
	uint64_t end;
	uint64_t file_offset; /* p_offset of that segment */
} cs_seg_t;

typedef struct cs_rec_module {
	cs_rec_hdr_t h;
	uint64_t base; /* load bias (dlpi_addr): runtime address - ELF address */
	uint32_t nsegs;
	uint16_t build_id_len; /* bytes, 0 if the object has no NT_GNU_BUILD_ID */
	uint16_t pad;
	/* then nsegs cs_seg_t, build_id_len bytes padded to 8, str path (the main program's is
	 * its executable, from /proc/self/exe) */
} cs_rec_module_t;

typedef struct cs_rec_stack {
	cs_rec_hdr_t h;
	uint32_t id; /* > 0; 0 means "no stack" in events */
	uint32_t depth;
	/* then depth u64 return addresses, innermost first (the hook's caller first) */
} cs_rec_stack_t;

typedef struct cs_rec_events {
	cs_rec_hdr_t h;
	uint32_t count;
	uint32_t tid;
	/* then count events of the record's type */
} cs_rec_events_t;

typedef struct cs_alloc_ev {
	uint64_t seq;
	uint64_t ptr;
	uint64_t size;         /* bytes requested */
	uint64_t weight_bytes; /* bytes this sample stands for (== size in exact mode) */
	uint32_t stack;        /* CS_REC_STACK id, 0 if none */
	uint8_t kind;          /* enum cs_alloc_kind */
	uint8_t pad[3];
} cs_alloc_ev_t;

typedef struct cs_free_ev {
	uint64_t seq;
	uint64_t ptr;
	uint64_t len; /* munmap/mremap: bytes; free: 0 */
	uint8_t kind; /* enum cs_free_kind */
	uint8_t pad[7];
} cs_free_ev_t;

typedef struct cs_rec_fork_point {
	cs_rec_hdr_t h;
	uint64_t alloc_seq; /* parent events with seq < this were before the fork */
	uint32_t stack_id;  /* parent stack ids < this are the parent's */
	uint32_t pad;
} cs_rec_fork_point_t;

/*
 * ---- 1.2: phases ----
 *
 * cowscope_mark(label) writes a CS_REC_MARK in the calling process (and, in a
 * forked child, takes a CS_SNAP_MARK snapshot right after it). Marks split a
 * run into phases: a child belongs to the phase its parent was in when it
 * forked it (the parent's last mark before the child's CS_REC_PROC.start_ns),
 * which lets `cowscope diff` compare, say, workers forked before and after a
 * freeze within one run.
 */
typedef struct cs_rec_mark {
	cs_rec_hdr_t h;
	uint64_t t_ns;     /* CLOCK_MONOTONIC */
	uint32_t seq;      /* mark number within the process, from 0 */
	uint32_t snap_seq; /* the CS_SNAP_MARK snapshot taken with it, or UINT32_MAX */
			   /* then str label */
} cs_rec_mark_t;

/*
 * ---- 1.3: real programs ----
 *
 * CS_REC_ALLOCATOR names the malloc the shim forwards to: the definition the
 * program would have called without the shim (the next one in lookup order).
 * Written once per process file, after CS_REC_BACKEND.
 *
 * CS_SNAP_WORK and CS_SNAP_UNMAP are new snapshot reasons (enum cs_snap_reason).
 *
 * Mappings flagged CS_MAPF_SHIM now carry their page sets too (the shim's own
 * footprint, reported apart and excluded from every figure).
 */
typedef struct cs_rec_allocator {
	cs_rec_hdr_t h;
	uint32_t flags; /* CS_ALLOCF_* */
	uint32_t pad;
	/* then str name ("glibc", "jemalloc", "tcmalloc", "mimalloc", or the defining module's
	 * file name), str path (the object that defines malloc; empty if not known) */
} cs_rec_allocator_t;

#define CS_ALLOCF_PRELOADED 1u /* the defining object was preloaded, not linked by the program */

/*
 * ---- 1.4: changed words (COW amplification, docs/amplification.md) ----
 *
 * At each of its own snapshots after the fork (every reason but CS_SNAP_FORK;
 * outside samples have none), a forked child compares pages with their content
 * at the fork, one 8-byte word at a time, on two sides:
 *
 * - CS_DIFF_CHILD: each child-copied page (CS_SET_WRITTEN within the fork
 *   snapshot's present set) against the parent's page, read through a view of
 *   the parent's memory the child inherits, when that page still holds what it
 *   held at the fork: the parent tracks its own writes from before the fork on
 *   (uffd-wp), and its page is present, not the zero page, and not written since.
 * - CS_DIFF_PARENT: each parent-unshared page (CS_SET_EXCL, not written by the
 *   child: the child's page still holds the original) against the parent's page
 *   now, when that page is present in a mapping the parent has tracked since
 *   before the fork.
 *
 * Per snapshot and side: one CS_REC_DIFF (what was considered, compared and
 * not comparable, and why), CS_REC_WORDS records for the compared pages with
 * at least one changed word (the page and a bitmap of its changed words),
 * CS_REC_PAGES of set CS_SET_NOOP / CS_SET_PNOOP for the compared pages with
 * none, and CS_SET_UNKNOWN / CS_SET_PUNKNOWN for the pages that could not be
 * compared. Over a budget, one page in `stride` is compared (the others are in
 * no set): figures from them are estimates. Each page appears at most once.
 */
enum cs_diff_side {
	CS_DIFF_CHILD = 0,  /* child-copied pages: the child's content vs the fork's */
	CS_DIFF_PARENT = 1, /* parent-unshared pages: the parent's content vs the fork's */
};

/* Why pages could not be compared: CS_REC_DIFF.unknown[why - 1]. */
enum cs_diff_why {
	CS_DIFFW_NO_VIEW = 1, /* no view of the parent's memory (not forked through the shim's
				* fork hook, the parent not tracking its writes, or an open failed) */
	CS_DIFFW_GONE = 2,    /* the parent exited or exec'd: its memory cannot be read */
	CS_DIFFW_CHANGED = 3, /* child side: the parent wrote the page since the fork (or its
				* mapping is not tracked); parent side: the mapping is not the
				* one tracked since the fork */
	CS_DIFFW_ABSENT = 4,  /* the parent's page is not present, or is the zero page */
	CS_DIFFW_COUNT = 4,
};

/* How the comparison was configured: CS_REC_DIFF.flags. */
#define CS_DIFFF_ALL 1u /* COWSCOPE_DIFF=all: no budget (stride is 1) */

typedef struct cs_rec_diff {
	cs_rec_hdr_t h;
	uint32_t seq; /* the snapshot */
	uint8_t side; /* enum cs_diff_side */
	uint8_t pad;
	uint16_t word_bytes;    /* 8 */
	uint32_t stride;        /* 1: every page considered was compared (or found unknown); k: one
			       * page in k, in address order, over the budget */
	uint32_t flags;         /* CS_DIFFF_* */
	uint64_t considered;    /* pages of the side (child-copied or parent-unshared) */
	uint64_t compared;      /* pages compared: CS_REC_WORDS entries + the NOOP set */
	uint64_t changed_pages; /* compared pages with at least one changed word */
	uint64_t changed_words; /* changed words over the compared pages */
	uint64_t unknown[CS_DIFFW_COUNT]; /* pages not comparable, by enum cs_diff_why - 1 */
	uint64_t cost_ns;                 /* time the comparison took */
} cs_rec_diff_t;

typedef struct cs_rec_words {
	cs_rec_hdr_t h;
	uint32_t seq; /* the snapshot */
	uint8_t side; /* enum cs_diff_side */
	uint8_t pad;
	uint16_t bitmap_words; /* u64 per bitmap: page size / word_bytes / 64 (8 for 4 KiB pages) */
	uint32_t count;        /* entries */
	uint32_t pad2;
	/* then count entries, ascending by page: u64 page number (address >> page shift), then
	 * bitmap_words u64: bit i of u64 j set = the word 64 * j + i of the page changed */
} cs_rec_words_t;

/*
 * ---- 1.5: perf events (counters) and page-fault samples (writers) ----
 *
 * CS_REC_EVDEFS, once per process file (after CS_REC_BACKEND, and again in a
 * fork child): the events the process counts, in the order of every later
 * CS_REC_COUNTS. Each cs_event_def_t is the perf_event_attr type and configs
 * it was opened with, and err = 0, or -errno if it could not be opened (then
 * its counts are 0 and must be reported unknown); the names follow the array
 * as count strings, in the same order, as the user wrote them (libpfm4 names,
 * e.g. "perf::PERF_COUNT_SW_PAGE_FAULTS_MIN").
 *
 * CS_REC_COUNTS: the counts since the process started counting (its start,
 * or its fork for a child), read at a snapshot (at = CS_COUNT_AT_SNAP, seq =
 * the snapshot's) or at a cowscope_mark (at = CS_COUNT_AT_MARK, seq = the
 * mark's). enabled_ns/running_ns as perf reports them (running < enabled: the
 * event was multiplexed; value × enabled / running estimates it).
 *
 * CS_REC_WSAMPLES: page-fault samples (perf software event, user space only
 * where unprivileged), each the faulting data address, the user IP, the
 * thread and its user call chain (innermost first), in the order the kernel
 * gave them. lost = samples the kernel dropped so far in this process (ring
 * buffer full), cumulative.
 */
typedef struct cs_rec_evdefs {
	cs_rec_hdr_t h;
	uint32_t count;
	uint32_t flags; /* 0 */
			/* then count cs_event_def_t, then count str names */
} cs_rec_evdefs_t;

typedef struct cs_event_def {
	uint32_t type; /* perf_event_attr.type */
	int32_t err;   /* 0: counting; else -errno of perf_event_open (or of naming it) */
	uint64_t config;
	uint64_t config1;
	uint64_t config2;
} cs_event_def_t;

enum cs_count_at { CS_COUNT_AT_SNAP = 1, CS_COUNT_AT_MARK = 2 };

typedef struct cs_rec_counts {
	cs_rec_hdr_t h;
	uint32_t seq; /* the snapshot's or the mark's */
	uint8_t at;   /* enum cs_count_at */
	uint8_t pad[3];
	uint32_t count; /* entries, as many as CS_REC_EVDEFS had */
	uint32_t pad2;
	uint64_t t_ns; /* CLOCK_MONOTONIC when read */
		       /* then count cs_count_t */
} cs_rec_counts_t;

typedef struct cs_count {
	uint64_t value;
	uint64_t enabled_ns;
	uint64_t running_ns;
} cs_count_t;

typedef struct cs_rec_wsamples {
	cs_rec_hdr_t h;
	uint32_t count; /* samples that follow */
	uint32_t pad;
	uint64_t lost; /* samples lost in this process so far */
		       /* then count samples: cs_wsample_t, then depth u64 user return addresses */
} cs_rec_wsamples_t;

typedef struct cs_wsample {
	uint64_t addr; /* the faulting data address */
	uint64_t ip;   /* the user instruction pointer */
	uint32_t tid;
	uint16_t depth; /* call chain entries that follow */
	uint16_t flags; /* 0 */
} cs_wsample_t;

/*
 * ---- 1.6: labelled ranges ----
 *
 * A runtime names its objects for the report (cowscope_label_ranges in
 * include/cowscope.h): CPython's helper labels every live object's bytes (its GC
 * header included) with its type's qualified name, and with --python-lines
 * with the Python stack that allocated it. One call is one LABELLING of one
 * kind ("python-type", "python-line", any string a runtime chooses): a
 * CS_REC_LSET (its set number, unique in the process, counting from 1; the
 * time; the kind; the label names, indexed from 0), then CS_REC_LRANGES
 * records of the same set holding nranges ranges in all (split to keep each
 * record under CS_REC_MAX_BYTES). A labelling is complete when its ranges
 * add up to nranges; a reader ignores an incomplete one (cut short) and says so.
 *
 * A child forked after a labelling's t_ns inherits it: the analyzer charges the
 * child's copied (and its parent's unshared) pages to the labels of the latest
 * complete labelling of each kind its parent recorded before the fork, as it
 * does allocation sites. A range stands for weight bytes (>= len when the
 * runtime sampled, = len when it recorded every object): the charge of a
 * range is scaled by weight / len, so sampled labellings estimate without bias.
 * Ranges may overlap (a runtime's nested objects); pages no range covers are
 * "not labelled".
 */
typedef struct cs_rec_lset {
	cs_rec_hdr_t h;
	uint32_t set;     /* this labelling's number in the process, from 1 */
	uint32_t nnames;  /* label names that follow the kind */
	uint64_t nranges; /* ranges in the CS_REC_LRANGES records of this set */
	uint64_t t_ns;    /* CLOCK_MONOTONIC when it was recorded */
	uint64_t bytes;   /* sum of the ranges' weights: the bytes it stands for */
	uint32_t flags;   /* CS_LSETF_* */
	uint32_t pad;
	/* then str kind, then nnames str names */
} cs_rec_lset_t;

#define CS_LSETF_SAMPLED 1u /* some range stands for more bytes than it covers */

typedef struct cs_rec_lranges {
	cs_rec_hdr_t h;
	uint32_t set;   /* the CS_REC_LSET it belongs to */
	uint32_t count; /* cs_lrange_t that follow */
} cs_rec_lranges_t;

typedef struct cs_lrange {
	uint64_t addr;   /* first byte */
	uint64_t len;    /* bytes */
	uint64_t weight; /* bytes it stands for (>= len) */
	uint32_t label;  /* index into the set's names */
	uint32_t flags;  /* 0 */
} cs_lrange_t;

/*
 * ---- 1.7: packed events and live-set checkpoints ----
 *
 * A 1.7 shim writes allocations and frees as CS_REC_EVPACK instead of
 * CS_REC_ALLOCS/CS_REC_FREES (a reader still reads both): one record holds one
 * thread's events of both kinds in the order the thread made them, packed:
 *
 *   per event   size     field
 *   tag         1 byte   bits 0-1 what (CS_PEV_ALLOC 1, CS_PEV_FREE 2), bits 2-4 kind
 *                        (enum cs_alloc_kind / cs_free_kind), bit 5 CS_PEV_SEQ_NEXT
 *                        (seq = previous seq + 1, no seq field), bits 6-7 zero
 *   seq         varint   zigzag(seq - previous seq), absent with CS_PEV_SEQ_NEXT
 *   ptr         varint   zigzag(ptr - previous ptr)
 *   ALLOC:      varint size (bytes requested), varint stack (CS_REC_STACK id, 0 none)
 *   FREE:       varint len (munmap/mremap bytes; 0 for free)
 *
 * Varints are unsigned LEB128 (7 bits a byte, low first, at most 10 bytes);
 * zigzag(d) = (d << 1) ^ (d >> 63) of the 64-bit two's-complement difference.
 * The "previous" seq and ptr of the first event are the record's seq and 0.
 * Events carry no weight: a reader computes it from the process's
 * CS_REC_SAMPLING mean (cs_sample_weight in the analyzer: size for an mmap
 * region or in exact mode, else size / (1 - exp(-size / mean))).
 *
 * codec CS_CODEC_RAW: raw_bytes bytes of packed events follow the header;
 * CS_CODEC_ZSTD: one zstd frame follows that decompresses to exactly
 * raw_bytes bytes of packed events. Either way the record is zero-padded to 8.
 *
 * CS_REC_LIVESET (same header, same packing, tid 0) is a checkpoint: the
 * process's live sampled malloc-kind allocations (ALLOC events of kind
 * CS_ALLOC_MALLOC, each with its own seq) once every event with seq < cut (the
 * header's seq field) has happened. It supersedes the malloc-kind history
 * before it in the file: a reader sets the process's malloc blocks to exactly
 * this set at cut, ignores the CS_ALLOC_MALLOC allocations and CS_FREE_FREE
 * frees that come before it in the file, and applies every event that comes
 * after it in the file, whatever its seq (an event may be numbered just before
 * the cut yet written after it). mmap-kind events (CS_ALLOC_MMAP regions,
 * CS_FREE_MUNMAP, CS_FREE_MREMAP) are never superseded: a shim writes every
 * one. A shim writes a checkpoint where the live set is needed (a fork, a
 * snapshot, a mark, the end) instead of the malloc-kind events it dropped
 * since the previous such point, so that a long-running process's trace grows
 * with its live set, not its run time (docs/trace-format.md). A checkpoint
 * with cut c answers "what was live at seq s" for s >= c: it, then the events
 * after it in the file with seq < s.
 */
typedef struct cs_rec_evpack {
	cs_rec_hdr_t h;
	uint32_t count;     /* events packed */
	uint32_t tid;       /* the thread (EVPACK); 0 (LIVESET) */
	uint64_t seq;       /* EVPACK: the first event's "previous seq"; LIVESET: the cut */
	uint32_t raw_bytes; /* bytes of packed events (after decompression) */
	uint16_t codec;     /* enum cs_codec */
	uint16_t flags;     /* 0 */
	/* then the packed events (CS_CODEC_RAW) or a zstd frame of them, padded to 8 */
} cs_rec_evpack_t;

enum cs_codec { CS_CODEC_RAW = 0, CS_CODEC_ZSTD = 1 };

/* Packed event tag bits. */
#define CS_PEV_ALLOC 1u
#define CS_PEV_FREE 2u
#define CS_PEV_WHAT_MASK 3u
#define CS_PEV_KIND_SHIFT 2
#define CS_PEV_KIND_MASK 7u
#define CS_PEV_SEQ_NEXT 0x20u

/*
 * ---- The pinned layout ----
 *
 * The size of every on-disk struct and the offset and size of every field, as
 * traces of every version 1.x were written (SQLite-style: the numbers are the
 * contract, the structs only spell them). Every compile of the shim and the
 * analyzer checks them, so reordering, retyping or inserting a field fails the
 * build instead of silently misreading every trace already written; the golden
 * runs under tests/golden/ (one per minor version) check the values read.
 *
 * Do not edit a line below to make a build pass: a changed line is a new major
 * version (CS_TRACE_MAJOR; readers refuse it). New data goes in a new record
 * type, a minor version (old readers skip it), whose struct gets its own lines
 * here. Either way add a golden run directory for the new version
 * (tests/golden/README.md).
 *
 * Checked with C11 _Static_assert or C++11 static_assert; an older compiler
 * includes this header without the checks.
 */
#if defined(__cplusplus) && __cplusplus >= 201103L
#define CS_PIN_ASSERT(cond, what) static_assert(cond, what)
#elif !defined(__cplusplus) && defined(__STDC_VERSION__) && __STDC_VERSION__ >= 201112L
#define CS_PIN_ASSERT(cond, what) _Static_assert(cond, what)
#else
#define CS_PIN_ASSERT(cond, what) extern int cs_trace_format_unpinned_
#endif

#define CS_PIN_SIZE(type, bytes) \
	CS_PIN_ASSERT(sizeof(type) == (bytes), #type " is " #bytes " bytes")
#define CS_PIN_FIELD(type, field, off, bytes)                                                  \
	CS_PIN_ASSERT(offsetof(type, field) == (off) && sizeof(((type *)0)->field) == (bytes), \
		      #type "." #field " is " #bytes " bytes at offset " #off)

/* 1.0: the file header and the record header (the tables at the top of this file). */
CS_PIN_SIZE(cs_file_hdr_t, 32);
CS_PIN_FIELD(cs_file_hdr_t, magic, 0, 8);
CS_PIN_FIELD(cs_file_hdr_t, version_major, 8, 2);
CS_PIN_FIELD(cs_file_hdr_t, version_minor, 10, 2);
CS_PIN_FIELD(cs_file_hdr_t, header_bytes, 12, 4);
CS_PIN_FIELD(cs_file_hdr_t, byte_order, 16, 4);
CS_PIN_FIELD(cs_file_hdr_t, file_kind, 20, 4);
CS_PIN_FIELD(cs_file_hdr_t, pid, 24, 4);
CS_PIN_FIELD(cs_file_hdr_t, gen, 28, 4);

CS_PIN_SIZE(cs_rec_hdr_t, 8);
CS_PIN_FIELD(cs_rec_hdr_t, type, 0, 2);
CS_PIN_FIELD(cs_rec_hdr_t, flags, 2, 2);
CS_PIN_FIELD(cs_rec_hdr_t, size, 4, 4);

/* 1.0: records; sub-structs (cs_backend_entry_t, cs_run_t) follow their record. */
CS_PIN_SIZE(cs_rec_proc_t, 48);
CS_PIN_FIELD(cs_rec_proc_t, h, 0, 8);
CS_PIN_FIELD(cs_rec_proc_t, pid, 8, 4);
CS_PIN_FIELD(cs_rec_proc_t, ppid, 12, 4);
CS_PIN_FIELD(cs_rec_proc_t, gen, 16, 4);
CS_PIN_FIELD(cs_rec_proc_t, role, 20, 1);
CS_PIN_FIELD(cs_rec_proc_t, fork_via, 21, 1);
CS_PIN_FIELD(cs_rec_proc_t, pad0, 22, 2);
CS_PIN_FIELD(cs_rec_proc_t, page_size, 24, 4);
CS_PIN_FIELD(cs_rec_proc_t, pad1, 28, 4);
CS_PIN_FIELD(cs_rec_proc_t, start_ns, 32, 8);
CS_PIN_FIELD(cs_rec_proc_t, parent_fork_seq, 40, 8);

CS_PIN_SIZE(cs_backend_entry_t, 8);
CS_PIN_FIELD(cs_backend_entry_t, backend, 0, 1);
CS_PIN_FIELD(cs_backend_entry_t, usable, 1, 1);
CS_PIN_FIELD(cs_backend_entry_t, reason_len, 2, 2);
CS_PIN_FIELD(cs_backend_entry_t, err, 4, 4);

CS_PIN_SIZE(cs_rec_backend_t, 16);
CS_PIN_FIELD(cs_rec_backend_t, h, 0, 8);
CS_PIN_FIELD(cs_rec_backend_t, chosen, 8, 1);
CS_PIN_FIELD(cs_rec_backend_t, requested, 9, 1);
CS_PIN_FIELD(cs_rec_backend_t, scan, 10, 1);
CS_PIN_FIELD(cs_rec_backend_t, nentries, 11, 1);
CS_PIN_FIELD(cs_rec_backend_t, pad, 12, 4);

CS_PIN_SIZE(cs_rec_snap_t, 40);
CS_PIN_FIELD(cs_rec_snap_t, h, 0, 8);
CS_PIN_FIELD(cs_rec_snap_t, seq, 8, 4);
CS_PIN_FIELD(cs_rec_snap_t, reason, 12, 1);
CS_PIN_FIELD(cs_rec_snap_t, backend, 13, 1);
CS_PIN_FIELD(cs_rec_snap_t, pad, 14, 2);
CS_PIN_FIELD(cs_rec_snap_t, t_ns, 16, 8);
CS_PIN_FIELD(cs_rec_snap_t, minflt, 24, 8);
CS_PIN_FIELD(cs_rec_snap_t, majflt, 32, 8);

CS_PIN_SIZE(cs_rec_snap_end_t, 24);
CS_PIN_FIELD(cs_rec_snap_end_t, h, 0, 8);
CS_PIN_FIELD(cs_rec_snap_end_t, seq, 8, 4);
CS_PIN_FIELD(cs_rec_snap_end_t, flags, 12, 4);
CS_PIN_FIELD(cs_rec_snap_end_t, cost_ns, 16, 8);

CS_PIN_SIZE(cs_rec_mapping_t, 40);
CS_PIN_FIELD(cs_rec_mapping_t, h, 0, 8);
CS_PIN_FIELD(cs_rec_mapping_t, start, 8, 8);
CS_PIN_FIELD(cs_rec_mapping_t, end, 16, 8);
CS_PIN_FIELD(cs_rec_mapping_t, offset, 24, 8);
CS_PIN_FIELD(cs_rec_mapping_t, seq, 32, 4);
CS_PIN_FIELD(cs_rec_mapping_t, kind, 36, 1);
CS_PIN_FIELD(cs_rec_mapping_t, prot, 37, 1);
CS_PIN_FIELD(cs_rec_mapping_t, flags, 38, 2);

CS_PIN_SIZE(cs_run_t, 16);
CS_PIN_FIELD(cs_run_t, first_page, 0, 8);
CS_PIN_FIELD(cs_run_t, npages, 8, 8);

CS_PIN_SIZE(cs_rec_pages_t, 16);
CS_PIN_FIELD(cs_rec_pages_t, h, 0, 8);
CS_PIN_FIELD(cs_rec_pages_t, seq, 8, 4);
CS_PIN_FIELD(cs_rec_pages_t, set, 12, 1);
CS_PIN_FIELD(cs_rec_pages_t, pad, 13, 3);

CS_PIN_SIZE(cs_rec_pfns_t, 24);
CS_PIN_FIELD(cs_rec_pfns_t, h, 0, 8);
CS_PIN_FIELD(cs_rec_pfns_t, seq, 8, 4);
CS_PIN_FIELD(cs_rec_pfns_t, count, 12, 4);
CS_PIN_FIELD(cs_rec_pfns_t, first_page, 16, 8);

CS_PIN_SIZE(cs_rec_fork_t, 32);
CS_PIN_FIELD(cs_rec_fork_t, h, 0, 8);
CS_PIN_FIELD(cs_rec_fork_t, child_pid, 8, 4);
CS_PIN_FIELD(cs_rec_fork_t, via, 12, 1);
CS_PIN_FIELD(cs_rec_fork_t, pad, 13, 3);
CS_PIN_FIELD(cs_rec_fork_t, seq, 16, 8);
CS_PIN_FIELD(cs_rec_fork_t, t_ns, 24, 8);

CS_PIN_SIZE(cs_rec_child_exit_t, 24);
CS_PIN_FIELD(cs_rec_child_exit_t, h, 0, 8);
CS_PIN_FIELD(cs_rec_child_exit_t, pid, 8, 4);
CS_PIN_FIELD(cs_rec_child_exit_t, status, 12, 4);
CS_PIN_FIELD(cs_rec_child_exit_t, t_ns, 16, 8);

CS_PIN_SIZE(cs_rec_end_t, 24);
CS_PIN_FIELD(cs_rec_end_t, h, 0, 8);
CS_PIN_FIELD(cs_rec_end_t, how, 8, 1);
CS_PIN_FIELD(cs_rec_end_t, pad, 9, 3);
CS_PIN_FIELD(cs_rec_end_t, status, 12, 4);
CS_PIN_FIELD(cs_rec_end_t, t_ns, 16, 8);

CS_PIN_SIZE(cs_rec_resume_t, 24);
CS_PIN_FIELD(cs_rec_resume_t, h, 0, 8);
CS_PIN_FIELD(cs_rec_resume_t, err, 8, 4);
CS_PIN_FIELD(cs_rec_resume_t, pad, 12, 4);
CS_PIN_FIELD(cs_rec_resume_t, t_ns, 16, 8);

CS_PIN_SIZE(cs_rec_counters_t, 16);
CS_PIN_FIELD(cs_rec_counters_t, h, 0, 8);
CS_PIN_FIELD(cs_rec_counters_t, count, 8, 4);
CS_PIN_FIELD(cs_rec_counters_t, pad, 12, 4);

CS_PIN_SIZE(cs_rec_note_t, 16);
CS_PIN_FIELD(cs_rec_note_t, h, 0, 8);
CS_PIN_FIELD(cs_rec_note_t, code, 8, 4);
CS_PIN_FIELD(cs_rec_note_t, err, 12, 4);

CS_PIN_SIZE(cs_rec_shim_range_t, 24);
CS_PIN_FIELD(cs_rec_shim_range_t, h, 0, 8);
CS_PIN_FIELD(cs_rec_shim_range_t, start, 8, 8);
CS_PIN_FIELD(cs_rec_shim_range_t, end, 16, 8);

CS_PIN_SIZE(cs_rec_run_t, 32);
CS_PIN_FIELD(cs_rec_run_t, h, 0, 8);
CS_PIN_FIELD(cs_rec_run_t, start_ns, 8, 8);
CS_PIN_FIELD(cs_rec_run_t, root_pid, 16, 4);
CS_PIN_FIELD(cs_rec_run_t, interval_ms, 20, 4);
CS_PIN_FIELD(cs_rec_run_t, linger_ms, 24, 4);
CS_PIN_FIELD(cs_rec_run_t, backend, 28, 1);
CS_PIN_FIELD(cs_rec_run_t, pad, 29, 3);

CS_PIN_SIZE(cs_rec_run_end_t, 40);
CS_PIN_FIELD(cs_rec_run_end_t, h, 0, 8);
CS_PIN_FIELD(cs_rec_run_end_t, t_ns, 8, 8);
CS_PIN_FIELD(cs_rec_run_end_t, root_status, 16, 4);
CS_PIN_FIELD(cs_rec_run_end_t, still_running, 20, 4);
CS_PIN_FIELD(cs_rec_run_end_t, samples, 24, 8);
CS_PIN_FIELD(cs_rec_run_end_t, sample_ns, 32, 8);

/* 1.1: allocation sites (cs_seg_t in MODULE, cs_alloc_ev_t in ALLOCS, cs_free_ev_t in FREES). */
CS_PIN_SIZE(cs_rec_sampling_t, 24);
CS_PIN_FIELD(cs_rec_sampling_t, h, 0, 8);
CS_PIN_FIELD(cs_rec_sampling_t, mean_bytes, 8, 8);
CS_PIN_FIELD(cs_rec_sampling_t, max_depth, 16, 4);
CS_PIN_FIELD(cs_rec_sampling_t, flags, 20, 4);

CS_PIN_SIZE(cs_seg_t, 24);
CS_PIN_FIELD(cs_seg_t, start, 0, 8);
CS_PIN_FIELD(cs_seg_t, end, 8, 8);
CS_PIN_FIELD(cs_seg_t, file_offset, 16, 8);

CS_PIN_SIZE(cs_rec_module_t, 24);
CS_PIN_FIELD(cs_rec_module_t, h, 0, 8);
CS_PIN_FIELD(cs_rec_module_t, base, 8, 8);
CS_PIN_FIELD(cs_rec_module_t, nsegs, 16, 4);
CS_PIN_FIELD(cs_rec_module_t, build_id_len, 20, 2);
CS_PIN_FIELD(cs_rec_module_t, pad, 22, 2);

CS_PIN_SIZE(cs_rec_stack_t, 16);
CS_PIN_FIELD(cs_rec_stack_t, h, 0, 8);
CS_PIN_FIELD(cs_rec_stack_t, id, 8, 4);
CS_PIN_FIELD(cs_rec_stack_t, depth, 12, 4);

CS_PIN_SIZE(cs_rec_events_t, 16);
CS_PIN_FIELD(cs_rec_events_t, h, 0, 8);
CS_PIN_FIELD(cs_rec_events_t, count, 8, 4);
CS_PIN_FIELD(cs_rec_events_t, tid, 12, 4);

CS_PIN_SIZE(cs_alloc_ev_t, 40);
CS_PIN_FIELD(cs_alloc_ev_t, seq, 0, 8);
CS_PIN_FIELD(cs_alloc_ev_t, ptr, 8, 8);
CS_PIN_FIELD(cs_alloc_ev_t, size, 16, 8);
CS_PIN_FIELD(cs_alloc_ev_t, weight_bytes, 24, 8);
CS_PIN_FIELD(cs_alloc_ev_t, stack, 32, 4);
CS_PIN_FIELD(cs_alloc_ev_t, kind, 36, 1);
CS_PIN_FIELD(cs_alloc_ev_t, pad, 37, 3);

CS_PIN_SIZE(cs_free_ev_t, 32);
CS_PIN_FIELD(cs_free_ev_t, seq, 0, 8);
CS_PIN_FIELD(cs_free_ev_t, ptr, 8, 8);
CS_PIN_FIELD(cs_free_ev_t, len, 16, 8);
CS_PIN_FIELD(cs_free_ev_t, kind, 24, 1);
CS_PIN_FIELD(cs_free_ev_t, pad, 25, 7);

CS_PIN_SIZE(cs_rec_fork_point_t, 24);
CS_PIN_FIELD(cs_rec_fork_point_t, h, 0, 8);
CS_PIN_FIELD(cs_rec_fork_point_t, alloc_seq, 8, 8);
CS_PIN_FIELD(cs_rec_fork_point_t, stack_id, 16, 4);
CS_PIN_FIELD(cs_rec_fork_point_t, pad, 20, 4);

/* 1.2: phases. */
CS_PIN_SIZE(cs_rec_mark_t, 24);
CS_PIN_FIELD(cs_rec_mark_t, h, 0, 8);
CS_PIN_FIELD(cs_rec_mark_t, t_ns, 8, 8);
CS_PIN_FIELD(cs_rec_mark_t, seq, 16, 4);
CS_PIN_FIELD(cs_rec_mark_t, snap_seq, 20, 4);

/* 1.3: real programs. */
CS_PIN_SIZE(cs_rec_allocator_t, 16);
CS_PIN_FIELD(cs_rec_allocator_t, h, 0, 8);
CS_PIN_FIELD(cs_rec_allocator_t, flags, 8, 4);
CS_PIN_FIELD(cs_rec_allocator_t, pad, 12, 4);

/* 1.4: changed words. */
CS_PIN_SIZE(cs_rec_diff_t, 96);
CS_PIN_FIELD(cs_rec_diff_t, h, 0, 8);
CS_PIN_FIELD(cs_rec_diff_t, seq, 8, 4);
CS_PIN_FIELD(cs_rec_diff_t, side, 12, 1);
CS_PIN_FIELD(cs_rec_diff_t, pad, 13, 1);
CS_PIN_FIELD(cs_rec_diff_t, word_bytes, 14, 2);
CS_PIN_FIELD(cs_rec_diff_t, stride, 16, 4);
CS_PIN_FIELD(cs_rec_diff_t, flags, 20, 4);
CS_PIN_FIELD(cs_rec_diff_t, considered, 24, 8);
CS_PIN_FIELD(cs_rec_diff_t, compared, 32, 8);
CS_PIN_FIELD(cs_rec_diff_t, changed_pages, 40, 8);
CS_PIN_FIELD(cs_rec_diff_t, changed_words, 48, 8);
CS_PIN_FIELD(cs_rec_diff_t, unknown, 56, 32);
CS_PIN_FIELD(cs_rec_diff_t, cost_ns, 88, 8);

CS_PIN_SIZE(cs_rec_words_t, 24);
CS_PIN_FIELD(cs_rec_words_t, h, 0, 8);
CS_PIN_FIELD(cs_rec_words_t, seq, 8, 4);
CS_PIN_FIELD(cs_rec_words_t, side, 12, 1);
CS_PIN_FIELD(cs_rec_words_t, pad, 13, 1);
CS_PIN_FIELD(cs_rec_words_t, bitmap_words, 14, 2);
CS_PIN_FIELD(cs_rec_words_t, count, 16, 4);
CS_PIN_FIELD(cs_rec_words_t, pad2, 20, 4);
CS_PIN_ASSERT(CS_SET_NOOP == 5 && CS_SET_UNKNOWN == 6 && CS_SET_PNOOP == 7 &&
		      CS_SET_PUNKNOWN == 8 && CS_DIFFW_NO_VIEW == 1 && CS_DIFFW_ABSENT == 4 &&
		      CS_DIFF_PARENT == 1,
	      "1.4 set, side and reason numbers never move");

/* 1.5: perf events and page-fault samples. */
CS_PIN_SIZE(cs_rec_evdefs_t, 16);
CS_PIN_FIELD(cs_rec_evdefs_t, h, 0, 8);
CS_PIN_FIELD(cs_rec_evdefs_t, count, 8, 4);
CS_PIN_FIELD(cs_rec_evdefs_t, flags, 12, 4);
CS_PIN_SIZE(cs_event_def_t, 32);
CS_PIN_FIELD(cs_event_def_t, type, 0, 4);
CS_PIN_FIELD(cs_event_def_t, err, 4, 4);
CS_PIN_FIELD(cs_event_def_t, config, 8, 8);
CS_PIN_FIELD(cs_event_def_t, config1, 16, 8);
CS_PIN_FIELD(cs_event_def_t, config2, 24, 8);
CS_PIN_SIZE(cs_rec_counts_t, 32);
CS_PIN_FIELD(cs_rec_counts_t, h, 0, 8);
CS_PIN_FIELD(cs_rec_counts_t, seq, 8, 4);
CS_PIN_FIELD(cs_rec_counts_t, at, 12, 1);
CS_PIN_FIELD(cs_rec_counts_t, pad, 13, 3);
CS_PIN_FIELD(cs_rec_counts_t, count, 16, 4);
CS_PIN_FIELD(cs_rec_counts_t, pad2, 20, 4);
CS_PIN_FIELD(cs_rec_counts_t, t_ns, 24, 8);
CS_PIN_SIZE(cs_count_t, 24);
CS_PIN_FIELD(cs_count_t, value, 0, 8);
CS_PIN_FIELD(cs_count_t, enabled_ns, 8, 8);
CS_PIN_FIELD(cs_count_t, running_ns, 16, 8);
CS_PIN_SIZE(cs_rec_wsamples_t, 24);
CS_PIN_FIELD(cs_rec_wsamples_t, h, 0, 8);
CS_PIN_FIELD(cs_rec_wsamples_t, count, 8, 4);
CS_PIN_FIELD(cs_rec_wsamples_t, pad, 12, 4);
CS_PIN_FIELD(cs_rec_wsamples_t, lost, 16, 8);
CS_PIN_SIZE(cs_wsample_t, 24);
CS_PIN_FIELD(cs_wsample_t, addr, 0, 8);
CS_PIN_FIELD(cs_wsample_t, ip, 8, 8);
CS_PIN_FIELD(cs_wsample_t, tid, 16, 4);
CS_PIN_FIELD(cs_wsample_t, depth, 20, 2);
CS_PIN_FIELD(cs_wsample_t, flags, 22, 2);
CS_PIN_ASSERT(CS_COUNT_AT_SNAP == 1 && CS_COUNT_AT_MARK == 2 && CS_NOTE_EVENTS == 12 &&
		      CS_NOTE_WRITERS == 13,
	      "1.5 numbers never move");

/* 1.6: labelled ranges. */
CS_PIN_SIZE(cs_rec_lset_t, 48);
CS_PIN_FIELD(cs_rec_lset_t, h, 0, 8);
CS_PIN_FIELD(cs_rec_lset_t, set, 8, 4);
CS_PIN_FIELD(cs_rec_lset_t, nnames, 12, 4);
CS_PIN_FIELD(cs_rec_lset_t, nranges, 16, 8);
CS_PIN_FIELD(cs_rec_lset_t, t_ns, 24, 8);
CS_PIN_FIELD(cs_rec_lset_t, bytes, 32, 8);
CS_PIN_FIELD(cs_rec_lset_t, flags, 40, 4);
CS_PIN_FIELD(cs_rec_lset_t, pad, 44, 4);
CS_PIN_SIZE(cs_rec_lranges_t, 16);
CS_PIN_FIELD(cs_rec_lranges_t, h, 0, 8);
CS_PIN_FIELD(cs_rec_lranges_t, set, 8, 4);
CS_PIN_FIELD(cs_rec_lranges_t, count, 12, 4);
CS_PIN_SIZE(cs_lrange_t, 32);
CS_PIN_FIELD(cs_lrange_t, addr, 0, 8);
CS_PIN_FIELD(cs_lrange_t, len, 8, 8);
CS_PIN_FIELD(cs_lrange_t, weight, 16, 8);
CS_PIN_FIELD(cs_lrange_t, label, 24, 4);
CS_PIN_FIELD(cs_lrange_t, flags, 28, 4);
CS_PIN_ASSERT(CS_REC_LSET == 30 && CS_REC_LRANGES == 31 && CS_NOTE_LABELS == 14 &&
		      CS_LSETF_SAMPLED == 1,
	      "1.6 numbers never move");
CS_PIN_ASSERT(CS_SAMPLINGF_FP_UNWIND == 2, "1.6 numbers never move");

/* 1.7: packed events and live-set checkpoints. */
CS_PIN_SIZE(cs_rec_evpack_t, 32);
CS_PIN_FIELD(cs_rec_evpack_t, h, 0, 8);
CS_PIN_FIELD(cs_rec_evpack_t, count, 8, 4);
CS_PIN_FIELD(cs_rec_evpack_t, tid, 12, 4);
CS_PIN_FIELD(cs_rec_evpack_t, seq, 16, 8);
CS_PIN_FIELD(cs_rec_evpack_t, raw_bytes, 24, 4);
CS_PIN_FIELD(cs_rec_evpack_t, codec, 28, 2);
CS_PIN_FIELD(cs_rec_evpack_t, flags, 30, 2);
CS_PIN_ASSERT(CS_REC_EVPACK == 32 && CS_REC_LIVESET == 33 && CS_NOTE_COMPACT == 15 &&
		      CS_CODEC_RAW == 0 && CS_CODEC_ZSTD == 1 && CS_PEV_ALLOC == 1 &&
		      CS_PEV_FREE == 2 && CS_PEV_KIND_SHIFT == 2 && CS_PEV_SEQ_NEXT == 0x20 &&
		      CS_SNAPF_NO_EXCL == 2,
	      "1.7 numbers never move");

/* Counter slots (CS_REC_COUNTERS values are written in this order). */
CS_PIN_ASSERT(CS_CNT_TRACE_REOPEN == 0 && CS_CNT_WRITE_FAIL == 1 && CS_CNT_ARM_FAIL == 2 &&
		      CS_CNT_ARM_OK == 3 && CS_CNT_SNAP_BUSY == 4 && CS_CNT_SNAP_FAIL == 5 &&
		      CS_CNT_MAPS_SKIPPED == 6 && CS_CNT_FORKS == 7 && CS_CNT_RETIRED_8 == 8 &&
		      CS_CNT_EVENTS_DROPPED == 9 && CS_CNT_STACKS_FULL == 10,
	      "counter slots never move");
/* 1.4: a parent's self-tracking for changed words (times armed, and the time it took). */
CS_PIN_ASSERT(CS_CNT_SELF_TRACK == 11 && CS_CNT_SELF_TRACK_NS == 12,
	      "1.4 counter slots never move");

#undef CS_PIN_FIELD
#undef CS_PIN_SIZE
#undef CS_PIN_ASSERT

#endif
