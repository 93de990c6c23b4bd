/* SPDX-License-Identifier: MIT */
/* prefork-sim's object types and the parent's graph of strings, lists and dicts. */
#include <errno.h>
#include <stdlib.h>
#include "sim.h"

static void list_traverse(void *obj, cowscope_visit_fn visit, void *arg)
{
	sim_list_t *l = obj;

	for (uint32_t i = 0; i < l->n; i++)
		if (l->items[i])
			visit(l->items[i], arg);
}

static void list_clear(void *obj)
{
	sim_list_t *l = obj;

	for (uint32_t i = 0; i < l->n; i++) {
		void *v = l->items[i];

		l->items[i] = NULL;
		cowscope_obj_decref(v);
	}
}

static void dict_traverse(void *obj, cowscope_visit_fn visit, void *arg)
{
	sim_dict_t *d = obj;

	for (uint32_t i = 0; i < d->n; i++) {
		if (d->e[i].key)
			visit(d->e[i].key, arg);
		if (d->e[i].value)
			visit(d->e[i].value, arg);
	}
}

static void dict_clear(void *obj)
{
	sim_dict_t *d = obj;

	for (uint32_t i = 0; i < d->n; i++) {
		void *k = d->e[i].key, *v = d->e[i].value;

		d->e[i].key = d->e[i].value = NULL;
		cowscope_obj_decref(k);
		cowscope_obj_decref(v);
	}
}

const cowscope_type_t sim_str_type = { "str", NULL, NULL };
const cowscope_type_t sim_list_type = { "list", list_traverse, list_clear };
const cowscope_type_t sim_dict_type = { "dict", dict_traverse, dict_clear };

uint64_t sim_rng_init(uint64_t seed, uint64_t stream)
{
	uint64_t z = seed + (stream + 1) * 0x9e3779b97f4a7c15ull;

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	z ^= z >> 31;
	return z ? z : 1;
}

sim_str_t *sim_str_new(uint64_t *rng, uint32_t len)
{
	sim_str_t *s = cowscope_obj_new(&sim_str_type, sizeof(*s) + len);
	uint32_t h = 2166136261u;

	if (!s)
		return NULL;
	s->len = len;
	for (uint32_t i = 0; i < len; i++) {
		s->data[i] = (char)('a' + sim_rand(rng) % 26);
		h = (h ^ (uint8_t)s->data[i]) * 16777619u;
	}
	s->hash = h;
	return s;
}

sim_list_t *sim_list_new(uint32_t n)
{
	sim_list_t *l = cowscope_obj_new(&sim_list_type, sizeof(*l) + n * sizeof(void *));

	if (l)
		l->n = n;
	return l;
}

sim_dict_t *sim_dict_new(uint32_t n)
{
	sim_dict_t *d = cowscope_obj_new(&sim_dict_type, sizeof(*d) + n * sizeof(sim_entry_t));

	if (d)
		d->n = n;
	return d;
}

/* A new reference to a random object among the first `upto` (NULL if none yet). */
static void *pick(const sim_graph_t *g, long upto, uint64_t *rng)
{
	void *o;

	if (upto <= 0)
		return NULL;
	o = g->objs[sim_rand(rng) % (uint64_t)upto];
	cowscope_obj_incref(o);
	return o;
}

/* A random string among the first `upto`, as a dict key (NULL if none). */
static void *pick_str(const sim_graph_t *g, long upto, uint64_t *rng)
{
	for (int tries = 0; tries < 8 && upto > 0; tries++) {
		void *o = g->objs[sim_rand(rng) % (uint64_t)upto];

		if (cowscope_obj_type(o) == &sim_str_type) {
			cowscope_obj_incref(o);
			return o;
		}
	}
	return NULL;
}

/* Object i: 40% strings of 16-240 bytes, 30% lists of 2-16 items, 30% dicts of 4-16 entries. */
static void *make_one(sim_graph_t *g, long i, uint64_t *rng)
{
	uint64_t kind = sim_rand(rng) % 10;
	uint32_t n;

	if (kind < 4)
		return sim_str_new(rng, 16 + (uint32_t)(sim_rand(rng) % 225));
	if (kind < 7) {
		sim_list_t *l = sim_list_new(n = 2 + (uint32_t)(sim_rand(rng) % 15));

		for (uint32_t k = 0; l && k < n; k++)
			l->items[k] = pick(g, i, rng);
		return l;
	}
	sim_dict_t *d = sim_dict_new(n = 4 + (uint32_t)(sim_rand(rng) % 13));

	for (uint32_t k = 0; d && k < n; k++) {
		d->e[k].key = pick_str(g, i, rng);
		d->e[k].value = pick(g, i, rng);
	}
	return d;
}

/* One in 20 lists gets a reference to a later object: the graph has cycles, all reachable. */
static void add_cycles(sim_graph_t *g, uint64_t *rng)
{
	for (long i = 0; i < g->n; i++) {
		sim_list_t *l = g->objs[i];

		if (cowscope_obj_type(l) != &sim_list_type || sim_rand(rng) % 20)
			continue;
		cowscope_obj_decref(l->items[0]);
		l->items[0] = pick(g, g->n, rng);
	}
}

static size_t payload_size(const void *o)
{
	const cowscope_type_t *t = cowscope_obj_type(o);

	if (t == &sim_str_type)
		return sizeof(sim_str_t) + ((const sim_str_t *)o)->len;
	if (t == &sim_list_type)
		return sizeof(sim_list_t) + ((const sim_list_t *)o)->n * sizeof(void *);
	return sizeof(sim_dict_t) + ((const sim_dict_t *)o)->n * sizeof(sim_entry_t);
}

int sim_graph_build(sim_graph_t *g, const sim_opts_t *o)
{
	uint64_t rng = sim_rng_init(o->seed, 0);

	g->n = o->objects;
	g->payload_bytes = 0;
	g->objs = malloc((size_t)g->n * sizeof(void *));
	if (!g->objs)
		return -ENOMEM;
	for (long i = 0; i < g->n; i++) {
		g->objs[i] = make_one(g, i, &rng);
		if (!g->objs[i])
			return -ENOMEM;
		if (cowscope_obj_type(g->objs[i]) != &sim_str_type)
			cowscope_obj_track(g->objs[i]); /* containers, as CPython tracks them */
		g->payload_bytes += payload_size(g->objs[i]);
	}
	add_cycles(g, &rng);
	return 0;
}

uint64_t sim_read(const void *obj)
{
	const cowscope_type_t *t = cowscope_obj_type(obj);
	uint64_t sum = 0;

	if (t == &sim_str_type) {
		const sim_str_t *s = obj;

		return s->hash ^ s->len;
	}
	if (t == &sim_list_type) {
		const sim_list_t *l = obj;

		for (uint32_t i = 0; i < l->n; i++)
			sum = sum * 31 +
				(l->items[i] ? (uintptr_t)cowscope_obj_type(l->items[i])->name[0]
					     : 0);
		return sum;
	}
	const sim_dict_t *d = obj;

	for (uint32_t i = 0; i < d->n; i++)
		sum = sum * 31 + (d->e[i].key ? ((const sim_str_t *)d->e[i].key)->hash : 0);
	return sum;
}
