/* SPDX-License-Identifier: MIT */
/* Changed words: a fork child's pages against the parent's view, one side at a time. */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include "cowscope/trace_format.h"
#include "words.h"
#include "harvest.h"
#include "maps.h"
#include "pagemap.h"
#include "prim.h"

#define MAPS_BYTES (16u * 1024u)
#define CHUNK_BYTES (64u * 1024u) /* parent pages read per pread */
#define CHUNK_MAX (CHUNK_BYTES >> 12)
#define REGIONS 170u /* one page */
#define PREGIONS 64u
#define SREGIONS 64u
#define RAW_ENTRIES 1024u
#define WORDS_BYTES (16u * 1024u)
#define SET_BYTES (2u * 1024u) /* both builders on one page */
#define BITMAP_BYTES 1024u     /* page size up to 64 KiB */

/* The small parts a comparison always touches, on one page (carve). */
#define SMALL_BYTES 4096u
_Static_assert((PREGIONS + SREGIONS) * sizeof(struct page_region) + BITMAP_BYTES <= SMALL_BYTES &&
		       REGIONS * sizeof(struct page_region) <= 4096u,
	       "the small parts fit a page each");
_Static_assert(MAPS_BYTES + CHUNK_BYTES + SMALL_BYTES + 4096u + 2 * SET_BYTES + WORDS_BYTES +
			       RAW_ENTRIES * 8 + CS_HARVEST_RUNS_BYTES + CS_HARVEST_SPARE_BYTES <=
		       CS_DIFF_SCRATCH,
	       "diff scratch too small");

/* A CS_REC_PAGES builder (runs merged when adjacent). */
typedef struct set_b {
	cs_rec_pages_t *rec;
	cs_run_t *runs;
	uint32_t n, cap;
	uint8_t set;
} set_b_t;

/* One side's comparison: scratch, builders, counts. */
typedef struct dctx {
	cs_diff_t *d;
	uint8_t side;
	uint64_t ps;
	char *maps;
	uint8_t *buf;                          /* the parent's pages of a batch */
	struct page_region *reg, *preg, *sreg; /* own written, parent's, own present */
	uint64_t *raw;
	cs_rec_words_t *words;
	uint32_t wcap, bw;
	uint64_t *bitmap;
	set_b_t noop, unk;
	cs_rec_diff_t *rec;
	uint64_t idx;      /* candidates seen in the compare pass */
	uint64_t bfirst;   /* the pending batch: [bfirst, bfirst + bn) */
	uint32_t bn, bmax; /* its pages, at most bmax */
	int counting;
	int err;
} dctx_t;

/*
 * A plain loop, never memcmp: a sanitizer's interceptor would check the
 * program's memory (ASan aborts on reading a heap redzone) and the shim
 * must not be seen reading it.
 */
uint32_t cs_diff_words(const uint64_t *a, const uint64_t *b, size_t page_bytes, uint64_t *bitmap)
{
	size_t n = page_bytes / 8;
	uint32_t changed = 0;

	for (size_t i = 0; i < n; i += 64) {
		uint64_t bits = 0;

		for (unsigned j = 0; j < 64; j++)
			bits |= (uint64_t)(a[i + j] != b[i + j]) << j;
		bitmap[i / 64] = bits;
		changed += (uint32_t)__builtin_popcountll(bits);
	}
	return changed;
}

static void put(dctx_t *c, const void *rec, uint32_t size)
{
	int r = cs_writer_put(c->d->w, rec, size);

	if (r < 0 && c->err == 0)
		c->err = r;
}

static void set_flush(dctx_t *c, set_b_t *b)
{
	uint32_t size = (uint32_t)(sizeof(cs_rec_pages_t) + b->n * sizeof(cs_run_t));

	if (b->n == 0)
		return;
	memset(b->rec, 0, sizeof(*b->rec));
	b->rec->h.type = CS_REC_PAGES;
	b->rec->h.size = size;
	b->rec->seq = c->d->seq;
	b->rec->set = b->set;
	b->n = 0;
	put(c, b->rec, size);
}

static void set_add(dctx_t *c, set_b_t *b, uint64_t page)
{
	cs_run_t *last = b->n ? &b->runs[b->n - 1] : NULL;

	if (last && last->first_page + last->npages == page) {
		last->npages++;
		return;
	}
	if (b->n == b->cap)
		set_flush(c, b);
	b->runs[b->n].first_page = page;
	b->runs[b->n].npages = 1;
	b->n++;
}

static void words_flush(dctx_t *c)
{
	uint32_t size = (uint32_t)sizeof(cs_rec_words_t) + c->words->count * (8 + c->bw * 8);

	if (c->words->count == 0)
		return;
	c->words->h.type = CS_REC_WORDS;
	c->words->h.flags = 0;
	c->words->h.size = size;
	c->words->seq = c->d->seq;
	c->words->side = c->side;
	c->words->bitmap_words = (uint16_t)c->bw;
	put(c, c->words, size);
	c->words->count = 0;
}

static void words_add(dctx_t *c, uint64_t page)
{
	uint8_t *at;

	if (c->words->count == c->wcap)
		words_flush(c);
	at = (uint8_t *)(c->words + 1) + (size_t)c->words->count * (8 + c->bw * 8);
	memcpy(at, &page, 8);
	memcpy(at + 8, c->bitmap, c->bw * 8);
	c->words->count++;
}

static void unknown(dctx_t *c, uint64_t page, unsigned why)
{
	c->rec->unknown[why - 1]++;
	set_add(c, &c->unk, page);
}

/* Compare one page of ours with the parent's copy in the batch buffer. */
static void compare(dctx_t *c, uint64_t page, const uint8_t *theirs)
{
	const uint64_t *mine = (const uint64_t *)(uintptr_t)(page * c->ps);
	uint32_t k = cs_diff_words(mine, (const uint64_t *)theirs, c->ps, c->bitmap);

	c->rec->compared++;
	if (k == 0) {
		set_add(c, &c->noop, page);
		return;
	}
	c->rec->changed_pages++;
	c->rec->changed_words += k;
	words_add(c, page);
}

/*
 * Read the batch's parent pages that want[i] names, in runs: ok[i] = 1 for
 * each page read whole. Returns 1 when the parent's memory is gone (exited or
 * exec'd: /proc/PID/mem reads 0 bytes once its mm has no users), else 0.
 */
static int read_parent(dctx_t *c, uint64_t addr, uint32_t n, const uint8_t *want, uint8_t *ok)
{
	for (uint32_t i = 0, j; i < n; i = j) {
		long got;

		for (j = i; j < n && want[j] == want[i]; j++)
			ok[j] = 0;
		if (!want[i])
			continue;
		got = cs_prim_pread(c->d->view_mem_fd, c->buf + i * c->ps, (j - i) * c->ps,
				    addr + i * c->ps);
		if (got == 0 || got == -ESRCH)
			return 1;
		for (uint32_t k = i; k < j; k++) /* past a short read: page by page */
			ok[k] = got > 0 && (uint64_t)got >= (k - i + 1) * c->ps
				? 1
				: cs_prim_pread(c->d->view_mem_fd, c->buf + k * c->ps, c->ps,
						addr + k * c->ps) == (long)c->ps;
	}
	return 0;
}

#define CAT_NONE (~0ull) /* not in any mapping of the parent */

/*
 * The parent's page categories over the batch, after its content was read (a
 * write racing the read then shows as written). 0, -EPERM (parent side: a
 * mapping not tracked since the fork) or another -errno (gone).
 */
static int scan_parent(dctx_t *c, uint64_t addr, uint32_t n, uint64_t *cat)
{
	uint64_t end = addr + n * c->ps, at = addr;

	for (uint32_t i = 0; i < n; i++)
		cat[i] = CAT_NONE;
	while (at < end) {
		struct pm_scan_arg a = {
			.size = sizeof(a),
			.flags = c->side == CS_DIFF_PARENT ? PM_SCAN_CHECK_WPASYNC : 0,
			.start = at,
			.end = end,
			.vec = (uint64_t)(uintptr_t)c->preg,
			.vec_len = PREGIONS,
			.category_anyof_mask = PAGE_IS_WPALLOWED | PAGE_IS_WRITTEN | PAGE_IS_FILE |
				PAGE_IS_PRESENT | PAGE_IS_SWAPPED | PAGE_IS_PFNZERO,
			.return_mask = PAGE_IS_WRITTEN | PAGE_IS_PRESENT | PAGE_IS_SWAPPED |
				PAGE_IS_PFNZERO,
		};
		long k = cs_prim_pagemap_scan(c->d->view_pm_fd, &a);

		if (k < 0)
			return (int)k;
		for (long j = 0; j < k; j++)
			for (uint64_t p = c->preg[j].start; p < c->preg[j].end; p += c->ps)
				cat[(p - addr) / c->ps] = c->preg[j].categories;
		if (a.walk_end <= at)
			break;
		at = a.walk_end;
	}
	return 0;
}

/* Why the page cannot be compared (enum cs_diff_why), or 0 if it can. */
static unsigned why_not(const dctx_t *c, uint64_t cat, uint8_t ok)
{
	/* Absent first: the zero page a read maps over a freed page reads as written. */
	if (cat == CAT_NONE || !(cat & (PAGE_IS_PRESENT | PAGE_IS_SWAPPED)) ||
	    (cat & PAGE_IS_PFNZERO))
		return CS_DIFFW_ABSENT;
	if (c->side == CS_DIFF_CHILD && (cat & PAGE_IS_WRITTEN))
		return CS_DIFFW_CHANGED;
	return ok ? 0 : CS_DIFFW_GONE;
}

/* Pages of a batch worth reading: those the first scan found in the parent and not ruled out. */
static void wanted(const dctx_t *c, const uint64_t *cat, uint32_t n, uint8_t *want)
{
	for (uint32_t i = 0; i < n; i++)
		want[i] = why_not(c, cat[i], 1) == 0;
}

/*
 * Compare the pending batch of selected, contiguous pages. The parent's pages
 * are scanned first and only those present are read: reading an absent page
 * through the view would fault it into the parent (a nested parent's own
 * tracking would then count it as present and written). Then they are scanned
 * again, after the read, so that a write racing the read shows as written.
 */
static void batch_flush(dctx_t *c)
{
	uint64_t addr = c->bfirst * c->ps, cat[CHUNK_MAX];
	uint8_t ok[CHUNK_MAX], want[CHUNK_MAX];
	uint32_t n = c->bn;
	int r, gone = 0;

	c->bn = 0;
	if (n == 0)
		return;
	if (c->d->no_view) {
		for (uint32_t i = 0; i < n; i++)
			unknown(c, c->bfirst + i, CS_DIFFW_NO_VIEW);
		return;
	}
	r = scan_parent(c, addr, n, cat);
	if (r == 0) {
		wanted(c, cat, n, want);
		gone = read_parent(c, addr, n, want, ok);
		r = gone ? -ESRCH : scan_parent(c, addr, n, cat);
	}
	for (uint32_t i = 0; i < n; i++) {
		unsigned why = r == -EPERM ? CS_DIFFW_CHANGED
			: r < 0            ? CS_DIFFW_GONE
					   : why_not(c, cat[i], ok[i]);

		if (why)
			unknown(c, c->bfirst + i, why);
		else
			compare(c, c->bfirst + i, c->buf + i * c->ps);
	}
}

/* One page chosen: into the batch (flushed when not contiguous or full). */
static void select_page(dctx_t *c, uint64_t page)
{
	if (c->bn && (c->bfirst + c->bn != page || c->bn == c->bmax))
		batch_flush(c);
	if (c->bn == 0)
		c->bfirst = page;
	c->bn++;
}

/* Candidate pages [first, first + n), the shim's own already cut out. */
static void take(dctx_t *c, uint64_t first, uint64_t n)
{
	uint32_t stride = c->rec->stride;

	if (c->counting) {
		c->rec->considered += n;
		return;
	}
	for (uint64_t p = first; p < first + n; p++, c->idx++)
		if (c->idx % stride == 0)
			select_page(c, p);
}

/* Candidates [first, first + n) minus the shim's ranges from own[i] on. */
static void emit(dctx_t *c, uint64_t first, uint64_t n, int i)
{
	for (; i < 3 && n; i++) {
		uint64_t lo = c->d->own[i][0] / c->ps, hi = (c->d->own[i][1] + c->ps - 1) / c->ps;

		if (!c->d->own[i][1] || hi <= first || lo >= first + n)
			continue;
		if (lo > first)
			emit(c, first, lo - first, i + 1);
		if (hi >= first + n)
			return;
		n = first + n - hi;
		first = hi;
	}
	if (n)
		take(c, first, n);
}

/* The written category of the backend's set. */
static uint64_t written_cat(const cs_diff_t *d)
{
	return d->backend == CS_BACKEND_SOFT_DIRTY ? PAGE_IS_SOFT_DIRTY : PAGE_IS_WRITTEN;
}

/* A PAGEMAP_SCAN of this process's pagemap: which categories, and where the regions go. */
typedef struct self_scan {
	uint64_t mask, inverted, anyof;
	struct page_region *vec;
	uint64_t vec_len;
	void (*fn)(dctx_t *, uint64_t, uint64_t);
} self_scan_t;

/*
 * Regions of [start, end) in this process's pagemap: pages with all of
 * s->mask after s->inverted is applied (and one of s->anyof if set); s->fn
 * gets each region.
 */
static int scan_self(dctx_t *c, uint64_t start, uint64_t end, const self_scan_t *s)
{
	while (start < end) {
		struct pm_scan_arg a = { .size = sizeof(a),
					 .start = start,
					 .end = end,
					 .vec = (uint64_t)(uintptr_t)s->vec,
					 .vec_len = s->vec_len,
					 .category_inverted = s->inverted,
					 .category_mask = s->mask,
					 .category_anyof_mask = s->anyof,
					 .return_mask = s->mask | s->anyof };
		long k = cs_prim_pagemap_scan(c->d->self_pm_fd, &a);

		if (k < 0)
			return (int)k;
		for (long j = 0; j < k; j++)
			s->fn(c, s->vec[j].start / c->ps,
			      (s->vec[j].end - s->vec[j].start) / c->ps);
		if (a.walk_end <= start)
			break;
		start = a.walk_end;
	}
	return 0;
}

static void emit_region(dctx_t *c, uint64_t first, uint64_t n)
{
	emit(c, first, n, 0);
}

/*
 * Written pages [first, first + n): the candidates are those still in memory
 * (present or swapped, not the zero page). A page the child wrote and then
 * dropped (MADV_DONTNEED) reads as written but holds nothing of its own:
 * reading it directly would fault in a page of zeros and compare that.
 */
static void child_region(dctx_t *c, uint64_t first, uint64_t n)
{
	const self_scan_t held = { .mask = PAGE_IS_PFNZERO,
				   .inverted = PAGE_IS_PFNZERO,
				   .anyof = PAGE_IS_PRESENT | PAGE_IS_SWAPPED,
				   .vec = c->sreg,
				   .vec_len = SREGIONS,
				   .fn = emit_region };

	int r = scan_self(c, first * c->ps, (first + n) * c->ps, &held);

	if (r < 0 && c->err == 0)
		c->err = r;
}

/* Present, unwritten pages: the exclusive ones (bit 56, anonymous) are candidates. */
static void parent_region(dctx_t *c, uint64_t first, uint64_t n)
{
	while (n > 0) {
		uint64_t k = n < RAW_ENTRIES ? n : RAW_ENTRIES, run = 0, i;
		long got = cs_prim_pread(c->d->self_pm_fd, c->raw, k * 8, first * 8);

		if (got != (long)(k * 8))
			return;
		for (i = 0; i <= k; i++) {
			int yes = i < k && (c->raw[i] & CS_PM_EXCLUSIVE) &&
				cs_pm_private(c->raw[i]);

			if (yes) {
				run++;
				continue;
			}
			if (run)
				emit(c, first + i - run, run, 0);
			run = 0;
		}
		first += k;
		n -= k;
	}
}

static const char *const special[] = { "[vvar]", "[vdso]", "[vsyscall]", "[vvar_vclock]",
				       "[uprobes]" };

/* A private, readable, writable mapping of the program, clipped to [lo, hi). */
static int eligible(const cs_diff_t *d, cs_vma_t *v)
{
	if (v->shared || (v->prot & (PROT_READ | PROT_WRITE)) != (PROT_READ | PROT_WRITE) ||
	    v->end - v->start > CS_HARVEST_RAW_LIMIT_BYTES)
		return 0;
	for (size_t i = 0; i < sizeof(special) / sizeof(special[0]); i++)
		if (strcmp(v->name, special[i]) == 0)
			return 0;
	if (d->shim_path && d->shim_path[0] && strcmp(v->name, d->shim_path) == 0)
		return 0;
	if (d->hi && (v->end <= d->lo || v->start >= d->hi))
		return 0;
	if (d->hi && v->start < d->lo)
		v->start = d->lo;
	if (d->hi && v->end > d->hi)
		v->end = d->hi;
	return 1;
}

/*
 * Parent side from the harvest's exclusive runs: their present, unwritten
 * pages (written meanwhile, e.g. the stack under the shim, drops out) are
 * the candidates, with no pagemap entry read.
 */
static int pass_excl(dctx_t *c)
{
	const self_scan_t unwritten = { .mask = PAGE_IS_PRESENT | written_cat(c->d),
					.inverted = written_cat(c->d),
					.vec = c->reg,
					.vec_len = REGIONS,
					.fn = emit_region };
	int r = 0;

	for (uint32_t i = 0; i < c->d->nexcl && r == 0; i++)
		r = scan_self(c, c->d->excl[i].first_page * c->ps,
			      (c->d->excl[i].first_page + c->d->excl[i].npages) * c->ps,
			      &unwritten);
	if (!c->counting)
		batch_flush(c);
	return r;
}

/* One pass over the mappings: count the candidates, or compare the chosen ones. */
static int pass(dctx_t *c)
{
	uint64_t w = written_cat(c->d);
	const self_scan_t written = {
		.mask = w, .vec = c->reg, .vec_len = REGIONS, .fn = child_region
	};
	const self_scan_t unwritten = { .mask = PAGE_IS_PRESENT | w,
					.inverted = w,
					.vec = c->reg,
					.vec_len = REGIONS,
					.fn = parent_region };
	cs_maps_reader_t mr;
	cs_vma_t v;
	int r, more;

	if (c->side == CS_DIFF_PARENT && c->d->excl)
		return pass_excl(c);
	r = cs_maps_open(&mr, -1, c->maps, MAPS_BYTES);
	if (r < 0)
		return r;
	while ((more = cs_maps_next(&mr, &v)) > 0) {
		if (!eligible(c->d, &v))
			continue;
		if (c->side == CS_DIFF_CHILD)
			r = scan_self(c, v.start, v.end, &written);
		else
			r = scan_self(c, v.start, v.end, &unwritten);
		if (r < 0)
			break;
	}
	cs_maps_close(&mr);
	if (!c->counting)
		batch_flush(c);
	return r < 0 ? r : more;
}

/*
 * Scratch layout, in the order of the pages a comparison touches, so that an
 * idle fork child writes few of them (each is one of the shim's private
 * pages there): the maps buffer and the parent's pages where the harvest's
 * maps and entries were, then one page for the parent scan vectors and the
 * bitmap (where the harvest kept its exclusive set), one for the written-set
 * vector, one for both set builders, then the words and the entries (read
 * only without the harvest's exclusive runs).
 */
static void carve(cs_diff_t *d, dctx_t *c, uint8_t side)
{
	uint8_t *p = d->scratch;

	memset(c, 0, sizeof(*c));
	c->d = d;
	c->side = side;
	c->ps = 1ull << d->page_shift;
	c->bw = (uint32_t)(c->ps / 8 / 64);
	c->bmax = (uint32_t)(CHUNK_BYTES / c->ps);
	c->maps = (char *)p;
	c->buf = p + MAPS_BYTES;
	p += MAPS_BYTES + CHUNK_BYTES;
	c->preg = (struct page_region *)p;
	c->sreg = c->preg + PREGIONS;
	c->bitmap = (uint64_t *)(c->sreg + SREGIONS);
	p += SMALL_BYTES;
	c->reg = (struct page_region *)p;
	p += 4096u;
	for (int i = 0; i < 2; i++, p += SET_BYTES) {
		set_b_t *b = i ? &c->unk : &c->noop;

		b->rec = (cs_rec_pages_t *)p;
		b->runs = (cs_run_t *)(p + sizeof(cs_rec_pages_t));
		b->cap = (uint32_t)((SET_BYTES - sizeof(cs_rec_pages_t)) / sizeof(cs_run_t));
	}
	c->words = (cs_rec_words_t *)p;
	memset(c->words, 0, sizeof(*c->words));
	c->wcap = (uint32_t)((WORDS_BYTES - sizeof(cs_rec_words_t)) / (8 + c->bw * 8));
	p += WORDS_BYTES;
	c->raw = (uint64_t *)p;
	c->noop.set = side == CS_DIFF_CHILD ? CS_SET_NOOP : CS_SET_PNOOP;
	c->unk.set = side == CS_DIFF_CHILD ? CS_SET_UNKNOWN : CS_SET_PUNKNOWN;
}

/* One side: count, choose the stride, compare, write the records. */
static int run_side(cs_diff_t *d, uint8_t side)
{
	uint64_t t0 = cs_prim_now_ns(), budget = d->budget ? d->budget : CS_DIFF_DEFAULT_BUDGET;
	cs_rec_diff_t *rec = &d->rec[side];
	dctx_t c;
	int r;

	carve(d, &c, side);
	memset(rec, 0, sizeof(*rec));
	c.rec = rec;
	rec->h.type = CS_REC_DIFF;
	rec->h.size = sizeof(*rec);
	rec->seq = d->seq;
	rec->side = side;
	rec->word_bytes = 8;
	rec->flags = d->all ? CS_DIFFF_ALL : 0;
	c.counting = 1;
	r = pass(&c);
	rec->stride = d->all || rec->considered <= budget
		? 1
		: (uint32_t)((rec->considered + budget - 1) / budget);
	c.counting = 0;
	if (r >= 0)
		r = pass(&c);
	if (r >= 0)
		rec->considered = c.idx; /* the candidates the compare pass saw (a new stack page
					  * may have been written since the count): chosen pages
					  * are exactly ceil(considered / stride) */
	words_flush(&c);
	set_flush(&c, &c.noop);
	set_flush(&c, &c.unk);
	rec->cost_ns = cs_prim_now_ns() - t0;
	put(&c, rec, sizeof(*rec));
	return r < 0 ? r : c.err;
}

int cs_diff_run(cs_diff_t *d)
{
	int r = run_side(d, CS_DIFF_CHILD), r2 = d->no_parent ? 0 : run_side(d, CS_DIFF_PARENT);

	return r < 0 ? r : r2;
}
