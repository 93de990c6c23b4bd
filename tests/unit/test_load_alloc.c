/* SPDX-License-Identifier: MIT */
/* Unit tests: reading format 1.1 allocation records, corrupt ones named, a cut tail kept. */
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
#include "cli.h"
#include "cs_testmodel.h"
#include "cs_testutil.h"
#include "model.h"
#include "record.h"

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
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
