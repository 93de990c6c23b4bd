/* SPDX-License-Identifier: MIT */
/* Page tracking in this process: the backend chosen at init (or fallen back to), and /proc/self/pagemap. */
#ifndef CS_TRACK_H
#define CS_TRACK_H

#include <stdint.h>

/* Probe the backends and choose one for requested (enum cs_backend, NONE = auto). init-only. */
void cs_track_choose(uint8_t requested);

/* The backend in use here (enum cs_backend). hook-safe. */
uint8_t cs_track_backend(void);

/* Whether the requested backend was not usable and another was chosen. hook-safe. */
int cs_track_fell_back(void);

/* PAGEMAP_SCAN works; transparent huge pages are possible (for the harvest). hook-safe. */
uint8_t cs_track_scan(void);
uint8_t cs_track_thp(void);

/* uffd-wp async with PAGEMAP_SCAN passed its probe (and did not fail since). hook-safe. */
uint8_t cs_track_uffd_usable(void);

/*
 * Arming the backend in use failed in a fork child: mark it unusable and
 * choose the next usable one (CS_BACKEND_NONE at last). Returns the new
 * backend. fork-child-safe.
 */
uint8_t cs_track_fall_back(void);

/* Write a CS_REC_BACKEND record for the backend now in use. fork-child-safe. */
void cs_track_put_backend(void);

/* Open /proc/self/pagemap and keep it high (or keep none). fork-child-safe. */
void cs_track_pagemap_open(void);

/*
 * This process's pagemap for a snapshot: the kept descriptor when it is still
 * ours, else a transient one (*own = 1: close it after). -errno. hook-safe.
 */
int cs_track_pagemap_get(int *own);

/* The kept pagemap descriptor as it is (-1 if none), for arming in a fork child. fork-child-safe. */
int cs_track_pagemap_fd(void);

/* Forget the parent's pagemap descriptor, closing it only if still ours. fork-child-safe. */
void cs_track_pagemap_drop(void);

#endif
