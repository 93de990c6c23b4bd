/* SPDX-License-Identifier: MIT */
/* The bytes a sampled allocation stands for: one pure function shared by the shim and the analyzer. */
#ifndef CS_WEIGHT_H
#define CS_WEIGHT_H

#include <stdint.h>

/*
 * Bytes a sampled allocation of `size` stands for when allocations are sampled
 * by bytes with a geometric interval of mean `mean`: size / P(sampled), with
 * P = 1 - exp(-size / mean), rounded to the nearest byte, so summing weights
 * estimates bytes without bias. mean <= 1 (exact mode) or size 0: size. The
 * analyzer computes the weight of format 1.7 events with it (they carry none);
 * an mmap region's weight is its size, which the caller decides.
 * hook-safe: pure arithmetic (libm's expm1), no allocation, no errno change.
 */
uint64_t cs_weight_bytes(uint64_t size, uint64_t mean);

#endif
