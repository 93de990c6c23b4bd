/* SPDX-License-Identifier: MIT */
/* Stack capture with libunwind's unw_backtrace and a lock-free intern table of stack hashes. */
#include <dlfcn.h>
#include <link.h>
#include <string.h>
#include <sys/syscall.h>
#include "cs_config.h"
#include "evbuf.h"
#include "prim.h"
#include "counters.h"
#include "fpunwind.h"
#include "options.h"
#include "stacks.h"
#ifdef CS_HAVE_LIBUNWIND
#define UNW_LOCAL_ONLY
#include <libunwind.h>
#endif

typedef struct slot {
	uint64_t hash; /* 0: empty */
	uint32_t id;   /* 0 while the inserting thread is still assigning it */
	uint32_t pad;
} slot_t;

static slot_t *table;
static uint32_t depth_max = 32;
static uint32_t next_id = 1;
static uintptr_t shim_lo, shim_hi;

/*
 * Threads inside libunwind or the shim's dl_iterate_phdr right now. libunwind
 * holds a mutex in _ULx86_64_step and dl_iterate_phdr holds the loader's
 * write lock, which glibc (2.36) does not reset in a fork child: a child
 * inherits them held by a thread it does not have, so it must neither unwind
 * nor iterate the loaded objects if any was inside at the fork (DESIGN.md,
 * libunwind).
 */
static uint32_t in_loader;
static uint8_t stacks_off; /* set in a fork child (and its descendants) that inherited one */
static uint8_t use_fp;     /* COWSCOPE_UNWIND=fp */

#define MAX_PROBES 64

/* Spins, then yields, before an unfinished slot is taken over (see wait_id). */
#define WAIT_SPINS 4096u
#define WAIT_YIELDS 64u

/* Find the shim's own executable segment, so its frames can be dropped. */
static int find_self(struct dl_phdr_info *info, size_t size, void *arg)
{
	uintptr_t me = (uintptr_t)arg;

	(void)size;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		uintptr_t lo = info->dlpi_addr + ph->p_vaddr;

		if (ph->p_type == PT_LOAD && (ph->p_flags & PF_X) && me >= lo &&
		    me < lo + ph->p_memsz) {
			shim_lo = lo;
			shim_hi = lo + ph->p_memsz;
			return 1;
		}
	}
	return 0;
}

__attribute__((noinline)) void cs_stacks_wipe(size_t bytes)
{
	unsigned char below[bytes];

	explicit_bzero(below, bytes); /* not optimized away, though never read */
}

static int unwind(void **frames, int n)
{
#ifdef CS_HAVE_LIBUNWIND
	int k;

	if (!cs_stacks_loader_enter())
		return 0;
	k = unw_backtrace(frames, n);
	cs_stacks_loader_leave();
	return k;
#else
	(void)frames;
	(void)n;
	return 0;
#endif
}

/* The frame-pointer walk from fp0, inside this thread's stack from here up. No locks: not bracketed. */
static int fp_unwind(const void *fp0, void **frames, int n)
{
	uintptr_t sp = (uintptr_t)__builtin_frame_address(0), top = cs_fp_stack_top(sp);

	return top ? cs_fp_walk((uintptr_t)fp0, sp, top, frames, n) : 0;
}

void cs_stacks_set_unwinder(uint8_t unwinder)
{
	use_fp = unwinder == CS_UNWIND_FP;
}

uint32_t cs_stacks_sampling_flags(void)
{
	if (use_fp)
		return CS_SAMPLINGF_FP_UNWIND;
	return cs_stacks_unwind_available() ? 0 : CS_SAMPLINGF_NO_UNWIND;
}

int cs_stacks_unwind_available(void)
{
#ifdef CS_HAVE_LIBUNWIND
	return 1;
#else
	return 0;
#endif
}

/*
 * libunwind's process-wide set-up (tdep_init: its lock, memory pools, DWARF
 * tables), here at init rather than inside a hook: one unw_init_local. A
 * thread's trace cache (256 KiB, written whole: 64 page faults, ~160k
 * instructions) is built by its first unw_backtrace, at its first sample
 * (cs_stack_capture): a process or thread that never samples never pays it.
 */
static void unwind_prepare(void)
{
#ifdef CS_HAVE_LIBUNWIND
	unw_context_t uc;
	unw_cursor_t c;

	if (!cs_stacks_loader_enter())
		return;
	if (unw_getcontext(&uc) == 0)
		unw_init_local(&c, &uc);
	cs_stacks_loader_leave();
#endif
}

void cs_stacks_init(const cs_shimmem_t *m, uint32_t depth)
{
	table = (slot_t *)m->stacks;
	depth_max = depth < 1 ? 1 : depth > CS_STACK_MAX_DEPTH ? CS_STACK_MAX_DEPTH : depth;
	dl_iterate_phdr(find_self, (void *)(uintptr_t)cs_stack_capture);
	if (!use_fp)
		unwind_prepare();
}

int cs_stacks_loader_enter(void)
{
	if (__atomic_load_n(&stacks_off, __ATOMIC_RELAXED))
		return 0;
	__atomic_add_fetch(&in_loader, 1, __ATOMIC_SEQ_CST);
	return 1;
}

void cs_stacks_loader_leave(void)
{
	__atomic_sub_fetch(&in_loader, 1, __ATOMIC_SEQ_CST);
}

int cs_stacks_fork_child(void)
{
	if (__atomic_load_n(&in_loader, __ATOMIC_SEQ_CST))
		stacks_off = 1;
	return stacks_off;
}

uint32_t cs_stack_next_id(void)
{
	return __atomic_load_n(&next_id, __ATOMIC_RELAXED);
}

static uint64_t hash_frames(void *const *f, int n)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (int i = 0; i < n; i++)
		h = (h ^ (uint64_t)(uintptr_t)f[i]) * 0x100000001b3ull;
	return h ? h : 1;
}

static void write_stack(uint32_t id, void *const *f, int n)
{
	struct {
		cs_rec_stack_t r;
		uint64_t frames[CS_STACK_MAX_DEPTH];
	} rec;

	rec.r = (cs_rec_stack_t){ .h = { CS_REC_STACK, 0,
					 (uint32_t)(sizeof(rec.r) + 8u * (uint32_t)n) },
				  .id = id,
				  .depth = (uint32_t)n };
	for (int i = 0; i < n; i++)
		rec.frames[i] = (uint64_t)(uintptr_t)f[i];
	cs_ev_record(&rec, rec.r.h.size);
}

/* The slot's id once its inserter published it; 0 if that did not happen within the bound. */
static uint32_t poll_id(slot_t *s)
{
	uint32_t id;

	for (uint32_t i = 0; i < WAIT_SPINS + WAIT_YIELDS; i++) {
		if ((id = __atomic_load_n(&s->id, __ATOMIC_ACQUIRE)))
			return id;
		if (i < WAIT_SPINS)
			cs_prim_relax();
		else
			cs_prim_syscall6(SYS_sched_yield, 0, 0, 0, 0, 0, 0);
	}
	return 0;
}

/*
 * The id of an existing slot, waiting out a concurrent insert of the same
 * stack, but not forever: a fork child inherits a slot whose hash another
 * thread published and whose id that thread (absent in the child) never will.
 * Past the bound, take the slot over with a new id, its stack written first:
 * if the inserter was only slow, one of the two ids wins the slot and both
 * have their CS_REC_STACK, so either is right.
 */
static uint32_t wait_id(slot_t *s, void *const *f, int n)
{
	uint32_t id = poll_id(s), none = 0;

	if (id)
		return id;
	id = __atomic_fetch_add(&next_id, 1, __ATOMIC_RELAXED);
	write_stack(id, f, n);
	if (__atomic_compare_exchange_n(&s->id, &none, id, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
		return id;
	return none; /* the inserter (or another waiter) got there first: its id */
}

/* Per-thread cache of recently seen stacks: most allocations come from a few call sites. */
#define TLS_CACHE 64
static __thread struct {
	uint64_t hash;
	uint32_t id;
} recent[TLS_CACHE] __attribute__((tls_model("initial-exec")));

static uint32_t intern_shared(void *const *f, int n, uint64_t h);

static uint32_t intern(void *const *f, int n)
{
	uint64_t h = hash_frames(f, n);
	unsigned k = (unsigned)(h >> 58) & (TLS_CACHE - 1);
	uint32_t id;

	if (recent[k].hash == h)
		return recent[k].id;
	id = intern_shared(f, n, h);
	if (id) {
		recent[k].hash = h;
		recent[k].id = id;
	}
	return id;
}

static uint32_t intern_shared(void *const *f, int n, uint64_t h)
{
	for (uint32_t i = 0; i < MAX_PROBES; i++) {
		slot_t *s = &table[(h + i) & (CS_STACK_SLOTS - 1)];
		uint64_t seen = 0;

		if (__atomic_compare_exchange_n(&s->hash, &seen, h, 0, __ATOMIC_ACQ_REL,
						__ATOMIC_ACQUIRE)) {
			uint32_t id = __atomic_fetch_add(&next_id, 1, __ATOMIC_RELAXED);

			write_stack(id, f, n);
			__atomic_store_n(&s->id, id, __ATOMIC_RELEASE);
			return id;
		}
		if (seen == h)
			return wait_id(s, f, n);
	}
	cs_counter_add(CS_CNT_STACKS_FULL, 1);
	return 0;
}

/* Whether this thread has unwound before (its trace cache is built). */
static __thread uint8_t warmed __attribute__((tls_model("initial-exec")));

/*
 * A thread's first unwind builds libunwind's trace cache and runs deeper than
 * the later ones (7.6 KiB of stack below its caller measured, with lazy
 * binding): wipe what it left (cs_stacks_wipe says why). 8 KiB: about what
 * that unwind itself just used below this frame, so a thread with little
 * stack left that survived the unwind survives the wipe (a larger wipe could
 * reach its guard page).
 */
#define CS_FIRST_UNWIND_WIPE_BYTES (8u * 1024u)

/* The frames, by the unwinder in use; a thread's first libunwind unwind wiped after. */
static int unwind_any(const void *fp0, void **f, int max)
{
	int n;

	if (use_fp)
		return fp_unwind(fp0, f, max);
	n = unwind(f, max);
	if (__builtin_expect(!warmed, 0)) {
		warmed = 1;
		cs_stacks_wipe(CS_FIRST_UNWIND_WIPE_BYTES);
	}
	return n;
}

uint32_t cs_stack_capture(const void *fp0)
{
	void *f[CS_STACK_MAX_DEPTH + 16];
	int n = unwind_any(fp0, f, (int)depth_max + 16), skip = 0;

	while (skip < n && (uintptr_t)f[skip] >= shim_lo && (uintptr_t)f[skip] < shim_hi)
		skip++;
	n -= skip;
	if (n <= 0)
		return 0;
	if ((uint32_t)n > depth_max)
		n = (int)depth_max;
	return intern(f + skip, n);
}
