/* SPDX-License-Identifier: MIT */
/* Module records from dl_iterate_phdr: segments from PT_LOAD, build-id from PT_NOTE. */
#include <elf.h>
#include <link.h>
#include <string.h>
#include "modules.h"
#include "record.h"
#include "stacks.h"
#include "trace.h"

#define MAX_SEGS 16
#define MAX_BUILD_ID 64

static uint8_t *blob;
static uint32_t blob_used;

typedef struct scan_ctx {
	const char *exe;
	uint32_t first_new; /* blob offset where this scan's records start */
} scan_ctx_t;

/* Is a module with this base and path already in the blob? */
static int known(uint64_t base, const char *path, size_t plen)
{
	for (uint32_t off = 0; off < blob_used;) {
		const cs_rec_module_t *r = (const void *)(blob + off);
		uint32_t path_off =
			sizeof(*r) + r->nsegs * sizeof(cs_seg_t) + ((r->build_id_len + 7u) & ~7u);
		uint16_t len;

		memcpy(&len, blob + off + path_off, 2);
		if (r->base == base && len == plen &&
		    memcmp(blob + off + path_off + 2, path, plen) == 0)
			return 1;
		off += r->h.size;
	}
	return 0;
}

/* The NT_GNU_BUILD_ID note of a loaded object, if any: its length (0 if none). */
static size_t build_id(const struct dl_phdr_info *info, const uint8_t **out)
{
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		const uint8_t *p = (const uint8_t *)(info->dlpi_addr + ph->p_vaddr), *end;

		if (ph->p_type != PT_NOTE)
			continue;
		for (end = p + ph->p_memsz; p + sizeof(ElfW(Nhdr)) <= end;) {
			const ElfW(Nhdr) *n = (const void *)p;
			size_t name = (n->n_namesz + 3u) & ~3u, desc = (n->n_descsz + 3u) & ~3u;

			if (n->n_type == NT_GNU_BUILD_ID && n->n_namesz == 4 &&
			    memcmp(p + sizeof(*n), "GNU", 4) == 0 && n->n_descsz <= MAX_BUILD_ID) {
				*out = p + sizeof(*n) + name;
				return n->n_descsz;
			}
			p += sizeof(*n) + name + desc;
		}
	}
	return 0;
}

static void add_segments(cs_recbuf_t *b, const struct dl_phdr_info *info, uint32_t *nsegs)
{
	for (int i = 0; i < info->dlpi_phnum && *nsegs < MAX_SEGS; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		cs_seg_t s;

		if (ph->p_type != PT_LOAD)
			continue;
		s.start = info->dlpi_addr + ph->p_vaddr;
		s.end = s.start + ph->p_memsz;
		s.file_offset = ph->p_offset;
		cs_rec_put(b, &s, sizeof(s));
		(*nsegs)++;
	}
}

static int on_object(struct dl_phdr_info *info, size_t size, void *arg)
{
	static const uint8_t zeros[8];
	const scan_ctx_t *ctx = arg;
	const char *path = info->dlpi_name && info->dlpi_name[0] ? info->dlpi_name : ctx->exe;
	size_t plen = strlen(path);
	cs_recbuf_t b = { .buf = blob + blob_used, .cap = CS_MODULES_BYTES - blob_used };
	cs_rec_module_t *r;
	const uint8_t *id = NULL;
	size_t idlen;
	uint32_t nsegs = 0;

	(void)size;
	if (known(info->dlpi_addr, path, plen))
		return 0;
	r = cs_rec_begin(&b, CS_REC_MODULE, sizeof(*r));
	if (!r || cs_rec_room(&b) < MAX_SEGS * sizeof(cs_seg_t) + MAX_BUILD_ID + plen + 16)
		return 1; /* blob full: stop */
	add_segments(&b, info, &nsegs);
	idlen = build_id(info, &id);
	cs_rec_put(&b, id, idlen);
	cs_rec_put(&b, zeros, (8 - (idlen & 7)) & 7);
	cs_rec_put_str(&b, path, plen);
	r = (cs_rec_module_t *)b.buf; /* cs_rec_put may not move it, but be plain */
	r->base = info->dlpi_addr;
	r->nsegs = nsegs;
	r->build_id_len = (uint16_t)idlen;
	blob_used += cs_rec_finish(&b);
	return 0;
}

void cs_modules_scan(const cs_shimmem_t *m, const char *exe)
{
	scan_ctx_t ctx = { .exe = exe, .first_new = blob_used };

	blob = m->modules;
	if (!cs_stacks_loader_enter())
		return; /* a fork child that may have the loader's lock held for good */
	dl_iterate_phdr(on_object, &ctx);
	cs_stacks_loader_leave();
	if (blob_used > ctx.first_new)
		cs_trace_put(blob + ctx.first_new, blob_used - ctx.first_new);
}

void cs_modules_write_all(void)
{
	if (blob && blob_used)
		cs_trace_put(blob, blob_used);
}
