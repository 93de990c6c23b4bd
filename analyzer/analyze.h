/* SPDX-License-Identifier: MIT */
/* The analysis pipeline in one call: load → model → sites (analyzer/README.md). */
#ifndef CS_ANALYZE_H
#define CS_ANALYZE_H

#include <stdint.h>
#include "diag.h"
#include "model.h"

/*
 * Load run directory `dir`: read every *.cst file in it, assemble snapshots,
 * add processes known only from other processes' records, resolve how each
 * ended and whether it is complete, build the tree, assign phases (format
 * 1.2 marks, cs_phases_assign), compute the figures and
 * (format 1.1 traces) the allocation sites of each child and sibling group.
 * Returns 0; -ENOENT/-errno if the directory cannot be read or holds no
 * traces; -EBADMSG or -EPROTONOSUPPORT for a bad trace; -ENOMEM. d says what,
 * naming the file and record. On error *m is freed. Cost: reads every file
 * whole; set operations linear in runs; see cs_sites_compute for the sites.
 */
int cs_model_load(cs_model_t *m, const char *dir, cs_diag_t *d);

/*
 * The default memory cap: a quarter of the machine's RAM, at least 256 MiB
 * (1 GiB if RAM is unknown).
 */
uint64_t cs_model_default_max_memory(void);

/*
 * cs_model_load with a memory cap of max_memory_bytes (0: the default): at most
 * half of it holds allocation events (the biggest part of a long run's trace;
 * the rest is for sorting, replay and sets); events past it are counted, not
 * kept, and the process gets a note saying how many were skipped and how much
 * of its trace the sites come from. Trace files are mapped, not copied, so
 * their size costs page cache, not memory the cap counts.
 */
int cs_model_load_capped(cs_model_t *m, const char *dir, uint64_t max_memory_bytes, cs_diag_t *d);

#endif
