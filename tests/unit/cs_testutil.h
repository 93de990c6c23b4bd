/* SPDX-License-Identifier: MIT */
/* Unit-test helpers: temporary run directories and trace files built with record.h. */
#ifndef CS_TESTUTIL_H
#define CS_TESTUTIL_H

#include <stddef.h>
#include <stdint.h>
#include "cowscope/trace_format.h"
#include "evpack.h"

#define TU_PAGE 4096u

/* A new empty directory under $TMPDIR (or /tmp); the caller frees the path. */
char *tu_mkdtemp(void);

/* Remove a directory tree made by the tests. */
void tu_rmtree(const char *dir);

/*
 * A test file's temporary directory: declares `static char *var` and the cmocka
 * fixtures setup() (a new empty directory) and teardown() (removed, freed).
 */
#define TU_DIR_FIXTURE(var)               \
	static char *var;                 \
	static int setup(void **state)    \
	{                                 \
		(void)state;              \
		var = tu_mkdtemp();       \
		return 0;                 \
	}                                 \
	static int teardown(void **state) \
	{                                 \
		(void)state;              \
		tu_rmtree(var);           \
		free(var);                \
		return 0;                 \
	}

/* Create dir/name holding a file header; returns its fd (O_APPEND). */
int tu_open(const char *dir, const char *name, uint32_t kind, uint32_t pid, uint32_t gen);

/* Create dir/name holding exactly these bytes. */
void tu_write_file(const char *dir, const char *name, const void *p, size_t n);

/* Append raw bytes. */
void tu_put(int fd, const void *p, size_t n);

/* Records: each appends one record to fd. */
void tu_proc(int fd, uint32_t pid, uint32_t ppid, uint32_t gen, uint8_t role, const char *cmd);
/* PROC with arguments as the shim writes them: each ends with a NUL, len counts them all. */
void tu_proc_args(int fd, uint32_t pid, uint32_t ppid, uint32_t gen, uint8_t role, const char *args,
		  size_t len);
/* PROC naming the executable (tu_proc says "/bin/x"). */
void tu_proc_exe(int fd, uint32_t pid, uint32_t ppid, uint8_t role, const char *cmd,
		 const char *exe);
/* PROC of a fork child (cmd "prog"-style) that began at start_ns (tu_proc says 1000). */
void tu_proc_start(int fd, uint32_t pid, uint32_t ppid, uint8_t role, const char *cmd,
		   uint64_t start_ns);
/* PROC of image gen of pid that began at start_ns. */
void tu_proc_gen_start(int fd, uint32_t pid, uint32_t ppid, uint32_t gen, uint8_t role,
		       const char *cmd, uint64_t start_ns);
void tu_backend(int fd, uint8_t chosen, const char *unusable_reason);

/* "<pid>.0.cst" in dir with a PROC record (cmd "prog") and a BACKEND record; returns its fd. */
int tu_proc_file(const char *dir, uint32_t pid, uint32_t ppid, uint8_t role, uint8_t backend);
void tu_snap_begin(int fd, uint32_t seq, uint8_t reason, uint8_t backend, uint64_t t_ns,
		   uint64_t minflt);
void tu_snap_end(int fd, uint32_t seq);
/* SNAP_END with CS_SNAPF_* flags. */
void tu_snap_end_flags(int fd, uint32_t seq, uint32_t flags);
void tu_mapping(int fd, uint32_t seq, uint64_t start, uint64_t end, uint8_t kind, uint16_t flags,
		const char *name);
void tu_pages(int fd, uint32_t seq, uint8_t set, const cs_run_t *runs, size_t n);
void tu_pfns(int fd, uint32_t seq, uint64_t first_page, const uint64_t *pfn, uint32_t count);
void tu_fork(int fd, uint32_t child, uint64_t seq, uint64_t t_ns);
void tu_child_exit(int fd, uint32_t pid, int32_t status, uint64_t t_ns);
void tu_end(int fd, uint8_t how, int32_t status, uint64_t t_ns);
void tu_resume(int fd, int32_t err);
void tu_note(int fd, uint32_t code, int32_t err, const char *text);
/* Format 1.2: cowscope_mark(label) at t_ns, without a snapshot. */
void tu_mark(int fd, uint64_t t_ns, uint32_t seq, const char *label);
void tu_shim_range(int fd, uint64_t start, uint64_t end);
void tu_counters(int fd, const uint64_t *v, uint32_t n);
void tu_run(int fd, uint32_t root_pid, uint32_t interval_ms, const char *cmd);
void tu_run_end(int fd, int32_t root_status, uint32_t still_running, uint64_t samples);

/* Format 1.1 records: allocation sampling, modules, stacks, events, the fork point. */
void tu_sampling(int fd, uint64_t mean_bytes, uint32_t max_depth);
void tu_module(int fd, uint64_t base, const cs_seg_t *segs, uint32_t nsegs, const void *build_id,
	       uint16_t build_id_len, const char *path);
void tu_stack(int fd, uint32_t id, const uint64_t *ra, uint32_t depth);
void tu_allocs(int fd, const cs_alloc_ev_t *ev, uint32_t n);
void tu_frees(int fd, const cs_free_ev_t *ev, uint32_t n);
void tu_fork_point(int fd, uint64_t alloc_seq, uint32_t stack_id);

/* One allocation or free event (kind: enum cs_alloc_kind / cs_free_kind). */
cs_alloc_ev_t tu_alloc_ev(uint64_t seq, uint64_t ptr, uint64_t size, uint64_t weight,
			  uint32_t stack, uint8_t kind);
cs_free_ev_t tu_free_ev(uint64_t seq, uint64_t ptr, uint64_t len, uint8_t kind);

/* Format 1.4: changed words. */
#define TU_BITMAP_WORDS (TU_PAGE / 8 / 64)

/* A file header of another minor version (e.g. 3: a trace before changed words); gen 0. */
int tu_open_minor(const char *dir, const char *name, uint32_t kind, uint32_t pid, uint16_t minor);

/* The figures of a CS_REC_DIFF (stride 0 is written as 1). */
typedef struct tu_diff {
	uint32_t stride;
	uint32_t flags;
	uint64_t considered, compared, changed_pages, changed_words;
	uint64_t unknown[CS_DIFFW_COUNT];
} tu_diff_t;

void tu_diff(int fd, uint32_t seq, uint8_t side, const tu_diff_t *v);
/* WORDS: count pages, each with TU_BITMAP_WORDS u64 of bitmap at bitmaps[i * TU_BITMAP_WORDS]. */
void tu_words(int fd, uint32_t seq, uint8_t side, const uint64_t *pages, const uint64_t *bitmaps,
	      uint32_t count);

/* Format 1.6: a labelling (LSET) and ranges of it (LRANGES). */
void tu_lset(int fd, uint32_t set, uint64_t t_ns, uint64_t nranges, uint64_t bytes, uint32_t flags,
	     const char *kind, const char *const *names, uint32_t nnames);
void tu_lranges(int fd, uint32_t set, const cs_lrange_t *v, uint32_t n);

/*
 * Format 1.7: an EVPACK (type CS_REC_EVPACK, thread 7) or LIVESET (CS_REC_LIVESET, tid 0,
 * seq0 the cut) of n events packed with common/evpack after seq0, raw (CS_CODEC_RAW) or as
 * one zstd frame (CS_CODEC_ZSTD).
 */
void tu_evpack(int fd, uint16_t type, uint64_t seq0, const cs_pev_t *ev, uint32_t n,
	       uint16_t codec);
/* A LIVESET of n allocations with cut `cut`, raw. */
void tu_liveset(int fd, uint64_t cut, const cs_pev_t *ev, uint32_t n);
/* An EVPACK or LIVESET record as given: header fields, then the n payload bytes, padded. */
void tu_evpack_bytes(int fd, uint16_t type, uint32_t count, uint64_t seq, uint32_t raw_bytes,
		     uint16_t codec, const void *p, size_t n);
/* Pack n events after seq0 into out (room for n * CS_PEV_MAX_BYTES); bytes. */
size_t tu_pack(uint64_t seq0, const cs_pev_t *ev, uint32_t n, uint8_t *out);

/* A file's whole content (malloc'd, *n its size). */
char *tu_slurp(const char *path, size_t *n);

#endif
