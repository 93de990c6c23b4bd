/* SPDX-License-Identifier: MIT */
/* cowscope public API: calls a program can make into the cowscope shim. */
#ifndef COWSCOPE_H
#define COWSCOPE_H

/*
 * These functions live in libcowscope.so. A program does not link against it:
 * the declarations below are weak, so they resolve to the shim when it is
 * preloaded (by `cowscope run` or LD_PRELOAD) and to nothing otherwise. The
 * macros test for that and make every call a harmless no-op without the shim,
 * returning COWSCOPE_NOT_LOADED. Nothing else is needed at build time: include
 * this header and call the functions.
 *
 * Example:
 *     #include <cowscope.h>
 *     ...
 *     cowscope_snapshot();   // record this process's page state now
 */

#include <stddef.h>
#include <stdint.h>

#define COWSCOPE_API_VERSION 3 /* 2: cowscope_exiting(); 3: cowscope_label_ranges() */
#define COWSCOPE_NOT_LOADED (-1000)

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Record a snapshot of this process's page state now (in a forked child: what
 * it has copied so far), in addition to the automatic ones at exit, _exit and
 * exec. Returns 0, COWSCOPE_NOT_LOADED without the shim, or a negative errno
 * (-EBUSY if another thread is taking a snapshot, or if called from inside
 * the shim, e.g. a signal handler that interrupted an allocation: nothing is
 * recorded; -ENOTSUP if the process is not traced). Cost: one scan of the process's private writable memory,
 * about 10 ms per GiB resident with the uffd-wp backend, most of it the
 * kernel reading pagemap entries (docs/performance.md). Thread-safe; not
 * async-signal-safe.
 */
int cowscope_snapshot(void) __attribute__((weak));

/*
 * Mark a phase boundary, e.g. cowscope_mark("frozen") right after freezing and
 * before forking the next workers: children forked after it belong to the new
 * phase, and `cowscope diff RUN:before RUN:frozen` compares the phases (the
 * first phase is called "start"). In a forked child the mark also takes a
 * snapshot. label: up to 200 bytes, copied. Returns 0, COWSCOPE_NOT_LOADED
 * without the shim, or a negative errno (-EBUSY, recording nothing, when
 * called from inside the shim, e.g. a signal handler that interrupted an
 * allocation). Thread-safe; not async-signal-safe.
 */
int cowscope_mark(const char *label) __attribute__((weak));

/*
 * The process begins to exit now: take its working snapshot (in a forked
 * child; nothing in a process that was not forked). Call it where a runtime
 * starts its teardown, before it frees what the program held: e.g. CPython's
 * atexit handlers, which run before the interpreter tears down its modules and
 * arenas (`cowscope run` does that for Python programs by itself, through a
 * sitecustomize helper; docs/working-figures.md). The report's figures are
 * this snapshot's; the exit snapshot after the teardown becomes the at-end
 * figures. exit() takes the same snapshot before the atexit handlers, so a C
 * program needs no call. Once per process: a second call, or exit() after
 * it, takes none and returns 0. Returns 0, COWSCOPE_NOT_LOADED without the
 * shim, or a negative errno (-ENOTSUP if the process is not traced, -EBUSY if
 * another thread is taking a snapshot or the call comes from inside the shim:
 * then a later call may take it). Cost:
 * one snapshot, as cowscope_snapshot(). Thread-safe; not async-signal-safe.
 */
int cowscope_exiting(void) __attribute__((weak));

/* A byte range of this process's memory and the label it gets (cowscope_label_ranges). */
struct cowscope_range {
	uint64_t addr;   /* first byte */
	uint64_t len;    /* bytes */
	uint64_t weight; /* bytes it stands for: len, or more when the caller sampled */
	uint32_t label;  /* index into the call's names */
	uint32_t flags;  /* 0 */
};

/*
 * Name parts of this process's memory for the report, the way allocation sites
 * are named: a runtime labels its objects by type, by the line that allocated
 * them, by arena... and the report charges every copied page to the labels of
 * the ranges that cover it ("copied by python-type": dict 40 MiB, str 12 MiB).
 * kind: what the labels are, e.g. "python-type", "python-line", "ruby-class"
 * (1 to 64 bytes). names[0..nnames): the labels (each up to 1024 bytes, longer
 * is cut). ranges[0..n): each range's label is an index into names; weight is
 * the bytes it stands for (its len, or more when the caller recorded one
 * object in k by bytes: then the report scales it, unbiased). Ranges may
 * overlap. One call is one complete labelling of its kind: children forked
 * after it are charged by it, until the next call of the same kind replaces
 * it. Call it in the parent before fork(), e.g. from an atfork prepare
 * handler (CPython: os.register_at_fork(before=...); cowscope's Python helper
 * does it, docs/python.md). Returns 0, COWSCOPE_NOT_LOADED without the shim,
 * or a negative errno: -EINVAL (kind empty or too long, a NULL array with a
 * count, a label index not below nnames: nothing is recorded), -ENOTSUP (the
 * process is not traced), -EIO (writing failed: the labelling is incomplete
 * and the report says so), -EBUSY (called from inside the shim, e.g. a signal
 * handler that interrupted an allocation). Cost: 32 bytes of trace per range
 * (a million ranges: 32 MiB, one write per 16 MiB), no allocation.
 * Thread-safe; not async-signal-safe.
 */
int cowscope_label_ranges(const char *kind, const char *const *names, size_t nnames,
			  const struct cowscope_range *ranges, size_t n) __attribute__((weak));

#ifdef __cplusplus
}
#endif

#ifndef COWSCOPE_BUILDING_SHIM
#define cowscope_snapshot() (cowscope_snapshot ? (cowscope_snapshot)() : COWSCOPE_NOT_LOADED)
#define cowscope_mark(label) (cowscope_mark ? (cowscope_mark)(label) : COWSCOPE_NOT_LOADED)
#define cowscope_exiting() (cowscope_exiting ? (cowscope_exiting)() : COWSCOPE_NOT_LOADED)
#define cowscope_label_ranges(kind, names, nnames, ranges, n)                            \
	(cowscope_label_ranges ? (cowscope_label_ranges)(kind, names, nnames, ranges, n) \
			       : COWSCOPE_NOT_LOADED)
#endif

/*
 * ---- Object API (COWSCOPE_OBJ_API_VERSION) ----
 *
 * Reference-counted, garbage-collected objects whose refcount and GC header
 * can live out of line, in a densely packed header table (a mapping of its
 * own), instead of right before the object as in CPython. Reading an object
 * (incref + decref) or collecting then writes the table, not the pages the
 * objects are on, and a forked worker keeps sharing them. docs/object-api.md
 * has the details and measured figures.
 *
 *   static void node_traverse(void *o, cowscope_visit_fn visit, void *arg)
 *   { struct node *n = o; if (n->next) visit(n->next, arg); }
 *   static void node_clear(void *o)
 *   { struct node *n = o; void *c = n->next; n->next = NULL; cowscope_obj_decref(c); }
 *   static const cowscope_type_t node_type = {"node", node_traverse, node_clear};
 *
 *   struct node *a = cowscope_obj_new(&node_type, sizeof(*a));
 *   cowscope_obj_track(a);          // a container: the cycle collector sees it
 *   ...build everything, then before forking workers:
 *   cowscope_freeze();              // collections skip it all from now on
 *
 * Objects: cowscope_obj_new() returns a zeroed payload of the requested size
 * (16-byte aligned) with refcount 1, untracked. decref to zero calls the
 * type's clear (which must drop the object's references: decref them and
 * forget them; it may be called twice) and frees the object. Containers that
 * can be part of a cycle are tracked; the collector finds cycles with the
 * types' traverse callbacks (which visit every object reference held).
 *
 * Layouts: COWSCOPE_LAYOUT_OUTOFLINE (the default) or COWSCOPE_LAYOUT_INLINE
 * (CPython's: header before the object, in its malloc block), chosen by the
 * environment variable COWSCOPE_OBJ_LAYOUT=inline|outofline, or by the
 * program with cowscope_obj_set_layout() before its first object (the call
 * wins). Object memory comes from malloc either way, so allocation sites
 * attribute it.
 *
 * Freezing: cowscope_freeze() moves every object to a permanent generation
 * that collections skip (CPython 3.7's gc.freeze()). With
 * COWSCOPE_OBJ_IMMORTAL=1 or cowscope_obj_set_immortal(1), frozen objects also
 * become immortal: incref/decref no longer write their refcounts (PEP 683),
 * and they are never freed.
 *
 * Threads: none of these calls is thread-safe. Make them from one thread, or
 * serialize them with a lock of yours (as CPython's GIL does). The state
 * survives fork: a child continues with the parent's objects.
 *
 * Without the shim, a program still compiles and runs with only this header:
 * the macros below then use cowscope__fb_*, plain malloc-backed objects with a
 * 16-byte inline header (type, refcount). Refcounting and clear-on-free work
 * the same; there is no cycle collector (cowscope_collect() and
 * cowscope_freeze() return COWSCOPE_NOT_LOADED; cycles leak as they would
 * with the collector disabled), tracking is a no-op, objects are never
 * immortal, and cowscope_obj_layout() says COWSCOPE_LAYOUT_INLINE. Whether
 * the shim is there is decided once per process; its objects and fallback
 * objects never mix.
 */
#include <stddef.h>
#include <stdlib.h>

#define COWSCOPE_OBJ_API_VERSION 1
#define COWSCOPE_LAYOUT_INLINE 1
#define COWSCOPE_LAYOUT_OUTOFLINE 2

#ifdef __cplusplus
extern "C" {
#endif

/* Called by a type's traverse for each object reference it holds (NULLs may be skipped). */
typedef void (*cowscope_visit_fn)(void *obj, void *arg);

/* A type: a name, and callbacks for the collector and for freeing (either may be NULL). */
typedef struct cowscope_type {
	const char *name;
	void (*traverse)(void *obj, cowscope_visit_fn visit, void *arg);
	void (*clear)(void *obj);
} cowscope_type_t;

/* The collector's state, as cowscope_gc_stats() reports it. */
typedef struct cowscope_gc_stats {
	int layout;                   /* COWSCOPE_LAYOUT_* */
	int immortal;                 /* freezing makes objects immortal */
	long count[3];                /* as CPython's gc.get_count() */
	long threshold[3];            /* as gc.get_threshold() */
	unsigned long collections[3]; /* collections run, per generation */
	unsigned long collected;      /* unreachable objects found, in all */
	unsigned long live;           /* objects alive */
	unsigned long frozen;         /* objects frozen (gc.get_freeze_count(), plus untracked) */
	void *header_table;           /* the header table mapping (out of line), or NULL */
	size_t header_table_bytes;    /* its reserved size */
} cowscope_gc_stats_t;

/*
 * Choose this process's layout (COWSCOPE_LAYOUT_INLINE or _OUTOFLINE); it
 * overrides COWSCOPE_OBJ_LAYOUT. 0; -EINVAL; -EBUSY once an object exists.
 */
int cowscope_obj_set_layout(int layout) __attribute__((weak));

/* The layout in effect (COWSCOPE_LAYOUT_*). */
int cowscope_obj_layout(void) __attribute__((weak));

/* Whether cowscope_freeze() makes objects immortal (overrides COWSCOPE_OBJ_IMMORTAL). 0. */
int cowscope_obj_set_immortal(int on) __attribute__((weak));

/*
 * A new object: size zeroed bytes, refcount 1, untracked, of type type (kept
 * by pointer: it must outlive the object). NULL with errno ENOMEM if malloc or
 * the header table (4 Mi objects by default, COWSCOPE_OBJ_CAPACITY) is full.
 * Cost: one malloc; may run an automatic collection only when tracked.
 */
void *cowscope_obj_new(const cowscope_type_t *type, size_t size) __attribute__((weak));

/* Add or drop a reference; NULL is ignored. decref to zero frees (clear first). */
void cowscope_obj_incref(void *obj) __attribute__((weak));
void cowscope_obj_decref(void *obj) __attribute__((weak));

/* The refcount (0x80000000 or more: immortal) and the type. Read only. */
unsigned long cowscope_obj_refcount(const void *obj) __attribute__((weak));
const cowscope_type_t *cowscope_obj_type(const void *obj) __attribute__((weak));

/*
 * Start or stop tracking obj for the cycle collector (PyObject_GC_Track and
 * _UnTrack); both idempotent, 0. Tracking may run an automatic collection
 * when generation 0 passes its threshold. is_tracked: 1 or 0.
 */
int cowscope_obj_track(void *obj) __attribute__((weak));
int cowscope_obj_untrack(void *obj) __attribute__((weak));
int cowscope_obj_is_tracked(const void *obj) __attribute__((weak));

/*
 * Collect generation 0, 1 or 2 (and the younger ones): returns the number of
 * unreachable objects found and freed, 0 if called from inside a collection,
 * -EINVAL for another generation. Cost: linear in the generations' objects;
 * it writes every one of their GC headers.
 */
long cowscope_collect(int generation) __attribute__((weak));

/* Automatic collection thresholds (CPython's 700, 10, 10 by default); t0 == 0 turns it off. */
int cowscope_gc_set_threshold(long t0, long t1, long t2) __attribute__((weak));

/*
 * Freeze every object (see above); returns how many. unfreeze puts the
 * tracked ones back into generation 2 and returns how many (immortal stays
 * immortal). Cost: one pass over all objects (reads only, unless immortal).
 */
long cowscope_freeze(void) __attribute__((weak));
long cowscope_unfreeze(void) __attribute__((weak));

/* Fill *out with the collector's state. 0. */
int cowscope_gc_stats(cowscope_gc_stats_t *out) __attribute__((weak));

#ifdef __cplusplus
}
#endif

#ifndef COWSCOPE_BUILDING_SHIM
/* The fallback without the shim: [type, refcount][payload] in one malloc block. */
typedef struct cowscope__fb_hdr {
	const cowscope_type_t *type;
	unsigned long refcnt;
} cowscope__fb_hdr_t;

#define COWSCOPE__FB_HDR(obj) ((cowscope__fb_hdr_t *)(obj)-1)

static inline void *cowscope__fb_new(const cowscope_type_t *type, size_t size)
{
	cowscope__fb_hdr_t *h;

	if (size > (size_t)-1 - sizeof(*h))
		return NULL;
	h = (cowscope__fb_hdr_t *)calloc(1, sizeof(*h) + size);
	if (!h)
		return NULL;
	h->type = type;
	h->refcnt = 1;
	return h + 1;
}

static inline void cowscope__fb_incref(void *obj)
{
	if (obj)
		COWSCOPE__FB_HDR(obj)->refcnt++;
}

static inline void cowscope__fb_decref(void *obj)
{
	cowscope__fb_hdr_t *h = obj ? COWSCOPE__FB_HDR(obj) : NULL;

	if (!h || --h->refcnt)
		return;
	if (h->type && h->type->clear)
		h->type->clear(obj);
	free(h);
}

#define COWSCOPE__OBJ(call, fallback) (cowscope_obj_new ? (call) : (fallback))
#define cowscope_obj_set_layout(l) COWSCOPE__OBJ((cowscope_obj_set_layout)(l), COWSCOPE_NOT_LOADED)
#define cowscope_obj_layout() COWSCOPE__OBJ((cowscope_obj_layout)(), COWSCOPE_LAYOUT_INLINE)
#define cowscope_obj_set_immortal(on) \
	COWSCOPE__OBJ((cowscope_obj_set_immortal)(on), COWSCOPE_NOT_LOADED)
#define cowscope_obj_new(t, n) COWSCOPE__OBJ((cowscope_obj_new)(t, n), cowscope__fb_new(t, n))
#define cowscope_obj_incref(o) COWSCOPE__OBJ((cowscope_obj_incref)(o), cowscope__fb_incref(o))
#define cowscope_obj_decref(o) COWSCOPE__OBJ((cowscope_obj_decref)(o), cowscope__fb_decref(o))
#define cowscope_obj_refcount(o) \
	COWSCOPE__OBJ((cowscope_obj_refcount)(o), COWSCOPE__FB_HDR(o)->refcnt)
#define cowscope_obj_type(o) COWSCOPE__OBJ((cowscope_obj_type)(o), COWSCOPE__FB_HDR(o)->type)
#define cowscope_obj_track(o) COWSCOPE__OBJ((cowscope_obj_track)(o), ((void)(o), 0))
#define cowscope_obj_untrack(o) COWSCOPE__OBJ((cowscope_obj_untrack)(o), ((void)(o), 0))
#define cowscope_obj_is_tracked(o) COWSCOPE__OBJ((cowscope_obj_is_tracked)(o), ((void)(o), 0))
#define cowscope_collect(g) COWSCOPE__OBJ((cowscope_collect)(g), COWSCOPE_NOT_LOADED)
#define cowscope_gc_set_threshold(a, b, c) \
	COWSCOPE__OBJ((cowscope_gc_set_threshold)(a, b, c), COWSCOPE_NOT_LOADED)
#define cowscope_freeze() COWSCOPE__OBJ((cowscope_freeze)(), COWSCOPE_NOT_LOADED)
#define cowscope_unfreeze() COWSCOPE__OBJ((cowscope_unfreeze)(), COWSCOPE_NOT_LOADED)
#define cowscope_gc_stats(out) COWSCOPE__OBJ((cowscope_gc_stats)(out), COWSCOPE_NOT_LOADED)
#endif

#endif
