/* SPDX-License-Identifier: MIT */
/* Unit tests: the writers join on synthetic samples (first write wins, bucket, merges). */
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "arena.h"
#include "model.h"
#include "pageset.h"
#include "sitetab.h"
#include "wjoin.h"

#define PS 4096u

/* The namer: a chain's key is "f<ip>" (ra ignored unless ip is 9: then "f<ra0>"). */
static int chain(void *ctx, const cs_proc_t *p, const cs_wsamp_t *s, const cs_frame_t **frames,
		 size_t *nframes, const char **key)
{
	cs_arena_t *a = ctx;
	uint64_t id = s->ip == 9 && s->depth ? p->ws.ra[s->first] : s->ip;
	char buf[32];

	snprintf(buf, sizeof(buf), "f%llu", (unsigned long long)id);
	*key = cs_arena_strndup(a, buf, strlen(buf));
	*frames = NULL;
	*nframes = 0;
	return *key ? 0 : -1;
}

/* Owners: one site "owner" holding every page. */
static int owners(void *ctx, const cs_pageset_t *pages, cs_site_t **sites, size_t *n)
{
	(void)ctx;
	*sites = calloc(1, sizeof(**sites));
	(*sites)[0].key = "owner";
	(*sites)[0].child_copied = (double)cs_pageset_count(pages);
	*n = 1;
	return 0;
}

static void add_sample(cs_proc_t *p, uint64_t page, uint64_t ip, uint64_t ra)
{
	cs_wsampinfo_t *ws = &p->ws;

	ws->v = realloc(ws->v, (ws->n + 1) * sizeof(*ws->v));
	ws->ra = realloc(ws->ra, (ws->nra + 1) * sizeof(*ws->ra));
	ws->ra[ws->nra] = ra;
	ws->v[ws->n++] =
		(cs_wsamp_t){ .addr = page * PS + 8, .ip = ip, .depth = 1, .first = ws->nra++ };
	ws->present = true;
}

static void proc_init(cs_proc_t *p, uint64_t lo, uint64_t hi)
{
	memset(p, 0, sizeof(*p));
	p->page_size = PS;
	p->fig.split = true;
	assert_int_equal(cs_pageset_add(&p->fig.wc, lo, hi), 0);
}

static void proc_done(cs_proc_t *p)
{
	cs_pageset_free(&p->fig.wc);
	cs_wsampinfo_free(&p->ws);
	cs_writers_free(p->writers, p->nwriters);
}

static const cs_wstack_t *find(const cs_proc_t *p, const char *key)
{
	for (size_t i = 0; i < p->nwriters; i++)
		if (!strcmp(p->writers[i].key, key))
			return &p->writers[i];
	return NULL;
}

static void test_first_write_wins(void **state)
{
	cs_arena_t a = { 0 };
	cs_writer_namer_t nm = { &a, chain, owners };
	cs_proc_t p;

	(void)state;
	proc_init(&p, 100, 110); /* wc: pages 100..109 */
	add_sample(&p, 100, 1, 0);
	add_sample(&p, 100, 2, 0); /* later: page 100 stays f1's */
	add_sample(&p, 101, 2, 0);
	add_sample(&p, 50, 3, 0); /* not copied: ignored */
	add_sample(&p, 102, 2, 0);
	assert_int_equal(cs_writers_join(&p, &nm, &a), 0);
	assert_true(p.has_writers);
	assert_int_equal(p.nwriters, 3); /* f2 (2), f1 (1), the bucket (7) */
	assert_true(find(&p, "f1")->child_copied == 1);
	assert_true(find(&p, "f2")->child_copied == 2);
	assert_null(find(&p, "f3"));
	assert_string_equal(p.writers[0].bucket, CS_BUCKET_NO_WRITER);
	assert_true(p.writers[0].child_copied == 7);
	assert_int_equal(find(&p, "f2")->nowners, 1);
	assert_true(find(&p, "f2")->owners[0].child_copied == 2);
	proc_done(&p);
	cs_arena_free(&a);
}

static void test_same_key_merged(void **state)
{
	cs_arena_t a = { 0 };
	cs_writer_namer_t nm = { &a, chain, owners };
	cs_proc_t p;

	(void)state;
	proc_init(&p, 10, 14);
	add_sample(&p, 10, 9, 5); /* ip 9 names by ra: two raw chains, one key "f5" */
	add_sample(&p, 11, 9, 5);
	add_sample(&p, 12, 7, 0);
	add_sample(&p, 13, 9, 6);
	add_sample(&p, 12, 9, 5);
	assert_int_equal(cs_writers_join(&p, &nm, &a), 0);
	assert_int_equal(p.nwriters, 3);
	assert_true(find(&p, "f5")->child_copied == 2);
	assert_true(find(&p, "f7")->child_copied == 1);
	assert_true(find(&p, "f6")->child_copied == 1);
	assert_string_equal(p.writers[0].key, "f5"); /* most pages first */
	proc_done(&p);
	cs_arena_free(&a);
}

static void test_no_samples_no_writers(void **state)
{
	cs_arena_t a = { 0 };
	cs_writer_namer_t nm = { &a, chain, owners };
	cs_proc_t p;

	(void)state;
	proc_init(&p, 10, 14);
	assert_int_equal(cs_writers_join(&p, &nm, &a), 0);
	assert_false(p.has_writers);
	p.ws.present = true; /* sampled, nothing seen: everything in the bucket */
	assert_int_equal(cs_writers_join(&p, &nm, &a), 0);
	assert_int_equal(p.nwriters, 1);
	assert_true(p.writers[0].child_copied == 4);
	proc_done(&p);
	cs_arena_free(&a);
}

static void test_group_merge(void **state)
{
	cs_arena_t a = { 0 };
	cs_writer_namer_t nm = { &a, chain, owners };
	cs_proc_t p, q;
	const cs_proc_t *ps[2] = { &p, &q };
	cs_wstack_t *g = NULL;
	size_t ng = 0;

	(void)state;
	proc_init(&p, 10, 13);
	proc_init(&q, 20, 22);
	add_sample(&p, 10, 1, 0);
	add_sample(&p, 11, 1, 0);
	add_sample(&p, 12, 2, 0);
	add_sample(&q, 20, 1, 0);
	assert_int_equal(cs_writers_join(&p, &nm, &a), 0);
	assert_int_equal(cs_writers_join(&q, &nm, &a), 0);
	assert_int_equal(cs_writers_merge(ps, 2, &g, &ng), 0);
	assert_int_equal(ng, 3); /* f1 (2 + 1), f2 (1), the bucket (q's page 21) */
	assert_string_equal(g[0].key, "f1");
	assert_true(g[0].child_copied == 3);
	assert_int_equal(g[0].nowners, 1);
	assert_true(g[0].owners[0].child_copied == 3);
	cs_writers_free(g, ng);
	proc_done(&p);
	proc_done(&q);
	cs_arena_free(&a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_first_write_wins),
		cmocka_unit_test(test_same_key_merged),
		cmocka_unit_test(test_no_samples_no_writers),
		cmocka_unit_test(test_group_merge),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
