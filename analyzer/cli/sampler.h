/* SPDX-License-Identifier: MIT */
/* Sampling another process's page state from outside, for `cowscope run`. */
#ifndef CS_SAMPLER_H
#define CS_SAMPLER_H

#include <stdint.h>

typedef struct cs_sampler cs_sampler_t;

/*
 * Start sampling process pid: creates "<pid>.<gen>.samples.cst" in the run
 * directory dirfd (O_EXCL, 0600) and opens /proc/<pid>/pagemap. backend is the
 * enum cs_backend the traced process uses (its CS_REC_BACKEND.chosen): it
 * decides which sets a sample holds. Returns 0 and *out, or -errno (-ESRCH if
 * the process is gone). Runs in the CLI; allocates.
 */
int cs_sampler_open(cs_sampler_t **out, int dirfd, int pid, uint32_t gen, uint8_t backend);

/*
 * Append one CS_SNAP_SAMPLE snapshot of the process to its samples file.
 * *cost_ns receives the time it took. Returns 0, or -ESRCH once the process
 * has exited (its memory is gone), or another -errno.
 */
int cs_sampler_take(cs_sampler_t *s, uint64_t *cost_ns);

/* Close the file and free the sampler. NULL is fine. */
void cs_sampler_close(cs_sampler_t *s);

#endif
