/* SPDX-License-Identifier: MIT */
/* Unit tests: the malloc family comes whole from one allocator; stand-ins for the names it lacks. */
#include <errno.h>
#include <malloc.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "allocfns.h"

/*
 * Object A is "the allocator" (its functions log their calls and use this
 * process's malloc underneath); object B is "glibc" after it in lookup order:
 * any call into B fails the test (a mixed family).
 */
static char calls[512];
static size_t last_align, last_size;

static void note(const char *what)
{
	strncat(calls, what, sizeof(calls) - strlen(calls) - 2);
	strcat(calls, " ");
}

static void *a_malloc(size_t n)
{
	note("malloc");
	return malloc(n);
}
static void a_free(void *p)
{
	note("free");
	free(p);
}
static void *a_calloc(size_t n, size_t s)
{
	note("calloc");
	return calloc(n, s);
}
static void *a_realloc(void *p, size_t n)
{
	note("realloc");
	last_size = n;
	return realloc(p, n);
}
static void *a_reallocarray(void *p, size_t n, size_t s)
{
	note("reallocarray");
	return reallocarray(p, n, s);
}
static int a_posix_memalign(void **out, size_t al, size_t n)
{
	note("posix_memalign");
	last_align = al;
	last_size = n;
	return posix_memalign(out, al, n);
}
static void *a_aligned_alloc(size_t al, size_t n)
{
	note("aligned_alloc");
	last_align = al;
	last_size = n;
	return aligned_alloc(al, n);
}
static void *a_memalign(size_t al, size_t n)
{
	note("memalign");
	last_align = al;
	last_size = n;
	return memalign(al, n);
}
static void *a_valloc(size_t n)
{
	note("valloc");
	return valloc(n);
}
static void *a_pvalloc(size_t n)
{
	note("pvalloc");
	return pvalloc(n);
}
static size_t a_usable(void *p)
{
	note("malloc_usable_size");
	return malloc_usable_size(p);
}
static size_t a_size(void *p)
{
	note("malloc_size");
	return malloc_usable_size(p) + 1;
}

static void *b_any(void)
{
	fail_msg("called into another allocator");
	return NULL;
}

typedef struct def {
	const char *name;
	void *fn;
} def_t;

/* What A defines in a test (NULL-terminated); B defines every name. */
static const def_t *a_defs;

static void *fake_next(void *ctx, const char *name)
{
	(void)ctx;
	for (const def_t *d = a_defs; d && d->name; d++)
		if (!strcmp(d->name, name))
			return d->fn;
	if (!strcmp(name, "malloc_size"))
		return NULL; /* glibc has none */
	return (void *)b_any;
}

static bool fake_same(void *ctx, const void *x, const void *y)
{
	(void)ctx;
	return (x == (void *)b_any) == (y == (void *)b_any);
}

static const cs_alloc_lookup_t lk = { .next = fake_next,
				      .same_object = fake_same,
				      .page_size = 4096 };

#define D(n)                      \
	{                         \
#n, (void *)a_##n \
	}
static const def_t jemalloc_like[] = { /* Debian's libjemalloc2: no pvalloc, no reallocarray */
				       D(malloc),
				       D(free),
				       D(calloc),
				       D(realloc),
				       D(posix_memalign),
				       D(aligned_alloc),
				       D(memalign),
				       D(valloc),
				       { "malloc_usable_size", (void *)a_usable },
				       { NULL, NULL }
};
static const def_t whole[] = { D(malloc),
			       D(free),
			       D(calloc),
			       D(realloc),
			       D(reallocarray),
			       D(posix_memalign),
			       D(aligned_alloc),
			       D(memalign),
			       D(valloc),
			       D(pvalloc),
			       { "malloc_usable_size", (void *)a_usable },
			       { NULL, NULL } };
static const def_t memalign_only[] = { /* no posix_memalign, no aligned_alloc */
				       D(malloc),
				       D(free),
				       D(realloc),
				       D(memalign),
				       { "malloc_size", (void *)a_size },
				       { NULL, NULL }
};
static const def_t no_aligned[] = { D(malloc), D(free), D(calloc), D(realloc), { NULL, NULL } };

static unsigned choose(cs_allocfns_t *t, const def_t *defs)
{
	a_defs = defs;
	calls[0] = 0;
	return cs_allocfns_choose(t, &lk, NULL);
}

#define BIT(n) (1u << CS_AF_##n)

static void test_whole_allocator_is_taken_as_is(void **state)
{
	cs_allocfns_t t;

	(void)state;
	assert_int_equal(choose(&t, whole), 0);
	assert_ptr_equal(t.malloc, a_malloc);
	assert_ptr_equal(t.pvalloc, a_pvalloc);
	assert_ptr_equal(t.reallocarray, a_reallocarray);
	assert_ptr_equal(t.malloc_usable_size, a_usable);
}

/* jemalloc lacks pvalloc and reallocarray: the next ones are glibc's, never used. */
static void test_missing_names_stand_in_on_the_same_allocator(void **state)
{
	cs_allocfns_t t;
	void *p;

	(void)state;
	assert_int_equal(choose(&t, jemalloc_like), BIT(pvalloc) | BIT(reallocarray));
	assert_ptr_equal(t.posix_memalign, a_posix_memalign);
	p = t.pvalloc(100);
	assert_non_null(p);
	assert_string_equal(calls, "posix_memalign ");
	assert_true(last_align == 4096 && last_size == 4096);
	assert_int_equal((uintptr_t)p % 4096, 0);
	calls[0] = 0;
	p = t.reallocarray(p, 3, 5000);
	assert_string_equal(calls, "realloc ");
	assert_int_equal(last_size, 15000);
	assert_null(t.reallocarray(p, SIZE_MAX, 2));
	assert_int_equal(errno, ENOMEM);
	t.free(p);
	p = t.pvalloc(0); /* one page */
	assert_non_null(p);
	assert_int_equal(last_size, 4096);
	free(p);
}

/* An allocator with memalign only: every aligned name goes through it, with glibc's rules. */
static void test_aligned_names_through_memalign(void **state)
{
	cs_allocfns_t t;
	void *p = NULL;

	(void)state;
	assert_int_equal(choose(&t, memalign_only),
			 BIT(calloc) | BIT(reallocarray) | BIT(posix_memalign) |
				 BIT(aligned_alloc) | BIT(valloc) | BIT(pvalloc) |
				 BIT(malloc_usable_size));
	assert_int_equal(t.posix_memalign(&p, 24, 10), EINVAL); /* not a power of two */
	assert_int_equal(t.posix_memalign(&p, 4, 10), EINVAL);  /* below sizeof(void *) */
	assert_string_equal(calls, "");
	assert_int_equal(t.posix_memalign(&p, 64, 10), 0);
	assert_true(last_align == 64 && (uintptr_t)p % 64 == 0);
	free(p);
	errno = 0;
	assert_null(t.aligned_alloc(48, 10));
	assert_int_equal(errno, EINVAL);
	p = t.memalign(128, 10); /* memalign's own: A has it */
	assert_ptr_equal(t.memalign, a_memalign);
	assert_int_equal(last_align, 128);
	free(p);
	p = t.valloc(1);
	assert_true(last_align == 4096 && last_size == 1);
	free(p);
	calls[0] = 0;
	p = t.calloc(4, 8);
	assert_string_equal(calls, "malloc ");
	assert_int_equal(((uint64_t *)p)[3], 0);
	assert_int_equal(t.malloc_usable_size(p), malloc_usable_size(p) + 1); /* its malloc_size */
	free(p);
	assert_int_equal(t.malloc_usable_size(NULL), 0);
}

/* No aligned function at all: aligned requests fail (ENOMEM) rather than use another allocator. */
static void test_no_aligned_function_fails_cleanly(void **state)
{
	cs_allocfns_t t;
	void *p = (void *)1;

	(void)state;
	choose(&t, no_aligned);
	assert_int_equal(t.posix_memalign(&p, 64, 10), ENOMEM);
	errno = 0;
	assert_null(t.valloc(10));
	assert_int_equal(errno, ENOMEM);
	assert_null(t.pvalloc(10));
	assert_int_equal(t.malloc_usable_size(&p), 0); /* no way to know: 0, not another's answer */
	assert_string_equal(calls, "");
}

static void *no_next(void *ctx, const char *name)
{
	(void)ctx;
	(void)name;
	return NULL;
}

/* Without a next malloc the fallback family is taken whole, with stand-ins on it. */
static void test_fallback_family(void **state)
{
	const cs_alloc_lookup_t none = { .next = no_next,
					 .same_object = fake_same,
					 .page_size = 4096 };
	cs_allocfns_t t,
		fb = { .malloc = a_malloc,
		       .free = a_free,
		       .calloc = a_calloc,
		       .realloc = a_realloc,
		       .memalign = a_memalign };
	void *p = NULL;
	unsigned subbed;

	(void)state;
	calls[0] = 0;
	subbed = cs_allocfns_choose(&t, &none, &fb);
	assert_int_equal(subbed,
			 BIT(reallocarray) | BIT(posix_memalign) | BIT(aligned_alloc) |
				 BIT(valloc) | BIT(pvalloc) | BIT(malloc_usable_size));
	assert_ptr_equal(t.malloc, a_malloc);
	assert_ptr_equal(t.memalign, a_memalign);
	assert_int_equal(t.posix_memalign(&p, 32, 8), 0);
	assert_string_equal(calls, "memalign ");
	free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_whole_allocator_is_taken_as_is),
		cmocka_unit_test(test_missing_names_stand_in_on_the_same_allocator),
		cmocka_unit_test(test_aligned_names_through_memalign),
		cmocka_unit_test(test_no_aligned_function_fails_cleanly),
		cmocka_unit_test(test_fallback_family),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
