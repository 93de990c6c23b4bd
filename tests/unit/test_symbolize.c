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
#include <sys/stat.h>
#include <cmocka.h>
#include "analyze.h"
#include "cs_testutil.h"
#include "model.h"
#include "render.h"
#include "symbolize.h"

#define MS 1000000ull
#define HP 0x10000ull
/* Not inlined, cloned, or folded with an identical function (-fipa-icf). */
#define NOINLINE __attribute__((noipa))

/* ---- code to symbolize: each returns a return address inside itself ---------------------- */

static NOINLINE uint64_t here(void)
{
	return (uint64_t)(uintptr_t)__builtin_return_address(0);
}

/* __LINE__ must be on the call's own line: */
/* clang-format off */
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
/* clang-format on */

static NOINLINE uint64_t fn_alpha(void)
{
	volatile uint64_t r = here();
	return r;
}

static NOINLINE uint64_t fn_beta(void)
{
	volatile uint64_t r = here();
	return r;
}

static NOINLINE uint64_t fn_gamma(void)
{
	volatile uint64_t r = here();
	return r;
}

/* Return addresses in fn_outer after calling fn_alpha and fn_beta. */
static NOINLINE void fn_outer(uint64_t ra[4])
{
	ra[0] = fn_alpha();
	ra[1] = here();
	ra[2] = fn_beta();
	ra[3] = here();
}

/* ---- this process's modules -------------------------------------------------------------- */

typedef struct modinfo {
	const char *want; /* NULL: the main program */
	bool found;
	uint64_t base;
	cs_seg_t segs[16];
	uint32_t nsegs;
	char path[PATH_MAX];
	uint8_t bid[64]; /* its NT_GNU_BUILD_ID */
	uint16_t bidlen;
} modinfo_t;

/* The GNU build-id note of a PT_NOTE segment mapped at p, into mi. */
static void note_build_id(modinfo_t *mi, const uint8_t *p, size_t len)
{
	size_t off = 0;

	while (off + sizeof(ElfW(Nhdr)) <= len) {
		const ElfW(Nhdr) *nh = (const void *)(p + off);
		size_t name = (nh->n_namesz + 3) & ~3u, desc = (nh->n_descsz + 3) & ~3u;

		if (nh->n_type == NT_GNU_BUILD_ID && nh->n_namesz == 4 &&
		    nh->n_descsz <= sizeof(mi->bid) && !memcmp(nh + 1, "GNU", 4)) {
			memcpy(mi->bid, (const uint8_t *)(nh + 1) + name, nh->n_descsz);
			mi->bidlen = (uint16_t)nh->n_descsz;
			return;
		}
		off += sizeof(*nh) + name + desc;
	}
}

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

		if (ph->p_type == PT_NOTE && !mi->bidlen)
			note_build_id(mi, (const uint8_t *)(info->dlpi_addr + ph->p_vaddr),
				      ph->p_memsz);
		if (ph->p_type != PT_LOAD)
			continue;
		mi->segs[mi->nsegs++] = (cs_seg_t){ info->dlpi_addr + ph->p_vaddr,
						    info->dlpi_addr + ph->p_vaddr + ph->p_memsz,
						    ph->p_offset };
	}
	return 0;
}

static modinfo_t module_of(const char *want)
{
	modinfo_t mi = { .want = want };

	dl_iterate_phdr(on_object, &mi);
	assert_true(mi.found);
	assert_true(mi.bidlen > 0); /* symbols are read only for a matching build-id */
	return mi;
}

static cs_module_t as_module(modinfo_t *mi, const char *path)
{
	return (cs_module_t){ .base = mi->base,
			      .segs = mi->segs,
			      .nsegs = mi->nsegs,
			      .path = (char *)(path ? path : mi->path),
			      .build_id = mi->bid,
			      .build_id_len = mi->bidlen };
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

/* The main program named by its path (as the shim writes it) rather than "". */
static void test_own_function_and_line(void **state)
{
	modinfo_t mi = module_of(NULL);
	cs_module_t mod = as_module(&mi, exe);
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
	assert_string_equal(note, /* the module's no-symbols note (docs/allocation-sites.md) */
			    "test_symbolize.stripped: no symbols (stripped: no .symtab or debug "
			    "info found), frames as module+offset: install the debug symbols "
			    "package for test_symbolize.stripped (\u2026-dbgsym) or build with -g");
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
	assert_non_null(
		strstr(note, "symbols unavailable: no regular file with the traced build-id"));
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
	if (cs_sym_have_dwarf()) /* the trace's own name, nothing about the file system */
		assert_string_equal(note,
				    "libgone.so.2: symbols unavailable: no regular file with "
				    "the traced build-id at the traced path (frames shown as "
				    "module+offset)");
	f = symbolize(&mod, 0x10, &n, &note); /* in no module */
	assert_int_equal(n, 1);
	assert_null(f[0].module);
	assert_true(f[0].offset == 0xf);
}

/* ---- crafted MODULE records (docs/security.md) -------------------------------------------- */

/* A private copy of this executable, mode 0600, in a new directory; *dir to remove. */
static char *private_copy(char **dir)
{
	size_t n;
	char *bytes = tu_slurp(exe, &n), *path;

	*dir = tu_mkdtemp();
	tu_write_file(*dir, "secret", bytes, n);
	free(bytes);
	assert_true(asprintf(&path, "%s/secret", *dir) > 0);
	assert_int_equal(chmod(path, 0600), 0);
	return path;
}

/* The note and frames of ra against a module at path with the given build-id. */
static const cs_frame_t *forged(const char *path, const uint8_t *bid, uint16_t bidlen, uint64_t ra,
				size_t *n, const char **note)
{
	modinfo_t mi = module_of(NULL);
	cs_module_t mod = as_module(&mi, path);

	mod.build_id = (uint8_t *)bid;
	mod.build_id_len = bidlen;
	return symbolize(&mod, ra, n, note);
}

static void assert_nothing_from(const cs_frame_t *f, size_t n, const char *note, const char *dir)
{
	assert_int_equal(n, 1);
	assert_null(f[0].function);
	assert_null(f[0].file);
	assert_non_null(note);
	assert_null(strstr(note, dir));
}

/* A 0600 ELF named without a build-id, or with another one: no names, no path in the note. */
static void test_forged_module_without_matching_build_id(void **state)
{
	char *dir, *path = private_copy(&dir), *gone;
	uint8_t other[20];
	const cs_frame_t *f;
	const char *note, *note_gone;
	int line;
	uint64_t ra = probe_line(&line);
	size_t n;

	(void)state;
	if (!cs_sym_have_dwarf())
		skip();
	memset(other, 0xab, sizeof(other));
	f = forged(path, NULL, 0, ra, &n, &note);
	assert_nothing_from(f, n, note, dir);
	assert_string_equal(note, "secret: symbols unavailable: traced without a build-id");
	f = forged(path, other, sizeof(other), ra, &n, &note);
	assert_nothing_from(f, n, note, dir);
	assert_true(asprintf(&gone, "%s/gone/secret", dir) > 0);
	f = forged(gone, other, sizeof(other), ra, &n, &note_gone);
	assert_nothing_from(f, n, note_gone, dir);
	assert_string_equal(note, note_gone); /* an existing file reads like a missing one */
	free(gone);
	free(path);
	tu_rmtree(dir);
	free(dir);
}

/* A symlink to the right file, with the right build-id, is refused; the file itself is read. */
static void test_forged_module_symlink_refused(void **state)
{
	modinfo_t mi = module_of(NULL);
	char *dir, *path = private_copy(&dir), *link;
	const cs_frame_t *f;
	const char *note;
	int line;
	uint64_t ra = probe_line(&line);
	size_t n;

	(void)state;
	if (!cs_sym_have_dwarf())
		skip();
	assert_true(asprintf(&link, "%s/link", dir) > 0);
	assert_int_equal(symlink(path, link), 0);
	f = forged(link, mi.bid, mi.bidlen, ra, &n, &note);
	assert_nothing_from(f, n, note, dir);
	assert_string_equal(note,
			    "link: symbols unavailable: no regular file with the traced "
			    "build-id at the traced path (frames shown as module+offset)");
	f = forged(path, mi.bid, mi.bidlen, ra, &n, &note); /* matching build-id: as before */
	assert_null(note);
	assert_string_equal(f[0].function, "probe_line");
	assert_int_equal(f[0].line, line);
	free(link);
	free(path);
	tu_rmtree(dir);
	free(dir);
}

/* A FIFO at the traced path: refused without blocking (O_NONBLOCK, then fstat). */
static void test_forged_module_fifo_refused(void **state)
{
	modinfo_t mi = module_of(NULL);
	char *dir = tu_mkdtemp(), *fifo;
	const cs_frame_t *f;
	const char *note;
	int line;
	uint64_t ra = probe_line(&line);
	size_t n;

	(void)state;
	if (!cs_sym_have_dwarf())
		skip();
	assert_true(asprintf(&fifo, "%s/fifo", dir) > 0);
	assert_int_equal(mkfifo(fifo, 0600), 0);
	f = forged(fifo, mi.bid, mi.bidlen, ra, &n, &note);
	assert_nothing_from(f, n, note, dir);
	free(fifo);
	tu_rmtree(dir);
	free(dir);
}

/* ---- allocator frames hidden from a site's start ----------------------------------------- */

/* A frame "module!function" (function NULL: unnamed). */
static cs_frame_t fr(const char *module, const char *function)
{
	return (cs_frame_t){ .module = module, .function = function, .line = CS_UNKNOWN };
}

#define HIDDEN(v) cs_sym_alloc_frames(v, sizeof(v) / sizeof((v)[0]))

static void test_allocator_frames(void **state)
{
	/* glibc internals under a jemalloc-less malloc, then the program */
	cs_frame_t glibc[] = { fr("libc.so.6", "sysmalloc"),
			       fr("libc.so.6", "_int_malloc"),
			       fr("libc.so.6", "tcache_init"),
			       fr("libc.so.6", "malloc"),
			       fr("app", "load"),
			       fr("app", "main") };
	/* jemalloc's arena mmap, recorded through the shim's malloc */
	cs_frame_t je[] = { fr("libjemalloc.so.2", NULL), fr("libjemalloc.so.2", "je_extent_alloc"),
			    fr("libcowscope.so", "malloc"), fr("redis-server", "zmalloc"),
			    fr("redis-server", "dictCreate") };
	/* Debian's python3.11: static symbols stripped, PyObject_Malloc named by .dynsym */
	cs_frame_t py[] = { fr("python3.11", NULL), fr("python3.11", NULL),
			    fr("python3.11", "PyObject_Malloc"), fr("python3.11", "PyList_New"),
			    fr("python3.11", NULL) };
	/* unnamed frames that lead to no allocator function are the program's */
	cs_frame_t plain[] = { fr("app", NULL), fr("app", NULL), fr("libc.so.6", "malloc"),
			       fr("app", "main") };
	/* an unnamed frame of another module does not lead up to this one's allocator */
	cs_frame_t mixed[] = { fr("libfoo.so", NULL), fr("python3.11", "PyMem_Malloc"),
			       fr("python3.11", "builtin_x") };
	cs_frame_t all[] = { fr("libtcmalloc_minimal.so.4", NULL),
			     fr("libtcmalloc_minimal.so.4", "tc_malloc") };
	cs_frame_t none[] = { fr("app", "load"), fr("libc.so.6", "malloc") };
	/* the arena stacks seen there: PyObject_Malloc tail-calls, no named allocator frame */
	cs_frame_t arena_stack[] = { fr("python3.11", NULL), fr("python3.11", NULL),
				     fr("python3.11", "PyUnicode_New"), fr("python3.11", NULL),
				     fr("python3.11", "PyObject_Str") };
	cs_frame_t unnamed[] = { fr("python3.11", NULL), fr("python3.11", NULL) };
	cs_frame_t cpython[] = { fr("libpython3.12.so", "_PyObject_ArenaMmap"),
				 fr("libpython3.12.so", "new_arena"),
				 fr("libpython3.12.so", "allocate_from_new_pool"),
				 fr("libpython3.12.so", "pymalloc_alloc"),
				 fr("libpython3.12.so", "_PyObject_Malloc"),
				 fr("libpython3.12.so", "PyObject_Malloc"),
				 fr("libpython3.12.so", "PyUnicode_New") };

	/* C++ and Ruby allocation layers, CPython's GC allocator; __libc_start_main is no allocator */
	cs_frame_t cxx[] = { fr("libc.so.6", "malloc"), fr("libstdc++.so.6", "_Znwm"),
			     fr("app", "make_node") };
	cs_frame_t rb[] = { fr("libruby-3.1.so.3.1", "objspace_xmalloc0"),
			    fr("libruby-3.1.so.3.1", "ruby_xmalloc2"),
			    fr("libruby-3.1.so.3.1", "newobj_of"),
			    fr("libruby-3.1.so.3.1", "rb_ary_new") };
	cs_frame_t gc[] = { fr("python3.11", "_PyObject_Malloc"), fr("python3.11", "gc_alloc"),
			    fr("python3.11", "_PyObject_GC_Link"),
			    fr("python3.11", "PyTuple_New") };
	cs_frame_t start[] = { fr("libc.so.6", "malloc"), fr("libc.so.6", "__libc_start_main"),
			       fr("app", "_start") };
	/* Redis's zmalloc layer over jemalloc: the site starts at the string it allocates */
	cs_frame_t redis[] = { fr("libjemalloc.so.2", "malloc"),
			       fr("redis-server", "ztrymalloc_usable"),
			       fr("redis-server", "zmalloc_usable"),
			       fr("redis-server", "_sdsnewlen"),
			       fr("redis-server", "createStringObject") };

	(void)state;
	assert_int_equal(HIDDEN(cxx), 2);
	assert_int_equal(HIDDEN(rb), 3);
	assert_int_equal(HIDDEN(gc), 3);
	assert_int_equal(HIDDEN(start), 1);
	assert_int_equal(HIDDEN(redis), 3);
	assert_int_equal(HIDDEN(glibc), 4);
	assert_int_equal(HIDDEN(je), 4); /* Redis's zmalloc is its allocator layer */
	assert_int_equal(HIDDEN(py), 3);
	assert_int_equal(HIDDEN(plain), 0);
	assert_int_equal(HIDDEN(mixed), 0);
	assert_int_equal(HIDDEN(all), 1); /* the outermost frame stays */
	assert_int_equal(HIDDEN(none), 0);
	assert_int_equal(HIDDEN(cpython), 6);
	assert_int_equal(HIDDEN(arena_stack), 2);
	assert_int_equal(HIDDEN(unnamed), 0); /* nothing named to start at: all shown */
	assert_int_equal(cs_sym_alloc_frames(NULL, 0), 0);
}

/* ---- through the model: folded stacks with real names ------------------------------------ */

static void stack(int fd, uint32_t id, uint64_t inner, uint64_t outer)
{
	uint64_t ra[2] = { inner, outer };

	tu_stack(fd, id, ra, 2);
}

static void write_child(const char *dir, uint32_t pid);

/* Root 100 (main program with build-id bid, libc) and children 101.. that write pages 0-6. */
static void write_run(const char *dir, const uint8_t *bid, uint16_t bidlen, unsigned nchildren)
{
	modinfo_t mi = module_of(NULL), libc = module_of("libc.so");
	uint64_t ra[4];
	cs_alloc_ev_t a[7];
	int fd = tu_open(dir, "100.0.cst", CS_FILE_PROCESS, 100, 0);

	fn_outer(ra);
	tu_proc_exe(fd, 100, 1, CS_ROLE_ROOT, "prog", exe);
	tu_sampling(fd, 1, 64);
	tu_module(fd, mi.base, mi.segs, mi.nsegs, bid, bidlen, "");
	tu_module(fd, libc.base, libc.segs, libc.nsegs, libc.bid, libc.bidlen, libc.path);
	stack(fd, 1, ra[0], ra[1]);
	stack(fd, 2, ra[2], ra[3]);
	stack(fd, 3, (uint64_t)(uintptr_t)&abort + 5, fn_gamma());
	for (uint32_t i = 0; i < 6; i++) /* site 1: pages 0-1, site 2: 2-4, site 3: 5 */
		a[i] = tu_alloc_ev(1 + i, (HP + i) * TU_PAGE, TU_PAGE, TU_PAGE,
				   i < 2           ? 1
					   : i < 5 ? 2
						   : 3,
				   CS_ALLOC_MALLOC);
	a[6] = tu_alloc_ev(7, (HP + 8) * TU_PAGE, TU_PAGE, TU_PAGE, 1, CS_ALLOC_MALLOC);
	tu_allocs(fd, a, 7);
	for (unsigned i = 1; i <= nchildren; i++)
		tu_fork(fd, 100 + i, i, MS);
	close(fd);
	for (unsigned i = 1; i <= nchildren; i++)
		write_child(dir, 100 + i);
}

static void write_child(const char *dir, uint32_t pid)
{
	cs_run_t all = { HP, 16 }, wr = { HP, 7 };
	char name[32];
	int fd;

	snprintf(name, sizeof(name), "%u.0.cst", pid);
	fd = tu_open(dir, name, CS_FILE_PROCESS, pid, 0);
	tu_proc_exe(fd, pid, 100, CS_ROLE_CHILD, "prog", exe);
	tu_backend(fd, CS_BACKEND_UFFD_WP, "");
	tu_fork_point(fd, 100, 100);
	tu_snap_begin(fd, 0, CS_SNAP_FORK, CS_BACKEND_UFFD_WP, MS, 0);
	tu_mapping(fd, 0, HP * TU_PAGE, (HP + 16) * TU_PAGE, CS_MAP_HEAP, CS_MAPF_ARMED, "[heap]");
	tu_pages(fd, 0, CS_SET_PRESENT, &all, 1);
	tu_snap_end(fd, 0);
	tu_snap_begin(fd, 1, CS_SNAP_EXIT, CS_BACKEND_UFFD_WP, 2 * MS, 0);
	tu_mapping(fd, 1, HP * TU_PAGE, (HP + 16) * TU_PAGE, CS_MAP_HEAP, CS_MAPF_ARMED, "[heap]");
	tu_pages(fd, 1, CS_SET_PRESENT, &all, 1);
	tu_pages(fd, 1, CS_SET_WRITTEN, &wr, 1);
	tu_snap_end(fd, 1);
	tu_end(fd, CS_END_EXIT, 0, 3 * MS);
	close(fd);
}

static char *render_dir(const char *dir,
			int (*fn)(FILE *, const cs_model_t *, const cs_render_opts_t *))
{
	cs_render_opts_t o = { .top = 5 };
	cs_diag_t d = { "" };
	cs_model_t m;
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_int_equal(cs_model_load(&m, dir, &d), 0);
	assert_int_equal(fn(f, &m, &o), 0);
	fclose(f);
	cs_model_free(&m);
	if (getenv("CS_TEST_DUMP"))
		fputs(buf, stderr);
	return buf;
}

static void test_folded_with_symbols(void **state)
{
	modinfo_t mi = module_of(NULL);
	char *dir = tu_mkdtemp(), *doc;

	(void)state;
	if (!cs_sym_have_dwarf())
		skip();
	write_run(dir, mi.bid, mi.bidlen, 1);
	doc = render_dir(dir, cs_render_folded);
	assert_string_equal(doc,
			    "[allocator free space and metadata] 1\n"
			    "fn_gamma;abort 1\n"
			    "fn_outer;fn_alpha 2\n"
			    "fn_outer;fn_beta 3\n");
	free(doc);
	doc = render_dir(dir, cs_render_text);
	assert_non_null(strstr(doc, "  fn_beta test_symbolize.c:"));
	free(doc);
	tu_rmtree(dir);
	free(dir);
}

/* Siblings share named stacks; each still gets the note about unusable symbols. */
static void test_siblings_share_names_and_notes(void **state)
{
	char *dir = tu_mkdtemp();
	uint8_t other[20];
	cs_diag_t d = { "" };
	cs_model_t m;
	const cs_proc_t *a, *b;

	(void)state;
	if (!cs_sym_have_dwarf())
		skip();
	memset(other, 0xab, sizeof(other));
	write_run(dir, other, sizeof(other), 2);
	assert_int_equal(cs_model_load(&m, dir, &d), 0);
	a = &m.procs[cs_model_find(&m, 101, 0)];
	b = &m.procs[cs_model_find(&m, 102, 0)];
	assert_int_equal(a->nsites, b->nsites);
	for (size_t i = 0; i < a->nsites; i++)
		assert_ptr_equal(a->sites[i].frames, b->sites[i].frames);
	assert_int_equal(a->nnotes, 1);
	assert_int_equal(b->nnotes, 1);
	assert_string_equal(cs_note_code_name(b->notes[0].code), "symbols");
	assert_non_null(strstr(b->notes[0].text, "symbols unavailable"));
	cs_model_free(&m);
	tu_rmtree(dir);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_own_function_and_line, setup, teardown),
		cmocka_unit_test_setup_teardown(test_inlined_frames, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stripped_module, setup, teardown),
		cmocka_unit_test_setup_teardown(test_build_id_mismatch, setup, teardown),
		cmocka_unit_test_setup_teardown(test_missing_file_and_no_module, setup, teardown),
		cmocka_unit_test_setup_teardown(test_forged_module_without_matching_build_id, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_forged_module_symlink_refused, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_forged_module_fifo_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_folded_with_symbols, setup, teardown),
		cmocka_unit_test(test_allocator_frames),
		cmocka_unit_test_setup_teardown(test_siblings_share_names_and_notes, setup,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
