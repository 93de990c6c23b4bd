/* SPDX-License-Identifier: MIT */
/* Harvest: mappings and page sets of one process, streamed into trace records. */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include "cowscope/trace_format.h"
#include "harvest.h"
#include "pagemap.h"
#include "prim.h"
#include "record.h"

#define MAPS_BYTES (16u * 1024u)
#define RAW_ENTRIES 1024u
#define SCAN_REGIONS 1024u
#define SET_BYTES (16u * 1024u)
#define PFN_BYTES (32u * 1024u)
#define NSETS 4               /* CS_SET_PRESENT .. CS_SET_HUGE */
#define SMALL_CHUNK_PAGES 16u /* chunks read without asking mincore first */

/* Builder of one CS_REC_PAGES record: header then runs, flushed when full. */
typedef struct set_builder {
	cs_rec_pages_t *rec;
	cs_run_t *runs;
	uint32_t n;
	uint32_t cap;
} set_builder_t;

/* Builder of CS_REC_PFNS; its count lives here, so only the pfn backend touches rec's page. */
typedef struct pfn_builder {
	cs_rec_pfns_t *rec;
	uint64_t *pfns;
	uint64_t first_page;
	uint32_t count;
	uint32_t cap;
} pfn_builder_t;

_Static_assert(MAPS_BYTES + RAW_ENTRIES * 9 + SCAN_REGIONS * sizeof(struct page_region) +
			       NSETS * SET_BYTES + PFN_BYTES + CS_HARVEST_RUNS_BYTES +
			       CS_HARVEST_SPARE_BYTES <=
		       CS_HARVEST_SCRATCH,
	       "harvest scratch too small");

/* Scratch carved into its parts. */
typedef struct harvest_mem {
	char *maps;
	uint64_t *raw;
	struct page_region *regions;
	unsigned char *resident;
	set_builder_t sets[NSETS + 1]; /* indexed by enum cs_pageset */
	pfn_builder_t pfn;
	cs_run_t *excl; /* the kept exclusive runs: the scratch's tail */
	uint8_t keep;   /* keep this mapping's exclusive runs */
} harvest_mem_t;

static int put(cs_harvest_t *h, const void *rec, uint32_t size)
{
	int r = cs_writer_put(h->w, rec, size);

	if (r < 0)
		h->snap_flags |= CS_SNAPF_TRUNCATED;
	return r;
}

static void carve(cs_harvest_t *h, harvest_mem_t *m)
{
	uint8_t *p = h->scratch;
	int s;

	m->maps = (char *)p;
	p += MAPS_BYTES;
	m->raw = (uint64_t *)p;
	p += RAW_ENTRIES * 8;
	m->regions = (struct page_region *)p;
	p += SCAN_REGIONS * sizeof(struct page_region);
	m->resident = p;
	p += RAW_ENTRIES;
	for (s = 1; s <= NSETS; s++) {
		m->sets[s].rec = (cs_rec_pages_t *)p;
		m->sets[s].runs = (cs_run_t *)(p + sizeof(cs_rec_pages_t));
		m->sets[s].cap = (SET_BYTES - sizeof(cs_rec_pages_t)) / sizeof(cs_run_t);
		m->sets[s].n = 0;
		p += SET_BYTES;
	}
	m->pfn.rec = (cs_rec_pfns_t *)p;
	m->pfn.pfns = (uint64_t *)(p + sizeof(cs_rec_pfns_t));
	m->pfn.cap = (PFN_BYTES - sizeof(cs_rec_pfns_t)) / 8;
	m->pfn.count = 0;
	m->excl = (cs_run_t *)(h->scratch + CS_HARVEST_SCRATCH - CS_HARVEST_RUNS_BYTES);
	m->keep = 0;
}

static int set_flush(cs_harvest_t *h, set_builder_t *b, uint8_t set)
{
	uint32_t size = (uint32_t)(sizeof(cs_rec_pages_t) + b->n * sizeof(cs_run_t));

	if (b->n == 0)
		return 0;
	memset(b->rec, 0, sizeof(*b->rec));
	b->rec->h.type = CS_REC_PAGES;
	b->rec->h.size = size;
	b->rec->seq = h->seq;
	b->rec->set = set;
	b->n = 0;
	return put(h, b->rec, size);
}

/* Add pages [first, first + n) to a set, merging with the previous run. */
static int set_add(cs_harvest_t *h, harvest_mem_t *m, uint8_t set, uint64_t first, uint64_t n)
{
	set_builder_t *b = &m->sets[set];
	cs_run_t *last = b->n ? &b->runs[b->n - 1] : NULL;
	int r;

	if (last && last->first_page + last->npages == first) {
		last->npages += n;
		return 0;
	}
	if (b->n == b->cap && (r = set_flush(h, b, set)) < 0)
		return r;
	b->runs[b->n].first_page = first;
	b->runs[b->n].npages = n;
	b->n++;
	return 0;
}

static int pfn_flush(cs_harvest_t *h, pfn_builder_t *b)
{
	uint32_t count = b->count, size = (uint32_t)(sizeof(cs_rec_pfns_t) + count * 8u);

	if (count == 0)
		return 0;
	memset(b->rec, 0, sizeof(*b->rec));
	b->rec->h.type = CS_REC_PFNS;
	b->rec->h.size = size;
	b->rec->seq = h->seq;
	b->rec->first_page = b->first_page;
	b->rec->count = count;
	b->count = 0;
	return put(h, b->rec, size);
}

static int pfn_add(cs_harvest_t *h, pfn_builder_t *b, uint64_t page, uint64_t pfn)
{
	int r;

	if (b->count && (b->first_page + b->count != page || b->count == b->cap))
		if ((r = pfn_flush(h, b)) < 0)
			return r;
	if (b->count == 0)
		b->first_page = page;
	b->pfns[b->count++] = pfn;
	return 0;
}

/* What decides the sets of a raw entry: private (present set), exclusive, soft-dirty. */
#define RF_PRIVATE 1u
#define RF_EXCL 2u
#define RF_SD 4u

static unsigned raw_flags(uint64_t e, int want_sd, uint64_t excl)
{
	if (!cs_pm_private(e))
		return 0;
	return RF_PRIVATE | ((e & excl) ? RF_EXCL : 0) |
		((want_sd && (e & CS_PM_SOFT_DIRTY)) ? RF_SD : 0);
}

/* Keep exclusive pages [p, p + n) for the comparison (merged with the last run). */
static void keep_excl(cs_harvest_t *h, harvest_mem_t *m, uint64_t p, uint64_t n)
{
	cs_run_t *last = h->excl_n ? &m->excl[h->excl_n - 1] : NULL;

	if (last && last->first_page + last->npages == p) {
		last->npages += n;
		return;
	}
	if (h->excl_n == CS_HARVEST_RUNS_MAX) {
		h->excl_lost = 1;
		return;
	}
	m->excl[h->excl_n++] = (cs_run_t){ .first_page = p, .npages = n };
}

/* n pages from p that share the flags f, into the sets at once. */
static int add_run(cs_harvest_t *h, harvest_mem_t *m, uint64_t p, uint64_t n, unsigned f)
{
	int r = 0;

	if (f & RF_PRIVATE)
		r = set_add(h, m, CS_SET_PRESENT, p, n);
	if ((f & RF_EXCL) && m->keep)
		keep_excl(h, m, p, n);
	if (r == 0 && (f & RF_EXCL))
		r = set_add(h, m, CS_SET_EXCL, p, n);
	if (r == 0 && (f & RF_SD))
		r = set_add(h, m, CS_SET_WRITTEN, p, n);
	return r;
}

/* Bit 56 is not wanted: COWSCOPE_PARENT_UNSHARED=off, uffd-wp, this process. */
static int no_excl(const cs_harvest_t *h)
{
	return h->no_excl && h->backend == CS_BACKEND_UFFD_WP && h->proc_fd < 0;
}

/* The k entries in m->raw, from page first: a run of equal flags at a time, frames one by one. */
static int feed_raw(cs_harvest_t *h, harvest_mem_t *m, uint64_t first, uint64_t k, int want_sd)
{
	uint64_t excl = no_excl(h) ? 0 : CS_PM_EXCLUSIVE;
	unsigned f = raw_flags(m->raw[0], want_sd, excl), g;
	uint64_t start = 0;
	int r = 0;

	for (uint64_t i = 0; i < k && r == 0; i++) {
		if (h->backend == CS_BACKEND_PFN && (f & RF_PRIVATE))
			r = pfn_add(h, &m->pfn, first + i, cs_pm_pfn(m->raw[i]));
		g = i + 1 < k ? raw_flags(m->raw[i + 1], want_sd, excl) : ~0u;
		if (g == f || r < 0)
			continue;
		r = add_run(h, m, first + start, i + 1 - start, f);
		start = i + 1;
		f = g;
	}
	return r;
}

/* Read raw pagemap entries for [first, first + n) and feed them to the sets. */
static int raw_pages(cs_harvest_t *h, harvest_mem_t *m, uint64_t first, uint64_t n)
{
	int want_sd = h->backend == CS_BACKEND_SOFT_DIRTY && h->reason != CS_SNAP_FORK;
	int r = 0;

	while (n > 0 && r == 0) {
		uint64_t k = n < RAW_ENTRIES ? n : RAW_ENTRIES;
		long got = cs_prim_pread(h->pagemap_fd, m->raw, k * 8, first * 8);

		if (got != (long)(k * 8))
			return got < 0 ? (int)got : -EIO;
		h->raw_entries += k;
		r = feed_raw(h, m, first, k, want_sd);
		first += k;
		n -= k;
	}
	return r;
}

/* PAGEMAP_SCAN over a mapping for one category only: the kernel's cheap path. */
static int scan_one(cs_harvest_t *h, harvest_mem_t *m, const cs_vma_t *v, uint64_t cat, uint8_t set,
		    uint16_t *flags)
{
	uint64_t addr = v->start;

	while (addr < v->end) {
		struct pm_scan_arg a = {
			.size = sizeof(a),
			.start = addr,
			.end = v->end,
			.vec = (uint64_t)(uintptr_t)m->regions,
			.vec_len = SCAN_REGIONS,
			.category_mask = cat,
			.return_mask = cat,
		};
		long k = cs_prim_pagemap_scan(h->pagemap_fd, &a), i;
		int r = 0;

		if (k < 0)
			return (int)k;
		for (i = 0; i < k && r == 0; i++) {
			const struct page_region *g = &m->regions[i];

			r = set_add(h, m, set, g->start >> h->page_shift,
				    (g->end - g->start) >> h->page_shift);
		}
		if (k > 0 && cat == PAGE_IS_HUGE)
			*flags |= CS_MAPF_HUGE;
		if (r < 0)
			return r;
		if (a.walk_end <= addr)
			break;
		addr = a.walk_end;
	}
	return 0;
}

/*
 * Large anonymous mappings at the fork take their present set from mincore()
 * alone (0.5 ms/GiB) instead of pagemap entries (7.7 ms/GiB). What is lost
 * there: bit 56 at the fork, i.e. pages the child copied in the microseconds
 * between fork() and arming (docs/backends.md). The pfn backend reads all.
 */
static int residency_only(const cs_harvest_t *h, const cs_vma_t *v, uint8_t kind)
{
	if (no_excl(h))
		return kind == CS_MAP_ANON || kind == CS_MAP_HEAP || kind == CS_MAP_STACK;
	return h->reason == CS_SNAP_FORK && (kind == CS_MAP_ANON || kind == CS_MAP_HEAP) &&
		v->end - v->start > CS_HARVEST_E0_LIMIT_BYTES && h->backend != CS_BACKEND_PFN;
}

/* Add the resident pages of the mincore vector to the present set. */
static int add_resident(cs_harvest_t *h, harvest_mem_t *m, uint64_t first, uint64_t n)
{
	uint64_t i = 0, j;
	int r = 0;

	while (i < n && r == 0) {
		for (; i < n && !(m->resident[i] & 1); i++)
			;
		for (j = i; j < n && (m->resident[j] & 1); j++)
			;
		if (j > i)
			r = set_add(h, m, CS_SET_PRESENT, first + i, j - i); /* a run at once */
		i = j;
	}
	return r;
}

/*
 * The first page of [first, last) that is present or swapped (or carries a
 * uffd-wp marker, which pagemap reports as swapped), by PAGEMAP_SCAN stopping
 * at the first match (max_pages 1): the kernel walks only the page tables up to
 * it and skips unpopulated ranges a page-table level at a time. *out is last
 * if there is none. Pages it skips are exactly those whose pagemap entry has
 * neither bit 63 nor bit 62: no set takes them. A non-empty vector always
 * ("fs/proc: check p->vec_buf for NULL": vec_len 0 dereferences NULL on 6.7).
 */
static int next_present(cs_harvest_t *h, harvest_mem_t *m, uint64_t first, uint64_t last,
			uint64_t *out)
{
	while (first < last) {
		struct pm_scan_arg a = {
			.size = sizeof(a),
			.start = first << h->page_shift,
			.end = last << h->page_shift,
			.vec = (uint64_t)(uintptr_t)m->regions,
			.vec_len = 1,
			.max_pages = 1,
			.category_anyof_mask = PAGE_IS_PRESENT | PAGE_IS_SWAPPED,
			.return_mask = PAGE_IS_PRESENT | PAGE_IS_SWAPPED,
		};
		long k = cs_prim_pagemap_scan(h->pagemap_fd, &a);

		if (k < 0)
			return (int)k;
		if (k > 0) {
			*out = m->regions[0].start >> h->page_shift;
			return 0;
		}
		if (a.walk_end <= (first << h->page_shift))
			break;
		first = a.walk_end >> h->page_shift;
	}
	*out = last;
	return 0;
}

/*
 * Another process (proc_fd >= 0, where mincore is impossible): raw entries
 * only from each present page on, RAW_ENTRIES at a time; a mapping with
 * nothing present costs one ioctl, and a chunk that ends on a present page
 * is followed without asking. Without PAGEMAP_SCAN, or if it fails, every
 * entry is read. Same sets as reading every entry.
 */
static int walk_remote(cs_harvest_t *h, harvest_mem_t *m, uint64_t first, uint64_t last)
{
	uint64_t p = first, n;
	int r = 0, ask = h->scan && !h->read_all;

	while (first < last && r == 0) {
		if (ask && next_present(h, m, first, last, &p) < 0)
			p = first; /* read them all */
		if (p >= last)
			break;
		n = last - p < RAW_ENTRIES ? last - p : RAW_ENTRIES;
		r = raw_pages(h, m, p, n);
		ask = h->scan && !h->read_all && !(m->raw[n - 1] & (CS_PM_PRESENT | CS_PM_SWAPPED));
		first = p + n;
		p = first;
	}
	return r;
}

/*
 * Move *first to the next present or swapped page (1 if there is none): a
 * reservation's holes cost a page-table walk, not a mincore call per 4 MiB
 * (a 64 GiB MAP_NORESERVE mapping with 16 pages touched: 16,384 calls, 40 ms).
 * Pages skipped have neither bit 63 nor 62, so no set (nor mincore) takes
 * them. Only for mappings over CS_HARVEST_HOLES_BYTES, with PAGEMAP_SCAN.
 */
static int skip_holes(cs_harvest_t *h, harvest_mem_t *m, uint64_t *first, uint64_t last)
{
	uint64_t p;

	if (!h->scan || ((last - *first) << h->page_shift) <= CS_HARVEST_HOLES_BYTES ||
	    next_present(h, m, *first, last, &p) < 0)
		return 0;
	*first = p;
	return p >= last;
}

/* Walk a mapping in chunks, skipping chunks with nothing resident. */
static int walk_vma(cs_harvest_t *h, harvest_mem_t *m, const cs_vma_t *v, uint8_t kind,
		    uint16_t *flags)
{
	uint64_t first = v->start >> h->page_shift, last = v->end >> h->page_shift;
	int fast = !(*flags & CS_MAPF_SHIM) && residency_only(h, v, kind), r = 0, hole = 1;

	if (v->end - v->start > CS_HARVEST_RAW_LIMIT_BYTES) {
		*flags |= CS_MAPF_SKIPPED;
		return 0;
	}
	if (h->proc_fd >= 0 && !fast)
		return walk_remote(h, m, first, last);
	for (; first < last && r == 0; first += RAW_ENTRIES) {
		uint64_t n, i;

		/* Jump holes from an empty chunk on (and at the start): dense memory asks nothing. */
		if (hole && skip_holes(h, m, &first, last))
			break;
		n = last - first < RAW_ENTRIES ? last - first : RAW_ENTRIES;

		/*
		 * mincore of another process's memory is not possible: read all
		 * then. A small chunk (a library's .data, a few pages) is read
		 * whole: asking first would cost as much as reading it.
		 */
		if (h->proc_fd >= 0 || (!fast && n <= SMALL_CHUNK_PAGES) ||
		    cs_prim_mincore((void *)(uintptr_t)(first << h->page_shift), n << h->page_shift,
				    m->resident) < 0)
			memset(m->resident, 1, n);
		for (i = 0; i < n && !(m->resident[i] & 1); i++)
			;
		hole = i == n;
		if (i < n)
			r = fast ? add_resident(h, m, first, n) : raw_pages(h, m, first, n);
	}
	return r;
}

static const char *const special[] = { "[vvar]", "[vdso]", "[vsyscall]", "[vvar_vclock]",
				       "[uprobes]" };

static int is_special(const cs_vma_t *v)
{
	size_t i;

	for (i = 0; i < sizeof(special) / sizeof(special[0]); i++)
		if (strcmp(v->name, special[i]) == 0)
			return 1;
	return 0;
}

static uint8_t classify(const cs_vma_t *v)
{
	if (v->shared)
		return CS_MAP_SHARED;
	if (strcmp(v->name, "[heap]") == 0)
		return CS_MAP_HEAP;
	if (strcmp(v->name, "[stack]") == 0)
		return CS_MAP_STACK;
	if (v->name[0] == '/')
		return CS_MAP_FILE;
	if (v->name[0] == 0 || strncmp(v->name, "[anon", 5) == 0)
		return CS_MAP_ANON;
	return CS_MAP_OTHER;
}

static int put_mapping(cs_harvest_t *h, const cs_vma_t *v, uint8_t kind, uint16_t flags)
{
	uint8_t buf[sizeof(cs_rec_mapping_t) + CS_VMA_NAME_MAX + 16];
	cs_recbuf_t b = { .buf = buf, .cap = sizeof(buf) };
	cs_rec_mapping_t *rec = cs_rec_begin(&b, CS_REC_MAPPING, sizeof(*rec));

	rec->start = v->start;
	rec->end = v->end;
	rec->offset = v->offset;
	rec->seq = h->seq;
	rec->kind = kind;
	rec->prot = (uint8_t)v->prot;
	rec->flags = flags;
	cs_rec_put_str(&b, v->name, v->name_len);
	h->mappings++;
	return put(h, buf, cs_rec_finish(&b));
}

#define HUGE_BYTES (2ull << 20)

/*
 * Whether a PMD-mapped huge page can sit in v: only a 2 MiB-aligned 2 MiB span
 * inside it can hold one (the kernel maps a THP by PMD only there), so a
 * mapping without such a span skips the PAGE_IS_HUGE scan (and THP "never",
 * h->thp 0, skips it everywhere). A mapping clipped to a range (h->hi) may
 * cut a huge page: always scanned.
 */
static int may_hold_huge(const cs_vma_t *v)
{
	uint64_t first = (v->start + HUGE_BYTES - 1) & ~(HUGE_BYTES - 1);

	return first >= v->start && first + HUGE_BYTES <= v->end;
}

/*
 * One private mapping: arm it (fork snapshot), then its present, exclusive and
 * pfn sets, the written set (uffd-wp snapshots) and its huge pages, the last
 * two through PAGEMAP_SCAN's cheap single-category path.
 */
static int scan_private(cs_harvest_t *h, harvest_mem_t *m, const cs_vma_t *v, uint8_t kind,
			uint16_t *flags)
{
	int r;

	m->keep = h->keep_excl && !(*flags & CS_MAPF_SHIM) && (v->prot & PROT_READ);
	if (m->keep && residency_only(h, v, kind))
		h->excl_lost = 1; /* no entries read here: bit 56 unknown */
	r = walk_vma(h, m, v, kind, flags);
	if (r < 0 && m->keep)
		h->excl_lost = 1;
	m->keep = 0;
	if (h->arm && h->reason == CS_SNAP_FORK)
		*flags |= (uint16_t)h->arm(h->arm_arg, v);
	if (*flags & CS_MAPF_SKIPPED)
		return r; /* too large to walk: no written or huge set either (bounded cost) */
	if (r == 0 && h->scan && h->backend == CS_BACKEND_UFFD_WP && h->reason != CS_SNAP_FORK)
		r = scan_one(h, m, v, PAGE_IS_WRITTEN, CS_SET_WRITTEN, flags);
	if (r == 0 && h->scan && h->thp && (h->hi || may_hold_huge(v)))
		r = scan_one(h, m, v, PAGE_IS_HUGE, CS_SET_HUGE, flags);
	return r;
}

/* The shim's path, or inside one of its own ranges. */
static int is_shim(const cs_harvest_t *h, const cs_vma_t *v)
{
	for (int i = 0; i < 2; i++)
		if (h->own[i][1] && v->start >= h->own[i][0] && v->end <= h->own[i][1])
			return 1;
	return h->shim_path && h->shim_path[0] && strcmp(v->name, h->shim_path) == 0;
}

static int do_vma(cs_harvest_t *h, harvest_mem_t *m, const cs_vma_t *v)
{
	uint8_t kind = classify(v);
	uint16_t flags = 0;
	int r = 0;

	if (!(v->prot & PROT_WRITE) || is_special(v))
		return 0;
	/* The shim's own memory is measured too (its footprint), flagged and never counted. */
	if (is_shim(h, v))
		flags |= CS_MAPF_SHIM;
	if (kind != CS_MAP_SHARED)
		r = scan_private(h, m, v, kind, &flags);
	if (r < 0 && h->strict)
		return r;
	if (r < 0 || (flags & CS_MAPF_SKIPPED)) {
		flags |= CS_MAPF_SKIPPED;
		h->skipped++;
		h->snap_flags |= CS_SNAPF_TRUNCATED;
	}
	return put_mapping(h, v, kind, flags);
}

static int put_begin(cs_harvest_t *h, uint64_t t, uint64_t minflt, uint64_t majflt)
{
	cs_rec_snap_t s;

	memset(&s, 0, sizeof(s));
	s.h.type = CS_REC_SNAP_BEGIN;
	s.h.size = sizeof(s);
	s.seq = h->seq;
	s.reason = h->reason;
	s.backend = h->backend;
	s.t_ns = t;
	s.minflt = minflt;
	s.majflt = majflt;
	return put(h, &s, sizeof(s));
}

static int put_end(cs_harvest_t *h, uint64_t t0)
{
	cs_rec_snap_end_t e;

	memset(&e, 0, sizeof(e));
	e.h.type = CS_REC_SNAP_END;
	e.h.size = sizeof(e);
	e.seq = h->seq;
	e.flags = h->snap_flags;
	e.cost_ns = cs_prim_now_ns() - t0;
	return put(h, &e, sizeof(e));
}

static int flush_all(cs_harvest_t *h, harvest_mem_t *m)
{
	int s, r = 0;

	for (s = 1; s <= NSETS && r == 0; s++)
		r = set_flush(h, &m->sets[s], (uint8_t)s);
	return r ? r : pfn_flush(h, &m->pfn);
}

/* With a range: whether v intersects it, and v clipped to it. */
static int in_range(const cs_harvest_t *h, cs_vma_t *v)
{
	if (!h->hi)
		return 1;
	if (v->end <= h->lo || v->start >= h->hi)
		return 0;
	if (v->start < h->lo) {
		v->offset += h->lo - v->start;
		v->start = h->lo;
	}
	if (v->end > h->hi)
		v->end = h->hi;
	return 1;
}

int cs_harvest_run(cs_harvest_t *h, uint64_t minflt, uint64_t majflt)
{
	uint64_t t0 = cs_prim_now_ns();
	cs_maps_reader_t mr;
	harvest_mem_t m;
	cs_vma_t v;
	int r, more = 0;

	carve(h, &m);
	h->snap_flags = 0;
	h->mappings = h->skipped = 0;
	h->raw_entries = 0;
	h->excl_n = 0;
	h->excl_lost = 0;
	if (no_excl(h))
		h->snap_flags |= CS_SNAPF_NO_EXCL;
	r = cs_maps_open(&mr, h->proc_fd, m.maps, MAPS_BYTES);
	if (r < 0)
		return r;
	r = put_begin(h, t0, minflt, majflt);
	while (r == 0 && (more = cs_maps_next(&mr, &v)) > 0) {
		if (h->hi && v.start >= h->hi)
			break; /* maps are in address order: the range is behind us */
		if (in_range(h, &v))
			r = do_vma(h, &m, &v);
	}
	if (r == 0 && more < 0)
		r = more;
	cs_maps_close(&mr);
	if (r == 0 && h->mappings == 0 && !h->hi)
		r = -ESRCH; /* no memory at all: the process is gone, not empty */
	if (r == 0)
		r = flush_all(h, &m);
	if (r == 0 && h->before_end && h->before_end(h->before_end_arg) < 0)
		h->snap_flags |= CS_SNAPF_TRUNCATED;
	return r ? r : put_end(h, t0);
}

const cs_run_t *cs_harvest_excl(const cs_harvest_t *h)
{
	if (!h->keep_excl || h->excl_lost || no_excl(h) || h->proc_fd >= 0)
		return NULL;
	return (const cs_run_t *)(h->scratch + CS_HARVEST_SCRATCH - CS_HARVEST_RUNS_BYTES);
}
