/* SPDX-License-Identifier: MIT */
/* The shim's per-process state and the operations the hooks call. */
#ifndef CS_STATE_H
#define CS_STATE_H

#include <stdint.h>
#include "backend.h"
#include "maps.h"
#include "options.h"
#include "shimmem.h"
#include "writer.h"

#define CS_CMDLINE_MAX 2048
#define CS_ARENA_BYTES (256u * 1024u)

typedef struct cs_state {
	volatile int ready;    /* tracing on in this process */
	int pid;               /* the process this state describes; hooks compare getpid() */
	int ppid;
	uint8_t role;          /* enum cs_role */
	uint8_t fork_via;      /* enum cs_fork_via */
	uint8_t backend;       /* enum cs_backend in use here */
	uint8_t wipeonfork;    /* the arena is MADV_WIPEONFORK */
	uint8_t thp;           /* transparent huge pages are not "never" */
	volatile uint8_t alloc_on; /* allocation sampling is running */
	uint64_t sample_bytes; /* mean sampling interval; 1: every allocation */
	uint64_t alloc_seq;    /* next allocation event sequence number */
	cs_shimmem_t mem;      /* allocation tracking's own memory */
	int fell_back;
	unsigned page_shift;
	int dirfd;                 /* run directory, kept high, or -1 (then opened by path) */
	int pagemap_fd;            /* kept high, or -1 (then opened per snapshot) */
	int uffd;                  /* kept high, or -1 */
	cs_fd_id_t dir_id;         /* identities of the kept descriptors, checked before use */
	cs_fd_id_t pagemap_id;
	cs_fd_id_t uffd_id;
	int snap_busy;
	int exit_status;
	int exit_status_known;
	uint32_t snap_seq;
	uint32_t mark_seq;         /* next cowscope_mark() number */
	uint64_t fork_seq;         /* forks made by this process */
	uint64_t parent_fork_seq;  /* which fork of the parent made this process */
	uint64_t start_ns;
	uint8_t *arena;            /* scratch for snapshots, CS_ARENA_BYTES */
	uint32_t *fork_gate;       /* pfn backend: MAP_SHARED slots, CS_FORK_GATE_SLOTS */
	uint64_t counters[CS_CNT__COUNT];
	cs_options_t opt;
	cs_probe_t probe;
	cs_writer_t w;
	uint32_t cmdline_len;
	uint32_t exe_len;
	char cmdline[CS_CMDLINE_MAX];
	char exe[CS_PATH_MAX];
	char shim_path[CS_PATH_MAX];
	char out_dir[CS_PATH_MAX];
} cs_state_t;

extern cs_state_t cs_st;

/* Recursion guard, one per thread: a hook reached from inside the shim only forwards. */
extern __thread int cs_tls_guard __attribute__((tls_model("initial-exec")));

/* Per-thread: which fork of this process the thread is making (read by the child). */
extern __thread uint64_t cs_tls_fork_seq __attribute__((tls_model("initial-exec")));

/* True when tracing is on and the caller is the traced process (not a vfork child). hook-safe. */
int cs_traced_here(void);

/* Set up tracing in this process. init-only (constructor). */
void cs_boot_init(void);

/* Open this process's trace and write its identity records. fork-child-safe. */
int cs_boot_open_trace(void);

/* Become the tracked child after fork: new trace, arm tracking, fork snapshot. fork-child-safe. */
void cs_fork_child_start(uint8_t via);

/* Register the atfork handlers (and, for the pfn backend, the fork gate). init-only. */
int cs_fork_register(void);

#define CS_FORK_GATE_SLOTS 1024u

/*
 * pfn backend only: in the parent, right after fork() returned pid, wait until
 * that child has taken its fork snapshot (at most a few seconds; not if it
 * ended), so the parent's writes cannot race the child's reading of its frame
 * numbers (they would look like child copies). Other threads of the parent are
 * not held. hook-safe; a no-op for the other backends.
 */
void cs_fork_gate_wait(int pid);

/* Take a snapshot now (enum cs_snap_reason). 0, -EBUSY or -errno. hook-safe (not reentrant). */
int cs_snapshot(uint8_t reason);

/* The same, arming each tracked mapping with arm (the fork snapshot). fork-child-safe. */
int cs_snapshot_arm(uint8_t reason, int (*arm)(void *arg, const cs_vma_t *v));

/*
 * The working snapshot (CS_SNAP_WORK) of a forked child: the process begins
 * to exit (exit() before its atexit handlers, or cowscope_exiting()). Once per
 * process: later calls return 0 and take none. 0 (also in a root, or without
 * a backend), -EBUSY or -errno. Call with cs_tls_guard set. hook-safe.
 */
int cs_snapshot_work(void);

/*
 * [lo, hi) is about to be unmapped: in a forked child, when it touches a
 * mapping tracked at the fork, take a CS_SNAP_UNMAP snapshot of that range
 * (its mappings clipped to it) first, so the copies made there are kept, and
 * forget the range. Any other call costs a few loads, or a getpid and an
 * atomic exchange in a child. Skipped when a snapshot is under way
 * (counted). hook-safe.
 */
void cs_snapshot_unmap(uint64_t lo, uint64_t hi);

/* The same for mremap(old, old_len, new_len, flags): the part that goes (or may go) away. */
void cs_snapshot_remap(uint64_t old, uint64_t old_len, uint64_t new_len, int flags);

/*
 * The run directory as a descriptor: the kept one when it is still ours,
 * else the directory reopened by its absolute path (O_NOFOLLOW, same device
 * and inode, *own = 1: the caller closes it). -errno when neither works.
 * fork-child-safe.
 */
int cs_boot_dir_get(int *own);

/* Open /proc/self/pagemap and keep it high in cs_st.pagemap_fd (or -1). fork-child-safe. */
void cs_boot_pagemap_open(void);

/*
 * This process's pagemap for a snapshot: the kept descriptor when it is still
 * ours, else a transient one (*own = 1: close it after). -errno. hook-safe.
 */
int cs_boot_pagemap_get(int *own);

/* Write a CS_REC_BACKEND record for the backend now in use. fork-child-safe. */
void cs_boot_put_backend(void);

/*
 * Write records for modules loaded since the last look (glibc's own dlopens,
 * e.g. NSS plugins, bypass the dlopen hook). Takes the loader lock: only from
 * exit and cowscope_snapshot(), never from _exit or exec (signal handlers).
 */
void cs_modules_refresh(void);

/* Final records: snapshot (children), counters, end. hook-safe. */
void cs_finish(uint8_t how, int status);

/* Small records. All hook-safe and async-signal-safe. */
void cs_rec_fork(int child_pid, uint8_t via, uint64_t seq);
void cs_rec_child_exit(int pid, int status);
void cs_rec_resume(int err);
void cs_rec_note(uint32_t code, int err, const char *text);


/* Write a line to stderr (raw write). hook-safe. */
void cs_say(const char *msg);

#endif
