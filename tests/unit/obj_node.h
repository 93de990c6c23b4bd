/* SPDX-License-Identifier: MIT */
/* A test object type for the object API's unit tests: a node with four references. */
#ifndef CS_TEST_OBJ_NODE_H
#define CS_TEST_OBJ_NODE_H

#include "obj.h"

typedef struct node {
	void *ref[4];
	uint64_t id;
} node_t;

/* The space the type's callbacks act on, and how many clears and objects they saw. */
static cs_objspace_t *node_space;
static int node_clears;

static void node_traverse(void *obj, cowscope_visit_fn visit, void *arg)
{
	node_t *n = obj;

	for (int i = 0; i < 4; i++)
		if (n->ref[i])
			visit(n->ref[i], arg);
}

static void node_clear(void *obj)
{
	node_t *n = obj;

	node_clears++;
	for (int i = 0; i < 4; i++) {
		void *r = n->ref[i];

		n->ref[i] = NULL;
		cs_obj_decref(node_space, r);
	}
}

static const cowscope_type_t node_type = { "node", node_traverse, node_clear };

/* A new tracked node. */
static node_t *node_new(uint64_t id)
{
	node_t *n = cs_obj_new(node_space, &node_type, sizeof(node_t));

	if (n) {
		n->id = id;
		cs_obj_track(node_space, n);
	}
	return n;
}

/* from->ref[i] = to, taking a new reference. */
static void node_link(node_t *from, int i, node_t *to)
{
	cs_obj_incref(node_space, to);
	from->ref[i] = to;
}

/* Space of the layout in *state for each test (prestate), destroyed afterwards. */
static int space_setup(void **state)
{
	static cs_objspace_t s;
	int layout = *(int *)*state;

	if (cs_objspace_init(&s, layout, 4096) < 0)
		return -1;
	node_space = &s;
	node_clears = 0;
	return 0;
}

static int space_teardown(void **state)
{
	(void)state;
	cs_objspace_destroy(node_space);
	return 0;
}

static int layout_inline = COWSCOPE_LAYOUT_INLINE;
static int layout_outofline = COWSCOPE_LAYOUT_OUTOFLINE;

#define BOTH_LAYOUTS(f)                                                                           \
	cmocka_unit_test_prestate_setup_teardown(f, space_setup, space_teardown, &layout_inline), \
		cmocka_unit_test_prestate_setup_teardown(f, space_setup, space_teardown,          \
							 &layout_outofline)

#endif
