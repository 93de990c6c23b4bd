/* SPDX-License-Identifier: MIT */
/* Unit tests: the writer's descriptor guard and harvests of this very process (whole, a range). */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>
#include "backend.h"
#include "harvest.h"
#include "prim.h"
#include "record.h"
#include "writer.h"

static char dir[64];
static int dirfd_;

static int setup(void **state)
{
	(void)state;
	strcpy(dir, "/tmp/cs_unit.XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	dirfd_ = open(dir, O_RDONLY | O_DIRECTORY);
	return dirfd_ < 0;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	close(dirfd_);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd);
}

static long file_size(const char *name)
{
	struct stat st;

	return fstatat(dirfd_, name, &st, 0) == 0 ? (long)st.st_size : -1;
}

/*
 * At offset off of the file: a CS_REC_NOTE (code, err) whose text is
 * NUL-free, then exactly one more record of tail bytes, ending the file.
 */
static void expect_note(const char *name, size_t off, uint32_t code, int err, size_t tail)
{
	uint8_t buf[4096];
	const cs_rec_note_t *n = (const cs_rec_note_t *)(buf + off);
	int fd = openat(dirfd_, name, O_RDONLY);
	long got = read(fd, buf, sizeof(buf));

	close(fd);
	assert_true(got > (long)(off + sizeof(*n)));
	assert_int_equal(n->h.type, CS_REC_NOTE);
	assert_int_equal(n->code, code);
	assert_int_equal(n->err, err);
	assert_int_equal(n->h.size % 8, 0);
	assert_int_equal((size_t)got, off + n->h.size + tail);
}

static void test_create_is_exclusive_and_private(void **state)
{
	cs_writer_t a, b;
	struct stat st;

	(void)state;
	assert_int_equal(cs_writer_create(&a, dirfd_, CS_FILE_PROCESS, 42, ".cst"), 0);
	assert_int_equal(cs_writer_create(&b, dirfd_, CS_FILE_PROCESS, 42, ".cst"), 0);
	assert_string_equal(a.name, "42.0.cst");
	assert_string_equal(b.name, "42.1.cst"); /* the next exec generation */
	assert_int_equal(fstatat(dirfd_, "42.0.cst", &st, 0), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(file_size("42.0.cst"), sizeof(cs_file_hdr_t));
	assert_int_equal(cs_writer_create_gen(&b, dirfd_, CS_FILE_PROCESS, 42, 0, ".cst"), -EEXIST);
	assert_true(a.fd >= CS_PRIM_FD_MIN); /* moved out of the program's way */
	assert_true(fcntl(a.fd, F_GETFD) & FD_CLOEXEC);
	cs_writer_close(&a);
}

/* A program closes our descriptor and opens its own file on the same number. */
static void test_reused_descriptor_is_not_written(void **state)
{
	cs_writer_t w;
	char victim[96], rec[8] = { 1, 0, 0, 0, 8, 0, 0, 0 };
	int fd, reused;

	(void)state;
	assert_int_equal(cs_writer_create(&w, dirfd_, CS_FILE_PROCESS, 43, ".cst"), 0);
	reused = w.fd;
	close(w.fd);
	snprintf(victim, sizeof(victim), "%s/victim", dir);
	fd = open(victim, O_WRONLY | O_CREAT, 0600);
	assert_true(fd >= 0);
	if (fd != w.fd) {
		assert_int_equal(dup2(fd, w.fd), w.fd);
		close(fd);
	}
	assert_int_equal(cs_writer_put(&w, rec, sizeof(rec)), 0);
	assert_int_equal(w.reopens, 1);
	assert_int_equal(file_size("victim"), 0);
	expect_note("43.0.cst", sizeof(cs_file_hdr_t), CS_NOTE_FD, EBADF, sizeof(rec));
	assert_true(w.fd >= CS_PRIM_FD_MIN); /* reopened high */
	assert_true(w.fd != reused);
	cs_writer_close(&w);
	assert_true(fcntl(reused, F_GETFD) >= 0); /* never closed by the writer: the victim's */
	close(reused);
}

/* With a descriptor limit below CS_PRIM_FD_MIN no descriptor is kept: open-append-close. */
static void test_low_limit_keeps_no_descriptor(void **state)
{
	struct rlimit old, low = { 32, 32 };
	char rec[8] = { 1, 0, 0, 0, 8, 0, 0, 0 };
	cs_writer_t w;
	int probe;

	(void)state;
	assert_int_equal(getrlimit(RLIMIT_NOFILE, &old), 0);
	low.rlim_max = old.rlim_max;
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &low), 0);
	probe = dup(0);
	assert_int_equal(cs_writer_create(&w, dirfd_, CS_FILE_PROCESS, 46, ".cst"), 0);
	assert_int_equal(w.fd, -1);
	assert_int_equal(w.transient, 1);
	assert_int_equal(dup(0), probe + 1); /* nothing of ours below the limit */
	close(probe + 1);
	close(probe);
	assert_int_equal(cs_writer_put(&w, rec, sizeof(rec)), 0);
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &old), 0);
	expect_note("46.0.cst", sizeof(cs_file_hdr_t), CS_NOTE_FD, EMFILE, sizeof(rec));
	cs_writer_close(&w);
}

/*
 * A short write (here RLIMIT_FSIZE, as a full disk would) leaves no partial
 * record: the file is cut back, the record counted, and the next record that
 * fits is preceded by a CS_NOTE_WRITE_LOST note.
 */
static void test_short_write_is_cut_and_noted(void **state)
{
	size_t hdr = sizeof(cs_file_hdr_t);
	struct rlimit old, small = { hdr + 64 + 20, 0 };
	uint8_t rec[64];
	cs_writer_t w;

	(void)state;
	memset(rec, 0, sizeof(rec));
	rec[0] = 1;
	rec[4] = sizeof(rec);
	signal(SIGXFSZ, SIG_IGN);
	assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
	small.rlim_max = old.rlim_max;
	assert_int_equal(cs_writer_create(&w, dirfd_, CS_FILE_PROCESS, 47, ".cst"), 0);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &small), 0);
	assert_int_equal(cs_writer_put(&w, rec, sizeof(rec)), 0);
	assert_int_equal(cs_writer_put(&w, rec, sizeof(rec)), -EFBIG); /* 20 bytes fit, then not */
	assert_int_equal(file_size("47.0.cst"), hdr + sizeof(rec));    /* cut back: no partial */
	assert_int_equal(cs_writer_put(&w, rec, sizeof(rec)), -EFBIG);
	assert_int_equal(w.lost, 2);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
	assert_int_equal(cs_writer_put(&w, rec, sizeof(rec)), 0);
	assert_int_equal(w.lost, 0);
	assert_int_equal(w.lost_total, 2);
	expect_note("47.0.cst", hdr + sizeof(rec), CS_NOTE_WRITE_LOST, EFBIG, sizeof(rec));
	cs_writer_close(&w);
}

/* A record of n bytes (n a multiple of 8) with type 1 and its first data byte tag. */
static void mkrec(uint8_t *r, size_t n, uint8_t tag)
{
	memset(r, 0, n);
	r[0] = 1;
	r[4] = (uint8_t)n;
	r[8] = tag;
}

/*
 * A batch: records gather in the buffer (the file does not grow), a record
 * that does not fit flushes the batch first, one larger than the buffer is
 * written alone, a nested begin gathers into the open batch, and the
 * descriptor is checked once, when the batch is written: replaced meanwhile
 * (close + dup2 of the program's file), it is reopened, the program's file
 * stays empty, and the records land in order after a CS_NOTE_FD note.
 */
static void test_batch_gathers_then_guards(void **state)
{
	size_t hdr = sizeof(cs_file_hdr_t), off;
	uint8_t buf[64], r16[16], r40[40], r96[96], d[1024];
	char victim[96];
	cs_writer_t w;
	int fd, b, rfd;
	long got;

	(void)state;
	assert_int_equal(cs_writer_create(&w, dirfd_, CS_FILE_PROCESS, 48, ".cst"), 0);
	b = cs_writer_batch_begin(&w, buf, sizeof(buf));
	assert_int_equal(b, 1);
	assert_int_equal(cs_writer_batch_begin(&w, buf, sizeof(buf)), 0); /* nested */
	mkrec(r16, sizeof(r16), 1);
	for (int i = 0; i < 3; i++)
		assert_int_equal(cs_writer_put(&w, r16, sizeof(r16)), 0);
	assert_int_equal(file_size("48.0.cst"), hdr); /* gathered, not written */
	mkrec(r40, sizeof(r40), 2);
	assert_int_equal(cs_writer_put(&w, r40, sizeof(r40)), 0); /* 48 + 40 > 64: flush first */
	assert_int_equal(file_size("48.0.cst"), hdr + 48);
	mkrec(r96, sizeof(r96), 3);
	assert_int_equal(cs_writer_put(&w, r96, sizeof(r96)),
			 0); /* never fits: flush, then alone */
	assert_int_equal(file_size("48.0.cst"), hdr + 48 + 40 + 96);
	assert_int_equal(cs_writer_put(&w, r16, sizeof(r16)), 0);
	rfd = w.fd;
	close(w.fd);
	snprintf(victim, sizeof(victim), "%s/victim48", dir);
	fd = open(victim, O_WRONLY | O_CREAT, 0600);
	assert_true(fd >= 0);
	if (fd != rfd) {
		assert_int_equal(dup2(fd, rfd), rfd);
		close(fd);
	}
	assert_int_equal(cs_writer_batch_end(&w, 0), 0); /* the nested end: nothing yet */
	assert_int_equal(file_size("48.0.cst"), hdr + 48 + 40 + 96);
	assert_int_equal(cs_writer_batch_end(&w, b), 0);
	assert_int_equal(w.reopens, 1);
	assert_int_equal(file_size("victim48"), 0);
	off = hdr + 48 + 40 + 96;
	expect_note("48.0.cst", off, CS_NOTE_FD, EBADF, sizeof(r16));
	fd = openat(dirfd_, "48.0.cst", O_RDONLY);
	got = read(fd, d, sizeof(d));
	close(fd);
	assert_true(got > 0);
	assert_int_equal(d[hdr + 8], 1);              /* the three 16-byte records first */
	assert_int_equal(d[hdr + 48 + 8], 2);         /* then the 40-byte one */
	assert_int_equal(d[hdr + 48 + 40 + 8], 3);    /* then the large one */
	assert_int_equal(d[(size_t)got - 16 + 8], 1); /* the last, after the note */
	assert_int_equal(cs_writer_put(&w, r16, sizeof(r16)), 0); /* no batch: written at once */
	assert_int_equal(file_size("48.0.cst"), got + 16);
	cs_writer_close(&w);
	close(rfd);
}

/* Count pages of a set in [lo, hi) over every CS_REC_PAGES record of snapshot seq. */
static uint64_t count_set(const uint8_t *d, size_t n, uint8_t set, uint64_t lo, uint64_t hi)
{
	uint64_t total = 0;

	for (size_t off = sizeof(cs_file_hdr_t); off + 8 <= n;) {
		const cs_rec_hdr_t *h = (const void *)(d + off);

		if (h->type == CS_REC_PAGES && ((const cs_rec_pages_t *)h)->set == set) {
			const cs_run_t *r = (const void *)(d + off + sizeof(cs_rec_pages_t));

			for (size_t i = 0; i < (h->size - sizeof(cs_rec_pages_t)) / 16; i++) {
				uint64_t a = r[i].first_page > lo ? r[i].first_page : lo;
				uint64_t b = r[i].first_page + r[i].npages;

				b = b < hi ? b : hi;
				total += b > a ? b - a : 0;
			}
		}
		off += h->size;
	}
	return total;
}

/*
 * The exclusive runs the harvest kept: ascending, disjoint, in scratch's
 * tail, and covering exactly want pages of [lo, hi).
 */
static void expect_kept_runs(const cs_harvest_t *h, uint64_t lo, uint64_t hi, uint64_t want)
{
	const cs_run_t *r = cs_harvest_excl(h);
	uint64_t in = 0, prev_end = 0;

	assert_non_null(r);
	assert_ptr_equal(r, h->scratch + CS_HARVEST_SCRATCH - CS_HARVEST_RUNS_BYTES);
	assert_true(h->excl_n > 0 && h->excl_n <= CS_HARVEST_RUNS_MAX);
	for (uint32_t i = 0; i < h->excl_n; i++) {
		uint64_t a = r[i].first_page, b = a + r[i].npages;

		assert_true(r[i].npages > 0 && a > prev_end); /* ascending; adjacent runs merged */
		prev_end = b;
		a = a < lo ? lo : a;
		b = b > hi ? hi : b;
		in += b > a ? b - a : 0;
	}
	assert_int_equal(in, want);
}

static void test_harvest_of_self(void **state)
{
	long ps = sysconf(_SC_PAGESIZE);
	unsigned shift = (unsigned)__builtin_ctzl((unsigned long)ps);
	size_t n = 100;
	char *p = mmap(NULL, (n + 2) * ps, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	uint8_t *scratch = malloc(CS_HARVEST_SCRATCH), d[1 << 16];
	cs_probe_t probe;
	cs_writer_t w;
	cs_harvest_t h;
	uint64_t lo, hi;
	int fd;
	long got;

	(void)state;
	assert_true(p != MAP_FAILED);
	p += ps;
	assert_int_equal(mprotect(p, n * ps, PROT_READ | PROT_WRITE), 0);
	for (size_t i = 0; i < 60; i++) /* 60 of 100 pages present */
		p[i * ps] = 1;
	cs_backend_probe(&probe);
	assert_int_equal(cs_writer_create(&w, dirfd_, CS_FILE_PROCESS, 44, ".cst"), 0);
	memset(&h, 0, sizeof(h));
	h.proc_fd = -1;
	h.pagemap_fd = open("/proc/self/pagemap", O_RDONLY);
	h.backend = CS_BACKEND_EXCLUSIVE;
	h.scan = probe.scan;
	h.reason = CS_SNAP_API;
	h.page_shift = shift;
	h.w = &w;
	h.scratch = scratch;
	h.keep_excl = 1;
	assert_int_equal(cs_harvest_run(&h, 0, 0), 0);
	assert_true(h.mappings > 3);
	lo = (uint64_t)(uintptr_t)p >> shift;
	hi = lo + n;
	expect_kept_runs(&h, lo, hi, 60);
	fd = openat(dirfd_, "44.0.cst", O_RDONLY);
	got = read(fd, d, sizeof(d));
	assert_true(got > 0);
	assert_int_equal(count_set(d, (size_t)got, CS_SET_PRESENT, lo, hi), 60);
	assert_int_equal(count_set(d, (size_t)got, CS_SET_EXCL, lo, hi), 60);
	assert_int_equal(count_set(d, (size_t)got, CS_SET_WRITTEN, lo, hi), 0);
	close(fd);
	close(h.pagemap_fd);
	cs_writer_close(&w);
	free(scratch);
}

/* Mapping records of a trace file: how many, and the first one's range. */
static unsigned count_mappings(const uint8_t *d, size_t n, uint64_t *start, uint64_t *end)
{
	unsigned k = 0;

	for (size_t off = sizeof(cs_file_hdr_t); off + 8 <= n;) {
		const cs_rec_hdr_t *h = (const void *)(d + off);

		if (h->type == CS_REC_MAPPING && k++ == 0) {
			*start = ((const cs_rec_mapping_t *)h)->start;
			*end = ((const cs_rec_mapping_t *)h)->end;
		}
		off += h->size;
	}
	return k;
}

/* A harvest of [lo, hi) only: mappings clipped to it, no page outside it, no -ESRCH if empty. */
static void test_harvest_range(void **state)
{
	long ps = sysconf(_SC_PAGESIZE);
	unsigned shift = (unsigned)__builtin_ctzl((unsigned long)ps);
	char *p = mmap(NULL, 102 * ps, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	uint8_t *scratch = malloc(CS_HARVEST_SCRATCH), d[1 << 16];
	cs_writer_t w;
	cs_harvest_t h;
	uint64_t start = 0, end = 0;
	int fd;
	long got;

	(void)state;
	assert_true(p != MAP_FAILED);
	assert_int_equal(mprotect(p + ps, 100 * ps, PROT_READ | PROT_WRITE), 0);
	for (size_t i = 1; i <= 60; i++) /* pages 1..60 of the reservation present */
		p[i * ps] = 1;
	assert_int_equal(cs_writer_create(&w, dirfd_, CS_FILE_PROCESS, 45, ".cst"), 0);
	memset(&h, 0, sizeof(h));
	h.proc_fd = -1;
	h.pagemap_fd = open("/proc/self/pagemap", O_RDONLY);
	h.backend = CS_BACKEND_EXCLUSIVE;
	h.reason = CS_SNAP_UNMAP;
	h.page_shift = shift;
	h.w = &w;
	h.scratch = scratch;
	h.lo = (uint64_t)(uintptr_t)(p + 21 * ps);
	h.hi = (uint64_t)(uintptr_t)(p + 51 * ps);
	assert_int_equal(cs_harvest_run(&h, 0, 0), 0);
	assert_null(cs_harvest_excl(&h)); /* none kept unless asked */
	assert_int_equal(h.mappings, 1);
	h.lo = (uint64_t)(uintptr_t)p; /* the PROT_NONE guard page alone: nothing to write */
	h.hi = h.lo + (uint64_t)ps;
	assert_int_equal(cs_harvest_run(&h, 0, 0), 0);
	assert_int_equal(h.mappings, 0);
	fd = openat(dirfd_, "45.0.cst", O_RDONLY);
	got = read(fd, d, sizeof(d));
	assert_true(got > 0);
	assert_int_equal(count_mappings(d, (size_t)got, &start, &end), 1);
	assert_true(start == (uint64_t)(uintptr_t)(p + 21 * ps) &&
		    end == start + 30 * (uint64_t)ps);
	assert_int_equal(count_set(d, (size_t)got, CS_SET_PRESENT, 0, UINT64_MAX), 30);
	assert_int_equal(count_set(d, (size_t)got, CS_SET_EXCL, 0, UINT64_MAX), 30);
	close(fd);
	close(h.pagemap_fd);
	cs_writer_close(&w);
	munmap(p, 102 * ps);
	free(scratch);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_create_is_exclusive_and_private),
		cmocka_unit_test(test_reused_descriptor_is_not_written),
		cmocka_unit_test(test_low_limit_keeps_no_descriptor),
		cmocka_unit_test(test_short_write_is_cut_and_noted),
		cmocka_unit_test(test_batch_gathers_then_guards),
		cmocka_unit_test(test_harvest_of_self),
		cmocka_unit_test(test_harvest_range),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
