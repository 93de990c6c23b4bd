/* SPDX-License-Identifier: MIT */
/* Byte sampling of allocations: geometric intervals (pure; the weights are common/weight.h's). */
#ifndef CS_SAMPLE_H
#define CS_SAMPLE_H

#include <stdint.h>

/* Next value of a xorshift64* generator; *state must not be 0. hook-safe. */
uint64_t cs_rand_next(uint64_t *state);

/* -ln(u) for u in (0, 1], within 1e-9 (absolute) of libm's: no call, no libm. hook-safe. */
double cs_neg_log(double u);

/* A geometric (exponential) byte interval of the given mean, >= 1. hook-safe. */
int64_t cs_sample_interval(uint64_t *state, uint64_t mean);

#endif
