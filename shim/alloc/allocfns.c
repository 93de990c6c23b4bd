/* SPDX-License-Identifier: MIT */
/* Choosing the malloc family from one allocator, and stand-ins built on that allocator's own functions. */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include "allocfns.h"

static const char *const names[CS_AF__COUNT] = {
#define CS_X_NAME(ret, name, args) #name,
	CS_ALLOC_FAMILY(CS_X_NAME)
#undef CS_X_NAME
};

/* What the stand-ins call: the allocator's own functions (NULL: it has none). */
static struct prims {
	void *(*malloc)(size_t);
	void *(*realloc)(void *, size_t);
	int (*posix_memalign)(void **, size_t, size_t);
	void *(*aligned_alloc)(size_t, size_t);
	void *(*memalign)(size_t, size_t);
	size_t (*usable)(void *);
	size_t page;
} prim;

/* Concurrent choosers store the same values: relaxed atomics keep each one whole. */
#define PRIM(f) __atomic_load_n(&prim.f, __ATOMIC_RELAXED)
#define SET_PRIM(f, v) __atomic_store_n((void **)&prim.f, (v), __ATOMIC_RELAXED)

/* ---- stand-ins -------------------------------------------------------------------------- */

static void *sub_calloc(size_t n, size_t size)
{
	size_t total;
	void *p;

	if (__builtin_mul_overflow(n, size, &total)) {
		errno = ENOMEM;
		return NULL;
	}
	p = PRIM(malloc)(total);
	if (p)
		memset(p, 0, total);
	return p;
}

static void *sub_reallocarray(void *old, size_t n, size_t size)
{
	size_t total;

	if (__builtin_mul_overflow(n, size, &total)) {
		errno = ENOMEM;
		return NULL;
	}
	return PRIM(realloc)(old, total);
}

static bool pow2(size_t v)
{
	return v && !(v & (v - 1));
}

/* n bytes aligned to align (a power of two >= sizeof(void *)): 0 or an errno value. */
static int aligned(void **out, size_t align, size_t n)
{
	int (*pm)(void **, size_t, size_t) = PRIM(posix_memalign);
	void *(*aa)(size_t, size_t) = PRIM(aligned_alloc);
	void *(*ma)(size_t, size_t) = PRIM(memalign);

	if (pm)
		return pm(out, align, n);
	*out = aa ? aa(align, n) : ma ? ma(align, n) : NULL;
	return *out ? 0 : ENOMEM;
}

/* aligned() for the functions that return the pointer and set errno. */
static void *aligned_ptr(size_t align, size_t n)
{
	void *p = NULL;
	int err = aligned(&p, align, n);

	if (err) {
		errno = err;
		return NULL;
	}
	return p;
}

static int sub_posix_memalign(void **out, size_t align, size_t n)
{
	if (!pow2(align) || align % sizeof(void *))
		return EINVAL;
	return aligned(out, align, n);
}

static void *sub_aligned_alloc(size_t align, size_t n)
{
	if (!pow2(align)) {
		errno = EINVAL;
		return NULL;
	}
	return aligned_ptr(align < sizeof(void *) ? sizeof(void *) : align, n);
}

/* memalign takes any alignment: rounded up to a power of two, as glibc does. */
static void *sub_memalign(size_t align, size_t n)
{
	size_t a = sizeof(void *);

	while (a < align && a <= SIZE_MAX / 2)
		a <<= 1;
	if (a < align) {
		errno = EINVAL;
		return NULL;
	}
	return aligned_ptr(a, n);
}

static void *sub_valloc(size_t n)
{
	return aligned_ptr(PRIM(page), n);
}

static void *sub_pvalloc(size_t n)
{
	size_t page = PRIM(page), rounded = n ? (n + page - 1) & ~(page - 1) : page;

	if (rounded < n) {
		errno = ENOMEM;
		return NULL;
	}
	return aligned_ptr(page, rounded);
}

static size_t sub_malloc_usable_size(void *p)
{
	size_t (*u)(void *) = PRIM(usable);

	return u && p ? u(p) : 0;
}

/* The stand-in of each name; NULL: always the next definition (malloc, free, realloc). */
static void *const subs[CS_AF__COUNT] = {
	[CS_AF_calloc] = (void *)sub_calloc,
	[CS_AF_reallocarray] = (void *)sub_reallocarray,
	[CS_AF_posix_memalign] = (void *)sub_posix_memalign,
	[CS_AF_aligned_alloc] = (void *)sub_aligned_alloc,
	[CS_AF_memalign] = (void *)sub_memalign,
	[CS_AF_valloc] = (void *)sub_valloc,
	[CS_AF_pvalloc] = (void *)sub_pvalloc,
	[CS_AF_malloc_usable_size] = (void *)sub_malloc_usable_size,
};

/* ---- the choice ------------------------------------------------------------------------- */

typedef struct found {
	void *fn[CS_AF__COUNT];
	bool mine[CS_AF__COUNT]; /* defined by the allocator's object */
	bool fallback;
} found_t;

static void look_up(found_t *f, const cs_alloc_lookup_t *lk)
{
	for (int i = 0; i < CS_AF__COUNT; i++)
		f->fn[i] = lk->next(lk->ctx, names[i]);
	for (int i = 0; i < CS_AF__COUNT; i++)
		f->mine[i] = f->fn[i] &&
			(i == CS_AF_malloc ||
			 lk->same_object(lk->ctx, f->fn[i], f->fn[CS_AF_malloc]));
}

static void from_fallback(found_t *f, const cs_allocfns_t *fb)
{
#define CS_X_COPY(ret, name, args) f->fn[CS_AF_##name] = *(void *const *)&fb->name;
	CS_ALLOC_FAMILY(CS_X_COPY)
#undef CS_X_COPY
	for (int i = 0; i < CS_AF__COUNT; i++)
		f->mine[i] = f->fn[i] != NULL;
	f->fallback = true;
}

/* The allocator's usable-size function: its malloc_usable_size, else its malloc_size. */
static void *usable_of(const found_t *f, const cs_alloc_lookup_t *lk)
{
	void *alt;

	if (f->mine[CS_AF_malloc_usable_size] || f->fallback)
		return f->fn[CS_AF_malloc_usable_size];
	alt = lk->next(lk->ctx, "malloc_size");
	return alt && lk->same_object(lk->ctx, alt, f->fn[CS_AF_malloc]) ? alt : NULL;
}

static void *mine_or_null(const found_t *f, int i)
{
	return f->mine[i] ? f->fn[i] : NULL;
}

static void set_prims(const found_t *f, const cs_alloc_lookup_t *lk)
{
	SET_PRIM(malloc, f->fn[CS_AF_malloc]);
	SET_PRIM(realloc, f->fn[CS_AF_realloc]);
	SET_PRIM(posix_memalign, mine_or_null(f, CS_AF_posix_memalign));
	SET_PRIM(aligned_alloc, mine_or_null(f, CS_AF_aligned_alloc));
	SET_PRIM(memalign, mine_or_null(f, CS_AF_memalign));
	SET_PRIM(usable, usable_of(f, lk));
	__atomic_store_n(&prim.page, lk->page_size ? lk->page_size : 4096, __ATOMIC_RELAXED);
}

unsigned cs_allocfns_choose(cs_allocfns_t *out, const cs_alloc_lookup_t *lk,
			    const cs_allocfns_t *fallback)
{
	void *pick[CS_AF__COUNT];
	unsigned subbed = 0;
	found_t f = { .fallback = false };

	look_up(&f, lk);
	if (!f.fn[CS_AF_malloc] || !f.fn[CS_AF_free] || !f.fn[CS_AF_realloc])
		from_fallback(&f, fallback);
	set_prims(&f, lk);
	for (int i = 0; i < CS_AF__COUNT; i++) {
		pick[i] = f.mine[i] || !subs[i] ? f.fn[i] : subs[i];
		subbed |= pick[i] == f.fn[i] ? 0u : 1u << i;
	}
#define CS_X_PICK(ret, name, args) *(void **)&out->name = pick[CS_AF_##name];
	CS_ALLOC_FAMILY(CS_X_PICK)
#undef CS_X_PICK
	return subbed;
}
