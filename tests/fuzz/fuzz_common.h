/* SPDX-License-Identifier: MIT */
/* libFuzzer harness helpers: a scratch run directory per process, files written from the input. */
#ifndef CS_FUZZ_COMMON_H
#define CS_FUZZ_COMMON_H

#include <stddef.h>
#include <stdint.h>

/*
 * The harness's scratch directory (made once, under $TMPDIR or /tmp), emptied
 * of the files a previous input wrote. Returns its path.
 */
const char *fz_dir(void);

/* Write dir/name holding exactly n bytes of p (0600). */
void fz_write(const char *dir, const char *name, const uint8_t *p, size_t n);

/* Load the run directory as `cowscope report` does, render it every way, free it. */
void fz_load_and_render(const char *dir);

#endif
