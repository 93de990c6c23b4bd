/* SPDX-License-Identifier: MIT */
/* Unit tests: allocation replay, inheritance over two fork levels, frees, munmap, checkpoints. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include "analyze.h"
#include "cs_testutil.h"
#include "model.h"
#include "replay.h"

#define MS 1000000ull

static char *dir;
static cs_model_t m;

static int setup(void **state)
{
	(void)state;
	dir = tu_mkdtemp();
	memset(&m, 0, sizeof(m));
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
	return tu_proc_file(dir, pid, ppid, role, CS_BACKEND_UFFD_WP);
}

static void stack1(int fd, uint32_t id, uint64_t ra)
{
	tu_stack(fd, id, &ra, 1);
}

static void load(void)
{
	cs_diag_t d = { "" };

	assert_int_equal(cs_model_load(&m, dir, &d), 0);
}

static size_t idx(uint32_t pid)
{
	long i = cs_model_find(&m, pid, 0);

	assert_true(i >= 0);
	return (size_t)i;
}

/* What process pid had live when child `child` forked, replayed over base. */
static void live_at(uint32_t pid, uint32_t child, const cs_liveset_t *base, cs_liveset_t *out)
{
	cs_replay_t *r;

	assert_int_equal(cs_replay_start(&r, &m, idx(pid), base), 0);
	assert_int_equal(cs_replay_until(r, m.procs[idx(child)].alloc.fp_alloc_seq), 0);
	assert_int_equal(cs_replay_snapshot(r, out), 0);
	cs_replay_free(r);
}

static void assert_live(const cs_live_t *e, uint64_t ptr, uint64_t size, uint64_t weight,
			uint64_t ra)
{
	assert_true(e->ptr == ptr);
	assert_true(e->size == size);
	assert_true(e->weight == weight);
	assert_non_null(e->stack);
	assert_true(e->stack->ra[0] == ra);
}

/*
 * Root 100 forks 101 at seq 5; 101 forks 102 at seq 9 (of 101's numbering).
 * 100: A and B allocated, A freed, region M mapped, then C allocated after the fork.
 * 101: unmaps the middle of M, allocates E, frees B, then F after its own fork.
 */
static void two_levels(void)
{
	int fd = proc_file(100, 1, CS_ROLE_ROOT);
	cs_alloc_ev_t a[] = {
		tu_alloc_ev(1, 0x1000, 100, 100, 1, CS_ALLOC_MALLOC),
		tu_alloc_ev(2, 0x2000, 200, 200, 2, CS_ALLOC_MALLOC),
		tu_alloc_ev(4, 0x10000, 0x8000, 0x8000, 2, CS_ALLOC_MMAP),
		tu_alloc_ev(6, 0x3000, 50, 50, 1, CS_ALLOC_MALLOC),
	};
	cs_free_ev_t f = tu_free_ev(3, 0x1000, 0, CS_FREE_FREE);
	cs_alloc_ev_t b[] = {
		tu_alloc_ev(7, 0x5000, 64, 64, 3, CS_ALLOC_MALLOC),
		tu_alloc_ev(10, 0x6000, 32, 32, 1, CS_ALLOC_MALLOC),
	};
	cs_free_ev_t g[] = {
		tu_free_ev(5, 0x12000, 0x2000, CS_FREE_MUNMAP),
		tu_free_ev(8, 0x2000, 0, CS_FREE_FREE),
		tu_free_ev(11, 0x9999, 0, CS_FREE_FREE),
	};

	tu_sampling(fd, 1, 64);
	stack1(fd, 1, 0xa1);
	stack1(fd, 2, 0xa2);
	tu_allocs(fd, a, 4);
	tu_frees(fd, &f, 1);
	tu_fork(fd, 101, 1, MS);
	close(fd);
	fd = proc_file(101, 100, CS_ROLE_CHILD);
	tu_fork_point(fd, 5, 3);
	stack1(fd, 3, 0xc3);
	tu_frees(fd, g, 3); /* events of one process may come in any record order */
	tu_allocs(fd, b, 2);
	tu_fork(fd, 102, 1, MS);
	close(fd);
	fd = proc_file(102, 101, CS_ROLE_CHILD);
	tu_fork_point(fd, 9, 4);
	close(fd);
}

static void test_two_fork_levels_and_cut(void **state)
{
	cs_liveset_t c = { 0 }, g = { 0 };

	(void)state;
	two_levels();
	load();
	live_at(100, 101, NULL, &c);
	assert_int_equal(c.nmal, 1); /* A freed before the fork, the seq-6 block after it */
	assert_live(&c.mal[0], 0x2000, 200, 200, 0xa2);
	assert_int_equal(c.nmm, 1);
	assert_live(&c.mm[0], 0x10000, 0x8000, 0x8000, 0xa2);
	live_at(101, 102, &c, &g);
	assert_int_equal(g.nmal, 1); /* B freed by 101, F allocated after 102's fork */
	assert_live(&g.mal[0], 0x5000, 64, 64, 0xc3);
	assert_int_equal(g.nmm, 2); /* M's middle unmapped */
	assert_live(&g.mm[0], 0x10000, 0x2000, 0x2000, 0xa2);
	assert_live(&g.mm[1], 0x14000, 0x4000, 0x4000, 0xa2);
	cs_liveset_free(&c);
	cs_liveset_free(&g);
}

static void test_stacks_resolve_through_ancestors(void **state)
{
	(void)state;
	two_levels();
	load();
	assert_true(cs_stack_resolve(&m, idx(102), 1)->ra[0] == 0xa1); /* 1 < 4, 1 < 3: root's */
	assert_true(cs_stack_resolve(&m, idx(102), 3)->ra[0] == 0xc3); /* 3 < 4: the parent's */
	assert_null(cs_stack_resolve(&m, idx(102), 4));                /* 102 never wrote it */
	assert_null(cs_stack_resolve(&m, idx(101), 3 + 100));
	assert_null(cs_stack_resolve(&m, idx(100), 0));
}

/* Regions of one process: munmap of a head, a tail, a whole region, across two; mremap; MAP_FIXED. */
static void test_munmap_trims_regions(void **state)
{
	int fd = proc_file(100, 1, CS_ROLE_ROOT);
	cs_alloc_ev_t a[] = {
		tu_alloc_ev(1, 0x100000, 0x4000, 0x8000, 1, CS_ALLOC_MMAP), /* sampled: weight 2x */
		tu_alloc_ev(2, 0x200000, 0x4000, 0x4000, 1, CS_ALLOC_MMAP),
		tu_alloc_ev(3, 0x300000, 0x4000, 0x4000, 1, CS_ALLOC_MMAP),
		tu_alloc_ev(4, 0x304000, 0x4000, 0x4000, 1, CS_ALLOC_MMAP),
		tu_alloc_ev(5, 0x400000, 0x4000, 0x4000, 1, CS_ALLOC_MMAP),
		tu_alloc_ev(6, 0x500000, 0x4000, 0x4000, 1, CS_ALLOC_MMAP),
		tu_alloc_ev(12, 0x502000, 0x1000, 0x1000, 2, CS_ALLOC_MMAP), /* MAP_FIXED over it */
	};
	cs_free_ev_t f[] = {
		tu_free_ev(7, 0x100000, 0x1000, CS_FREE_MUNMAP),  /* head */
		tu_free_ev(8, 0x203000, 0x3000, CS_FREE_MUNMAP),  /* tail, and beyond */
		tu_free_ev(9, 0x302000, 0x4000, CS_FREE_MUNMAP),  /* across two regions */
		tu_free_ev(10, 0x400000, 0x4000, CS_FREE_MREMAP), /* moved away: gone */
		tu_free_ev(11, 0x600000, 0x1000, CS_FREE_MUNMAP), /* nothing there */
	};
	cs_liveset_t s = { 0 };

	(void)state;
	stack1(fd, 1, 0xa1);
	stack1(fd, 2, 0xa2);
	tu_allocs(fd, a, 7);
	tu_frees(fd, f, 5);
	tu_fork(fd, 101, 1, MS);
	close(fd);
	fd = proc_file(101, 100, CS_ROLE_CHILD);
	tu_fork_point(fd, 100, 3);
	close(fd);
	load();
	live_at(100, 101, NULL, &s);
	assert_int_equal(s.nmal, 0);
	assert_int_equal(s.nmm, 7);
	assert_live(&s.mm[0], 0x101000, 0x3000, 0x6000, 0xa1); /* weight kept in proportion */
	assert_live(&s.mm[1], 0x200000, 0x3000, 0x3000, 0xa1);
	assert_live(&s.mm[2], 0x300000, 0x2000, 0x2000, 0xa1);
	assert_live(&s.mm[3], 0x306000, 0x2000, 0x2000, 0xa1);
	assert_live(&s.mm[4], 0x500000, 0x2000, 0x2000, 0xa1);
	assert_live(&s.mm[5], 0x502000, 0x1000, 0x1000, 0xa2);
	assert_live(&s.mm[6], 0x503000, 0x1000, 0x1000, 0xa1);
	cs_liveset_free(&s);
}

/* Frees: exact pointers only, unknown ones ignored; a ptr reused after a free is the new block. */
static void test_frees_and_reuse(void **state)
{
	int fd = proc_file(100, 1, CS_ROLE_ROOT);
	cs_alloc_ev_t a[300];
	cs_free_ev_t f[200];
	cs_liveset_t s = { 0 };

	(void)state;
	stack1(fd, 1, 0xa1);
	stack1(fd, 2, 0xa2);
	for (uint32_t i = 0; i < 200; i++) /* enough to grow and churn the hash */
		a[i] = tu_alloc_ev(1 + i, 0x10000 + 16 * i, 16, 16, 1, CS_ALLOC_MALLOC);
	for (uint32_t i = 0; i < 200; i++) /* free the odd ones, and 100 strangers */
		f[i] = tu_free_ev(300 + i, i < 100 ? 0x10000 + 16 * (2 * i + 1) : 0x90000 + i, 0,
				  CS_FREE_FREE);
	for (uint32_t i = 0; i < 100; i++) /* the odd addresses again, another stack */
		a[200 + i] =
			tu_alloc_ev(600 + i, 0x10000 + 16 * (2 * i + 1), 8, 8, 2, CS_ALLOC_MALLOC);
	tu_allocs(fd, a, 300);
	tu_frees(fd, f, 200);
	tu_fork(fd, 101, 1, MS);
	close(fd);
	fd = proc_file(101, 100, CS_ROLE_CHILD);
	tu_fork_point(fd, 1000, 3);
	close(fd);
	load();
	live_at(100, 101, NULL, &s);
	assert_int_equal(s.nmal, 200);
	for (uint32_t i = 0; i < 200; i++)
		assert_live(&s.mal[i], 0x10000 + 16 * i, i % 2 ? 8 : 16, i % 2 ? 8 : 16,
			    i % 2 ? 0xa2 : 0xa1);
	cs_liveset_free(&s);
}

/* The child's frees flag what it inherited; the first free of a ptr counts. */
static void test_child_frees_flag_inherited(void **state)
{
	int fd = proc_file(100, 1, CS_ROLE_ROOT);
	cs_alloc_ev_t a[] = {
		tu_alloc_ev(1, 0x1000, 64, 64, 1, CS_ALLOC_MALLOC),
		tu_alloc_ev(2, 0x2000, 64, 64, 1, CS_ALLOC_MALLOC),
	};
	cs_free_ev_t f[] = {
		tu_free_ev(11, 0x2000, 0, CS_FREE_FREE),
		tu_free_ev(12, 0x7777, 0, CS_FREE_FREE),
	};
	cs_liveset_t s = { 0 };

	(void)state;
	stack1(fd, 1, 0xa1);
	tu_allocs(fd, a, 2);
	tu_fork(fd, 101, 1, MS);
	close(fd);
	fd = proc_file(101, 100, CS_ROLE_CHILD);
	tu_fork_point(fd, 10, 2);
	tu_frees(fd, f, 2);
	close(fd);
	load();
	live_at(100, 101, NULL, &s);
	cs_liveset_mark_frees(&s, &m.procs[idx(101)].alloc);
	assert_int_equal(s.nmal, 2);
	assert_false(s.mal[0].freed);
	assert_true(s.mal[1].freed);
	cs_liveset_free(&s);
}

/* A child that frees while nothing was live at the fork: no NULL array reaches bsearch (UBSan). */
static void test_child_frees_with_empty_liveset(void **state)
{
	int fd = proc_file(100, 1, CS_ROLE_ROOT);
	cs_free_ev_t f[] = { tu_free_ev(11, 0x2000, 0, CS_FREE_FREE) };
	cs_liveset_t s = { 0 };

	(void)state;
	tu_fork(fd, 101, 1, MS);
	close(fd);
	fd = proc_file(101, 100, CS_ROLE_CHILD);
	tu_fork_point(fd, 10, 2);
	tu_frees(fd, f, 1);
	close(fd);
	load();
	cs_liveset_mark_frees(&s, &m.procs[idx(101)].alloc); /* mal NULL: UBSan's case */
	assert_int_equal(s.nmal, 0);
	live_at(100, 101, NULL, &s);
	assert_int_equal(s.nmal, 0);
	cs_liveset_mark_frees(&s, &m.procs[idx(101)].alloc);
	assert_int_equal(s.nmal, 0);
	cs_liveset_free(&s);
}

/* ---- 1.7 checkpoints -------------------------------------------------------------------- */

static cs_pev_t pa(uint8_t kind, uint64_t seq, uint64_t ptr, uint64_t len)
{
	return (cs_pev_t){
		.what = CS_PEV_ALLOC, .kind = kind, .seq = seq, .ptr = ptr, .len = len, .stack = 1
	};
}

static cs_pev_t pf(uint8_t kind, uint64_t seq, uint64_t ptr, uint64_t len)
{
	return (cs_pev_t){ .what = CS_PEV_FREE, .kind = kind, .seq = seq, .ptr = ptr, .len = len };
}

/* The ptrs of s's malloc blocks (sorted), then its regions as [start, end) pairs. */
static void assert_blocks(const cs_liveset_t *s, const uint64_t *ptr, size_t n)
{
	assert_int_equal(s->nmal, n);
	for (size_t i = 0; i < n; i++) {
		assert_true(s->mal[i].ptr == ptr[i]);
		assert_true(s->mal[i].weight == s->mal[i].size); /* exact mode */
		assert_non_null(s->mal[i].stack);
	}
}

static void assert_regions(const cs_liveset_t *s, const uint64_t *se, size_t n)
{
	assert_int_equal(s->nmm, n);
	for (size_t i = 0; i < n; i++)
		assert_true(s->mm[i].ptr == se[2 * i] &&
			    s->mm[i].ptr + s->mm[i].size == se[2 * i + 1]);
}

/*
 * 100, exact mode: A, B allocated, A freed, region M mapped, part of it unmapped, G and H
 * allocated (seqs 9 and 10), then a checkpoint at cut 10 listing B and C (C's own event
 * dropped; G and H superseded: written before it, whatever their seq); after
 * it: B freed (seq 8, late), E allocated (seq 6, late), a late free (seq 4) at C's address of
 * an older block, D allocated (12), region N mapped (13).
 */
static void checkpointed(void)
{
	int fd = proc_file(100, 1, CS_ROLE_ROOT);
	cs_pev_t before[7] = {
		pa(CS_ALLOC_MALLOC, 1, 0x1000, 100),    pa(CS_ALLOC_MALLOC, 2, 0x2000, 200),
		pf(CS_FREE_FREE, 3, 0x1000, 0),         pa(CS_ALLOC_MMAP, 4, 0x10000, 0x8000),
		pf(CS_FREE_MUNMAP, 7, 0x12000, 0x2000), pa(CS_ALLOC_MALLOC, 9, 0x7000, 70),
		pa(CS_ALLOC_MALLOC, 10, 0x8000, 80)
	};
	cs_pev_t ck[2] = { pa(CS_ALLOC_MALLOC, 2, 0x2000, 200),
			   pa(CS_ALLOC_MALLOC, 5, 0x3000, 50) };
	cs_pev_t after[5] = { pf(CS_FREE_FREE, 8, 0x2000, 0), pa(CS_ALLOC_MALLOC, 6, 0x5000, 60),
			      pf(CS_FREE_FREE, 4, 0x3000, 0), pa(CS_ALLOC_MALLOC, 12, 0x4000, 40),
			      pa(CS_ALLOC_MMAP, 13, 0x20000, 0x1000) };

	tu_sampling(fd, 1, 64);
	stack1(fd, 1, 0xa1);
	tu_evpack(fd, CS_REC_EVPACK, 0, before, 7, CS_CODEC_RAW);
	tu_liveset(fd, 10, ck, 2);
	tu_evpack(fd, CS_REC_EVPACK, 7, after, 5, CS_CODEC_ZSTD);
	close(fd);
}

static void test_checkpoint_replay(void **state)
{
	static const uint64_t at6[] = { 0x2000 }, at11[] = { 0x3000, 0x5000 },
			      at13[] = { 0x3000, 0x4000, 0x5000 };
	static const uint64_t m6[] = { 0x10000, 0x18000 },
			      m11[] = { 0x10000, 0x12000, 0x14000, 0x18000 },
			      m14[] = { 0x10000, 0x12000, 0x14000, 0x18000, 0x20000, 0x21000 };
	cs_liveset_t s = { 0 };
	cs_replay_t *r;

	(void)state;
	checkpointed();
	load();
	assert_int_equal(cs_replay_start(&r, &m, idx(100), NULL), 0);
	/* before the cut: the events, as without checkpoints (the entries never) */
	assert_int_equal(cs_replay_until(r, 6), 0);
	assert_int_equal(cs_replay_snapshot(r, &s), 0);
	assert_blocks(&s, at6, 1);
	assert_true(s.mal[0].seq == 2 && s.mal[0].size == 200);
	assert_regions(&s, m6, 1);
	cs_liveset_free(&s);
	/* past the cut: the checkpoint, its late events; G and H (before it in the file) superseded */
	assert_int_equal(cs_replay_until(r, 11), 0);
	assert_int_equal(cs_replay_snapshot(r, &s), 0);
	assert_blocks(&s, at11, 2);
	assert_true(s.mal[0].seq == 5 && s.mal[0].size == 50 && s.mal[0].stack->ra[0] == 0xa1);
	assert_true(s.mal[1].seq == 6 && s.mal[1].size == 60);
	assert_regions(&s, m11, 2); /* the munmap before the checkpoint still applies */
	cs_liveset_free(&s);
	assert_int_equal(cs_replay_until(r, 13), 0);
	assert_int_equal(cs_replay_snapshot(r, &s), 0);
	assert_blocks(&s, at13, 3);
	assert_regions(&s, m11, 2);
	cs_liveset_free(&s);
	assert_int_equal(cs_replay_until(r, 14), 0);
	assert_int_equal(cs_replay_snapshot(r, &s), 0);
	assert_blocks(&s, at13, 3);
	assert_regions(&s, m14, 3);
	cs_liveset_free(&s);
	cs_replay_free(r);
	/* a fresh replay straight to 11 agrees */
	assert_int_equal(cs_replay_start(&r, &m, idx(100), NULL), 0);
	assert_int_equal(cs_replay_until(r, 11), 0);
	assert_int_equal(cs_replay_snapshot(r, &s), 0);
	assert_blocks(&s, at11, 2);
	assert_regions(&s, m11, 2);
	cs_liveset_free(&s);
	cs_replay_free(r);
}

/* Children forked before and after the cut, through the whole model (sites' walk order). */
static void test_checkpoint_forks(void **state)
{
	static const uint64_t at6[] = { 0x2000 }, at11[] = { 0x3000, 0x5000 };
	cs_liveset_t s = { 0 };
	int fd;

	(void)state;
	checkpointed();
	fd = proc_file(101, 100, CS_ROLE_CHILD);
	tu_fork_point(fd, 11, 2);
	close(fd);
	fd = proc_file(102, 100, CS_ROLE_CHILD);
	tu_fork_point(fd, 6, 2);
	close(fd);
	load();
	live_at(100, 102, NULL, &s);
	assert_blocks(&s, at6, 1);
	cs_liveset_free(&s);
	live_at(100, 101, NULL, &s);
	assert_blocks(&s, at11, 2);
	cs_liveset_free(&s);
}

/*
 * 100 has A, B, C, D live when it forks 101 (at 10). 101 frees A and allocates A' at its
 * address (both written), frees D (its event dropped), checkpoints {A', B, C} at 14, then
 * frees C (15) and forks 102 (at 16).
 */
static void test_child_checkpoint_frees(void **state)
{
	int fd = proc_file(100, 1, CS_ROLE_ROOT);
	cs_pev_t a[4] = { pa(CS_ALLOC_MALLOC, 1, 0x1000, 10), pa(CS_ALLOC_MALLOC, 2, 0x2000, 20),
			  pa(CS_ALLOC_MALLOC, 3, 0x3000, 30), pa(CS_ALLOC_MALLOC, 4, 0x4000, 40) };
	cs_pev_t b[2] = { pf(CS_FREE_FREE, 11, 0x1000, 0), pa(CS_ALLOC_MALLOC, 12, 0x1000, 11) };
	cs_pev_t ck[3] = { pa(CS_ALLOC_MALLOC, 12, 0x1000, 11), pa(CS_ALLOC_MALLOC, 2, 0x2000, 20),
			   pa(CS_ALLOC_MALLOC, 3, 0x3000, 30) };
	cs_pev_t c = pf(CS_FREE_FREE, 15, 0x3000, 0);
	static const uint64_t inherited[] = { 0x1000, 0x2000, 0x3000, 0x4000 },
			      grand[] = { 0x1000, 0x2000 };
	cs_liveset_t s = { 0 }, g = { 0 };

	(void)state;
	tu_sampling(fd, 1, 64);
	stack1(fd, 1, 0xa1);
	tu_evpack(fd, CS_REC_EVPACK, 0, a, 4, CS_CODEC_RAW);
	tu_fork(fd, 101, 1, MS);
	close(fd);
	fd = proc_file(101, 100, CS_ROLE_CHILD);
	tu_fork_point(fd, 10, 2);
	tu_sampling(fd, 1, 64);
	tu_evpack(fd, CS_REC_EVPACK, 10, b, 2, CS_CODEC_RAW);
	tu_liveset(fd, 14, ck, 3);
	tu_evpack(fd, CS_REC_EVPACK, 14, &c, 1, CS_CODEC_RAW);
	tu_fork(fd, 102, 1, MS);
	close(fd);
	fd = proc_file(102, 101, CS_ROLE_CHILD);
	tu_fork_point(fd, 16, 2);
	close(fd);
	load();
	live_at(100, 101, NULL, &s);
	assert_blocks(&s, inherited, 4);
	cs_liveset_mark_frees(&s, &m.procs[idx(101)].alloc);
	assert_true(s.mal[0].freed);  /* A: (0x1000, 1) is not in the checkpoint: A' is */
	assert_false(s.mal[1].freed); /* B: listed, never freed */
	assert_true(s.mal[2].freed);  /* C: listed, freed after the checkpoint */
	assert_true(s.mal[3].freed);  /* D: not listed, though no free of it was written */
	/* the grandchild: 101's blocks restart from its checkpoint, what it inherited included */
	live_at(101, 102, &s, &g);
	assert_blocks(&g, grand, 2);
	assert_true(g.mal[0].seq == 12 && g.mal[0].size == 11 && g.mal[1].seq == 2);
	assert_false(g.mal[0].freed || g.mal[1].freed);
	cs_liveset_free(&g);
	cs_liveset_free(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_two_fork_levels_and_cut, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stacks_resolve_through_ancestors, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_munmap_trims_regions, setup, teardown),
		cmocka_unit_test_setup_teardown(test_frees_and_reuse, setup, teardown),
		cmocka_unit_test_setup_teardown(test_child_frees_flag_inherited, setup, teardown),
		cmocka_unit_test_setup_teardown(test_child_frees_with_empty_liveset, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_checkpoint_replay, setup, teardown),
		cmocka_unit_test_setup_teardown(test_checkpoint_forks, setup, teardown),
		cmocka_unit_test_setup_teardown(test_child_checkpoint_frees, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
