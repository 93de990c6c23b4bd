/* SPDX-License-Identifier: MIT */
/* A built pprof profile encoded with protobuf-c and written gzip-compressed with zlib. */
#include <errno.h>
#include <stdlib.h>
#include <zlib.h>
#include "pprof_tab.h"
#include "profile.pb-c.h"

typedef Perftools__Profiles__Profile pb_profile_t;

/* Every message of one profile, in arrays, and the pointer arrays protobuf-c wants. */
typedef struct msgs {
	Perftools__Profiles__ValueType vt[CS_PP_MAX_VALUES], *vtp[CS_PP_MAX_VALUES];
	Perftools__Profiles__Sample *s, **sp;
	Perftools__Profiles__Label *lab, **labp;
	Perftools__Profiles__Mapping *map, **mapp;
	Perftools__Profiles__Location *loc, **locp;
	Perftools__Profiles__Line *line, **linep;
	Perftools__Profiles__Function *fn, **fnp;
	int64_t *values;
} msgs_t;

static void msgs_free(msgs_t *g)
{
	void *v[] = { g->s,    g->sp,   g->lab,   g->labp, g->map, g->mapp,  g->loc,
		      g->locp, g->line, g->linep, g->fn,   g->fnp, g->values };

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++)
		free(v[i]);
}

/* n messages of size sz and n pointers (one spare each, so that 0 allocates). */
static int alloc2(void **arr, void **ptrs, size_t n, size_t sz)
{
	*arr = calloc(n + 1, sz);
	*ptrs = calloc(n + 1, sizeof(void *));
	return *arr && *ptrs ? 0 : -ENOMEM;
}

static int msgs_alloc(msgs_t *g, const cs_pprof_t *pp)
{
	int err = alloc2((void **)&g->s, (void **)&g->sp, pp->nsamples, sizeof(*g->s));

	err = err ? err : alloc2((void **)&g->lab, (void **)&g->labp, pp->nlabels, sizeof(*g->lab));
	err = err ? err : alloc2((void **)&g->map, (void **)&g->mapp, pp->nmaps, sizeof(*g->map));
	err = err ? err : alloc2((void **)&g->loc, (void **)&g->locp, pp->nlocs, sizeof(*g->loc));
	err = err ? err
		  : alloc2((void **)&g->line, (void **)&g->linep, pp->nlines, sizeof(*g->line));
	err = err ? err : alloc2((void **)&g->fn, (void **)&g->fnp, pp->nfuncs, sizeof(*g->fn));
	if (!err && !(g->values = calloc(pp->nsamples * CS_PP_MAX_VALUES + 1, sizeof(int64_t))))
		err = -ENOMEM;
	return err;
}

static void fill_tables(msgs_t *g, const cs_pprof_t *pp)
{
	for (size_t i = 0; i < pp->nlabels; i++) {
		perftools__profiles__label__init(g->labp[i] = &g->lab[i]);
		g->lab[i].key = pp->labels[i].key;
		g->lab[i].str = pp->labels[i].str;
		g->lab[i].num = pp->labels[i].num;
	}
	for (size_t i = 0; i < pp->nfuncs; i++) {
		perftools__profiles__function__init(g->fnp[i] = &g->fn[i]);
		g->fn[i].id = i + 1;
		g->fn[i].name = pp->funcs[i].name;
		g->fn[i].system_name = pp->funcs[i].system_name;
		g->fn[i].filename = pp->funcs[i].filename;
	}
	for (size_t i = 0; i < pp->nlines; i++) {
		perftools__profiles__line__init(g->linep[i] = &g->line[i]);
		g->line[i].function_id = pp->lines[i].function_id;
		g->line[i].line = pp->lines[i].line;
	}
}

static void fill_maps(msgs_t *g, const cs_pprof_t *pp)
{
	for (size_t i = 0; i < pp->nmaps; i++) {
		const cs_pp_map_t *m = &pp->maps[i];
		Perftools__Profiles__Mapping *o = &g->map[i];

		perftools__profiles__mapping__init(g->mapp[i] = o);
		o->id = i + 1;
		o->memory_start = m->start;
		o->memory_limit = m->limit;
		o->file_offset = m->file_offset;
		o->filename = m->filename;
		o->build_id = m->build_id;
		o->has_functions = m->has_functions;
		o->has_filenames = m->has_filenames;
		o->has_line_numbers = m->has_line_numbers;
		o->has_inline_frames = m->has_inline_frames;
	}
	for (size_t i = 0; i < pp->nlocs; i++) {
		perftools__profiles__location__init(g->locp[i] = &g->loc[i]);
		g->loc[i].id = i + 1;
		g->loc[i].mapping_id = pp->locs[i].mapping_id;
		g->loc[i].address = pp->locs[i].address;
		g->loc[i].n_line = pp->locs[i].nlines;
		g->loc[i].line = &g->linep[pp->locs[i].first_line];
	}
}

static void fill_samples(msgs_t *g, const cs_pprof_t *pp, size_t nvalues)
{
	for (size_t i = 0; i < pp->nsamples; i++) {
		const cs_pp_sample_t *s = &pp->samples[i];
		Perftools__Profiles__Sample *o = &g->s[i];

		perftools__profiles__sample__init(g->sp[i] = o);
		o->n_location_id = s->nlocs;
		o->location_id = &pp->locids[s->first_loc];
		o->n_value = nvalues;
		o->value = &g->values[i * CS_PP_MAX_VALUES];
		for (size_t k = 0; k < nvalues; k++)
			o->value[k] = s->value[k];
		o->n_label = s->nlabels;
		o->label = &g->labp[s->first_label];
	}
}

/* The sample types into g->vt and the profile. 0 or -ENOMEM (their names into the table). */
static int fill_types(msgs_t *g, cs_pprof_t *pp, const cs_pp_types_t *t, pb_profile_t *pr)
{
	int64_t ty = 0, unit = 0;
	int err = 0;

	for (size_t k = 0; k < t->n && !err; k++) {
		perftools__profiles__value_type__init(g->vtp[k] = &g->vt[k]);
		err = cs_pprof_str(pp, t->type[k], &ty);
		if (!err)
			err = cs_pprof_str(pp, t->unit[k], &unit);
		g->vt[k].type = ty;
		g->vt[k].unit = unit;
	}
	pr->n_sample_type = t->n;
	pr->sample_type = g->vtp;
	pr->default_sample_type = t->n ? g->vt[t->dflt].type : 0;
	return err;
}

/* buf (n bytes) gzip-compressed to f (windowBits 15 + 16: a gzip stream). 0, -ENOMEM, -EIO. */
static int gzip_to(FILE *f, const uint8_t *buf, size_t n)
{
	unsigned char out[16384];
	z_stream z = { 0 };
	int zr = Z_OK, err = 0;

	if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY))
		return -ENOMEM;
	z.next_in = (Bytef *)buf;
	z.avail_in = (uInt)n; /* profiles are far below 4 GiB: cs_pprof_write checks */
	while (zr != Z_STREAM_END && !err) {
		z.next_out = out;
		z.avail_out = sizeof(out);
		zr = deflate(&z, Z_FINISH);
		if (zr == Z_STREAM_ERROR)
			err = -ENOMEM;
		else if (fwrite(out, 1, sizeof(out) - z.avail_out, f) != sizeof(out) - z.avail_out)
			err = -EIO;
	}
	deflateEnd(&z);
	return err;
}

int cs_pprof_write(FILE *f, cs_pprof_t *pp, const cs_pp_types_t *t)
{
	pb_profile_t pr = PERFTOOLS__PROFILES__PROFILE__INIT;
	msgs_t g = { 0 };
	uint8_t *buf = NULL;
	size_t n = 0;
	int err = fill_types(&g, pp, t, &pr); /* first: the strings must all be in the table */

	err = err ? err : msgs_alloc(&g, pp);
	if (err)
		goto out;
	fill_tables(&g, pp);
	fill_maps(&g, pp);
	fill_samples(&g, pp, t->n);
	pr = (pb_profile_t){ .base = pr.base,
			     .n_sample_type = pr.n_sample_type,
			     .sample_type = pr.sample_type,
			     .default_sample_type = pr.default_sample_type,
			     .n_sample = pp->nsamples,
			     .sample = g.sp,
			     .n_mapping = pp->nmaps,
			     .mapping = g.mapp,
			     .n_location = pp->nlocs,
			     .location = g.locp,
			     .n_function = pp->nfuncs,
			     .function = g.fnp,
			     .n_string_table = pp->nstrs,
			     .string_table = pp->strs };
	n = perftools__profiles__profile__get_packed_size(&pr);
	if (n > UINT32_MAX || !(buf = malloc(n + 1))) {
		err = -ENOMEM;
		goto out;
	}
	perftools__profiles__profile__pack(&pr, buf);
	err = gzip_to(f, buf, n);
out:
	free(buf);
	msgs_free(&g);
	return err;
}
