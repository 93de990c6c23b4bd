/* SPDX-License-Identifier: MIT */
/* The page → owner join: each page of a set shared out among allocations and named buckets. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "attrib.h"
#include "sort.h"
#include "figures.h"
#include "vec.h"

/* One owner's part of the current page. */
typedef struct share {
	size_t owner;
	double v;
	bool freed;
} share_t;

/* The part of a set inside one mmap region and one mapping: its pages and the blocks' shares. */
typedef struct seg {
	size_t region;
	size_t map;
	double pages; /* the set's pages there, × the region's weight/size */
	double mal;   /* the malloc blocks' shares of them */
	double rest;  /* pages - mal, at least 0: the region's own part */
} seg_t;

typedef struct join {
	const cs_proc_t *p;
	const cs_liveset_t *live;
	int mode;
	uint64_t ps;
	unsigned shift;
	uint64_t *malmax;             /* malmax[i]: the largest end of mal[0..i] */
	uint64_t *mmend;              /* mmend[i]: the end of mm[i] (regions do not overlap) */
	uint64_t *mapstart;           /* mapstart[i]: maps[i]->start */
	size_t at_mal, at_mm, at_map; /* cursors: the passes look addresses up in order */
	size_t *malown, *mmown;       /* the owner of each block and region */
	const cs_stack_t **stacks;    /* distinct stacks, sorted by address */
	size_t nstacks;
	const cs_mapping_t **maps; /* the fork snapshot's mappings, sorted by start */
	size_t nmaps;
	cs_owner_t *own; /* stacks, then one per mapping, then "outside" */
	size_t nown;
	double *raw;   /* per mapping (and outside): shares of the set's pages */
	double *pages; /* per mapping: the set's pages there */
	double *scale; /* per mapping: what the shares are multiplied by */
	bool apply;    /* second pass: give the shares to their owners */
	share_t *sh;
	size_t nsh, capsh;
	seg_t *seg; /* first pass: the set's spans inside mmap regions */
	size_t nseg, capseg;
} join_t;

static const char *const heap_names[] = {
	[CS_TRACK_NONE] = "heap (allocation tracking off)",
	[CS_TRACK_EXACT] = "allocator free space and metadata",
	[CS_TRACK_SAMPLED] = "heap, not sampled",
};

static const char *const anon_names[] = {
	[CS_TRACK_NONE] = "anonymous memory (allocation tracking off)",
	[CS_TRACK_EXACT] = "allocator free space and metadata",
	[CS_TRACK_SAMPLED] = "heap, not sampled",
};

static const char *static_data_name(const cs_mapping_t *map, cs_arena_t *arena)
{
	const char *slash = strrchr(map->name, '/'), *base = slash ? slash + 1 : map->name;
	size_t n = strlen(base) + sizeof("static data of ");
	char *s;

	if (!*base)
		return "static data of an unnamed file";
	s = cs_arena_alloc(arena, n);
	if (s)
		snprintf(s, n, "static data of %s", base);
	return s;
}

const char *cs_bucket_name(const cs_mapping_t *map, int mode, bool traced, cs_arena_t *arena)
{
	if (!map)
		return "memory outside the fork-time mappings";
	if (mode < CS_TRACK_NONE || mode > CS_TRACK_SAMPLED)
		mode = CS_TRACK_NONE;
	switch (map->kind) {
	case CS_MAP_HEAP:
		return heap_names[mode];
	case CS_MAP_ANON:
		if (mode != CS_TRACK_NONE && !traced)
			return "anonymous memory (not from a traced mmap)";
		return anon_names[mode];
	case CS_MAP_STACK:
		return "stack";
	case CS_MAP_FILE:
		return static_data_name(map, arena);
	case CS_MAP_SHARED:
		return "shared memory";
	}
	return "other writable memory";
}

static uint64_t end_of(const cs_live_t *e)
{
	return e->ptr + e->size;
}

static int cmp_ptr(const void *x, const void *y)
{
	uintptr_t a = (uintptr_t) * (const void *const *)x,
		  b = (uintptr_t) * (const void *const *)y;

	return (a > b) - (a < b);
}

static int cmp_map(const void *x, const void *y)
{
	const cs_mapping_t *a = *(const cs_mapping_t *const *)x,
			   *b = *(const cs_mapping_t *const *)y;

	return (a->start > b->start) - (a->start < b->start);
}

/* The distinct stacks of the live set, sorted by address. */
static int find_stacks(join_t *j)
{
	const cs_liveset_t *l = j->live;
	size_t n = 0;

	j->stacks = malloc((l->nmal + l->nmm + 1) * sizeof(*j->stacks));
	if (!j->stacks)
		return -ENOMEM;
	for (size_t i = 0; i < l->nmal; i++)
		j->stacks[n++] = l->mal[i].stack;
	for (size_t i = 0; i < l->nmm; i++)
		j->stacks[n++] = l->mm[i].stack;
	qsort(j->stacks, n, sizeof(*j->stacks), cmp_ptr);
	for (size_t i = 0; i < n; i++)
		if (!j->nstacks || j->stacks[j->nstacks - 1] != j->stacks[i])
			j->stacks[j->nstacks++] = j->stacks[i];
	return 0;
}

static size_t stack_owner(const join_t *j, const cs_stack_t *s)
{
	const cs_stack_t **hit = bsearch(&s, j->stacks, j->nstacks, sizeof(*j->stacks), cmp_ptr);

	return (size_t)(hit - j->stacks);
}

/* Each allocation's owner, its weight and sample counted there; malmax. */
static int owners_of_allocs(join_t *j)
{
	const cs_liveset_t *l = j->live;
	uint64_t max = 0;

	j->malmax = malloc((l->nmal + 1) * sizeof(*j->malmax));
	j->malown = malloc((l->nmal + 1) * sizeof(*j->malown));
	j->mmown = malloc((l->nmm + 1) * sizeof(*j->mmown));
	j->mmend = malloc((l->nmm + 1) * sizeof(*j->mmend));
	if (!j->malmax || !j->malown || !j->mmown || !j->mmend)
		return -ENOMEM;
	for (size_t i = 0; i < l->nmal; i++) {
		max = end_of(&l->mal[i]) > max ? end_of(&l->mal[i]) : max;
		j->malmax[i] = max;
		j->malown[i] = stack_owner(j, l->mal[i].stack);
		j->own[j->malown[i]].bytes += l->mal[i].weight;
		j->own[j->malown[i]].samples++;
	}
	for (size_t i = 0; i < l->nmm; i++) {
		j->mmend[i] = end_of(&l->mm[i]);
		j->mmown[i] = stack_owner(j, l->mm[i].stack);
		j->own[j->mmown[i]].bytes += l->mm[i].weight;
		j->own[j->mmown[i]].samples++;
	}
	return 0;
}

static int sort_maps(join_t *j)
{
	const cs_snap_t *f = cs_fork_snap(j->p);

	j->maps = malloc(((f ? f->nmaps : 0) + 1) * sizeof(*j->maps));
	if (!j->maps)
		return -ENOMEM;
	for (size_t i = 0; f && i < f->nmaps; i++)
		if (!(f->maps[i].flags & CS_MAPF_SHIM))
			j->maps[j->nmaps++] = &f->maps[i];
	qsort(j->maps, j->nmaps, sizeof(*j->maps), cmp_map);
	j->mapstart = malloc((j->nmaps + 1) * sizeof(*j->mapstart));
	if (!j->mapstart)
		return -ENOMEM;
	for (size_t i = 0; i < j->nmaps; i++)
		j->mapstart[i] = j->maps[i]->start;
	return 0;
}

static int join_init(join_t *j)
{
	int err = find_stacks(j);

	if (!err)
		err = sort_maps(j);
	if (err)
		return err;
	j->nown = j->nstacks + j->nmaps + 1;
	j->own = calloc(j->nown, sizeof(*j->own));
	j->raw = calloc(j->nmaps + 1, sizeof(*j->raw));
	j->pages = calloc(j->nmaps + 1, sizeof(*j->pages));
	j->scale = calloc(j->nmaps + 1, sizeof(*j->scale));
	if (!j->own || !j->raw || !j->pages || !j->scale)
		return -ENOMEM;
	for (size_t i = 0; i < j->nstacks; i++)
		j->own[i].stack = j->stacks[i];
	return owners_of_allocs(j);
}

static void join_free(join_t *j)
{
	free(j->malmax);
	free(j->mmend);
	free(j->mapstart);
	free(j->malown);
	free(j->mmown);
	free(j->stacks);
	free(j->maps);
	free(j->own);
	free(j->raw);
	free(j->pages);
	free(j->scale);
	free(j->sh);
	free(j->seg);
}

/* Index of the first malloc block that ends after addr (by the running maximum of ends). */
static size_t first_mal(join_t *j, uint64_t addr)
{
	return cs_upper_bound_from(j->malmax, j->live->nmal, &j->at_mal, addr);
}

/* Index of the first mmap region that ends after addr (regions do not overlap). */
static size_t first_mm(join_t *j, uint64_t addr)
{
	return cs_upper_bound_from(j->mmend, j->live->nmm, &j->at_mm, addr);
}

static int add_share(join_t *j, size_t owner, double v, bool freed)
{
	if (CS_VEC_GROW(j->sh, j->nsh, j->capsh))
		return -ENOMEM;
	j->sh[j->nsh++] = (share_t){ owner, v, freed };
	return 0;
}

static double ratio(const cs_live_t *e)
{
	return (double)e->weight / (double)e->size;
}

/* The malloc blocks overlapping [lo, hi): overlapping bytes × weight/size ÷ page size. */
static int malloc_shares(join_t *j, uint64_t lo, uint64_t hi, double *sum)
{
	const cs_liveset_t *l = j->live;
	uint64_t a, b;
	int err = 0;

	for (size_t i = first_mal(j, lo); !err && i < l->nmal && l->mal[i].ptr < hi; i++) {
		const cs_live_t *e = &l->mal[i];

		if (!e->size || end_of(e) <= lo)
			continue;
		a = e->ptr > lo ? e->ptr : lo;
		b = end_of(e) < hi ? end_of(e) : hi;
		err = add_share(j, j->malown[i], (double)(b - a) * ratio(e) / (double)j->ps,
				e->freed);
		*sum += j->sh[j->nsh - 1].v;
	}
	return err;
}

/*
 * First pass: pages in an mmap region (an allocator's arena, a runtime's heap)
 * add to that region's span in this mapping, with the malloc blocks' shares
 * of them: the region keeps only what the blocks do not explain.
 */
static int region_part(join_t *j, uint64_t lo, uint64_t hi, size_t m, double sum, double k)
{
	size_t i = first_mm(j, lo);
	seg_t *s = j->nseg ? &j->seg[j->nseg - 1] : NULL;

	if (i >= j->live->nmm || j->live->mm[i].ptr >= hi)
		return 0;
	if (!s || s->region != i || s->map != m) { /* spans come in address order */
		if (CS_VEC_GROW(j->seg, j->nseg, j->capseg))
			return -ENOMEM;
		s = &j->seg[j->nseg++];
		*s = (seg_t){ .region = i, .map = m };
	}
	s->pages += k * ratio(&j->live->mm[i]);
	s->mal += sum * k;
	return 0;
}

/* Index of the first mapping starting after addr. */
static size_t map_after(join_t *j, uint64_t addr)
{
	return cs_upper_bound_from(j->mapstart, j->nmaps, &j->at_map, addr);
}

/* The fork-time mapping holding addr (index in maps), or nmaps for none. */
static size_t map_of(join_t *j, uint64_t addr)
{
	size_t i = map_after(j, addr);

	return i && addr < j->maps[i - 1]->end ? i - 1 : j->nmaps;
}

static uint64_t min64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

/* Where the malloc blocks stop looking like they do at [lo, hi) (lo itself: not alike). */
static uint64_t mal_limit(join_t *j, uint64_t lo, uint64_t hi)
{
	const cs_liveset_t *l = j->live;
	size_t i = first_mal(j, lo);

	if (i >= l->nmal)
		return UINT64_MAX;
	if (l->mal[i].ptr > lo)
		return l->mal[i].ptr;
	if (end_of(&l->mal[i]) < hi)
		return lo; /* the block ends inside the page */
	return i + 1 < l->nmal ? min64(end_of(&l->mal[i]), l->mal[i + 1].ptr) : end_of(&l->mal[i]);
}

/*
 * How many pages from lo share out like the page at lo: none of them holds the
 * start or end of an allocation or a mapping. At least 1.
 */
static uint64_t alike_pages(join_t *j, uint64_t lo, uint64_t hi)
{
	size_t k = first_mm(j, lo), m = map_after(j, lo);
	uint64_t b = mal_limit(j, lo, hi);

	if (k < j->live->nmm)
		b = min64(b,
			  j->live->mm[k].ptr > lo ? j->live->mm[k].ptr : end_of(&j->live->mm[k]));
	if (m < j->nmaps)
		b = min64(b, j->maps[m]->start);
	if (m && lo < j->maps[m - 1]->end)
		b = min64(b, j->maps[m - 1]->end);
	return b > lo && (b - lo) >> j->shift ? (b - lo) >> j->shift : 1;
}

/*
 * The page pg and the alike pages after it (at most left in all; *used says
 * how many): the first pass sums their shares per mapping, the second gives
 * them to their owners, scaled as the mapping's sums say.
 */
static int pages(join_t *j, uint64_t pg, uint64_t left, int col, uint64_t *used)
{
	uint64_t lo = pg << j->shift, hi = lo + j->ps;
	double sum = 0, k, sc;
	size_t m;
	int err;

	j->nsh = 0;
	err = malloc_shares(j, lo, hi, &sum);
	if (err)
		return err;
	*used = min64(alike_pages(j, lo, hi), left);
	k = (double)*used;
	m = map_of(j, lo);
	if (!j->apply) {
		j->raw[m] += sum * k;
		j->pages[m] += k;
		return region_part(j, lo, hi, m, sum, k);
	}
	sc = j->scale[m] * k;
	for (size_t i = 0; i < j->nsh; i++) {
		j->own[j->sh[i].owner].v[col] += j->sh[i].v * sc;
		if (col == CS_COL_CC && j->sh[i].freed)
			j->own[j->sh[i].owner].v[CS_COL_FREED] += j->sh[i].v * sc;
	}
	return 0;
}

static int pass(join_t *j, const cs_pageset_t *s, int col)
{
	uint64_t used = 0;
	int err = 0;

	for (size_t r = 0; r < s->n && !err; r++)
		for (uint64_t pg = s->r[r].lo; pg < s->r[r].hi && !err; pg += used)
			err = pages(j, pg, s->r[r].hi - pg, col, &used);
	return err;
}

/* After the first pass: each region span's own part counts among its mapping's shares. */
static void region_rests(join_t *j)
{
	for (size_t i = 0; i < j->nseg; i++) {
		seg_t *g = &j->seg[i];

		g->rest = g->pages > g->mal ? g->pages - g->mal : 0;
		j->raw[g->map] += g->rest;
	}
}

/*
 * Two passes over the set. Per page, the malloc blocks on it come first (an
 * arena mmap holding them gets what they do not explain, per span: a sample
 * stands for weight/size times its bytes, even past its own page). Per
 * mapping, the shares are kept as they are unless they add up to more than
 * the mapping's pages, when they are scaled down to fit; the pages left go to
 * the mapping's bucket. Cost: one step per span of alike pages, per pass.
 */
static int share_set(join_t *j, const cs_pageset_t *s, int col)
{
	int err;

	memset(j->raw, 0, (j->nmaps + 1) * sizeof(*j->raw));
	memset(j->pages, 0, (j->nmaps + 1) * sizeof(*j->pages));
	j->nseg = 0;
	j->apply = false;
	err = pass(j, s, col);
	region_rests(j);
	for (size_t m = 0; !err && m <= j->nmaps; m++) {
		j->scale[m] = j->raw[m] > j->pages[m] ? j->pages[m] / j->raw[m] : 1;
		if (j->raw[m] < j->pages[m])
			j->own[j->nstacks + m].v[col] += j->pages[m] - j->raw[m];
	}
	for (size_t i = 0; !err && i < j->nseg; i++)
		j->own[j->mmown[j->seg[i].region]].v[col] +=
			j->seg[i].rest * j->scale[j->seg[i].map];
	j->apply = true;
	return err ? err : pass(j, s, col);
}

/* Whether an allocation of the live set lies in [lo, hi). */
static bool traced_in(join_t *j, uint64_t lo, uint64_t hi)
{
	size_t i = first_mal(j, lo), k = first_mm(j, lo);

	return (i < j->live->nmal && j->live->mal[i].ptr < hi) ||
		(k < j->live->nmm && j->live->mm[k].ptr < hi);
}

static bool has_pages(const cs_owner_t *o)
{
	return o->v[CS_COL_CC] > 0 || o->v[CS_COL_PU] > 0 || o->v[CS_COL_UN] > 0 ||
		o->v[CS_COL_CHB] > 0;
}

/* Move the stacks and the buckets that got pages (named) to a new array. */
static int collect(join_t *j, cs_arena_t *arena, cs_owner_t **owners, size_t *nowners)
{
	cs_owner_t *out = malloc(j->nown * sizeof(*out));
	size_t n = 0;

	if (!out)
		return -ENOMEM;
	for (size_t i = 0; i < j->nown; i++) {
		const cs_mapping_t *map =
			i >= j->nstacks && i < j->nown - 1 ? j->maps[i - j->nstacks] : NULL;

		if (i >= j->nstacks && !has_pages(&j->own[i]))
			continue;
		out[n] = j->own[i];
		if (i >= j->nstacks &&
		    !(out[n].bucket = cs_bucket_name(
			      map, j->mode, map && traced_in(j, map->start, map->end), arena))) {
			free(out);
			return -ENOMEM;
		}
		n++;
	}
	*owners = out;
	*nowners = n;
	return 0;
}

/* ---- changed words (format 1.4) --------------------------------------------------------- */

enum { W_NONE, W_MALLOC, W_REGION };

/* The owner of the word at addr: a malloc block (*off its offset there), an mmap region. */
static int word_owner(join_t *j, uint64_t addr, size_t *owner, double *r, uint64_t *off)
{
	const cs_liveset_t *l = j->live;
	size_t k;

	for (size_t i = first_mal(j, addr); i < l->nmal && l->mal[i].ptr <= addr; i++) {
		if (addr < end_of(&l->mal[i])) {
			*owner = j->malown[i];
			*r = ratio(&l->mal[i]);
			*off = addr - l->mal[i].ptr;
			return W_MALLOC;
		}
	}
	k = first_mm(j, addr);
	if (k >= l->nmm || l->mm[k].ptr > addr)
		return W_NONE;
	*owner = j->mmown[k];
	*r = ratio(&l->mm[k]);
	return W_REGION;
}

/* One changed word: counted per mapping (first pass) or given to its owner (second). */
static void word(join_t *j, uint64_t addr)
{
	size_t m = map_of(j, addr), owner = 0;
	uint64_t off = 0;
	double r = 0, v;
	int kind = word_owner(j, addr, &owner, &r, &off);

	if (!j->apply) {
		j->pages[m] += 8;
		j->raw[m] += kind != W_NONE ? 8 * r : 0;
		return;
	}
	if (kind == W_NONE)
		return;
	v = 8 * r * j->scale[m];
	j->own[owner].v[CS_COL_CHB] += v;
	if (kind == W_MALLOC)
		j->own[owner].field[cs_field_bin(off)] += v / 8;
}

static void word_pass(join_t *j, const cs_sdiff_t *sd, const cs_pageset_t *wc)
{
	size_t at = 0; /* entries are sorted by page (cs_load_diff_finish) */

	for (size_t i = 0; i < sd->nwords; i++) {
		const uint64_t *e = cs_sdiff_entry(sd, i);

		if (!cs_pageset_contains_from(wc, &at, e[0]))
			continue;
		for (size_t k = 0; k < sd->bitmap_words; k++)
			for (uint64_t b = e[1 + k]; b; b &= b - 1)
				word(j,
				     (e[0] << j->shift) +
					     8 * (64 * k + (unsigned)__builtin_ctzll(b)));
	}
}

/* The changed bytes, as share_set does for pages: a mapping's rest to its bucket. */
static void share_words(join_t *j, const cs_sdiff_t *sd, const cs_pageset_t *wc)
{
	memset(j->raw, 0, (j->nmaps + 1) * sizeof(*j->raw));
	memset(j->pages, 0, (j->nmaps + 1) * sizeof(*j->pages));
	j->apply = false;
	word_pass(j, sd, wc);
	for (size_t m = 0; m <= j->nmaps; m++) {
		j->scale[m] = j->raw[m] > j->pages[m] ? j->pages[m] / j->raw[m] : 1;
		if (j->raw[m] < j->pages[m])
			j->own[j->nstacks + m].v[CS_COL_CHB] += j->pages[m] - j->raw[m];
	}
	j->apply = true;
	word_pass(j, sd, wc);
}

/* The compared copies (NOOP ∪ WORDS pages, within wc) and the no-op ones. */
static int compared_sets(const cs_snap_t *w, const cs_pageset_t *wc, cs_pageset_t *noop,
			 cs_pageset_t *cmp)
{
	const cs_sdiff_t *sd = &w->diff[CS_DIFF_CHILD];
	int err = 0;

	for (size_t i = 0; i < sd->nwords && !err; i++)
		err = cs_pageset_add(cmp, cs_sdiff_entry(sd, i)[0], cs_sdiff_entry(sd, i)[0] + 1);
	cs_pageset_normalize(cmp);
	if (!err)
		err = cs_pageset_intersect(noop, &w->sets[CS_SET_NOOP], wc);
	if (!err)
		err = cs_pageset_intersect(cmp, cmp, wc);
	if (!err)
		err = cs_pageset_union(cmp, cmp, noop);
	return err;
}

/* Scale the changed-word columns as the process's figures are (stride over 1). */
static void scale_words(join_t *j, double k)
{
	for (size_t i = 0; i < j->nown && k != 1; i++) {
		j->own[i].v[CS_COL_NOOP] *= k;
		j->own[i].v[CS_COL_CMP] *= k;
		j->own[i].v[CS_COL_CHB] *= k;
		for (size_t b = 0; b < CS_FIELD_BINS; b++)
			j->own[i].field[b] *= k;
	}
}

bool cs_attribute_diff_known(const cs_proc_t *p)
{
	const cs_amp_t *a = &p->fig.amp[CS_DIFF_CHILD];

	return p->fig.split && a->known && !a->capped && cs_work_snap(p);
}

static int diff_shares(join_t *j, const cs_proc_t *p)
{
	const cs_snap_t *w = cs_work_snap(p);
	const cs_amp_t *a = &p->fig.amp[CS_DIFF_CHILD];
	cs_pageset_t noop = { 0 }, cmp = { 0 };
	int err = compared_sets(w, &p->fig.wc, &noop, &cmp);

	if (!err)
		err = share_set(j, &noop, CS_COL_NOOP);
	if (!err)
		err = share_set(j, &cmp, CS_COL_CMP);
	if (!err)
		share_words(j, &w->diff[CS_DIFF_CHILD], &p->fig.wc);
	if (!err && a->compared > 0)
		scale_words(j, a->comparable / (double)a->compared);
	cs_pageset_free(&noop);
	cs_pageset_free(&cmp);
	return err;
}

int cs_attribute(const cs_proc_t *p, const cs_liveset_t *live, int mode, cs_arena_t *arena,
		 cs_owner_t **owners, size_t *nowners)
{
	join_t j = { .p = p,
		     .live = live,
		     .mode = mode,
		     .ps = p->page_size,
		     .shift = cs_page_shift(p->page_size) };
	int err = join_init(&j);

	if (!err && p->fig.split)
		err = share_set(&j, &p->fig.wc, CS_COL_CC);
	if (!err && p->fig.split)
		err = share_set(&j, &p->fig.wp, CS_COL_PU);
	if (!err && p->fig.known)
		err = share_set(&j, &p->fig.uns, CS_COL_UN);
	if (!err && cs_attribute_diff_known(p))
		err = diff_shares(&j, p);
	if (!err)
		err = collect(&j, arena, owners, nowners);
	join_free(&j);
	return err;
}
