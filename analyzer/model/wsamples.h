/* SPDX-License-Identifier: MIT */
/* Page-fault samples of one process (format 1.5 CS_REC_WSAMPLES) and the writers they yield. */
#ifndef CS_WSAMPLES_H
#define CS_WSAMPLES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct cs_frame;
struct cs_site;

/* One sample: the faulting data address, the user ip, its call chain in ws->ra. */
typedef struct cs_wsamp {
	uint64_t addr;
	uint64_t ip;
	uint32_t tid;
	uint32_t depth; /* return addresses at ra[first ..], innermost first */
	size_t first;
} cs_wsamp_t;

/* Every sample of a process, in trace order (the kernel's order within a record). */
typedef struct cs_wsampinfo {
	bool present;  /* some CS_REC_WSAMPLES was read */
	uint64_t lost; /* samples the kernel dropped (the last record's cumulative count) */
	cs_wsamp_t *v;
	size_t n, cap;
	uint64_t *ra;
	size_t nra, capra;
} cs_wsampinfo_t;

/* The name of the copies no user-space sample saw. */
#define CS_BUCKET_NO_WRITER                                                                       \
	"copies no user-space sample saw (kernel writes such as read() into a buffer, or before " \
	"tracking started)"

/*
 * A writer: a symbolized call chain (the faulting ip's frames first), or the
 * bucket above, with the child-copied pages its first writes copied and the
 * allocation sites owning them (owners[i].child_copied = pages).
 */
typedef struct cs_wstack {
	const struct cs_frame *frames;
	size_t nframes;
	const char *bucket; /* NULL for a call chain */
	const char *key;    /* frames as text (the sites' key rules), or "\1" + bucket */
	double child_copied;
	struct cs_site *owners; /* malloc'd, by pages, most first */
	size_t nowners;
} cs_wstack_t;

/* Free what ws holds; it becomes empty. */
void cs_wsampinfo_free(cs_wsampinfo_t *ws);

/* Free writers v[0..n) and v. */
void cs_writers_free(cs_wstack_t *v, size_t n);

#endif
