/* SPDX-License-Identifier: MIT */
/* libpfm4 in the CLI (never in the shim's process): checking event names and listing the events perf opens here. */
#ifndef CS_CLI_PFM_H
#define CS_CLI_PFM_H

#include <stdbool.h>
#include <stdio.h>

/*
 * Whether the shim can count event name: one of its built-in software names,
 * or a name libpfm4 encodes for the perf OS layer. 0, -ENOENT (unknown) or
 * -ENOTSUP (not built in and no libpfm4). Allocates (libpfm): CLI only.
 */
int cs_pfm_check(const char *name);

/*
 * Check a COWSCOPE_EVENTS list (comma-separated; "none" allowed). 0, or the
 * cs_pfm_check error with *bad (at most bad_size bytes) naming the first bad event.
 */
int cs_pfm_check_list(const char *list, char *bad, size_t bad_size);

/*
 * Print, one a line, "NAME  DESCRIPTION" for every event of every PMU libpfm4
 * finds present here that perf_event_open accepts on this process (opened
 * disabled, user space only, then closed); with all, the others too, marked
 * "[not here: REASON]". Returns the number printed, or -ENOTSUP without
 * libpfm4, -EIO if libpfm4 does not start.
 */
long cs_pfm_list(FILE *f, bool all);

#endif
