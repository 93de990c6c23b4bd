/* SPDX-License-Identifier: MIT */
/* Unit tests of the stacks a person reads (render/stackview.c): hidden, folded, told apart. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "render.h"

/* A frame "function [module]" at offset off (function NULL: unnamed, module+off). */
static cs_frame_t fr(const char *module, const char *function, uint64_t off)
{
	return (cs_frame_t){
		.module = module, .function = function, .line = CS_UNKNOWN, .offset = off
	};
}

static cs_site_t site_of(const cs_frame_t *f, size_t n)
{
	return (cs_site_t){ .frames = f, .nframes = n, .key = "" };
}

#define SITE(v) site_of(v, sizeof(v) / sizeof((v)[0]))

/* What cs_print_site_stack prints (malloc'd). */
static char *printed(const cs_site_t *s, size_t max, int indent)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	cs_print_site_stack(f, s, max, indent);
	assert_int_equal(fclose(f), 0);
	return buf;
}

/* What cs_print_site_stack_among prints for rows[i] (malloc'd). */
static char *printed_among(const cs_site_t *rows, size_t n, size_t i, size_t max, int indent)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	cs_print_site_stack_among(f, &rows[i], rows, n, max, indent);
	assert_int_equal(fclose(f), 0);
	return buf;
}

static void expect(const cs_site_t *s, size_t max, int indent, const char *want)
{
	char *got = printed(s, max, indent);

	assert_string_equal(got, want);
	free(got);
}

static void test_glibc_run_hidden(void **state)
{
	cs_frame_t v[] = { fr("libc.so.6", "_int_malloc", 0x10), fr("libc.so.6", "malloc", 0x20),
			   fr("app", "load", 0x30), fr("app", "main", 0x40) };
	cs_site_t s = SITE(v);

	(void)state;
	expect(&s, 4, 4, "load [app]\n    main [app]\n");
}

static void test_jemalloc_run_hidden(void **state)
{
	cs_frame_t v[] = { fr("libjemalloc.so.2", NULL, 0x1234),
			   fr("libjemalloc.so.2", "je_extent_alloc", 0x10),
			   fr("libjemalloc.so.2", "malloc", 0x20),
			   fr("redis-server", "zmalloc", 0x30),
			   fr("redis-server", "dictCreate", 0x40),
			   fr("redis-server", "main", 0x50) };
	cs_site_t s = SITE(v);

	(void)state;
	/* Redis's zmalloc is its allocator layer: hidden too */
	expect(&s, 2, 2, "dictCreate [redis-server]\n  main [redis-server]\n");
}

static void test_only_allocator_frames_keep_last(void **state)
{
	cs_frame_t v[] = { fr("libc.so.6", "_int_malloc", 0x10), fr("libc.so.6", "malloc", 0x20) };
	cs_frame_t je[] = { fr("libjemalloc.so.2", NULL, 0x1234),
			    fr("libjemalloc.so.2", NULL, 0x5678) };
	cs_site_t s = SITE(v), j = SITE(je);

	(void)state;
	expect(&s, 4, 4, "malloc [libc.so.6]\n");
	expect(&j, 4, 4, "libjemalloc.so.2+0x5678\n");
}

static void test_named_past_unnamed_runs(void **state)
{
	cs_frame_t v[] = { fr("python3.11", "PyUnicode_New", 0x1),
			   fr("python3.11", NULL, 0x5754c6),
			   fr("python3.11", NULL, 0x5754d0),
			   fr("python3.11", "PyObject_Str", 0x2),
			   fr("python3.11", NULL, 0x53ad86),
			   fr("python3.11", "_PyEval_EvalFrameDefault", 0x3),
			   fr("libfoo.so", NULL, 0x10),
			   fr("python3.11", NULL, 0x20),
			   fr("python3.11", "PyEval_EvalCode", 0x4),
			   fr("python3.11", NULL, 0x30),
			   fr("python3.11", NULL, 0x40) };
	cs_frame_t unnamed[] = { fr("app", NULL, 0x10), fr("app", NULL, 0x20),
				 fr("app", NULL, 0x30) };
	cs_site_t s = SITE(v), u = SITE(unnamed);

	(void)state;
	expect(&s, 3, 1,
	       "PyUnicode_New [python3.11]\n"
	       " \u2026 2 frames without symbols in python3.11\n"
	       " PyObject_Str [python3.11]\n"
	       " python3.11+0x53ad86\n"
	       " _PyEval_EvalFrameDefault [python3.11]\n"
	       " \u2026 5 more frames\n");
	expect(&s, 4, 1,
	       "PyUnicode_New [python3.11]\n"
	       " \u2026 2 frames without symbols in python3.11\n"
	       " PyObject_Str [python3.11]\n"
	       " python3.11+0x53ad86\n"
	       " _PyEval_EvalFrameDefault [python3.11]\n"
	       " \u2026 2 frames without symbols\n"
	       " PyEval_EvalCode [python3.11]\n"
	       " \u2026 2 more frames\n");
	/* nothing named: the frames as they are */
	expect(&u, 2, 1, "app+0x10\n app+0x20\n \u2026 1 more frame\n");
}

static void test_lookalikes_told_apart(void **state)
{
	/* differ only in a hidden allocator frame, and only in a folded unnamed frame */
	cs_frame_t a[] = { fr("libc.so.6", NULL, 0x9a0d3), fr("libc.so.6", "malloc", 0x20),
			   fr("app", "load", 0x30), fr("app", "main", 0x40) };
	cs_frame_t b[] = { fr("libc.so.6", NULL, 0x9a111), fr("libc.so.6", "malloc", 0x20),
			   fr("app", "load", 0x30), fr("app", "main", 0x40) };
	cs_frame_t c[] = { fr("app", "new_node", 0x1), fr("app", NULL, 0x100),
			   fr("app", NULL, 0x200), fr("app", "main", 0x40) };
	cs_frame_t d[] = { fr("app", "new_node", 0x1), fr("app", NULL, 0x100),
			   fr("app", NULL, 0x208), fr("app", "main", 0x40) };
	cs_site_t rows[] = { SITE(a), SITE(b), SITE(c), SITE(d) };
	char *pa = printed(&rows[0], 4, 2), *pb = printed(&rows[1], 4, 2);
	char *ra = printed_among(rows, 4, 0, 4, 2), *rb = printed_among(rows, 4, 1, 4, 2);
	char *rc = printed_among(rows, 4, 2, 4, 2), *rd = printed_among(rows, 4, 3, 4, 2);
	size_t via;

	(void)state;
	assert_string_equal(pa, pb); /* alike without the help */
	assert_string_equal(ra, "load [app]\n  main [app]\n  (via libc.so.6+0x9a0d3, frame 1)\n");
	assert_string_equal(rb, "load [app]\n  main [app]\n  (via libc.so.6+0x9a111, frame 1)\n");
	assert_string_equal(rc,
			    "new_node [app]\n  \u2026 2 frames without symbols in app\n"
			    "  main [app]\n  (via app+0x200, frame 3)\n");
	assert_string_equal(rd,
			    "new_node [app]\n  \u2026 2 frames without symbols in app\n"
			    "  main [app]\n  (via app+0x208, frame 3)\n");
	assert_true(cs_site_display_via(&rows[2], rows, 4, 4, &via));
	assert_int_equal(via, 2);
	/* a site alone in its table prints as cs_print_site_stack does */
	assert_false(cs_site_display_via(&rows[0], rows, 1, 4, &via));
	free(pa);
	free(pb);
	free(ra);
	free(rb);
	free(rc);
	free(rd);
}

/* Terminal columns of each line of s (UTF-8 code points): the widest. */
static size_t widest(const char *s)
{
	size_t most = 0, cols = 0;

	for (; *s; s++) {
		if (*s == '\n') {
			most = cols > most ? cols : most;
			cols = 0;
		} else if (((unsigned char)*s & 0xc0) != 0x80) {
			cols++;
		}
	}
	return cols > most ? cols : most;
}

static void test_lines_fit_100_columns(void **state)
{
	char name[301],
		file[] = "caf\u00e9_\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9"
			 "\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9.c";
	cs_frame_t v[3];
	cs_site_t s;
	char *out;

	(void)state;
	memset(name, 'x', 300);
	name[300] = 0;
	v[0] = fr("libverylongname.so", name, 0x1);
	v[1] = fr("app", "_ZN5boost6detail17sp_counted_impl_pINS_10shared_ptrIiEEE7disposeEv", 2);
	v[1].file = file;
	v[1].line = 12345;
	v[2] = fr("app", name, 3);
	s = site_of(v, 3);
	out = printed(&s, 4, 55); /* the amplification table's indent */
	/* the indented lines end at column 100, as the first does (it starts at 55 too) */
	assert_int_equal(widest(out), CS_STACK_COLUMNS);
	*strchr(out, '\n') = 0;
	assert_int_equal(widest(out), CS_STACK_COLUMNS - 55);
	assert_string_equal(out + strlen(out) - strlen("\u2026"), "\u2026");
	free(out);
	out = printed(&s, 4, 0);
	assert_int_equal(widest(out), CS_STACK_COLUMNS); /* cut to exactly the width */
	free(out);
}

static void test_bucket(void **state)
{
	cs_site_t s = { .bucket = "heap not owned by a sampled allocation", .key = "\1" };

	(void)state;
	expect(&s, 4, 4, "[heap not owned by a sampled allocation]\n");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_glibc_run_hidden),
		cmocka_unit_test(test_jemalloc_run_hidden),
		cmocka_unit_test(test_only_allocator_frames_keep_last),
		cmocka_unit_test(test_named_past_unnamed_runs),
		cmocka_unit_test(test_lookalikes_told_apart),
		cmocka_unit_test(test_lines_fit_100_columns),
		cmocka_unit_test(test_bucket),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
