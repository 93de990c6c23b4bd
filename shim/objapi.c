/* SPDX-License-Identifier: MIT */
/*
 * The object API of include/cowscope.h: one object space per process, set up from the options.
 *
 * Recursion guard: these entry points deliberately take none. The object
 * runtime is the program's own data structure: its malloc, free and mmap are
 * the program's allocations and go through the allocation hooks like any
 * other, so objects and the header table get allocation sites (objrt/objtab.c,
 * the prefork-sim tests). Called from inside the shim (a signal handler that
 * interrupted a hook) they still work, and those allocations only forward
 * (the hooks see the guard held). They touch no shim state but the options
 * (read-only) and this file's object space.
 */
#include <errno.h>
#include <stddef.h>
#include "boot.h"
#include "obj.h"

#define CS_API __attribute__((visibility("default")))

/* The process's objects; a forked child continues with its copy. */
static cs_objspace_t space;
static int space_ready;

/*
 * The space, set up on first use from COWSCOPE_OBJ_* (read at init with the
 * other options). Not thread-safe, like everything in the object API.
 */
static cs_objspace_t *sp(void)
{
	if (!space_ready) {
		const cs_options_t *o = &cs_proc()->opt;
		int layout = o->obj_layout ? o->obj_layout : COWSCOPE_LAYOUT_OUTOFLINE;

		cs_objspace_init(&space, layout, o->obj_capacity);
		space.immortal = o->obj_immortal;
		space_ready = 1;
	}
	return &space;
}

CS_API int cowscope_obj_set_layout(int layout)
{
	return cs_objspace_set_layout(sp(), layout);
}

CS_API int cowscope_obj_layout(void)
{
	return sp()->layout;
}

CS_API int cowscope_obj_set_immortal(int on)
{
	sp()->immortal = on != 0;
	return 0;
}

CS_API void *cowscope_obj_new(const cowscope_type_t *type, size_t size)
{
	return cs_obj_new(sp(), type, size);
}

CS_API void cowscope_obj_incref(void *obj)
{
	cs_obj_incref(sp(), obj);
}

CS_API void cowscope_obj_decref(void *obj)
{
	cs_obj_decref(sp(), obj);
}

CS_API unsigned long cowscope_obj_refcount(const void *obj)
{
	return cs_obj_refcount(sp(), obj);
}

CS_API const cowscope_type_t *cowscope_obj_type(const void *obj)
{
	return cs_obj_type(sp(), obj);
}

CS_API int cowscope_obj_track(void *obj)
{
	return cs_obj_track(sp(), obj);
}

CS_API int cowscope_obj_untrack(void *obj)
{
	return cs_obj_untrack(sp(), obj);
}

CS_API int cowscope_obj_is_tracked(const void *obj)
{
	return cs_obj_is_tracked(sp(), obj);
}

CS_API long cowscope_collect(int generation)
{
	return cs_gc_collect(sp(), generation);
}

CS_API int cowscope_gc_set_threshold(long t0, long t1, long t2)
{
	return cs_gc_set_threshold(sp(), t0, t1, t2);
}

CS_API long cowscope_freeze(void)
{
	return cs_gc_freeze(sp());
}

CS_API long cowscope_unfreeze(void)
{
	return cs_gc_unfreeze(sp());
}

CS_API int cowscope_gc_stats(cowscope_gc_stats_t *out)
{
	return cs_gc_stats(sp(), out);
}
