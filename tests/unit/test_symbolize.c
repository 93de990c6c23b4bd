/* SPDX-License-Identifier: MIT */
/* Unit tests: symbolizing this executable's own code with libdw, inlined frames, fallbacks. */
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include "cs_testutil.h"
#include "model.h"
#include "render.h"
#include "symbolize.h"

/* Not inlined, cloned, or folded with an identical function (-fipa-icf). */
#define NOINLINE __attribute__((noipa))

/* ---- code to symbolize: each returns a return address inside itself ---------------------- */

static NOINLINE uint64_t here(void)
{
	return (uint64_t)(uintptr_t)__builtin_return_address(0);
}

static NOINLINE uint64_t probe_line(int *line)
{
	volatile uint64_t r = here(); *line = __LINE__;
	return r;
}

static inline __attribute__((always_inline)) uint64_t inlined_probe(int *line)
{
	volatile uint64_t r = here(); *line = __LINE__;
	return r;
}

static NOINLINE uint64_t calls_inlined(int *line, int *call_line)
{
	volatile uint64_t r = inlined_probe(line); *call_line = __LINE__;
	return r;
}

/* ---- this process's modules -------------------------------------------------------------- */

typedef struct modinfo {
	const char *want;    /* NULL: the main program */
	bool found;
	uint64_t base;
	cs_seg_t segs[16];
	uint32_t nsegs;
	char path[PATH_MAX];
} modinfo_t;

static int on_object(struct dl_phdr_info *info, size_t size, void *data)
{
	modinfo_t *mi = data;
	bool main_prog = !info->dlpi_name[0];

	(void)size;
	if (mi->found || (mi->want ? !strstr(info->dlpi_name, mi->want) : !main_prog))
		return 0;
	mi->found = true;
	mi->base = info->dlpi_addr;
	snprintf(mi->path, sizeof(mi->path), "%s", main_prog ? "" : info->dlpi_name);
	for (int i = 0; i < info->dlpi_phnum && mi->nsegs < 16; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];

		if (ph->p_type != PT_LOAD)
			continue;
		mi->segs[mi->nsegs++] = (cs_seg_t){ info->dlpi_addr + ph->p_vaddr,
			info->dlpi_addr + ph->p_vaddr + ph->p_memsz, ph->p_offset };
	}
	return 0;
}

static modinfo_t module_of(const char *want)
{
	modinfo_t mi = { .want = want };

	dl_iterate_phdr(on_object, &mi);
	assert_true(mi.found);
	return mi;
}

static cs_module_t as_module(modinfo_t *mi, const char *path)
{
	return (cs_module_t){ .base = mi->base, .segs = mi->segs, .nsegs = mi->nsegs,
			      .path = (char *)(path ? path : mi->path) };
}

static char exe[PATH_MAX];
static cs_arena_t arena;

static int setup(void **state)
{
	(void)state;
	if (!realpath("/proc/self/exe", exe))
		return -1;
	memset(&arena, 0, sizeof(arena));
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	cs_arena_free(&arena);
	return 0;
}

static const char *base_name(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash ? slash + 1 : path;
}

/* The frames of ra against one module. */
static const cs_frame_t *symbolize(const cs_module_t *mod, uint64_t ra, size_t *n,
				   const char **note)
{
	cs_symbolizer_t *s;
	const cs_frame_t *f;

	assert_int_equal(cs_sym_open(&s, mod, 1, exe, &arena), 0);
	assert_int_equal(cs_sym_addr(s, ra, &f, n, note), 0);
	cs_sym_close(s);
	return f;
}

static void test_own_function_and_line(void **state)
{
	modinfo_t mi = module_of(NULL);
	cs_module_t mod = as_module(&mi, NULL);
	const cs_frame_t *f;
	const char *note;
	int line;
	uint64_t ra = probe_line(&line);
	size_t n;

	(void)state;
	if (!cs_sym_have_dwarf())
		skip();
	f = symbolize(&mod, ra, &n, &note);
	assert_int_equal(n, 1);
	assert_null(note);
	assert_string_equal(f[0].function, "probe_line");
	assert_non_null(f[0].file);
	assert_string_equal(base_name(f[0].file), "test_symbolize.c");
	assert_int_equal(f[0].line, line);
	assert_string_equal(f[0].module, base_name(exe));
	assert_true(f[0].main_program);
	assert_false(f[0].inlined);
	assert_true(f[0].offset == ra - 1 - mi.base);
}

static void test_inlined_frames(void **state)
{
	modinfo_t mi = module_of(NULL);
	cs_module_t mod = as_module(&mi, NULL);
	const cs_frame_t *f;
	const char *note;
	int line, call_line;
	uint64_t ra = calls_inlined(&line, &call_line);
	size_t n;

	(void)state;
	if (!cs_sym_have_dwarf())
		skip();
	f = symbolize(&mod, ra, &n, &note);
	assert_int_equal(n, 2);
	assert_string_equal(f[0].function, "inlined_probe");
	assert_true(f[0].inlined);
	assert_int_equal(f[0].line, line);
	assert_string_equal(f[1].function, "calls_inlined");
	assert_false(f[1].inlined);
	assert_int_equal(f[1].line, call_line);
	assert_string_equal(base_name(f[1].file), "test_symbolize.c");
}

/* A copy of this executable without symbols (made by the build): module+offset. */
static void test_stripped_module(void **state)
{
	modinfo_t mi = module_of(NULL);
	cs_module_t mod = as_module(&mi, CS_TEST_STRIPPED);
	const cs_frame_t *f;
	const char *note;
	int line;
	uint64_t ra = probe_line(&line);
	size_t n;

	(void)state;
	if (!cs_sym_have_dwarf() || access(CS_TEST_STRIPPED, R_OK))
		skip();
	f = symbolize(&mod, ra, &n, &note);
	assert_int_equal(n, 1);
	assert_null(note);
	assert_null(f[0].function);
	assert_null(f[0].file);
	assert_int_equal(f[0].line, CS_UNKNOWN);
	assert_string_equal(f[0].module, base_name(CS_TEST_STRIPPED));
	assert_false(f[0].main_program);
	assert_true(f[0].offset == ra - 1 - mi.base);
}

/* The file on disk is not the object traced: module+offset and a note saying so. */
static void test_build_id_mismatch(void **state)
{
	modinfo_t mi = module_of(NULL);
	cs_module_t mod = as_module(&mi, NULL);
	uint8_t other[20];
	const cs_frame_t *f;
	const char *note;
	int line;
	uint64_t ra = probe_line(&line);
	size_t n;

	(void)state;
	if (!cs_sym_have_dwarf())
		skip();
	memset(other, 0xab, sizeof(other));
	mod.build_id = other;
	mod.build_id_len = sizeof(other);
	f = symbolize(&mod, ra, &n, &note);
	assert_int_equal(n, 1);
	assert_null(f[0].function);
	assert_true(f[0].offset == ra - 1 - mi.base);
	assert_non_null(note);
	assert_non_null(strstr(note, "build-id differs from the traced one"));
}

static void test_missing_file_and_no_module(void **state)
{
	modinfo_t mi = module_of(NULL);
	cs_module_t mod = as_module(&mi, "/nonexistent/libgone.so.2");
	const cs_frame_t *f;
	const char *note;
	int line;
	uint64_t ra = probe_line(&line);
	size_t n;

	(void)state;
	f = symbolize(&mod, ra, &n, &note);
	assert_int_equal(n, 1);
	assert_string_equal(f[0].module, "libgone.so.2");
	assert_true(f[0].offset == ra - 1 - mi.base);
	if (cs_sym_have_dwarf())
		assert_non_null(strstr(note, "/nonexistent/libgone.so.2: cannot read its symbols"));
	f = symbolize(&mod, 0x10, &n, &note); /* in no module */
	assert_int_equal(n, 1);
	assert_null(f[0].module);
	assert_true(f[0].offset == 0xf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_own_function_and_line, setup, teardown),
		cmocka_unit_test_setup_teardown(test_inlined_frames, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stripped_module, setup, teardown),
		cmocka_unit_test_setup_teardown(test_build_id_mismatch, setup, teardown),
		cmocka_unit_test_setup_teardown(test_missing_file_and_no_module, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
