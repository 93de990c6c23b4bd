/* SPDX-License-Identifier: MIT */
/* Who wrote the copied pages: per-CPU page-fault sampling in a fork child, drained into CS_REC_WSAMPLES. */
#ifndef CS_WRITERS_H
#define CS_WRITERS_H

#include <stdint.h>

/* Call-chain entries kept per sample (the kernel's sample_max_stack). */
#define CS_WRITERS_DEPTH 32u
/* CPUs sampled at most (one ring each). */
#define CS_WRITERS_MAX_CPUS 512u

/*
 * Learn how many CPUs the machine may run this process on
 * (/sys/devices/system/cpu/possible). init-only.
 */
void cs_writers_init(void);

/*
 * In a fork child, after its fork snapshot and before the program runs
 * again: open one page-fault sampling event per CPU (user space only,
 * inherited by threads created later, not by forked processes), map a ring of
 * COWSCOPE_WRITERS_BUFFER bytes each, and close the descriptors (the mappings
 * keep the events alive; the program never sees a descriptor). A refusal
 * (perf not permitted, memory-lock limit) writes one CS_NOTE_WRITERS naming
 * it and leaves sampling off. Does nothing unless COWSCOPE_WRITERS=1.
 * fork-child-safe.
 */
void cs_writers_child_start(void);

/* Forget the parent's rings (fork does not copy them): first thing in a fork child. fork-child-safe. */
void cs_writers_reset_in_child(void);

/*
 * Move every sample in the rings into CS_REC_WSAMPLES records (lost samples
 * counted from PERF_RECORD_LOST). Called before each of the child's own
 * snapshots, so a snapshot's samples precede it. Raw reads of the rings and
 * the writer's batched writes; a concurrent call returns at once.
 * hook-safe, fork-child-safe.
 */
void cs_writers_drain(void);

/* Whether sampling runs in this process (its rings are mapped). hook-safe. */
int cs_writers_on(void);

#endif
