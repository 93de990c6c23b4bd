/* SPDX-License-Identifier: MIT */
/* Loading allocation records (formats 1.1 and 1.7): the record table's handlers, every field checked. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>
#include "evpack.h"
#include "load_alloc.h"
#include "model.h"
#include "vec.h"
#include "weight.h"

/* A kind this reader does not know is an error, unless a newer minor wrote it. */
static bool newer_minor(const cs_loader_t *l)
{
	return l->t->has_hdr && l->t->hdr.version_minor > CS_TRACE_MINOR;
}

int cs_load_sampling(cs_loader_t *l, const cs_rec_t *r, const cs_fixed_t *f, cs_cur_t *c)
{
	const cs_rec_sampling_t *rec = &f->sampling;
	cs_allocinfo_t *a = &l->p->alloc;

	(void)c;
	if (rec->mean_bytes == 0)
		return cs_load_bad(l, r, "sampling mean of 0 bytes");
	a->has_sampling = true;
	a->mean_bytes = rec->mean_bytes;
	a->max_depth = rec->max_depth;
	a->sampling_flags = rec->flags;
	return 0;
}

static int take_segs(cs_loader_t *l, const cs_rec_t *r, cs_cur_t *c, uint32_t n, cs_module_t *m)
{
	const void *p;

	if (n > cs_cur_left(c) / sizeof(cs_seg_t) || cs_cur_bytes(c, n * sizeof(cs_seg_t), &p))
		return cs_load_bad(l, r, "bad module segment count");
	m->segs = malloc((n ? n : 1) * sizeof(cs_seg_t));
	if (!m->segs)
		return cs_load_nomem(l);
	memcpy(m->segs, p, n * sizeof(cs_seg_t));
	m->nsegs = n;
	for (uint32_t i = 0; i < n; i++)
		if (m->segs[i].start > m->segs[i].end)
			return cs_load_bad(l, r, "module segment ends before it starts");
	return 0;
}

static int take_build_id(cs_loader_t *l, const cs_rec_t *r, cs_cur_t *c, uint16_t n, cs_module_t *m)
{
	const void *p;

	if (cs_cur_bytes(c, ((size_t)n + 7) & ~(size_t)7, &p))
		return cs_load_bad(l, r, "bad build-id length");
	if (!n)
		return 0;
	m->build_id = malloc(n);
	if (!m->build_id)
		return cs_load_nomem(l);
	memcpy(m->build_id, p, n);
	m->build_id_len = n;
	return 0;
}

static int take_path(cs_loader_t *l, const cs_rec_t *r, cs_cur_t *c, cs_module_t *m)
{
	cs_str_t s;

	if (cs_cur_str(c, &s))
		return cs_load_bad(l, r, "bad string length");
	m->path = strndup(s.p, s.len);
	return m->path ? 0 : cs_load_nomem(l);
}

int cs_load_module(cs_loader_t *l, const cs_rec_t *r, const cs_fixed_t *f, cs_cur_t *c)
{
	const cs_rec_module_t *rec = &f->module;
	cs_allocinfo_t *a = &l->p->alloc;
	cs_module_t m = { 0 };
	int err = take_segs(l, r, c, rec->nsegs, &m);

	if (!err)
		err = take_build_id(l, r, c, rec->build_id_len, &m);
	if (!err)
		err = take_path(l, r, c, &m);
	if (!err && CS_VEC_GROW(a->mods, a->nmods, a->capmods))
		err = cs_load_nomem(l);
	if (err) {
		cs_module_free(&m);
		return err;
	}
	m.base = rec->base;
	a->mods[a->nmods++] = m;
	return 0;
}

int cs_load_stack(cs_loader_t *l, const cs_rec_t *r, const cs_fixed_t *f, cs_cur_t *c)
{
	const cs_rec_stack_t *rec = &f->stack;
	cs_allocinfo_t *a = &l->p->alloc;
	cs_stack_t *s;
	const void *p;

	if (rec->id == 0)
		return cs_load_bad(l, r, "stack id 0");
	if (rec->depth > cs_cur_left(c) / 8)
		return cs_load_bad(l, r, "bad stack depth");
	cs_cur_bytes(c, (size_t)rec->depth * 8, &p);
	if (CS_VEC_GROW(a->stacks, a->nstacks, a->capstacks))
		return cs_load_nomem(l);
	s = &a->stacks[a->nstacks];
	s->ra = malloc(rec->depth ? (size_t)rec->depth * 8 : 1);
	if (!s->ra)
		return cs_load_nomem(l);
	memcpy(s->ra, p, (size_t)rec->depth * 8);
	s->id = rec->id;
	s->depth = rec->depth;
	a->nstacks++;
	return 0;
}

/* The events of an ALLOCS or FREES record: count checked against the record. */
static int take_events(cs_loader_t *l, const cs_rec_t *r, const cs_fixed_t *f, cs_cur_t *c,
		       size_t evsize, const uint8_t **evs, uint32_t *count)
{
	const cs_rec_events_t *rec = &f->events;
	cs_allocinfo_t *a = &l->p->alloc;
	const void *p;

	if (rec->count > cs_cur_left(c) / evsize)
		return cs_load_bad(l, r, "bad event count");
	if (a->max_evs && a->nevs + rec->count > a->max_evs) {
		if (!a->skipped_evs)
			a->skipped_from = r->off;
		a->skipped_evs += rec->count; /* past the memory cap: counted, not kept */
		*count = 0;
		return 0;
	}
	cs_cur_bytes(c, rec->count * evsize, &p);
	if (cs_vec_reserve((void **)&a->evs, &a->capevs, a->nevs, rec->count, sizeof(*a->evs)))
		return cs_load_nomem(l);
	*evs = p;
	*count = rec->count;
	return 0;
}

/* One allocation event: 1 to keep, 0 to skip (a newer kind), or -EBADMSG. */
static int check_alloc(cs_loader_t *l, const cs_rec_t *r, const cs_alloc_ev_t *e)
{
	if (e->kind != CS_ALLOC_MALLOC && e->kind != CS_ALLOC_MMAP)
		return newer_minor(l) ? 0 : cs_load_bad(l, r, "unknown allocation kind");
	if (e->size > UINT64_MAX - e->ptr)
		return cs_load_bad(l, r, "allocation runs past the end of the address space");
	return e->ptr != 0;
}

int cs_load_allocs(cs_loader_t *l, const cs_rec_t *r, const cs_fixed_t *f, cs_cur_t *c)
{
	cs_allocinfo_t *a = &l->p->alloc;
	const uint8_t *p = NULL;
	cs_alloc_ev_t e;
	uint32_t n;
	int err = take_events(l, r, f, c, sizeof(e), &p, &n), keep;

	for (uint32_t i = 0; !err && i < n; i++) {
		memcpy(&e, p + (size_t)i * sizeof(e), sizeof(e));
		keep = check_alloc(l, r, &e);
		if (keep < 0)
			return keep;
		if (keep)
			a->evs[a->nevs++] = (cs_aev_t){ .seq = e.seq,
							.ptr = e.ptr,
							.len = e.size,
							.weight = e.weight_bytes,
							.stack = e.stack,
							.what = CS_AEV_ALLOC,
							.kind = e.kind,
							.ckpt = (uint32_t)a->nckpts };
	}
	return err;
}

static int check_free(cs_loader_t *l, const cs_rec_t *r, const cs_free_ev_t *e)
{
	if (e->kind < CS_FREE_FREE || e->kind > CS_FREE_MREMAP)
		return newer_minor(l) ? 0 : cs_load_bad(l, r, "unknown free kind");
	if (e->len > UINT64_MAX - e->ptr)
		return cs_load_bad(l, r, "freed range runs past the end of the address space");
	return e->ptr != 0;
}

int cs_load_frees(cs_loader_t *l, const cs_rec_t *r, const cs_fixed_t *f, cs_cur_t *c)
{
	cs_allocinfo_t *a = &l->p->alloc;
	const uint8_t *p = NULL;
	cs_free_ev_t e;
	uint32_t n;
	int err = take_events(l, r, f, c, sizeof(e), &p, &n), keep;

	for (uint32_t i = 0; !err && i < n; i++) {
		memcpy(&e, p + (size_t)i * sizeof(e), sizeof(e));
		keep = check_free(l, r, &e);
		if (keep < 0)
			return keep;
		if (keep)
			a->evs[a->nevs++] = (cs_aev_t){ .seq = e.seq,
							.ptr = e.ptr,
							.len = e.kind == CS_FREE_FREE ? 0 : e.len,
							.what = CS_AEV_FREE,
							.kind = e.kind,
							.ckpt = (uint32_t)a->nckpts };
	}
	return err;
}

/* ---- 1.7: packed events and live-set checkpoints ---------------------------------------- */

/* Whether n bytes at p are all zero (a record's padding). */
static bool zeros(const uint8_t *p, size_t n)
{
	while (n--)
		if (*p++)
			return false;
	return true;
}

/* The rest of the record is one zstd frame (then padding) of exactly raw bytes: into *buf. */
static int unzstd(cs_loader_t *l, const cs_rec_t *r, cs_cur_t *c, uint32_t raw, void **buf)
{
	size_t left = cs_cur_left(c), n, got;
	const void *src;

	cs_cur_bytes(c, left, &src);
	n = ZSTD_findFrameCompressedSize(src, left);
	if (ZSTD_isError(n) || !zeros((const uint8_t *)src + n, left - n))
		return cs_load_bad(l, r, "packed events are not one zstd frame");
	*buf = malloc(raw ? raw : 1);
	if (!*buf)
		return cs_load_nomem(l);
	got = ZSTD_decompress(*buf, raw, src, n);
	if (ZSTD_isError(got) || got != raw)
		return cs_load_bad(l, r, "zstd frame does not decompress to raw_bytes");
	return 0;
}

/*
 * The packed bytes of an EVPACK or LIVESET (rec->raw_bytes of them): in the
 * record, or decompressed into *buf (the caller frees it). 1 with *out set,
 * 0 for a codec of a newer minor (skipped), -EBADMSG or -ENOMEM.
 */
static int packed_bytes(cs_loader_t *l, const cs_rec_t *r, const cs_rec_evpack_t *rec, cs_cur_t *c,
			const uint8_t **out, void **buf)
{
	const void *p;
	int err;

	*buf = NULL;
	if (rec->raw_bytes > CS_REC_MAX_BYTES)
		return cs_load_bad(l, r, "packed events over 16 MiB");
	if (rec->codec == CS_CODEC_RAW) {
		if (cs_cur_bytes(c, rec->raw_bytes, &p) ||
		    !zeros((const uint8_t *)p + rec->raw_bytes, cs_cur_left(c)))
			return cs_load_bad(l, r, "raw_bytes does not match the record");
		*out = p;
		return 1;
	}
	if (rec->codec != CS_CODEC_ZSTD)
		return newer_minor(l) ? 0 : cs_load_bad(l, r, "unknown packed-event codec");
	err = unzstd(l, r, c, rec->raw_bytes, buf);
	*out = *buf;
	return err ? err : 1;
}

/* One unpacked event checked as ALLOCS and FREES check theirs: 1 keep, 0 skip, or -EBADMSG. */
static int check_pev(cs_loader_t *l, const cs_rec_t *r, const cs_pev_t *e, bool liveset)
{
	if (e->what == CS_PEV_FREE && liveset)
		return newer_minor(l) ? 0 : cs_load_bad(l, r, "a free in a live set");
	if (e->what == CS_PEV_FREE)
		return check_free(l, r,
				  &(cs_free_ev_t){ .ptr = e->ptr, .len = e->len, .kind = e->kind });
	if (liveset && e->kind != CS_ALLOC_MALLOC)
		return newer_minor(l)
			? 0
			: cs_load_bad(l, r, "a live-set entry that is not a malloc block");
	return check_alloc(l, r,
			   &(cs_alloc_ev_t){ .ptr = e->ptr, .size = e->len, .kind = e->kind });
}

static cs_aev_t aev_of(const cs_pev_t *e, const cs_allocinfo_t *a, bool liveset)
{
	bool alloc = e->what == CS_PEV_ALLOC;

	return (cs_aev_t){ .seq = e->seq,
			   .ptr = e->ptr,
			   .len = alloc || e->kind != CS_FREE_FREE ? e->len : 0,
			   .stack = alloc ? e->stack : 0,
			   .what = alloc ? CS_AEV_ALLOC : CS_AEV_FREE,
			   .kind = e->kind,
			   .in_ckpt = liveset,
			   .unweighed = alloc,
			   .ckpt = (uint32_t)a->nckpts };
}

/* Unpack n bytes of rec->count events into a->evs (room reserved). */
static int unpack(cs_loader_t *l, const cs_rec_t *r, const cs_rec_evpack_t *rec, const uint8_t *p,
		  size_t n, bool liveset)
{
	cs_allocinfo_t *a = &l->p->alloc;
	uint32_t seen = 0;
	cs_evdec_t d;
	cs_pev_t e;
	int got, keep;

	cs_evdec_start(&d, p, n, rec->seq);
	while ((got = cs_evdec_next(&d, &e)) > 0 && seen++ < rec->count) {
		keep = check_pev(l, r, &e, liveset);
		if (keep < 0)
			return keep;
		if (keep)
			a->evs[a->nevs++] = aev_of(&e, a, liveset);
	}
	if (got < 0)
		return cs_load_bad(l, r, "malformed packed events");
	if (got > 0 || seen != rec->count)
		return cs_load_bad(l, r, "event count does not match the packed events");
	return 0;
}

/* Past the memory cap: the record's events counted, not kept. Whether it was. */
static bool over_cap(cs_allocinfo_t *a, const cs_rec_t *r, uint32_t count)
{
	if (!a->max_evs || a->nevs + count <= a->max_evs)
		return false;
	if (!a->skipped_evs)
		a->skipped_from = r->off;
	a->skipped_evs += count;
	return true;
}

/* An EVPACK's or LIVESET's events into a->evs. */
static int load_packed(cs_loader_t *l, const cs_rec_t *r, const cs_rec_evpack_t *rec, cs_cur_t *c,
		       bool liveset)
{
	cs_allocinfo_t *a = &l->p->alloc;
	const uint8_t *p = NULL;
	void *buf = NULL;
	int err = packed_bytes(l, r, rec, c, &p, &buf);

	if (err <= 0)
		goto out;
	err = 0;
	/* every packed event takes at least 3 bytes: tag, ptr, and len or size */
	if (rec->count > rec->raw_bytes / 3)
		err = cs_load_bad(l, r, "event count does not match the packed events");
	else if (cs_vec_reserve((void **)&a->evs, &a->capevs, a->nevs, rec->count, sizeof(*a->evs)))
		err = cs_load_nomem(l);
	else
		err = unpack(l, r, rec, p, rec->raw_bytes, liveset);
out:
	free(buf);
	return err;
}

int cs_load_evpack(cs_loader_t *l, const cs_rec_t *r, const cs_fixed_t *f, cs_cur_t *c)
{
	if (over_cap(&l->p->alloc, r, f->evpack.count))
		return 0;
	return load_packed(l, r, &f->evpack, c, false);
}

int cs_load_liveset(cs_loader_t *l, const cs_rec_t *r, const cs_fixed_t *f, cs_cur_t *c)
{
	cs_allocinfo_t *a = &l->p->alloc;

	if (over_cap(a, r, f->evpack.count))
		return 0; /* no checkpoint: the replay falls back on the events it has */
	if (CS_VEC_GROW(a->ckpts, a->nckpts, a->capckpts))
		return cs_load_nomem(l);
	a->ckpts[a->nckpts++] = (cs_ckpt_t){ .cut = f->evpack.seq };
	return load_packed(l, r, &f->evpack, c, true);
}

int cs_load_fork_point(cs_loader_t *l, const cs_rec_t *r, const cs_fixed_t *f, cs_cur_t *c)
{
	cs_allocinfo_t *a = &l->p->alloc;

	(void)r;
	(void)c;
	if (a->has_fork_point)
		return 0; /* the first one counts */
	a->has_fork_point = true;
	a->fp_alloc_seq = f->fork_point.alloc_seq;
	a->fp_stack_id = f->fork_point.stack_id;
	return 0;
}

static int cmp_aev(const void *x, const void *y)
{
	const cs_aev_t *a = x, *b = y;

	if (a->seq != b->seq)
		return a->seq < b->seq ? -1 : 1;
	if (a->what != b->what)
		return a->what < b->what ? -1 : 1;
	if (a->ptr != b->ptr)
		return a->ptr < b->ptr ? -1 : 1;
	if (a->in_ckpt != b->in_ckpt) /* a checkpoint repeats its blocks' seqs: a fixed order */
		return a->in_ckpt < b->in_ckpt ? -1 : 1;
	return (a->ckpt > b->ckpt) - (a->ckpt < b->ckpt);
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

/* The weights 1.7 events do not carry: from the process's SAMPLING mean. */
static void weigh(cs_allocinfo_t *a)
{
	for (size_t i = 0; i < a->nevs; i++) {
		cs_aev_t *e = &a->evs[i];

		if (!e->unweighed)
			continue;
		e->weight = e->kind == CS_ALLOC_MMAP ? e->len
						     : cs_weight_bytes(e->len, a->mean_bytes);
		e->unweighed = false;
	}
}

void cs_allocinfo_finish(cs_allocinfo_t *a)
{
	size_t n = 0;

	weigh(a);
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
