/* SPDX-License-Identifier: MIT */
/* Module maps: path, load bias, segments and build-id of every loaded object, for symbols later. */
#ifndef CS_MODULES_H
#define CS_MODULES_H

#include "shimmem.h"

/*
 * Look at the loaded objects (dl_iterate_phdr) and write a CS_REC_MODULE for
 * each one not seen before, keeping the encoded records in shim memory.
 * exe is the main program's path. init-only, or after dlopen (never in a fork
 * child: the loader lock).
 */
void cs_modules_scan(const cs_shimmem_t *m, const char *exe);

/* Write every known module's record again (a fork child's own trace). fork-child-safe. */
void cs_modules_write_all(void);

#endif
