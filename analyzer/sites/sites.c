/* SPDX-License-Identifier: MIT */
/* Allocation sites of every child: the tree walk, owners turned into symbolized sites, groups. */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "attrib.h"
#include "figures.h"
#include "replay.h"
#include "sites.h"
#include "story.h"
#include "sitetab.h"
#include "symbolize.h"
#include "vec.h"
#include "wjoin.h"

/* Deeper process trees than this are not replayed (recursion bound). */
#define MAX_DEPTH 200

/* A stack named once per symbolizer: siblings share their parent's stacks and modules. */
#define NAMED_NOTES 4

typedef struct named {
	const cs_symbolizer_t *sym;
	const cs_stack_t *stack; /* NULL: an empty slot */
	const cs_frame_t *frames;
	size_t nframes;
	const char *key;
	const char *notes[NAMED_NOTES]; /* symbol problems met naming it */
} named_t;

typedef struct sctx {
	cs_model_t *m;
	named_t *named; /* open addressing on (sym, stack) */
	size_t capnamed, nnamed;
	long *first;            /* first child of each process, -1 if none */
	long *next;             /* next sibling */
	cs_symbolizer_t **syms; /* one per distinct module list */
	size_t nsyms, capsyms;
	char *key; /* the key being built */
	size_t nkey, capkey;
	cs_frame_t *fr; /* the frames being built */
	size_t nfr, capfr;
	/* the child being attributed, for its writers' owner sites */
	size_t cur;
	const cs_liveset_t *live;
	int mode;
} sctx_t;

/* ---- tree ------------------------------------------------------------------------------- */

static int tree_build(sctx_t *c)
{
	size_t n = c->m->nprocs;

	c->first = malloc((n + 1) * sizeof(long));
	c->next = malloc((n + 1) * sizeof(long));
	if (!c->first || !c->next)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		c->first[i] = -1;
	for (size_t i = n; i-- > 0;) {
		long parent = c->m->procs[i].parent;

		if (parent >= 0) {
			c->next[i] = c->first[parent];
			c->first[parent] = (long)i;
		}
	}
	return 0;
}

static bool eligible(const cs_proc_t *p)
{
	return p->role == CS_ROLE_CHILD && p->fmt_minor >= 1 && p->page_size &&
		cs_fig_chargeable(&p->fig) && cs_fork_snap(p);
}

/* The first process up the fork chain from i (i included) for which has() holds, or -1. */
static long up_chain(const cs_model_t *m, size_t i, bool (*has)(const cs_proc_t *))
{
	for (size_t hops = 0; hops <= m->nprocs; hops++) {
		if (has(&m->procs[i]))
			return (long)i;
		if (!cs_proc_inherits(m, i))
			return -1;
		i = (size_t)m->procs[i].parent;
	}
	return -1;
}

static bool has_sampling(const cs_proc_t *p)
{
	return p->alloc.has_sampling;
}

static bool has_modules(const cs_proc_t *p)
{
	return p->alloc.nmods > 0;
}

static int track_mode(const cs_model_t *m, size_t i)
{
	long k = up_chain(m, i, has_sampling);

	if (k < 0)
		return CS_TRACK_NONE;
	return m->procs[k].alloc.mean_bytes == 1 ? CS_TRACK_EXACT : CS_TRACK_SAMPLED;
}

/* ---- notes ------------------------------------------------------------------------------ */

static int add_note(cs_proc_t *p, uint32_t code, const char *text)
{
	for (size_t i = 0; i < p->nnotes; i++)
		if (p->notes[i].code == code && !strcmp(p->notes[i].text, text))
			return 0;
	if (CS_VEC_GROW(p->notes, p->nnotes, p->capnotes))
		return -ENOMEM;
	p->notes[p->nnotes].text = strdup(text);
	if (!p->notes[p->nnotes].text)
		return -ENOMEM;
	p->notes[p->nnotes].code = code;
	p->notes[p->nnotes].err = 0;
	p->nnotes++;
	return 0;
}

/* ---- symbolized sites ------------------------------------------------------------------- */

static int symbolizer_for(sctx_t *c, size_t i, cs_symbolizer_t **out)
{
	long k = up_chain(c->m, i, has_modules);
	const cs_proc_t *p = &c->m->procs[k >= 0 ? (size_t)k : i];
	const cs_module_t *mods = k >= 0 ? p->alloc.mods : NULL;
	size_t nmods = k >= 0 ? p->alloc.nmods : 0;
	int err;

	for (size_t s = 0; s < c->nsyms; s++) {
		if (cs_sym_matches(c->syms[s], mods, nmods, p->exe)) {
			*out = c->syms[s];
			return 0;
		}
	}
	if (CS_VEC_GROW(c->syms, c->nsyms, c->capsyms))
		return -ENOMEM;
	err = cs_sym_open(&c->syms[c->nsyms], mods, nmods, p->exe, &c->m->arena);
	if (c->syms[c->nsyms])
		*out = c->syms[c->nsyms++];
	return err;
}

static int key_put(sctx_t *c, const char *s, size_t n)
{
	if (cs_vec_reserve((void **)&c->key, &c->capkey, c->nkey, n + 1, 1))
		return -ENOMEM;
	memcpy(c->key + c->nkey, s, n);
	c->nkey += n;
	c->key[c->nkey] = 0;
	return 0;
}

/* "module!function file:line", "module!function", or "module+0xoff" (module "?" if none). */
static int key_frame(sctx_t *c, const cs_frame_t *f)
{
	char buf[64];
	const char *mod = f->module ? f->module : "?";
	int err = key_put(c, mod, strlen(mod));

	if (!err && !f->function) {
		snprintf(buf, sizeof(buf), "+0x%" PRIx64, f->offset);
		return key_put(c, buf, strlen(buf));
	}
	if (!err)
		err = key_put(c, "!", 1);
	if (!err)
		err = key_put(c, f->function, strlen(f->function));
	if (!err && f->file) {
		snprintf(buf, sizeof(buf), ":%" PRId64, f->line);
		err = key_put(c, " ", 1);
		if (!err)
			err = key_put(c, f->file, strlen(f->file));
		if (!err)
			err = key_put(c, buf, strlen(buf));
	}
	return err;
}

static void keep_note(named_t *e, const char *note)
{
	for (size_t i = 0; i < NAMED_NOTES; i++) {
		if (e->notes[i] == note)
			return;
		if (!e->notes[i]) {
			e->notes[i] = note;
			return;
		}
	}
}

/* Append the frames of return address ra to c->fr; keep a symbol problem in e. */
static int add_frames(sctx_t *c, named_t *e, cs_symbolizer_t *sym, uint64_t ra)
{
	const cs_frame_t *f;
	const char *note;
	size_t n;
	int err = cs_sym_addr(sym, ra, &f, &n, &note);

	if (!err && note)
		keep_note(e, note);
	if (!err && cs_vec_reserve((void **)&c->fr, &c->capfr, c->nfr, n, sizeof(*c->fr)))
		err = -ENOMEM;
	for (size_t i = 0; !err && i < n; i++)
		c->fr[c->nfr++] = f[i];
	return err;
}

/* The key of frames f[0..n): one line per frame. */
static int build_key(sctx_t *c, const cs_frame_t *f, size_t n)
{
	int err = 0;

	c->nkey = 0;
	for (size_t i = 0; !err && i < n; i++) {
		err = i ? key_put(c, "\n", 1) : 0;
		if (!err)
			err = key_frame(c, &f[i]);
	}
	return err;
}

static size_t named_slot(const sctx_t *c, const cs_symbolizer_t *sym, const cs_stack_t *st)
{
	uint64_t h = ((uint64_t)(uintptr_t)st ^ ((uint64_t)(uintptr_t)sym << 17)) *
		0x9e3779b97f4a7c15ull;

	return (size_t)(h ^ (h >> 29)) & (c->capnamed - 1);
}

static named_t *named_find(sctx_t *c, const cs_symbolizer_t *sym, const cs_stack_t *st)
{
	size_t i = named_slot(c, sym, st);

	while (c->named[i].stack && (c->named[i].stack != st || c->named[i].sym != sym))
		i = (i + 1) & (c->capnamed - 1);
	return &c->named[i];
}

static int named_grow(sctx_t *c)
{
	named_t *old = c->named;
	size_t oldcap = c->capnamed;

	c->capnamed = oldcap ? oldcap * 2 : 256;
	c->named = calloc(c->capnamed, sizeof(*c->named));
	if (!c->named) {
		c->named = old;
		c->capnamed = oldcap;
		return -ENOMEM;
	}
	for (size_t i = 0; i < oldcap; i++)
		if (old[i].stack)
			*named_find(c, old[i].sym, old[i].stack) = old[i];
	free(old);
	return 0;
}

/*
 * Symbolize stack st into a new entry e: its frames and key in the arena. The
 * allocator's own frames that lead the stack are left out (cs_sym_alloc_frames):
 * the site starts at the first frame outside the allocator, so stacks that
 * differ only inside it print, and merge, alike.
 */
static int name_stack(sctx_t *c, cs_symbolizer_t *sym, const cs_stack_t *st, named_t *e)
{
	cs_frame_t *fr = NULL;
	size_t hide = 0;
	int err = 0;

	c->nkey = c->nfr = 0;
	*e = (named_t){ .sym = sym, .stack = st };
	for (uint32_t i = 0; !err && i < st->depth; i++)
		err = add_frames(c, e, sym, st->ra[i]);
	if (!err) {
		hide = cs_sym_alloc_frames(c->fr, c->nfr);
		err = build_key(c, c->fr + hide, c->nfr - hide);
	}
	fr = err ? NULL : cs_arena_alloc(&c->m->arena, (c->nfr - hide) * sizeof(*fr));
	e->key = fr ? cs_arena_strndup(&c->m->arena, c->key ? c->key : "", c->nkey) : NULL;
	if (!e->key) {
		e->stack = NULL;
		return -ENOMEM;
	}
	memcpy(fr, c->fr + hide, (c->nfr - hide) * sizeof(*fr));
	e->frames = fr;
	e->nframes = c->nfr - hide;
	c->nnamed++;
	return 0;
}

/* The named stack of an owner, from the cache or made now; its symbol notes go to p. */
static int named_of(sctx_t *c, cs_proc_t *p, const cs_stack_t *st, const named_t **out)
{
	cs_symbolizer_t *sym = NULL;
	named_t *e;
	int err = symbolizer_for(c, (size_t)(p - c->m->procs), &sym);

	if (!err && (c->nnamed + 1) * 2 > c->capnamed)
		err = named_grow(c);
	if (err)
		return err;
	e = named_find(c, sym, st);
	if (!e->stack)
		err = name_stack(c, sym, st, e);
	for (size_t i = 0; !err && i < NAMED_NOTES && e->notes[i]; i++)
		err = add_note(p, CS_NOTE_A_SYMBOLS, e->notes[i]);
	*out = e;
	return err;
}

/* A site's frames and key, or a bucket's name as key ("\1" first: no frame text starts so). */
static int name_site(sctx_t *c, cs_proc_t *p, const cs_owner_t *o, cs_site_t *s)
{
	const named_t *e;
	char *key;
	int err;

	s->bucket = o->bucket;
	if (!o->bucket && (!o->stack || !o->stack->depth))
		s->bucket = CS_BUCKET_NO_STACK;
	if (s->bucket) {
		key = cs_arena_alloc(&c->m->arena, strlen(s->bucket) + 2);
		if (!key)
			return -ENOMEM;
		key[0] = 1;
		strcpy(key + 1, s->bucket);
		s->key = key;
		return 0;
	}
	err = named_of(c, p, o->stack, &e);
	if (err)
		return err;
	s->frames = e->frames;
	s->nframes = e->nframes;
	s->key = e->key;
	return 0;
}

/* The changed-word figures of an owner (format 1.4), NaN when the child's are unknown. */
static void diff_of(const cs_proc_t *p, const cs_owner_t *o, cs_site_t *s)
{
	bool known = cs_attribute_diff_known(p);

	s->changed_bytes = known ? o->v[CS_COL_CHB] : NAN;
	s->noop_copied = known ? o->v[CS_COL_NOOP] : NAN;
	s->compared = known ? o->v[CS_COL_CMP] : NAN;
	for (size_t b = 0; b < CS_FIELD_BINS; b++)
		s->fields[b] = known ? o->field[b] : NAN;
}

static int site_of(sctx_t *c, cs_proc_t *p, const cs_owner_t *o, cs_site_t *s)
{
	bool split = p->fig.split, known = p->fig.known;
	int err = name_site(c, p, o, s);

	s->child_copied = split ? o->v[CS_COL_CC] : NAN;
	s->parent_unshared = split && !p->fig.no_wp ? o->v[CS_COL_PU] : NAN;
	s->freed_in_child = split ? o->v[CS_COL_FREED] : NAN;
	s->unshared = known ? o->v[CS_COL_UN] : NAN;
	s->estimated_bytes = o->bytes;
	s->samples = o->samples;
	diff_of(p, o, s);
	return err;
}

/* ---- one child -------------------------------------------------------------------------- */

static int sites_from_owners(sctx_t *c, cs_proc_t *p, const cs_owner_t *own, size_t n)
{
	cs_site_t *v = calloc(n + 1, sizeof(*v));
	int err = v ? 0 : -ENOMEM;

	for (size_t i = 0; i < n && !err; i++)
		err = site_of(c, p, &own[i], &v[i]);
	if (!err)
		err = cs_sites_merge(v, n, true, &p->sites, &p->nsites);
	p->has_sites = !err;
	free(v);
	return err;
}

/* ---- writers (format 1.5) ---------------------------------------------------------------- */

/* A sample's chain: the faulting ip's frames (looked up at ip itself), then its callers'. */
static int writer_chain(void *ctx, const cs_proc_t *cp, const cs_wsamp_t *s,
			const cs_frame_t **frames, size_t *nframes, const char **key)
{
	sctx_t *c = ctx;
	cs_proc_t *p = &c->m->procs[c->cur];
	cs_symbolizer_t *sym = NULL;
	named_t e = { 0 };
	cs_frame_t *fr = NULL;
	int err = symbolizer_for(c, c->cur, &sym);

	c->nfr = 0;
	if (!err)
		err = add_frames(c, &e, sym, s->ip + 1);
	for (uint32_t i = 0; !err && i < s->depth; i++)
		err = add_frames(c, &e, sym, cp->ws.ra[s->first + i]);
	if (!err)
		err = build_key(c, c->fr, c->nfr);
	fr = err ? NULL : cs_arena_alloc(&c->m->arena, c->nfr * sizeof(*fr) + 1);
	*key = fr ? cs_arena_strndup(&c->m->arena, c->key ? c->key : "", c->nkey) : NULL;
	if (!*key)
		return -ENOMEM;
	memcpy(fr, c->fr, c->nfr * sizeof(*fr));
	*frames = fr;
	*nframes = c->nfr;
	for (size_t i = 0; !err && i < NAMED_NOTES && e.notes[i]; i++)
		err = add_note(p, CS_NOTE_A_SYMBOLS, e.notes[i]);
	return err;
}

/* The allocation sites owning pages of the current child: its attribution, on those pages. */
static int writer_owners(void *ctx, const cs_pageset_t *pages, cs_site_t **sites, size_t *n)
{
	sctx_t *c = ctx;
	cs_proc_t fake = c->m->procs[c->cur];
	cs_owner_t *own = NULL;
	cs_site_t *v = NULL;
	size_t nown = 0;
	int err;

	fake.fig.wc = *pages;
	fake.fig.wp = (cs_pageset_t){ 0 };
	fake.fig.known = false;
	fake.fig.amp[CS_DIFF_CHILD].known = false;
	err = cs_attribute(&fake, c->live, c->mode, &c->m->arena, &own, &nown);
	v = err ? NULL : calloc(nown + 1, sizeof(*v));
	if (!err && !v)
		err = -ENOMEM;
	size_t k = 0;

	for (size_t i = 0; i < nown && !err; i++) {
		if (!(own[i].v[CS_COL_CC] > 0))
			continue; /* owners of none of these pages */
		err = name_site(c, &c->m->procs[c->cur], &own[i], &v[k]);
		v[k].child_copied = own[i].v[CS_COL_CC];
		v[k].parent_unshared = v[k].unshared = v[k].freed_in_child = NAN;
		v[k].changed_bytes = v[k].noop_copied = v[k].compared = NAN;
		k++;
	}
	if (!err)
		err = cs_sites_merge(v, k, true, sites, n);
	free(v);
	free(own);
	return err;
}

static int writers_of(sctx_t *c, size_t i, const cs_liveset_t *live, int mode)
{
	cs_writer_namer_t nm = { .ctx = c, .chain = writer_chain, .owners = writer_owners };

	c->cur = i;
	c->live = live;
	c->mode = mode;
	return cs_writers_join(&c->m->procs[i], &nm, &c->m->arena);
}

static int attribute(sctx_t *c, size_t i, cs_liveset_t *live)
{
	cs_proc_t *p = &c->m->procs[i];
	cs_owner_t *own = NULL;
	size_t nown = 0;
	int mode = track_mode(c->m, i);
	int err;

	cs_liveset_mark_frees(live, &p->alloc);
	err = cs_attribute(p, live, mode, &c->m->arena, &own, &nown);
	if (!err)
		err = sites_from_owners(c, p, own, nown);
	free(own);
	if (!err && p->ws.present)
		err = writers_of(c, i, live, mode);
	return err;
}

/* ---- the walk --------------------------------------------------------------------------- */

typedef struct kid {
	size_t i;
	uint64_t cut;
} kid_t;

static int cmp_kid(const void *x, const void *y)
{
	const kid_t *a = x, *b = y;

	if (a->cut != b->cut)
		return a->cut < b->cut ? -1 : 1;
	return (a->i > b->i) - (a->i < b->i);
}

/* The children of i, in the order their fork points cut i's events. */
static kid_t *kids_of(const sctx_t *c, size_t i, size_t *n)
{
	kid_t *v;

	*n = 0;
	for (long k = c->first[i]; k >= 0; k = c->next[k])
		(*n)++;
	v = malloc((*n + 1) * sizeof(*v));
	if (!v)
		return NULL;
	*n = 0;
	for (long k = c->first[i]; k >= 0; k = c->next[k])
		v[(*n)++] = (kid_t){ (size_t)k, c->m->procs[k].alloc.fp_alloc_seq };
	qsort(v, *n, sizeof(*v), cmp_kid);
	return v;
}

static int visit(sctx_t *c, size_t i, cs_liveset_t *live, unsigned depth);

/* What child k inherited, replayed up to its fork point; empty if it did not inherit. */
static int inherited(sctx_t *c, cs_replay_t *r, size_t k, cs_liveset_t *out)
{
	cs_proc_t *p = &c->m->procs[k];

	if (!cs_proc_inherits(c->m, k))
		return 0;
	if (p->alloc.has_fork_point) {
		int err = cs_replay_until(r, p->alloc.fp_alloc_seq);

		return err ? err : cs_replay_snapshot(r, out);
	}
	if (eligible(p) && up_chain(c->m, (size_t)p->parent, has_sampling) >= 0)
		return add_note(p, CS_NOTE_A_ALLOCS,
				"no fork point recorded: the allocations it "
				"inherited are unknown, its pages go to buckets by mapping");
	return 0;
}

static int visit_kids(sctx_t *c, size_t i, const cs_liveset_t *live, unsigned depth)
{
	cs_replay_t *r = NULL;
	size_t n;
	kid_t *kids = kids_of(c, i, &n);
	int err = kids ? cs_replay_start(&r, c->m, i, live) : -ENOMEM;

	for (size_t k = 0; k < n && !err; k++) {
		cs_liveset_t s = { 0 };

		err = inherited(c, r, kids[k].i, &s);
		if (!err)
			err = visit(c, kids[k].i, &s, depth + 1);
		cs_liveset_free(&s);
	}
	cs_replay_free(r);
	free(kids);
	return err;
}

static int visit(sctx_t *c, size_t i, cs_liveset_t *live, unsigned depth)
{
	int err = 0;

	if (depth > MAX_DEPTH)
		return 0; /* left for the sweep after the walk */
	if (eligible(&c->m->procs[i]))
		err = attribute(c, i, live);
	if (!err && c->first[i] >= 0)
		err = visit_kids(c, i, live, depth);
	return err;
}

/* Children the walk did not reach (too deep): attributed without what they inherited. */
static int sweep(sctx_t *c)
{
	int err = 0;

	for (size_t i = 0; i < c->m->nprocs && !err; i++) {
		cs_liveset_t none = { 0 };
		cs_proc_t *p = &c->m->procs[i];

		if (!eligible(p) || p->has_sites)
			continue;
		err = add_note(p, CS_NOTE_A_ALLOCS,
			       "process tree too deep to replay: the "
			       "allocations it inherited are unknown");
		if (!err)
			err = attribute(c, i, &none);
	}
	return err;
}

/* ---- sibling groups --------------------------------------------------------------------- */

/* The writers of a group's children merged by key, and their sample counts. */
static int group_writers(sctx_t *c, const cs_sib_t *sib, cs_group_t *g)
{
	const cs_proc_t **ps = malloc((sib->n + 1) * sizeof(*ps));
	size_t n = 0;
	int err;

	if (!ps)
		return -ENOMEM;
	for (size_t j = 0; j < sib->n; j++) {
		const cs_proc_t *p = &c->m->procs[sib->members[j]];

		if (!p->has_writers || !p->has_sites || !cs_proc_inherits(c->m, sib->members[j]))
			continue;
		ps[n++] = p;
		g->writer_samples += p->ws.n;
		g->writer_samples_lost += p->ws.lost;
	}
	err = cs_writers_merge(ps, n, &g->writers, &g->nwriters);
	free(ps);
	return err;
}

/* The sites of one sibling group (story.h): its members' sites merged by key. */
static int group_of(sctx_t *c, size_t sibno, cs_group_t *g)
{
	const cs_sib_t *sib = &c->m->story->sibs[sibno];
	cs_site_t *v = NULL;
	size_t n = 0, cap = 0;
	int err = 0;

	*g = (cs_group_t){ .sib = (long)sibno,
			   .ppid = (uint32_t)sib->ppid,
			   .parent = sib->parent,
			   .split = true };
	g->children = malloc((sib->n + 1) * sizeof(*g->children));
	if (!g->children)
		return -ENOMEM;
	for (size_t j = 0; j < sib->n && !err; j++) {
		const cs_proc_t *p = &c->m->procs[sib->members[j]];

		if (!p->has_sites || !cs_proc_inherits(c->m, sib->members[j]))
			continue;
		g->children[g->nchildren++] = p->pid;
		g->split = g->split && p->fig.split;
		err = cs_sites_append(&v, &n, &cap, p);
	}
	if (!err)
		err = cs_sites_merge(v, n, false, &g->sites, &g->nsites);
	free(v);
	return err ? err : group_writers(c, sib, g);
}

/* One group of sites per sibling group with a member that has sites, in the story's order. */
static int groups_build(sctx_t *c)
{
	cs_model_t *m = c->m;
	size_t nsibs = m->story ? m->story->nsibs : 0;
	int err = 0;

	m->groups = calloc(nsibs + 1, sizeof(*m->groups));
	if (!m->groups)
		return -ENOMEM;
	for (size_t i = 0; i < nsibs && !err; i++) {
		cs_group_t *g = &m->groups[m->ngroups];

		err = group_of(c, i, g);
		m->ngroups++;
		if (!err && !g->nchildren) {
			free(g->children);
			free(g->sites);
			cs_writers_free(g->writers, g->nwriters);
			m->ngroups--;
		}
	}
	return err;
}

/* ---- entry ------------------------------------------------------------------------------ */

static void ctx_free(sctx_t *c)
{
	for (size_t i = 0; i < c->nsyms; i++)
		cs_sym_close(c->syms[i]);
	free(c->syms);
	free(c->first);
	free(c->next);
	free(c->key);
	free(c->fr);
	free(c->named);
}

int cs_sites_compute(cs_model_t *m, cs_diag_t *d)
{
	sctx_t c = { .m = m };
	int err = 0;

	if (!m->v11)
		return 0;
	err = tree_build(&c);
	for (size_t i = 0; i < m->nprocs && !err; i++) {
		cs_liveset_t none = { 0 };

		if (m->procs[i].parent < 0)
			err = visit(&c, i, &none, 0);
	}
	if (!err)
		err = sweep(&c);
	if (!err)
		err = groups_build(&c);
	ctx_free(&c);
	if (err)
		cs_diag_set(d, "out of memory attributing pages to allocation sites");
	return err;
}
