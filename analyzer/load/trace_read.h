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

/* An open trace file, read whole into memory (it may still be growing). */
typedef struct cs_trace {
	char *path;         /* for messages */
	uint8_t *data;
	size_t len;
	bool mapped;        /* data is a read-only mapping of the file (large files), not a copy */
	cs_file_hdr_t hdr;  /* valid when has_hdr */
	bool has_hdr;       /* false: the file ends inside its header */
	bool truncated;     /* the file ends inside a record (or its header) */
	size_t off;         /* offset of the next record */
	uint32_t recno;     /* records returned so far; numbers count from 1 */
} cs_trace_t;

/* One record: points into the trace's buffer. */
typedef struct cs_rec {
	const uint8_t *p;   /* the whole record, header included */
	uint32_t size;
	uint16_t type;
	uint32_t recno;     /* 1 for the first record */
	size_t off;         /* file offset */
} cs_rec_t;

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
int cs_trace_open_head(cs_trace_t *t, int dirfd, const char *name, const char *path,
		       size_t max, cs_diag_t *d);

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
 * *c to the payload after it. Returns 0, or -EBADMSG if r is shorter.
 */
int cs_rec_fixed(const cs_rec_t *r, void *out, size_t fixed, cs_cur_t *c);

/* Take n bytes from the cursor: *p points at them. 0 or -EBADMSG if too few remain. */
int cs_cur_bytes(cs_cur_t *c, size_t n, const void **p);

/* Take a u16-length-prefixed string. 0 or -EBADMSG if it runs past the record. */
int cs_cur_str(cs_cur_t *c, cs_str_t *s);

/* Bytes left in the cursor. */
size_t cs_cur_left(const cs_cur_t *c);

#endif
