/* SPDX-License-Identifier: MIT */
/* The deduplicating tables of a pprof profile being built (pprof_tab.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "pprof_tab.h"
#include "vec.h"

static uint64_t fnv1a(const void *key, size_t len)
{
	const unsigned char *p = key;
	uint64_t h = 0xcbf29ce484222325ull;

	for (size_t i = 0; i < len; i++)
		h = (h ^ p[i]) * 0x100000001b3ull;
	return h;
}

static bool same_key(const char *k, const void *key, size_t len)
{
	size_t n;

	memcpy(&n, k, sizeof(n));
	return n == len && !memcmp(k + sizeof(n), key, len);
}

/* The slot of key in t (t->cap a power of two, never full): where it is or would go. */
static size_t slot(const cs_intern_t *t, const void *key, size_t len)
{
	size_t i = (size_t)fnv1a(key, len) & (t->cap - 1);

	while (t->keys[i] && !same_key(t->keys[i], key, len))
		i = (i + 1) & (t->cap - 1);
	return i;
}

/* Double the table (16 slots at first), keeping every key. 0 or -ENOMEM. */
static int grow(cs_intern_t *t)
{
	cs_intern_t g = { .cap = t->cap ? 2 * t->cap : 16, .n = t->n };
	size_t n;

	g.keys = calloc(g.cap, sizeof(*g.keys));
	g.ids = calloc(g.cap, sizeof(*g.ids));
	if (!g.keys || !g.ids) {
		free(g.keys);
		free(g.ids);
		return -ENOMEM;
	}
	for (size_t i = 0; i < t->cap; i++) {
		if (!t->keys[i])
			continue;
		memcpy(&n, t->keys[i], sizeof(n));
		size_t s = slot(&g, t->keys[i] + sizeof(n), n);
		g.keys[s] = t->keys[i];
		g.ids[s] = t->ids[i];
	}
	free(t->keys);
	free(t->ids);
	*t = g;
	return 0;
}

int cs_intern(cs_intern_t *t, const void *key, size_t len, uint64_t *id, bool *added)
{
	size_t s;
	char *k;

	*added = false;
	if (2 * (t->n + 1) > t->cap && grow(t))
		return -ENOMEM;
	s = slot(t, key, len);
	if (t->keys[s]) {
		*id = t->ids[s];
		return 0;
	}
	k = malloc(sizeof(len) + len + 1);
	if (!k)
		return -ENOMEM;
	memcpy(k, &len, sizeof(len));
	memcpy(k + sizeof(len), key, len);
	t->keys[s] = k;
	t->ids[s] = *id = ++t->n;
	*added = true;
	return 0;
}

void cs_intern_free(cs_intern_t *t)
{
	for (size_t i = 0; i < t->cap; i++)
		free(t->keys[i]);
	free(t->keys);
	free(t->ids);
	*t = (cs_intern_t){ 0 };
}

int cs_pprof_init(cs_pprof_t *pp)
{
	int64_t ix;

	*pp = (cs_pprof_t){ 0 };
	return cs_pprof_str(pp, "", &ix);
}

void cs_pprof_free(cs_pprof_t *pp)
{
	cs_intern_free(&pp->str_ix);
	cs_intern_free(&pp->func_ix);
	cs_intern_free(&pp->map_ix);
	cs_intern_free(&pp->loc_ix);
	for (size_t i = 0; i < pp->nstrs; i++)
		free(pp->strs[i]);
	free(pp->strs);
	free(pp->funcs);
	free(pp->maps);
	free(pp->locs);
	free(pp->lines);
	free(pp->samples);
	free(pp->locids);
	free(pp->labels);
	*pp = (cs_pprof_t){ 0 };
}

int cs_pprof_str(cs_pprof_t *pp, const char *s, int64_t *ix)
{
	size_t len = s ? strlen(s) : 0;
	uint64_t id;
	bool added;
	int err = cs_intern(&pp->str_ix, s ? s : "", len, &id, &added);

	if (err || !added) {
		*ix = (int64_t)id - 1;
		return err;
	}
	if (CS_VEC_GROW(pp->strs, pp->nstrs, pp->capstrs) ||
	    !(pp->strs[pp->nstrs] = strndup(s ? s : "", len)))
		return -ENOMEM; /* the table has the key: a later call fails too */
	*ix = (int64_t)pp->nstrs++;
	return 0;
}

int cs_pprof_func(cs_pprof_t *pp, const char *name, const char *file, uint64_t *id)
{
	cs_pp_func_t f;
	int64_t key[2];
	bool added;
	int err = cs_pprof_str(pp, name, &f.name);

	if (!err)
		err = cs_pprof_str(pp, file, &f.filename);
	f.system_name = f.name;
	key[0] = f.name;
	key[1] = f.filename;
	if (!err)
		err = cs_intern(&pp->func_ix, key, sizeof(key), id, &added);
	if (err || !added)
		return err;
	if (CS_VEC_GROW(pp->funcs, pp->nfuncs, pp->capfuncs))
		return -ENOMEM;
	pp->funcs[pp->nfuncs++] = f;
	return 0;
}

int cs_pprof_map(cs_pprof_t *pp, const cs_pp_map_t *m, uint64_t *id)
{
	int64_t key[3] = { m->filename, m->build_id, (int64_t)m->start };
	cs_pp_map_t *k;
	bool added;
	int err = cs_intern(&pp->map_ix, key, sizeof(key), id, &added);

	if (!err && added && CS_VEC_GROW(pp->maps, pp->nmaps, pp->capmaps))
		return -ENOMEM;
	if (err)
		return err;
	if (added)
		pp->maps[pp->nmaps++] = *m;
	k = &pp->maps[*id - 1];
	k->has_functions |= m->has_functions;
	k->has_filenames |= m->has_filenames;
	k->has_line_numbers |= m->has_line_numbers;
	k->has_inline_frames |= m->has_inline_frames;
	return 0;
}

int cs_pprof_loc(cs_pprof_t *pp, uint64_t mapping_id, uint64_t address, const cs_pp_line_t *v,
		 size_t n, uint64_t *id)
{
	uint64_t key[2 + 2 * CS_PP_MAX_LINES];
	size_t nk = 2;
	bool added;
	int err;

	n = n < CS_PP_MAX_LINES ? n : CS_PP_MAX_LINES;
	key[0] = mapping_id;
	key[1] = address;
	for (size_t i = 0; i < n; i++) {
		key[nk++] = v[i].function_id;
		key[nk++] = (uint64_t)v[i].line;
	}
	err = cs_intern(&pp->loc_ix, key, nk * sizeof(key[0]), id, &added);
	if (err || !added)
		return err;
	if (CS_VEC_GROW(pp->locs, pp->nlocs, pp->caplocs) ||
	    cs_vec_reserve((void **)&pp->lines, &pp->caplines, pp->nlines, n, sizeof(*v)))
		return -ENOMEM;
	if (n) /* a location without lines (no symbols): lines may still be NULL */
		memcpy(pp->lines + pp->nlines, v, n * sizeof(*v));
	pp->locs[pp->nlocs++] = (cs_pp_loc_t){ mapping_id, address, pp->nlines, n };
	pp->nlines += n;
	return 0;
}
