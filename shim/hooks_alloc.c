/* SPDX-License-Identifier: MIT */
/* Allocation interposers: the malloc family, anonymous mmap/munmap/mremap, dlopen. They forward and sample. */
#include <dlfcn.h>
#include <errno.h>
#include <malloc.h>
#include <stdarg.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <stdlib.h>
#include <sys/mman.h>
#include "allocboot.h"
#include "boot.h"
#include "events.h"
#include "evbuf.h"
#include "guard.h"
#include "modules.h"
#include "sample.h"
#include "sampling.h"
#include "stacks.h"

#define CS_HOOK __attribute__((visibility("default")))

/*
 * The malloc family forwards through cs_alloc_real (allocboot.c): the
 * program's own allocator, whole. Other interposed names resolve here.
 */
#define REAL_ALLOC_FUNCS(X)                                     \
	X(void *, mmap, (void *, size_t, int, int, int, off_t)) \
	X(int, munmap, (void *, size_t))                        \
	X(void *, mremap, (void *, size_t, size_t, int, ...))   \
	X(void *, dlopen, (const char *, int))

#define X_PTR(ret, name, args) static ret(*real_##name) args;
REAL_ALLOC_FUNCS(X_PTR)
#undef X_PTR

static void resolve_others(void)
{
#define X_RESOLVE(ret, name, args) \
	if (!real_##name)          \
		*(void **)&real_##name = dlsym(RTLD_NEXT, #name);
	REAL_ALLOC_FUNCS(X_RESOLVE)
#undef X_RESOLVE
}

/* At load, under the guard (dlsym may allocate); resolved even if it is held. */
__attribute__((constructor(101))) static void resolve_alloc(void)
{
	int took = cs_guard_enter();

	cs_alloc_resolve();
	resolve_others();
	if (took)
		cs_guard_leave();
}

#define REAL(name) (real_##name ? real_##name : (resolve_others(), real_##name))

/*
 * Per-thread sampler: bytes left before the next sampled byte, and its
 * generator. Every allocation counts its bytes down here first, whatever the
 * state (one TLS read-modify-write); only a countdown that crosses zero takes
 * the out-of-line path, which checks whether sampling is on and the guard is
 * free. Exact mode keeps it at 0 (every allocation crosses); a process that
 * will never sample parks it at CS_LEFT_IDLE.
 */
static __thread int64_t bytes_left __attribute__((tls_model("initial-exec")));
static __thread uint64_t rng __attribute__((tls_model("initial-exec")));

#define CS_LEFT_IDLE (INT64_C(1) << 62)
#define CS_LEFT_MAX (INT64_C(1) << 61) /* bound on one interval: no overflow */
#define CS_COLD __attribute__((cold, noinline))

/*
 * Count an allocation of n bytes down: 1 (rarely) when the slow path must
 * look. n >= 2^63 (a request no allocator can serve) goes there too: in the
 * unsigned subtraction it would wrap into a bogus credit. hook-safe.
 */
static inline int count_down(size_t n)
{
	uint64_t left = (uint64_t)bytes_left - n;

	bytes_left = (int64_t)left;
	return __builtin_expect((int64_t)(left | n) <= 0, 0);
}

/* Sampling is on and the caller is not inside the shim (then it only forwards). hook-safe. */
static int tracking(void)
{
	return cs_sampling()->on && !cs_guard_held();
}

/* The hook frame's record, where the frame-pointer unwinder starts (fp0 of cs_stack_capture). */
#define CS_HOOK_FRAME() ((const void *)__builtin_frame_address(0))

static void record_alloc(const void *p, size_t n, uint8_t kind, const void *fp0)
{
	cs_pev_t e = { .ptr = (uint64_t)(uintptr_t)p, .len = n, .what = CS_PEV_ALLOC, .kind = kind };

	e.stack = cs_stack_capture(fp0);
	e.seq = cs_sampling_next_seq();
	cs_ev_alloc(&e);
	if (cs_sampling()->sample_bytes != 1 ||
	    kind == CS_ALLOC_MMAP) /* exact mode writes every free */
		cs_bloom_add(&cs_sampling()->mem, p);
}

static uint64_t next_seq(void)
{
	return cs_sampling_next_seq();
}

static void record_free(const void *p, size_t len, uint8_t kind, uint64_t seq)
{
	cs_pev_t e = { .seq = seq,
		       .ptr = (uint64_t)(uintptr_t)p,
		       .len = len,
		       .what = CS_PEV_FREE,
		       .kind = kind };

	cs_ev_free(&e);
}

/* The next interval, bounded so the countdown cannot overflow. */
static int64_t draw(uint64_t mean)
{
	int64_t v = cs_sample_interval(&rng, mean);

	return v > CS_LEFT_MAX ? CS_LEFT_MAX : v;
}

/* This thread's first look since sampling started: seed, then start the countdown at this block. */
static int first_look(size_t n, uint64_t mean)
{
	/* Seeded by thread ordinal: a single-threaded program samples the same way each run. */
	static uint64_t threads;

	rng = (__atomic_add_fetch(&threads, 1, __ATOMIC_RELAXED) * 0x9e3779b97f4a7c15ull) | 1;
	bytes_left =
		-(int64_t)n + draw(mean); /* what counted down before sampling started is moot */
	return bytes_left <= 0;
}

/* Sampling is not running (or the guard is held): when it never will, stop looking. */
static void not_tracking(void)
{
	if (cs_sampling()->idle)
		bytes_left = CS_LEFT_IDLE;
}

/* The guard is held: sample this block (exact mode: record it), then restart the countdown. */
static void sample_held(const void *p, size_t n, const void *fp0)
{
	uint64_t mean = cs_sampling()->sample_bytes;

	if (mean == 1) {
		bytes_left = 0;
		record_alloc(p, n, CS_ALLOC_MALLOC, fp0);
		return;
	}
	if (!rng && !first_look(n, mean))
		return;
	while (bytes_left <= 0)
		bytes_left += draw(mean);
	record_alloc(p, n, CS_ALLOC_MALLOC, fp0);
}

/*
 * The countdown crossed zero after the allocation p of n bytes: a failed one
 * gives its bytes back; else sample p if sampling is on here. errno is kept
 * (the unwinder's system calls may set it).
 */
static CS_COLD void sampled(const void *p, size_t n, const void *fp0)
{
	int saved = errno;

	if (!p) {
		bytes_left = (int64_t)((uint64_t)bytes_left + n);
		return;
	}
	if (bytes_left > 0)
		return; /* realloc's slow path for its free half only */
	if (!tracking() || !cs_guard_enter()) {
		not_tracking();
		return;
	}
	sample_held(p, n, fp0);
	cs_guard_leave();
	errno = saved;
}

/*
 * Whether a free of p is written: the filter cannot rule p out (every free in
 * exact mode). One load of the state word, then the inline filter probe; the
 * guard is checked out of line. hook-safe.
 */
static inline int free_wanted(const void *p)
{
	uint8_t on = cs_sampling()->on;

	return __builtin_expect(on != 0, 1) &&
		__builtin_expect((on & CS_SAMPLING_EXACT) || cs_bloom_maybe(&cs_sampling()->mem, p),
				 0);
}

static void free_record(const void *p, size_t len, uint8_t kind, uint64_t seq)
{
	if (!cs_guard_enter())
		return;
	record_free(p, len, kind, seq);
	if (kind == CS_FREE_FREE && cs_sampling()->sample_bytes != 1)
		cs_bloom_remove(&cs_sampling()->mem, p);
	cs_guard_leave();
}

/*
 * munmap and mremap: rare, and they may cut any part of a region, whose
 * address the filter never saw: always written.
 */
static void on_unmap(const void *p, size_t len, uint8_t kind)
{
	if (p && tracking())
		free_record(p, len, kind, next_seq());
}

/*
 * realloc's half of a free. Its sequence number is taken before the call (a
 * block the allocator hands another thread at the old address sorts after
 * this free) but the free is written only once the call succeeded: a failed
 * realloc leaves the old block live. In place (same address) it is still a
 * free then an allocation, so the replay sees the new size. glibc's
 * realloc(p, 0) frees p and returns NULL: that counts as success.
 */
typedef struct realloc_free {
	int want;
	uint64_t seq;
} realloc_free_t;

static realloc_free_t realloc_begin(const void *old)
{
	realloc_free_t f = { .want = old && free_wanted(old) && tracking() };

	if (f.want)
		f.seq = next_seq();
	return f;
}

static void realloc_end(realloc_free_t f, const void *old, const void *p, size_t n)
{
	if (f.want && (p || n == 0) && cs_sampling()->on)
		free_record(old, 0, CS_FREE_FREE, f.seq);
}

static CS_COLD void *malloc_slow(size_t n)
{
	void *p = CS_ALLOC_CALL(malloc)(n);

	sampled(p, n, CS_HOOK_FRAME());
	return p;
}

/* The common path: count down, forward (a tail call: no frame). */
CS_HOOK void *malloc(size_t n)
{
	if (count_down(n))
		return malloc_slow(n);
	return CS_ALLOC_CALL(malloc)(n);
}

/* A free the filter could not rule out: written (unless inside the shim), then forwarded. */
static CS_COLD void free_slow(void *p)
{
	if (p && !cs_guard_held()) {
		int saved = errno;

		free_record(p, 0, CS_FREE_FREE, next_seq());
		errno = saved;
	}
	CS_ALLOC_CALL(free)(p);
}

/* Pool blocks (the bootstrap's) never reach the allocator: one compare on every free. */
CS_HOOK void free(void *p)
{
	if (__builtin_expect(cs_alloc_in_pool(p), 0)) {
		cs_pool_free(&cs_alloc_pool, p);
		return;
	}
	if (free_wanted(p)) {
		free_slow(p);
		return;
	}
	CS_ALLOC_CALL(free)(p);
}

static CS_COLD void *calloc_slow(size_t n, size_t size)
{
	void *p = CS_ALLOC_CALL(calloc)(n, size);

	sampled(p, n * size, CS_HOOK_FRAME());
	return p;
}

CS_HOOK void *calloc(size_t n, size_t size)
{
	size_t total;

	if (__builtin_mul_overflow(n, size, &total))
		return CS_ALLOC_CALL(calloc)(n, size); /* it fails: nothing to count */
	if (count_down(total))
		return calloc_slow(n, size);
	return CS_ALLOC_CALL(calloc)(n, size);
}

static CS_COLD void *realloc_slow(void *old, size_t n)
{
	realloc_free_t f = realloc_begin(old);
	void *p = CS_ALLOC_CALL(realloc)(old, n);
	int saved = errno; /* a failed realloc's ENOMEM reaches the caller */

	realloc_end(f, old, p, n);
	sampled(p, n, CS_HOOK_FRAME());
	errno = saved;
	return p;
}

CS_HOOK void *realloc(void *old, size_t n)
{
	if (__builtin_expect(cs_alloc_in_pool(old), 0))
		return cs_alloc_pool_realloc(old, n);
	if (count_down(n) | free_wanted(old))
		return realloc_slow(old, n);
	return CS_ALLOC_CALL(realloc)(old, n);
}

static CS_COLD void *reallocarray_slow(void *old, size_t n, size_t size, size_t total)
{
	realloc_free_t f = realloc_begin(old);
	void *p = CS_ALLOC_CALL(reallocarray)(old, n, size);
	int saved = errno;

	realloc_end(f, old, p, total);
	sampled(p, total, CS_HOOK_FRAME());
	errno = saved;
	return p;
}

CS_HOOK void *reallocarray(void *old, size_t n, size_t size)
{
	size_t total;

	if (__builtin_mul_overflow(n, size, &total)) {
		errno = ENOMEM;
		return NULL;
	}
	if (__builtin_expect(cs_alloc_in_pool(old), 0))
		return cs_alloc_pool_realloc(old, total);
	if (count_down(total) | free_wanted(old))
		return reallocarray_slow(old, n, size, total);
	return CS_ALLOC_CALL(reallocarray)(old, n, size);
}

CS_HOOK int posix_memalign(void **out, size_t align, size_t n)
{
	int r;

	if (!count_down(n))
		return CS_ALLOC_CALL(posix_memalign)(out, align, n);
	r = CS_ALLOC_CALL(posix_memalign)(out, align, n);
	sampled(r == 0 ? *out : NULL, n, CS_HOOK_FRAME());
	return r;
}

/* The rest of the family: count down, forward, and sample when the countdown crossed zero. */
#define CS_ALIGNED_HOOK(name, params, args, n)           \
	CS_HOOK void *name params                        \
	{                                                \
		void *p;                                 \
                                                         \
		if (!count_down(n))                      \
			return CS_ALLOC_CALL(name) args; \
		p = CS_ALLOC_CALL(name) args;            \
		sampled(p, n, CS_HOOK_FRAME());          \
		return p;                                \
	}

CS_ALIGNED_HOOK(aligned_alloc, (size_t align, size_t n), (align, n), n)
CS_ALIGNED_HOOK(memalign, (size_t align, size_t n), (align, n), n)
CS_ALIGNED_HOOK(valloc, (size_t n), (n), n)
CS_ALIGNED_HOOK(pvalloc, (size_t n), (n), n)

CS_HOOK size_t malloc_usable_size(void *p)
{
	if (__builtin_expect(cs_alloc_in_pool(p), 0))
		return cs_pool_size(&cs_alloc_pool, p);
	return CS_ALLOC_CALL(malloc_usable_size)(p);
}

/* ---- anonymous private mmap: runtimes' own arenas (pymalloc, Ruby heap pages, jemalloc) ---- */

static void on_map(const void *p, size_t len, const void *fp0)
{
	if (!tracking() || !cs_guard_enter())
		return;
	record_alloc(p, len, CS_ALLOC_MMAP, fp0);
	cs_guard_leave();
}

static int is_anon_private(int flags)
{
	return (flags & MAP_ANONYMOUS) && (flags & MAP_PRIVATE);
}

/*
 * With _FILE_OFFSET_BITS=64 glibc's header renames mmap to mmap64; on 64-bit
 * glibc they are one function under two names. Define both names explicitly.
 */
CS_HOOK void *cs_hook_mmap(void *addr, size_t len, int prot, int flags, int fd,
			   off_t off) __asm__("mmap");
CS_HOOK void *cs_hook_mmap64(void *addr, size_t len, int prot, int flags, int fd,
			     off_t off) __asm__("mmap64");

CS_HOOK void *cs_hook_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	void *p = REAL(mmap)(addr, len, prot, flags, fd, off);

	if (p != MAP_FAILED && is_anon_private(flags) && (prot & PROT_WRITE))
		on_map(p, len, CS_HOOK_FRAME());
	return p;
}

CS_HOOK void *cs_hook_mmap64(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	return cs_hook_mmap(addr, len, prot, flags, fd, off);
}

CS_HOOK int munmap(void *addr, size_t len)
{
	cs_snapshot_unmap((uintptr_t)addr, (uintptr_t)addr + len); /* copies there are kept */
	on_unmap(addr, len, CS_FREE_MUNMAP);
	return REAL(munmap)(addr, len);
}

CS_HOOK void *mremap(void *old, size_t old_len, size_t new_len, int flags, ...)
{
	void *target = NULL, *p;
	va_list ap;

	if (flags & MREMAP_FIXED) {
		va_start(ap, flags);
		target = va_arg(ap, void *);
		va_end(ap);
	}
	cs_snapshot_remap((uintptr_t)old, old_len, new_len, flags);
	p = REAL(mremap)(old, old_len, new_len, flags, target);
	if (p != MAP_FAILED && tracking() && cs_bloom_maybe(&cs_sampling()->mem, old)) {
		on_unmap(old, old_len, CS_FREE_MREMAP);
		on_map(p, new_len, CS_HOOK_FRAME());
	}
	return p;
}

/* ---- dlopen: new modules for the symbolizer ---- */

CS_HOOK void *dlopen(const char *file, int mode)
{
	void *h = REAL(dlopen)(file, mode);

	/* Modules are kept when allocation sampling or writers need them (the shim's memory). */
	if (h && cs_sampling()->mem.base && cs_traced_here() && cs_guard_enter()) {
		cs_modules_scan(&cs_sampling()->mem, cs_proc()->exe);
		cs_guard_leave();
	}
	return h;
}
