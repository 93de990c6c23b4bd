/* SPDX-License-Identifier: MIT */
/* The tables of a pprof profile being built: strings, functions, mappings, locations, samples. */
#ifndef CS_PPROF_TAB_H
#define CS_PPROF_TAB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Byte-string keys to 1-based ids: how strings, functions, mappings and locations dedupe. */
typedef struct cs_intern {
	char **keys; /* each: a size_t length, then the bytes */
	uint64_t *ids;
	size_t cap, n;
} cs_intern_t;

typedef struct cs_pp_func {
	int64_t name, system_name, filename; /* string indexes */
} cs_pp_func_t;

typedef struct cs_pp_map {
	uint64_t start, limit, file_offset;
	int64_t filename, build_id;
	bool has_functions, has_filenames, has_line_numbers, has_inline_frames;
} cs_pp_map_t;

typedef struct cs_pp_line {
	uint64_t function_id;
	int64_t line;
} cs_pp_line_t;

typedef struct cs_pp_loc {
	uint64_t mapping_id, address;
	size_t first_line, nlines; /* in cs_pprof_t.lines */
} cs_pp_loc_t;

typedef struct cs_pp_label {
	int64_t key, str, num; /* str 0: a numeric label */
} cs_pp_label_t;

#define CS_PP_MAX_VALUES 4
#define CS_PP_MAX_LINES 64 /* lines of one location (a pc and the functions inlined at it) */

typedef struct cs_pp_sample {
	size_t first_loc, nlocs;     /* in cs_pprof_t.locids, innermost first */
	size_t first_label, nlabels; /* in cs_pprof_t.labels */
	int64_t value[CS_PP_MAX_VALUES];
} cs_pp_sample_t;

/* A profile being built: every table a vector, ids 1-based (strings 0-based, [0] ""). */
typedef struct cs_pprof {
	cs_intern_t str_ix, func_ix, map_ix, loc_ix;
	char **strs;
	size_t nstrs, capstrs;
	cs_pp_func_t *funcs;
	size_t nfuncs, capfuncs;
	cs_pp_map_t *maps;
	size_t nmaps, capmaps;
	cs_pp_loc_t *locs;
	size_t nlocs, caplocs;
	cs_pp_line_t *lines;
	size_t nlines, caplines;
	cs_pp_sample_t *samples;
	size_t nsamples, capsamples;
	uint64_t *locids;
	size_t nlocids, caplocids;
	cs_pp_label_t *labels;
	size_t nlabels, caplabels;
} cs_pprof_t;

/*
 * The id of key (len bytes) in t, adding it as id t->n + 1 when new (*added true).
 * Returns 0 or -ENOMEM. O(1) expected.
 */
int cs_intern(cs_intern_t *t, const void *key, size_t len, uint64_t *id, bool *added);

/* Free what t holds. */
void cs_intern_free(cs_intern_t *t);

/* Start a profile: the string table holds "" at index 0. Returns 0 or -ENOMEM. */
int cs_pprof_init(cs_pprof_t *pp);

/* Free what pp holds. */
void cs_pprof_free(cs_pprof_t *pp);

/* The string table index of s (NULL as ""), added when new. Returns 0 or -ENOMEM. */
int cs_pprof_str(cs_pprof_t *pp, const char *s, int64_t *ix);

/* The id of function (name, file), added when new. Returns 0 or -ENOMEM. */
int cs_pprof_func(cs_pprof_t *pp, const char *name, const char *file, uint64_t *id);

/*
 * The id of a mapping by (path, build-id, start), added as *m (strings already in the
 * table) when new; the has_* flags of a known one are or'ed with m's. 0 or -ENOMEM.
 */
int cs_pprof_map(cs_pprof_t *pp, const cs_pp_map_t *m, uint64_t *id);

/*
 * The id of a location: mapping_id, address and lines v[0..n) (innermost first, at most
 * CS_PP_MAX_LINES kept), added when new. Returns 0 or -ENOMEM.
 */
int cs_pprof_loc(cs_pprof_t *pp, uint64_t mapping_id, uint64_t address, const cs_pp_line_t *v,
		 size_t n, uint64_t *id);

/* A profile's sample types: figure names and units, and the default one (an index). */
typedef struct cs_pp_types {
	const char *type[CS_PP_MAX_VALUES];
	const char *unit[CS_PP_MAX_VALUES];
	size_t n;
	size_t dflt;
} cs_pp_types_t;

/*
 * Write pp as a gzip-compressed profile.proto (protobuf-c, zlib) to f with sample types t.
 * Returns 0, -ENOMEM, or -EIO if writing failed. Cost: the encoded profile is held in
 * memory once.
 */
int cs_pprof_write(FILE *f, cs_pprof_t *pp, const cs_pp_types_t *t);

#endif
