/* SPDX-License-Identifier: MIT */
/* A synthetic run of format 1.4 with changed words, for the unit tests and the schema test. */
#ifndef CS_AMP_RUN_H
#define CS_AMP_RUN_H

#include <stddef.h>
#include <stdint.h>

/* The fixture: K pages incremented then decremented, M pages with 8 new bytes. */
#define AMP_K 10
#define AMP_M 4
#define MS 1000000ull
#define T_FORK (1 * MS)

/* The directory the writers below write into (kept, not copied). */
void amp_use_dir(const char *d);

/* The root (pid 100) of format minor `minor`, which forked and reaped kids. */
void amp_root(const uint32_t *kids, size_t n, uint16_t minor);

/* A child's file with PROC, BACKEND (uffd-wp) and its fork snapshot (S: 32 pages). */
int amp_child_file(uint32_t pid, uint16_t minor);

/* The start of its working snapshot: the child wrote w heap pages, the parent pw anon pages. */
void amp_snap_begin(int fd, uint32_t seq, uint64_t w, uint64_t pw);

/* n bitmaps with `bits` words set in each (words 0 .. bits - 1); free() them. */
uint64_t *amp_bitmaps(size_t n, unsigned bits);

/* 203: a child without a DIFF record, in a file of format minor `minor`. */
void amp_child_no_diff(uint16_t minor);

/*
 * The whole run: 201 (K no-op + M one-word pages, one unknown, a parent side), 202 (one
 * page in 4 compared), 203 (no DIFF), 204 (no net change).
 */
void amp_write_run(void);

/* The struct array of the sites run: 2 pages of 64-byte objects from page 16 (stack 1). */
#define AMP_OBJ_BYTES 64
#define AMP_OBJS (2 * 4096 / AMP_OBJ_BYTES)

/*
 * The sites run, exact mode (every allocation recorded): root 100 allocated the struct
 * array (stack 1) and one 8 KiB block at page 18 (stack 2); child 301 wrote pages 16..20:
 * the field at offset 16 of every object of page 16 changed, page 17 no-op, offsets 0 and
 * 24 of the block changed (page 18), page 19 no-op, one word of page 20 (no allocation).
 */
void amp_write_sites_run(void);

#endif
