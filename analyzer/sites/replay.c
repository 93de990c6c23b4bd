/* SPDX-License-Identifier: MIT */
/* Allocation replay: a hash of live malloc blocks and a sorted array of mmap regions. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "replay.h"
#include "vec.h"

struct cs_replay {
	const cs_model_t *m;
	size_t proc;
	const cs_allocinfo_t *a;
	size_t next;     /* the next event to consider for the mmap regions */
	size_t next_mal; /* the next event to consider for the malloc blocks */
	uint32_t ck;     /* 1.7: the checkpoint the malloc blocks restarted from, 0 none */
	size_t *ent;     /* 1.7: indices of checkpoint entries, checkpoint k's at [entoff[k - 1],
			  * entoff[k]), by seq; built at the first restart */
	size_t *entoff;
	size_t *late; /* 1.7: malloc-kind events after a checkpoint with seq below its cut */
	size_t nlate;
	cs_live_t *tab; /* open addressing on ptr; ptr 0 marks an empty slot */
	size_t cap;     /* a power of two, or 0 */
	size_t n;
	cs_live_t *rg; /* mmap regions, sorted, non-overlapping */
	size_t nrg, caprg;
};

bool cs_proc_inherits(const cs_model_t *m, size_t c)
{
	const cs_proc_t *p = &m->procs[c];

	return p->role == CS_ROLE_CHILD && p->parent >= 0 && m->procs[p->parent].pid != p->pid;
}

static const cs_stack_t *find_stack(const cs_allocinfo_t *a, uint32_t id)
{
	size_t lo = 0, hi = a->nstacks, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (a->stacks[mid].id == id)
			return &a->stacks[mid];
		if (a->stacks[mid].id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

const cs_stack_t *cs_stack_resolve(const cs_model_t *m, size_t proc, uint32_t id)
{
	const cs_stack_t *s;

	for (size_t hops = 0; id && hops < m->nprocs; hops++) {
		const cs_allocinfo_t *a = &m->procs[proc].alloc;

		s = find_stack(a, id);
		if (s)
			return s;
		if (!a->has_fork_point || id >= a->fp_stack_id || !cs_proc_inherits(m, proc))
			return NULL;
		proc = (size_t)m->procs[proc].parent;
	}
	return NULL;
}

/* ---- the malloc hash -------------------------------------------------------------------- */

static size_t slot_of(const cs_replay_t *r, uint64_t ptr)
{
	uint64_t h = ptr * 0x9e3779b97f4a7c15ull;

	return (size_t)(h ^ (h >> 29)) & (r->cap - 1);
}

/* The slot holding ptr, or the empty slot where it would go. */
static size_t probe(const cs_replay_t *r, uint64_t ptr)
{
	size_t i = slot_of(r, ptr);

	while (r->tab[i].ptr && r->tab[i].ptr != ptr)
		i = (i + 1) & (r->cap - 1);
	return i;
}

static int grow(cs_replay_t *r)
{
	size_t ncap = r->cap ? r->cap * 2 : 1024, oldcap = r->cap;
	cs_live_t *old = r->tab;

	if (ncap > SIZE_MAX / 2 / sizeof(*old))
		return -ENOMEM;
	r->tab = calloc(ncap, sizeof(*old));
	if (!r->tab) {
		r->tab = old;
		return -ENOMEM;
	}
	r->cap = ncap;
	for (size_t i = 0; i < oldcap; i++)
		if (old[i].ptr)
			r->tab[probe(r, old[i].ptr)] = old[i];
	free(old);
	return 0;
}

static int put(cs_replay_t *r, const cs_live_t *e)
{
	size_t i;

	if ((r->n + 1) * 2 > r->cap && grow(r))
		return -ENOMEM;
	i = probe(r, e->ptr);
	r->n += !r->tab[i].ptr;
	r->tab[i] = *e;
	return 0;
}

/* Whether slot k's entry, whose home is h, may move back to the hole at i. */
static bool may_fill(size_t i, size_t h, size_t k)
{
	return i <= k ? (h <= i || h > k) : (h <= i && h > k);
}

/* Remove ptr, shifting later entries of its cluster back (no tombstones). */
static void del(cs_replay_t *r, uint64_t ptr)
{
	size_t i, k;

	if (!r->cap || !r->tab[i = probe(r, ptr)].ptr)
		return;
	for (k = (i + 1) & (r->cap - 1); r->tab[k].ptr; k = (k + 1) & (r->cap - 1)) {
		if (!may_fill(i, slot_of(r, r->tab[k].ptr), k))
			continue;
		r->tab[i] = r->tab[k];
		i = k;
	}
	r->tab[i].ptr = 0;
	r->n--;
}

/* ---- mmap regions ----------------------------------------------------------------------- */

static uint64_t end_of(const cs_live_t *e)
{
	return e->ptr + e->size;
}

/* Index of the first region ending after addr. */
static size_t first_after(const cs_replay_t *r, uint64_t addr)
{
	size_t lo = 0, hi = r->nrg, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (end_of(&r->rg[mid]) <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* e cut to [lo, hi), its weight scaled by the part kept. */
static cs_live_t trimmed(const cs_live_t *e, uint64_t lo, uint64_t hi)
{
	cs_live_t t = *e;

	t.ptr = lo;
	t.size = hi - lo;
	t.weight = (uint64_t)((double)e->weight * ((double)t.size / (double)e->size) + 0.5);
	return t;
}

/* Replace regions [i, j) with the n regions of v. */
static int splice(cs_replay_t *r, size_t i, size_t j, const cs_live_t *v, size_t n)
{
	if (n > j - i &&
	    cs_vec_reserve((void **)&r->rg, &r->caprg, r->nrg, n - (j - i), sizeof(*r->rg)))
		return -ENOMEM;
	memmove(r->rg + i + n, r->rg + j, (r->nrg - j) * sizeof(*r->rg));
	memcpy(r->rg + i, v, n * sizeof(*v));
	r->nrg = r->nrg - (j - i) + n;
	return 0;
}

/* Take [lo, hi) out of the regions: drop the ones inside, trim the ones across its ends. */
static int unmap(cs_replay_t *r, uint64_t lo, uint64_t hi)
{
	size_t i = first_after(r, lo), j = i, n = 0;
	cs_live_t keep[2];

	while (j < r->nrg && r->rg[j].ptr < hi)
		j++;
	if (i == j)
		return 0;
	if (r->rg[i].ptr < lo)
		keep[n++] = trimmed(&r->rg[i], r->rg[i].ptr, lo);
	if (end_of(&r->rg[j - 1]) > hi)
		keep[n++] = trimmed(&r->rg[j - 1], hi, end_of(&r->rg[j - 1]));
	return splice(r, i, j, keep, n);
}

static int map(cs_replay_t *r, const cs_live_t *e)
{
	int err = unmap(r, e->ptr, end_of(e));

	return err ? err : splice(r, first_after(r, e->ptr), first_after(r, e->ptr), e, 1);
}

/* ---- events ----------------------------------------------------------------------------- */

static int apply(cs_replay_t *r, const cs_aev_t *ev)
{
	cs_live_t e;

	if (ev->what == CS_AEV_FREE && ev->kind == CS_FREE_FREE) {
		del(r, ev->ptr);
		return 0;
	}
	if (ev->what == CS_AEV_FREE)
		return ev->len ? unmap(r, ev->ptr, ev->ptr + ev->len) : 0;
	e = (cs_live_t){ .ptr = ev->ptr,
			 .seq = ev->seq,
			 .size = ev->len,
			 .weight = ev->weight,
			 .kind = ev->kind,
			 .stack = cs_stack_resolve(r->m, r->proc, ev->stack) };
	if (ev->kind == CS_ALLOC_MALLOC)
		return put(r, &e);
	return e.size ? map(r, &e) : 0;
}

/* Whether an event changes the malloc blocks (else the mmap regions). */
static bool is_mal(const cs_aev_t *ev)
{
	return ev->what == CS_AEV_ALLOC ? ev->kind == CS_ALLOC_MALLOC : ev->kind == CS_FREE_FREE;
}

/* ---- 1.7 checkpoints -------------------------------------------------------------------- */

/* The checkpoint whose malloc blocks answer "live at seq s": the last in the file with cut <= s. */
static uint32_t ckpt_for(const cs_allocinfo_t *a, uint64_t s)
{
	for (size_t k = a->nckpts; k > 0; k--)
		if (a->ckpts[k - 1].cut <= s)
			return (uint32_t)k;
	return 0;
}

/* Index of the first event with seq >= s. */
static size_t first_seq(const cs_allocinfo_t *a, uint64_t s)
{
	size_t lo = 0, hi = a->nevs, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (a->evs[mid].seq < s)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Group the checkpoint entries by checkpoint (a counting sort keeps seq order). */
static int index_entries(cs_replay_t *r)
{
	const cs_allocinfo_t *a = r->a;
	size_t nk = a->nckpts, *at;

	r->entoff = calloc(nk + 2, sizeof(*r->entoff));
	at = calloc(nk + 2, sizeof(*at));
	r->ent = malloc((a->nevs ? a->nevs : 1) * sizeof(*r->ent));
	if (!r->entoff || !at || !r->ent) {
		free(at);
		return -ENOMEM;
	}
	for (size_t i = 0; i < a->nevs; i++)
		if (a->evs[i].in_ckpt && a->evs[i].ckpt >= 1 && a->evs[i].ckpt <= nk)
			r->entoff[a->evs[i].ckpt]++;
	for (size_t k = 1; k <= nk; k++)
		r->entoff[k] += r->entoff[k - 1];
	for (size_t k = nk; k >= 1; k--)
		at[k] = r->entoff[k - 1];
	for (size_t i = 0; i < a->nevs; i++)
		if (a->evs[i].in_ckpt && a->evs[i].ckpt >= 1 && a->evs[i].ckpt <= nk)
			r->ent[at[a->evs[i].ckpt]++] = i;
	free(at);
	return 0;
}

/* The malloc-kind events written after a checkpoint but numbered below its cut (or an earlier one's). */
static int index_late(cs_replay_t *r)
{
	const cs_allocinfo_t *a = r->a;
	uint64_t *maxcut = calloc(a->nckpts + 1, sizeof(*maxcut));

	r->late = malloc((a->nevs ? a->nevs : 1) * sizeof(*r->late));
	if (!maxcut || !r->late) {
		free(maxcut);
		return -ENOMEM;
	}
	for (size_t k = 1; k <= a->nckpts; k++)
		maxcut[k] = a->ckpts[k - 1].cut > maxcut[k - 1] ? a->ckpts[k - 1].cut
								: maxcut[k - 1];
	for (size_t i = 0; i < a->nevs; i++) {
		const cs_aev_t *e = &a->evs[i];

		if (!e->in_ckpt && is_mal(e) && e->ckpt >= 1 && e->ckpt <= a->nckpts &&
		    e->seq < maxcut[e->ckpt])
			r->late[r->nlate++] = i;
	}
	free(maxcut);
	return 0;
}

/*
 * A late event (written after checkpoint k, numbered below its cut): applied
 * unless the block at its ptr is younger (allocated after it: the checkpoint
 * already holds what happened at that address).
 */
static int apply_late(cs_replay_t *r, const cs_aev_t *ev)
{
	size_t i;

	if (r->cap && r->tab[i = probe(r, ev->ptr)].ptr && r->tab[i].seq > ev->seq)
		return 0;
	return apply(r, ev);
}

/* Restart the malloc blocks from checkpoint k: its entries, then its late events. */
static int restart(cs_replay_t *r, uint32_t k)
{
	const cs_allocinfo_t *a = r->a;
	uint64_t cut = a->ckpts[k - 1].cut;
	int err = 0;

	if (!r->ent && (index_entries(r) || index_late(r)))
		return -ENOMEM;
	if (r->cap)
		memset(r->tab, 0, r->cap * sizeof(*r->tab));
	r->n = 0;
	for (size_t i = r->entoff[k - 1]; i < r->entoff[k] && !err; i++)
		err = apply(r, &a->evs[r->ent[i]]);
	for (size_t i = 0; i < r->nlate && !err; i++) {
		const cs_aev_t *e = &a->evs[r->late[i]];

		if (e->ckpt >= k && e->seq < cut)
			err = apply_late(r, e);
	}
	r->ck = k;
	r->next_mal = first_seq(a, cut);
	return err;
}

int cs_replay_until(cs_replay_t *r, uint64_t cut)
{
	const cs_allocinfo_t *a = r->a;
	uint32_t k = a->nckpts ? ckpt_for(a, cut) : 0;
	int err = k > r->ck ? restart(r, k) : 0;
	const cs_aev_t *e;

	for (; !err && r->next_mal < a->nevs && a->evs[r->next_mal].seq < cut; r->next_mal++) {
		e = &a->evs[r->next_mal];
		if (is_mal(e) && !e->in_ckpt && e->ckpt >= r->ck)
			err = apply(r, e);
	}
	for (; !err && r->next < a->nevs && a->evs[r->next].seq < cut; r->next++) {
		e = &a->evs[r->next];
		if (!is_mal(e) && !e->in_ckpt)
			err = apply(r, e);
	}
	return err;
}

int cs_replay_start(cs_replay_t **out, const cs_model_t *m, size_t proc, const cs_liveset_t *base)
{
	cs_replay_t *r = calloc(1, sizeof(*r));
	int err = 0;

	*out = r;
	if (!r)
		return -ENOMEM;
	*r = (cs_replay_t){ .m = m, .proc = proc, .a = &m->procs[proc].alloc };
	for (size_t i = 0; base && i < base->nmal && !err; i++)
		err = put(r, &base->mal[i]);
	if (!err && base && base->nmm)
		err = splice(r, 0, 0, base->mm, base->nmm);
	for (size_t i = 0; i < r->cap; i++)
		r->tab[i].freed = false;
	for (size_t i = 0; i < r->nrg; i++)
		r->rg[i].freed = false;
	return err;
}

static int cmp_live(const void *x, const void *y)
{
	const cs_live_t *a = x, *b = y;

	return (a->ptr > b->ptr) - (a->ptr < b->ptr);
}

int cs_replay_snapshot(const cs_replay_t *r, cs_liveset_t *out)
{
	size_t n = 0;

	*out = (cs_liveset_t){ 0 };
	out->mal = malloc((r->n ? r->n : 1) * sizeof(*out->mal));
	out->mm = malloc((r->nrg ? r->nrg : 1) * sizeof(*out->mm));
	if (!out->mal || !out->mm) {
		cs_liveset_free(out);
		return -ENOMEM;
	}
	for (size_t i = 0; i < r->cap; i++)
		if (r->tab[i].ptr)
			out->mal[n++] = r->tab[i];
	qsort(out->mal, n, sizeof(*out->mal), cmp_live);
	out->nmal = n;
	if (r->nrg) /* r->rg may be NULL when there are none */
		memcpy(out->mm, r->rg, r->nrg * sizeof(*r->rg));
	out->nmm = r->nrg;
	return 0;
}

void cs_replay_free(cs_replay_t *r)
{
	if (!r)
		return;
	free(r->tab);
	free(r->rg);
	free(r->ent);
	free(r->entoff);
	free(r->late);
	free(r);
}

/* By (ptr, seq). */
static int cmp_ptr_seq(const void *x, const void *y)
{
	const cs_live_t *a = x, *b = y;

	if (a->ptr != b->ptr)
		return a->ptr < b->ptr ? -1 : 1;
	return (a->seq > b->seq) - (a->seq < b->seq);
}

/* 1.7: the blocks of s missing from the child's first checkpoint were freed before its cut. */
static void mark_missing(cs_liveset_t *s, const cs_allocinfo_t *a)
{
	cs_live_t *v = malloc((a->nevs ? a->nevs : 1) * sizeof(*v));
	size_t n = 0;

	if (!v)
		return; /* no memory: as if none was freed before the checkpoint */
	for (size_t i = 0; i < a->nevs; i++)
		if (a->evs[i].in_ckpt && a->evs[i].ckpt == 1)
			v[n++] = (cs_live_t){ .ptr = a->evs[i].ptr, .seq = a->evs[i].seq };
	qsort(v, n, sizeof(*v), cmp_ptr_seq);
	for (size_t i = 0; i < s->nmal; i++)
		if (!n || !bsearch(&s->mal[i], v, n, sizeof(*v), cmp_ptr_seq))
			s->mal[i].freed = true;
	free(v);
}

void cs_liveset_mark_frees(cs_liveset_t *s, const cs_allocinfo_t *a)
{
	cs_live_t key, *e;

	if (!s->nmal)
		return; /* bsearch must not see a NULL array, even with 0 members (C11 7.22.5) */
	if (a->nckpts)
		mark_missing(s, a);
	for (size_t i = 0; i < a->nevs; i++) {
		if (a->evs[i].what != CS_AEV_FREE || a->evs[i].kind != CS_FREE_FREE ||
		    (a->nckpts && a->evs[i].ckpt < 1))
			continue; /* with a checkpoint, the frees before it are in what it lacks */
		key.ptr = a->evs[i].ptr;
		e = bsearch(&key, s->mal, s->nmal, sizeof(*s->mal), cmp_live);
		if (e)
			e->freed = true;
	}
}

void cs_liveset_free(cs_liveset_t *s)
{
	free(s->mal);
	free(s->mm);
	*s = (cs_liveset_t){ 0 };
}
