/* SPDX-License-Identifier: MIT */
/* This process's identity and options, owned by boot.c: start-up, the child's new identity, stop. */
#ifndef CS_BOOT_H
#define CS_BOOT_H

#include <stdint.h>
#include "options.h"

#define CS_ARENA_BYTES (256u * 1024u)
#define CS_HIDDEN_DATA __attribute__((visibility("hidden")))

/*
 * Who this process is and how it is traced. Written only by boot.c (at init,
 * by cs_boot_become_child in a fork child, by cs_boot_stop); every other file
 * reads it through cs_proc(), a const view.
 */
typedef struct cs_proc {
	volatile int ready; /* tracing on in this process */
	int pid;            /* the process this state describes; hooks compare getpid() */
	int ppid;
	uint8_t role;       /* enum cs_role */
	uint8_t fork_via;   /* enum cs_fork_via */
	uint8_t wipeonfork; /* the arena is MADV_WIPEONFORK */
	unsigned page_shift;
	uint64_t parent_fork_seq; /* which fork of the parent made this process */
	uint64_t start_ns;
	uint8_t *arena;        /* scratch for snapshots, CS_ARENA_BYTES */
	cs_options_t opt;      /* COWSCOPE_*, read once at init */
	char exe[CS_PATH_MAX]; /* /proc/self/exe at init */
	char shim_path[CS_PATH_MAX];
	char out_dir[CS_PATH_MAX]; /* the run directory, absolute */
} cs_proc_t;

extern cs_proc_t cs_proc_st CS_HIDDEN_DATA;

/* The const view of this process's identity. hook-safe. */
static inline const cs_proc_t *cs_proc(void)
{
	return &cs_proc_st;
}

/* True when tracing is on and the caller is the traced process (not a vfork child). hook-safe. */
int cs_traced_here(void);

/* Set up tracing in this process. init-only (constructor). */
void cs_boot_init(void);

/* Open this process's trace and write its identity records. fork-child-safe. */
int cs_boot_open_trace(void);

/*
 * In a fork child, first thing: take the child's identity (pid, parent, role,
 * via, which fork of the parent made it: parent_seq), forget the parent's exit
 * status, and take fresh snapshot scratch unless the arena was wiped by the
 * kernel. fork-child-safe.
 */
void cs_boot_become_child(uint8_t via, uint64_t parent_seq);

/* Tracing ends in this process (its end record is written, or its trace failed). hook-safe. */
void cs_boot_stop(void);

/* exit(status) was called: the status the destructor's end record gives. hook-safe. */
void cs_boot_note_exit(int status);

/*
 * The run directory as a descriptor: the kept one when it is still ours,
 * else the directory reopened by its absolute path (O_NOFOLLOW, same device
 * and inode, *own = 1: the caller closes it). -errno when neither works.
 * fork-child-safe.
 */
int cs_boot_dir_get(int *own);

/* Write a line to stderr (raw write). hook-safe. */
void cs_say(const char *msg);

#endif
