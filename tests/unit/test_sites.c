/* SPDX-License-Identifier: MIT */
/* Unit tests: copied pages attributed to allocation sites and buckets, exact and sampled. */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include "analyze.h"
#include "cs_testmodel.h"
#include "cs_testutil.h"
#include "model.h"
#include "render.h"
#include "sites.h"

#define MS 1000000ull
#define HP 0x10000ull /* first page of the heap */
#define HEAP_PAGES 64u
#define AP (HP + 0x1000) /* first page of an anonymous mapping */
#define FP (HP + 0x2000) /* first page of a file mapping's data */
#define SP (HP + 0x3000) /* first page of the stack */
#define ADDR(pg) ((uint64_t)(pg)*TU_PAGE)
#define EPS 1e-9

static char *dir;
static cs_model_t m;
static uint8_t backend; /* of the children */

static int setup(void **state)
{
	(void)state;
	dir = tu_mkdtemp();
	memset(&m, 0, sizeof(m));
	backend = CS_BACKEND_UFFD_WP;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	cs_model_free(&m);
	tu_rmtree(dir);
	free(dir);
	return 0;
}

static int proc_file(uint32_t pid, uint32_t ppid, uint8_t role)
{
	return tu_proc_file(dir, pid, ppid, role,
			    role == CS_ROLE_CHILD ? backend : CS_BACKEND_UFFD_WP);
}

static void mappings(int fd, uint32_t seq)
{
	tu_mapping(fd, seq, ADDR(HP), ADDR(HP + HEAP_PAGES), CS_MAP_HEAP, CS_MAPF_ARMED, "[heap]");
	tu_mapping(fd, seq, ADDR(AP), ADDR(AP + 16), CS_MAP_ANON, CS_MAPF_ARMED, "");
	tu_mapping(fd, seq, ADDR(FP), ADDR(FP + 4), CS_MAP_FILE, CS_MAPF_ARMED,
		   "/usr/lib/libfoo.so.1");
	tu_mapping(fd, seq, ADDR(SP), ADDR(SP + 4), CS_MAP_STACK, CS_MAPF_ARMED, "[stack]");
}

/* Snapshot seq of the child: every mapping present; written and exclusive sets. */
static void snap(int fd, uint32_t seq, uint8_t reason, const cs_run_t *wr, size_t nwr,
		 const cs_run_t *ex, size_t nex)
{
	cs_run_t all[] = { { HP, HEAP_PAGES }, { AP, 16 }, { FP, 4 }, { SP, 4 } };

	tu_snap_begin(fd, seq, reason, backend, (1 + seq) * MS, 0);
	mappings(fd, seq);
	tu_pages(fd, seq, CS_SET_PRESENT, all, 4);
	tu_pages(fd, seq, CS_SET_WRITTEN, wr, nwr);
	tu_pages(fd, seq, CS_SET_EXCL, ex, nex);
	tu_snap_end(fd, seq);
}

/* A child of 100 that wrote wr (exclusive: wr and ex), inheriting up to seq `cut`. */
static int child(uint32_t pid, uint64_t cut, const cs_run_t *wr, size_t nwr, const cs_run_t *ex,
		 size_t nex)
{
	int fd = proc_file(pid, 100, CS_ROLE_CHILD);

	tu_fork_point(fd, cut, 100);
	snap(fd, 0, CS_SNAP_FORK, NULL, 0, NULL, 0);
	snap(fd, 1, CS_SNAP_EXIT, wr, nwr, ex, nex);
	tu_end(fd, CS_END_EXIT, 0, 9 * MS);
	return fd;
}

/* Root 100 with sampling mean, stacks 1..3 (one fake frame each) and these allocations. */
static void root(uint64_t mean, const cs_alloc_ev_t *a, uint32_t n, unsigned nchildren)
{
	int fd = proc_file(100, 1, CS_ROLE_ROOT);

	tu_sampling(fd, mean, 64);
	for (uint32_t id = 1; id <= 3; id++) {
		uint64_t ra = 0x1000 * id;

		tu_stack(fd, id, &ra, 1);
	}
	tu_allocs(fd, a, n);
	for (unsigned i = 1; i <= nchildren; i++)
		tu_fork(fd, 100 + i, i, MS);
	tu_end(fd, CS_END_EXIT, 0, 10 * MS);
	close(fd);
}

static void load(void)
{
	cs_diag_t d = { "" };

	assert_int_equal(cs_model_load(&m, dir, &d), 0);
}

static const cs_proc_t *proc(uint32_t pid)
{
	return tm_proc(&m, pid, 0);
}

/* The site whose only frame is at fake address ra (+ 0x1000 * id above), or bucket name. */
static const cs_site_t *find(const cs_site_t *v, size_t n, uint64_t stack_id, const char *bucket)
{
	for (size_t i = 0; i < n; i++) {
		if (bucket && v[i].bucket && !strcmp(v[i].bucket, bucket))
			return &v[i];
		if (!bucket && !v[i].bucket && v[i].nframes == 1 &&
		    v[i].frames[0].offset == 0x1000 * stack_id - 1)
			return &v[i];
	}
	return NULL;
}

static void assert_near(double got, double want)
{
	if (fabs(got - want) > EPS)
		fail_msg("got %.12f, want %.12f", got, want);
}

static double sum_cc(const cs_proc_t *p)
{
	double s = 0;

	for (size_t i = 0; i < p->nsites; i++)
		s += p->sites[i].child_copied;
	return s;
}

/* Page-sized blocks: site 1 on heap pages 0-3, site 2 on 4-7, site 3 on 8-11. */
static void three_sites(unsigned nchildren)
{
	cs_alloc_ev_t a[12];

	for (uint32_t i = 0; i < 12; i++)
		a[i] = tu_alloc_ev(1 + i, ADDR(HP + i), TU_PAGE, TU_PAGE, 1 + i / 4,
				   CS_ALLOC_MALLOC);
	root(1, a, 12, nchildren);
}

static void test_exact_three_sites(void **state)
{
	/* site 2's pages, a free page of the heap, the file's data, the stack, plain anon */
	cs_run_t wr[] = { { HP + 4, 4 }, { HP + 13, 1 }, { AP, 1 }, { FP, 1 }, { SP, 1 } };
	cs_run_t ex[] = { { HP + 30, 1 } }; /* the parent wrote one free page */
	const cs_proc_t *p;

	(void)state;
	three_sites(1);
	close(child(101, 100, wr, 5, ex, 1));
	load();
	p = proc(101);
	assert_true(p->has_sites);
	assert_int_equal(p->fig.child_copied, 8);
	assert_int_equal(p->fig.parent_unshared, 1);
	assert_near(find(p->sites, p->nsites, 2, NULL)->child_copied, 4);
	assert_near(find(p->sites, p->nsites, 1, NULL)->child_copied, 0);
	assert_near(find(p->sites, p->nsites, 3, NULL)->child_copied, 0);
	assert_true(find(p->sites, p->nsites, 2, NULL)->estimated_bytes == 4 * TU_PAGE);
	assert_true(find(p->sites, p->nsites, 2, NULL)->samples == 4);
	assert_near(find(p->sites, p->nsites, 0, "allocator free space and metadata")->child_copied,
		    1);
	assert_near(
		find(p->sites, p->nsites, 0, "allocator free space and metadata")->parent_unshared,
		1);
	assert_near(find(p->sites, p->nsites, 0, "anonymous memory (not from a traced mmap)")
			    ->child_copied,
		    1);
	assert_near(find(p->sites, p->nsites, 0, "static data of libfoo.so.1")->child_copied, 1);
	assert_near(find(p->sites, p->nsites, 0, "stack")->child_copied, 1);
	assert_int_equal(p->nsites, 3 + 4); /* three sites, four buckets */
	assert_near(sum_cc(p), 8);
	assert_ptr_equal(p->sites[0].frames, find(p->sites, p->nsites, 2, NULL)->frames);
}

/* Small blocks: overlapping bytes × weight/size ÷ page size; the rest to the bucket. */
static void test_small_blocks_share_a_page(void **state)
{
	cs_alloc_ev_t a[] = {
		tu_alloc_ev(1, ADDR(HP) + 100, 100, 100, 1, CS_ALLOC_MALLOC),
		tu_alloc_ev(2, ADDR(HP) + 4000, 200, 200, 2,
			    CS_ALLOC_MALLOC), /* across pages 0-1 */
	};
	cs_run_t wr[] = { { HP, 2 } };
	const cs_proc_t *p;

	(void)state;
	root(1, a, 2, 1);
	close(child(101, 100, wr, 1, NULL, 0));
	load();
	p = proc(101);
	assert_near(find(p->sites, p->nsites, 1, NULL)->child_copied, 100.0 / TU_PAGE);
	assert_near(find(p->sites, p->nsites, 2, NULL)->child_copied, 200.0 / TU_PAGE);
	assert_near(find(p->sites, p->nsites, 0, "allocator free space and metadata")->child_copied,
		    2 - 300.0 / TU_PAGE);
	assert_near(sum_cc(p), 2);
}

/* Sampled allocations: page 0 holds 1 page's worth, page 1 three (2 + 1), page 2 a quarter. */
static void sampled_root(void)
{
	cs_alloc_ev_t a[] = {
		tu_alloc_ev(1, ADDR(HP), 1024, 4096, 1, CS_ALLOC_MALLOC),
		tu_alloc_ev(2, ADDR(HP + 1), 2048, 8192, 2, CS_ALLOC_MALLOC),
		tu_alloc_ev(3, ADDR(HP + 1) + 2048, 2048, 4096, 3, CS_ALLOC_MALLOC),
		tu_alloc_ev(4, ADDR(HP + 2), 512, 1024, 1, CS_ALLOC_MALLOC),
		tu_alloc_ev(5, ADDR(AP), 2 * TU_PAGE, 2 * TU_PAGE, 3, CS_ALLOC_MMAP),
	};

	root(4096, a, 5, 1);
}

/*
 * Sampled: a sample stands for weight/size times its bytes, even past its own
 * page (page 1's samples stand for 3 pages): kept whole, the estimate is
 * unbiased; the heap's other pages go to "heap, not sampled".
 */
static void test_sampled_weights(void **state)
{
	cs_run_t wr[] = { { HP, 8 }, { AP, 1 } };
	const cs_proc_t *p;
	const cs_site_t *s;

	(void)state;
	sampled_root();
	close(child(101, 100, wr, 2, NULL, 0));
	load();
	p = proc(101);
	s = find(p->sites, p->nsites, 1, NULL);
	assert_near(s->child_copied, 1.25);
	assert_true(s->estimated_bytes == 4096 + 1024 && s->samples == 2);
	assert_near(find(p->sites, p->nsites, 2, NULL)->child_copied, 2);
	assert_near(find(p->sites, p->nsites, 3, NULL)->child_copied, 1 + 1);
	assert_near(find(p->sites, p->nsites, 0, "heap, not sampled")->child_copied, 8 - 4.25);
	assert_near(sum_cc(p), 9);
	assert_true(proc(101)->alloc.has_sampling == false);
	assert_true(proc(100)->alloc.mean_bytes == 4096);
}

/* Sampled estimates past a mapping's copied pages are scaled down to them. */
static void test_sampled_scaled_to_the_mapping(void **state)
{
	cs_run_t wr[] = { { HP, 2 } };
	const cs_proc_t *p;

	(void)state;
	sampled_root();
	close(child(101, 100, wr, 1, NULL, 0));
	load();
	p = proc(101);
	assert_near(find(p->sites, p->nsites, 1, NULL)->child_copied, 0.5);
	assert_near(find(p->sites, p->nsites, 2, NULL)->child_copied, 1);
	assert_near(find(p->sites, p->nsites, 3, NULL)->child_copied, 0.5);
	assert_null(find(p->sites, p->nsites, 0, "heap, not sampled"));
	assert_near(sum_cc(p), 2);
}

/*
 * An allocator's arena: an mmap region (stack 3) over the whole anonymous
 * mapping, with malloc blocks inside (exact mode). The blocks' pages are the
 * blocks' sites'; the arena gets only what no block explains.
 */
static void test_blocks_in_an_arena_are_their_own(void **state)
{
	cs_alloc_ev_t a[6];
	cs_run_t wr[] = { { AP, 10 } };
	const cs_proc_t *p;

	(void)state;
	a[0] = tu_alloc_ev(1, ADDR(AP), 16 * TU_PAGE, 16 * TU_PAGE, 3, CS_ALLOC_MMAP);
	for (uint32_t i = 0; i < 4; i++) /* page-sized blocks on pages 2-5 */
		a[1 + i] =
			tu_alloc_ev(2 + i, ADDR(AP + 2 + i), TU_PAGE, TU_PAGE, 1, CS_ALLOC_MALLOC);
	a[5] = tu_alloc_ev(6, ADDR(AP + 8) + 512, 1024, 1024, 2, CS_ALLOC_MALLOC);
	root(1, a, 6, 1);
	close(child(101, 100, wr, 1, NULL, 0));
	load();
	p = proc(101);
	assert_near(find(p->sites, p->nsites, 1, NULL)->child_copied, 4);
	assert_near(find(p->sites, p->nsites, 2, NULL)->child_copied, 0.25);
	assert_near(find(p->sites, p->nsites, 3, NULL)->child_copied, 10 - 4.25);
	assert_true(find(p->sites, p->nsites, 3, NULL)->estimated_bytes == 16 * TU_PAGE);
	assert_null(find(p->sites, p->nsites, 0, "allocator free space and metadata"));
	assert_near(sum_cc(p), 10);
}

/*
 * Sampled: a block inside the arena stands for 2 pages; the arena keeps the
 * other 6 of the 8 written (not 7, scaled down with the block to 8 in all).
 */
static void test_sampled_block_in_an_arena(void **state)
{
	cs_alloc_ev_t a[] = {
		tu_alloc_ev(1, ADDR(AP), 16 * TU_PAGE, 16 * TU_PAGE, 3, CS_ALLOC_MMAP),
		tu_alloc_ev(2, ADDR(AP + 2), 1024, 8192, 1, CS_ALLOC_MALLOC),
	};
	cs_run_t wr[] = { { AP, 8 } };
	const cs_proc_t *p;

	(void)state;
	root(4096, a, 2, 1);
	close(child(101, 100, wr, 1, NULL, 0));
	load();
	p = proc(101);
	assert_near(find(p->sites, p->nsites, 1, NULL)->child_copied, 2);
	assert_near(find(p->sites, p->nsites, 3, NULL)->child_copied, 6);
	assert_near(sum_cc(p), 8);
}

/*
 * Stacks that start inside an allocator (here a libjemalloc module whose file
 * is gone: frames are module+offset) show from the first frame outside it, and
 * stacks that then print alike are one site. A stack all inside keeps its
 * outermost frame.
 */
static void test_allocator_frames_hidden_and_merged(void **state)
{
	cs_seg_t je = { 0x100000, 0x200000, 0 }, app = { 0x4000, 0x8000, 0 };
	uint64_t s4[] = { 0x100010, 0x100020, 0x5010 }, s5[] = { 0x100030, 0x5010 },
		 s6[] = { 0x100040, 0x100050 };
	cs_alloc_ev_t a[] = {
		tu_alloc_ev(1, ADDR(HP), TU_PAGE, TU_PAGE, 4, CS_ALLOC_MALLOC),
		tu_alloc_ev(2, ADDR(HP + 1), TU_PAGE, TU_PAGE, 5, CS_ALLOC_MALLOC),
		tu_alloc_ev(3, ADDR(HP + 2), TU_PAGE, TU_PAGE, 6, CS_ALLOC_MALLOC),
	};
	cs_run_t wr[] = { { HP, 3 } };
	const cs_proc_t *p;
	const cs_site_t *merged = NULL, *inside = NULL;
	int fd = proc_file(100, 1, CS_ROLE_ROOT);

	(void)state;
	tu_sampling(fd, 1, 64);
	tu_module(fd, 0, &app, 1, NULL, 0, "/nonexistent/app");
	tu_module(fd, 0, &je, 1, NULL, 0, "/nonexistent/libjemalloc.so.2");
	tu_stack(fd, 4, s4, 3);
	tu_stack(fd, 5, s5, 2);
	tu_stack(fd, 6, s6, 2);
	tu_allocs(fd, a, 3);
	tu_fork(fd, 101, 1, MS);
	tu_end(fd, CS_END_EXIT, 0, 10 * MS);
	close(fd);
	close(child(101, 100, wr, 1, NULL, 0));
	load();
	p = proc(101);
	for (size_t i = 0; i < p->nsites; i++) {
		if (p->sites[i].nframes == 1 && !strcmp(p->sites[i].frames[0].module, "app"))
			merged = &p->sites[i];
		if (p->sites[i].nframes == 1 &&
		    !strcmp(p->sites[i].frames[0].module, "libjemalloc.so.2"))
			inside = &p->sites[i];
	}
	assert_non_null(merged);
	assert_true(merged->frames[0].offset == 0x500f);
	assert_near(merged->child_copied, 2);
	assert_true(merged->samples == 2 && merged->estimated_bytes == 2 * TU_PAGE);
	assert_non_null(inside);
	assert_true(inside->frames[0].offset == 0x10004f); /* the outer of its two frames */
	assert_near(inside->child_copied, 1);
	assert_int_equal(p->nsites, 2);
}

/* The child freed one of two inherited blocks and wrote both pages. */
static void test_freed_in_child(void **state)
{
	cs_alloc_ev_t a[] = {
		tu_alloc_ev(1, ADDR(HP), TU_PAGE, TU_PAGE, 1, CS_ALLOC_MALLOC),
		tu_alloc_ev(2, ADDR(HP + 1), TU_PAGE, TU_PAGE, 1, CS_ALLOC_MALLOC),
	};
	cs_free_ev_t f = tu_free_ev(200, ADDR(HP), 0, CS_FREE_FREE);
	cs_run_t wr[] = { { HP, 2 } };
	cs_render_opts_t o = { .top = 5, .all = true }; /* a row under 0.1 MiB */
	const cs_site_t *s;
	char *buf = NULL;
	size_t len = 0;
	FILE *out;
	int fd;

	(void)state;
	root(1, a, 2, 1);
	fd = child(101, 100, wr, 1, NULL, 0);
	tu_frees(fd, &f, 1);
	close(fd);
	load();
	s = find(proc(101)->sites, proc(101)->nsites, 1, NULL);
	assert_near(s->child_copied, 2);
	assert_near(s->freed_in_child, 1);
	out = open_memstream(&buf, &len);
	assert_int_equal(cs_render_text(out, &m, &o), 0);
	fclose(out);
	assert_non_null(strstr(buf,
			       "(<0.1 MiB of it freed in the child: glibc free() writes list "
			       "links into freed memory)"));
	free(buf);
}

/* Two workers inherit the same blocks and copy the same site: the group sums pages, not bytes. */
static void test_sibling_group(void **state)
{
	cs_run_t wr[] = { { HP + 4, 4 } };
	const cs_group_t *g;
	const cs_site_t *s;

	(void)state;
	three_sites(2);
	close(child(101, 100, wr, 1, NULL, 0));
	close(child(102, 100, wr, 1, NULL, 0));
	load();
	assert_int_equal(m.ngroups, 1);
	g = &m.groups[0];
	assert_int_equal(g->ppid, 100);
	assert_int_equal(g->nchildren, 2);
	assert_int_equal(g->children[0], 101);
	assert_int_equal(g->children[1], 102);
	s = &g->sites[0];
	assert_near(s->child_copied, 8);
	assert_true(s->estimated_bytes == 4 * TU_PAGE && s->samples == 4);
	assert_ptr_equal(s, find(g->sites, g->nsites, 2, NULL));
}

/* A child of a root without allocation tracking (no SAMPLING): buckets by mapping. */
static void test_no_tracking_buckets_by_mapping(void **state)
{
	cs_run_t wr[] = { { HP, 3 }, { AP, 2 } };
	const cs_proc_t *p;
	int fd = proc_file(100, 1, CS_ROLE_ROOT);

	(void)state;
	tu_fork(fd, 101, 1, MS);
	close(fd);
	close(child(101, 0, wr, 2, NULL, 0));
	load();
	p = proc(101);
	assert_int_equal(p->nsites, 2);
	assert_near(find(p->sites, p->nsites, 0, "heap (allocation tracking off)")->child_copied,
		    3);
	assert_near(find(p->sites, p->nsites, 0, "anonymous memory (allocation tracking off)")
			    ->child_copied,
		    2);
}

static char *render(int (*fn)(FILE *, const cs_model_t *, const cs_render_opts_t *))
{
	return tm_render(fn, &m);
}

static void test_json_sites(void **state)
{
	cs_run_t wr[] = { { HP + 4, 4 }, { HP + 13, 1 } };
	char *doc;

	(void)state;
	three_sites(1);
	close(child(101, 100, wr, 2, NULL, 0));
	load();
	doc = render(cs_render_json);
	assert_non_null(strstr(doc,
			       "\"sampling\": {\n        \"mean_bytes\": 1,\n"
			       "        \"max_depth\": 64\n      },\n"));
	assert_non_null(strstr(doc,
			       "\"sampling\": null,\n      \"sites\": [\n        {\n"
			       "          \"frames\": [\n            {\n"
			       "              \"module\": null,\n"
			       "              \"function\": null,\n"
			       "              \"file\": null,\n"
			       "              \"line\": null,\n"
			       "              \"offset\": 8191,\n"
			       "              \"inlined\": false\n            }\n          ],\n"
			       "          \"bucket\": null,\n"
			       "          \"child_copied_pages\": 4,\n"
			       "          \"parent_unshared_pages\": 0,\n"
			       "          \"unshared_pages\": 4,\n"
			       "          \"estimated_bytes\": 16384,\n"
			       "          \"samples\": 4,\n"
			       "          \"freed_in_child_pages\": 0\n        },\n"
			       "        {\n          \"frames\": [],\n"
			       "          \"bucket\": \"allocator free space and metadata\",\n"
			       "          \"child_copied_pages\": 1,\n"));
	assert_non_null(strstr(doc,
			       "\"sibling_groups\": [\n    {\n      \"ppid\": 100,\n"
			       "      \"children\": [\n        101\n      ],\n"
			       "      \"sites\": [\n"));
	free(doc);
}

/* Folded: one line per stack, outermost first, pages rounded; zero lines left out. */
static void test_folded_lines(void **state)
{
	cs_run_t wr[] = { { HP + 4, 4 }, { HP + 13, 1 }, { SP, 2 } };
	char *doc;

	(void)state;
	three_sites(1);
	close(child(101, 100, wr, 3, NULL, 0));
	load();
	doc = render(cs_render_folded);
	assert_string_equal(doc,
			    "[allocator free space and metadata] 1\n"
			    "[stack] 2\n"
			    "[unknown] 4\n");
	free(doc);
}

/* Text: the top sites per child with both columns, and the group of two children. */
static void test_text_sites(void **state)
{
	cs_run_t wr[] = { { HP + 4, 4 } };
	char *doc;

	(void)state;
	three_sites(2);
	close(child(101, 100, wr, 1, NULL, 0));
	close(child(102, 100, wr, 1, NULL, 0));
	load();
	doc = render(cs_render_text);
	/* by default: the group's table only */
	assert_null(strstr(doc, "  pid 101 (worker 1 of 2):\n"));
	assert_non_null(strstr(doc,
			       "\ntop 5 allocation sites by copied MiB, summed over the 2 "
			       "workers of prog master (pid 100):\n       COPIED P-UNSHARED   AT "
			       "FORK  ALLOCATION SITE (innermost frame first)\n"
			       "         <0.1          0      <0.1  0x1fff\n\n"));
	free(doc);
	tm_opts.all = tm_opts.per_process = true;
	doc = render(cs_render_text);
	tm_opts.all = tm_opts.per_process = false;
	assert_non_null(strstr(doc, "\ntop 5 allocation sites by copied MiB"));
	assert_non_null(
		strstr(doc,
		       "  pid 101 (worker 1 of 2):\n       COPIED P-UNSHARED   AT FORK  "
		       "ALLOCATION SITE (innermost frame first)\n"
		       "         <0.1          0      <0.1  0x1fff\n  pid 102 (worker 2 of 2):\n"));
	assert_non_null(strstr(doc,
			       "\ntop 5 allocation sites by copied MiB, summed over the 2 "
			       "workers of prog master (pid 100):\n       COPIED"));
	free(doc);
}

/* A backend that cannot tell the child's copies from the parent's writes: unshared only. */
static void test_exclusive_backend_unshared(void **state)
{
	cs_run_t ex[] = { { HP + 4, 4 }, { HP + 13, 1 } };
	const cs_site_t *s;
	char *doc;

	(void)state;
	backend = CS_BACKEND_EXCLUSIVE;
	three_sites(1);
	close(child(101, 100, NULL, 0, ex, 2));
	load();
	s = &proc(101)->sites[0];
	assert_ptr_equal(s, find(proc(101)->sites, proc(101)->nsites, 2, NULL));
	assert_near(s->unshared, 4);
	assert_true(isnan(s->child_copied) && isnan(s->parent_unshared) &&
		    isnan(s->freed_in_child));
	doc = render(cs_render_json);
	assert_non_null(strstr(doc,
			       "          \"bucket\": null,\n"
			       "          \"child_copied_pages\": null,\n"
			       "          \"parent_unshared_pages\": null,\n"
			       "          \"unshared_pages\": 4,\n"));
	free(doc);
	doc = render(cs_render_text);
	assert_non_null(strstr(doc,
			       "  pid 101 (child 1 of 1):\n     UNSHARED              AT FORK  "
			       "ALLOCATION SITE"));
	free(doc);
	doc = render(cs_render_folded);
	assert_string_equal(doc, "[allocator free space and metadata] 1\n[unknown] 4\n");
	free(doc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_exact_three_sites, setup, teardown),
		cmocka_unit_test_setup_teardown(test_small_blocks_share_a_page, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sampled_weights, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sampled_scaled_to_the_mapping, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_blocks_in_an_arena_are_their_own, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_sampled_block_in_an_arena, setup, teardown),
		cmocka_unit_test_setup_teardown(test_allocator_frames_hidden_and_merged, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_freed_in_child, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sibling_group, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_tracking_buckets_by_mapping, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_json_sites, setup, teardown),
		cmocka_unit_test_setup_teardown(test_folded_lines, setup, teardown),
		cmocka_unit_test_setup_teardown(test_text_sites, setup, teardown),
		cmocka_unit_test_setup_teardown(test_exclusive_backend_unshared, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
