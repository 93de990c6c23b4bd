/* SPDX-License-Identifier: MIT */
/* The object API's core: object spaces, header layouts, the header table and the cycle collector. */
#ifndef CS_OBJ_H
#define CS_OBJ_H

#include <stddef.h>
#include <stdint.h>
#ifndef COWSCOPE_BUILDING_SHIM
#define COWSCOPE_BUILDING_SHIM 1
#endif
#include "cowscope.h"

/*
 * Pure C, no hooks and no shim state: the shim's public cowscope_obj_* and
 * cowscope_gc_* functions (objapi.c) call these on one process-wide space, and
 * unit tests make their own spaces. Nothing here is thread-safe: the caller
 * serializes every call on a space (one thread, or a lock like CPython's GIL).
 *
 * Every object has a refcount (uint32_t) and a GC header (cs_gc_t), and sits
 * on exactly one list: a generation (tracked), the permanent generation
 * (tracked and frozen), or one of two untracked lists (live, frozen). Where
 * those live is the layout:
 *
 *   inline     [cs_inline_hdr_t: GC header, type, refcount][payload]  one malloc block,
 *              the way CPython puts PyGC_Head and ob_refcnt before the object;
 *   outofline  [cs_prefix_t: type, slot][payload]  one malloc block, written only when
 *              the object is made; refcount and GC header in slot `slot` of the
 *              header table, a separate mapping (cs_objtab_t).
 */

#define CS_RC_IMMORTAL 0x80000000u /* refcounts at or above: never written (PEP 683) */

enum cs_gc_flag {
	CS_GCF_TRACKED = 1u << 0,     /* on a generation or the permanent generation */
	CS_GCF_COLLECTING = 1u << 1,  /* in the generation being collected */
	CS_GCF_UNREACHABLE = 1u << 2, /* tentatively unreachable during a collection */
};

/* A GC header: list links, the collector's scratch count, flags. 32 bytes. */
typedef struct cs_gc {
	struct cs_gc *next, *prev; /* neighbours on the object's list (list heads are sentinels) */
	void *obj;                 /* the object's payload; NULL for a list head */
	int32_t refs;              /* gc_refs while collecting */
	uint32_t flags;            /* enum cs_gc_flag */
} cs_gc_t;

/* Inline layout: what precedes the payload in its malloc block. 48 bytes. */
typedef struct cs_inline_hdr {
	cs_gc_t gc;
	const cowscope_type_t *type;
	uint32_t rc;
	uint32_t pad;
} cs_inline_hdr_t;

/* Out-of-line layout: what precedes the payload; never written after creation. 16 bytes. */
typedef struct cs_prefix {
	const cowscope_type_t *type;
	uint32_t slot;
	uint32_t pad;
} cs_prefix_t;

#define CS_OBJTAB_DEFAULT_SLOTS (1u << 22)
#define CS_OBJTAB_MAX_SLOTS (1u << 28)
#define CS_OBJTAB_SLOT_BYTES (sizeof(uint32_t) + sizeof(cs_gc_t))

/*
 * The header table: one MAP_NORESERVE reservation (pages cost memory once
 * touched) holding every refcount packed together (1,024 per 4 KiB page), then
 * every GC header (128 per page). It is the program's memory, not the shim's:
 * its copies count in every figure.
 */
typedef struct cs_objtab {
	uint8_t *base; /* NULL until the first out-of-line object */
	size_t bytes;
	uint32_t cap;       /* slots */
	uint32_t used;      /* slots ever handed out (the rest were never touched) */
	uint32_t free_head; /* 1 + first free slot, 0 for none; links in the rc array */
	uint32_t *rc;       /* rc[cap] */
	cs_gc_t *gc;        /* gc[cap] */
} cs_objtab_t;

enum cs_list {
	CS_GEN0,
	CS_GEN1,
	CS_GEN2,
	CS_PERMANENT,
	CS_UNTRACKED,
	CS_UNTRACKED_FROZEN,
	CS_LIST__COUNT
};

typedef struct cs_objspace {
	uint8_t layout;     /* COWSCOPE_LAYOUT_INLINE or _OUTOFLINE; fixed at the first object */
	uint8_t fixed;      /* an object was made: the layout cannot change */
	uint8_t immortal;   /* freeze makes the frozen objects immortal */
	uint8_t collecting; /* a collection is running (no nested ones) */
	cs_gc_t list[CS_LIST__COUNT];
	long count[3]; /* as CPython: gen 0 allocations - deallocations; collections of gen 0, 1 */
	long threshold[3]; /* 700, 10, 10; threshold[0] == 0: no automatic collection */
	uint64_t collections[3], collected, live;
	cs_objtab_t tab;
} cs_objspace_t;

/*
 * Initialize s for layout (COWSCOPE_LAYOUT_INLINE or _OUTOFLINE), with a
 * header table of table_slots slots if out of line (0: the default, 4 Mi
 * objects). 0 or -EINVAL. Allocates nothing.
 */
int cs_objspace_init(cs_objspace_t *s, int layout, uint32_t table_slots);

/*
 * Free every object of s without calling its type's clear (for tests and
 * shutdown), and unmap the header table. s can then be initialized again.
 */
void cs_objspace_destroy(cs_objspace_t *s);

/* Change the layout: 0, -EINVAL, or -EBUSY once s has made an object. */
int cs_objspace_set_layout(cs_objspace_t *s, int layout);

/*
 * A new object of type t with size zeroed payload bytes, refcount 1, not
 * tracked. Payload from malloc (16-byte aligned); out of line, one header table
 * slot too. NULL with errno ENOMEM when either runs out.
 */
void *cs_obj_new(cs_objspace_t *s, const cowscope_type_t *t, size_t size);

/* Refcount changes; decref frees at zero (after t->clear). Immortal: nothing written. */
void cs_obj_incref(cs_objspace_t *s, void *obj);
void cs_obj_decref(cs_objspace_t *s, void *obj);

/* The refcount (CS_RC_IMMORTAL or more: immortal), the type, whether tracked. Read only. */
uint32_t cs_obj_refcount(const cs_objspace_t *s, const void *obj);
const cowscope_type_t *cs_obj_type(const cs_objspace_t *s, const void *obj);
int cs_obj_is_tracked(const cs_objspace_t *s, const void *obj);

/*
 * Start or stop GC tracking (moves obj between an untracked list and
 * generation 0). Tracking counts an allocation for generation 0 and may run an
 * automatic collection first, as CPython's allocator does. 0 either way.
 */
int cs_obj_track(cs_objspace_t *s, void *obj);
int cs_obj_untrack(cs_objspace_t *s, void *obj);

/* The GC header and the refcount of obj (in its block or in the header table). */
cs_gc_t *cs_obj_gc(const cs_objspace_t *s, const void *obj);
uint32_t *cs_obj_rc(const cs_objspace_t *s, const void *obj);

/* List helpers for the collector (gc.c). */
void cs_gclist_init(cs_gc_t *head);
int cs_gclist_empty(const cs_gc_t *head);
void cs_gclist_unlink(cs_gc_t *g);
void cs_gclist_append(cs_gc_t *head, cs_gc_t *g);
void cs_gclist_merge(cs_gc_t *from, cs_gc_t *to); /* from becomes empty */
long cs_gclist_len(const cs_gc_t *head);

/*
 * Collect generation gen (0..2) and the younger ones, as CPython does:
 * gc_refs = refcount for each, minus references from inside the set (found
 * with the types' traverse), objects left above zero and what they reach
 * survive and move one generation up; the rest are cleared (t->clear) and
 * freed. Frozen objects are never looked at. Returns the number of
 * unreachable objects found, 0 during a collection, or -EINVAL.
 */
long cs_gc_collect(cs_objspace_t *s, int gen);

/* An allocation was counted: run the automatic collection the thresholds call for. */
void cs_gc_maybe_collect(cs_objspace_t *s);

/*
 * Move every object to the frozen lists (CPython's gc.freeze()): the
 * collector skips them and generation 0 starts empty. With s->immortal, every
 * frozen object's refcount becomes CS_RC_IMMORTAL. Returns the number of
 * objects frozen. unfreeze moves the frozen tracked ones back to generation 2
 * (immortal refcounts stay).
 */
long cs_gc_freeze(cs_objspace_t *s);
long cs_gc_unfreeze(cs_objspace_t *s);

/* Automatic collection thresholds (t0 == 0: none). 0 or -EINVAL for a negative one. */
int cs_gc_set_threshold(cs_objspace_t *s, long t0, long t1, long t2);

/* Fill *out (cowscope_gc_stats()). Walks the frozen lists to count them (reads only). 0. */
int cs_gc_stats(const cs_objspace_t *s, cowscope_gc_stats_t *out);

/* Header table slots: take one (0 or -ENOMEM; maps the table on first use) and give it back. */
int cs_objtab_get(cs_objtab_t *t, uint32_t *slot);
void cs_objtab_put(cs_objtab_t *t, uint32_t slot);
void cs_objtab_release(cs_objtab_t *t);

#endif
