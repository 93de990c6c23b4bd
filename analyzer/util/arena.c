/* SPDX-License-Identifier: MIT */
/* A bump allocator over a list of chunks, freed all at once. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "arena.h"

#define CHUNK_BYTES 65536u

struct cs_arena_chunk {
	cs_arena_chunk_t *next;
	size_t used;
	size_t cap;
	_Alignas(8) unsigned char data[];
};

static cs_arena_chunk_t *new_chunk(cs_arena_t *a, size_t need)
{
	size_t cap = need > CHUNK_BYTES ? need : CHUNK_BYTES;
	cs_arena_chunk_t *c;

	if (cap > SIZE_MAX - sizeof(*c))
		return NULL;
	c = malloc(sizeof(*c) + cap);
	if (!c)
		return NULL;
	c->used = 0;
	c->cap = cap;
	if (a->head && need > CHUNK_BYTES) {
		c->next = a->head->next; /* a big one: keep filling the current chunk */
		a->head->next = c;
	} else {
		c->next = a->head;
		a->head = c;
	}
	return c;
}

void *cs_arena_alloc(cs_arena_t *a, size_t n)
{
	cs_arena_chunk_t *c = a->head;
	void *p;

	if (n > SIZE_MAX - 8)
		return NULL;
	n = (n + 7) & ~(size_t)7;
	if (!c || c->cap - c->used < n)
		c = new_chunk(a, n);
	if (!c)
		return NULL;
	p = c->data + c->used;
	c->used += n;
	memset(p, 0, n);
	return p;
}

char *cs_arena_strndup(cs_arena_t *a, const char *s, size_t n)
{
	char *p = n < SIZE_MAX ? cs_arena_alloc(a, n + 1) : NULL;

	if (p)
		memcpy(p, s, n);
	return p;
}

char *cs_arena_strdup(cs_arena_t *a, const char *s)
{
	return s ? cs_arena_strndup(a, s, strlen(s)) : NULL;
}

void cs_arena_free(cs_arena_t *a)
{
	cs_arena_chunk_t *c = a->head, *next;

	for (; c; c = next) {
		next = c->next;
		free(c);
	}
	a->head = NULL;
}
