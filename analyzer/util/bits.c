/* SPDX-License-Identifier: MIT */
/* Counting the set bits of bitmaps with the popcnt instruction where the CPU has it. */
#include <stdbool.h>
#include "bits.h"

static uint64_t words_portable(const uint64_t *w, size_t n)
{
	uint64_t c = 0;

	for (size_t i = 0; i < n; i++)
		c += cs_popcount64(w[i]);
	return c;
}

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__POPCNT__)
__attribute__((target("popcnt"))) static uint64_t words_popcnt(const uint64_t *w, size_t n)
{
	uint64_t c = 0;

	for (size_t i = 0; i < n; i++)
		c += (uint64_t)__builtin_popcountll(w[i]);
	return c;
}

uint64_t cs_popcount_words(const uint64_t *w, size_t n)
{
	static int have = -1; /* racy but idempotent: every thread computes the same */

	if (have < 0)
		have = __builtin_cpu_supports("popcnt") ? 1 : 0;
	return have ? words_popcnt(w, n) : words_portable(w, n);
}
#else
uint64_t cs_popcount_words(const uint64_t *w, size_t n)
{
	return words_portable(w, n);
}
#endif
