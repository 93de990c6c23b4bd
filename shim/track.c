/* SPDX-License-Identifier: MIT */
/* Page tracking state: owns the backend probe and choice, and the kept /proc/self/pagemap descriptor. */
#include <fcntl.h>
#include <string.h>
#include "backend.h"
#include "boot.h"
#include "cowscope/trace_format.h"
#include "prim.h"
#include "record.h"
#include "trace.h"
#include "track.h"

/* Written only here. */
static struct {
	uint8_t backend; /* enum cs_backend in use here */
	uint8_t thp;     /* transparent huge pages are not "never" */
	int fell_back;
	cs_probe_t probe;
	int pagemap_fd; /* kept high, or -1 (then opened per snapshot) */
	cs_fd_id_t pagemap_id;
} tk = { .pagemap_fd = -1 };

void cs_track_choose(uint8_t requested)
{
	cs_backend_probe_for(&tk.probe, requested);
	tk.thp = (uint8_t)cs_thp_possible();
	tk.backend = cs_backend_choose(&tk.probe, requested, &tk.fell_back);
}

uint8_t cs_track_backend(void)
{
	return tk.backend;
}

int cs_track_fell_back(void)
{
	return tk.fell_back;
}

uint8_t cs_track_scan(void)
{
	return tk.probe.scan;
}

uint8_t cs_track_thp(void)
{
	return tk.thp;
}

uint8_t cs_track_uffd_usable(void)
{
	return tk.probe.b[CS_BACKEND_UFFD_WP].usable && tk.probe.scan;
}

uint8_t cs_track_fall_back(void)
{
	tk.probe.b[tk.backend].usable = 0;
	tk.backend = cs_backend_choose(&tk.probe, CS_BACKEND_NONE, NULL);
	return tk.backend;
}

void cs_track_put_backend(void)
{
	uint8_t buf[sizeof(cs_rec_backend_t) + CS_BACKEND_COUNT * (8 + CS_REASON_MAX + 8)];
	cs_recbuf_t b = { .buf = buf, .cap = sizeof(buf) };
	cs_rec_backend_t *r = cs_rec_begin(&b, CS_REC_BACKEND, sizeof(*r));

	r->chosen = tk.backend;
	r->requested = cs_proc()->opt.backend;
	r->scan = tk.probe.scan;
	r->nentries = CS_BACKEND_COUNT - 1;
	for (uint8_t i = 1; i < CS_BACKEND_COUNT; i++) {
		const cs_probe_entry_t *e = &tk.probe.b[i];
		cs_backend_entry_t be = { .backend = i, .usable = e->usable, .err = e->err };
		static const uint8_t zeros[8];

		be.reason_len = (uint16_t)strlen(e->reason);
		cs_rec_put(&b, &be, sizeof(be));
		cs_rec_put(&b, e->reason, be.reason_len);
		cs_rec_put(&b, zeros, (8 - (be.reason_len & 7)) & 7);
	}
	cs_trace_put(buf, cs_rec_finish(&b));
}

void cs_track_pagemap_open(void)
{
	int fd = cs_prim_openat(AT_FDCWD, "/proc/self/pagemap", O_RDONLY | O_CLOEXEC, 0);

	tk.pagemap_fd = -1;
	if (fd < 0 || cs_prim_fd_id(fd, &tk.pagemap_id) < 0) {
		if (fd >= 0)
			cs_prim_close(fd);
		return;
	}
	fd = cs_prim_fd_high(fd);
	tk.pagemap_fd = fd < 0 ? -1 : fd;
}

int cs_track_pagemap_get(int *own)
{
	int fd = tk.pagemap_fd;

	*own = 0;
	if (fd >= 0 && cs_prim_fd_same(fd, &tk.pagemap_id))
		return fd;
	tk.pagemap_fd = -1; /* not ours any more: leave the program's descriptor alone */
	fd = cs_prim_openat(AT_FDCWD, "/proc/self/pagemap", O_RDONLY | O_CLOEXEC, 0);
	*own = fd >= 0;
	return fd;
}

int cs_track_pagemap_fd(void)
{
	return tk.pagemap_fd;
}

void cs_track_pagemap_drop(void)
{
	cs_prim_fd_drop(&tk.pagemap_fd, &tk.pagemap_id);
}
