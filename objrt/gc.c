/* SPDX-License-Identifier: MIT */
/* The object API's cycle collector, modelled on CPython's gcmodule.c, and freezing. */
#include <errno.h>
#include <stdint.h>
#include "obj.h"

void cs_gclist_init(cs_gc_t *head)
{
	head->next = head->prev = head;
	head->obj = NULL;
}

int cs_gclist_empty(const cs_gc_t *head)
{
	return head->next == head;
}

void cs_gclist_unlink(cs_gc_t *g)
{
	if (!g->next)
		return;
	g->prev->next = g->next;
	g->next->prev = g->prev;
	g->next = g->prev = NULL;
}

void cs_gclist_append(cs_gc_t *head, cs_gc_t *g)
{
	g->prev = head->prev;
	g->next = head;
	head->prev->next = g;
	head->prev = g;
}

void cs_gclist_merge(cs_gc_t *from, cs_gc_t *to)
{
	if (cs_gclist_empty(from))
		return;
	to->prev->next = from->next;
	from->next->prev = to->prev;
	to->prev = from->prev;
	from->prev->next = to;
	cs_gclist_init(from);
}

long cs_gclist_len(const cs_gc_t *head)
{
	long n = 0;

	for (const cs_gc_t *g = head->next; g != head; g = g->next)
		n++;
	return n;
}

static void traverse(cs_objspace_t *s, cs_gc_t *g, cowscope_visit_fn visit, void *arg)
{
	const cowscope_type_t *t = cs_obj_type(s, g->obj);

	if (t && t->traverse)
		t->traverse(g->obj, visit, arg);
}

/* gc_refs = refcount, for every object being collected (CPython's update_refs). */
static void update_refs(cs_objspace_t *s, cs_gc_t *young)
{
	for (cs_gc_t *g = young->next; g != young; g = g->next) {
		uint32_t rc = *cs_obj_rc(s, g->obj);

		g->refs = rc > INT32_MAX ? INT32_MAX : (int32_t)rc;
		g->flags |= CS_GCF_COLLECTING;
	}
}

static void visit_decref(void *obj, void *arg)
{
	cs_gc_t *g;

	if (!obj)
		return;
	g = cs_obj_gc(arg, obj);
	if (g->flags & CS_GCF_COLLECTING)
		g->refs--;
}

/* Subtract references from inside the set: what stays above zero is referenced from outside. */
static void subtract_refs(cs_objspace_t *s, cs_gc_t *young)
{
	for (cs_gc_t *g = young->next; g != young; g = g->next)
		traverse(s, g, visit_decref, s);
}

typedef struct reach_ctx {
	cs_objspace_t *s;
	cs_gc_t *young;
} reach_ctx_t;

/* Reached from a reachable object: back into young if set aside, else mark it reachable. */
static void visit_reachable(void *obj, void *arg)
{
	reach_ctx_t *c = arg;
	cs_gc_t *g;

	if (!obj)
		return;
	g = cs_obj_gc(c->s, obj);
	if (!(g->flags & CS_GCF_COLLECTING))
		return;
	if (g->flags & CS_GCF_UNREACHABLE) {
		cs_gclist_unlink(g);
		cs_gclist_append(c->young, g);
		g->flags &= ~(uint32_t)CS_GCF_UNREACHABLE;
		g->refs = 1;
	} else if (g->refs == 0) {
		g->refs = 1; /* not scanned yet: it will be, as reachable */
	}
}

/*
 * CPython's move_unreachable: one pass over young; an object with gc_refs > 0
 * is reachable and makes what it references reachable (moving it back from
 * unreachable to young's tail, to be scanned in turn); one with 0 is set
 * aside, tentatively. What is left in unreachable at the end is garbage.
 */
static void move_unreachable(cs_objspace_t *s, cs_gc_t *young, cs_gc_t *unreachable)
{
	reach_ctx_t c = { s, young };
	cs_gc_t *g = young->next, *next;

	while (g != young) {
		if (g->refs > 0) {
			traverse(s, g, visit_reachable, &c);
			g->flags &= ~(uint32_t)CS_GCF_COLLECTING;
			next = g->next;
		} else {
			next = g->next;
			cs_gclist_unlink(g);
			cs_gclist_append(unreachable, g);
			g->flags |= CS_GCF_UNREACHABLE;
		}
		g = next;
	}
}

/*
 * Break the garbage's references with each type's clear, holding a reference
 * meanwhile; objects freed by the cascade leave the list themselves. One that
 * survives its clear (a type without clear) joins the older generation.
 */
static void delete_garbage(cs_objspace_t *s, cs_gc_t *unreachable, cs_gc_t *old)
{
	while (!cs_gclist_empty(unreachable)) {
		cs_gc_t *g = unreachable->next;
		void *obj = g->obj;
		const cowscope_type_t *t = cs_obj_type(s, obj);

		g->flags &= ~(uint32_t)(CS_GCF_COLLECTING | CS_GCF_UNREACHABLE);
		cs_gclist_unlink(g);
		cs_gclist_append(old, g);
		cs_obj_incref(s, obj);
		if (t && t->clear)
			t->clear(obj);
		cs_obj_decref(s, obj);
	}
}

long cs_gc_collect(cs_objspace_t *s, int gen)
{
	cs_gc_t unreachable, *young, *old;
	long n;

	if (gen < 0 || gen > 2)
		return -EINVAL;
	if (s->collecting)
		return 0;
	s->collecting = 1;
	if (gen < 2)
		s->count[gen + 1]++;
	for (int i = 0; i <= gen; i++)
		s->count[i] = 0;
	young = &s->list[gen];
	old = &s->list[gen < 2 ? gen + 1 : 2];
	for (int i = 0; i < gen; i++)
		cs_gclist_merge(&s->list[i], young);
	update_refs(s, young);
	subtract_refs(s, young);
	cs_gclist_init(&unreachable);
	move_unreachable(s, young, &unreachable);
	if (young != old)
		cs_gclist_merge(young, old);
	n = cs_gclist_len(&unreachable);
	delete_garbage(s, &unreachable, old);
	s->collections[gen]++;
	s->collected += (uint64_t)n;
	s->collecting = 0;
	return n;
}

/* CPython's collect_generations, without its long-lived-objects heuristic for generation 2. */
void cs_gc_maybe_collect(cs_objspace_t *s)
{
	if (s->collecting || s->threshold[0] <= 0 || s->count[0] <= s->threshold[0])
		return;
	for (int i = 2; i >= 0; i--) {
		if (s->count[i] > s->threshold[i]) {
			cs_gc_collect(s, i);
			return;
		}
	}
}

static void make_immortal(cs_objspace_t *s, const cs_gc_t *head)
{
	for (const cs_gc_t *g = head->next; g != head; g = g->next)
		*cs_obj_rc(s, g->obj) = CS_RC_IMMORTAL;
}

long cs_gc_freeze(cs_objspace_t *s)
{
	long n = cs_gclist_len(&s->list[CS_UNTRACKED]);

	for (int i = CS_GEN0; i <= CS_GEN2; i++) {
		n += cs_gclist_len(&s->list[i]);
		cs_gclist_merge(&s->list[i], &s->list[CS_PERMANENT]);
	}
	cs_gclist_merge(&s->list[CS_UNTRACKED], &s->list[CS_UNTRACKED_FROZEN]);
	s->count[0] = 0;
	if (s->immortal) {
		make_immortal(s, &s->list[CS_PERMANENT]);
		make_immortal(s, &s->list[CS_UNTRACKED_FROZEN]);
	}
	return n;
}

long cs_gc_unfreeze(cs_objspace_t *s)
{
	long n = cs_gclist_len(&s->list[CS_PERMANENT]);

	cs_gclist_merge(&s->list[CS_PERMANENT], &s->list[CS_GEN2]);
	cs_gclist_merge(&s->list[CS_UNTRACKED_FROZEN], &s->list[CS_UNTRACKED]);
	return n;
}

int cs_gc_set_threshold(cs_objspace_t *s, long t0, long t1, long t2)
{
	if (t0 < 0 || t1 < 0 || t2 < 0)
		return -EINVAL;
	s->threshold[0] = t0;
	s->threshold[1] = t1;
	s->threshold[2] = t2;
	return 0;
}

int cs_gc_stats(const cs_objspace_t *s, cowscope_gc_stats_t *out)
{
	*out = (cowscope_gc_stats_t){ .layout = s->layout,
				      .immortal = s->immortal,
				      .collected = s->collected,
				      .live = s->live,
				      .header_table = s->tab.base,
				      .header_table_bytes = s->tab.bytes };
	for (int i = 0; i < 3; i++) {
		out->count[i] = s->count[i];
		out->threshold[i] = s->threshold[i];
		out->collections[i] = s->collections[i];
	}
	out->frozen = (unsigned long)(cs_gclist_len(&s->list[CS_PERMANENT]) +
				      cs_gclist_len(&s->list[CS_UNTRACKED_FROZEN]));
	return 0;
}
