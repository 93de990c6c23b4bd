/* SPDX-License-Identifier: MIT */
/* Unit tests: an outside sample reading pagemap only from present pages on has a full read's sets. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>
#include "backend.h"
#include "harvest.h"
#include "pagemap.h"
#include "prim.h"
#include "sampler.h"
#include "writer.h"

#define PAGE 4096u
#define DENSE 300u    /* pages, all written; the target rewrites the first half after a fork */
#define SPARSE 16384u /* pages reserved, a few runs written (four chunks of RAW_ENTRIES) */
#define EMPTY 2048u   /* pages reserved, none touched */
#define ARMED 64u     /* pages under uffd-wp, 10 written before arming: markers on the rest */
#define FILEP 16u     /* pages of a private file mapping: 4 read, 4 written */

/* Runs written in the sparse region: [first, first + n). */
static const struct {
	unsigned first, n;
} sparse_runs[] = {
	{ 0, 10 }, { 4090, 12 }, { 12000, 1 }, { 12001, 3 }, { SPARSE - 1, 1 },
};
/* Entries the fast path skips there: [8192, 12000) and [16096, 16383), and all of EMPTY. */
#define SKIPPED (12000u - 8192u + 16383u - 16096u + EMPTY)

static char dir[64];
static int dirfd_;
static pid_t target = -1;
static int hold_w = -1;
static bool armed;
static uintptr_t where[5]; /* dense, sparse, empty, armed, file */

/* Arm [p, p + n) as the shim does (async uffd-wp, markers on unpopulated pages); 0 if done. */
static int arm(void *p, size_t n)
{
	struct uffdio_api api = { .api = UFFD_API,
				  .features = UFFD_FEATURE_WP_ASYNC | UFFD_FEATURE_WP_UNPOPULATED };
	struct uffdio_register reg = { .range = { (uintptr_t)p, n },
				       .mode = UFFDIO_REGISTER_MODE_WP };
	struct uffdio_writeprotect wp = { .range = { (uintptr_t)p, n },
					  .mode = UFFDIO_WRITEPROTECT_MODE_WP };
	int fd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | UFFD_USER_MODE_ONLY);

	if (fd < 0 || ioctl(fd, UFFDIO_API, &api) || ioctl(fd, UFFDIO_REGISTER, &reg) ||
	    ioctl(fd, UFFDIO_WRITEPROTECT, &wp))
		return -1;
	return 0; /* the descriptor stays open: closing it would unregister */
}

static char *anon(size_t pages, int extra)
{
	/* Guard pages keep the kernel from merging neighbours into one mapping. */
	char *p = mmap(NULL, (pages + 2) * PAGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED ||
	    mmap(p + PAGE, pages * PAGE, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | extra, -1, 0) == MAP_FAILED)
		_exit(90);
	return p + PAGE;
}

static char *file_map(void)
{
	char path[96], buf[PAGE];
	int fd;
	char *p;

	snprintf(path, sizeof(path), "%s/mapped", dir);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	memset(buf, 7, sizeof(buf));
	for (unsigned i = 0; fd >= 0 && i < FILEP; i++)
		if (write(fd, buf, sizeof(buf)) != (ssize_t)sizeof(buf))
			_exit(91);
	p = fd >= 0 ? mmap(NULL, FILEP * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0)
		    : MAP_FAILED;
	if (p == MAP_FAILED)
		_exit(91);
	close(fd);
	return p;
}

/* The target's memory; says where it is on `ready` (5 addresses and whether it armed). */
static void target_main(int ready, int hold)
{
	char *d = anon(DENSE, 0), *s = anon(SPARSE, MAP_NORESERVE), *e = anon(EMPTY, MAP_NORESERVE);
	char *a = anon(ARMED, 0), *f = file_map(), c = 0;
	uintptr_t msg[6] = { (uintptr_t)d, (uintptr_t)s, (uintptr_t)e, (uintptr_t)a, (uintptr_t)f };
	volatile char sink = 0;

	memset(d, 1, DENSE * PAGE);
	for (size_t i = 0; i < sizeof(sparse_runs) / sizeof(sparse_runs[0]); i++)
		memset(s + sparse_runs[i].first * PAGE, 2, sparse_runs[i].n * PAGE);
	memset(a, 3, 10 * PAGE);
	for (unsigned i = 0; i < 4; i++)
		sink += f[i * PAGE];       /* file pages, present but not private */
	memset(f + 8 * PAGE, 4, 4 * PAGE); /* private copies of file pages */
	int gready[2];

	if (pipe(gready))
		_exit(93);
	if (fork() == 0) { /* shares everything: bit 56 clear until written */
		/* what it writes after the fork (its stack, libc's state) is done before it says so */
		if (write(gready[1], &c, 1) != 1 || read(hold, &c, 1) < 0)
			_exit(1);
		_exit(0);
	}
	if (read(gready[0], &c, 1) != 1)
		_exit(94);
	memset(d, 5, DENSE / 2 * PAGE); /* exclusive again: this side copied them */
	msg[5] = arm(a, ARMED * PAGE) == 0;
	if (write(ready, msg, sizeof(msg)) != (ssize_t)sizeof(msg) || read(hold, &c, 1) < 0)
		_exit(92);
	(void)sink;
	_exit(0);
}

static int setup(void **state)
{
	int ready[2], hold[2];
	uintptr_t msg[6];

	(void)state;
	strcpy(dir, "/tmp/cs_unit.XXXXXX");
	if (!mkdtemp(dir) || (dirfd_ = open(dir, O_RDONLY | O_DIRECTORY)) < 0)
		return -1;
	if (pipe(ready) || pipe(hold))
		return -1;
	target = fork();
	if (target == 0) {
		close(hold[1]);
		target_main(ready[1], hold[0]);
	}
	close(hold[0]);
	close(ready[1]);
	hold_w = hold[1];
	if (target < 0 || read(ready[0], msg, sizeof(msg)) != (ssize_t)sizeof(msg))
		return -1;
	close(ready[0]);
	memcpy(where, msg, sizeof(where));
	armed = msg[5];
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];
	int st;

	(void)state;
	close(hold_w); /* the target and its child read EOF and exit */
	waitpid(target, &st, 0);
	close(dirfd_);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) || !WIFEXITED(st) || WEXITSTATUS(st);
}

/* ---- reading a samples file back ------------------------------------------------------- */

typedef struct sets {
	cs_run_t *runs[CS_SET_HUGE + 1];
	size_t n[CS_SET_HUGE + 1];
	uint64_t *pfn_page, *pfn; /* page and frame of every PFNS entry, in order */
	size_t npfn;
	uint64_t *maps; /* start, end, kind, flags of every mapping */
	size_t nmaps;
} sets_t;

static void add_run(sets_t *s, uint8_t set, uint64_t first, uint64_t n)
{
	cs_run_t *v = s->runs[set];
	size_t k = s->n[set];

	if (k && v[k - 1].first_page + v[k - 1].npages == first) {
		v[k - 1].npages += n; /* runs split across records merge back */
		return;
	}
	v = realloc(v, (k + 1) * sizeof(*v));
	assert_non_null(v);
	v[k] = (cs_run_t){ first, n };
	s->runs[set] = v;
	s->n[set] = k + 1;
}

static void on_pfns(sets_t *s, const cs_rec_pfns_t *r)
{
	const uint64_t *f = (const uint64_t *)(r + 1);

	s->pfn_page = realloc(s->pfn_page, (s->npfn + r->count) * 8);
	s->pfn = realloc(s->pfn, (s->npfn + r->count) * 8);
	assert_true(s->pfn_page && s->pfn);
	for (uint32_t i = 0; i < r->count; i++, s->npfn++) {
		s->pfn_page[s->npfn] = r->first_page + i;
		s->pfn[s->npfn] = f[i];
	}
}

static void on_record(sets_t *s, const cs_rec_hdr_t *h)
{
	if (h->type == CS_REC_PAGES) {
		const cs_rec_pages_t *p = (const cs_rec_pages_t *)h;
		const cs_run_t *r = (const cs_run_t *)(p + 1);

		assert_true(p->set >= CS_SET_PRESENT && p->set <= CS_SET_HUGE);
		for (size_t i = 0; i < (h->size - sizeof(*p)) / sizeof(*r); i++)
			add_run(s, p->set, r[i].first_page, r[i].npages);
	} else if (h->type == CS_REC_PFNS) {
		on_pfns(s, (const cs_rec_pfns_t *)h);
	} else if (h->type == CS_REC_MAPPING) {
		const cs_rec_mapping_t *m = (const cs_rec_mapping_t *)h;

		s->maps = realloc(s->maps, (s->nmaps + 1) * 4 * 8);
		assert_non_null(s->maps);
		memcpy(&s->maps[s->nmaps++ * 4],
		       (uint64_t[]){ m->start, m->end, m->kind, m->flags }, 32);
	}
}

static void load(const char *name, sets_t *s)
{
	char path[128];
	FILE *f;
	long n;
	uint8_t *b;
	size_t off = sizeof(cs_file_hdr_t);

	memset(s, 0, sizeof(*s));
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "rb");
	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	b = malloc((size_t)n);
	assert_non_null(b);
	assert_int_equal(fread(b, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	while (off + sizeof(cs_rec_hdr_t) <= (size_t)n) {
		const cs_rec_hdr_t *h = (const cs_rec_hdr_t *)(b + off);

		assert_true(h->size >= 8 && off + h->size <= (size_t)n);
		on_record(s, h);
		off += h->size;
	}
	free(b);
}

static void sets_free(sets_t *s)
{
	for (int i = 0; i <= CS_SET_HUGE; i++)
		free(s->runs[i]);
	free(s->pfn_page);
	free(s->pfn);
	free(s->maps);
}

static uint64_t count_within(const sets_t *s, uint8_t set, uintptr_t start, uint64_t pages)
{
	uint64_t lo = start / PAGE, hi = lo + pages, n = 0;

	for (size_t i = 0; i < s->n[set]; i++) {
		uint64_t a = s->runs[set][i].first_page, b = a + s->runs[set][i].npages;

		a = a > lo ? a : lo;
		b = b < hi ? b : hi;
		n += b > a ? b - a : 0;
	}
	return n;
}

/* ---- the harvests ----------------------------------------------------------------------- */

/* One sample of the target into a new samples file "<pid>.<n>.samples.cst"; the entries read. */
static uint64_t sample(uint8_t backend, int read_all, char *name, size_t size)
{
	static uint8_t scratch[CS_HARVEST_SCRATCH];
	char path[48];
	int proc_fd, pm_fd;
	cs_writer_t w;
	cs_harvest_t h = { .backend = backend,
			   .scan = 1,
			   .thp = 1,
			   .reason = CS_SNAP_SAMPLE,
			   .page_shift = 12,
			   .strict = 1,
			   .read_all = (uint8_t)read_all,
			   .w = &w,
			   .scratch = scratch };

	snprintf(path, sizeof(path), "/proc/%d", (int)target);
	proc_fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	pm_fd = openat(proc_fd, "pagemap", O_RDONLY | O_CLOEXEC);
	assert_true(proc_fd >= 0 && pm_fd >= 0);
	h.proc_fd = proc_fd;
	h.pagemap_fd = pm_fd;
	assert_int_equal(cs_writer_create(&w, dirfd_, CS_FILE_SAMPLES, target, ".samples.cst"), 0);
	assert_int_equal(cs_harvest_run(&h, 0, 0), 0);
	snprintf(name, size, "%s", w.name);
	cs_writer_close(&w);
	close(pm_fd);
	close(proc_fd);
	return h.raw_entries;
}

/* n bytes equal; NULL is fine when n is 0 (an empty set was never allocated). */
static bool same_bytes(const void *a, const void *b, size_t n)
{
	return n == 0 || !memcmp(a, b, n);
}

static bool same_runs(const sets_t *a, const sets_t *b, int set)
{
	return a->n[set] == b->n[set] &&
		same_bytes(a->runs[set], b->runs[set], a->n[set] * sizeof(cs_run_t));
}

static bool same(const sets_t *a, const sets_t *b)
{
	for (int set = CS_SET_PRESENT; set <= CS_SET_HUGE; set++)
		if (!same_runs(a, b, set))
			return false;
	return a->npfn == b->npfn && same_bytes(a->pfn_page, b->pfn_page, a->npfn * 8) &&
		same_bytes(a->pfn, b->pfn, a->npfn * 8) && a->nmaps == b->nmaps &&
		same_bytes(a->maps, b->maps, a->nmaps * 32);
}

static void assert_same_runs(const sets_t *a, const sets_t *b, int set)
{
	assert_int_equal(a->n[set], b->n[set]);
	if (a->n[set])
		assert_memory_equal(a->runs[set], b->runs[set], a->n[set] * sizeof(cs_run_t));
}

static void assert_same(const sets_t *a, const sets_t *b)
{
	for (int set = CS_SET_PRESENT; set <= CS_SET_HUGE; set++)
		assert_same_runs(a, b, set);
	assert_int_equal(a->npfn, b->npfn);
	if (a->npfn) {
		assert_memory_equal(a->pfn_page, b->pfn_page, a->npfn * 8);
		assert_memory_equal(a->pfn, b->pfn, a->npfn * 8);
	}
	assert_int_equal(a->nmaps, b->nmaps);
	assert_memory_equal(a->maps, b->maps, a->nmaps * 32);
}

/* What is known of the target, the same whichever path read it. */
static void assert_truth(const sets_t *s, uint8_t backend)
{
	uint64_t sparse = 0;

	for (size_t i = 0; i < sizeof(sparse_runs) / sizeof(sparse_runs[0]); i++)
		sparse += sparse_runs[i].n;
	assert_int_equal(count_within(s, CS_SET_PRESENT, where[0], DENSE), DENSE);
	assert_int_equal(count_within(s, CS_SET_PRESENT, where[1], SPARSE), sparse);
	assert_int_equal(count_within(s, CS_SET_PRESENT, where[2], EMPTY), 0);
	/* only the 4 written file pages are private; with markers, the armed range is "present" */
	assert_int_equal(count_within(s, CS_SET_PRESENT, where[4], FILEP), 4);
	assert_int_equal(count_within(s, CS_SET_PRESENT, where[3], ARMED), armed ? ARMED : 10);
	/* the first half of the dense region was rewritten after the fork: those are exclusive */
	assert_int_equal(count_within(s, CS_SET_EXCL, where[0], DENSE), DENSE / 2);
	assert_int_equal(count_within(s, CS_SET_EXCL, where[1], SPARSE), 0);
	if (backend == CS_BACKEND_UFFD_WP && armed)
		assert_int_equal(count_within(s, CS_SET_WRITTEN, where[3], ARMED), 0);
}

/* PAGEMAP_SCAN (Linux 6.7) answers on our own pagemap. */
static bool scan_works(void)
{
	struct page_region r;
	int fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	struct pm_scan_arg a = { .size = sizeof(a),
				 .start = (uintptr_t)&r & ~(uintptr_t)(PAGE - 1),
				 .vec = (uintptr_t)&r,
				 .vec_len = 1,
				 .category_anyof_mask = PAGE_IS_PRESENT,
				 .return_mask = PAGE_IS_PRESENT };
	bool ok;

	a.end = a.start + PAGE;
	ok = fd >= 0 && ioctl(fd, PAGEMAP_SCAN, &a) == 1;
	if (fd >= 0)
		close(fd);
	return ok;
}

/*
 * The present and exclusive sets straight from the target's pagemap, over the
 * private mappings a harvest listed in `like`: the reference for both paths.
 */
static void direct_sets(const sets_t *like, sets_t *d)
{
	char path[48];
	int fd;

	memset(d, 0, sizeof(*d));
	snprintf(path, sizeof(path), "/proc/%d/pagemap", (int)target);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	for (size_t i = 0; i < like->nmaps; i++) {
		const uint64_t *m = &like->maps[i * 4];

		if (m[2] == CS_MAP_SHARED || (m[3] & (CS_MAPF_SKIPPED | CS_MAPF_SHIM)))
			continue;
		for (uint64_t p = m[0] / PAGE; p < m[1] / PAGE; p++) {
			uint64_t e;

			assert_int_equal(pread(fd, &e, 8, (off_t)(p * 8)), 8);
			if (cs_pm_private(e))
				add_run(d, CS_SET_PRESENT, p, 1);
			if (cs_pm_private(e) && (e & CS_PM_EXCLUSIVE))
				add_run(d, CS_SET_EXCL, p, 1);
		}
	}
	close(fd);
}

/*
 * A full read, the fast one, a full read again, until the two full reads agree
 * (the kernel may still move a page in between: compaction changes frames,
 * a late write elsewhere clears bit 56); then the fast one must agree too.
 */
static void compare(uint8_t backend)
{
	char full_name[64], fast_name[64], again_name[64];
	uint64_t full = 0, fast = 0;
	sets_t a, b, c, d;
	bool stable = false;

	for (int tries = 0; tries < 10 && !stable; tries++) {
		if (tries) {
			sets_free(&a);
			sets_free(&b);
			sets_free(&d);
		}
		full = sample(backend, 1, full_name, sizeof(full_name));
		fast = sample(backend, 0, fast_name, sizeof(fast_name));
		load(full_name, &a);
		direct_sets(&a, &d);
		sample(backend, 1, again_name, sizeof(again_name));
		load(fast_name, &b);
		load(again_name, &c);
		stable = same(&a, &c);
		sets_free(&c);
	}
	assert_true(stable);
	assert_truth(&a, backend);
	assert_same(&a, &b);
	assert_same_runs(&a, &d, CS_SET_PRESENT);
	assert_same_runs(&a, &d, CS_SET_EXCL);
	sets_free(&d);
	/* unpopulated ranges were skipped, not read entry by entry */
	if (scan_works())
		assert_true(fast + SKIPPED <= full);
	else
		assert_true(fast == full);
	sets_free(&a);
	sets_free(&b);
}

static void test_same_sets_exclusive(void **state)
{
	(void)state;
	compare(CS_BACKEND_EXCLUSIVE);
}

static void test_same_sets_uffd_wp(void **state)
{
	(void)state;
	compare(CS_BACKEND_UFFD_WP);
}

static void test_same_sets_soft_dirty(void **state)
{
	(void)state;
	compare(CS_BACKEND_SOFT_DIRTY);
}

static void test_same_sets_pfn(void **state)
{
	(void)state;
	compare(CS_BACKEND_PFN);
}

/* The CLI's sampler (it probes PAGEMAP_SCAN itself) produces the same sets. */
static void test_sampler_take(void **state)
{
	char full_name[64], again_name[64], name[64];
	cs_sampler_t *s;
	uint64_t cost = 0;
	sets_t a, b, c;
	bool stable = false;

	(void)state;
	for (uint32_t gen = 1000; gen < 1010 && !stable; gen++) {
		if (gen > 1000) {
			sets_free(&a);
			sets_free(&b);
		}
		sample(CS_BACKEND_EXCLUSIVE, 1, full_name, sizeof(full_name));
		assert_int_equal(cs_sampler_open(&s, dirfd_, target, gen, CS_BACKEND_EXCLUSIVE), 0);
		assert_int_equal(cs_sampler_take(s, &cost), 0);
		assert_true(cost > 0);
		cs_sampler_close(s);
		sample(CS_BACKEND_EXCLUSIVE, 1, again_name, sizeof(again_name));
		snprintf(name, sizeof(name), "%d.%u.samples.cst", (int)target, (unsigned)gen);
		load(full_name, &a);
		load(name, &b);
		load(again_name, &c);
		stable = same(&a, &c);
		sets_free(&c);
	}
	assert_true(stable);
	assert_same(&a, &b);
	sets_free(&a);
	sets_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_same_sets_exclusive),
		cmocka_unit_test(test_same_sets_uffd_wp),
		cmocka_unit_test(test_same_sets_soft_dirty),
		cmocka_unit_test(test_same_sets_pfn),
		cmocka_unit_test(test_sampler_take),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
