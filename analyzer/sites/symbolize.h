/* SPDX-License-Identifier: MIT */
/* Symbolizing return addresses with elfutils libdw: function, file:line, inlined frames. */
#ifndef CS_SYMBOLIZE_H
#define CS_SYMBOLIZE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "allocs.h"
#include "arena.h"

typedef struct cs_symbolizer cs_symbolizer_t;

/* Whether this build reads debug info (libdw); without it every frame is module+offset. */
bool cs_sym_have_dwarf(void);

/*
 * A symbolizer for the address space that mods (MODULE records, in record
 * order: a later record at the same path and base replaces an earlier one)
 * describe; the module with path "" (or exe's own path) is the main
 * program, read from exe.
 * Nothing is opened yet: each object is reported to libdwfl (offline, at its
 * base, checked to be a regular file) the first time an address falls in it.
 * Frames and strings it returns live in arena. mods and exe must outlive it.
 * Returns 0 or -ENOMEM.
 */
int cs_sym_open(cs_symbolizer_t **out, const cs_module_t *mods, size_t nmods, const char *exe,
		cs_arena_t *arena);

/*
 * The frames of return address ra (looked up at pc = ra - 1), innermost
 * first: inlined frames (inlined = true; function from the inlined
 * subroutine, file:line where the next one was inlined into it) then the
 * function itself. Without symbols, or when the object on disk is not the one
 * traced (build-ids differ), one frame module+offset (function, file, line
 * unknown). *note says why the object's symbols are not used (in arena), or
 * is NULL. Results are cached per address. Returns 0 or -ENOMEM. Cost: first use of an object opens and indexes it; then a
 * cached lookup.
 */
int cs_sym_addr(cs_symbolizer_t *s, uint64_t ra, const cs_frame_t **frames, size_t *n,
		const char **note);

/*
 * How many of frames f[0..n) (innermost first) lie inside an allocator and
 * are hidden from the site they start: the leading run of allocator frames,
 * where a frame is an allocator's when its module is one (libjemalloc*,
 * libtcmalloc*, libmimalloc*, the shim's libcowscope*) or its function is a
 * known allocator function (glibc's malloc, _int_malloc, tcache_*, ...;
 * CPython's PyObject_Malloc, PyMem_*, pymalloc_*, new_arena, ...; je_*,
 * tc_malloc & co, mi_malloc & co of statically linked allocators), and frames of one module
 * that lead up to such a function of that module are the allocator's too
 * (a stripped python3.11's unnamed pymalloc frames before PyObject_Malloc,
 * which .dynsym names). Never all of them: the outermost frame stays.
 * O(n) string compares.
 */
size_t cs_sym_alloc_frames(const cs_frame_t *f, size_t n);

/* Whether s describes this module list and main program (so it can be shared). */
bool cs_sym_matches(const cs_symbolizer_t *s, const cs_module_t *mods, size_t nmods,
		    const char *exe);

/* Close s (NULL is fine). */
void cs_sym_close(cs_symbolizer_t *s);

#endif
