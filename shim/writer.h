/* SPDX-License-Identifier: MIT */
/* Trace files: safe creation in the run directory and whole-record appends. */
#ifndef CS_WRITER_H
#define CS_WRITER_H

#include <stddef.h>
#include <stdint.h>

#define CS_NAME_MAX 64

typedef struct cs_writer {
	int fd;
	int dirfd;
	uint64_t dev;
	uint64_t ino;
	uint32_t gen;
	uint32_t failures;   /* writes that failed */
	uint32_t reopens;    /* times the descriptor had to be reopened */
	char name[CS_NAME_MAX];
} cs_writer_t;

/*
 * Create "<pid>.<gen><suffix>" in dirfd with O_CREAT|O_EXCL|O_NOFOLLOW|
 * O_CLOEXEC and mode 0600, taking the first free gen from 0, and write the
 * file header. The descriptor is moved high (>= CS_PRIM_FD_MIN) to stay out of
 * the program's way. Returns 0 or -errno. fork-child-safe.
 */
int cs_writer_create(cs_writer_t *w, int dirfd, uint32_t kind, int pid, const char *suffix);

/* The same with a given gen; -EEXIST if that file exists. */
int cs_writer_create_gen(cs_writer_t *w, int dirfd, uint32_t kind, int pid, uint32_t gen,
			 const char *suffix);

/*
 * Append one whole record (or any bytes) with a single write. Before writing it
 * checks the descriptor still refers to our file (a program may close or reuse
 * descriptors, e.g. closefrom()) and reopens it by name if not. Returns 0 or
 * -errno; never writes to a descriptor that is not ours. hook-safe.
 */
int cs_writer_put(cs_writer_t *w, const void *p, size_t n);

void cs_writer_close(cs_writer_t *w);

#endif
