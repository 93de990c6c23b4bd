/* SPDX-License-Identifier: MIT */
/* The view of the parent's memory a fork child compares with, owned by view.c. */
#ifndef CS_VIEW_H
#define CS_VIEW_H

#include <stdint.h>

/*
 * In the parent, before the real fork: make sure this process holds its own
 * /proc/self/mem and /proc/self/pagemap descriptors (high, close-on-exec,
 * identity kept) for the child to inherit, and track its own writes with
 * uffd-wp from now on unless it already does (a child armed at its own fork)
 * or a child forked earlier still lives. hook-safe (raw system calls only).
 */
void cs_view_prepare(void);

/* In the parent, after the real fork returned pid (-1: it failed). hook-safe. */
void cs_view_forked(int pid);

/* The parent reaped child pid (a wait hook saw it end). hook-safe. */
void cs_view_reaped(int pid);

/*
 * In a fork child, first thing: the descriptors inherited from the parent
 * become the view of the parent (any view of the grandparent is dropped); the
 * child opens its own at its own first fork. fork-child-safe.
 */
void cs_view_child(void);

/* This process tracks its writes with uffd-wp since its own fork (on: 1). fork-child-safe. */
void cs_view_set_tracked(int on);

/*
 * The view for a comparison: the parent's memory and pagemap descriptors when
 * both are still ours and the parent tracked its writes at the fork; returns
 * 1 then, else 0 (*mem = *pm = -1). hook-safe.
 */
int cs_view_get(int *mem, int *pm);

#endif
