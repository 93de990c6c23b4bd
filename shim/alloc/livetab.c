/* SPDX-License-Identifier: MIT */
/* The live sampled malloc blocks: dense entries under a growing open-addressing index. */
#include <errno.h>
#include <string.h>
#include "livetab.h"

#define MIN_SLOTS 1024u /* one 4 KiB page of index */

static uint32_t home(const cs_livetab_t *t, uint64_t ptr)
{
	return (uint32_t)(((ptr >> 4) * 0x9e3779b97f4a7c15ull) >> 32) & (t->nslots - 1);
}

int cs_livetab_init(cs_livetab_t *t, void *mem, size_t bytes)
{
	size_t n = bytes / CS_LIVETAB_BYTES_PER, slots = 1;

	memset(t, 0, sizeof(*t));
	while (slots * 2 <= n * 2 && slots * 2 <= (1u << 31))
		slots *= 2; /* the largest power of two <= 2n */
	if (n < 64 || slots < MIN_SLOTS)
		return -ENOMEM;
	t->slot = mem;
	t->ent = (cs_live_t *)(t->slot + slots);
	t->max_slots = (uint32_t)slots;
	t->cap = (uint32_t)(slots / 2);
	t->nslots = MIN_SLOTS;
	return 0;
}

/* The slot holding ptr, or the empty slot where it would go. */
static uint32_t find(const cs_livetab_t *t, uint64_t ptr)
{
	uint32_t i = home(t, ptr);

	while (t->slot[i] && t->ent[t->slot[i] - 1].ptr != ptr)
		i = (i + 1) & (t->nslots - 1);
	return i;
}

/* Double the index (entries stay) and re-index every entry. */
static void grow(cs_livetab_t *t)
{
	t->nslots *= 2;
	memset(t->slot, 0, (size_t)t->nslots * sizeof(*t->slot));
	for (uint32_t k = 0; k < t->count; k++)
		t->slot[find(t, t->ent[k].ptr)] = k + 1;
}

int cs_livetab_put(cs_livetab_t *t, const cs_live_t *e)
{
	uint32_t i = find(t, e->ptr);

	if (t->slot[i]) {
		t->ent[t->slot[i] - 1] = *e;
		return 0;
	}
	if (t->count == t->cap)
		return -ENOSPC;
	if ((t->count + 1) * 2 > t->nslots && t->nslots < t->max_slots) {
		grow(t);
		i = find(t, e->ptr);
	}
	t->ent[t->count++] = *e;
	t->slot[i] = t->count;
	return 0;
}

/* Empty slot i, shifting back the entries of its cluster that probed past it. */
static void unslot(cs_livetab_t *t, uint32_t i)
{
	uint32_t mask = t->nslots - 1, j = i;

	for (;;) {
		j = (j + 1) & mask;
		if (!t->slot[j])
			break;
		uint32_t h = home(t, t->ent[t->slot[j] - 1].ptr);

		/* j's entry may move to i unless its home lies cyclically in (i, j]. */
		if ((j > i && (h <= i || h > j)) || (j < i && h <= i && h > j)) {
			t->slot[i] = t->slot[j];
			i = j;
		}
	}
	t->slot[i] = 0;
}

int cs_livetab_take(cs_livetab_t *t, uint64_t ptr)
{
	uint32_t i = find(t, ptr), k, last;

	if (!t->slot[i])
		return 0;
	k = t->slot[i] - 1;
	unslot(t, i);
	last = --t->count;
	if (k != last) { /* the last entry fills the hole */
		t->ent[k] = t->ent[last];
		t->slot[find(t, t->ent[k].ptr)] = k + 1;
	}
	return 1;
}

const cs_live_t *cs_livetab_get(const cs_livetab_t *t, uint64_t ptr)
{
	uint32_t i = find(t, ptr);

	return t->slot[i] ? &t->ent[t->slot[i] - 1] : NULL;
}
