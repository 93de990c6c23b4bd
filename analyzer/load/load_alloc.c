/* SPDX-License-Identifier: MIT */
/* Loading allocation records (format 1.1): a dispatch table of handlers, every field checked. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "load_alloc.h"
#include "model.h"
#include "vec.h"

typedef struct aload {
	cs_allocinfo_t *a;
	const cs_trace_t *t;
	const cs_rec_t *r;
	cs_diag_t *d;
} aload_t;

typedef int (*ahandler_fn)(aload_t *l);

static int bad(aload_t *l, const char *what)
{
	return cs_trace_bad(l->t, l->r, l->d, what);
}

static int nomem(aload_t *l)
{
	cs_diag_set(l->d, "out of memory reading %s", l->t->path);
	return -ENOMEM;
}

static int fixed(aload_t *l, void *out, size_t n, cs_cur_t *c)
{
	if (cs_rec_fixed(l->r, out, n, c))
		return bad(l, "record too short for its type");
	return 0;
}

/* A kind this reader does not know is an error, unless a newer minor wrote it. */
static bool newer_minor(const aload_t *l)
{
	return l->t->has_hdr && l->t->hdr.version_minor > CS_TRACE_MINOR;
}

static int on_sampling(aload_t *l)
{
	cs_rec_sampling_t rec;
	cs_cur_t c;
	int err = fixed(l, &rec, sizeof(rec), &c);

	if (err)
		return err;
	if (rec.mean_bytes == 0)
		return bad(l, "sampling mean of 0 bytes");
	l->a->has_sampling = true;
	l->a->mean_bytes = rec.mean_bytes;
	l->a->max_depth = rec.max_depth;
	l->a->sampling_flags = rec.flags;
	return 0;
}

static int take_segs(aload_t *l, cs_cur_t *c, uint32_t n, cs_module_t *m)
{
	const void *p;

	if (n > cs_cur_left(c) / sizeof(cs_seg_t) || cs_cur_bytes(c, n * sizeof(cs_seg_t), &p))
		return bad(l, "bad module segment count");
	m->segs = malloc((n ? n : 1) * sizeof(cs_seg_t));
	if (!m->segs)
		return nomem(l);
	memcpy(m->segs, p, n * sizeof(cs_seg_t));
	m->nsegs = n;
	for (uint32_t i = 0; i < n; i++)
		if (m->segs[i].start > m->segs[i].end)
			return bad(l, "module segment ends before it starts");
	return 0;
}

static int take_build_id(aload_t *l, cs_cur_t *c, uint16_t n, cs_module_t *m)
{
	const void *p;

	if (cs_cur_bytes(c, ((size_t)n + 7) & ~(size_t)7, &p))
		return bad(l, "bad build-id length");
	if (!n)
		return 0;
	m->build_id = malloc(n);
	if (!m->build_id)
		return nomem(l);
	memcpy(m->build_id, p, n);
	m->build_id_len = n;
	return 0;
}

static int take_path(aload_t *l, cs_cur_t *c, cs_module_t *m)
{
	cs_str_t s;

	if (cs_cur_str(c, &s))
		return bad(l, "bad string length");
	m->path = strndup(s.p, s.len);
	return m->path ? 0 : nomem(l);
}

static int on_module(aload_t *l)
{
	cs_rec_module_t rec;
	cs_module_t m = { 0 };
	cs_cur_t c;
	int err = fixed(l, &rec, sizeof(rec), &c);

	if (!err)
		err = take_segs(l, &c, rec.nsegs, &m);
	if (!err)
		err = take_build_id(l, &c, rec.build_id_len, &m);
	if (!err)
		err = take_path(l, &c, &m);
	if (!err && CS_VEC_GROW(l->a->mods, l->a->nmods, l->a->capmods))
		err = nomem(l);
	if (err) {
		cs_module_free(&m);
		return err;
	}
	m.base = rec.base;
	l->a->mods[l->a->nmods++] = m;
	return 0;
}

static int on_stack(aload_t *l)
{
	cs_rec_stack_t rec;
	cs_stack_t *s;
	const void *p;
	cs_cur_t c;
	int err = fixed(l, &rec, sizeof(rec), &c);

	if (err)
		return err;
	if (rec.id == 0)
		return bad(l, "stack id 0");
	if (rec.depth > cs_cur_left(&c) / 8)
		return bad(l, "bad stack depth");
	cs_cur_bytes(&c, (size_t)rec.depth * 8, &p);
	if (CS_VEC_GROW(l->a->stacks, l->a->nstacks, l->a->capstacks))
		return nomem(l);
	s = &l->a->stacks[l->a->nstacks];
	s->ra = malloc(rec.depth ? (size_t)rec.depth * 8 : 1);
	if (!s->ra)
		return nomem(l);
	memcpy(s->ra, p, (size_t)rec.depth * 8);
	s->id = rec.id;
	s->depth = rec.depth;
	l->a->nstacks++;
	return 0;
}

/* The events of an ALLOCS or FREES record: count checked against the record. */
static int take_events(aload_t *l, size_t evsize, const uint8_t **evs, uint32_t *count)
{
	cs_rec_events_t rec;
	const void *p;
	cs_cur_t c;
	int err = fixed(l, &rec, sizeof(rec), &c);

	if (err)
		return err;
	if (rec.count > cs_cur_left(&c) / evsize)
		return bad(l, "bad event count");
	if (l->a->max_evs && l->a->nevs + rec.count > l->a->max_evs) {
		if (!l->a->skipped_evs)
			l->a->skipped_from = l->r->off;
		l->a->skipped_evs += rec.count; /* past the memory cap: counted, not kept */
		*count = 0;
		return 0;
	}
	cs_cur_bytes(&c, rec.count * evsize, &p);
	if (cs_vec_reserve((void **)&l->a->evs, &l->a->capevs, l->a->nevs, rec.count,
			   sizeof(*l->a->evs)))
		return nomem(l);
	*evs = p;
	*count = rec.count;
	return 0;
}

/* One allocation event: 1 to keep, 0 to skip (a newer kind), or -EBADMSG. */
static int check_alloc(aload_t *l, const cs_alloc_ev_t *e)
{
	if (e->kind != CS_ALLOC_MALLOC && e->kind != CS_ALLOC_MMAP)
		return newer_minor(l) ? 0 : bad(l, "unknown allocation kind");
	if (e->size > UINT64_MAX - e->ptr)
		return bad(l, "allocation runs past the end of the address space");
	return e->ptr != 0;
}

static int on_allocs(aload_t *l)
{
	const uint8_t *p = NULL;
	cs_alloc_ev_t e;
	uint32_t n;
	int err = take_events(l, sizeof(e), &p, &n), keep;

	for (uint32_t i = 0; !err && i < n; i++) {
		memcpy(&e, p + (size_t)i * sizeof(e), sizeof(e));
		keep = check_alloc(l, &e);
		if (keep < 0)
			return keep;
		if (keep)
			l->a->evs[l->a->nevs++] = (cs_aev_t){ .seq = e.seq, .ptr = e.ptr,
				.len = e.size, .weight = e.weight_bytes, .stack = e.stack,
				.what = CS_AEV_ALLOC, .kind = e.kind };
	}
	return err;
}

static int check_free(aload_t *l, const cs_free_ev_t *e)
{
	if (e->kind < CS_FREE_FREE || e->kind > CS_FREE_MREMAP)
		return newer_minor(l) ? 0 : bad(l, "unknown free kind");
	if (e->len > UINT64_MAX - e->ptr)
		return bad(l, "freed range runs past the end of the address space");
	return e->ptr != 0;
}

static int on_frees(aload_t *l)
{
	const uint8_t *p = NULL;
	cs_free_ev_t e;
	uint32_t n;
	int err = take_events(l, sizeof(e), &p, &n), keep;

	for (uint32_t i = 0; !err && i < n; i++) {
		memcpy(&e, p + (size_t)i * sizeof(e), sizeof(e));
		keep = check_free(l, &e);
		if (keep < 0)
			return keep;
		if (keep)
			l->a->evs[l->a->nevs++] = (cs_aev_t){ .seq = e.seq, .ptr = e.ptr,
				.len = e.kind == CS_FREE_FREE ? 0 : e.len, .what = CS_AEV_FREE,
				.kind = e.kind };
	}
	return err;
}

static int on_fork_point(aload_t *l)
{
	cs_rec_fork_point_t rec;
	cs_cur_t c;
	int err = fixed(l, &rec, sizeof(rec), &c);

	if (err || l->a->has_fork_point)
		return err; /* the first one counts */
	l->a->has_fork_point = true;
	l->a->fp_alloc_seq = rec.alloc_seq;
	l->a->fp_stack_id = rec.stack_id;
	return 0;
}

static const ahandler_fn handlers[] = {
	[CS_REC_SAMPLING] = on_sampling,
	[CS_REC_MODULE] = on_module,
	[CS_REC_STACK] = on_stack,
	[CS_REC_ALLOCS] = on_allocs,
	[CS_REC_FREES] = on_frees,
	[CS_REC_FORK_POINT] = on_fork_point,
};

int cs_load_alloc_rec(cs_allocinfo_t *a, const cs_trace_t *t, const cs_rec_t *r, cs_diag_t *d)
{
	aload_t l = { .a = a, .t = t, .r = r, .d = d };

	if (r->type >= sizeof(handlers) / sizeof(handlers[0]) || !handlers[r->type])
		return 0;
	return handlers[r->type](&l);
}

static int cmp_aev(const void *x, const void *y)
{
	const cs_aev_t *a = x, *b = y;

	if (a->seq != b->seq)
		return a->seq < b->seq ? -1 : 1;
	if (a->what != b->what)
		return a->what < b->what ? -1 : 1;
	return (a->ptr > b->ptr) - (a->ptr < b->ptr);
}

/* By id; repeats of an id in a fixed order (depth, then frames) so the first kept is stable. */
static int cmp_stack(const void *x, const void *y)
{
	const cs_stack_t *a = x, *b = y;

	if (a->id != b->id)
		return a->id < b->id ? -1 : 1;
	if (a->depth != b->depth)
		return a->depth < b->depth ? -1 : 1;
	return memcmp(a->ra, b->ra, (size_t)a->depth * 8);
}

void cs_allocinfo_finish(cs_allocinfo_t *a)
{
	size_t n = 0;

	if (a->nevs > 1)
		qsort(a->evs, a->nevs, sizeof(*a->evs), cmp_aev);
	if (a->nstacks > 1)
		qsort(a->stacks, a->nstacks, sizeof(*a->stacks), cmp_stack);
	for (size_t i = 0; i < a->nstacks; i++) {
		if (n && a->stacks[n - 1].id == a->stacks[i].id) {
			free(a->stacks[i].ra);
			continue;
		}
		a->stacks[n++] = a->stacks[i];
	}
	a->nstacks = n;
}

