/* SPDX-License-Identifier: MIT */
/* prefork-sim's shared definitions: settings, object types, the graph, the generator. */
#ifndef PREFORK_SIM_H
#define PREFORK_SIM_H

#include <stddef.h>
#include <stdint.h>
#include <cowscope.h>

/* Everything the command line sets. */
typedef struct sim_opts {
	long objects;  /* -n: objects in the parent's graph */
	int workers;   /* -w: workers forked (per round) */
	long requests; /* -r: requests per worker */
	int reads;     /* objects read per request */
	int temps;     /* temporaries per request */
	long gc_every; /* full collection every this many requests in a worker; 0: never */
	int auto_gc;   /* automatic (threshold) collections in the workers */
	int layout;    /* COWSCOPE_LAYOUT_*, 0: COWSCOPE_OBJ_LAYOUT or the default */
	int freeze;    /* cowscope_freeze() before forking */
	int immortal;  /* ... making the frozen objects immortal */
	int phases;    /* a round without freezing, then one with (two cowscope_mark phases) */
	uint64_t seed;
} sim_opts_t;

/* The three object types, in the spirit of CPython's str, list and dict. */
typedef struct sim_str {
	uint32_t len;
	uint32_t hash; /* computed when made: reads never write the object */
	char data[];
} sim_str_t;

typedef struct sim_list {
	uint32_t n;
	uint32_t pad;
	void *items[];
} sim_list_t;

typedef struct sim_entry {
	void *key; /* a sim_str_t */
	void *value;
} sim_entry_t;

typedef struct sim_dict {
	uint32_t n;
	uint32_t pad;
	sim_entry_t e[];
} sim_dict_t;

extern const cowscope_type_t sim_str_type, sim_list_type, sim_dict_type;

/* The parent's graph: one reference to every object, held for the whole run. */
typedef struct sim_graph {
	void **objs;
	long n;
	uint64_t payload_bytes; /* sum of the objects' payload sizes */
} sim_graph_t;

/* xorshift64*: deterministic for a seed. */
static inline uint64_t sim_rand(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545f4914f6cdd1dull;
}

/* A generator state from a seed and a stream number (splitmix64; never 0). */
uint64_t sim_rng_init(uint64_t seed, uint64_t stream);

/* A string object of len bytes drawn from rng; a list of n empty items; a dict of n entries. */
sim_str_t *sim_str_new(uint64_t *rng, uint32_t len);
sim_list_t *sim_list_new(uint32_t n);
sim_dict_t *sim_dict_new(uint32_t n);

/* Build the graph of o->objects objects. 0 or -ENOMEM. */
int sim_graph_build(sim_graph_t *g, const sim_opts_t *o);

/* A checksum of obj's contents and of what it references one level down (reads only). */
uint64_t sim_read(const void *obj);

/* A worker's whole life: o->requests requests, a line on stdout, then _exit. */
void sim_worker(const sim_graph_t *g, const sim_opts_t *o, int index) __attribute__((noreturn));

#endif
