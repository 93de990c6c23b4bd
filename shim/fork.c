/* SPDX-License-Identifier: MIT */
/* Following fork: atfork handlers that only flip state, and the child's start (raw syscalls only); owns the fork state. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <string.h>
#include <sys/mman.h>
#include "cowscope/trace_format.h"
#include "harvest.h"
#include "pagemap.h"
#include "prim.h"
#include "boot.h"
#include "counters.h"
#include "events.h"
#include "evbuf.h"
#include "fork.h"
#include "guard.h"
#include "labelling.h"
#include "modules.h"
#include "perfcount.h"
#include "sampling.h"
#include "stacks.h"
#include "trace.h"
#include "track.h"
#include "view.h"
#include "writers.h"

/* Fork state, written only here. */
static uint64_t fork_seq;   /* forks made by this process */
static uint32_t *fork_gate; /* pfn backend: MAP_SHARED slots, CS_FORK_GATE_SLOTS */
static int uffd = -1;       /* kept high, or -1 */
static cs_fd_id_t uffd_id;

/* Per-thread: which fork of this process the thread is making (read by the child). */
static __thread uint64_t tls_fork_seq __attribute__((tls_model("initial-exec")));

uint64_t cs_fork_number(void)
{
	return tls_fork_seq = __atomic_add_fetch(&fork_seq, 1, __ATOMIC_RELAXED);
}

uint64_t cs_fork_this_seq(void)
{
	return tls_fork_seq;
}

/*
 * In the parent, before the fork: number it, and write out buffered
 * allocation events. Under the guard, like every entry point; a fork made
 * from inside the shim (never) would be numbered but not flushed.
 */
static void on_prepare(void)
{
	cs_fork_number();
	if (!cs_guard_enter())
		return;
	if (cs_sampling()->on && cs_traced_here())
		cs_evbuf_flush_all();
	if (cs_traced_here())
		cs_view_prepare();
	cs_guard_leave();
}

/* In the child: its thread's guard is the forking thread's, free (fork() runs outside the shim). */
static void on_child(void)
{
	if (!cs_guard_enter())
		return;
	cs_fork_child_start(CS_VIA_FORK);
	cs_guard_leave();
}

int cs_fork_register(void)
{
	int r = pthread_atfork(on_prepare, NULL, on_child);

	if (cs_track_backend() == CS_BACKEND_PFN)
		fork_gate = cs_prim_mmap_shared(CS_FORK_GATE_SLOTS * sizeof(uint32_t));
	return r ? -r : 0;
}

int cs_fork_gate_range(uint64_t *lo, uint64_t *hi)
{
	if (!fork_gate)
		return -ENOENT;
	*lo = (uint64_t)(uintptr_t)fork_gate;
	*hi = (uint64_t)(uintptr_t)(fork_gate + CS_FORK_GATE_SLOTS);
	return 0;
}

#define GATE_STEP_NS (50u * 1000u * 1000u)
#define GATE_MAX_STEPS 200u /* 10 s: a child stuck before its snapshot does not hang the parent */

void cs_fork_gate_wait(int pid)
{
	uint32_t *w;

	if (!fork_gate || cs_track_backend() != CS_BACKEND_PFN || pid <= 0)
		return;
	w = &fork_gate[(uint32_t)pid % CS_FORK_GATE_SLOTS];
	for (unsigned i = 0; i < GATE_MAX_STEPS; i++) {
		uint32_t v = __atomic_load_n(w, __ATOMIC_ACQUIRE);

		if (v == (uint32_t)pid || !cs_prim_child_running(pid))
			return;
		cs_prim_futex_wait(w, v, GATE_STEP_NS);
	}
}

/* In the child, its fork snapshot taken: let the parent go on. */
static void gate_open(void)
{
	uint32_t *w;

	if (!fork_gate)
		return;
	w = &fork_gate[(uint32_t)cs_proc()->pid % CS_FORK_GATE_SLOTS];
	__atomic_store_n(w, (uint32_t)cs_proc()->pid, __ATOMIC_RELEASE);
	cs_prim_futex_wake(w);
}

/* Regions per PAGEMAP_SCAN while arming (on the child's stack), and the calls allowed per mapping. */
#define ARM_VEC 128u
#define ARM_MAX_CALLS 4096u /* 512 Ki separate runs of pages; past that, skip the mapping */

/* Mappings the fork snapshot left unarmed on purpose (too large, or too fragmented to arm). */
static uint32_t arm_skipped;

/*
 * Write-protect the present or swapped pages of a registered range, never its
 * holes: protecting a whole range made the kernel install uffd-wp markers and
 * allocate page tables over all of it (a 64 GiB MAP_NORESERVE mapping with 16
 * pages touched: 128 MiB of page tables and 1.3 s in the child; 14 TiB of ASan
 * shadow: more memory than the machine has). PAGEMAP_SCAN's
 * PM_SCAN_WP_MATCHING protects exactly the pages that match
 * category_anyof_mask, and its walk skips unpopulated page tables a level at a
 * time. Pages first touched after arming carry no uffd-wp bit and read as
 * written, but they were not present at the fork: not in S, which the
 * analyzer intersects with. Always with a vector ("fs/proc: check p->vec_buf
 * for NULL"); it fills with runs of matching pages, so loop on walk_end, at
 * most ARM_MAX_CALLS times (-E2BIG past that). No UFFDIO_WRITEPROTECT
 * fallback: over a whole range it is the cost this avoids, and the backend's
 * probe requires PAGEMAP_SCAN (Linux 6.7, like UFFD_FEATURE_WP_ASYNC).
 */
static int write_protect(int pm, uint64_t start, uint64_t end)
{
	struct page_region vec[ARM_VEC];

	for (uint32_t i = 0; i < ARM_MAX_CALLS && start < end; i++) {
		struct pm_scan_arg a = { .size = sizeof(a),
					 .flags = PM_SCAN_WP_MATCHING | PM_SCAN_CHECK_WPASYNC,
					 .start = start,
					 .end = end,
					 .vec = (uint64_t)(uintptr_t)vec,
					 .vec_len = ARM_VEC,
					 .category_anyof_mask = PAGE_IS_PRESENT | PAGE_IS_SWAPPED,
					 .return_mask = PAGE_IS_PRESENT | PAGE_IS_SWAPPED };
		long k = cs_prim_pagemap_scan(pm, &a);

		if (k < 0)
			return (int)k;
		if (a.walk_end <= start)
			return -EIO;
		start = a.walk_end;
	}
	return start < end ? -E2BIG : 0;
}

/*
 * uffd-wp arming of one mapping: register for write-protect, then protect its
 * populated pages. Mappings the harvest does not walk (over
 * CS_HARVEST_RAW_LIMIT_BYTES, e.g. ASan's 14 TiB shadow) are neither
 * registered nor protected, and nor is one too fragmented to protect within
 * the bound: skipped, counted for CS_NOTE_ARM_SKIPPED, and not flagged armed
 * (the analyzer uses no written set there). Registered areas made fork copy
 * their page tables eagerly until 35e247032606 (2026-01): a traced child that
 * forks again pays that on older kernels (DESIGN.md, known kernel bugs).
 */
static int arm_uffd(void *arg, const cs_vma_t *v)
{
	struct uffdio_register reg = { .range = { v->start, v->end - v->start },
				       .mode = UFFDIO_REGISTER_MODE_WP };
	int r;

	(void)arg;
	if (v->end - v->start > CS_HARVEST_RAW_LIMIT_BYTES) {
		arm_skipped++;
		return 0;
	}
	r = (int)cs_prim_ioctl(uffd, UFFDIO_REGISTER, &reg);
	if (r == 0)
		r = write_protect(cs_track_pagemap_fd(), v->start, v->end);
	if (r == -E2BIG)
		arm_skipped++;
	if (r < 0) {
		cs_counter_add(CS_CNT_ARM_FAIL, 1);
		return 0;
	}
	cs_counter_add(CS_CNT_ARM_OK, 1);
	return CS_MAPF_ARMED;
}

/* "cowscope: N mappings not armed ..." without stdio (fork-child-safe). */
static void note_arm_skipped(void)
{
	static const char tail[] = " mapping(s) not armed: larger than 64 GiB (reserved, not "
				   "used) or too fragmented; their copies are not measured";
	char text[16 + sizeof(tail)] = "cowscope: ", digits[12];
	size_t n = 0, at = 10;

	for (uint32_t c = arm_skipped; n == 0 || c; c /= 10)
		digits[n++] = (char)('0' + c % 10);
	while (n)
		text[at++] = digits[--n];
	memcpy(text + at, tail, sizeof(tail));
	cs_rec_note(CS_NOTE_ARM_SKIPPED, 0, text);
}

/* soft-dirty was cleared for the whole process: every mapping is tracked. */
static int arm_all(void *arg, const cs_vma_t *v)
{
	(void)arg;
	(void)v;
	return CS_MAPF_ARMED;
}

static int start_uffd(void)
{
	struct uffdio_api api = { .api = UFFD_API, .features = UFFD_FEATURE_WP_ASYNC };
	int fd = cs_prim_userfaultfd(O_CLOEXEC | O_NONBLOCK | UFFD_USER_MODE_ONLY), r;

	if (fd < 0)
		return fd;
	r = (int)cs_prim_ioctl(fd, UFFDIO_API, &api);
	if (r < 0) {
		cs_prim_close(fd);
		return r;
	}
	if ((r = cs_prim_fd_id(fd, &uffd_id)) < 0) {
		cs_prim_close(fd);
		return r;
	}
	uffd = cs_prim_fd_high(fd);
	if (uffd < 0) {
		/* userfaultfd must stay open: none can sit above the program's range */
		cs_rec_note(CS_NOTE_FD, EMFILE,
			    "cowscope: no descriptor outside the program's "
			    "range for userfaultfd; not using uffd-wp");
		return uffd = -1, -EMFILE;
	}
	return 0;
}

/* Close the inherited uffd only if it is still the userfaultfd we opened. */
static void drop_uffd(void)
{
	if (!cs_prim_fd_is_uffd(uffd))
		uffd = -1;
	cs_prim_fd_drop(&uffd, &uffd_id);
}

static int start_soft_dirty(void)
{
	int fd = cs_prim_openat(AT_FDCWD, "/proc/self/clear_refs", O_WRONLY | O_CLOEXEC, 0), r;

	if (fd < 0)
		return fd;
	r = cs_prim_write_all(fd, "4", 1);
	cs_prim_close(fd);
	return r;
}

/* Prepare the backend; on failure fall to the next usable one and say so. */
static int (*start_backend(void))(void *, const cs_vma_t *)
{
	for (;;) {
		int r = 0;

		uint8_t backend = cs_track_backend();

		if (backend == CS_BACKEND_UFFD_WP && (r = start_uffd()) == 0)
			return arm_uffd;
		if (backend == CS_BACKEND_SOFT_DIRTY && (r = start_soft_dirty()) == 0)
			return arm_all;
		if (r == 0)
			return NULL; /* pfn, exclusive, none: nothing to arm */
		cs_rec_note(CS_NOTE_ARM_FAILED, -r,
			    "cowscope: arming page tracking failed in a "
			    "child; falling back to the next backend");
		cs_track_fall_back();
	}
}

/* Private writable mappings a parent registers for its own tracking (as the fork snapshot would). */
static int self_armable(const cs_vma_t *v)
{
	static const char *const special[] = { "[vvar]", "[vdso]", "[vsyscall]", "[vvar_vclock]",
					       "[uprobes]" };

	if (v->shared || !(v->prot & PROT_WRITE) || v->end - v->start > CS_HARVEST_RAW_LIMIT_BYTES)
		return 0;
	for (size_t i = 0; i < sizeof(special) / sizeof(special[0]); i++)
		if (strcmp(v->name, special[i]) == 0)
			return 0;
	return 1;
}

/* Register and write-protect every armable mapping; mappings that fail stay written (conservative). */
static int self_arm_all(int pm)
{
	static char maps[16384]; /* the shim's static data; callers are serialized (view.c) */
	cs_maps_reader_t mr;
	cs_vma_t v;
	int r, more;

	if ((r = cs_maps_open(&mr, -1, maps, sizeof(maps))) < 0)
		return r;
	while ((more = cs_maps_next(&mr, &v)) > 0) {
		struct uffdio_register reg = { .range = { v.start, v.end - v.start },
					       .mode = UFFDIO_REGISTER_MODE_WP };

		if (self_armable(&v) && cs_prim_ioctl(uffd, UFFDIO_REGISTER, &reg) == 0)
			write_protect(pm, v.start, v.end);
	}
	cs_maps_close(&mr);
	return more;
}

int cs_fork_self_arm(void)
{
	int pm, own, r;

	if (uffd >= 0 && !cs_prim_fd_same(uffd, &uffd_id))
		uffd = -1; /* the program closed ours: never touch its descriptor */
	if (uffd < 0 && (r = start_uffd()) < 0)
		return r;
	pm = cs_track_pagemap_get(&own);
	if (pm < 0)
		return pm;
	r = self_arm_all(pm);
	if (own)
		cs_prim_close(pm);
	return r;
}

static void reset_for_child(uint8_t via)
{
	/* The parent's descriptors: closed only if still ours (the program may reuse numbers). */
	cs_trace_close();
	cs_track_pagemap_drop();
	drop_uffd();
	cs_perfcount_child(); /* the parent's event descriptors out, this child's own in */
	cs_view_child();      /* the parent's own descriptors become its view */
	cs_boot_become_child(via, tls_fork_seq);
	fork_seq = 0;
	cs_events_reset_in_child();
	cs_labels_reset_in_child();
	cs_counters_reset();
	cs_writers_reset_in_child();
	if (cs_sampling()->on)
		cs_evbuf_reset_in_child(); /* the parent's buffered events are the parent's to write */
}

/* Where the parent's allocation history stops for this child, and the modules it inherited. */
static void put_fork_point(void)
{
	cs_rec_fork_point_t r = { .h = { CS_REC_FORK_POINT, 0, sizeof(r) },
				  .alloc_seq = cs_sampling_seq_now(),
				  .stack_id = cs_stack_next_id() };

	cs_trace_put(&r, sizeof(r));
	cs_modules_write_all();
}

void cs_fork_child_start(uint8_t via)
{
	int (*arm)(void *, const cs_vma_t *);
	int stacks_off = cs_stacks_fork_child(); /* before anything here can sample */
	uint8_t before;
	int batch;

	if (!cs_proc()->ready)
		return;
	reset_for_child(via);
	if (!cs_proc()->arena || cs_boot_open_trace() < 0) {
		cs_boot_stop();
		gate_open();
		return;
	}
	batch = cs_trace_batch_begin(); /* the start's records: one write a page */
	if (cs_sampling()->on)
		put_fork_point();
	else if (cs_proc()->opt.writers)
		cs_modules_write_all(); /* writer stacks are symbolized like allocation sites */
	if (cs_sampling()->on && stacks_off)
		cs_rec_note(CS_NOTE_UNWIND_OFF, 0,
			    "cowscope: a thread was inside the unwinder at the "
			    "fork: allocations here are recorded without stacks");
	cs_track_pagemap_open();
	before = cs_track_backend();
	arm = start_backend();
	if (cs_track_backend() != before)
		cs_track_put_backend(); /* arming fell back: the last backend record rules */
	arm_skipped = 0;
	if (cs_track_backend() != CS_BACKEND_NONE)
		cs_snapshot_arm(CS_SNAP_FORK, arm);
	/* Armed at its fork, this child's written set covers the lives of its own children. */
	cs_view_set_tracked(arm == arm_uffd && uffd >= 0);
	if (arm_skipped)
		note_arm_skipped();
	cs_writers_child_start(); /* after the fork snapshot: its own work is not sampled */
	cs_trace_batch_end(batch);
	gate_open();
}
