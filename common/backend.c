/* SPDX-License-Identifier: MIT */
/* Backend probing: try each page-tracking mechanism on a scratch page and say why it fails. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include "backend.h"
#include "maps.h"
#include "pagemap.h"
#include "prim.h"

static const char *const names[CS_BACKEND_COUNT] = {
	[CS_BACKEND_NONE] = "none",
	[CS_BACKEND_UFFD_WP] = "uffd-wp",
	[CS_BACKEND_SOFT_DIRTY] = "soft-dirty",
	[CS_BACKEND_PFN] = "pfn",
	[CS_BACKEND_EXCLUSIVE] = "exclusive",
};

static const char *const precisions[CS_BACKEND_COUNT] = {
	[CS_BACKEND_NONE] = "none: no page tracking works here; only process events are recorded",
	[CS_BACKEND_UFFD_WP] = "exact: the kernel marks every page the child writes "
			       "(userfaultfd async write-protect + PAGEMAP_SCAN); "
			       "parent-unshared from pagemap bit 56",
	[CS_BACKEND_SOFT_DIRTY] = "exact for child writes (soft-dirty bit, cleared at fork); "
				  "parent-unshared from pagemap bit 56",
	[CS_BACKEND_PFN] = "exact: a page is child-copied when its frame number changed since "
			   "the fork (needs CAP_SYS_ADMIN); parent-unshared from pagemap bit 56",
	[CS_BACKEND_EXCLUSIVE] = "approximate: pagemap bit 56 shows which fork-time pages are no "
				 "longer shared, not which side wrote them; child-copied and "
				 "parent-unshared are unknown, only their sum (unshared)",
};

int cs_thp_possible(void)
{
	char buf[128];
	int fd = cs_prim_openat(AT_FDCWD, "/sys/kernel/mm/transparent_hugepage/enabled",
				O_RDONLY | O_CLOEXEC, 0);
	long n = fd >= 0 ? cs_prim_read(fd, buf, sizeof(buf) - 1) : -1;

	if (fd >= 0)
		cs_prim_close(fd);
	if (n <= 0)
		return 0; /* no THP support in this kernel */
	buf[n] = 0;
	return strstr(buf, "[never]") == NULL;
}

const char *cs_backend_name(int backend)
{
	return backend >= 0 && backend < CS_BACKEND_COUNT ? names[backend] : "unknown";
}

const char *cs_backend_precision(int backend)
{
	return backend >= 0 && backend < CS_BACKEND_COUNT ? precisions[backend] : "unknown";
}

int cs_backend_parse(const char *s, uint8_t *out)
{
	uint8_t i;

	if (strcmp(s, "auto") == 0) {
		*out = CS_BACKEND_NONE;
		return 0;
	}
	for (i = 1; i < CS_BACKEND_COUNT; i++) {
		if (strcmp(s, names[i]) == 0) {
			*out = i;
			return 0;
		}
	}
	return -EINVAL;
}

/* Set an entry's verdict: reason text, plus " (errno N)" when err != 0. */
static void verdict(cs_probe_entry_t *e, int usable, int err, const char *why)
{
	size_t n = strlen(why);

	if (n > CS_REASON_MAX - 20)
		n = CS_REASON_MAX - 20;
	memcpy(e->reason, why, n);
	if (err) {
		memcpy(e->reason + n, " (errno ", 8);
		n += 8;
		n += cs_utoa(e->reason + n, (uint64_t)err);
		e->reason[n++] = ')';
	}
	e->reason[n] = 0;
	e->usable = (uint8_t)usable;
	e->err = err;
}

/* Scratch state for the probes: one written anonymous page and the pagemap. */
typedef struct probe_ctx {
	volatile char *page;
	size_t page_bytes;
	int pagemap_fd;
} probe_ctx_t;

static int pm_entry(const probe_ctx_t *c, uint64_t *e)
{
	uint64_t off = ((uint64_t)(uintptr_t)c->page / c->page_bytes) * 8;

	return cs_prim_pread(c->pagemap_fd, e, 8, off) == 8 ? 0 : -EIO;
}

static long scan_page(const probe_ctx_t *c, uint64_t anyof, struct page_region *r)
{
	struct pm_scan_arg a = {
		.size = sizeof(a),
		.start = (uint64_t)(uintptr_t)c->page,
		.end = (uint64_t)(uintptr_t)c->page + c->page_bytes,
		.vec = (uint64_t)(uintptr_t)r,
		.vec_len = 1,
		.category_anyof_mask = anyof,
		.return_mask = PAGE_IS_PRESENT | PAGE_IS_WRITTEN,
	};

	return cs_prim_pagemap_scan(c->pagemap_fd, &a);
}

static void probe_scan(const probe_ctx_t *c, cs_probe_t *p)
{
	struct page_region r;

	p->scan = scan_page(c, PAGE_IS_PRESENT, &r) == 1 && (r.categories & PAGE_IS_PRESENT);
}

/* Register and arm the scratch page, write it, and expect PAGEMAP_SCAN to say so. */
static void probe_uffd(const probe_ctx_t *c, cs_probe_t *p)
{
	cs_probe_entry_t *e = &p->b[CS_BACKEND_UFFD_WP];
	struct uffdio_api api = { .api = UFFD_API, .features = UFFD_FEATURE_WP_ASYNC };
	struct uffdio_register reg = { .mode = UFFDIO_REGISTER_MODE_WP };
	struct uffdio_writeprotect wp = { .mode = UFFDIO_WRITEPROTECT_MODE_WP };
	struct page_region r;
	int fd = cs_prim_userfaultfd(O_CLOEXEC | O_NONBLOCK | UFFD_USER_MODE_ONLY);
	long k;

	if (fd < 0)
		return verdict(e, 0, -fd,
			       "userfaultfd() failed (kernel without userfaultfd, "
			       "or blocked by seccomp)");
	reg.range.start = wp.range.start = (uint64_t)(uintptr_t)c->page;
	reg.range.len = wp.range.len = c->page_bytes;
	if (cs_prim_ioctl(fd, UFFDIO_API, &api) < 0)
		verdict(e, 0, 0, "kernel lacks UFFD_FEATURE_WP_ASYNC (needs Linux >= 6.7)");
	else if ((k = cs_prim_ioctl(fd, UFFDIO_REGISTER, &reg)) < 0 ||
		 (k = cs_prim_ioctl(fd, UFFDIO_WRITEPROTECT, &wp)) < 0)
		verdict(e, 0, (int)-k, "cannot register or write-protect anonymous memory");
	else if (!p->scan)
		verdict(e, 0, 0, "PAGEMAP_SCAN ioctl missing (needs Linux >= 6.7)");
	else {
		c->page[0] = 2;
		k = scan_page(c, PAGE_IS_WRITTEN, &r);
		verdict(e, k == 1, 0, k == 1 ? "works" : "a write was not reported as written");
	}
	cs_prim_close(fd);
}

/* clear_refs "4" succeeds even where soft-dirty is compiled out: write, then check. */
static void probe_soft_dirty(const probe_ctx_t *c, cs_probe_t *p)
{
	cs_probe_entry_t *e = &p->b[CS_BACKEND_SOFT_DIRTY];
	int fd = cs_prim_openat(AT_FDCWD, "/proc/self/clear_refs", O_WRONLY | O_CLOEXEC, 0);
	uint64_t before = 0, after = 0;
	int r;

	if (fd < 0)
		return verdict(e, 0, -fd, "cannot open /proc/self/clear_refs");
	r = cs_prim_write_all(fd, "4", 1);
	cs_prim_close(fd);
	if (r < 0)
		return verdict(e, 0, -r, "writing 4 to /proc/self/clear_refs failed");
	pm_entry(c, &before);
	c->page[0] = 3;
	pm_entry(c, &after);
	if ((before & CS_PM_SOFT_DIRTY) || !(after & CS_PM_SOFT_DIRTY))
		return verdict(e, 0, 0,
			       "the soft-dirty bit does not follow writes "
			       "(kernel built without CONFIG_MEM_SOFT_DIRTY)");
	verdict(e, 1, 0, "works");
}

static void probe_pagemap_bits(const probe_ctx_t *c, cs_probe_t *p)
{
	uint64_t e = 0;

	if (pm_entry(c, &e) < 0) {
		verdict(&p->b[CS_BACKEND_PFN], 0, EIO, "cannot read /proc/self/pagemap");
		verdict(&p->b[CS_BACKEND_EXCLUSIVE], 0, EIO, "cannot read /proc/self/pagemap");
		return;
	}
	if (cs_pm_pfn(e))
		verdict(&p->b[CS_BACKEND_PFN], 1, 0, "works");
	else
		verdict(&p->b[CS_BACKEND_PFN], 0, 0,
			"frame numbers are hidden (needs CAP_SYS_ADMIN)");
	if (e & CS_PM_EXCLUSIVE)
		verdict(&p->b[CS_BACKEND_EXCLUSIVE], 1, 0, "works");
	else
		verdict(&p->b[CS_BACKEND_EXCLUSIVE], 0, 0,
			"pagemap bit 56 not reported "
			"(needs Linux >= 4.2)");
}

static void probe_all(cs_probe_t *p, int with_soft_dirty)
{
	probe_ctx_t c = { .page_bytes = 4096, .pagemap_fd = -1 };
	long ps = (long)sysconf(_SC_PAGESIZE);

	memset(p, 0, sizeof(*p));
	verdict(&p->b[CS_BACKEND_NONE], 1, 0, "always");
	c.page_bytes = ps > 0 ? (size_t)ps : 4096;
	c.page = cs_prim_mmap_anon(c.page_bytes);
	c.pagemap_fd = cs_prim_openat(AT_FDCWD, "/proc/self/pagemap", O_RDONLY | O_CLOEXEC, 0);
	if (!c.page || c.pagemap_fd < 0) {
		for (int i = 1; i < CS_BACKEND_COUNT; i++)
			verdict(&p->b[i], 0, c.page ? -c.pagemap_fd : ENOMEM,
				"cannot open /proc/self/pagemap");
		goto out;
	}
	c.page[0] = 1;
	probe_scan(&c, p);
	probe_pagemap_bits(&c, p);
	probe_uffd(&c, p);
	if (with_soft_dirty || !p->b[CS_BACKEND_UFFD_WP].usable)
		probe_soft_dirty(&c, p);
	else
		verdict(&p->b[CS_BACKEND_SOFT_DIRTY], 0, 0,
			"not tried: uffd-wp works and is better");
out:
	if (c.pagemap_fd >= 0)
		cs_prim_close(c.pagemap_fd);
	if (c.page)
		cs_prim_munmap((void *)c.page, c.page_bytes);
	p->best = cs_backend_choose(p, CS_BACKEND_NONE, NULL);
}

void cs_backend_probe(cs_probe_t *p)
{
	probe_all(p, 1);
}

void cs_backend_probe_for(cs_probe_t *p, uint8_t requested)
{
	probe_all(p, requested == CS_BACKEND_SOFT_DIRTY);
}

uint8_t cs_backend_choose(const cs_probe_t *p, uint8_t requested, int *fell_back)
{
	uint8_t i;

	if (fell_back)
		*fell_back = 0;
	if (requested != CS_BACKEND_NONE && requested < CS_BACKEND_COUNT && p->b[requested].usable)
		return requested;
	if (fell_back && requested != CS_BACKEND_NONE)
		*fell_back = 1;
	for (i = 1; i < CS_BACKEND_COUNT; i++)
		if (p->b[i].usable)
			return i;
	return CS_BACKEND_NONE;
}
