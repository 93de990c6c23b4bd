/* SPDX-License-Identifier: MIT */
/* Bit counting without a libgcc call: the build targets baseline x86-64, which has no popcnt. */
#ifndef CS_BITS_H
#define CS_BITS_H

#include <stddef.h>
#include <stdint.h>

/* Set bits in x. Inline; with -mpopcnt (or another target's instruction) the builtin. */
static inline unsigned cs_popcount64(uint64_t x)
{
#if defined(__POPCNT__) || !defined(__x86_64__)
	return (unsigned)__builtin_popcountll(x);
#else
	x = x - ((x >> 1) & 0x5555555555555555ull);
	x = (x & 0x3333333333333333ull) + ((x >> 2) & 0x3333333333333333ull);
	x = (x + (x >> 4)) & 0x0f0f0f0f0f0f0f0full;
	return (unsigned)((x * 0x0101010101010101ull) >> 56);
#endif
}

/*
 * Set bits in the n words at w. On x86-64 with the popcnt instruction (every
 * CPU since 2008, checked once at run time) one instruction a word, else
 * cs_popcount64's dozen.
 */
uint64_t cs_popcount_words(const uint64_t *w, size_t n);

#endif
