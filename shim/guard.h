/* SPDX-License-Identifier: MIT */
/* The recursion guard: one initial-exec TLS flag that every entry point of the shim takes. */
#ifndef CS_GUARD_H
#define CS_GUARD_H

/*
 * Set while this thread runs shim code. An entry point (interposer, public
 * API, atfork handler, constructor, destructor) reached while it is set was
 * called from inside the shim (libunwind or the loader calling back, a signal
 * handler that interrupted a hook, an allocator the shim called): it only
 * forwards, or returns -EBUSY. Defined in boot.c; written only through
 * cs_guard_enter and cs_guard_leave.
 */
extern __thread int cs_tls_guard __attribute__((tls_model("initial-exec")));

/*
 * Take the guard: 1 when this call took it (the caller runs its shim code,
 * then calls cs_guard_leave), 0 when this thread is already inside the shim
 * (the caller records nothing and must not call cs_guard_leave). One TLS
 * load and store. hook-safe, fork-child-safe, async-signal-safe.
 */
static inline int cs_guard_enter(void)
{
	if (cs_tls_guard)
		return 0;
	cs_tls_guard = 1;
	return 1;
}

/* Give back a guard that cs_guard_enter returned 1 for. hook-safe. */
static inline void cs_guard_leave(void)
{
	cs_tls_guard = 0;
}

/*
 * Whether this thread is inside the shim now: for hooks that only forward
 * differently when called from the shim (libunwind's pipe, read, close) and
 * for the allocation fast path, which checks before counting bytes. hook-safe.
 */
static inline int cs_guard_held(void)
{
	return cs_tls_guard;
}

#endif
