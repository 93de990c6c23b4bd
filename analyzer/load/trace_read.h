/* SPDX-License-Identifier: MIT */
/* Reading one trace file: header checks, record framing, bounds-checked field access. */
#ifndef CS_TRACE_READ_H
#define CS_TRACE_READ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "cowscope/trace_format.h"
#include "diag.h"

/* Largest header_bytes a reader accepts. */
#define CS_HEADER_MAX_BYTES 65536u

/*
 * An open trace file, read whole into memory (it may still be growing); or,
 * for cs_trace_follow, a file followed as it grows: then data holds only the
 * beginning of the last record returned (len bytes).
 */
typedef struct cs_trace {
	char *path; /* for messages */
	uint8_t *data;
	size_t len;
	bool mapped;       /* data is a read-only mapping of the file (large files), not a copy */
	cs_file_hdr_t hdr; /* valid when has_hdr */
	bool has_hdr;      /* false: the file ends inside its header */
	bool truncated;    /* the file ends inside a record (or its header) */
	size_t off;        /* offset of the next record */
	uint32_t recno;    /* records returned so far; numbers count from 1 */
} cs_trace_t;

/* One record: points into the trace's buffer. */
typedef struct cs_rec {
	const uint8_t *p; /* the record, header included: its first `have` bytes */
	uint32_t size;    /* the whole record's */
	uint32_t have;    /* bytes at p: size, or (cs_trace_follow) at most CS_REC_PEEK */
	uint16_t type;
	uint32_t recno; /* 1 for the first record */
	size_t off;     /* file offset */
} cs_rec_t;

/*
 * The fixed part of any record (header included), as the record table hands it to a
 * handler: copied out of the file, so aligned, and a member per record type.
 */
typedef union cs_fixed {
	cs_rec_hdr_t h;
	cs_rec_proc_t proc;
	cs_rec_backend_t backend;
	cs_rec_snap_t snap;
	cs_rec_snap_end_t snap_end;
	cs_rec_mapping_t mapping;
	cs_rec_pages_t pages;
	cs_rec_pfns_t pfns;
	cs_rec_fork_t fork;
	cs_rec_child_exit_t child_exit;
	cs_rec_end_t end;
	cs_rec_resume_t resume;
	cs_rec_counters_t counters;
	cs_rec_note_t note;
	cs_rec_shim_range_t shim_range;
	cs_rec_run_t run;
	cs_rec_run_end_t run_end;
	cs_rec_sampling_t sampling;
	cs_rec_module_t module;
	cs_rec_stack_t stack;
	cs_rec_events_t events;
	cs_rec_fork_point_t fork_point;
	cs_rec_mark_t mark;
	cs_rec_allocator_t allocator;
	cs_rec_diff_t diff;
	cs_rec_words_t words;
	cs_rec_wsamples_t wsamples;
	cs_rec_evdefs_t evdefs;
	cs_rec_counts_t counts;
	cs_rec_lset_t lset;
	cs_rec_lranges_t lranges;
	cs_rec_evpack_t evpack;
} cs_fixed_t;

/* Bytes of a record's beginning cs_trace_follow reads: every fixed part fits. */
#define CS_REC_PEEK 96u

/* A cursor over the payload of a record, after its fixed part. */
typedef struct cs_cur {
	const uint8_t *p;
	size_t len;
	size_t off;
} cs_cur_t;

/* A string inside a record: not NUL-terminated. */
typedef struct cs_str {
	const char *p;
	uint16_t len;
} cs_str_t;

/*
 * Read file `name` in directory dirfd (shown as `path` in messages) and check
 * its header: magic, byte order, version (a newer major is refused, naming
 * both versions), header size. A file that ends inside its header is not an
 * error: has_hdr is false and truncated is true. Returns 0, -EBADMSG (not a
 * trace or corrupt), -EPROTONOSUPPORT (newer major), -ENOMEM or -errno of the
 * read; d says which. Cost: one read of the whole file.
 */
int cs_trace_open(cs_trace_t *t, int dirfd, const char *name, const char *path, cs_diag_t *d);

/*
 * Like cs_trace_open, reading at most max bytes: the records past them look
 * cut short. For peeking at a file's first records while it grows.
 */
int cs_trace_open_head(cs_trace_t *t, int dirfd, const char *name, const char *path, size_t max,
		       cs_diag_t *d);

/*
 * Prepare t to follow a file as it grows (cs_trace_follow), shown as `path` in
 * messages. Nothing is read yet. Returns 0 or -ENOMEM. Free with cs_trace_close.
 */
int cs_trace_follow_init(cs_trace_t *t, const char *path);

/*
 * The next record of a file being followed, read from fd (the file t was
 * prepared for; the caller may reopen it between calls): the first call
 * reads and checks the header as cs_trace_open does, with the same messages.
 * Only each record's header and its first CS_REC_PEEK bytes are read (r->have
 * says how many are at r->p): bounded work however large the record.
 * Returns 1 with *r set; 0 if the header or the next record is not all there
 * yet (call again later: t stays at that record); or -EBADMSG (not a trace,
 * bad record size), -EPROTONOSUPPORT (newer major), -errno of a read, with d
 * naming file and record as cs_trace_next does. Cost: one or two preads.
 */
int cs_trace_follow(cs_trace_t *t, int fd, cs_rec_t *r, cs_diag_t *d);

/* Free what cs_trace_open allocated. Safe on a zeroed or closed trace. */
void cs_trace_close(cs_trace_t *t);

/*
 * The next record. Returns 1 with *r set, 0 at the end (t->truncated says if
 * the last record was cut short), or -EBADMSG for a bad record size, with d
 * naming file, record number and offset.
 */
int cs_trace_next(cs_trace_t *t, cs_rec_t *r, cs_diag_t *d);

/*
 * Report a bad field of record r: sets d to "PATH: record N at offset O:
 * WHAT" and returns -EBADMSG.
 */
int cs_trace_bad(const cs_trace_t *t, const cs_rec_t *r, cs_diag_t *d, const char *what);

/*
 * Copy the fixed part (`fixed` bytes, header included) of r into out and set
 * *c to the payload after it (the bytes at r->p). Returns 0, or -EBADMSG if r
 * (or what was read of it) is shorter.
 */
int cs_rec_fixed(const cs_rec_t *r, void *out, size_t fixed, cs_cur_t *c);

/* Take n bytes from the cursor: *p points at them. 0 or -EBADMSG if too few remain. */
int cs_cur_bytes(cs_cur_t *c, size_t n, const void **p);

/* Take a u16-length-prefixed string. 0 or -EBADMSG if it runs past the record. */
int cs_cur_str(cs_cur_t *c, cs_str_t *s);

/* Bytes left in the cursor. */
size_t cs_cur_left(const cs_cur_t *c);

#endif
