/* SPDX-License-Identifier: MIT */
/* prefork-sim's workers: requests that read shared objects and make and drop temporaries. */
#include <stdio.h>
#include <unistd.h>
#include "sim.h"

typedef struct worker {
	const sim_graph_t *g;
	const sim_opts_t *o;
	uint64_t rng;
	uint64_t sum;
	long collected;
} worker_t;

/* Read o->reads random shared objects, the way an interpreter does: a reference while reading. */
static void read_objects(worker_t *w, sim_list_t *response)
{
	for (int i = 0; i < w->o->reads; i++) {
		void *obj = w->g->objs[sim_rand(&w->rng) % (uint64_t)w->g->n];

		cowscope_obj_incref(obj);
		w->sum = w->sum * 1000003 + sim_read(obj);
		if (response && (uint32_t)i < response->n) {
			cowscope_obj_incref(obj); /* the response keeps what it shows */
			response->items[i] = obj;
		}
		cowscope_obj_decref(obj);
	}
}

/* Two lists referencing each other and nothing else: garbage only the collector can free. */
static void make_cycle(void)
{
	sim_list_t *a = sim_list_new(1), *b = sim_list_new(1);

	if (!a || !b) {
		cowscope_obj_decref(a);
		cowscope_obj_decref(b);
		return;
	}
	cowscope_obj_track(a);
	cowscope_obj_track(b);
	cowscope_obj_incref(b);
	a->items[0] = b;
	cowscope_obj_incref(a);
	b->items[0] = a;
	cowscope_obj_decref(a);
	cowscope_obj_decref(b);
}

/* Temporaries: strings (a rendered page), a response list, a cycle every fourth request. */
static void serve(worker_t *w, long req)
{
	int nstr = w->o->temps > 2 ? w->o->temps - 2 : 0;
	sim_list_t *response = sim_list_new((uint32_t)(w->o->reads < 8 ? w->o->reads : 8));

	if (response)
		cowscope_obj_track(response);
	read_objects(w, response);
	for (int i = 0; i < nstr; i++) {
		sim_str_t *s = sim_str_new(&w->rng, 16 + (uint32_t)(sim_rand(&w->rng) % 100));

		if (s)
			w->sum += s->hash;
		cowscope_obj_decref(s);
	}
	if (req % 4 == 0)
		make_cycle();
	cowscope_obj_decref(response);
	if (w->o->gc_every && (req + 1) % w->o->gc_every == 0) {
		long n = cowscope_collect(2);

		w->collected += n > 0 ? n : 0;
	}
}

void sim_worker(const sim_graph_t *g, const sim_opts_t *o, int index)
{
	worker_t w = { .g = g, .o = o, .rng = sim_rng_init(o->seed, 1 + (uint64_t)index) };

	if (!o->auto_gc)
		cowscope_gc_set_threshold(0, 10, 10);
	for (long r = 0; r < o->requests; r++)
		serve(&w, r);
	printf("prefork-sim: worker %d: %ld requests, checksum %016llx, collected %ld\n", index,
	       o->requests, (unsigned long long)w.sum, w.collected);
	fflush(stdout);
	_exit(0);
}
