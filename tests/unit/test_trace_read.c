/* SPDX-License-Identifier: MIT */
/* Unit tests: the trace reader (and the supervisor's bounded reading) on truncated, corrupt, foreign
 * and newer-version files, and the record table's checks. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>
#include "analyze.h"
#include "cs_testutil.h"
#include "model.h"
#include "load_file.h"
#include "record.h"
#include "supervise.h"
#include "trace_read.h"

typedef struct fx {
	char *dir;
	int dirfd;
	char path[4096];
} fx_t;

static int setup(void **state)
{
	fx_t *f = calloc(1, sizeof(*f));

	f->dir = tu_mkdtemp();
	f->dirfd = open(f->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fx_t *f = *state;

	close(f->dirfd);
	tu_rmtree(f->dir);
	free(f->dir);
	free(f);
	return 0;
}

static const char *path_of(fx_t *f, const char *name)
{
	snprintf(f->path, sizeof(f->path), "%s/%s", f->dir, name);
	return f->path;
}

/* A process file: header, PROC, BACKEND, END. */
static void good_file(fx_t *f, const char *name)
{
	int fd = tu_open(f->dir, name, CS_FILE_PROCESS, 42, 0);

	tu_proc(fd, 42, 1, 0, CS_ROLE_ROOT, "prog");
	tu_backend(fd, CS_BACKEND_UFFD_WP, "");
	tu_end(fd, CS_END_EXIT, 0, 5000);
	close(fd);
}

/* Cut a file to n bytes. */
static void cut(fx_t *f, const char *name, off_t n)
{
	assert_int_equal(truncate(path_of(f, name), n), 0);
}

static off_t size_of(fx_t *f, const char *name)
{
	size_t n;
	free(tu_slurp(path_of(f, name), &n));
	return (off_t)n;
}

/* Count the records of a file; *truncated tells how it ended. */
static int count_records(fx_t *f, const char *name, bool *truncated, cs_diag_t *d)
{
	cs_trace_t t;
	cs_rec_t r;
	int n = 0, got, err = cs_trace_open(&t, f->dirfd, name, path_of(f, name), d);

	if (err)
		return err;
	while ((got = cs_trace_next(&t, &r, d)) > 0)
		n++;
	*truncated = t.truncated;
	cs_trace_close(&t);
	return got < 0 ? got : n;
}

static void test_whole_file(void **state)
{
	fx_t *f = *state;
	cs_diag_t d = { "" };
	bool trunc = true;

	good_file(f, "42.0.cst");
	assert_int_equal(count_records(f, "42.0.cst", &trunc, &d), 3);
	assert_false(trunc);
}

static void test_truncated_mid_record_keeps_whole_ones(void **state)
{
	fx_t *f = *state;
	cs_diag_t d = { "" };
	cs_model_t m;
	bool trunc = false;

	good_file(f, "42.0.cst");
	cut(f, "42.0.cst", size_of(f, "42.0.cst") - 5); /* inside END */
	assert_int_equal(count_records(f, "42.0.cst", &trunc, &d), 2);
	assert_true(trunc);
	assert_int_equal(cs_model_load(&m, f->dir, &d), 0);
	assert_int_equal(m.nprocs, 1);
	assert_true(m.procs[0].has_proc);
	assert_true(m.procs[0].has_backend);
	assert_false(m.procs[0].complete);
	assert_string_equal(m.procs[0].incomplete, "its trace was cut short");
	cs_model_free(&m);
}

static void test_truncated_in_record_header_and_file_header(void **state)
{
	fx_t *f = *state;
	cs_diag_t d = { "" };
	cs_model_t m;
	bool trunc = false;

	good_file(f, "42.0.cst");
	cut(f, "42.0.cst", size_of(f, "42.0.cst") - 20); /* 4 bytes of END's header */
	assert_int_equal(count_records(f, "42.0.cst", &trunc, &d), 2);
	assert_true(trunc);
	cut(f, "42.0.cst", 20); /* inside the file header */
	assert_int_equal(count_records(f, "42.0.cst", &trunc, &d), 0);
	assert_true(trunc);
	assert_int_equal(cs_model_load(&m, f->dir, &d), 0);
	assert_int_equal(m.nprocs, 1);
	assert_int_equal(m.procs[0].pid, 42);
	assert_false(m.procs[0].complete);
	cs_model_free(&m);
}

static void test_bad_record_size(void **state)
{
	static const uint32_t sizes[] = { 12, 0, 4, CS_REC_MAX_BYTES + 8 };
	fx_t *f = *state;
	cs_diag_t d = { "" };
	char want[4200];
	bool trunc;

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		int fd = tu_open(f->dir, "42.0.cst", CS_FILE_PROCESS, 42, 0);
		cs_rec_hdr_t h = { CS_REC_NOTE, 0, sizes[i] };
		uint8_t pad[16] = { 0 };
		off_t off;

		tu_proc(fd, 42, 1, 0, CS_ROLE_ROOT, "prog");
		off = lseek(fd, 0, SEEK_END);
		tu_put(fd, &h, sizeof(h));
		tu_put(fd, pad, sizeof(pad));
		close(fd);
		assert_int_equal(count_records(f, "42.0.cst", &trunc, &d), -EBADMSG);
		snprintf(want, sizeof(want), "%s: record 2 at offset %lld: bad size %u",
			 path_of(f, "42.0.cst"), (long long)off, sizes[i]);
		assert_string_equal(d.msg, want);
	}
}

static void test_bad_size_fails_the_report(void **state)
{
	fx_t *f = *state;
	cs_diag_t d = { "" };
	cs_model_t m;
	int fd = tu_open(f->dir, "7.0.cst", CS_FILE_PROCESS, 7, 0);
	cs_rec_hdr_t h = { CS_REC_END, 0, 13 };

	tu_put(fd, &h, sizeof(h));
	close(fd);
	assert_int_equal(cs_model_load(&m, f->dir, &d), -EBADMSG);
	assert_non_null(strstr(d.msg, "7.0.cst: record 1 at offset 32: bad size 13"));
}

/* A PROC record whose string length runs past the record. */
static void test_bad_string_length(void **state)
{
	fx_t *f = *state;
	cs_diag_t d = { "" };
	cs_model_t m;
	uint8_t buf[256];
	cs_recbuf_t b = { .buf = buf, .cap = sizeof(buf) };
	cs_rec_proc_t *r = cs_rec_begin(&b, CS_REC_PROC, sizeof(*r));
	uint16_t len = 200;
	int fd = tu_open(f->dir, "42.0.cst", CS_FILE_PROCESS, 42, 0);
	char want[4200];

	r->pid = 42;
	r->page_size = TU_PAGE;
	cs_rec_put(&b, &len, sizeof(len));
	cs_rec_put(&b, "abc", 3);
	tu_end(fd, CS_END_EXIT, 0, 1);
	tu_put(fd, buf, cs_rec_finish(&b));
	close(fd);
	assert_int_equal(cs_model_load(&m, f->dir, &d), -EBADMSG);
	snprintf(want, sizeof(want), "%s: record 2 at offset 56: bad string length",
		 path_of(f, "42.0.cst"));
	assert_string_equal(d.msg, want);
}

/* Records whose counts disagree with their size: each an error naming the record. */
static void test_bad_counts(void **state)
{
	fx_t *f = *state;
	cs_diag_t d = { "" };
	cs_model_t m;
	struct {
		uint16_t type;
		size_t fixed;
		uint32_t count_at, count;
		const char *what;
	} cases[] = {
		{ CS_REC_PFNS, sizeof(cs_rec_pfns_t), offsetof(cs_rec_pfns_t, count), 3,
		  "bad frame number count" },
		{ CS_REC_COUNTERS, sizeof(cs_rec_counters_t), offsetof(cs_rec_counters_t, count), 9,
		  "bad counter count" },
		{ CS_REC_BACKEND, sizeof(cs_rec_backend_t), offsetof(cs_rec_backend_t, nentries), 2,
		  "bad backend entry count" },
		{ CS_REC_PAGES, sizeof(cs_rec_pages_t) + 8, 0, 0, "bad run count" },
		{ CS_REC_END, 8, 0, 0, "record too short for its type" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint8_t buf[64] = { 0 };
		cs_rec_hdr_t *h = (cs_rec_hdr_t *)buf;
		int fd = tu_open(f->dir, "42.0.cst", CS_FILE_PROCESS, 42, 0);

		h->type = cases[i].type;
		h->size = (uint32_t)((cases[i].fixed + 8 + 7) & ~(size_t)7);
		if (cases[i].type == CS_REC_END)
			h->size = 8;
		if (cases[i].type == CS_REC_PAGES)
			h->size = (uint32_t)cases[i].fixed;
		if (cases[i].count_at)
			memcpy(buf + cases[i].count_at, &cases[i].count,
			       cases[i].type == CS_REC_BACKEND ? 1 : 4);
		tu_put(fd, buf, h->size);
		close(fd);
		assert_int_equal(cs_model_load(&m, f->dir, &d), -EBADMSG);
		assert_non_null(strstr(d.msg, "42.0.cst: record 1 at offset 32: "));
		assert_non_null(strstr(d.msg, cases[i].what));
	}
}

static void test_foreign_file(void **state)
{
	fx_t *f = *state;
	cs_diag_t d = { "" };
	cs_model_t m;
	char junk[100];

	memset(junk, 'x', sizeof(junk));
	tu_write_file(f->dir, "1.0.cst", junk, sizeof(junk));
	assert_int_equal(cs_model_load(&m, f->dir, &d), -EBADMSG);
	assert_non_null(strstr(d.msg, "1.0.cst: not a cowscope trace (bad magic)"));
	tu_write_file(f->dir, "1.0.cst", "ELF", 3); /* short, and not a prefix of the magic */
	assert_int_equal(cs_model_load(&m, f->dir, &d), -EBADMSG);
	assert_non_null(strstr(d.msg, "bad magic"));
}

static void test_foreign_byte_order(void **state)
{
	fx_t *f = *state;
	cs_diag_t d = { "" };
	cs_model_t m;
	cs_file_hdr_t h;

	cs_file_hdr_init(&h, CS_FILE_PROCESS, 1, 0);
	h.byte_order = 0x04030201;
	tu_write_file(f->dir, "1.0.cst", &h, sizeof(h));
	assert_int_equal(cs_model_load(&m, f->dir, &d), -EBADMSG);
	assert_non_null(strstr(d.msg, "byte order"));
}

static void test_newer_major_names_both_versions(void **state)
{
	fx_t *f = *state;
	cs_diag_t d = { "" };
	cs_model_t m;
	cs_file_hdr_t h;
	char want[64];

	cs_file_hdr_init(&h, CS_FILE_PROCESS, 1, 0);
	h.version_major = CS_TRACE_MAJOR + 1;
	h.version_minor = 3;
	tu_write_file(f->dir, "1.0.cst", &h, sizeof(h));
	assert_int_equal(cs_model_load(&m, f->dir, &d), -EPROTONOSUPPORT);
	snprintf(want, sizeof(want), "version %d.3 is newer", CS_TRACE_MAJOR + 1);
	assert_non_null(strstr(d.msg, want));
	snprintf(want, sizeof(want), "cowscope's %d.%d", CS_TRACE_MAJOR, CS_TRACE_MINOR);
	assert_non_null(strstr(d.msg, want));
}

/* A newer minor: a bigger header, an unknown record type and set; all skipped. */
static void test_newer_minor_skips_unknown(void **state)
{
	fx_t *f = *state;
	cs_diag_t d = { "" };
	cs_model_t m;
	struct {
		cs_file_hdr_t h;
		uint8_t extra[8];
	} hdr = { 0 };
	uint8_t unknown[24] = { 0 };
	cs_rec_hdr_t uh = { 99, 0, sizeof(unknown) };
	cs_run_t run = { 5, 2 };
	int fd;

	cs_file_hdr_init(&hdr.h, CS_FILE_PROCESS, 42, 0);
	hdr.h.version_minor = CS_TRACE_MINOR + 1;
	hdr.h.header_bytes = sizeof(hdr);
	tu_write_file(f->dir, "42.0.cst", &hdr, sizeof(hdr));
	fd = open(path_of(f, "42.0.cst"), O_WRONLY | O_APPEND);
	memcpy(unknown, &uh, sizeof(uh));
	tu_put(fd, unknown, sizeof(unknown));
	tu_proc(fd, 42, 1, 0, CS_ROLE_ROOT, "prog");
	tu_snap_begin(fd, 0, CS_SNAP_API, 1, 10, 3);
	tu_pages(fd, 0, 77, &run, 1); /* a set this version does not know */
	tu_snap_end(fd, 0);
	tu_put(fd, unknown, sizeof(unknown));
	tu_end(fd, CS_END_EXIT, 0, 20);
	close(fd);
	assert_int_equal(cs_model_load(&m, f->dir, &d), 0);
	assert_int_equal(m.nprocs, 1);
	assert_true(m.procs[0].has_proc);
	assert_true(m.procs[0].has_end);
	assert_true(m.procs[0].complete);
	assert_int_equal(m.procs[0].nsnaps, 1);
	assert_int_equal(m.procs[0].fig.minor_faults, 3);
	cs_model_free(&m);
}

static void test_not_a_regular_file(void **state)
{
	fx_t *f = *state;
	cs_diag_t d = { "" };
	cs_model_t m;

	assert_int_equal(mkfifo(path_of(f, "3.0.cst"), 0600), 0);
	assert_int_equal(cs_model_load(&m, f->dir, &d), -EINVAL);
	assert_non_null(strstr(d.msg, "3.0.cst: not a regular file"));
}

/* Flip bytes of file `name` at random, or cut it short: any result but a crash. */
static void mutate(fx_t *f, const char *name, int rounds, uint32_t *x)
{
	cs_diag_t d = { "" };
	cs_model_t m;
	size_t n;
	char *orig = tu_slurp(path_of(f, name), &n);

	for (int i = 0; i < rounds; i++) {
		char *mut = malloc(n);

		memcpy(mut, orig, n);
		for (int k = 0; k < 1 + i % 4; k++) {
			*x = *x * 1664525u + 1013904223u;
			mut[(*x >> 8) % n] = (char)(*x >> 24);
		}
		tu_write_file(f->dir, name, mut, (i % 7) ? n : (*x >> 4) % n);
		if (cs_model_load(&m, f->dir, &d) == 0)
			cs_model_free(&m);
		free(mut);
	}
	tu_write_file(f->dir, name, orig, n);
	free(orig);
}

/* A run of every file kind, each mutated in turn. */
static void test_mutations_never_crash(void **state)
{
	fx_t *f = *state;
	cs_run_t runs[] = { { 16, 4 }, { 30, 2 } };
	uint64_t pfn[4] = { 1, 2, 3, 4 };
	uint32_t x = 12345;
	int fd = tu_open(f->dir, "9.0.cst", CS_FILE_PROCESS, 9, 0);

	tu_proc(fd, 9, 8, 0, CS_ROLE_CHILD, "child");
	tu_backend(fd, CS_BACKEND_PFN, "no");
	tu_shim_range(fd, 20 * TU_PAGE, 21 * TU_PAGE);
	tu_snap_begin(fd, 0, CS_SNAP_FORK, CS_BACKEND_PFN, 100, 0);
	tu_mapping(fd, 0, 16 * TU_PAGE, 40 * TU_PAGE, CS_MAP_HEAP, 1, "[heap]");
	tu_pages(fd, 0, CS_SET_PRESENT, runs, 2);
	tu_pages(fd, 0, CS_SET_EXCL, runs, 1);
	tu_pfns(fd, 0, 16, pfn, 4);
	tu_snap_end(fd, 0);
	tu_note(fd, CS_NOTE_LIMIT, 0, "a note");
	tu_counters(fd, pfn, 4);
	tu_fork(fd, 10, 0, 150);
	tu_end(fd, CS_END_EXEC, 0, 200);
	close(fd);
	fd = tu_open(f->dir, "9.0.samples.cst", CS_FILE_SAMPLES, 9, 0);
	tu_snap_begin(fd, 0, CS_SNAP_SAMPLE, CS_BACKEND_PFN, 150, 0);
	tu_mapping(fd, 0, 16 * TU_PAGE, 40 * TU_PAGE, CS_MAP_HEAP, 1, "[heap]");
	tu_pages(fd, 0, CS_SET_PRESENT, runs, 2);
	tu_pages(fd, 0, CS_SET_EXCL, runs, 2);
	tu_pfns(fd, 0, 17, pfn, 4);
	tu_snap_end(fd, 0);
	close(fd);
	fd = tu_open(f->dir, "run.cst", CS_FILE_RUN, 8, 0);
	tu_run(fd, 9, 100, "child");
	tu_child_exit(fd, 9, 0, 300);
	tu_run_end(fd, 0, 1, 1);
	close(fd);
	mutate(f, "9.0.cst", 2000, &x);
	mutate(f, "9.0.samples.cst", 1000, &x);
	mutate(f, "run.cst", 1000, &x);
}

/* A process file of pid 42 whose header says format 1.minor; returns its fd (O_APPEND). */
static int file_minor(fx_t *f, const char *name, uint16_t minor)
{
	cs_file_hdr_t h;
	int fd;

	cs_file_hdr_init(&h, CS_FILE_PROCESS, 42, 0);
	h.version_minor = minor;
	tu_write_file(f->dir, name, &h, sizeof(h));
	fd = open(path_of(f, name), O_WRONLY | O_APPEND | O_CLOEXEC);
	assert_true(fd >= 0);
	return fd;
}

/* Load the run directory: the error, and the exact message wanted (printf-style, the path first). */
static void expect_load_error(fx_t *f, const char *name, int err, const char *fmt, long long off,
			      unsigned a, unsigned b)
{
	cs_diag_t d = { "" };
	cs_model_t m;
	char want[4400], tail[200];

	assert_int_equal(cs_model_load(&m, f->dir, &d), err);
	snprintf(tail, sizeof(tail), fmt, off, a, b);
	snprintf(want, sizeof(want), "%s: %s", path_of(f, name), tail);
	assert_string_equal(d.msg, want);
}

/* A record shorter than its type's fixed part: the exact message, whatever the type. */
static void test_short_record_exact_error(void **state)
{
	static const struct {
		uint16_t type;
		size_t fixed;
	} types[] = { { CS_REC_FORK, sizeof(cs_rec_fork_t) },
		      { CS_REC_MAPPING, sizeof(cs_rec_mapping_t) },
		      { CS_REC_STACK, sizeof(cs_rec_stack_t) },
		      { CS_REC_MARK, sizeof(cs_rec_mark_t) },
		      { CS_REC_ALLOCATOR, sizeof(cs_rec_allocator_t) } };
	fx_t *f = *state;

	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		uint8_t buf[64] = { 0 };
		cs_rec_hdr_t h = { types[i].type, 0, (uint32_t)types[i].fixed - 8 }; /* 8 short */
		int fd = file_minor(f, "42.0.cst", CS_TRACE_MINOR);
		off_t off;

		tu_proc(fd, 42, 1, 0, CS_ROLE_ROOT, "prog");
		off = lseek(fd, 0, SEEK_END);
		memcpy(buf, &h, sizeof(h));
		tu_put(fd, buf, h.size);
		close(fd);
		expect_load_error(f, "42.0.cst", -EBADMSG,
				  "record 2 at offset %lld: record too short for its type", off, 0,
				  0);
	}
}

/* A record type newer than the minor version the file's header claims is an error. */
static void test_type_newer_than_file_version(void **state)
{
	fx_t *f = *state;
	cs_diag_t d = { "" };
	cs_model_t m;
	int fd = file_minor(f, "42.0.cst", 1);
	off_t off;

	tu_proc(fd, 42, 1, 0, CS_ROLE_ROOT, "prog");
	tu_sampling(fd, 512, 8); /* 1.1: fine in a 1.1 file */
	off = lseek(fd, 0, SEEK_END);
	tu_mark(fd, 5, 0, "late"); /* 1.2 */
	close(fd);
	expect_load_error(f, "42.0.cst", -EBADMSG,
			  "record 3 at offset %lld: record type %u is newer than the file's "
			  "version 1.%u",
			  off, CS_REC_MARK, 1);
	fd = file_minor(f, "42.0.cst", 0);
	tu_proc(fd, 42, 1, 0, CS_ROLE_ROOT, "prog");
	off = lseek(fd, 0, SEEK_END);
	tu_sampling(fd, 512, 8); /* 1.1 in a 1.0 file */
	close(fd);
	expect_load_error(f, "42.0.cst", -EBADMSG,
			  "record 2 at offset %lld: record type %u is newer than the file's "
			  "version 1.%u",
			  off, CS_REC_SAMPLING, 0);
	fd = file_minor(f, "42.0.cst", 2);
	tu_proc(fd, 42, 1, 0, CS_ROLE_ROOT, "prog");
	tu_mark(fd, 5, 0, "late"); /* 1.2 in a 1.2 file: read */
	close(fd);
	assert_int_equal(cs_model_load(&m, f->dir, &d), 0);
	assert_int_equal(m.procs[0].nmarks, 1);
	assert_string_equal(m.procs[0].marks[0].label, "late");
	cs_model_free(&m);
}

/* The table's verdicts: unknown type of a newer minor skipped, foreign kind skipped, else read. */
static void test_admit_verdicts(void **state)
{
	fx_t *f = *state;
	cs_trace_t t = { .path = "x.cst", .has_hdr = true };
	uint64_t buf[8] = { 0 };
	cs_rec_hdr_t h = { 99, 0, sizeof(buf) };
	cs_rec_t r = { .p = (const uint8_t *)buf,
		       .size = sizeof(buf),
		       .have = sizeof(buf),
		       .recno = 4,
		       .off = 200 };
	cs_diag_t d = { "" };
	cs_fixed_t fx;
	cs_cur_t c;

	(void)f;
	cs_file_hdr_init(&t.hdr, CS_FILE_PROCESS, 1, 0);
	t.hdr.version_minor = CS_TRACE_MINOR + 1;
	memcpy(buf, &h, sizeof(h));
	r.type = 99; /* a newer minor's type */
	assert_int_equal(cs_rec_admit(&t, &r, &fx, &c, &d), 0);
	r.type = CS_REC_RUN; /* belongs in run.cst only: skipped here, even too short */
	r.size = r.have = 8;
	assert_int_equal(cs_rec_admit(&t, &r, &fx, &c, &d), 0);
	assert_string_equal(d.msg, "");
	r.type = CS_REC_FORK;
	r.size = r.have = sizeof(buf);
	buf[1] = 1234; /* child_pid */
	assert_int_equal(cs_rec_admit(&t, &r, &fx, &c, &d), 1);
	assert_int_equal(fx.fork.child_pid, 1234);
	assert_int_equal(c.off, sizeof(cs_rec_fork_t));
	assert_int_equal(cs_cur_left(&c), sizeof(buf) - sizeof(cs_rec_fork_t));
	r.size = r.have = 24;
	assert_int_equal(cs_rec_admit(&t, &r, &fx, &c, &d), -EBADMSG);
	assert_string_equal(d.msg, "x.cst: record 4 at offset 200: record too short for its type");
	t.hdr.version_minor = 0;
	r.type = CS_REC_ALLOCATOR;
	r.size = r.have = sizeof(buf);
	assert_int_equal(cs_rec_admit(&t, &r, &fx, &c, &d), -EBADMSG);
	assert_string_equal(d.msg,
			    "x.cst: record 4 at offset 200: record type 24 is newer than "
			    "the file's version 1.0");
}

/* Follow name as the supervisor does: open, read what is there, close. */
static int head_follow(fx_t *f, cs_head_t *h, const char *name, cs_diag_t *d)
{
	int fd = open(path_of(f, name), O_RDONLY | O_CLOEXEC), err;

	assert_true(fd >= 0);
	err = cs_head_follow(h, fd, f->path, d);
	close(fd);
	return err;
}

/* The supervisor's reading refuses a newer (and a 0) major with the loader's very message. */
static void test_head_newer_major_same_message(void **state)
{
	static const uint16_t majors[] = { CS_TRACE_MAJOR + 1, 0 };
	fx_t *f = *state;

	for (size_t i = 0; i < sizeof(majors) / sizeof(majors[0]); i++) {
		cs_diag_t dl = { "" }, dh = { "" };
		cs_head_t h = { 0 };
		cs_file_hdr_t hdr;
		cs_model_t m;

		cs_file_hdr_init(&hdr, CS_FILE_PROCESS, 1, 0);
		hdr.version_major = majors[i];
		hdr.version_minor = 7;
		tu_write_file(f->dir, "1.0.cst", &hdr, sizeof(hdr));
		assert_int_equal(cs_model_load(&m, f->dir, &dl), -EPROTONOSUPPORT);
		assert_int_equal(head_follow(f, &h, "1.0.cst", &dh), -EPROTONOSUPPORT);
		assert_string_equal(dh.msg, dl.msg);
		assert_non_null(strstr(dh.msg, "1.0.cst: trace format version "));
		assert_false(h.have_proc);
		cs_head_free(&h);
	}
}

/* A too-short record and a type newer than the file: the supervisor stops with the loader's words. */
static void test_head_record_errors_same_message(void **state)
{
	fx_t *f = *state;
	cs_rec_hdr_t shortrec = { CS_REC_SNAP_END, 0, 8 };

	for (int i = 0; i < 2; i++) {
		cs_diag_t dl = { "" }, dh = { "" };
		cs_head_t h = { 0 };
		cs_model_t m;
		int fd = file_minor(f, "42.0.cst", i ? 1 : CS_TRACE_MINOR);
		char at[64];

		tu_proc(fd, 42, 1, 0, CS_ROLE_CHILD, "prog");
		snprintf(at, sizeof(at),
			 "42.0.cst: record 2 at offset %lld: ", (long long)lseek(fd, 0, SEEK_END));
		if (i)
			tu_mark(fd, 1, 0, "m"); /* 1.2 in a 1.1 file */
		else
			tu_put(fd, &shortrec, sizeof(shortrec));
		close(fd);
		assert_int_equal(cs_model_load(&m, f->dir, &dl), -EBADMSG);
		assert_int_equal(head_follow(f, &h, "42.0.cst", &dh), -EBADMSG);
		assert_string_equal(dh.msg, dl.msg);
		assert_non_null(strstr(dh.msg, at));
		assert_true(h.have_proc); /* what came before the bad record was read */
		cs_head_free(&h);
	}
}

/*
 * A file followed as it grows: a header cut short waits, each record is taken
 * only once whole, an unknown newer-minor type is skipped, a 1 MiB record is
 * stepped over with a bounded read, and the facts the sampler needs come out.
 */
static void test_head_follows_growing_file(void **state)
{
	fx_t *f = *state;
	cs_diag_t d = { "" };
	cs_head_t h = { 0 };
	cs_file_hdr_t hdr;
	cs_rec_snap_end_t se = { .h = { CS_REC_SNAP_END, 0, sizeof(se) }, .seq = 3 };
	uint64_t unknown[3] = { 0 };
	cs_rec_hdr_t uh = { 99, 0, sizeof(unknown) };
	size_t big = (1u << 20) + sizeof(cs_rec_pages_t);
	cs_rec_pages_t *pages = calloc(1, big);
	int fd;

	cs_file_hdr_init(&hdr, CS_FILE_PROCESS, 42, 0);
	hdr.version_minor = CS_TRACE_MINOR + 1;
	tu_write_file(f->dir, "42.0.cst", &hdr, 20); /* the header, cut short */
	assert_int_equal(head_follow(f, &h, "42.0.cst", &d), 0);
	assert_false(h.t.has_hdr);
	tu_write_file(f->dir, "42.0.cst", &hdr, sizeof(hdr));
	fd = open(path_of(f, "42.0.cst"), O_WRONLY | O_APPEND | O_CLOEXEC);
	memcpy(unknown, &uh, sizeof(uh));
	tu_put(fd, unknown, sizeof(unknown));
	tu_proc(fd, 42, 1, 0, CS_ROLE_CHILD, "prog");
	tu_backend(fd, CS_BACKEND_SOFT_DIRTY, "");
	tu_snap_begin(fd, 3, CS_SNAP_FORK, CS_BACKEND_SOFT_DIRTY, 10, 0);
	tu_put(fd, &se, 12); /* SNAP_END, not all written yet */
	assert_int_equal(head_follow(f, &h, "42.0.cst", &d), 0);
	assert_true(h.have_proc && h.role == CS_ROLE_CHILD && h.start_ns == 1000);
	assert_int_equal(h.backend, CS_BACKEND_SOFT_DIRTY);
	assert_true(h.fork_seq_known && h.fork_seq == 3);
	assert_false(h.fork_done);
	assert_int_equal(h.t.recno, 4);
	tu_put(fd, (uint8_t *)&se + 12, sizeof(se) - 12);
	assert_int_equal(head_follow(f, &h, "42.0.cst", &d), 0);
	assert_true(h.fork_done);
	pages->h = (cs_rec_hdr_t){ CS_REC_PAGES, 0, (uint32_t)big };
	pages->seq = 9;
	tu_put(fd, pages, 4096); /* a 1 MiB record, its first page only */
	assert_int_equal(head_follow(f, &h, "42.0.cst", &d), 0);
	assert_int_equal(h.t.recno, 5);
	tu_put(fd, (uint8_t *)pages + 4096, big - 4096);
	tu_put(fd, pages, big); /* and a second one, whole */
	tu_end(fd, CS_END_EXIT, 0, 50);
	close(fd);
	free(pages);
	assert_false(h.ended);
	assert_int_equal(head_follow(f, &h, "42.0.cst", &d), 0);
	assert_true(h.ended);
	assert_int_equal(h.t.recno, 8);
	assert_true(h.t.len <= CS_REC_PEEK); /* only the beginning of each record was read */
	assert_string_equal(d.msg, "");
	cs_head_free(&h);
}

/* cs_trace_follow reads a 1 MiB record's beginning only: r.have bytes, never the whole. */
static void test_follow_reads_bounded(void **state)
{
	fx_t *f = *state;
	cs_diag_t d = { "" };
	cs_trace_t t;
	cs_rec_t r;
	size_t big = (1u << 20) + sizeof(cs_rec_pages_t);
	cs_rec_pages_t *pages = calloc(1, big);
	int fd = file_minor(f, "42.0.cst", CS_TRACE_MINOR), rfd;

	pages->h = (cs_rec_hdr_t){ CS_REC_PAGES, 0, (uint32_t)big };
	pages->seq = 77;
	tu_put(fd, pages, big);
	tu_end(fd, CS_END_EXIT, 0, 50);
	close(fd);
	free(pages);
	rfd = open(path_of(f, "42.0.cst"), O_RDONLY | O_CLOEXEC);
	assert_int_equal(cs_trace_follow_init(&t, "p"), 0);
	assert_int_equal(cs_trace_follow(&t, rfd, &r, &d), 1);
	assert_int_equal(r.type, CS_REC_PAGES);
	assert_int_equal(r.size, big);
	assert_int_equal(r.have, CS_REC_PEEK);
	assert_int_equal(r.off, 32);
	assert_int_equal(((const cs_rec_pages_t *)r.p)->seq, 77);
	assert_int_equal(cs_trace_follow(&t, rfd, &r, &d), 1);
	assert_int_equal(r.type, CS_REC_END);
	assert_int_equal(r.have, sizeof(cs_rec_end_t));
	assert_int_equal(r.recno, 2);
	assert_int_equal(r.off, 32 + big);
	assert_int_equal(cs_trace_follow(&t, rfd, &r, &d), 0);
	cs_trace_close(&t);
	close(rfd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_whole_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_truncated_mid_record_keeps_whole_ones, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_truncated_in_record_header_and_file_header,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_record_size, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_size_fails_the_report, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_string_length, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_counts, setup, teardown),
		cmocka_unit_test_setup_teardown(test_foreign_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_foreign_byte_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_newer_major_names_both_versions, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_newer_minor_skips_unknown, setup, teardown),
		cmocka_unit_test_setup_teardown(test_not_a_regular_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mutations_never_crash, setup, teardown),
		cmocka_unit_test_setup_teardown(test_short_record_exact_error, setup, teardown),
		cmocka_unit_test_setup_teardown(test_type_newer_than_file_version, setup, teardown),
		cmocka_unit_test_setup_teardown(test_admit_verdicts, setup, teardown),
		cmocka_unit_test_setup_teardown(test_head_newer_major_same_message, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_head_record_errors_same_message, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_head_follows_growing_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_follow_reads_bounded, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
