/* SPDX-License-Identifier: MIT */
/* Writers: child-copied pages joined with page-fault samples, grouped by call chain, owners named. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "sitetab.h"
#include "vec.h"
#include "wjoin.h"

/* A page of wc and the sample that wrote it first. */
typedef struct claim {
	uint64_t page;
	size_t s;
} claim_t;

typedef struct jctx {
	const cs_proc_t *p;
	claim_t *c;
	size_t n, cap;
	cs_wstack_t *w; /* raw writers (one per distinct chain), then merged */
	cs_pageset_t *sets;
	size_t nw, capw;
} jctx_t;

static int cmp_claim_page(const void *x, const void *y)
{
	const claim_t *a = x, *b = y;

	if (a->page != b->page)
		return a->page < b->page ? -1 : 1;
	return (a->s > b->s) - (a->s < b->s);
}

static const cs_wsampinfo_t *ws_of(const jctx_t *j)
{
	return &j->p->ws;
}

/* Same chain: same ip and return addresses. */
static int cmp_chain(const cs_wsampinfo_t *ws, size_t x, size_t y)
{
	const cs_wsamp_t *a = &ws->v[x], *b = &ws->v[y];

	if (a->ip != b->ip)
		return a->ip < b->ip ? -1 : 1;
	if (a->depth != b->depth)
		return a->depth < b->depth ? -1 : 1;
	return memcmp(ws->ra + a->first, ws->ra + b->first, (size_t)a->depth * 8);
}

static const cs_wsampinfo_t *sort_ws; /* qsort has no context argument */

static int cmp_claim_chain(const void *x, const void *y)
{
	const claim_t *a = x, *b = y;
	int c = cmp_chain(sort_ws, a->s, b->s);

	if (c)
		return c;
	return (a->page > b->page) - (a->page < b->page);
}

/* Every (page of wc, sample) pair, then only the first sample of each page. */
static int claims_find(jctx_t *j)
{
	const cs_wsampinfo_t *ws = ws_of(j);
	unsigned shift = cs_page_shift(j->p->page_size);
	size_t k = 0;

	for (size_t i = 0; i < ws->n; i++) {
		uint64_t pg = ws->v[i].addr >> shift;

		if (!cs_pageset_contains(&j->p->fig.wc, pg))
			continue;
		if (CS_VEC_GROW(j->c, j->n, j->cap))
			return -ENOMEM;
		j->c[j->n++] = (claim_t){ pg, i };
	}
	if (j->n > 1)
		qsort(j->c, j->n, sizeof(*j->c), cmp_claim_page);
	for (size_t i = 0; i < j->n; i++)
		if (!k || j->c[k - 1].page != j->c[i].page)
			j->c[k++] = j->c[i];
	j->n = k;
	return 0;
}

static int writer_push(jctx_t *j, const cs_wstack_t *w)
{
	if (CS_VEC_GROW(j->w, j->nw, j->capw))
		return -ENOMEM;
	j->sets = realloc(j->sets, j->capw * sizeof(*j->sets));
	if (!j->sets)
		return -ENOMEM;
	j->w[j->nw] = *w;
	j->sets[j->nw++] = (cs_pageset_t){ 0 };
	return 0;
}

/* One raw writer per distinct chain, its pages ascending. */
static int raw_writers(jctx_t *j, const cs_writer_namer_t *nm)
{
	int err = 0;

	sort_ws = ws_of(j);
	if (j->n > 1)
		qsort(j->c, j->n, sizeof(*j->c), cmp_claim_chain);
	for (size_t i = 0; i < j->n && !err; i++) {
		cs_wstack_t w = { 0 };

		if (!i || cmp_chain(ws_of(j), j->c[i - 1].s, j->c[i].s)) {
			err = nm->chain(nm->ctx, j->p, &ws_of(j)->v[j->c[i].s], &w.frames,
					&w.nframes, &w.key);
			if (!err)
				err = writer_push(j, &w);
		}
		if (!err)
			err = cs_pageset_add(&j->sets[j->nw - 1], j->c[i].page, j->c[i].page + 1);
	}
	return err;
}

/* Raw writers with the same key become one: pages united. */
static int merge_by_key(jctx_t *j)
{
	size_t k = 0;
	int err = 0;

	for (size_t i = 0; i < j->nw && !err; i++) {
		size_t m = 0;

		while (m < k && strcmp(j->w[m].key, j->w[i].key))
			m++;
		if (m == k) {
			j->w[k] = j->w[i];
			j->sets[k++] = j->sets[i];
			continue;
		}
		cs_pageset_t u = { 0 };

		err = cs_pageset_union(&u, &j->sets[m], &j->sets[i]);
		cs_pageset_free(&j->sets[m]);
		cs_pageset_free(&j->sets[i]);
		j->sets[m] = u;
	}
	j->nw = k;
	return err;
}

/* The pages of wc no sample claimed: the bucket. */
static int bucket(jctx_t *j, cs_arena_t *arena)
{
	cs_pageset_t seen = { 0 }, rest = { 0 };
	cs_wstack_t w = { .bucket = CS_BUCKET_NO_WRITER };
	char *key = cs_arena_alloc(arena, strlen(CS_BUCKET_NO_WRITER) + 2);
	int err = key ? 0 : -ENOMEM;

	for (size_t i = 0; i < j->n && !err; i++)
		err = cs_pageset_add(&seen, j->c[i].page, j->c[i].page + 1);
	cs_pageset_normalize(&seen);
	if (!err)
		err = cs_pageset_diff(&rest, &j->p->fig.wc, &seen);
	cs_pageset_free(&seen);
	if (!err && cs_pageset_count(&rest)) {
		key[0] = 1;
		strcpy(key + 1, CS_BUCKET_NO_WRITER);
		w.key = key;
		err = writer_push(j, &w);
		if (!err)
			j->sets[j->nw - 1] = rest, rest = (cs_pageset_t){ 0 };
	}
	cs_pageset_free(&rest);
	return err;
}

static int owners_all(jctx_t *j, const cs_writer_namer_t *nm)
{
	int err = 0;

	for (size_t i = 0; i < j->nw && !err; i++) {
		cs_pageset_normalize(&j->sets[i]);
		j->w[i].child_copied = (double)cs_pageset_count(&j->sets[i]);
		if (nm->owners)
			err = nm->owners(nm->ctx, &j->sets[i], &j->w[i].owners, &j->w[i].nowners);
	}
	return err;
}

static void jctx_free(jctx_t *j, bool keep_writers)
{
	for (size_t i = 0; i < j->nw; i++)
		cs_pageset_free(&j->sets[i]);
	free(j->sets);
	free(j->c);
	if (!keep_writers)
		cs_writers_free(j->w, j->nw);
}

int cs_writers_join(cs_proc_t *p, const cs_writer_namer_t *nm, cs_arena_t *arena)
{
	jctx_t j = { .p = p };
	int err;

	if (!p->fig.split || !p->ws.present || !p->page_size)
		return 0;
	err = claims_find(&j);
	if (!err)
		err = raw_writers(&j, nm);
	if (!err)
		err = merge_by_key(&j);
	if (!err)
		err = bucket(&j, arena);
	if (!err)
		err = owners_all(&j, nm);
	if (!err) {
		cs_writers_sort(j.w, j.nw);
		p->writers = j.w;
		p->nwriters = j.nw;
		p->has_writers = true;
	}
	jctx_free(&j, !err);
	return err;
}
