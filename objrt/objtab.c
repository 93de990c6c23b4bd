/* SPDX-License-Identifier: MIT */
/* The out-of-line header table: one reservation of packed refcounts and GC headers, slot by slot. */
#include <errno.h>
#include <sys/mman.h>
#include <unistd.h>
#include "obj.h"

/*
 * Reserved on first use with the program's mmap (in the shim, its own hook:
 * the table gets an allocation site, and its pages count like any memory the
 * program causes to be copied; it is deliberately not a shim range). A
 * PROT_NONE guard page at each end keeps the kernel from merging the table
 * with a neighbouring mapping, so reports show it as a mapping of its own.
 */
static int map_table(cs_objtab_t *t)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	size_t bytes = ((size_t)t->cap * CS_OBJTAB_SLOT_BYTES + page - 1) & ~(page - 1);
	uint8_t *p = mmap(NULL, bytes + 2 * page, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	if (p == MAP_FAILED)
		return -ENOMEM;
	if (mprotect(p, page, PROT_NONE) < 0 || mprotect(p + page + bytes, page, PROT_NONE) < 0) {
		munmap(p, bytes + 2 * page);
		return -ENOMEM;
	}
	t->base = p + page;
	t->bytes = bytes;
	t->rc = (uint32_t *)t->base;
	t->gc = (cs_gc_t *)(t->base + (size_t)t->cap * sizeof(uint32_t));
	return 0;
}

int cs_objtab_get(cs_objtab_t *t, uint32_t *slot)
{
	if (!t->base && map_table(t) < 0)
		return -ENOMEM;
	if (t->free_head) {
		*slot = t->free_head - 1;
		t->free_head = t->rc[*slot];
		return 0;
	}
	if (t->used == t->cap)
		return -ENOMEM;
	*slot = t->used++;
	return 0;
}

/* A free slot's refcount holds the next free slot + 1: a LIFO list, reused first. */
void cs_objtab_put(cs_objtab_t *t, uint32_t slot)
{
	t->rc[slot] = t->free_head;
	t->free_head = slot + 1;
}

void cs_objtab_release(cs_objtab_t *t)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	uint32_t cap = t->cap;

	if (t->base)
		munmap(t->base - page, t->bytes + 2 * page);
	*t = (cs_objtab_t){ .cap = cap };
}
