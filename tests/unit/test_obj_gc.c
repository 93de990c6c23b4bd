/* SPDX-License-Identifier: MIT */
/* Unit tests: the object API's cycle collector, generations, thresholds and freezing. */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdlib.h>
#include <cmocka.h>
#include "obj.h"
#include "obj_node.h"

/* Two nodes referencing each other, with no reference from outside. */
static void make_garbage_pair(void)
{
	node_t *a = node_new(1), *b = node_new(2);

	node_link(a, 0, b);
	node_link(b, 0, a);
	cs_obj_decref(node_space, a);
	cs_obj_decref(node_space, b);
}

static void test_cycle_collected(void **state)
{
	node_t *self;

	(void)state;
	make_garbage_pair();
	self = node_new(3);
	node_link(self, 1, self);
	cs_obj_decref(node_space, self);
	assert_int_equal(node_space->live, 3);
	assert_int_equal(cs_gc_collect(node_space, 0), 3);
	assert_int_equal(node_space->live, 0);
	assert_true(node_clears >= 3); /* the collector's clear, then dealloc's again */
	assert_int_equal(node_space->collected, 3);
	assert_int_equal(node_space->collections[0], 1);
	assert_int_equal(cs_gc_collect(node_space, 0), 0);
}

static void test_reachable_cycle_survives_and_ages(void **state)
{
	node_t *a = node_new(1), *b = node_new(2);

	(void)state;
	node_link(a, 0, b);
	node_link(b, 0, a);
	cs_obj_decref(node_space, b); /* a is still held: the cycle is reachable */
	assert_int_equal(cs_gc_collect(node_space, 0), 0);
	assert_int_equal(cs_gclist_len(&node_space->list[CS_GEN1]), 2);
	assert_int_equal(cs_gc_collect(node_space, 1), 0);
	assert_int_equal(cs_gclist_len(&node_space->list[CS_GEN2]), 2);
	assert_int_equal(cs_obj_refcount(node_space, a), 2); /* gc_refs never touch refcounts */
	cs_obj_decref(node_space, a);
	assert_int_equal(cs_gc_collect(node_space, 0), 0); /* gen 0 does not see them now */
	assert_int_equal(cs_gc_collect(node_space, 2), 2);
	assert_int_equal(node_space->live, 0);
}

/* a is scanned first with gc_refs 0 and set aside; b, held from outside, brings it back. */
static void test_set_aside_then_rescued(void **state)
{
	node_t *a = node_new(1), *b = node_new(2), *c = node_new(3);

	(void)state;
	node_link(b, 0, a);
	node_link(a, 0, c);
	cs_obj_decref(node_space, a);
	cs_obj_decref(node_space, c);
	assert_int_equal(cs_gc_collect(node_space, 0), 0);
	assert_int_equal(node_space->live, 3);
	assert_int_equal(node_clears, 0);
	cs_obj_decref(node_space, b);
	assert_int_equal(node_space->live, 0);
}

/* References from older generations are "from outside": the young object survives. */
static void test_old_references_keep_young_alive(void **state)
{
	node_t *old = node_new(1), *young;

	(void)state;
	cs_gc_collect(node_space, 0);
	young = node_new(2);
	node_link(old, 0, young);
	cs_obj_decref(node_space, young);
	assert_int_equal(cs_gc_collect(node_space, 0), 0);
	assert_int_equal(node_space->live, 2);
	cs_obj_decref(node_space, old);
	assert_int_equal(node_space->live, 0);
}

static void test_frozen_skipped(void **state)
{
	cowscope_gc_stats_t st;

	(void)state;
	make_garbage_pair();
	node_t *held = node_new(3);
	void *plain = cs_obj_new(node_space, NULL, 16);

	assert_int_equal(cs_gc_freeze(node_space), 4);
	cs_gc_stats(node_space, &st);
	assert_int_equal(st.frozen, 4);
	assert_int_equal(st.live, 4);
	for (int g = 0; g < 3; g++)
		assert_int_equal(cs_gc_collect(node_space, g), 0);
	assert_int_equal(node_space->live, 4);
	assert_int_equal(node_clears, 0);
	assert_int_equal(cs_gc_unfreeze(node_space), 3); /* the tracked ones, to generation 2 */
	assert_int_equal(cs_gclist_len(&node_space->list[CS_GEN2]), 3);
	assert_int_equal(cs_gc_collect(node_space, 2), 2);
	cs_obj_decref(node_space, held);
	cs_obj_decref(node_space, plain);
	assert_int_equal(node_space->live, 0);
}

static void test_after_freeze_young_objects_collected(void **state)
{
	node_t *keep = node_new(1);

	(void)state;
	cs_gc_freeze(node_space);
	make_garbage_pair();
	assert_int_equal(cs_gc_collect(node_space, 2), 2);
	assert_int_equal(node_space->live, 1);
	cs_obj_decref(node_space, keep); /* frozen but not immortal: freed normally */
	assert_int_equal(node_space->live, 0);
}

static void test_automatic_collection(void **state)
{
	(void)state;
	assert_int_equal(cs_gc_set_threshold(node_space, 10, 2, 2), 0);
	assert_int_equal(cs_gc_set_threshold(node_space, -1, 2, 2), -EINVAL);
	for (int i = 0; i < 50; i++)
		make_garbage_pair();
	assert_true(node_space->collections[0] >= 5);
	assert_true(node_space->collections[1] >= 1);
	assert_true(node_space->live <= 12); /* at most one threshold's worth waits */
	cs_gc_set_threshold(node_space, 0, 10, 10);
	uint64_t before = node_space->collections[0];

	for (int i = 0; i < 50; i++)
		make_garbage_pair();
	assert_int_equal(node_space->collections[0], before);
}

static void test_generation_counts(void **state)
{
	(void)state;
	node_t *a = node_new(1);

	assert_int_equal(node_space->count[0], 1);
	cs_gc_collect(node_space, 0);
	assert_int_equal(node_space->count[0], 0);
	assert_int_equal(node_space->count[1], 1);
	cs_gc_collect(node_space, 1);
	assert_int_equal(node_space->count[1], 0);
	assert_int_equal(node_space->count[2], 1);
	assert_int_equal(cs_gc_collect(node_space, 3), -EINVAL);
	assert_int_equal(cs_gc_collect(node_space, -1), -EINVAL);
	cs_obj_decref(node_space, a);
}

/* Untracked objects are invisible to the collector: an untracked cycle stays (destroy frees it). */
static void test_untracked_ignored(void **state)
{
	node_t *a = node_new(1), *b = node_new(2);

	(void)state;
	node_link(a, 0, b);
	node_link(b, 0, a);
	cs_obj_untrack(node_space, a);
	cs_obj_untrack(node_space, b);
	assert_false(cs_obj_is_tracked(node_space, a));
	cs_obj_decref(node_space, a);
	cs_obj_decref(node_space, b);
	assert_int_equal(cs_gc_collect(node_space, 2), 0);
	assert_int_equal(node_space->live, 2);
}

static long nested_result = -1;

static void collecting_clear(void *obj)
{
	(void)obj;
	nested_result = cs_gc_collect(node_space, 2);
}

static const cowscope_type_t collecting_type = { "collecting", node_traverse, collecting_clear };

static void test_no_nested_collection(void **state)
{
	node_t *a = cs_obj_new(node_space, &collecting_type, sizeof(node_t));

	(void)state;
	cs_obj_track(node_space, a);
	node_link(a, 0, a);
	cs_obj_decref(node_space, a);
	/* collecting_clear drops no reference: a survives its clear, into generation 1. */
	assert_int_equal(cs_gc_collect(node_space, 0), 1);
	assert_int_equal(nested_result, 0);
	assert_int_equal(cs_gclist_len(&node_space->list[CS_GEN1]), 1);
}

/* A long chain hanging off a cycle: all of it garbage, freed by the clears' cascade. */
static void test_chain_off_a_cycle(void **state)
{
	node_t *head = node_new(0), *prev = head;

	(void)state;
	for (int i = 1; i < 100; i++) {
		node_t *n = node_new((uint64_t)i);

		node_link(prev, 0, n);
		cs_obj_decref(node_space, n);
		prev = n;
	}
	node_link(prev, 1, head);
	cs_obj_decref(node_space, head);
	assert_int_equal(cs_gc_collect(node_space, 2), 100);
	assert_int_equal(node_space->live, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		BOTH_LAYOUTS(test_cycle_collected),
		BOTH_LAYOUTS(test_reachable_cycle_survives_and_ages),
		BOTH_LAYOUTS(test_set_aside_then_rescued),
		BOTH_LAYOUTS(test_old_references_keep_young_alive),
		BOTH_LAYOUTS(test_frozen_skipped),
		BOTH_LAYOUTS(test_after_freeze_young_objects_collected),
		BOTH_LAYOUTS(test_automatic_collection),
		BOTH_LAYOUTS(test_generation_counts),
		BOTH_LAYOUTS(test_untracked_ignored),
		BOTH_LAYOUTS(test_no_nested_collection),
		BOTH_LAYOUTS(test_chain_off_a_cycle),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
