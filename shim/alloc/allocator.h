/* SPDX-License-Identifier: MIT */
/* Which allocator the program uses, found at init and written into every trace file. */
#ifndef CS_ALLOCATOR_H
#define CS_ALLOCATOR_H

/*
 * Find the object that defines the malloc the shim forwards to: its path
 * (the loader's name for it, through realpath), its name ("glibc", "jemalloc", "tcmalloc", "mimalloc",
 * else its file name) and whether LD_PRELOAD brought it rather than the
 * program's own dependencies.
 * init-only (dl_iterate_phdr, dlsym, getenv, stat, realpath).
 */
void cs_allocator_detect(void);

/* Write CS_REC_ALLOCATOR from what cs_allocator_detect found (nothing before it). fork-child-safe. */
void cs_allocator_put(void);

#endif
