/* SPDX-License-Identifier: MIT */
/* Symbolization on elfutils libdwfl, offline: objects reported at their traced load bias. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "model.h"
#include "symbolize.h"
#include "vec.h"
#ifdef CS_HAVE_DW
#include <dwarf.h>
#include <elfutils/libdwfl.h>
#include <gelf.h>
#endif

/* One object of the address space. */
typedef struct symmod {
	const cs_module_t *m;
	const char *path; /* the file to read */
	const char *name; /* its basename, for frames */
	bool main_prog;   /* the main program */
	bool tried;       /* reported (or found unusable) already */
	bool usable;      /* its symbols are read */
	const char *why;  /* why not (or why only partly), for the report's notes */
	bool partial;     /* usable but stripped: names from .dynsym only */
#ifdef CS_HAVE_DW
	Dwfl_Module *dm;
#endif
} symmod_t;

typedef struct centry {
	uint64_t ra;
	const cs_frame_t *f;
	size_t n;
	const char *note;
	bool used;
} centry_t;

struct cs_symbolizer {
	cs_arena_t *arena;
	const cs_module_t *mods;
	size_t nmods;
	const char *exe;
	symmod_t *sm; /* in record order, repeats dropped */
	size_t nsm;
	centry_t *tab; /* the cache: open addressing on ra */
	size_t cap, n;
	cs_frame_t *fr; /* frames being built (strings not yet in the arena) */
	size_t nfr, capfr;
#ifdef CS_HAVE_DW
	Dwfl *dwfl;
#endif
};

bool cs_sym_have_dwarf(void)
{
#ifdef CS_HAVE_DW
	return true;
#else
	return false;
#endif
}

static const char *base_name(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash ? slash + 1 : path;
}

/* Whether a later record names the same object at the same place. */
static bool replaced(const cs_module_t *mods, size_t n, size_t i)
{
	for (size_t k = i + 1; k < n; k++)
		if (mods[k].base == mods[i].base && !strcmp(mods[k].path, mods[i].path))
			return true;
	return false;
}

/* The main program is named "" (the format) or by the executable's own path. */
static int add_mod(cs_symbolizer_t *s, const cs_module_t *m)
{
	symmod_t *sm = &s->sm[s->nsm];
	const char *path = *m->path ? m->path : s->exe;

	*sm = (symmod_t){ .m = m,
			  .path = path,
			  .main_prog = !*m->path || (s->exe && !strcmp(m->path, s->exe)) };
	sm->name = cs_arena_strdup(s->arena, path ? base_name(path) : "[main program]");
	if (!sm->name)
		return -ENOMEM;
	s->nsm++;
	return 0;
}

int cs_sym_open(cs_symbolizer_t **out, const cs_module_t *mods, size_t nmods, const char *exe,
		cs_arena_t *arena)
{
	cs_symbolizer_t *s = calloc(1, sizeof(*s));
	int err = 0;

	*out = s;
	if (!s)
		return -ENOMEM;
	*s = (cs_symbolizer_t){ .arena = arena, .mods = mods, .nmods = nmods, .exe = exe };
	s->sm = calloc(nmods + 1, sizeof(*s->sm));
	if (!s->sm)
		return -ENOMEM;
	for (size_t i = 0; i < nmods && !err; i++)
		if (!replaced(mods, nmods, i))
			err = add_mod(s, &mods[i]);
	return err;
}

static bool same_str(const char *a, const char *b)
{
	return a == b || (a && b && !strcmp(a, b));
}

bool cs_sym_matches(const cs_symbolizer_t *s, const cs_module_t *mods, size_t nmods,
		    const char *exe)
{
	if (s->nmods != nmods || !same_str(s->exe, exe))
		return false;
	for (size_t i = 0; i < nmods; i++) {
		const cs_module_t *a = &s->mods[i], *b = &mods[i];

		if (a->base != b->base || strcmp(a->path, b->path) || a->nsegs != b->nsegs ||
		    a->build_id_len != b->build_id_len ||
		    memcmp(a->segs, b->segs, a->nsegs * sizeof(*a->segs)) ||
		    (a->build_id_len && memcmp(a->build_id, b->build_id, a->build_id_len)))
			return false;
	}
	return true;
}

/* The object holding pc: the latest record whose segments hold it. */
static symmod_t *find_mod(cs_symbolizer_t *s, uint64_t pc)
{
	for (size_t i = s->nsm; i-- > 0;) {
		const cs_module_t *m = s->sm[i].m;

		for (uint32_t k = 0; k < m->nsegs; k++)
			if (pc >= m->segs[k].start && pc < m->segs[k].end)
				return &s->sm[i];
	}
	return NULL;
}

/*
 * Record why the object's symbols are not used: "<name>: <what>". The name is
 * the trace's own (its basename), and `what` never depends on the file at the
 * traced path, so a note tells nothing about files the reader can see
 * (docs/security.md). 0 or -ENOMEM.
 */
static int why(cs_symbolizer_t *s, symmod_t *sm, const char *what)
{
	char buf[1024];

	snprintf(buf, sizeof(buf), "%s: %s", sm->name, what);
	sm->why = cs_arena_strdup(s->arena, buf);
	return sm->why ? 0 : -ENOMEM;
}

/* The one note for an object whose file is missing, unreadable, not regular or not the one traced. */
#define CS_SYM_UNAVAILABLE                                                                  \
	"symbols unavailable: no regular file with the traced build-id at the traced path " \
	"(frames shown as module+offset)"

static int push(cs_symbolizer_t *s, const cs_frame_t *f)
{
	if (CS_VEC_GROW(s->fr, s->nfr, s->capfr))
		return -ENOMEM;
	s->fr[s->nfr++] = *f;
	return 0;
}

#ifdef CS_HAVE_DW
static const Dwfl_Callbacks offline_callbacks = {
	.find_elf = dwfl_build_id_find_elf,
	.find_debuginfo = dwfl_standard_find_debuginfo,
	.section_address = dwfl_offline_section_address,
};

static bool build_id_differs(symmod_t *sm)
{
	const unsigned char *bits;
	GElf_Addr vaddr;
	Dwarf_Addr bias;
	int n;

	dwfl_module_getelf(sm->dm, &bias);
	n = dwfl_module_build_id(sm->dm, &bits, &vaddr);
	return n != sm->m->build_id_len || memcmp(bits, sm->m->build_id, (size_t)n);
}

/* Whether the object's own file has a .symtab section (all functions, static ones too). */
static bool has_symtab(Dwfl_Module *dm)
{
	Dwarf_Addr bias;
	Elf *elf = dwfl_module_getelf(dm, &bias);
	Elf_Scn *scn = NULL;
	GElf_Shdr sh;

	while (elf && (scn = elf_nextscn(elf, scn)))
		if (gelf_getshdr(scn, &sh) && sh.sh_type == SHT_SYMTAB)
			return true;
	return false;
}

/* Whether the object's symbol table (.dynsym here) names some function it defines. */
static bool exports_functions(Dwfl_Module *dm)
{
	int n = dwfl_module_getsymtab(dm);
	GElf_Sym sym;
	GElf_Word shndx;

	for (int i = 1; i < n; i++)
		if (dwfl_module_getsym(dm, i, &sym, &shndx) &&
		    GELF_ST_TYPE(sym.st_info) == STT_FUNC && sym.st_value)
			return true;
	return false;
}

/*
 * The note of a stripped object: no .symtab and no debug info found (neither
 * beside it, by .gnu_debuglink, nor under /usr/lib/debug/.build-id): its
 * frames have the names .dynsym exports, or none. Only said for the traced
 * object itself (the build-id matched), so it tells nothing about other files.
 * Given with the frames it left unnamed (frames_of). 0 or -ENOMEM.
 */
static int stripped_note(cs_symbolizer_t *s, symmod_t *sm)
{
	Dwarf_Addr bias;
	char what[512];

	if (has_symtab(sm->dm) || dwfl_module_getdwarf(sm->dm, &bias))
		return 0;
	sm->partial = exports_functions(sm->dm);
	snprintf(what, sizeof(what),
		 "%s (stripped: no .symtab or debug info found), %s as module+offset: install "
		 "the debug symbols package for %s (\u2026-dbgsym) or build with -g",
		 sm->partial ? "exported names only" : "no symbols",
		 sm->partial ? "other frames" : "frames", sm->name);
	return why(s, sm, what);
}

/*
 * Report the object (open descriptor fd, consumed) to libdwfl at its traced
 * load bias. add_p_vaddr = true makes base the bias (MODULE.base is
 * dlpi_addr), right even for an object whose first segment is not at address
 * 0 (libdwfl.h, dwfl_report_elf). Its symbols are used only if its build-id
 * is the traced one.
 */
static int report(cs_symbolizer_t *s, symmod_t *sm, int fd)
{
	if (!s->dwfl && !(s->dwfl = dwfl_begin(&offline_callbacks))) {
		close(fd);
		return why(s, sm, "symbols unavailable: cannot start libdwfl");
	}
	dwfl_report_begin_add(s->dwfl);
	sm->dm = dwfl_report_elf(s->dwfl, sm->path, sm->path, fd, sm->m->base, true);
	dwfl_report_end(s->dwfl, NULL, NULL);
	if (!sm->dm) {
		close(fd); /* consumed only on success */
		return why(s, sm, CS_SYM_UNAVAILABLE);
	}
	if (build_id_differs(sm))
		return why(s, sm, CS_SYM_UNAVAILABLE);
	sm->usable = true;
	return stripped_note(s, sm);
}
#endif

/*
 * Open the traced path as a crafted trace could name anything: no symlink as
 * the last component (O_NOFOLLOW), no blocking on a FIFO or device
 * (O_NONBLOCK), and a regular file as the open descriptor says (fstat, no
 * race with a rename). Directories above the last component may be symlinks
 * (/lib -> usr/lib): the build-id check decides. Returns the fd or -1.
 */
static int open_regular(const char *path)
{
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	struct stat st;

	if (fd < 0)
		return -1;
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		close(fd);
		return -1;
	}
	return fd;
}

/*
 * First address in an object: only an object traced with a build-id, read
 * from a regular file at the traced path whose build-id is that one, gives
 * symbols; whatever else happens leaves the same note (docs/security.md).
 */
static int open_mod(cs_symbolizer_t *s, symmod_t *sm)
{
	int fd;

	sm->tried = true;
	if (!cs_sym_have_dwarf())
		return 0;
	if (!sm->path)
		return why(s, sm, "symbols unavailable: the main program's path is unknown");
	if (!sm->m->build_id_len)
		return why(s, sm, "symbols unavailable: traced without a build-id");
	fd = open_regular(sm->path);
	if (fd < 0)
		return why(s, sm, CS_SYM_UNAVAILABLE);
#ifdef CS_HAVE_DW
	return report(s, sm, fd);
#else
	close(fd);
	return 0;
#endif
}

#ifdef CS_HAVE_DW
static const char *die_name(Dwarf_Die *die)
{
	Dwarf_Attribute at;

	return dwarf_formstring(dwarf_attr_integrate(die, DW_AT_name, &at));
}

/* Where an inlined subroutine was called from: DW_AT_call_file and DW_AT_call_line. */
static void call_site(Dwarf_Die *cu, Dwarf_Die *die, const char **file, int64_t *line)
{
	Dwarf_Attribute at;
	Dwarf_Files *files;
	Dwarf_Word v;
	size_t nfiles;

	*line = dwarf_formudata(dwarf_attr(die, DW_AT_call_line, &at), &v) == 0 ? (int64_t)v
										: CS_UNKNOWN;
	*file = NULL;
	if (dwarf_formudata(dwarf_attr(die, DW_AT_call_file, &at), &v) == 0 &&
	    dwarf_getsrcfiles(cu, &files, &nfiles) == 0 && v < nfiles)
		*file = dwarf_filesrc(files, v, NULL, NULL);
}

/*
 * The inlined frames at addr (CU-relative), innermost first; *file and *line
 * move out to each call site; *sub gets the enclosing subprogram's name.
 */
static int inlined_frames(cs_symbolizer_t *s, const cs_frame_t *at, Dwarf_Die *cu, Dwarf_Addr addr,
			  const char **file, int64_t *line, const char **sub)
{
	Dwarf_Die *scopes = NULL;
	int n = cu ? dwarf_getscopes(cu, addr, &scopes) : 0, err = 0;
	cs_frame_t f = *at;

	for (int i = 0; i < n && !err; i++) {
		int tag = dwarf_tag(&scopes[i]);

		if (tag == DW_TAG_subprogram) {
			*sub = die_name(&scopes[i]);
			break;
		}
		if (tag != DW_TAG_inlined_subroutine)
			continue;
		f.function = die_name(&scopes[i]);
		f.file = *file;
		f.line = *line;
		f.inlined = true;
		err = push(s, &f);
		call_site(cu, &scopes[i], file, line);
	}
	free(scopes);
	return err;
}

/* The frames of pc from the object's symbols and debug info; none if it has neither. */
static int dwarf_frames(cs_symbolizer_t *s, symmod_t *sm, uint64_t pc)
{
	cs_frame_t f = { .module = sm->name,
			 .line = CS_UNKNOWN,
			 .offset = pc - sm->m->base,
			 .main_program = sm->main_prog };
	const char *file = NULL, *sub = NULL;
	int64_t line = CS_UNKNOWN;
	Dwfl_Line *ln = dwfl_module_getsrc(sm->dm, pc);
	Dwarf_Addr bias = 0;
	Dwarf_Die *cu;
	GElf_Off off;
	GElf_Sym sym;
	int l, err;

	f.function = dwfl_module_addrinfo(sm->dm, pc, &off, &sym, NULL, NULL, NULL);
	if (ln && (file = dwfl_lineinfo(ln, NULL, &l, NULL, NULL, NULL)))
		line = l > 0 ? l : CS_UNKNOWN;
	if (!f.function && !file)
		return 0;
	cu = dwfl_module_addrdie(sm->dm, pc, &bias);
	err = inlined_frames(s, &f, cu, pc - bias, &file, &line, &sub);
	f.function = f.function ? f.function : sub;
	f.file = file;
	f.line = line;
	return err ? err : push(s, &f);
}
#endif

/* The frames of pc into s->fr: from debug info, else module+offset, else the bare pc. */
static int frames_of(cs_symbolizer_t *s, uint64_t pc, const char **note)
{
	symmod_t *sm = find_mod(s, pc);
	cs_frame_t f = { .line = CS_UNKNOWN, .offset = pc };
	int err = 0;

	s->nfr = 0;
	*note = NULL;
	if (sm && !sm->tried)
		err = open_mod(s, sm);
#ifdef CS_HAVE_DW
	if (!err && sm && sm->usable)
		err = dwarf_frames(s, sm, pc);
#endif
	if (err || s->nfr)
		return err;
	if (sm) {
		f.module = sm->name;
		f.offset = pc - sm->m->base;
		f.main_program = sm->main_prog;
		*note = sm->why;
	}
	return push(s, &f);
}

/* A function name without its symbol version ("memcpy@@GLIBC_2.14": no C name has '@'). */
static char *unversioned(cs_arena_t *a, const char *name)
{
	size_t n = name ? strcspn(name, "@") : 0;

	return name ? cs_arena_strndup(a, name, n ? n : strlen(name)) : NULL;
}

/* Copy s->fr and the strings it points to into the arena. */
static cs_frame_t *keep_frames(cs_symbolizer_t *s)
{
	cs_frame_t *v = cs_arena_alloc(s->arena, s->nfr * sizeof(*v));

	for (size_t i = 0; v && i < s->nfr; i++) {
		v[i] = s->fr[i];
		v[i].function = unversioned(s->arena, s->fr[i].function);
		v[i].file = cs_arena_strdup(s->arena, s->fr[i].file);
		if ((s->fr[i].function && !v[i].function) || (s->fr[i].file && !v[i].file))
			return NULL;
	}
	return v;
}

static size_t slot_of(const cs_symbolizer_t *s, uint64_t ra)
{
	uint64_t h = ra * 0x9e3779b97f4a7c15ull;

	return (size_t)(h ^ (h >> 31)) & (s->cap - 1);
}

static centry_t *lookup(cs_symbolizer_t *s, uint64_t ra)
{
	size_t i = slot_of(s, ra);

	while (s->tab[i].used && s->tab[i].ra != ra)
		i = (i + 1) & (s->cap - 1);
	return &s->tab[i];
}

static int grow(cs_symbolizer_t *s)
{
	centry_t *old = s->tab;
	size_t oldcap = s->cap;

	s->cap = oldcap ? oldcap * 2 : 256;
	s->tab = calloc(s->cap, sizeof(*s->tab));
	if (!s->tab) {
		s->tab = old;
		s->cap = oldcap;
		return -ENOMEM;
	}
	for (size_t i = 0; i < oldcap; i++)
		if (old[i].used)
			*lookup(s, old[i].ra) = old[i];
	free(old);
	return 0;
}

int cs_sym_addr(cs_symbolizer_t *s, uint64_t ra, const cs_frame_t **frames, size_t *n,
		const char **note)
{
	centry_t *e;
	int err;

	if ((s->n + 1) * 2 > s->cap && grow(s))
		return -ENOMEM;
	e = lookup(s, ra);
	if (!e->used) {
		err = frames_of(s, ra ? ra - 1 : 0, &e->note);
		if (!err && !(e->f = keep_frames(s)))
			err = -ENOMEM;
		if (err)
			return err;
		e->ra = ra;
		e->n = s->nfr;
		e->used = true;
		s->n++;
	}
	*frames = e->f;
	*n = e->n;
	*note = e->note;
	return 0;
}

/* ---- allocator frames ------------------------------------------------------------------ */

/* Modules that are allocators (or the shim), by the start of their file name. */
static const char *const alloc_modules[] = {
	"libjemalloc",
	"libtcmalloc",
	"libmimalloc",
	"libcowscope",
};

/* Allocator functions by name: glibc's malloc and its internals, CPython's allocators. */
static const char *const alloc_functions[] = {
	"malloc",
	"calloc",
	"realloc",
	"free",
	"reallocarray",
	"posix_memalign",
	"aligned_alloc",
	"memalign",
	"valloc",
	"pvalloc",
	"cfree",
	"malloc_usable_size",
	"sysmalloc",
	"systrim",
	"malloc_consolidate",
	"ptmalloc_init",
	"malloc_hook_ini",
	"_mid_memalign",
	"arena_get2",
	"arena_get_retry",
	"new_heap",
	"alloc_new_heap",
	"grow_heap",
	"munmap_chunk",
	"mremap_chunk",
	"__default_morecore",
	"__glibc_morecore",
	"PyObject_Malloc",
	"PyObject_Calloc",
	"PyObject_Realloc",
	"PyObject_Free",
	"new_arena",
	"allocate_from_new_pool",
	"_PyObject_GC_Alloc",
	"_PyObject_GC_Link",
	"gc_alloc",
	"operator new",
	"operator new[]",
};

/* ... and by the start of their name. */
static const char *const alloc_prefixes[] = {
	"_int_",
	"tcache_",
	"__libc_malloc",
	"__libc_calloc",
	"__libc_realloc",
	"__libc_free",
	"__libc_memalign",
	"__libc_valloc",
	"__libc_pvalloc",
	"__libc_alloc_buffer",
	"__libc_scratch_buffer",
	"__libc_dynarray",
	"_PyObject_Malloc",
	"_PyObject_Calloc",
	"_PyObject_Realloc",
	"_PyObject_Free",
	"_PyObject_Arena",
	"_PyObject_Virtual",
	"PyMem_",
	"_PyMem_",
	"pymalloc_",
	"je_",
	"tc_malloc",
	"tc_calloc",
	"tc_realloc",
	"tc_memalign",
	"tc_posix_memalign",
	"tc_valloc",
	"tc_pvalloc",
	"tc_new",
	"mi_malloc",
	"mi_calloc",
	"mi_realloc",
	"mi_zalloc",
	"mi_heap_",
	"mi_new",
	"_mi_",
	/* and the families the report's readers meet (docs/allocation-sites.md) */
	"malloc_",
	"__libc_",
	"tc_",
	"mi_",
	"_Znw", /* operator new (mangled) */
	"_Zna", /* operator new[] */
	"objspace_xmalloc",
	"objspace_xcalloc",
	"objspace_xrealloc",
	"ruby_xmalloc",
	"ruby_xcalloc",
	"ruby_xrealloc",
	"newobj_",
	"zmalloc", /* Redis's allocator layer: zmalloc, zmalloc_usable, ... */
	"ztrymalloc",
	"zcalloc",
	"ztrycalloc",
	"zrealloc",
	"ztryrealloc",
};

/* ... but not these, which start the program rather than allocate. */
static const char *const not_alloc_prefixes[] = {
	"__libc_start",
};

static bool starts_with(const char *s, const char *prefix)
{
	return !strncmp(s, prefix, strlen(prefix));
}

static bool in_list(const char *s, const char *const *v, size_t n, bool prefix)
{
	for (size_t i = 0; i < n; i++)
		if (prefix ? starts_with(s, v[i]) : !strcmp(s, v[i]))
			return true;
	return false;
}

#define NELEM(v) (sizeof(v) / sizeof((v)[0]))

static bool alloc_frame(const cs_frame_t *f)
{
	if (f->module && in_list(f->module, alloc_modules, NELEM(alloc_modules), true))
		return true;
	if (!f->function ||
	    in_list(f->function, not_alloc_prefixes, NELEM(not_alloc_prefixes), true))
		return false;
	return in_list(f->function, alloc_functions, NELEM(alloc_functions), false) ||
		in_list(f->function, alloc_prefixes, NELEM(alloc_prefixes), true);
}

static bool same_module(const cs_frame_t *a, const cs_frame_t *b)
{
	return a->module && b->module && !strcmp(a->module, b->module);
}

/* From f[i] (not an allocator's): past the allocator frame its module's run leads to, or i. */
static size_t run_to_allocator(const cs_frame_t *f, size_t n, size_t i)
{
	size_t j = i;

	while (j < n && same_module(&f[j], &f[i]) && !alloc_frame(&f[j]))
		j++;
	return j < n && same_module(&f[j], &f[i]) ? j + 1 : i;
}

/* CPython's interpreter or library: python3.11, libpython3.12.so.1.0, ... */
static bool cpython_module(const char *module)
{
	return module && (starts_with(module, "python3") || starts_with(module, "libpython3"));
}

/*
 * Unnamed CPython frames that lead the stack: in an interpreter stripped of
 * its static symbols (Debian's python3.11) pymalloc's arena code
 * (_PyObject_ArenaMmap, new_arena, pymalloc_alloc) has no name, and
 * PyObject_Malloc tail-calls into it, so no named allocator frame is ever on
 * the stack. They lead up to the first named frame; all of them unnamed: none.
 */
static size_t leading_cpython(const cs_frame_t *f, size_t n)
{
	size_t i = 0;

	while (i < n && !f[i].function && cpython_module(f[i].module))
		i++;
	return i < n ? i : 0;
}

size_t cs_sym_alloc_frames(const cs_frame_t *f, size_t n)
{
	size_t i = leading_cpython(f, n), past;

	while (i < n) {
		if (alloc_frame(&f[i])) {
			i++;
			continue;
		}
		past = run_to_allocator(f, n, i);
		if (past == i)
			break;
		i = past;
	}
	return i == n && n ? n - 1 : i;
}

void cs_sym_close(cs_symbolizer_t *s)
{
	if (!s)
		return;
#ifdef CS_HAVE_DW
	if (s->dwfl)
		dwfl_end(s->dwfl);
#endif
	free(s->sm);
	free(s->tab);
	free(s->fr);
	free(s);
}
