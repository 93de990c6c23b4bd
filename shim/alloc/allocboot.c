/* SPDX-License-Identifier: MIT */
/* Bootstrap of the malloc family: resolve on first use, the pool while resolving, then one table. */
#include <dlfcn.h>
#include <errno.h>
#include <link.h>
#include <string.h>
#include <unistd.h>
#include "allocboot.h"

/* glibc's own entry points: the family of last resort, when no next malloc is found. */
extern void *__libc_malloc(size_t);
extern void __libc_free(void *);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void *__libc_memalign(size_t, size_t);
extern void *__libc_valloc(size_t);
extern void *__libc_pvalloc(size_t);

static const cs_allocfns_t libc_family = {
	.malloc = __libc_malloc,
	.free = __libc_free,
	.calloc = __libc_calloc,
	.realloc = __libc_realloc,
	.memalign = __libc_memalign,
	.valloc = __libc_valloc,
	.pvalloc = __libc_pvalloc,
};

uint8_t cs_alloc_pool_mem[CS_ALLOC_POOL_BYTES] __attribute__((aligned(CS_POOL_MAX_ALIGN)));
cs_pool_t cs_alloc_pool = { .base = cs_alloc_pool_mem, .cap = CS_ALLOC_POOL_BYTES };

/* This thread is resolving: its allocations come from the pool. */
static __thread int resolving __attribute__((tls_model("initial-exec")));

/* The table is whole (stored after every member, with release). */
static int done;

/* ---- bootstrap functions: the table's first contents ------------------------------------ */

#define FORWARD_UNLESS_RESOLVING(name, ...)                      \
	do {                                                     \
		if (!resolving) {                                \
			cs_alloc_resolve();                      \
			return CS_ALLOC_CALL(name)(__VA_ARGS__); \
		}                                                \
	} while (0)

static void *pool_get(size_t n, size_t align)
{
	void *p = cs_pool_alloc(&cs_alloc_pool, n, align);

	if (!p)
		errno = ENOMEM;
	return p;
}

static void *boot_malloc(size_t n)
{
	FORWARD_UNLESS_RESOLVING(malloc, n);
	return pool_get(n, CS_POOL_ALIGN);
}

/* Pool blocks never get here (the hook checks); a real block freed while resolving is kept. */
static void boot_free(void *p)
{
	if (resolving)
		return;
	cs_alloc_resolve();
	CS_ALLOC_CALL(free)(p);
}

static void *boot_calloc(size_t n, size_t size)
{
	size_t total;
	void *p;

	FORWARD_UNLESS_RESOLVING(calloc, n, size);
	if (__builtin_mul_overflow(n, size, &total)) {
		errno = ENOMEM;
		return NULL;
	}
	p = pool_get(total, CS_POOL_ALIGN);
	if (p)
		memset(p, 0, total); /* a block given back and handed out again is not zero */
	return p;
}

/* While resolving, only a new block can be had: a real one cannot move to the pool. */
static void *boot_realloc(void *old, size_t n)
{
	FORWARD_UNLESS_RESOLVING(realloc, old, n);
	if (old) {
		errno = ENOMEM;
		return NULL;
	}
	return pool_get(n, CS_POOL_ALIGN);
}

static void *boot_reallocarray(void *old, size_t n, size_t size)
{
	size_t total;

	FORWARD_UNLESS_RESOLVING(reallocarray, old, n, size);
	if (__builtin_mul_overflow(n, size, &total)) {
		errno = ENOMEM;
		return NULL;
	}
	return boot_realloc(old, total);
}

static int boot_posix_memalign(void **out, size_t align, size_t n)
{
	FORWARD_UNLESS_RESOLVING(posix_memalign, out, align, n);
	if (!align || (align & (align - 1)) || align % sizeof(void *))
		return EINVAL;
	*out = cs_pool_alloc(&cs_alloc_pool, n, align);
	return *out ? 0 : ENOMEM;
}

static void *boot_aligned_alloc(size_t align, size_t n)
{
	FORWARD_UNLESS_RESOLVING(aligned_alloc, align, n);
	return pool_get(n, align);
}

static void *boot_memalign(size_t align, size_t n)
{
	FORWARD_UNLESS_RESOLVING(memalign, align, n);
	return pool_get(n, align);
}

static void *boot_valloc(size_t n)
{
	FORWARD_UNLESS_RESOLVING(valloc, n);
	return pool_get(n, CS_POOL_MAX_ALIGN);
}

static void *boot_pvalloc(size_t n)
{
	FORWARD_UNLESS_RESOLVING(pvalloc, n);
	return pool_get(n ? (n + CS_POOL_MAX_ALIGN - 1) & ~(size_t)(CS_POOL_MAX_ALIGN - 1)
			  : CS_POOL_MAX_ALIGN,
			CS_POOL_MAX_ALIGN);
}

/* Not a pool block (the hook checks) and not resolved yet: its size is not known here. */
static size_t boot_malloc_usable_size(void *p)
{
	FORWARD_UNLESS_RESOLVING(malloc_usable_size, p);
	return 0;
}

cs_allocfns_t cs_alloc_real = {
#define CS_X_BOOT(ret, name, args) .name = boot_##name,
	CS_ALLOC_FAMILY(CS_X_BOOT)
#undef CS_X_BOOT
};

/* ---- resolution ------------------------------------------------------------------------- */

/* dlsym(RTLD_NEXT) from this object: the definition after the shim's in lookup order. */
static void *next_def(void *ctx, const char *name)
{
	(void)ctx;
	return dlsym(RTLD_NEXT, name);
}

typedef struct objq {
	uintptr_t addr;
	cs_objinfo_t *out;
} objq_t;

static int holds(struct dl_phdr_info *info, size_t size, void *arg)
{
	objq_t *q = arg;

	(void)size;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		uintptr_t lo = info->dlpi_addr + ph->p_vaddr;

		if (ph->p_type == PT_LOAD && q->addr >= lo && q->addr - lo < ph->p_memsz) {
			*q->out = (cs_objinfo_t){ .id = info->dlpi_phdr,
						  .name = info->dlpi_name ? info->dlpi_name : "" };
			return 1;
		}
	}
	return 0;
}

int cs_alloc_object_of(const void *p, cs_objinfo_t *out)
{
	objq_t q = { .addr = (uintptr_t)p, .out = out };

	return dl_iterate_phdr(holds, &q) ? 0 : -ENOENT;
}

static bool same_object(void *ctx, const void *a, const void *b)
{
	cs_objinfo_t oa, ob;

	(void)ctx;
	return cs_alloc_object_of(a, &oa) == 0 && cs_alloc_object_of(b, &ob) == 0 && oa.id == ob.id;
}

static void publish(const cs_allocfns_t *t)
{
#define CS_X_PUB(ret, name, args) \
	__atomic_store_n((void **)&cs_alloc_real.name, *(void *const *)&t->name, __ATOMIC_RELAXED);
	CS_ALLOC_FAMILY(CS_X_PUB)
#undef CS_X_PUB
	__atomic_store_n(&done, 1, __ATOMIC_RELEASE);
}

void cs_alloc_resolve(void)
{
	cs_alloc_lookup_t lk = { .next = next_def,
				 .same_object = same_object,
				 .page_size = (size_t)sysconf(_SC_PAGESIZE) };
	cs_allocfns_t t;

	if (__atomic_load_n(&done, __ATOMIC_ACQUIRE))
		return;
	resolving = 1;
	cs_allocfns_choose(&t, &lk, &libc_family);
	publish(&t);
	resolving = 0;
}

void *cs_alloc_pool_realloc(void *old, size_t n)
{
	size_t have = cs_pool_size(&cs_alloc_pool, old);
	void *p;

	if (!n) {
		cs_pool_free(&cs_alloc_pool, old); /* realloc(p, 0) frees, as glibc's does */
		return NULL;
	}
	p = resolving ? pool_get(n, CS_POOL_ALIGN) : CS_ALLOC_CALL(malloc)(n);
	if (!p)
		return NULL;
	memcpy(p, old, have < n ? have : n);
	cs_pool_free(&cs_alloc_pool, old);
	return p;
}

void *cs_alloc_target(void)
{
	cs_alloc_resolve();
	return *(void **)&cs_alloc_real.malloc;
}
