/* SPDX-License-Identifier: MIT */
/* Unit tests: object API layouts, refcounts, the header table, immortal objects, COWSCOPE_OBJ_* options. */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "obj.h"
#include "obj_node.h"
#include "options.h"

#define NOBJ 200

/* The bytes of obj's malloc block: its header or prefix, then its payload. */
static const uint8_t *block(const void *obj)
{
	size_t h = node_space->layout == COWSCOPE_LAYOUT_INLINE ? sizeof(cs_inline_hdr_t)
								: sizeof(cs_prefix_t);

	return (const uint8_t *)obj - h;
}

static size_t block_len(void)
{
	size_t h = node_space->layout == COWSCOPE_LAYOUT_INLINE ? sizeof(cs_inline_hdr_t)
								: sizeof(cs_prefix_t);

	return h + sizeof(node_t);
}

/* Copy every object's whole block into snap (NOBJ * block_len()). */
static void snapshot(node_t **objs, uint8_t *snap)
{
	for (int i = 0; i < NOBJ; i++)
		memcpy(snap + (size_t)i * block_len(), block(objs[i]), block_len());
}

static int blocks_changed(node_t **objs, const uint8_t *snap)
{
	int changed = 0;

	for (int i = 0; i < NOBJ; i++)
		changed += memcmp(snap + (size_t)i * block_len(), block(objs[i]), block_len()) != 0;
	return changed;
}

/* NOBJ nodes, half tracked, each referencing the next (a ring: one big cycle, held from outside). */
static void make_ring(node_t **objs)
{
	for (int i = 0; i < NOBJ; i++) {
		objs[i] = cs_obj_new(node_space, &node_type, sizeof(node_t));
		assert_non_null(objs[i]);
		objs[i]->id = (uint64_t)i;
		if (i % 2 == 0)
			cs_obj_track(node_space, objs[i]);
	}
	for (int i = 0; i < NOBJ; i++)
		node_link(objs[i], 0, objs[(i + 1) % NOBJ]);
}

/* What a worker does to shared objects: read them, collect every generation, freeze and thaw. */
static void exercise(node_t **objs)
{
	for (int r = 0; r < 3; r++)
		for (int i = 0; i < NOBJ; i++)
			cs_obj_incref(node_space, objs[i]);
	for (int r = 0; r < 3; r++)
		for (int i = 0; i < NOBJ; i++)
			cs_obj_decref(node_space, objs[i]);
	cs_obj_untrack(node_space, objs[0]);
	cs_obj_track(node_space, objs[1]);
	for (int g = 0; g < 3; g++)
		assert_int_equal(cs_gc_collect(node_space, g), 0);
	cs_gc_freeze(node_space);
	cs_gc_collect(node_space, 2);
	cs_gc_unfreeze(node_space);
	assert_int_equal(cs_gc_collect(node_space, 2), 0);
}

static void test_outofline_never_writes_the_objects(void **state)
{
	node_t *objs[NOBJ];
	uint8_t *snap = malloc((size_t)NOBJ * (sizeof(cs_inline_hdr_t) + sizeof(node_t)));

	(void)state;
	make_ring(objs);
	snapshot(objs, snap);
	exercise(objs);
	if (node_space->layout == COWSCOPE_LAYOUT_OUTOFLINE)
		assert_int_equal(blocks_changed(objs, snap), 0);
	else
		assert_true(blocks_changed(objs, snap) >= NOBJ / 2); /* the tracked ones' gc_refs */
	for (int i = 0; i < NOBJ; i++)
		assert_int_equal(cs_obj_refcount(node_space, objs[i]), 2);
	free(snap);
}

static void test_refcount_and_free(void **state)
{
	node_t *a, *b;

	(void)state;
	a = node_new(1);
	b = node_new(2);
	node_link(a, 0, b);
	assert_int_equal(cs_obj_refcount(node_space, b), 2);
	assert_ptr_equal(cs_obj_type(node_space, a), &node_type);
	assert_true(cs_obj_is_tracked(node_space, a));
	cs_obj_decref(node_space, b);
	assert_int_equal(node_space->live, 2);
	cs_obj_decref(node_space, a); /* frees a, whose clear frees b */
	assert_int_equal(node_clears, 2);
	assert_int_equal(node_space->live, 0);
	assert_int_equal(node_space->count[0], 0);
	cs_obj_incref(node_space, NULL);
	cs_obj_decref(node_space, NULL);
}

static void test_payload_zeroed_and_aligned(void **state)
{
	uint8_t *p;

	(void)state;
	p = cs_obj_new(node_space, NULL, 1000);
	assert_non_null(p);
	assert_int_equal((uintptr_t)p % 16, 0);
	for (int i = 0; i < 1000; i++)
		assert_int_equal(p[i], 0);
	assert_false(cs_obj_is_tracked(node_space, p));
	cs_obj_decref(node_space, p);
	assert_int_equal(node_space->live, 0);
}

static void test_immortal_refcounts_untouched(void **state)
{
	node_t *objs[NOBJ];
	uint8_t *snap = malloc((size_t)NOBJ * (sizeof(cs_inline_hdr_t) + sizeof(node_t)));
	uint8_t *rc_snap = NULL;
	size_t rc_bytes;

	(void)state;
	node_space->immortal = 1;
	make_ring(objs);
	assert_int_equal(cs_gc_freeze(node_space), NOBJ);
	rc_bytes = node_space->tab.used * sizeof(uint32_t);
	if (rc_bytes) {
		rc_snap = malloc(rc_bytes);
		memcpy(rc_snap, node_space->tab.rc, rc_bytes);
	}
	snapshot(objs, snap);
	for (int i = 0; i < NOBJ; i++) {
		assert_true(cs_obj_refcount(node_space, objs[i]) >= CS_RC_IMMORTAL);
		cs_obj_incref(node_space, objs[i]);
		for (int k = 0; k < 5; k++)
			cs_obj_decref(node_space,
				      objs[i]); /* more than it has: immortal, never freed */
	}
	cs_gc_collect(node_space, 2);
	assert_int_equal(blocks_changed(objs, snap), 0); /* either layout: nothing written */
	if (rc_bytes)
		assert_memory_equal(rc_snap, node_space->tab.rc, rc_bytes);
	assert_int_equal(node_clears, 0);
	assert_int_equal(node_space->live, NOBJ);
	free(rc_snap);
	free(snap);
}

static void test_layout_fixed_by_first_object(void **state)
{
	int other = node_space->layout == COWSCOPE_LAYOUT_INLINE ? COWSCOPE_LAYOUT_OUTOFLINE
								 : COWSCOPE_LAYOUT_INLINE;
	int mine = node_space->layout;
	void *o;

	(void)state;
	assert_int_equal(cs_objspace_set_layout(node_space, 7), -EINVAL);
	assert_int_equal(cs_objspace_set_layout(node_space, other), 0);
	assert_int_equal(cs_objspace_set_layout(node_space, mine), 0);
	o = cs_obj_new(node_space, NULL, 8);
	assert_int_equal(cs_objspace_set_layout(node_space, other), -EBUSY);
	assert_int_equal(cs_objspace_set_layout(node_space, mine), 0);
	cs_obj_decref(node_space, o);
}

static void test_table_dense_and_reused(void **state)
{
	cs_objspace_t s;
	void *o[1024], *extra;
	uint32_t slot;

	(void)state;
	assert_int_equal(cs_objspace_init(&s, COWSCOPE_LAYOUT_OUTOFLINE, 1000), 0);
	assert_int_equal(s.tab.cap, 1024); /* rounded up to a whole page of refcounts */
	for (int i = 0; i < 1024; i++)
		assert_non_null(o[i] = cs_obj_new(&s, NULL, 24));
	assert_int_equal((uint8_t *)&s.tab.rc[1024] - (uint8_t *)&s.tab.rc[0], 4096);
	assert_ptr_equal((uint8_t *)s.tab.gc, s.tab.base + 4096);
	errno = 0;
	assert_null(cs_obj_new(&s, NULL, 24));
	assert_int_equal(errno, ENOMEM);
	slot = ((const cs_prefix_t *)o[500] - 1)->slot;
	cs_obj_decref(&s, o[500]);
	extra = cs_obj_new(&s, NULL, 24);
	assert_non_null(extra);
	assert_int_equal(((const cs_prefix_t *)extra - 1)->slot, slot); /* the freed slot first */
	cs_objspace_destroy(&s);
	assert_null(s.tab.base);
}

static void test_init_rejects(void **state)
{
	cs_objspace_t s;

	(void)state;
	assert_int_equal(cs_objspace_init(&s, 0, 0), -EINVAL);
	assert_int_equal(cs_objspace_init(&s, COWSCOPE_LAYOUT_OUTOFLINE, CS_OBJTAB_MAX_SLOTS + 1),
			 -EINVAL);
	assert_int_equal(cs_objspace_init(&s, COWSCOPE_LAYOUT_INLINE, 0), 0);
	assert_int_equal(s.tab.cap, CS_OBJTAB_DEFAULT_SLOTS);
	assert_null(cs_obj_new(&s, NULL, SIZE_MAX - 8));
	cs_objspace_destroy(&s);
}

static void test_options(void **state)
{
	const char *acc = NULL;

	(void)state;
	assert_int_equal(cs_option_check("COWSCOPE_OBJ_LAYOUT", "inline", &acc), 0);
	assert_string_equal(acc, "inline or outofline");
	assert_int_equal(cs_option_check("COWSCOPE_OBJ_LAYOUT", "outofline", NULL), 0);
	assert_int_equal(cs_option_check("COWSCOPE_OBJ_LAYOUT", "sideways", NULL), -EINVAL);
	assert_int_equal(cs_option_check("COWSCOPE_OBJ_IMMORTAL", "1", NULL), 0);
	assert_int_equal(cs_option_check("COWSCOPE_OBJ_IMMORTAL", "2", NULL), -EINVAL);
	assert_int_equal(cs_option_check("COWSCOPE_OBJ_CAPACITY", "4M", NULL), 0);
	assert_int_equal(cs_option_check("COWSCOPE_OBJ_CAPACITY", "100", NULL), -EINVAL);
	assert_int_equal(cs_option_check("COWSCOPE_OBJ_CAPACITY", "257M", NULL), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		BOTH_LAYOUTS(test_outofline_never_writes_the_objects),
		BOTH_LAYOUTS(test_refcount_and_free),
		BOTH_LAYOUTS(test_payload_zeroed_and_aligned),
		BOTH_LAYOUTS(test_immortal_refcounts_untouched),
		BOTH_LAYOUTS(test_layout_fixed_by_first_object),
		cmocka_unit_test(test_table_dense_and_reused),
		cmocka_unit_test(test_init_rejects),
		cmocka_unit_test(test_options),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
