/* SPDX-License-Identifier: MIT */
/* The shim's own footprint in a child, from its fork snapshot and its last snapshot. */
#include <errno.h>
#include "figures.h"
#include "shimcost.h"

static int add_bytes(cs_pageset_t *s, unsigned shift, uint64_t start, uint64_t end)
{
	uint64_t mask = (1ull << shift) - 1;

	return cs_pageset_add(s, start >> shift, (end + mask) >> shift);
}

/* The shim's pages: its recorded ranges and its flagged mappings in f. */
static int shim_set(const cs_proc_t *p, const cs_snap_t *f, unsigned shift, cs_pageset_t *out)
{
	int err = 0;

	for (size_t i = 0; i < p->nshim && !err; i++)
		err = add_bytes(out, shift, p->shim[i].start, p->shim[i].end);
	for (size_t i = 0; i < f->nmaps && !err; i++)
		if (f->maps[i].flags & CS_MAPF_SHIM)
			err = add_bytes(out, shift, f->maps[i].start, f->maps[i].end);
	cs_pageset_normalize(out);
	return err;
}

/* Copied: present at the fork and since written (or moved, or exclusive at the fork). */
static int copied(const cs_proc_t *p, const cs_snap_t *f, const cs_snap_t *z,
		  const cs_pageset_t *sp, cs_pageset_t *out)
{
	int err = cs_pageset_intersect(out, &f->sets[CS_SET_EXCL], sp);

	if (!err && (p->backend == CS_BACKEND_UFFD_WP || p->backend == CS_BACKEND_SOFT_DIRTY))
		err = cs_pageset_union(out, out, &z->sets[CS_SET_WRITTEN]);
	if (!err && p->backend == CS_BACKEND_PFN) {
		cs_pageset_t moved = { 0 };

		err = cs_pfn_changed(f, z, sp, &moved);
		if (!err)
			err = cs_pageset_union(out, out, &moved);
		cs_pageset_free(&moved);
	}
	if (!err && p->backend == CS_BACKEND_EXCLUSIVE)
		err = cs_pageset_union(out, out, &z->sets[CS_SET_EXCL]);
	if (!err)
		err = cs_pageset_intersect(out, out, sp);
	return err;
}

/* New: private at z, absent at the fork. */
static int fresh(const cs_snap_t *f, const cs_snap_t *z, const cs_pageset_t *shim,
		 cs_pageset_t *out)
{
	int err = cs_pageset_intersect(out, &z->sets[CS_SET_PRESENT], &z->sets[CS_SET_EXCL]);

	if (!err)
		err = cs_pageset_intersect(out, out, shim);
	if (!err)
		err = cs_pageset_diff(out, out, &f->sets[CS_SET_PRESENT]);
	return err;
}

int cs_shimcost_compute(cs_proc_t *p)
{
	const cs_snap_t *f = cs_fork_snap(p), *z = cs_final_snap(p);
	cs_pageset_t shim = { 0 }, sp = { 0 }, a = { 0 }, b = { 0 };
	unsigned shift = p->page_size ? cs_page_shift(p->page_size) : 0;
	int err;

	p->shim_pages = CS_UNKNOWN;
	if (p->role != CS_ROLE_CHILD || !f || !z || !p->page_size || p->fmt_minor < 3)
		return 0;
	err = shim_set(p, f, shift, &shim);
	if (!err)
		err = cs_pageset_intersect(&sp, &shim, &f->sets[CS_SET_PRESENT]);
	if (!err)
		err = copied(p, f, z, &sp, &a);
	if (!err)
		err = fresh(f, z, &shim, &b);
	if (!err)
		p->shim_pages = (int64_t)(cs_pageset_count(&a) + cs_pageset_count(&b));
	cs_pageset_free(&shim);
	cs_pageset_free(&sp);
	cs_pageset_free(&a);
	cs_pageset_free(&b);
	return err;
}
