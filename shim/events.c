/* SPDX-License-Identifier: MIT */
/* Event records, marks, snapshots and the final records of a process; owns the snapshot state. */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include "cowscope/trace_format.h"
#include "words.h"
#include "harvest.h"
#include "prim.h"
#include "record.h"
#include "boot.h"
#include "counters.h"
#include "events.h"
#include "evbuf.h"
#include "guard.h"
#include "modules.h"
#include "perfcount.h"
#include "sampling.h"
#include "trace.h"
#include "track.h"
#include "view.h"
#include "writers.h"

/*
 * The ranges tracked at the fork (below), 16 KiB, declared before the small
 * state so that the compiler (which lays a file's variables out in reverse)
 * puts that state beside the other small variables a fork child writes, not
 * on a page of its own: one page less in every child.
 */
#define FORK_RANGES_MAX 1024u

static struct fork_range {
	uint64_t start;
	uint64_t end;
} fork_ranges[FORK_RANGES_MAX];

/* Snapshot state, written only here (reset in a fork child by cs_events_reset_in_child). */
static int snap_busy;     /* the snapshot lock */
static uint32_t snap_seq; /* next snapshot number */
static uint32_t mark_seq; /* next cowscope_mark() number */

static void put(const void *rec, size_t n)
{
	cs_trace_put_counted(rec, n);
}

void cs_rec_fork(int child_pid, uint8_t via, uint64_t seq)
{
	cs_rec_fork_t r = { .h = { CS_REC_FORK, 0, sizeof(r) },
			    .child_pid = (uint32_t)child_pid,
			    .via = via,
			    .seq = seq,
			    .t_ns = cs_prim_now_ns() };

	cs_counter_add(CS_CNT_FORKS, 1);
	put(&r, sizeof(r));
}

void cs_rec_child_exit(int pid, int status)
{
	cs_rec_child_exit_t r = { .h = { CS_REC_CHILD_EXIT, 0, sizeof(r) },
				  .pid = (uint32_t)pid,
				  .status = status,
				  .t_ns = cs_prim_now_ns() };

	put(&r, sizeof(r));
}

void cs_rec_resume(int err)
{
	cs_rec_resume_t r = { .h = { CS_REC_RESUME, 0, sizeof(r) },
			      .err = err,
			      .t_ns = cs_prim_now_ns() };

	put(&r, sizeof(r));
}

void cs_rec_note(uint32_t code, int err, const char *text)
{
	uint8_t buf[512];
	cs_recbuf_t b = { .buf = buf, .cap = sizeof(buf) };
	cs_rec_note_t *r = cs_rec_begin(&b, CS_REC_NOTE, sizeof(*r));

	r->code = code;
	r->err = err;
	cs_rec_put_str(&b, text, strnlen(text, 400));
	put(buf, cs_rec_finish(&b));
	if (cs_proc()->opt.verbose)
		cs_say(text);
}

int cs_snapshot(uint8_t reason)
{
	return cs_snapshot_arm(reason, NULL);
}

/* Take the snapshot lock; on failure count the skipped snapshot. */
static int snap_lock(void)
{
	if (__atomic_exchange_n(&snap_busy, 1, __ATOMIC_ACQUIRE)) {
		cs_counter_add(CS_CNT_SNAP_BUSY, 1);
		return 0;
	}
	return 1;
}

static void snap_unlock(void)
{
	__atomic_store_n(&snap_busy, 0, __ATOMIC_RELEASE);
}

/* The shim's static data: never compared. */
extern char __bss_start[] __attribute__((visibility("hidden")));
extern char _end[] __attribute__((visibility("hidden")));

_Static_assert(CS_DIFF_SCRATCH <= CS_ARENA_BYTES, "the arena holds the diff's scratch");

/* Whether this snapshot compares pages with the parent's (docs/amplification.md). */
static int wants_diff(uint8_t reason)
{
	uint8_t b = cs_track_backend();

	return cs_proc()->role == CS_ROLE_CHILD && cs_proc()->opt.diff != CS_DIFF_OFF &&
		reason != CS_SNAP_FORK && reason != CS_SNAP_UNMAP &&
		(b == CS_BACKEND_UFFD_WP || b == CS_BACKEND_SOFT_DIRTY);
}

/* The harvest's before_end: the changed words of this snapshot, in the arena. */
static int run_diff(void *arg)
{
	const cs_harvest_t *h = arg;
	const cs_proc_t *p = cs_proc();
	cs_diff_t d = {
		.self_pm_fd = h->pagemap_fd,
		.backend = h->backend,
		.all = p->opt.diff == CS_DIFF_ALL,
		.no_parent = !!(h->snap_flags & CS_SNAPF_NO_EXCL),
		.budget = p->opt.diff_budget,
		.seq = h->seq,
		.page_shift = h->page_shift,
		.shim_path = h->shim_path,
		.own = { { h->own[0][0], h->own[0][1] },
			 { h->own[1][0], h->own[1][1] },
			 { (uint64_t)(uintptr_t)__bss_start, (uint64_t)(uintptr_t)_end } },
		.lo = h->lo,
		.hi = h->hi,
		.excl = cs_harvest_excl(h),
		.nexcl = h->excl_n,
		.w = h->w,
		.scratch = h->scratch,
	};

	d.no_view = !cs_view_get(&d.view_mem_fd, &d.view_pm_fd);
	return cs_diff_run(&d);
}

/* One snapshot of [lo, hi) (0, 0: everything), with the lock held. */
static int harvest_locked(uint8_t reason, int (*arm)(void *arg, const cs_vma_t *v), uint64_t lo,
			  uint64_t hi)
{
	const cs_proc_t *p = cs_proc();
	const cs_shimmem_t *mem = &cs_sampling()->mem;
	struct rusage ru;
	cs_harvest_t h = {
		.proc_fd = -1,
		.backend = cs_track_backend(),
		.scan = cs_track_scan(),
		.thp = cs_track_thp(),
		.reason = reason,
		.page_shift = p->page_shift,
		.shim_path = p->shim_path,
		.own = { { (uint64_t)(uintptr_t)p->arena,
			   (uint64_t)(uintptr_t)p->arena + CS_ARENA_BYTES },
			 { (uint64_t)(uintptr_t)mem->base,
			   (uint64_t)(uintptr_t)mem->base + mem->bytes } },
		.arm = arm,
		.no_excl = p->opt.no_parent_unshared,
		.lo = lo,
		.hi = hi,
		.w = cs_trace_writer(),
		.scratch = p->arena,
	};
	int r, own, b = cs_trace_batch_begin(); /* the snapshot's records: one write a page */

	h.pagemap_fd = cs_track_pagemap_get(&own);
	h.seq = snap_seq++;
	if (wants_diff(reason) && h.pagemap_fd >= 0) {
		h.before_end = run_diff;
		h.before_end_arg = &h;
		h.keep_excl = 1; /* the comparison's parent side reads no pagemap itself */
	}
	if (cs_sampling()->on)
		cs_evbuf_flush_all(); /* the analyzer needs the allocations up to this snapshot */
	cs_writers_drain();           /* and the writes: a snapshot's samples precede it */
	memset(&ru, 0, sizeof(ru));
	cs_prim_getrusage_self(&ru);
	cs_perfcount_put_counts(CS_COUNT_AT_SNAP, h.seq);
	r = cs_harvest_run(&h, (uint64_t)ru.ru_minflt, (uint64_t)ru.ru_majflt);
	if (own)
		cs_prim_close(h.pagemap_fd);
	cs_counter_add(CS_CNT_MAPS_SKIPPED, h.skipped);
	if (r < 0)
		cs_counter_add(CS_CNT_SNAP_FAIL, 1);
	if (cs_trace_batch_end(b) < 0 && r == 0)
		r = -EIO; /* written out at the end: the snapshot did not reach the file */
	return r;
}

/*
 * ---- Ranges tracked at the fork ----
 *
 * The fork snapshot notes every mapping it tracks (in address order, merged
 * when adjacent). Only an unmap that touches one of them can take away pages
 * shared at the fork, so only such an unmap takes a CS_SNAP_UNMAP snapshot;
 * the range is forgotten afterwards (memory mapped there later is not the
 * fork's). Changed under the snapshot lock only.
 */
/* (fork_ranges: declared at the top of the file.) */
static uint32_t nfork_ranges;
static uint8_t fork_ranges_full; /* more than fit: any unmap may matter */
static int (*fork_arm)(void *arg, const cs_vma_t *v);

static void note_range(uint64_t start, uint64_t end)
{
	struct fork_range *last = nfork_ranges ? &fork_ranges[nfork_ranges - 1] : NULL;

	if (last && last->end == start)
		last->end = end;
	else if (nfork_ranges < FORK_RANGES_MAX)
		fork_ranges[nfork_ranges++] = (struct fork_range){ start, end };
	else
		fork_ranges_full = 1;
}

/* The fork snapshot's arm callback: note the mapping, then arm it as the backend does. */
static int note_and_arm(void *arg, const cs_vma_t *v)
{
	note_range(v->start, v->end);
	return fork_arm ? fork_arm(arg, v) : 0;
}

/* Index of the first range that ends after lo. */
static uint32_t first_after(uint64_t lo)
{
	uint32_t a = 0, b = nfork_ranges;

	while (a < b) {
		uint32_t mid = a + (b - a) / 2;

		if (fork_ranges[mid].end <= lo)
			a = mid + 1;
		else
			b = mid;
	}
	return a;
}

static int tracked_at_fork(uint64_t lo, uint64_t hi)
{
	uint32_t i = first_after(lo);

	return fork_ranges_full || (i < nfork_ranges && fork_ranges[i].start < hi);
}

/* Remove [lo, hi) from the ranges: drop, trim or split the ranges it touches. */
static void forget_range(uint64_t lo, uint64_t hi)
{
	uint32_t i = first_after(lo), k = i;
	struct fork_range keep[2];
	uint32_t nkeep = 0;

	for (; k < nfork_ranges && fork_ranges[k].start < hi; k++) {
		if (fork_ranges[k].start < lo)
			keep[nkeep++] = (struct fork_range){ fork_ranges[k].start, lo };
		if (fork_ranges[k].end > hi)
			keep[nkeep++] = (struct fork_range){ hi, fork_ranges[k].end };
	}
	if (k - i < nkeep && nfork_ranges + nkeep - (k - i) > FORK_RANGES_MAX) {
		fork_ranges_full = 1; /* no room to split: keep it whole */
		return;
	}
	memmove(&fork_ranges[i + nkeep], &fork_ranges[k],
		(nfork_ranges - k) * sizeof(*fork_ranges));
	memcpy(&fork_ranges[i], keep, nkeep * sizeof(*keep));
	nfork_ranges = nfork_ranges + nkeep - (k - i);
}

int cs_snapshot_arm(uint8_t reason, int (*arm)(void *arg, const cs_vma_t *v))
{
	int r;

	if (!snap_lock())
		return -EBUSY;
	if (reason == CS_SNAP_FORK) {
		nfork_ranges = 0;
		fork_ranges_full = 0;
		fork_arm = arm;
		arm = note_and_arm;
	}
	r = harvest_locked(reason, arm, 0, 0);
	snap_unlock();
	return r;
}

void cs_snapshot_unmap(uint64_t lo, uint64_t hi)
{
	uint64_t mask = (1ull << cs_proc()->page_shift) - 1;

	if (cs_proc()->role != CS_ROLE_CHILD || cs_track_backend() == CS_BACKEND_NONE ||
	    cs_guard_held() || hi <= lo || !cs_traced_here() || !snap_lock())
		return;
	lo &= ~mask;
	hi = (hi + mask) & ~mask;
	if (tracked_at_fork(lo, hi) && cs_guard_enter()) {
		harvest_locked(CS_SNAP_UNMAP, NULL, lo, hi);
		forget_range(lo, hi);
		cs_guard_leave();
	}
	snap_unlock();
}

void cs_snapshot_remap(uint64_t old, uint64_t old_len, uint64_t new_len, int flags)
{
	if (flags & MREMAP_FIXED)
		cs_snapshot_unmap(old, old + old_len);
	else if (new_len < old_len)
		cs_snapshot_unmap(old + new_len, old + old_len); /* shrinking never moves */
	else if (flags & MREMAP_MAYMOVE)
		cs_snapshot_unmap(old, old + old_len); /* it may move (or grow in place) */
}

/* The process that took its working snapshot (a pid: a forked child starts without). */
static int work_pid;

int cs_snapshot_work(void)
{
	int pid = cs_proc()->pid, r;

	if (cs_proc()->role != CS_ROLE_CHILD || cs_track_backend() == CS_BACKEND_NONE)
		return 0;
	if (__atomic_exchange_n(&work_pid, pid, __ATOMIC_ACQ_REL) == pid)
		return 0; /* once: the process began to exit already */
	r = cs_snapshot(CS_SNAP_WORK);
	if (r == -EBUSY)
		__atomic_store_n(&work_pid, 0, __ATOMIC_RELEASE); /* a later call may take it */
	return r;
}

int cs_mark(const char *label)
{
	uint8_t buf[sizeof(cs_rec_mark_t) + 256];
	cs_recbuf_t b = { .buf = buf, .cap = sizeof(buf) };
	int child = cs_proc()->role == CS_ROLE_CHILD && cs_track_backend() != CS_BACKEND_NONE;
	cs_rec_mark_t *r = cs_rec_begin(&b, CS_REC_MARK, sizeof(*r));
	int err = 0;

	r->t_ns = cs_prim_now_ns();
	r->seq = __atomic_fetch_add(&mark_seq, 1, __ATOMIC_RELAXED);
	r->snap_seq = child ? snap_seq : UINT32_MAX;
	cs_rec_put_str(&b, label ? label : "", label ? strnlen(label, 200) : 0);
	if (cs_trace_put(buf, cs_rec_finish(&b)) < 0)
		err = -EIO;
	cs_perfcount_put_counts(CS_COUNT_AT_MARK, r->seq);
	if (child)
		err = cs_snapshot(CS_SNAP_MARK);
	return err;
}

void cs_modules_refresh(void)
{
	if (cs_sampling()->mem.base)
		cs_modules_scan(&cs_sampling()->mem, cs_proc()->exe);
}

void cs_events_reset_in_child(void)
{
	snap_seq = 0;
	mark_seq = 0;
	snap_busy = 0;
}

static void put_counters(void)
{
	uint8_t buf[sizeof(cs_rec_counters_t) + CS_CNT__COUNT * 8];
	cs_rec_counters_t *c = (cs_rec_counters_t *)buf;
	uint64_t v[CS_CNT__COUNT];

	memset(buf, 0, sizeof(buf));
	c->h.type = CS_REC_COUNTERS;
	c->h.size = sizeof(buf);
	c->count = CS_CNT__COUNT;
	cs_counters_read(v);
	v[CS_CNT_TRACE_REOPEN] = cs_trace_reopens(); /* the writer's own count */
	memcpy(buf + sizeof(*c), v, sizeof(v));
	put(buf, sizeof(buf));
}

void cs_finish(uint8_t how, int status)
{
	static const uint8_t reason_of[] = {
		[CS_END_EXIT] = CS_SNAP_EXIT,
		[CS_END__EXIT] = CS_SNAP__EXIT,
		[CS_END_EXEC] = CS_SNAP_EXEC,
	};
	cs_rec_end_t e = { .h = { CS_REC_END, 0, sizeof(e) }, .how = how, .status = status };

	if (cs_proc()->role == CS_ROLE_CHILD && cs_track_backend() != CS_BACKEND_NONE &&
	    how < sizeof(reason_of) && reason_of[how])
		cs_snapshot(reason_of[how]);
	else {
		if (cs_sampling()->on)
			cs_evbuf_flush_all();
		cs_perfcount_put_counts(CS_COUNT_AT_SNAP, UINT32_MAX); /* the end, no snapshot */
	}
	put_counters();
	e.t_ns = cs_prim_now_ns();
	put(&e, sizeof(e));
}
