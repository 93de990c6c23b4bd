/* SPDX-License-Identifier: MIT */
/* Following fork, owned by fork.c: fork numbers, the pfn fork gate, the child's start and arming. */
#ifndef CS_FORK_H
#define CS_FORK_H

#include <stdint.h>

#define CS_FORK_GATE_SLOTS 1024u

/* Register the atfork handlers (and, for the pfn backend, the fork gate). init-only. */
int cs_fork_register(void);

/*
 * Number the fork this thread is about to make (forks made by this process,
 * from 1) and remember it for the child and for cs_fork_this_seq. hook-safe.
 */
uint64_t cs_fork_number(void);

/* The number cs_fork_number gave this thread's latest fork. hook-safe. */
uint64_t cs_fork_this_seq(void);

/*
 * pfn backend only: in the parent, right after fork() returned pid, wait until
 * that child has taken its fork snapshot (at most a few seconds; not if it
 * ended), so the parent's writes cannot race the child's reading of its frame
 * numbers (they would look like child copies). Other threads of the parent are
 * not held. hook-safe; a no-op for the other backends.
 */
void cs_fork_gate_wait(int pid);

/* The fork gate's memory [*lo, *hi) (a shim range); 0, or -ENOENT without a gate. hook-safe. */
int cs_fork_gate_range(uint64_t *lo, uint64_t *hi);

/*
 * Track this process's own writes with uffd-wp from now on (a parent, before
 * forking, for its children's comparison): open a userfaultfd if it has none,
 * register every private writable mapping and write-protect its present
 * pages (about 8 ms per GiB). Mappings that cannot be registered keep
 * reading as written. 0 or -errno. hook-safe; callers serialize (view.c).
 */
int cs_fork_self_arm(void);

/* Become the tracked child after fork: new trace, arm tracking, fork snapshot. fork-child-safe. */
void cs_fork_child_start(uint8_t via);

#endif
