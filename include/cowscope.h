/* SPDX-License-Identifier: MIT */
/* cowscope public API: calls a program can make into the cowscope shim. */
#ifndef COWSCOPE_H
#define COWSCOPE_H

/*
 * These functions live in libcowscope.so. A program does not link against it:
 * the declarations below are weak, so they resolve to the shim when it is
 * preloaded (by `cowscope run` or LD_PRELOAD) and to nothing otherwise. The
 * macros test for that and make every call a harmless no-op without the shim,
 * returning COWSCOPE_NOT_LOADED. Nothing else is needed at build time: include
 * this header and call the functions.
 *
 * Example:
 *     #include <cowscope.h>
 *     ...
 *     cowscope_snapshot();   // record this process's page state now
 */

#define COWSCOPE_API_VERSION 1
#define COWSCOPE_NOT_LOADED (-1000)

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Record a snapshot of this process's page state now (in a forked child: what
 * it has copied so far), in addition to the automatic ones at exit, _exit and
 * exec. Returns 0, COWSCOPE_NOT_LOADED without the shim, or a negative errno
 * (-EBUSY if another thread is taking a snapshot, -ENOTSUP if the process is
 * not traced). Cost: one scan of the process's private writable memory,
 * about 3 ms per GiB with the uffd-wp backend. Thread-safe; not
 * async-signal-safe.
 */
int cowscope_snapshot(void) __attribute__((weak));

/*
 * Mark a phase boundary, e.g. cowscope_mark("frozen") right after freezing and
 * before forking the next workers: children forked after it belong to the new
 * phase, and `cowscope diff RUN:before RUN:frozen` compares the phases (the
 * first phase is called "start"). In a forked child the mark also takes a
 * snapshot. label: up to 200 bytes, copied. Returns 0, COWSCOPE_NOT_LOADED
 * without the shim, or a negative errno. Thread-safe; not async-signal-safe.
 */
int cowscope_mark(const char *label) __attribute__((weak));

#ifdef __cplusplus
}
#endif

#ifndef COWSCOPE_BUILDING_SHIM
#define cowscope_snapshot() (cowscope_snapshot ? (cowscope_snapshot)() : COWSCOPE_NOT_LOADED)
#define cowscope_mark(label) (cowscope_mark ? (cowscope_mark)(label) : COWSCOPE_NOT_LOADED)
#endif

#endif
