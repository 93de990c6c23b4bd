/* SPDX-License-Identifier: MIT */
/* A bump allocator: many small objects (names, frames, keys) that live as long as the model. */
#ifndef CS_ARENA_H
#define CS_ARENA_H

#include <stddef.h>

typedef struct cs_arena_chunk cs_arena_chunk_t;

/* Zero-initialized is an empty arena. */
typedef struct cs_arena {
	cs_arena_chunk_t *head;
} cs_arena_t;

/*
 * n bytes aligned to 8, zeroed, valid until cs_arena_free(). Returns NULL when
 * out of memory. O(1) amortized; large requests get a chunk of their own.
 */
void *cs_arena_alloc(cs_arena_t *a, size_t n);

/* A NUL-terminated copy of the n bytes at s, or NULL when out of memory. */
char *cs_arena_strndup(cs_arena_t *a, const char *s, size_t n);

/* A copy of the string s (NULL stays NULL; out of memory also gives NULL). */
char *cs_arena_strdup(cs_arena_t *a, const char *s);

/* Free every object of the arena; it becomes empty and reusable. */
void cs_arena_free(cs_arena_t *a);

#endif
