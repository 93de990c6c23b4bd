/* SPDX-License-Identifier: MIT */
/* Page-tracking backends: probing which work here, and arming them in a child. */
#ifndef CS_BACKEND_H
#define CS_BACKEND_H

#include <stdint.h>
#include "cowscope/trace_format.h"

#define CS_REASON_MAX 120

typedef struct cs_probe_entry {
	uint8_t usable;
	int32_t err;
	char reason[CS_REASON_MAX];
} cs_probe_entry_t;

typedef struct cs_probe {
	cs_probe_entry_t b[CS_BACKEND_COUNT]; /* indexed by enum cs_backend */
	uint8_t scan;                         /* PAGEMAP_SCAN works */
	uint8_t best;                         /* best usable backend */
} cs_probe_t;

/*
 * Probe every backend by trying it on a scratch page: uffd-wp (userfaultfd
 * async write-protect + PAGEMAP_SCAN), soft-dirty (write-then-check, since
 * clear_refs "4" succeeds even where the bit is compiled out), pfn (frame
 * numbers visible, i.e. CAP_SYS_ADMIN) and exclusive (pagemap bit 56).
 * Fills *p; never fails. Cost: a few syscalls and two page faults.
 * init-only (also used by the CLI). Writes "4" to /proc/self/clear_refs.
 */
void cs_backend_probe(cs_probe_t *p);

/*
 * Like cs_backend_probe, but skips soft-dirty (whose probe writes clear_refs,
 * write-protecting the whole process once) unless it is requested or no better
 * backend works; its entry then says it was not tried. init-only.
 */
void cs_backend_probe_for(cs_probe_t *p, uint8_t requested);

/* 1 unless transparent huge pages are "never" on this machine. init-only. */
int cs_thp_possible(void);

/* Backend name ("uffd-wp", "soft-dirty", "pfn", "exclusive", "none"). */
const char *cs_backend_name(int backend);

/* Parse a backend name (also "auto" -> CS_BACKEND_NONE). Returns 0 or -EINVAL. */
int cs_backend_parse(const char *s, uint8_t *out);

/* One line saying what precision the backend gives. */
const char *cs_backend_precision(int backend);

/*
 * Pick the backend: the requested one if usable, else the best usable.
 * Returns the choice; *fell_back is 1 when a request could not be honoured.
 */
uint8_t cs_backend_choose(const cs_probe_t *p, uint8_t requested, int *fell_back);

#endif
