/* SPDX-License-Identifier: MIT */
/* Page sets: run lists kept sorted, and merge-style union, intersection and difference. */
#include <errno.h>
#include <stdlib.h>
#include "pageset.h"
#include "sort.h"
#include "vec.h"

void cs_pageset_free(cs_pageset_t *s)
{
	free(s->r);
	s->r = NULL;
	s->n = s->cap = 0;
	s->dirty = false;
}

int cs_pageset_add(cs_pageset_t *s, uint64_t lo, uint64_t hi)
{
	cs_prange_t *last = s->n ? &s->r[s->n - 1] : NULL;

	if (hi <= lo)
		return 0;
	if (last && !s->dirty && lo >= last->lo && lo <= last->hi) {
		if (hi > last->hi)
			last->hi = hi;
		return 0;
	}
	if (last && lo < last->lo)
		s->dirty = true; /* before growing: last points into the old array */
	if (CS_VEC_GROW(s->r, s->n, s->cap))
		return -ENOMEM;
	s->r[s->n++] = (cs_prange_t){ lo, hi };
	return 0;
}

static int cmp_range(const void *a, const void *b)
{
	const cs_prange_t *x = a, *y = b;

	if (x->lo != y->lo)
		return x->lo < y->lo ? -1 : 1;
	return (x->hi > y->hi) - (x->hi < y->hi);
}

void cs_pageset_normalize(cs_pageset_t *s)
{
	size_t i, n = 0;

	cs_sort(s->r, s->n, sizeof(*s->r), cmp_range); /* sets from the trace are sorted */
	for (i = 0; i < s->n; i++) {
		if (n && s->r[i].lo <= s->r[n - 1].hi) {
			if (s->r[i].hi > s->r[n - 1].hi)
				s->r[n - 1].hi = s->r[i].hi;
			continue;
		}
		s->r[n++] = s->r[i];
	}
	s->n = n;
	s->dirty = false;
}

/* Move the result into out, freeing what out held. */
static void replace(cs_pageset_t *out, cs_pageset_t *res)
{
	cs_pageset_free(out);
	*out = *res;
}

int cs_pageset_union(cs_pageset_t *out, const cs_pageset_t *a, const cs_pageset_t *b)
{
	cs_pageset_t res = { 0 };
	size_t i = 0, j = 0;
	const cs_prange_t *next;

	if (a->dirty || b->dirty)
		return -EINVAL;
	while (i < a->n || j < b->n) {
		if (j >= b->n || (i < a->n && a->r[i].lo <= b->r[j].lo))
			next = &a->r[i++];
		else
			next = &b->r[j++];
		if (cs_pageset_add(&res, next->lo, next->hi))
			goto fail;
	}
	replace(out, &res);
	return 0;
fail:
	cs_pageset_free(&res);
	return -ENOMEM;
}

int cs_pageset_intersect(cs_pageset_t *out, const cs_pageset_t *a, const cs_pageset_t *b)
{
	cs_pageset_t res = { 0 };
	size_t i = 0, j = 0;
	uint64_t lo, hi;

	if (a->dirty || b->dirty)
		return -EINVAL;
	while (i < a->n && j < b->n) {
		lo = a->r[i].lo > b->r[j].lo ? a->r[i].lo : b->r[j].lo;
		hi = a->r[i].hi < b->r[j].hi ? a->r[i].hi : b->r[j].hi;
		if (lo < hi && cs_pageset_add(&res, lo, hi))
			goto fail;
		if (a->r[i].hi < b->r[j].hi)
			i++;
		else
			j++;
	}
	replace(out, &res);
	return 0;
fail:
	cs_pageset_free(&res);
	return -ENOMEM;
}

int cs_pageset_diff(cs_pageset_t *out, const cs_pageset_t *a, const cs_pageset_t *b)
{
	cs_pageset_t res = { 0 };
	size_t i, j = 0;
	uint64_t lo;

	if (a->dirty || b->dirty)
		return -EINVAL;
	for (i = 0; i < a->n; i++) {
		lo = a->r[i].lo;
		while (j < b->n && b->r[j].hi <= lo)
			j++;
		for (size_t k = j; k < b->n && b->r[k].lo < a->r[i].hi; k++) {
			if (b->r[k].lo > lo && cs_pageset_add(&res, lo, b->r[k].lo))
				goto fail;
			if (b->r[k].hi > lo)
				lo = b->r[k].hi;
		}
		if (lo < a->r[i].hi && cs_pageset_add(&res, lo, a->r[i].hi))
			goto fail;
	}
	replace(out, &res);
	return 0;
fail:
	cs_pageset_free(&res);
	return -ENOMEM;
}

int cs_pageset_copy(cs_pageset_t *out, const cs_pageset_t *a)
{
	cs_pageset_t res = { 0 };

	if (a->n && cs_vec_reserve((void **)&res.r, &res.cap, 0, a->n, sizeof(*res.r)))
		return -ENOMEM;
	for (size_t i = 0; i < a->n; i++)
		res.r[i] = a->r[i];
	res.n = a->n;
	res.dirty = a->dirty;
	replace(out, &res);
	return 0;
}

uint64_t cs_pageset_count(const cs_pageset_t *s)
{
	uint64_t n = 0;

	for (size_t i = 0; i < s->n; i++)
		n += s->r[i].hi - s->r[i].lo;
	return n;
}

/* Index of the first run ending after p. */
static size_t first_after(const cs_pageset_t *s, uint64_t p)
{
	size_t lo = 0, hi = s->n, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (s->r[mid].hi <= p)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

uint64_t cs_pageset_count_within(const cs_pageset_t *s, uint64_t lo, uint64_t hi)
{
	uint64_t n = 0, a, b;

	for (size_t i = first_after(s, lo); i < s->n && s->r[i].lo < hi; i++) {
		a = s->r[i].lo > lo ? s->r[i].lo : lo;
		b = s->r[i].hi < hi ? s->r[i].hi : hi;
		if (a < b)
			n += b - a;
	}
	return n;
}

bool cs_pageset_contains(const cs_pageset_t *s, uint64_t p)
{
	size_t i = first_after(s, p);

	return i < s->n && s->r[i].lo <= p;
}

bool cs_pageset_contains_from(const cs_pageset_t *s, size_t *at, uint64_t p)
{
	size_t i = *at;

	if (i > s->n || (i > 0 && s->r[i - 1].hi > p))
		i = first_after(s, p); /* p went back: search afresh */
	else
		while (i < s->n && s->r[i].hi <= p)
			i++;
	*at = i;
	return i < s->n && s->r[i].lo <= p;
}
