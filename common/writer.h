/* SPDX-License-Identifier: MIT */
/* Trace files: safe creation in the run directory and whole-record appends. */
#ifndef CS_WRITER_H
#define CS_WRITER_H

#include <stddef.h>
#include <stdint.h>
#include "prim.h"

#define CS_NAME_MAX 64
#define CS_WRITER_IOV_MAX 8 /* buffers one cs_writer_putv record may gather */

struct iovec;

typedef struct cs_writer {
	int fd;          /* kept descriptor (>= CS_PRIM_FD_MIN), or -1 */
	int dirfd;       /* directory to reopen in when dir is NULL (the CLI's sampler) */
	const char *dir; /* absolute directory path to reopen in (the shim), or NULL */
	cs_fd_id_t id;   /* the file's device and inode */
	uint32_t gen;
	uint32_t failures;   /* writes that failed */
	uint32_t reopens;    /* times the descriptor had to be reopened */
	uint32_t lost;       /* records lost since the last CS_NOTE_WRITE_LOST */
	uint32_t lost_total; /* records lost in all */
	int lost_err;        /* errno of the last loss */
	uint8_t live;        /* the file exists */
	uint8_t transient;   /* no descriptor outside the program's range: open-write-close */
	uint8_t fd_note;     /* a CS_NOTE_FD is due (descriptor not ours, or none high) */
	uint8_t fd_why;      /* 1: reused by the program, 2: none high */
	char name[CS_NAME_MAX];
	/* A batch (cs_writer_batch_begin): the owning thread's records gather in batch. */
	uint8_t *batch;
	const void *batch_owner; /* that thread's token */
	uint32_t batch_cap, batch_len, batch_recs;
} cs_writer_t;

/*
 * Create "<pid>.<gen><suffix>" in dirfd with O_CREAT|O_EXCL|O_NOFOLLOW|
 * O_CLOEXEC and mode 0600, taking the first free gen from 0, and write the
 * file header. The descriptor is moved high (>= CS_PRIM_FD_MIN) to stay out of
 * the program's way; when it cannot be, no descriptor is kept and every write
 * opens, appends and closes (slower, never in the program's range). Returns 0
 * or -errno. fork-child-safe.
 */
int cs_writer_create(cs_writer_t *w, int dirfd, uint32_t kind, int pid, const char *suffix);

/* The same with a given gen; -EEXIST if that file exists. */
int cs_writer_create_gen(cs_writer_t *w, int dirfd, uint32_t kind, int pid, uint32_t gen,
			 const char *suffix);

/*
 * The same as cs_writer_create, for the shim: dirfd is used only to create
 * the file; later reopens go by the absolute path dir (kept by the caller,
 * never freed) + "/" + name, O_NOFOLLOW, and accept only the same inode.
 * fork-child-safe.
 */
int cs_writer_create_in(cs_writer_t *w, int dirfd, const char *dir, uint32_t kind, int pid,
			const char *suffix);

/*
 * Append one whole record (or any bytes) with a single write. Before writing
 * it checks (one fstat) that the descriptor still refers to our file (a
 * program may close or reuse descriptors, e.g. close_range()) and reopens it
 * (O_APPEND, same inode) if not, never touching the program's descriptor.
 * A short write (ENOSPC) is cut back, so the file never holds a partial
 * record, and counted; the next successful put first writes a
 * CS_NOTE_WRITE_LOST note with the count. Returns 0 or -errno. hook-safe.
 */
int cs_writer_put(cs_writer_t *w, const void *p, size_t n);

/*
 * The same for one record gathered from iov[0..n) (n <= CS_WRITER_IOV_MAX;
 * -EINVAL above): written with writev, so the pieces are never copied; the
 * same guarantees as cs_writer_put (descriptor check, no partial record, lost
 * records noted). Returns 0 or -errno. hook-safe.
 */
int cs_writer_putv(cs_writer_t *w, const struct iovec *iov, size_t n);

/*
 * Gather this thread's following records in buf (cap bytes) and write them
 * with one writev when it fills and at cs_writer_batch_end: one descriptor
 * check and one write per batch instead of per record (a snapshot writes
 * tens to thousands of records). Other threads' records are written at once,
 * before the batch. A record that does not fit an empty buf is written
 * alone. A failed batch write loses all its records (counted, noted as for
 * one record); the put that triggered it returns the error. Returns 1 if
 * this call began a batch, 0 if one was already open (nested, or another
 * thread's: then nothing is gathered); pass it to cs_writer_batch_end.
 * hook-safe.
 */
int cs_writer_batch_begin(cs_writer_t *w, void *buf, size_t cap);

/* Write the batch out and end it, if began is 1 (else nothing). 0 or -errno. hook-safe. */
int cs_writer_batch_end(cs_writer_t *w, int began);

/* Close the kept descriptor, if it is still ours (a batch of this thread is written first). */
void cs_writer_close(cs_writer_t *w);

#endif
