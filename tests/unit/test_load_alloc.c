/* SPDX-License-Identifier: MIT */
/* Unit tests: reading allocation records (1.1, and 1.7 packed and checkpoints), corrupt ones named. */
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
#include <zstd.h>
#include "analyze.h"
#include "cli.h"
#include "cs_testmodel.h"
#include "cs_testutil.h"
#include "model.h"
#include "record.h"
#include "weight.h"

TM_DIR_MODEL_FIXTURE(dir, m)
static uint8_t rbuf[4096];

/* 42.0.cst with PROC (record 1) and nothing else yet. */
static int file42(void)
{
	int fd = tu_open(dir, "42.0.cst", CS_FILE_PROCESS, 42, 0);

	tu_proc(fd, 42, 1, 0, CS_ROLE_ROOT, "prog");
	return fd;
}

static int load(cs_diag_t *d)
{
	return cs_model_load(&m, dir, d);
}

static void test_reads_every_record(void **state)
{
	cs_seg_t segs[2] = { { 0x1000, 0x2000, 0 }, { 0x3000, 0x5000, 0x2000 } };
	uint8_t id[3] = { 1, 2, 3 };
	uint64_t ra[2] = { 0x1111, 0x2222 };
	cs_alloc_ev_t a[2] = { tu_alloc_ev(5, 0x9000, 10, 20, 7, CS_ALLOC_MALLOC),
			       tu_alloc_ev(2, 0xa000, 4096, 4096, 0, CS_ALLOC_MMAP) };
	cs_free_ev_t f = tu_free_ev(3, 0xa000, 4096, CS_FREE_MUNMAP);
	const cs_allocinfo_t *ai;
	cs_diag_t d = { "" };
	int fd = file42();

	(void)state;
	tu_sampling(fd, 512, 32);
	tu_module(fd, 0x1000, segs, 2, id, 3, "/usr/lib/libz.so.1");
	tu_stack(fd, 7, ra, 2);
	tu_allocs(fd, a, 2);
	tu_frees(fd, &f, 1);
	tu_fork_point(fd, 77, 8);
	tu_fork_point(fd, 99, 9); /* the first one counts */
	close(fd);
	assert_int_equal(load(&d), 0);
	ai = &m.procs[cs_model_find(&m, 42, 0)].alloc;
	assert_true(ai->has_sampling && ai->mean_bytes == 512 && ai->max_depth == 32);
	assert_int_equal(ai->nmods, 1);
	assert_true(ai->mods[0].base == 0x1000 && ai->mods[0].nsegs == 2);
	assert_true(ai->mods[0].segs[1].end == 0x5000 && ai->mods[0].segs[1].file_offset == 0x2000);
	assert_int_equal(ai->mods[0].build_id_len, 3);
	assert_memory_equal(ai->mods[0].build_id, id, 3);
	assert_string_equal(ai->mods[0].path, "/usr/lib/libz.so.1");
	assert_int_equal(ai->nstacks, 1);
	assert_true(ai->stacks[0].id == 7 && ai->stacks[0].depth == 2 &&
		    ai->stacks[0].ra[1] == 0x2222);
	assert_int_equal(ai->nevs, 3); /* sorted by seq */
	assert_true(ai->evs[0].seq == 2 && ai->evs[0].what == CS_AEV_ALLOC && ai->evs[0].kind == 2);
	assert_true(ai->evs[1].seq == 3 && ai->evs[1].what == CS_AEV_FREE &&
		    ai->evs[1].len == 4096);
	assert_true(ai->evs[2].seq == 5 && ai->evs[2].weight == 20 && ai->evs[2].stack == 7);
	assert_true(ai->has_fork_point && ai->fp_alloc_seq == 77 && ai->fp_stack_id == 8);
}

/* Append a record: fixed part `fixed` bytes (type set here), then payload. */
static void raw(int fd, uint16_t type, const void *fixed, size_t nfixed, const void *payload,
		size_t n)
{
	cs_recbuf_t b = { .buf = rbuf, .cap = sizeof(rbuf) };
	uint8_t *p = cs_rec_begin(&b, type, nfixed);

	memcpy(p + sizeof(cs_rec_hdr_t), (const uint8_t *)fixed + sizeof(cs_rec_hdr_t),
	       nfixed - sizeof(cs_rec_hdr_t));
	cs_rec_put(&b, payload, n);
	tu_put(fd, rbuf, cs_rec_finish(&b));
}

/* The load fails naming the file, record 2 (after PROC) and what was wrong. */
static void expect_bad(const char *what)
{
	cs_diag_t d = { "" };
	char want[256];

	assert_int_equal(load(&d), -EBADMSG);
	snprintf(want, sizeof(want), "%s/42.0.cst: record 2 at offset 120: %s", dir, what);
	if (strcmp(d.msg, want))
		fail_msg("message '%s', want '%s'", d.msg, want);
}

static void test_bad_sampling(void **state)
{
	cs_rec_sampling_t r = { .mean_bytes = 0 };
	int fd = file42();

	(void)state;
	raw(fd, CS_REC_SAMPLING, &r, sizeof(r), NULL, 0);
	close(fd);
	expect_bad("sampling mean of 0 bytes");
}

static void test_bad_module_segments(void **state)
{
	cs_rec_module_t r = { .nsegs = 1000 };
	cs_seg_t seg = { 0x2000, 0x1000, 0 };
	int fd = file42();

	(void)state;
	raw(fd, CS_REC_MODULE, &r, sizeof(r), &seg, sizeof(seg));
	close(fd);
	expect_bad("bad module segment count");
	cs_model_free(&m);
	r.nsegs = 1;
	fd = file42();
	raw(fd, CS_REC_MODULE, &r, sizeof(r), &seg, sizeof(seg));
	close(fd);
	expect_bad("module segment ends before it starts");
}

static void test_bad_module_build_id_and_path(void **state)
{
	cs_rec_module_t r = { .build_id_len = 64 };
	uint8_t pay[16] = { 0 };
	int fd = file42();

	(void)state;
	raw(fd, CS_REC_MODULE, &r, sizeof(r), pay, sizeof(pay));
	close(fd);
	expect_bad("bad build-id length");
	cs_model_free(&m);
	r.build_id_len = 0;
	pay[0] = 200; /* a path of 200 bytes in an 8-byte payload */
	fd = file42();
	raw(fd, CS_REC_MODULE, &r, sizeof(r), pay, 8);
	close(fd);
	expect_bad("bad string length");
}

static void test_bad_stack(void **state)
{
	cs_rec_stack_t r = { .id = 0, .depth = 1 };
	uint64_t ra = 1;
	int fd = file42();

	(void)state;
	raw(fd, CS_REC_STACK, &r, sizeof(r), &ra, 8);
	close(fd);
	expect_bad("stack id 0");
	cs_model_free(&m);
	r.id = 1;
	r.depth = 2;
	fd = file42();
	raw(fd, CS_REC_STACK, &r, sizeof(r), &ra, 8);
	close(fd);
	expect_bad("bad stack depth");
}

static void test_bad_allocs(void **state)
{
	cs_rec_events_t r = { .count = 2 };
	cs_alloc_ev_t e = tu_alloc_ev(1, 0x1000, 8, 8, 0, CS_ALLOC_MALLOC);
	int fd = file42();

	(void)state;
	raw(fd, CS_REC_ALLOCS, &r, sizeof(r), &e, sizeof(e));
	close(fd);
	expect_bad("bad event count");
	cs_model_free(&m);
	r.count = 1;
	e.kind = 9;
	fd = file42();
	raw(fd, CS_REC_ALLOCS, &r, sizeof(r), &e, sizeof(e));
	close(fd);
	expect_bad("unknown allocation kind");
	cs_model_free(&m);
	e = tu_alloc_ev(1, UINT64_MAX - 4, 8, 8, 0, CS_ALLOC_MALLOC);
	fd = file42();
	raw(fd, CS_REC_ALLOCS, &r, sizeof(r), &e, sizeof(e));
	close(fd);
	expect_bad("allocation runs past the end of the address space");
}

static void test_bad_frees_and_fork_point(void **state)
{
	cs_rec_events_t r = { .count = 1 };
	cs_free_ev_t e = tu_free_ev(1, 0x1000, 0, 7);
	cs_rec_hdr_t h = { 0 };
	int fd = file42();

	(void)state;
	raw(fd, CS_REC_FREES, &r, sizeof(r), &e, sizeof(e));
	close(fd);
	expect_bad("unknown free kind");
	cs_model_free(&m);
	e = tu_free_ev(1, UINT64_MAX - 4096, 8192, CS_FREE_MUNMAP);
	fd = file42();
	raw(fd, CS_REC_FREES, &r, sizeof(r), &e, sizeof(e));
	close(fd);
	expect_bad("freed range runs past the end of the address space");
	cs_model_free(&m);
	fd = file42();
	raw(fd, CS_REC_FORK_POINT, &h, sizeof(h), NULL, 0);
	close(fd);
	expect_bad("record too short for its type");
}

/* `cowscope report` on a corrupt record: exit 3. */
static void test_report_exits_3(void **state)
{
	static const cs_cmd_t *const cmds[] = { &cs_cmd_report };
	const cs_cli_t cli = { cmds, 1 };
	cs_rec_sampling_t r = { .mean_bytes = 0 };
	int fd = file42(), err = dup(2), null = open("/dev/null", O_WRONLY), rc;

	(void)state;
	raw(fd, CS_REC_SAMPLING, &r, sizeof(r), NULL, 0);
	close(fd);
	dup2(null, 2);
	rc = cs_cli_exec(&cli, &cs_cmd_report, 2, (char *[]){ "report", dir, NULL });
	dup2(err, 2);
	close(err);
	close(null);
	assert_int_equal(rc, CS_EXIT_TRACE);
}

/* A file cut inside an ALLOCS record keeps the records before it. */
static void test_cut_tail_keeps_whole_records(void **state)
{
	cs_alloc_ev_t a[4];
	const cs_proc_t *p;
	cs_diag_t d = { "" };
	char path[4096];
	int fd = file42();

	(void)state;
	for (uint32_t i = 0; i < 4; i++)
		a[i] = tu_alloc_ev(1 + i, 0x1000 * (i + 1), 8, 8, 0, CS_ALLOC_MALLOC);
	tu_allocs(fd, a, 2);
	tu_allocs(fd, a + 2, 2);
	close(fd);
	snprintf(path, sizeof(path), "%s/42.0.cst", dir);
	assert_int_equal(truncate(path, 120 + 16 + 2 * 40 + 16 + 40), 0);
	assert_int_equal(load(&d), 0);
	p = &m.procs[cs_model_find(&m, 42, 0)];
	assert_true(p->truncated);
	assert_int_equal(p->alloc.nevs, 2);
}

/* A newer minor's kinds are skipped, not errors. */
static void test_newer_minor_kinds_skipped(void **state)
{
	cs_alloc_ev_t a[2] = { tu_alloc_ev(1, 0x1000, 8, 8, 0, 9),
			       tu_alloc_ev(2, 0x2000, 8, 8, 0, CS_ALLOC_MALLOC) };
	cs_free_ev_t f = tu_free_ev(3, 0x2000, 0, 7);
	uint16_t minor = CS_TRACE_MINOR + 1;
	cs_diag_t d = { "" };
	char path[4096];
	int fd = file42();

	(void)state;
	tu_allocs(fd, a, 2);
	tu_frees(fd, &f, 1);
	close(fd);
	snprintf(path, sizeof(path), "%s/42.0.cst", dir);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	assert_int_equal(pwrite(fd, &minor, 2, offsetof(cs_file_hdr_t, version_minor)), 2);
	close(fd);
	assert_int_equal(load(&d), 0);
	assert_int_equal(m.procs[cs_model_find(&m, 42, 0)].alloc.nevs, 1);
}

/* ---- 1.7: EVPACK and LIVESET ------------------------------------------------------------ */

static cs_pev_t pev(uint8_t what, uint8_t kind, uint64_t seq, uint64_t ptr, uint64_t len,
		    uint32_t stack)
{
	return (cs_pev_t){
		.what = what, .kind = kind, .seq = seq, .ptr = ptr, .len = len, .stack = stack
	};
}

#define PA(kind, seq, ptr, len, stack) pev(CS_PEV_ALLOC, kind, seq, ptr, len, stack)
#define PF(kind, seq, ptr, len) pev(CS_PEV_FREE, kind, seq, ptr, len, 0)

/* "<pid>.0.cst" with PROC and SAMPLING (mean): its fd. */
static int file_n(uint32_t pid, uint64_t mean)
{
	char name[32];
	int fd;

	snprintf(name, sizeof(name), "%u.0.cst", pid);
	fd = tu_open(dir, name, CS_FILE_PROCESS, pid, 0);
	tu_proc(fd, pid, 1, 0, CS_ROLE_ROOT, "prog");
	tu_sampling(fd, mean, 32);
	return fd;
}

static const cs_allocinfo_t *alloc_of(uint32_t pid)
{
	long i = cs_model_find(&m, pid, 0);

	assert_true(i >= 0);
	return &m.procs[i].alloc;
}

static void assert_same_events(const cs_allocinfo_t *x, const cs_allocinfo_t *y)
{
	assert_int_equal(x->nevs, y->nevs);
	for (size_t i = 0; i < x->nevs; i++) {
		const cs_aev_t *a = &x->evs[i], *b = &y->evs[i];

		assert_true(a->seq == b->seq && a->ptr == b->ptr && a->len == b->len);
		assert_true(a->weight == b->weight && a->stack == b->stack);
		assert_true(a->what == b->what && a->kind == b->kind);
		assert_true(!a->in_ckpt && !b->in_ckpt && !a->unweighed && !b->unweighed);
		assert_true(a->ckpt == 0 && b->ckpt == 0);
	}
}

static const uint64_t mean512 = 512;

/* Two threads' EVPACKs, raw or zstd, read as the same events in ALLOCS and FREES would. */
static void test_evpack_equals_allocs_frees(void **state)
{
	cs_pev_t t1[4] = { PA(CS_ALLOC_MALLOC, 3, 0x7f0000001000, 24, 5),
			   PA(CS_ALLOC_MALLOC, 4, 0x7f0000000010, 4000, 6),
			   PF(CS_FREE_FREE, 9, 0x7f0000001000, 0),
			   PA(CS_ALLOC_MMAP, 10, 0x7e0000000000, 1 << 20, 0) };
	cs_pev_t t2[3] = { PA(CS_ALLOC_MALLOC, 1, 0x5000, 1 << 16, 0),
			   PF(CS_FREE_MUNMAP, 11, 0x7e0000001000, 8192),
			   PF(CS_FREE_MREMAP, 12, 0x7e0000100000, 4096) };
	cs_alloc_ev_t a[5] = {
		tu_alloc_ev(3, 0x7f0000001000, 24, cs_weight_bytes(24, mean512), 5,
			    CS_ALLOC_MALLOC),
		tu_alloc_ev(4, 0x7f0000000010, 4000, cs_weight_bytes(4000, mean512), 6,
			    CS_ALLOC_MALLOC),
		tu_alloc_ev(10, 0x7e0000000000, 1 << 20, 1 << 20, 0, CS_ALLOC_MMAP),
		tu_alloc_ev(1, 0x5000, 1 << 16, cs_weight_bytes(1 << 16, mean512), 0,
			    CS_ALLOC_MALLOC),
	};
	cs_free_ev_t f[3] = { tu_free_ev(9, 0x7f0000001000, 0, CS_FREE_FREE),
			      tu_free_ev(11, 0x7e0000001000, 8192, CS_FREE_MUNMAP),
			      tu_free_ev(12, 0x7e0000100000, 4096, CS_FREE_MREMAP) };
	cs_diag_t d = { "" };
	int fd;

	(void)state;
	fd = file_n(42, mean512);
	tu_allocs(fd, a, 4);
	tu_frees(fd, f, 3);
	close(fd);
	fd = file_n(43, mean512);
	tu_evpack(fd, CS_REC_EVPACK, 2, t1, 4, CS_CODEC_RAW);
	tu_evpack(fd, CS_REC_EVPACK, 0, t2, 3, CS_CODEC_RAW);
	close(fd);
	fd = file_n(44, mean512);
	tu_evpack(fd, CS_REC_EVPACK, 0, t2, 3, CS_CODEC_ZSTD);
	tu_evpack(fd, CS_REC_EVPACK, 2, t1, 4, CS_CODEC_ZSTD);
	close(fd);
	assert_int_equal(load(&d), 0);
	assert_int_equal(alloc_of(42)->nevs, 7);
	assert_true(alloc_of(43)->evs[0].seq == 1 && alloc_of(43)->evs[0].weight == 65536);
	assert_true(alloc_of(43)->evs[1].seq == 3 && alloc_of(43)->evs[1].weight == 524);
	assert_true(alloc_of(43)->evs[2].seq == 4 && alloc_of(43)->evs[2].weight == 4002);
	assert_true(alloc_of(43)->evs[4].seq == 10 && alloc_of(43)->evs[4].weight == 1 << 20);
	assert_same_events(alloc_of(42), alloc_of(43));
	assert_same_events(alloc_of(42), alloc_of(44));
}

/* Without a SAMPLING record and in exact mode (mean 1): weight == size; sampled: computed. */
static void test_evpack_weights(void **state)
{
	cs_pev_t e[2] = { PA(CS_ALLOC_MALLOC, 1, 0x1000, 24, 0),
			  PA(CS_ALLOC_MMAP, 2, 0x100000, 8192, 0) };
	static const uint64_t means[3] = { 0, 1, 65536 }, want[3] = { 24, 24, 65548 };
	cs_diag_t d = { "" };
	int fd;

	(void)state;
	for (int i = 0; i < 3; i++) {
		fd = means[i] ? file_n(42, means[i]) : file42();
		tu_evpack(fd, CS_REC_EVPACK, 0, e, 2, i == 1 ? CS_CODEC_ZSTD : CS_CODEC_RAW);
		close(fd);
		assert_int_equal(load(&d), 0);
		assert_int_equal(alloc_of(42)->nevs, 2);
		assert_true(alloc_of(42)->evs[0].weight == want[i]); /* 24 / (1 - e^(-24/65536)) */
		assert_true(alloc_of(42)->evs[1].weight == 8192);    /* an mmap region: its size */
		cs_model_free(&m);
	}
}

/* Checkpoints: numbered in file order, entries flagged, later events numbered after them. */
static void test_liveset_loads(void **state)
{
	cs_pev_t e1[2] = { PA(CS_ALLOC_MALLOC, 1, 0x1000, 16, 3),
			   PA(CS_ALLOC_MMAP, 2, 0x100000, 4096, 0) };
	cs_pev_t l1[2] = { PA(CS_ALLOC_MALLOC, 1, 0x1000, 16, 3),
			   PA(CS_ALLOC_MALLOC, 3, 0x2000, 32, 4) };
	cs_pev_t e2[2] = { PF(CS_FREE_FREE, 6, 0x1000, 0), PA(CS_ALLOC_MALLOC, 4, 0x3000, 8, 0) };
	cs_pev_t l2[2] = { PA(CS_ALLOC_MALLOC, 3, 0x2000, 32, 4),
			   PA(CS_ALLOC_MALLOC, 4, 0x3000, 8, 0) };
	const cs_allocinfo_t *a;
	cs_diag_t d = { "" };
	int fd = file_n(42, 1);

	(void)state;
	tu_evpack(fd, CS_REC_EVPACK, 0, e1, 2, CS_CODEC_RAW);
	tu_liveset(fd, 5, l1, 2);
	tu_evpack(fd, CS_REC_EVPACK, 5, e2, 2, CS_CODEC_RAW);
	tu_evpack(fd, CS_REC_LIVESET, 10, l2, 2, CS_CODEC_ZSTD);
	close(fd);
	assert_int_equal(load(&d), 0);
	a = alloc_of(42);
	assert_int_equal(a->nckpts, 2);
	assert_true(a->ckpts[0].cut == 5 && a->ckpts[1].cut == 10);
	assert_int_equal(a->nevs, 8);
	/* by seq; a checkpoint entry after the event of the same seq, checkpoints in order */
	assert_true(a->evs[0].seq == 1 && !a->evs[0].in_ckpt && a->evs[0].ckpt == 0);
	assert_true(a->evs[1].seq == 1 && a->evs[1].in_ckpt && a->evs[1].ckpt == 1);
	assert_true(a->evs[1].ptr == 0x1000 && a->evs[1].len == 16 && a->evs[1].stack == 3);
	assert_true(a->evs[2].seq == 2 && a->evs[2].kind == CS_ALLOC_MMAP && a->evs[2].ckpt == 0);
	assert_true(a->evs[3].seq == 3 && a->evs[3].in_ckpt && a->evs[3].ckpt == 1);
	assert_true(a->evs[4].seq == 3 && a->evs[4].in_ckpt && a->evs[4].ckpt == 2);
	assert_true(a->evs[5].seq == 4 && !a->evs[5].in_ckpt && a->evs[5].ckpt == 1);
	assert_true(a->evs[6].seq == 4 && a->evs[6].in_ckpt && a->evs[6].ckpt == 2);
	assert_true(a->evs[7].seq == 6 && a->evs[7].what == CS_AEV_FREE && a->evs[7].ckpt == 1);
	for (size_t i = 0; i < a->nevs; i++)
		assert_true(a->evs[i].what == CS_AEV_FREE ? a->evs[i].weight == 0
							  : a->evs[i].weight == a->evs[i].len);
}

/* A record of raw bytes: count, seq 0, raw_bytes n (or as given), raw codec. */
static void bad_pack(uint16_t type, uint32_t count, uint32_t raw_bytes, uint16_t codec,
		     const void *p, size_t n, const char *what)
{
	int fd = file42();

	tu_evpack_bytes(fd, type, count, 0, raw_bytes, codec, p, n);
	close(fd);
	expect_bad(what);
	cs_model_free(&m);
}

static void test_bad_evpack(void **state)
{
	uint8_t varint[16] = { CS_PEV_ALLOC | CS_PEV_SEQ_NEXT };
	uint8_t reserved[4] = { 0x40 | CS_PEV_FREE | CS_PEV_SEQ_NEXT, 2, 0, 0 };
	cs_pev_t e[2] = { PA(CS_ALLOC_MALLOC, 1, 0x1000, 16, 3), PF(CS_FREE_FREE, 2, 0x1000, 0) };
	uint8_t buf[2 * CS_PEV_MAX_BYTES];
	size_t n = tu_pack(0, e, 2, buf);

	(void)state;
	memset(varint + 1, 0x80, 11); /* a ptr varint of more than 10 bytes */
	bad_pack(CS_REC_EVPACK, 1, 16, CS_CODEC_RAW, varint, 16, "malformed packed events");
	bad_pack(CS_REC_EVPACK, 1, 4, CS_CODEC_RAW, reserved, 4, "malformed packed events");
	bad_pack(CS_REC_EVPACK, 1, (uint32_t)n - 1, CS_CODEC_RAW, buf, n - 1,
		 "malformed packed events"); /* the last varint cut */
	bad_pack(CS_REC_EVPACK, 3, (uint32_t)n, CS_CODEC_RAW, buf, n,
		 "event count does not match the packed events");
	bad_pack(CS_REC_EVPACK, 1, (uint32_t)n, CS_CODEC_RAW, buf, n,
		 "event count does not match the packed events");
	bad_pack(CS_REC_EVPACK, 100, (uint32_t)n, CS_CODEC_RAW, buf, n,
		 "event count does not match the packed events");
	bad_pack(CS_REC_EVPACK, 2, (uint32_t)n + 8, CS_CODEC_RAW, buf, n,
		 "raw_bytes does not match the record");
	bad_pack(CS_REC_EVPACK, 2, (16u << 20) + 1, CS_CODEC_RAW, buf, n,
		 "packed events over 16 MiB");
	bad_pack(CS_REC_EVPACK, 2, (uint32_t)n, 2, buf, n, "unknown packed-event codec");
	e[0].ptr = UINT64_MAX - 8;
	n = tu_pack(0, e, 1, buf);
	bad_pack(CS_REC_EVPACK, 1, (uint32_t)n, CS_CODEC_RAW, buf, n,
		 "allocation runs past the end of the address space");
}

static void test_bad_zstd(void **state)
{
	cs_pev_t e[2] = { PA(CS_ALLOC_MALLOC, 1, 0x1000, 16, 3), PF(CS_FREE_FREE, 2, 0x1000, 0) };
	uint8_t buf[2 * CS_PEV_MAX_BYTES], z[256];
	size_t n = tu_pack(0, e, 2, buf), zn = ZSTD_compress(z, sizeof(z), buf, n, 3);

	(void)state;
	assert_false(ZSTD_isError(zn));
	bad_pack(CS_REC_EVPACK, 2, (uint32_t)n, CS_CODEC_ZSTD, "garbage!", 8,
		 "packed events are not one zstd frame");
	z[zn] = 0xff; /* a frame, then something else */
	bad_pack(CS_REC_EVPACK, 2, (uint32_t)n, CS_CODEC_ZSTD, z, zn + 1,
		 "packed events are not one zstd frame");
	bad_pack(CS_REC_EVPACK, 2, (uint32_t)n + 1, CS_CODEC_ZSTD, z, zn,
		 "zstd frame does not decompress to raw_bytes");
	bad_pack(CS_REC_EVPACK, 2, (uint32_t)n - 1, CS_CODEC_ZSTD, z, zn,
		 "zstd frame does not decompress to raw_bytes");
	bad_pack(CS_REC_EVPACK, 3, (uint32_t)n, CS_CODEC_ZSTD, z, zn,
		 "event count does not match the packed events");
}

static void test_bad_liveset(void **state)
{
	cs_pev_t e[2] = { PA(CS_ALLOC_MALLOC, 1, 0x1000, 16, 3),
			  PA(CS_ALLOC_MMAP, 2, 0x100000, 4096, 0) };
	uint8_t buf[2 * CS_PEV_MAX_BYTES];
	size_t n = tu_pack(9, e, 2, buf);

	(void)state;
	bad_pack(CS_REC_LIVESET, 2, (uint32_t)n, CS_CODEC_RAW, buf, n,
		 "a live-set entry that is not a malloc block");
	e[1] = PF(CS_FREE_FREE, 2, 0x1000, 0);
	n = tu_pack(0, e, 2, buf);
	bad_pack(CS_REC_LIVESET, 2, (uint32_t)n, CS_CODEC_RAW, buf, n, "a free in a live set");
}

/* EVPACK in a 1.6 file: refused; in a newer minor's, unknown kinds and codecs are skipped. */
static void test_evpack_versions(void **state)
{
	cs_pev_t e[3] = { PA(CS_ALLOC_MALLOC, 1, 0x1000, 16, 3), PA(5, 2, 0x2000, 16, 0),
			  PF(6, 3, 0x1000, 0) };
	uint8_t buf[3 * CS_PEV_MAX_BYTES];
	size_t n = tu_pack(0, e, 3, buf);
	uint16_t minor = CS_TRACE_MINOR + 1;
	cs_diag_t d = { "" };
	int fd = tu_open_minor(dir, "42.0.cst", CS_FILE_PROCESS, 42, 6);

	(void)state;
	tu_proc(fd, 42, 1, 0, CS_ROLE_ROOT, "prog");
	tu_evpack(fd, CS_REC_EVPACK, 0, e, 1, CS_CODEC_RAW);
	close(fd);
	expect_bad("record type 32 is newer than the file's version 1.6");
	cs_model_free(&m);
	fd = tu_open_minor(dir, "42.0.cst", CS_FILE_PROCESS, 42, minor);
	tu_proc(fd, 42, 1, 0, CS_ROLE_ROOT, "prog");
	tu_evpack(fd, CS_REC_EVPACK, 0, e, 3, CS_CODEC_RAW);
	tu_evpack_bytes(fd, CS_REC_EVPACK, 3, 0, (uint32_t)n, 7, buf, n); /* a newer codec */
	tu_liveset(fd, 9, e, 2); /* a newer kind in a live set */
	close(fd);
	assert_int_equal(load(&d), 0);
	assert_int_equal(alloc_of(42)->nevs, 2);
	assert_true(alloc_of(42)->evs[0].seq == 1 && !alloc_of(42)->evs[0].in_ckpt);
	assert_true(alloc_of(42)->evs[1].seq == 1 && alloc_of(42)->evs[1].in_ckpt);
}

/* Past the memory cap, EVPACK and LIVESET events are counted, not kept. */
static void test_evpack_memory_cap(void **state)
{
	cs_pev_t e[3] = { PA(CS_ALLOC_MALLOC, 1, 0x1000, 16, 3),
			  PA(CS_ALLOC_MALLOC, 2, 0x2000, 16, 0), PF(CS_FREE_FREE, 3, 0x1000, 0) };
	cs_diag_t d = { "" };
	int fd = file_n(42, 1);

	(void)state;
	tu_evpack(fd, CS_REC_EVPACK, 0, e, 3, CS_CODEC_ZSTD);
	tu_liveset(fd, 9, e, 2);
	close(fd);
	assert_int_equal(cs_model_load_capped(&m, dir, 1, &d), 0);
	assert_int_equal(alloc_of(42)->nevs, 0);
	assert_int_equal(alloc_of(42)->nckpts, 0);
	assert_int_equal(alloc_of(42)->skipped_evs, 5);
	assert_int_equal(m.skipped_evs, 5);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_reads_every_record, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_sampling, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_module_segments, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_module_build_id_and_path, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_stack, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_allocs, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_frees_and_fork_point, setup, teardown),
		cmocka_unit_test_setup_teardown(test_report_exits_3, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cut_tail_keeps_whole_records, setup, teardown),
		cmocka_unit_test_setup_teardown(test_newer_minor_kinds_skipped, setup, teardown),
		cmocka_unit_test_setup_teardown(test_evpack_equals_allocs_frees, setup, teardown),
		cmocka_unit_test_setup_teardown(test_evpack_weights, setup, teardown),
		cmocka_unit_test_setup_teardown(test_liveset_loads, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_evpack, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_zstd, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_liveset, setup, teardown),
		cmocka_unit_test_setup_teardown(test_evpack_versions, setup, teardown),
		cmocka_unit_test_setup_teardown(test_evpack_memory_cap, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
