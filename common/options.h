/* SPDX-License-Identifier: MIT */
/* The shim's COWSCOPE_* options: one table, read once at init. */
#ifndef CS_OPTIONS_H
#define CS_OPTIONS_H

#include <stddef.h>
#include <stdint.h>

#define CS_PATH_MAX 1024
#define CS_DEFAULT_SAMPLE_BYTES 65536
#define CS_DEFAULT_STACK_DEPTH 32
#define CS_DEFAULT_WRITERS_BUFFER (512u * 1024u)
#define CS_UNWIND_LIBUNWIND 0 /* COWSCOPE_UNWIND=libunwind: DWARF unwinding, any code */
#define CS_UNWIND_FP 1        /* COWSCOPE_UNWIND=fp: frame pointers (code built with them) */

typedef struct cs_options {
	char out[CS_PATH_MAX]; /* COWSCOPE_OUT: run directory ("" = ${TMPDIR:-/tmp}/cowscope-<uid>/<program>.<pid>) */
	uint8_t backend;       /* COWSCOPE_BACKEND: enum cs_backend, CS_BACKEND_NONE = auto */
	uint8_t verbose;       /* COWSCOPE_VERBOSE: 0..2 */
	uint64_t sample_bytes; /* COWSCOPE_SAMPLE_BYTES: mean bytes between samples; 1 all; 0 off */
	uint32_t stack_depth;  /* COWSCOPE_STACK_DEPTH: frames kept per stack, 1..64 */
	uint8_t unwind;        /* COWSCOPE_UNWIND: CS_UNWIND_LIBUNWIND (default) or CS_UNWIND_FP */
	uint8_t obj_layout; /* COWSCOPE_OBJ_LAYOUT: COWSCOPE_LAYOUT_*, 0 = the default (out of line) */
	uint8_t obj_immortal;  /* COWSCOPE_OBJ_IMMORTAL: cowscope_freeze() makes objects immortal */
	uint32_t obj_capacity; /* COWSCOPE_OBJ_CAPACITY: header table slots, 0 = the default */
	uint8_t allow_shared_dir; /* COWSCOPE_ALLOW_SHARED_DIR: accept a run directory that is
				   * a symlink, another user's, or group/other-writable */
	uint8_t diff;             /* COWSCOPE_DIFF: enum cs_diff_mode (auto, all, off) */
	uint32_t diff_budget;     /* COWSCOPE_DIFF_BUDGET: pages compared per side and snapshot
				   * in auto mode (0 = CS_DIFF_DEFAULT_BUDGET) */
	uint8_t writers;          /* COWSCOPE_WRITERS: page-fault sampling in fork children */
	uint64_t writers_buffer;  /* COWSCOPE_WRITERS_BUFFER: ring bytes per CPU, a power of two */
	uint8_t compact_off;      /* COWSCOPE_COMPACT=off: write every sampled event */
	uint8_t no_parent_unshared; /* COWSCOPE_PARENT_UNSHARED=off: snapshots read no pagemap
				     * bit 56 (parent-unshared unknown, docs/backends.md) */
	const char *events;         /* COWSCOPE_EVENTS: perf event names, comma-separated (NULL =
				   * the default four; "none" = no events); points into a static
				   * buffer of options.c (kept out of this struct: a fork child
				   * writes its state pages, and 1 KiB here cost it one more) */
} cs_options_t;

/* Looks a variable up; returns NULL when unset. getenv fits. */
typedef const char *(*cs_getenv_fn)(const char *name);

/* Receives one warning line (no newline) for a bad value. */
typedef void (*cs_warn_fn)(const char *msg, size_t n);

/*
 * Fill *o with defaults, then read every COWSCOPE_* variable of the table
 * through get. A bad value keeps the default and produces exactly one warning
 * naming the variable, the value and what is accepted. Returns the number of
 * warnings. init-only (pure apart from the two callbacks).
 */
int cs_options_load(cs_options_t *o, cs_getenv_fn get, cs_warn_fn warn);

/*
 * Would the shim accept value for variable name? 0, -EINVAL (bad value) or
 * -ENOENT (no such variable). *accepts (if not NULL) gets the table's
 * description of good values. For the CLI, to refuse a bad option up front.
 */
int cs_option_check(const char *name, const char *value, const char **accepts);

#endif
