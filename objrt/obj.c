/* SPDX-License-Identifier: MIT */
/* The object API's core: object spaces, the two header layouts, refcounts and tracking. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "obj.h"

int cs_objspace_init(cs_objspace_t *s, int layout, uint32_t table_slots)
{
	if ((layout != COWSCOPE_LAYOUT_INLINE && layout != COWSCOPE_LAYOUT_OUTOFLINE) ||
	    table_slots > CS_OBJTAB_MAX_SLOTS)
		return -EINVAL;
	memset(s, 0, sizeof(*s));
	s->layout = (uint8_t)layout;
	for (int i = 0; i < CS_LIST__COUNT; i++)
		cs_gclist_init(&s->list[i]);
	s->threshold[0] = 700;
	s->threshold[1] = 10;
	s->threshold[2] = 10;
	/* A whole number of pages for the refcount array: 1,024 slots at a time. */
	s->tab.cap = ((table_slots ? table_slots : CS_OBJTAB_DEFAULT_SLOTS) + 1023) & ~1023u;
	return 0;
}

int cs_objspace_set_layout(cs_objspace_t *s, int layout)
{
	if (layout != COWSCOPE_LAYOUT_INLINE && layout != COWSCOPE_LAYOUT_OUTOFLINE)
		return -EINVAL;
	if (s->fixed && layout != s->layout)
		return -EBUSY;
	s->layout = (uint8_t)layout;
	return 0;
}

/* The start of obj's malloc block. */
static void *block_of(const cs_objspace_t *s, const void *obj)
{
	if (s->layout == COWSCOPE_LAYOUT_INLINE)
		return (cs_inline_hdr_t *)(uintptr_t)obj - 1;
	return (cs_prefix_t *)(uintptr_t)obj - 1;
}

static cs_inline_hdr_t *inl(const void *obj)
{
	return (cs_inline_hdr_t *)(uintptr_t)obj - 1;
}

static const cs_prefix_t *pfx(const void *obj)
{
	return (const cs_prefix_t *)obj - 1;
}

cs_gc_t *cs_obj_gc(const cs_objspace_t *s, const void *obj)
{
	if (s->layout == COWSCOPE_LAYOUT_INLINE)
		return &inl(obj)->gc;
	return &s->tab.gc[pfx(obj)->slot];
}

uint32_t *cs_obj_rc(const cs_objspace_t *s, const void *obj)
{
	if (s->layout == COWSCOPE_LAYOUT_INLINE)
		return &inl(obj)->rc;
	return &s->tab.rc[pfx(obj)->slot];
}

uint32_t cs_obj_refcount(const cs_objspace_t *s, const void *obj)
{
	return *cs_obj_rc(s, obj);
}

const cowscope_type_t *cs_obj_type(const cs_objspace_t *s, const void *obj)
{
	return s->layout == COWSCOPE_LAYOUT_INLINE ? inl(obj)->type : pfx(obj)->type;
}

int cs_obj_is_tracked(const cs_objspace_t *s, const void *obj)
{
	return (cs_obj_gc(s, obj)->flags & CS_GCF_TRACKED) != 0;
}

/* The block for an out-of-line object: prefix written once, header in a table slot. */
static void *new_outofline(cs_objspace_t *s, const cowscope_type_t *t, size_t size)
{
	uint32_t slot;
	cs_prefix_t *p;

	if (cs_objtab_get(&s->tab, &slot) < 0) {
		errno = ENOMEM;
		return NULL;
	}
	p = malloc(sizeof(*p) + size);
	if (!p) {
		cs_objtab_put(&s->tab, slot);
		return NULL;
	}
	memset(p, 0, sizeof(*p) + size);
	p->type = t;
	p->slot = slot;
	s->tab.rc[slot] = 1;
	memset(&s->tab.gc[slot], 0, sizeof(cs_gc_t));
	s->tab.gc[slot].obj = p + 1;
	return p + 1;
}

static void *new_inline(const cowscope_type_t *t, size_t size)
{
	cs_inline_hdr_t *h = malloc(sizeof(*h) + size);

	if (!h)
		return NULL;
	memset(h, 0, sizeof(*h) + size);
	h->type = t;
	h->rc = 1;
	h->gc.obj = h + 1;
	return h + 1;
}

void *cs_obj_new(cs_objspace_t *s, const cowscope_type_t *t, size_t size)
{
	void *obj;

	if (size > SIZE_MAX / 2) {
		errno = ENOMEM;
		return NULL;
	}
	s->fixed = 1;
	obj = s->layout == COWSCOPE_LAYOUT_INLINE ? new_inline(t, size) : new_outofline(s, t, size);
	if (!obj)
		return NULL;
	cs_gclist_append(&s->list[CS_UNTRACKED], cs_obj_gc(s, obj));
	s->live++;
	return obj;
}

void cs_obj_incref(cs_objspace_t *s, void *obj)
{
	uint32_t *rc;

	if (!obj)
		return;
	rc = cs_obj_rc(s, obj);
	if (*rc < CS_RC_IMMORTAL)
		++*rc; /* reaching CS_RC_IMMORTAL makes it immortal: no overflow */
}

/* Refcount zero: off its list, its references dropped, its memory freed. */
static void dealloc(cs_objspace_t *s, void *obj)
{
	const cowscope_type_t *t = cs_obj_type(s, obj);
	cs_gc_t *g = cs_obj_gc(s, obj);

	if ((g->flags & CS_GCF_TRACKED) && s->count[0] > 0)
		s->count[0]--;
	cs_gclist_unlink(g);
	g->flags = 0;
	if (t && t->clear)
		t->clear(obj);
	if (s->layout == COWSCOPE_LAYOUT_OUTOFLINE)
		cs_objtab_put(&s->tab, pfx(obj)->slot);
	s->live--;
	free(block_of(s, obj));
}

void cs_obj_decref(cs_objspace_t *s, void *obj)
{
	uint32_t *rc;

	if (!obj)
		return;
	rc = cs_obj_rc(s, obj);
	if (*rc >= CS_RC_IMMORTAL || *rc == 0)
		return; /* immortal; or a bug of the caller's, which must not free twice */
	if (--*rc == 0)
		dealloc(s, obj);
}

int cs_obj_track(cs_objspace_t *s, void *obj)
{
	cs_gc_t *g = cs_obj_gc(s, obj);

	if (g->flags & CS_GCF_TRACKED)
		return 0;
	s->count[0]++;
	cs_gc_maybe_collect(s); /* as CPython's allocator, before the new object joins */
	cs_gclist_unlink(g);
	cs_gclist_append(&s->list[CS_GEN0], g);
	g->flags = CS_GCF_TRACKED;
	return 0;
}

int cs_obj_untrack(cs_objspace_t *s, void *obj)
{
	cs_gc_t *g = cs_obj_gc(s, obj);

	if (!(g->flags & CS_GCF_TRACKED))
		return 0;
	cs_gclist_unlink(g);
	cs_gclist_append(&s->list[CS_UNTRACKED], g);
	g->flags = 0;
	return 0;
}

void cs_objspace_destroy(cs_objspace_t *s)
{
	for (int i = 0; i < CS_LIST__COUNT; i++) {
		cs_gc_t *head = &s->list[i];

		while (!cs_gclist_empty(head)) {
			cs_gc_t *g = head->next;
			void *obj = g->obj;

			cs_gclist_unlink(g);
			free(block_of(s, obj));
		}
	}
	cs_objtab_release(&s->tab);
	s->live = 0;
	s->fixed = 0;
}
