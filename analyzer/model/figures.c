/* SPDX-License-Identifier: MIT */
/* The COW math for one traced process, per backend, as DESIGN.md defines the terms. */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "figures.h"
#include "vec.h"

/* What one later snapshot Z says, relative to the fork. */
typedef struct zsets {
	cs_pageset_t wc;       /* child-copied */
	cs_pageset_t wp;       /* parent-unshared */
	cs_pageset_t unshared; /* wc ∪ wp ∪ pages whose side is unknown */
	cs_pageset_t child_new;
	bool split; /* wc and wp are known */
	bool no_wp; /* but wp is not: no bit 56 in this snapshot (CS_SNAPF_NO_EXCL) */
	bool known; /* unshared is known */
} zsets_t;

/* Everything fixed by the fork snapshot. */
typedef struct fctx {
	const cs_proc_t *p;
	const cs_snap_t *f;
	unsigned shift;
	uint64_t page_size;
	uint8_t backend;
	cs_pageset_t excluded; /* the shim's own ranges */
	cs_pageset_t s;        /* shared at fork */
	cs_pageset_t e0;       /* exclusive already in the fork snapshot */
	cs_pageset_t armed;
	cs_pageset_t unarmed_s; /* S outside armed mappings (write-tracking backends) */
	cs_pageset_t fmaps;     /* every range the fork snapshot maps */
} fctx_t;

typedef int (*wc_fn)(const fctx_t *fc, const cs_snap_t *z, const cs_pageset_t *sp,
		     cs_pageset_t *wc);

static int wc_written(const fctx_t *fc, const cs_snap_t *z, const cs_pageset_t *sp,
		      cs_pageset_t *wc);
static int wc_pfn(const fctx_t *fc, const cs_snap_t *z, const cs_pageset_t *sp, cs_pageset_t *wc);

/* How each backend finds child-copied pages; NULL: it cannot tell them apart. */
static const struct {
	wc_fn wc;
	bool armed;    /* writes are seen only in armed mappings */
	bool unshared; /* the backend knows unshared pages (bit 56) */
} methods[CS_BACKEND_COUNT] = {
	[CS_BACKEND_UFFD_WP] = { wc_written, true, true },
	[CS_BACKEND_SOFT_DIRTY] = { wc_written, true, true },
	[CS_BACKEND_PFN] = { wc_pfn, false, true },
	[CS_BACKEND_EXCLUSIVE] = { NULL, false, true },
};

void cs_figures_init(cs_figures_t *f)
{
	memset(f, 0, sizeof(*f));
	f->shared_at_fork = f->child_copied = f->parent_unshared = CS_UNKNOWN;
	f->unshared = f->child_new = f->minor_faults = CS_UNKNOWN;
	f->unarmed_pages = f->released = CS_UNKNOWN;
	f->share_retained = NAN;
	f->peak_unshared = CS_UNKNOWN;
	f->at_end = (cs_endfig_t){ .child_copied = CS_UNKNOWN,
				   .parent_unshared = CS_UNKNOWN,
				   .unshared = CS_UNKNOWN,
				   .child_new = CS_UNKNOWN,
				   .share_retained = NAN };
	cs_amp_init(&f->at_end.amp);
	for (size_t i = 0; i < CS_NSIDES; i++)
		cs_amp_init(&f->amp[i]);
}

const cs_snap_t *cs_fork_snap(const cs_proc_t *p)
{
	for (size_t i = 0; i < p->nsnaps; i++)
		if (p->snaps[i].reason == CS_SNAP_FORK && !p->snaps[i].from_samples)
			return &p->snaps[i];
	return NULL;
}

bool cs_snap_blind(const cs_snap_t *s)
{
	if (!(s->end_flags & CS_SNAPF_TRUNCATED))
		return false;
	for (size_t i = 0; i < s->nmaps; i++) {
		const cs_mapping_t *m = &s->maps[i];

		if (!(m->flags & (CS_MAPF_SHIM | CS_MAPF_SKIPPED)) && m->kind != CS_MAP_SHARED)
			return false;
	}
	return true;
}

static bool has_note(const cs_proc_t *p, uint32_t code)
{
	for (size_t i = 0; i < p->nnotes; i++)
		if (p->notes[i].code == code)
			return true;
	return false;
}

bool cs_proc_blind(const cs_proc_t *p)
{
	for (size_t i = 0; i < p->nsnaps; i++)
		if (cs_snap_blind(&p->snaps[i]))
			return true;
	return has_note(p, CS_NOTE_BLIND);
}

/* Say why figures are unknown when the process's own snapshots were blind. 0 or -ENOMEM. */
static int note_blind(cs_proc_t *p)
{
	char *text;

	if (!cs_proc_blind(p) || has_note(p, CS_NOTE_BLIND))
		return 0;
	text = strdup("its page state could not be read (pagemap unreadable: every mapping of a "
		      "snapshot skipped): figures from those snapshots are unknown, not 0");
	if (!text || CS_VEC_GROW(p->notes, p->nnotes, p->capnotes)) {
		free(text);
		return -ENOMEM;
	}
	p->notes[p->nnotes++] = (cs_note_t){ .code = CS_NOTE_BLIND, .text = text };
	return 0;
}

/* Say why parent-unshared is unknown when the working snapshot read no bit 56. 0 or -ENOMEM. */
static int note_no_excl(cs_proc_t *p)
{
	char *text;

	if (!p->fig.no_wp || has_note(p, CS_NOTE_A_NO_EXCL))
		return 0;
	text = strdup("parent-unshared, unshared and share retained unknown: snapshots did not "
		      "read pagemap bit 56 (COWSCOPE_PARENT_UNSHARED=off, cowscope run "
		      "--no-parent-unshared); child-copied is exact");
	if (!text || CS_VEC_GROW(p->notes, p->nnotes, p->capnotes)) {
		free(text);
		return -ENOMEM;
	}
	p->notes[p->nnotes++] = (cs_note_t){ .code = CS_NOTE_A_NO_EXCL, .text = text };
	return 0;
}

/* When the process took its own last snapshot (exit, _exit, exec); UINT64_MAX if never. */
static uint64_t end_snap_ns(const cs_proc_t *p)
{
	for (size_t i = 0; i < p->nsnaps; i++) {
		const cs_snap_t *s = &p->snaps[i];

		if (!s->from_samples && s->reason >= CS_SNAP_EXIT && s->reason <= CS_SNAP_EXEC)
			return s->t_ns;
	}
	return UINT64_MAX;
}

/*
 * Whether s is a candidate for Z (a whole picture of the process after the
 * fork). Partial UNMAP snapshots are not, nor samples taken after the
 * process's own final snapshot: by then its memory is being torn down.
 */
static bool is_candidate(const cs_snap_t *s, const cs_snap_t *f, uint64_t end_ns)
{
	if (s == f || s->reason == CS_SNAP_FORK || s->reason == CS_SNAP_UNMAP ||
	    (f && s->t_ns < f->t_ns) || cs_snap_blind(s))
		return false;
	return !s->from_samples || s->t_ns <= end_ns;
}

const cs_snap_t *cs_final_snap(const cs_proc_t *p)
{
	const cs_snap_t *f = cs_fork_snap(p);
	uint64_t end_ns = end_snap_ns(p);

	for (size_t i = p->nsnaps; i-- > 0;)
		if (is_candidate(&p->snaps[i], f, end_ns))
			return &p->snaps[i];
	return NULL;
}

const cs_snap_t *cs_work_snap(const cs_proc_t *p)
{
	const cs_snap_t *f = cs_fork_snap(p);
	uint64_t end_ns = end_snap_ns(p);

	for (size_t i = 0; i < p->nsnaps; i++)
		if (p->snaps[i].reason == CS_SNAP_WORK && is_candidate(&p->snaps[i], f, end_ns))
			return &p->snaps[i];
	return cs_final_snap(p);
}

const char *cs_snap_reason_name(int reason)
{
	static const char *const names[] = {
		[CS_SNAP_FORK] = "fork", [CS_SNAP_EXIT] = "exit", [CS_SNAP__EXIT] = "_exit",
		[CS_SNAP_EXEC] = "exec", [CS_SNAP_API] = "api",   [CS_SNAP_SAMPLE] = "sample",
		[CS_SNAP_MARK] = "mark", [CS_SNAP_WORK] = "work", [CS_SNAP_UNMAP] = "unmap",
	};

	if (reason <= 0 || (size_t)reason >= sizeof(names) / sizeof(names[0]) || !names[reason])
		return "unknown";
	return names[reason];
}

/* Pages [start, end) bytes covers. */
static cs_prange_t byte_pages(const fctx_t *fc, uint64_t start, uint64_t end)
{
	uint64_t mask = fc->page_size - 1;

	return (cs_prange_t){ start >> fc->shift, (end >> fc->shift) + !!(end & mask) };
}

static int add_bytes(const fctx_t *fc, cs_pageset_t *s, uint64_t start, uint64_t end)
{
	cs_prange_t r = byte_pages(fc, start, end);

	return cs_pageset_add(s, r.lo, r.hi);
}

static bool is_tracked(const cs_mapping_t *m)
{
	return m->kind != CS_MAP_SHARED && !(m->flags & CS_MAPF_SHIM);
}

/* tracked(X): X's private non-excluded mappings. */
static int tracked(const fctx_t *fc, const cs_snap_t *x, cs_pageset_t *out)
{
	int err = 0;

	for (size_t i = 0; i < x->nmaps && !err; i++)
		if (is_tracked(&x->maps[i]))
			err = add_bytes(fc, out, x->maps[i].start, x->maps[i].end);
	if (err)
		return err;
	cs_pageset_normalize(out);
	return cs_pageset_diff(out, out, &fc->excluded);
}

/* Pages of x's mappings that carry `flag` (any mapping if flag is 0). */
static int maps_with(const fctx_t *fc, const cs_snap_t *x, unsigned flag, cs_pageset_t *out)
{
	int err = 0;

	for (size_t i = 0; i < x->nmaps && !err; i++)
		if (!flag || (x->maps[i].flags & flag))
			err = add_bytes(fc, out, x->maps[i].start, x->maps[i].end);
	cs_pageset_normalize(out);
	return err;
}

static int excluded(fctx_t *fc)
{
	const cs_proc_t *p = fc->p;
	int err = 0;

	for (size_t i = 0; i < p->nshim && !err; i++)
		err = add_bytes(fc, &fc->excluded, p->shim[i].start, p->shim[i].end);
	cs_pageset_normalize(&fc->excluded);
	return err;
}

/* S, E0, armed, and S outside armed mappings. */
static int fork_sets(fctx_t *fc)
{
	const cs_snap_t *f = fc->f;
	int err;

	err = excluded(fc);
	if (!err)
		err = tracked(fc, f, &fc->s);
	if (!err)
		err = cs_pageset_intersect(&fc->s, &fc->s, &f->sets[CS_SET_PRESENT]);
	if (!err)
		err = cs_pageset_intersect(&fc->e0, &f->sets[CS_SET_EXCL], &fc->s);
	if (!err)
		err = maps_with(fc, f, CS_MAPF_ARMED, &fc->armed);
	if (!err && fc->backend < CS_BACKEND_COUNT && methods[fc->backend].armed)
		err = cs_pageset_diff(&fc->unarmed_s, &fc->s, &fc->armed);
	if (!err)
		err = maps_with(fc, f, 0, &fc->fmaps);
	return err;
}

static void fctx_free(fctx_t *fc)
{
	cs_pageset_free(&fc->excluded);
	cs_pageset_free(&fc->s);
	cs_pageset_free(&fc->e0);
	cs_pageset_free(&fc->armed);
	cs_pageset_free(&fc->unarmed_s);
	cs_pageset_free(&fc->fmaps);
}

static void zsets_free(zsets_t *z)
{
	cs_pageset_free(&z->wc);
	cs_pageset_free(&z->wp);
	cs_pageset_free(&z->unshared);
	cs_pageset_free(&z->child_new);
}

/* uffd-wp, soft-dirty: Wc = ((Z.WRITTEN ∩ armed) ∪ E0) ∩ S ∩ Z.PRESENT. */
static int wc_written(const fctx_t *fc, const cs_snap_t *z, const cs_pageset_t *sp,
		      cs_pageset_t *wc)
{
	int err = cs_pageset_intersect(wc, &z->sets[CS_SET_WRITTEN], &fc->armed);

	if (!err)
		err = cs_pageset_union(wc, wc, &fc->e0);
	if (!err)
		err = cs_pageset_intersect(wc, wc, sp);
	return err;
}

/* The frame number of page p in snapshot x, 0 if not known. O(log runs). */
static uint64_t pfn_of(const cs_snap_t *x, uint64_t p)
{
	size_t lo = 0, hi = x->npfns, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (x->pfns[mid].first_page <= p)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0 || p - x->pfns[lo - 1].first_page >= x->pfns[lo - 1].count)
		return 0;
	return x->pfns[lo - 1].pfn[p - x->pfns[lo - 1].first_page];
}

/* Pages of sp whose frame changed since the fork (both known). Bounded by F's frames. */
int cs_pfn_changed(const cs_snap_t *f, const cs_snap_t *z, const cs_pageset_t *sp,
		   cs_pageset_t *out)
{
	uint64_t p, now;

	for (size_t i = 0; i < f->npfns; i++) {
		for (uint64_t k = 0; k < f->pfns[i].count; k++) {
			p = f->pfns[i].first_page + k;
			if (!f->pfns[i].pfn[k] || !cs_pageset_contains(sp, p))
				continue;
			now = pfn_of(z, p);
			if (now && now != f->pfns[i].pfn[k] && cs_pageset_add(out, p, p + 1))
				return -ENOMEM;
		}
	}
	cs_pageset_normalize(out);
	return 0;
}

/* pfn: Wc = ({p ∈ S ∩ Z.PRESENT : frame changed} ∪ E0) ∩ Z.PRESENT. */
static int wc_pfn(const fctx_t *fc, const cs_snap_t *z, const cs_pageset_t *sp, cs_pageset_t *wc)
{
	int err = cs_pfn_changed(fc->f, z, sp, wc);

	if (!err)
		err = cs_pageset_union(wc, wc, &fc->e0);
	if (!err)
		err = cs_pageset_intersect(wc, wc, &z->sets[CS_SET_PRESENT]);
	return err;
}

/* Wp = exs − Wc, minus S outside armed mappings; unshared adds those back. */
static int split(const fctx_t *fc, const cs_pageset_t *exs, zsets_t *o)
{
	cs_pageset_t unk = { 0 };
	int err;

	err = cs_pageset_diff(&o->wp, exs, &o->wc);
	if (!err)
		err = cs_pageset_intersect(&unk, &o->wp, &fc->unarmed_s);
	if (!err)
		err = cs_pageset_diff(&o->wp, &o->wp, &fc->unarmed_s);
	if (!err)
		err = cs_pageset_union(&o->unshared, &o->wc, &o->wp);
	if (!err)
		err = cs_pageset_union(&o->unshared, &o->unshared, &unk);
	cs_pageset_free(&unk);
	return err;
}

/*
 * child_new = (Z.PRESENT ∩ Z.EXCL ∩ tracked(Z)) − S; without bit 56
 * (CS_SNAPF_NO_EXCL) every private present page outside S: the same, except
 * pages the child shares with a child of its own (docs/backends.md).
 */
static int child_new(const fctx_t *fc, const cs_snap_t *z, cs_pageset_t *out)
{
	int err = tracked(fc, z, out);

	if (!err)
		err = cs_pageset_intersect(out, out, &z->sets[CS_SET_PRESENT]);
	if (!err && !(z->end_flags & CS_SNAPF_NO_EXCL))
		err = cs_pageset_intersect(out, out, &z->sets[CS_SET_EXCL]);
	if (!err)
		err = cs_pageset_diff(out, out, &fc->s);
	return err;
}

/* Every set of one candidate snapshot z, as if it were the final one. */
static int compute_z(const fctx_t *fc, const cs_snap_t *z, zsets_t *o)
{
	cs_pageset_t sp = { 0 }, exs = { 0 };
	bool have = fc->backend < CS_BACKEND_COUNT;
	int err;

	err = cs_pageset_intersect(&sp, &fc->s, &z->sets[CS_SET_PRESENT]);
	if (!err)
		err = cs_pageset_intersect(&exs, &z->sets[CS_SET_EXCL], &sp);
	if (!err && have && methods[fc->backend].wc) {
		o->split = true;
		o->no_wp = z->end_flags & CS_SNAPF_NO_EXCL;
		o->known = !o->no_wp;
		err = methods[fc->backend].wc(fc, z, &sp, &o->wc);
		if (!err && o->known)
			err = split(fc, &exs, o);
	} else if (!err && have && methods[fc->backend].unshared) {
		o->known = true;
		err = cs_pageset_copy(&o->unshared, &exs);
	}
	if (!err)
		err = child_new(fc, z, &o->child_new);
	cs_pageset_free(&sp);
	cs_pageset_free(&exs);
	return err;
}

static int64_t count_if(bool known, const cs_pageset_t *s)
{
	return known ? (int64_t)cs_pageset_count(s) : CS_UNKNOWN;
}

static int64_t within_if(bool known, const cs_pageset_t *s, cs_prange_t r)
{
	return known ? (int64_t)cs_pageset_count_within(s, r.lo, r.hi) : CS_UNKNOWN;
}

static int add_point(cs_figures_t *fig, const fctx_t *fc, const cs_snap_t *z, const zsets_t *o)
{
	cs_tpoint_t *t;

	if (CS_VEC_GROW(fig->timeline, fig->ntimeline, fig->captimeline))
		return -ENOMEM;
	t = &fig->timeline[fig->ntimeline++];
	t->t_ms = (double)(int64_t)(z->t_ns - fc->f->t_ns) / 1e6;
	t->reason = z->reason;
	t->child_copied = count_if(o->split, &o->wc);
	t->parent_unshared = count_if(o->split && !o->no_wp, &o->wp);
	t->unshared = count_if(o->known, &o->unshared);
	return 0;
}

static bool huge_in(const cs_snap_t *x, cs_prange_t r)
{
	return x && cs_pageset_count_within(&x->sets[CS_SET_HUGE], r.lo, r.hi) > 0;
}

static cs_mapfig_t *new_mapfig(cs_figures_t *fig, const fctx_t *fc, const cs_mapping_t *m)
{
	cs_prange_t r = byte_pages(fc, m->start, m->end);
	cs_mapfig_t *mf;

	if (CS_VEC_GROW(fig->maps, fig->nmaps, fig->capmaps))
		return NULL;
	mf = &fig->maps[fig->nmaps++];
	*mf = (cs_mapfig_t){ .name = m->name,
			     .kind = m->kind,
			     .start = m->start,
			     .end = m->end,
			     .size_pages = (int64_t)(r.hi - r.lo),
			     .approximate = !!(m->flags & CS_MAPF_HUGE) };
	for (size_t i = 0; i < CS_NSIDES; i++)
		cs_amp_init(&mf->amp[i]);
	return mf;
}

/* A mapping of the fork snapshot, with its share of each set of z. */
static int fork_mapfig(cs_figures_t *fig, const fctx_t *fc, const cs_mapping_t *m,
		       const cs_snap_t *z, const zsets_t *o)
{
	cs_prange_t r = byte_pages(fc, m->start, m->end);
	cs_mapfig_t *mf = new_mapfig(fig, fc, m);
	bool t = is_tracked(m);

	if (!mf)
		return -ENOMEM;
	mf->shared_at_fork = t ? (int64_t)cs_pageset_count_within(&fc->s, r.lo, r.hi) : 0;
	mf->child_copied = t ? within_if(z && o->split, &o->wc, r) : 0;
	mf->parent_unshared = t ? within_if(z && o->split && !o->no_wp, &o->wp, r) : 0;
	mf->unshared = t ? within_if(z && o->known, &o->unshared, r) : 0;
	mf->child_new = t ? within_if(z, &o->child_new, r) : 0;
	mf->approximate |= t && (huge_in(fc->f, r) || huge_in(z, r));
	return 0;
}

/* A mapping that appeared after the fork: only child-new pages can be in it. */
static int new_mapping_fig(cs_figures_t *fig, const fctx_t *fc, const cs_mapping_t *m,
			   const cs_snap_t *z, const zsets_t *o)
{
	cs_prange_t r = byte_pages(fc, m->start, m->end);
	cs_mapfig_t *mf;

	if (m->flags & CS_MAPF_SHIM || cs_pageset_count_within(&fc->fmaps, r.lo, r.hi))
		return 0;
	mf = new_mapfig(fig, fc, m);
	if (!mf)
		return -ENOMEM;
	mf->child_new = is_tracked(m) ? within_if(true, &o->child_new, r) : 0;
	mf->approximate |= is_tracked(m) && huge_in(z, r);
	return 0;
}

static int mapping_figs(cs_figures_t *fig, const fctx_t *fc, const cs_snap_t *z, const zsets_t *o)
{
	int err = 0;

	for (size_t i = 0; i < fc->f->nmaps && !err; i++)
		if (!(fc->f->maps[i].flags & CS_MAPF_SHIM))
			err = fork_mapfig(fig, fc, &fc->f->maps[i], z, o);
	for (size_t i = 0; z && i < z->nmaps && !err; i++)
		err = new_mapping_fig(fig, fc, &z->maps[i], z, o);
	return err;
}

/*
 * Pages of S that z no longer maps: unmapped, or discarded (MADV_DONTNEED,
 * e.g. a Redis save child's dismissMemory). Neither copied nor unshared.
 */
static int64_t released(const fctx_t *fc, const cs_snap_t *z)
{
	cs_pageset_t gone = { 0 };
	int64_t n = CS_UNKNOWN;

	if (cs_pageset_diff(&gone, &fc->s, &z->sets[CS_SET_PRESENT]) == 0)
		n = (int64_t)cs_pageset_count(&gone);
	cs_pageset_free(&gone);
	return n;
}

/* The process figures from the working snapshot's sets. */
static void work_counts(cs_figures_t *fig, const fctx_t *fc, const cs_snap_t *z, const zsets_t *o)
{
	fig->shared_at_fork = (int64_t)cs_pageset_count(&fc->s);
	fig->unarmed_pages = (int64_t)cs_pageset_count(&fc->unarmed_s);
	fig->partial = fig->unarmed_pages > 0;
	if (!z)
		return;
	fig->child_copied = count_if(o->split, &o->wc);
	fig->parent_unshared = count_if(o->split && !o->no_wp, &o->wp);
	fig->unshared = count_if(o->known, &o->unshared);
	fig->child_new = (int64_t)cs_pageset_count(&o->child_new);
	fig->minor_faults = (int64_t)z->minflt;
	fig->released = released(fc, z);
	if (o->known && fig->shared_at_fork > 0)
		fig->share_retained = 1.0 - (double)fig->unshared / (double)fig->shared_at_fork;
}

/* Hand the working sets to the figures (for the allocation sites); o keeps none. */
static void keep_sets(cs_figures_t *fig, zsets_t *o)
{
	fig->split = o->split;
	fig->no_wp = o->no_wp;
	fig->known = o->known;
	fig->wc = o->wc;
	fig->wp = o->wp;
	fig->uns = o->unshared;
	o->wc = o->wp = o->unshared = (cs_pageset_t){ 0 };
}

/* a ∪= b, where both are known. */
static int add_known(cs_pageset_t *a, bool ka, const cs_pageset_t *b, bool kb)
{
	return ka && kb ? cs_pageset_union(a, a, b) : 0;
}

/* Fold one UNMAP snapshot's sets into the working ones. */
static int add_unmap(const fctx_t *fc, const cs_snap_t *u, zsets_t *work)
{
	zsets_t o = { 0 };
	int err = compute_z(fc, u, &o);

	if (!err)
		err = add_known(&work->wc, work->split, &o.wc, o.split);
	if (!err)
		err = add_known(&work->wp, work->split && !work->no_wp, &o.wp, o.split && !o.no_wp);
	if (!err)
		err = add_known(&work->unshared, work->known, &o.unshared, o.known);
	zsets_free(&o);
	return err;
}

/*
 * The copies (and parent writes) that UNMAP snapshots before w recorded in
 * ranges about to be unmapped, added to w's sets; a page the child copied is
 * not also the parent's. Returns the number of UNMAP snapshots in *n.
 */
static int add_unmapped(const fctx_t *fc, const cs_snap_t *w, zsets_t *work, int64_t *n)
{
	const cs_proc_t *p = fc->p;
	int err = 0;

	*n = 0;
	for (size_t i = 0; i < p->nsnaps && !err; i++) {
		const cs_snap_t *u = &p->snaps[i];

		if (u->reason != CS_SNAP_UNMAP || u->from_samples || u->t_ns < fc->f->t_ns ||
		    u->t_ns > w->t_ns)
			continue;
		err = add_unmap(fc, u, work);
		(*n)++;
	}
	if (!err && *n && work->split)
		err = cs_pageset_diff(&work->wp, &work->wp, &work->wc);
	return err;
}

static void peak(cs_figures_t *fig, const zsets_t *o)
{
	int64_t v = count_if(o->known, &o->unshared);

	if (v > fig->peak_unshared)
		fig->peak_unshared = v;
}

/* Every page of a process. */
static const cs_prange_t all_pages = { 0, UINT64_MAX };

/* The pages a side's changed words are counted within: its set, or S when not split. */
static const cs_pageset_t *side_base(const fctx_t *fc, bool split, const cs_pageset_t *wc,
				     const cs_pageset_t *wp, int side)
{
	if (!split)
		return &fc->s;
	return side == CS_DIFF_PARENT ? wp : wc;
}

/* The at-end figures: those of Z, later than W. */
static int end_counts(cs_figures_t *fig, const fctx_t *fc, const cs_snap_t *z, const zsets_t *o)
{
	cs_endfig_t *e = &fig->at_end;
	int64_t s = (int64_t)cs_pageset_count(&fc->s);

	fig->has_end = true;
	e->child_copied = count_if(o->split, &o->wc);
	e->parent_unshared = count_if(o->split && !o->no_wp, &o->wp);
	e->unshared = count_if(o->known, &o->unshared);
	e->child_new = (int64_t)cs_pageset_count(&o->child_new);
	if (o->known && s > 0)
		e->share_retained = 1.0 - (double)e->unshared / (double)s;
	return cs_amp_compute(&e->amp, z, CS_DIFF_CHILD,
			      side_base(fc, o->split, &o->wc, &o->wp, CS_DIFF_CHILD), all_pages,
			      fc->page_size, true);
}

/* One candidate z: a timeline point, the peak, and the working or at-end figures. */
static int candidate(cs_figures_t *fig, const fctx_t *fc, const cs_snap_t *z, const cs_snap_t *w,
		     const cs_snap_t *end, zsets_t *work)
{
	zsets_t o = { 0 };
	int err = compute_z(fc, z, &o);

	if (!err)
		err = add_point(fig, fc, z, &o);
	if (!err)
		peak(fig, &o);
	if (!err && z == w) {
		*work = o;
		o = (zsets_t){ 0 };
		err = add_unmapped(fc, w, work, &fig->unmap_snaps);
		if (!err)
			peak(fig, work);
	} else if (!err && z == end) {
		err = end_counts(fig, fc, z, &o);
	}
	zsets_free(&o);
	return err;
}

/* The changed words of W (format 1.4), per side for the process and each mapping. */
static int amp_figures(cs_figures_t *fig, const fctx_t *fc, const cs_snap_t *w)
{
	const cs_pageset_t *base;
	int err = 0;

	for (int side = 0; side < CS_NSIDES && !err; side++) {
		base = side_base(fc, fig->split, &fig->wc, &fig->wp, side);
		err = cs_amp_compute(&fig->amp[side], w, side, base, all_pages, fc->page_size,
				     true);
		for (size_t i = 0; i < fig->nmaps && !err; i++) {
			const cs_mapfig_t *mf = &fig->maps[i];

			err = cs_amp_compute(&fig->maps[i].amp[side], w, side, base,
					     byte_pages(fc, mf->start, mf->end), fc->page_size,
					     false);
		}
	}
	return err;
}

/* Walk the candidates in time order: W gives the figures, Z (if later) the at-end ones. */
static int child_figures(cs_figures_t *fig, fctx_t *fc)
{
	const cs_proc_t *p = fc->p;
	const cs_snap_t *w = cs_work_snap(p), *end = cs_final_snap(p);
	uint64_t end_ns = end_snap_ns(p);
	zsets_t work = { 0 };
	int err = 0;

	for (size_t i = 0; i < p->nsnaps && !err; i++)
		if (is_candidate(&p->snaps[i], fc->f, end_ns))
			err = candidate(fig, fc, &p->snaps[i], w, end, &work);
	if (!err) {
		fig->from = w ? w->reason : 0;
		work_counts(fig, fc, w, &work);
		err = mapping_figs(fig, fc, w, &work);
	}
	if (!err && w) {
		keep_sets(fig, &work);
		err = amp_figures(fig, fc, w);
	}
	zsets_free(&work);
	return err;
}

int cs_figures_compute(cs_proc_t *p, cs_diag_t *d)
{
	fctx_t fc = { .p = p, .f = cs_fork_snap(p), .backend = p->backend };
	const cs_snap_t *z = cs_work_snap(p);
	int err = 0;

	cs_figures_init(&p->fig);
	if (z)
		p->fig.minor_faults = (int64_t)z->minflt;
	if (note_blind(p)) {
		cs_diag_set(d, "out of memory");
		return -ENOMEM;
	}
	if (p->role != CS_ROLE_CHILD || !fc.f || !p->page_size || cs_snap_blind(fc.f))
		return 0;
	if (!p->has_backend)
		fc.backend = fc.f->backend;
	fc.page_size = p->page_size;
	fc.shift = cs_page_shift(p->page_size);
	err = fork_sets(&fc);
	if (!err)
		err = child_figures(&p->fig, &fc);
	if (!err)
		err = note_no_excl(p);
	fctx_free(&fc);
	if (err)
		cs_diag_set(d, "out of memory computing the figures of process %u", p->pid);
	return err;
}

void cs_endtot_init(cs_endtot_t *t)
{
	memset(t, 0, sizeof(*t));
	t->share_retained = NAN;
	cs_ampsum_init(&t->amp);
}

static void end_add(int64_t *sum, int64_t v)
{
	*sum = *sum == CS_UNKNOWN || v == CS_UNKNOWN ? CS_UNKNOWN : *sum + v;
}

static double bytes_of(int64_t pages, double ps)
{
	return pages > 0 ? (double)pages * ps : 0;
}

void cs_endtot_add(cs_endtot_t *t, const cs_proc_t *p)
{
	const cs_figures_t *f = &p->fig;
	cs_endfig_t e = { .child_copied = f->child_copied,
			  .parent_unshared = f->parent_unshared,
			  .unshared = f->unshared,
			  .child_new = f->child_new,
			  .share_retained = NAN,
			  .amp = f->amp[CS_DIFF_CHILD] };
	double ps = p->page_size;

	if (f->shared_at_fork < 0)
		return;
	if (f->has_end)
		e = f->at_end;
	t->measured++;
	t->later += f->has_end;
	end_add(&t->child_copied, e.child_copied);
	end_add(&t->parent_unshared, e.parent_unshared);
	end_add(&t->unshared, e.unshared);
	end_add(&t->child_new, e.child_new);
	t->shared_bytes += bytes_of(f->shared_at_fork, ps);
	t->copied_bytes += bytes_of(e.child_copied, ps);
	t->punshared_bytes += bytes_of(e.parent_unshared, ps);
	t->unshared_bytes += bytes_of(e.unshared, ps);
	t->new_bytes += bytes_of(e.child_new, ps);
	cs_ampsum_add(&t->amp, &e.amp, p->page_size);
}

void cs_endtot_finish(cs_endtot_t *t)
{
	if (!t->measured)
		t->child_copied = t->parent_unshared = t->unshared = t->child_new = CS_UNKNOWN;
	t->share_retained = NAN;
	if (t->unshared >= 0 && t->shared_bytes > 0)
		t->share_retained = 1.0 - t->unshared_bytes / t->shared_bytes;
	cs_ampsum_finish(&t->amp);
}
