/* SPDX-License-Identifier: MIT */
/* Harvest: write one snapshot of a process's private writable memory as trace records. */
#ifndef CS_HARVEST_H
#define CS_HARVEST_H

#include <stdint.h>
#include "cowscope/trace_format.h"
#include "maps.h"
#include "writer.h"

/* Scratch memory a harvest needs (maps buffer, pagemap chunk, scan vector, record builders). */
#define CS_HARVEST_SCRATCH (192u * 1024u)

/*
 * The scratch's tail: CS_HARVEST_SPARE_BYTES left to the caller (the shim
 * gathers a snapshot's records there, cs_writer_batch_begin), then the
 * exclusive runs kept for the changed-word comparison (h->keep_excl), left
 * intact for before_end: in a small process one page holds both.
 */
#define CS_HARVEST_SPARE_BYTES (3u * 1024u)
#define CS_HARVEST_RUNS_BYTES (29u * 1024u)
#define CS_HARVEST_RUNS_MAX (CS_HARVEST_RUNS_BYTES / 16u)
#define CS_HARVEST_SPARE_OFF (CS_HARVEST_SCRATCH - CS_HARVEST_RUNS_BYTES - CS_HARVEST_SPARE_BYTES)

/* Mappings larger than this are not scanned (flagged skipped). */
#define CS_HARVEST_RAW_LIMIT_BYTES (64ull << 30)

/* Mappings larger than this skip their holes with PAGEMAP_SCAN instead of mincore chunks. */
#define CS_HARVEST_HOLES_BYTES (16ull << 20)

/* At the fork, anonymous mappings larger than this take their present set from mincore(). */
#define CS_HARVEST_E0_LIMIT_BYTES (8ull << 20)

typedef struct cs_harvest {
	/* Set by the caller. */
	int proc_fd;     /* open /proc/<pid> directory, or -1 for this process */
	int pagemap_fd;  /* that process's pagemap, O_RDONLY */
	uint8_t backend; /* enum cs_backend: which sets to produce */
	uint8_t scan;    /* PAGEMAP_SCAN usable */
	uint8_t thp;     /* transparent huge pages may be in use: look for them */
	uint8_t reason;  /* enum cs_snap_reason */
	uint32_t seq;    /* snapshot number in the file */
	unsigned page_shift;
	const char *shim_path; /* mappings of this file are the shim's: excluded */
	uint64_t own[2][2];    /* [start, end) ranges of the shim's own memory: not scanned */
	/* Called for each tracked mapping when reason == CS_SNAP_FORK; returns CS_MAPF_ARMED or 0. */
	int (*arm)(void *arg, const cs_vma_t *v);
	void *arm_arg;
	uint8_t strict;   /* any unreadable mapping fails the whole snapshot */
	uint64_t lo, hi;  /* only [lo, hi) (mappings clipped to it); 0, 0: everything */
	uint8_t read_all; /* proc_fd >= 0: read every pagemap entry, not only from present
			       * pages on (the reference for tests and benchmarks) */
	uint8_t no_excl;  /* uffd-wp, this process: no pagemap bit 56 (COWSCOPE_PARENT_UNSHARED=
			   * off): anonymous mappings take their present set from mincore(),
			   * others from their entries without CS_SET_EXCL; CS_SNAPF_NO_EXCL */
	cs_writer_t *w;
	uint8_t *scratch; /* CS_HARVEST_SCRATCH bytes, owned by the caller */
	/* Keep the exclusive runs (CS_SET_EXCL) of the readable private mappings
	 * not the shim's, in address order, for before_end (cs_harvest_excl):
	 * the comparison's parent side then reads no pagemap entry itself. */
	uint8_t keep_excl;
	/* Called after the page sets, before CS_REC_SNAP_END (records of the same snapshot, e.g.
	 * the changed words); h->scratch is free again then. A failure only truncates. */
	int (*before_end)(void *arg);
	void *before_end_arg;
	/* Results. */
	uint32_t snap_flags;  /* CS_SNAPF_* */
	uint32_t mappings;    /* mappings written */
	uint32_t skipped;     /* mappings too large or unreadable */
	uint64_t raw_entries; /* pagemap entries read (its cost grows with them) */
	uint32_t excl_n;      /* keep_excl: runs kept */
	uint8_t excl_lost;    /* keep_excl: not all kept (too many runs, or a mapping read
			       * without entries): the kept runs are not to be used */
} cs_harvest_t;

/*
 * Write CS_REC_SNAP_BEGIN, a CS_REC_MAPPING for every writable mapping, the page
 * sets of the private ones (CS_SET_PRESENT, CS_SET_EXCL, CS_SET_HUGE, and
 * CS_SET_WRITTEN / CS_REC_PFNS as the backend has them) and CS_REC_SNAP_END.
 * minflt/majflt go into the begin record. Cost on Linux 6.18, per GiB
 * resident: mincore 0.5 ms, pagemap entries 7.7 ms (skipped for large
 * anonymous mappings at the fork), the written set 0.4 ms, huge pages 0.8 ms;
 * arming (h->arm) adds about 8 ms. From outside (proc_fd >= 0, where mincore
 * cannot see) entries are read only from present or swapped pages on, found
 * with PAGEMAP_SCAN when h->scan (docs/sampling.md): the same sets as reading
 * every entry, which h->read_all forces. With a range (h->hi != 0), only the
 * mappings that intersect [h->lo, h->hi), clipped to it, and their pages are
 * written, and reading the maps stops past h->hi; a range with no mapping left
 * gives an empty snapshot. With h->no_excl (uffd-wp backend, proc_fd < 0)
 * no CS_SET_EXCL is written and the end record carries CS_SNAPF_NO_EXCL: the
 * harvest is then mincore + the written set (docs/backends.md). Returns 0 or -errno (the snapshot then has
 * no end record and readers ignore it). fork-child-safe; not reentrant (uses
 * h->scratch).
 */
int cs_harvest_run(cs_harvest_t *h, uint64_t minflt, uint64_t majflt);

/*
 * The exclusive runs the last cs_harvest_run kept (h->keep_excl), h->excl_n of
 * them in the scratch's tail; NULL if none were kept or some were lost.
 * Valid until the scratch's tail is written again. fork-child-safe.
 */
const cs_run_t *cs_harvest_excl(const cs_harvest_t *h);

#endif
