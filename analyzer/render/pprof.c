/* SPDX-License-Identifier: MIT */
/* `report --format pprof`: the children's copied pages by allocation site (or writer) as a profile. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "pprof_tab.h"
#include "render.h"
#include "story.h"
#include "vec.h"

/* The sample types' columns, in order; CHANGED only with changed words (m->has_diff). */
enum { V_COPIED, V_UNSHARED, V_PUNSHARED, V_CHANGED };

typedef struct pctx {
	cs_pprof_t pp;
	const cs_model_t *m;
	size_t pi;               /* the process whose samples are being added */
	const cs_module_t *mods; /* the objects of its address space (from the nearest image */
	size_t nmods;            /* up its tree that recorded them, as sites.c symbolizes) */
	const char *exe;         /* that image's executable */
	cs_pp_line_t lines[CS_PP_MAX_LINES];
} pctx_t;

static const char *base_name(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash ? slash + 1 : path;
}

/* The modules of process i's address space: its own, else its nearest ancestor's. */
static void modules_of(pctx_t *c, size_t i)
{
	long k = (long)i;

	while (k >= 0 && !c->m->procs[k].alloc.nmods)
		k = c->m->procs[k].parent;
	c->mods = k >= 0 ? c->m->procs[k].alloc.mods : NULL;
	c->nmods = k >= 0 ? c->m->procs[k].alloc.nmods : 0;
	c->exe = k >= 0 ? c->m->procs[k].exe : NULL;
}

static bool holds(const cs_module_t *mod, uint64_t pc)
{
	for (uint32_t s = 0; s < mod->nsegs; s++)
		if (pc >= mod->segs[s].start && pc < mod->segs[s].end)
			return true;
	return false;
}

/* The module a frame names that holds its pc (the latest record, as the symbolizer), or NULL. */
static const cs_module_t *module_of(const pctx_t *c, const cs_frame_t *f)
{
	for (size_t k = c->nmods; f->module && k-- > 0;) {
		const cs_module_t *mod = &c->mods[k];
		bool main = !*mod->path || (c->exe && !strcmp(mod->path, c->exe));
		bool named = f->main_program ? main
					     : !main && !strcmp(base_name(mod->path), f->module);

		if (named && holds(mod, mod->base + f->offset))
			return mod;
	}
	return NULL;
}

/* The mapping of a module: its segments' span, path and build-id (hex). 0 or -ENOMEM. */
static int mapping_of(pctx_t *c, const cs_module_t *mod, const cs_pp_map_t *flags, uint64_t *id)
{
	cs_pp_map_t mp = *flags;
	char hex[2 * 64 + 1] = "";
	int err;

	mp.start = UINT64_MAX;
	for (uint32_t s = 0; s < mod->nsegs; s++) {
		if (mod->segs[s].start < mp.start) {
			mp.start = mod->segs[s].start;
			mp.file_offset = mod->segs[s].file_offset;
		}
		mp.limit = mod->segs[s].end > mp.limit ? mod->segs[s].end : mp.limit;
	}
	for (size_t i = 0; i < mod->build_id_len && i < 64; i++)
		snprintf(hex + 2 * i, 3, "%02x", mod->build_id[i]);
	err = cs_pprof_str(&c->pp,
			   *mod->path       ? mod->path
				   : c->exe ? c->exe
					    : "[main program]",
			   &mp.filename);
	err = err ? err : cs_pprof_str(&c->pp, hex, &mp.build_id);
	return err ? err : cs_pprof_map(&c->pp, &mp, id);
}

/*
 * The location of frames f[0..n) (n >= 1: a pc and the functions inlined at it, innermost
 * first): a line per frame with a function or file, none without symbols; its module's
 * mapping, none outside every module. 0 or -ENOMEM.
 */
static int frame_loc(pctx_t *c, const cs_frame_t *f, size_t n, uint64_t *id)
{
	const cs_frame_t *outer = &f[n - 1];
	const cs_module_t *mod = module_of(c, outer);
	cs_pp_map_t flags = { .has_inline_frames = n > 1 };
	uint64_t map = 0, pc = mod ? mod->base + outer->offset : outer->offset;
	size_t nl = 0;
	int err = 0;

	for (size_t i = 0; i < n && nl < CS_PP_MAX_LINES && !err; i++) {
		if (!f[i].function && !f[i].file)
			continue;
		err = cs_pprof_func(&c->pp, f[i].function ? f[i].function : "", f[i].file,
				    &c->lines[nl].function_id);
		c->lines[nl++].line = f[i].line > 0 ? f[i].line : 0;
		flags.has_functions |= f[i].function != NULL;
		flags.has_filenames |= f[i].file != NULL;
		flags.has_line_numbers |= f[i].line > 0;
	}
	if (!err && mod)
		err = mapping_of(c, mod, &flags, &map);
	return err ? err : cs_pprof_loc(&c->pp, map, pc, c->lines, nl, id);
}

/* A bucket's pseudo-location: no address, one line, a function named "[bucket]". */
static int bucket_loc(pctx_t *c, const char *bucket, uint64_t *id)
{
	char name[256];

	snprintf(name, sizeof(name), "[%s]", bucket);
	c->lines[0].line = 0;
	if (cs_pprof_func(&c->pp, name, NULL, &c->lines[0].function_id))
		return -ENOMEM;
	return cs_pprof_loc(&c->pp, 0, 0, c->lines, 1, id);
}

/* Append a location id to the sample being built. 0 or -ENOMEM. */
static int push_loc(pctx_t *c, uint64_t id)
{
	if (CS_VEC_GROW(c->pp.locids, c->pp.nlocids, c->pp.caplocids))
		return -ENOMEM;
	c->pp.locids[c->pp.nlocids++] = id;
	return 0;
}

/* The locations of a stack (frames innermost first, or a bucket) for the sample being built. */
static int stack_locs(pctx_t *c, const cs_frame_t *f, size_t nframes, const char *bucket)
{
	uint64_t id;
	size_t j;
	int err = 0;

	if (bucket)
		return bucket_loc(c, bucket, &id) ? -ENOMEM : push_loc(c, id);
	for (size_t i = 0; i < nframes && !err; i = j) {
		for (j = i; j + 1 < nframes && f[j].inlined; j++)
			;
		j++; /* f[i..j): a pc with the functions inlined into its outermost frame */
		err = frame_loc(c, &f[i], j - i, &id);
		err = err ? err : push_loc(c, id);
	}
	return err;
}

/* A label of the sample being built: key with string value s, or number num when s is NULL. */
static int label(pctx_t *c, const char *key, const char *s, int64_t num)
{
	cs_pp_label_t l = { .num = s ? 0 : num };
	int err = cs_pprof_str(&c->pp, key, &l.key);

	if (!err && s)
		err = cs_pprof_str(&c->pp, s, &l.str);
	if (!err && CS_VEC_GROW(c->pp.labels, c->pp.nlabels, c->pp.caplabels))
		err = -ENOMEM;
	if (!err)
		c->pp.labels[c->pp.nlabels++] = l;
	return err;
}

/* The process's labels: pid, role and program (the story's), and phase when the run has them. */
static int proc_labels(pctx_t *c)
{
	const cs_proc_t *p = &c->m->procs[c->pi];
	const cs_pstory_t *ps = c->m->story ? &c->m->story->p[c->pi] : NULL;
	int err = label(c, "pid", NULL, p->pid);

	if (!err && ps)
		err = label(c, "role", ps->label, 0);
	if (!err && ps)
		err = label(c, "program", ps->program, 0);
	if (!err && c->m->v12 && p->phase < c->m->nphases)
		err = label(c, "phase", c->m->phases[p->phase], 0);
	return err;
}

/* Pages (or bytes) as a sample value: rounded to a whole number, NaN as 0. */
static int64_t whole(double v)
{
	return v == v ? (int64_t)llround(v) : 0;
}

static bool nonzero(const int64_t *v)
{
	for (size_t k = 0; k < CS_PP_MAX_VALUES; k++)
		if (v[k])
			return true;
	return false;
}

/* End sample s (its locations pushed since it began): the process's labels, values v. */
static int sample_end(pctx_t *c, cs_pp_sample_t *s, const int64_t *v)
{
	int err = proc_labels(c);

	if (!err && CS_VEC_GROW(c->pp.samples, c->pp.nsamples, c->pp.capsamples))
		err = -ENOMEM;
	if (err)
		return err;
	s->nlocs = c->pp.nlocids - s->first_loc;
	s->nlabels = c->pp.nlabels - s->first_label;
	memcpy(s->value, v, sizeof(s->value));
	c->pp.samples[c->pp.nsamples++] = *s;
	return 0;
}

/* A sample of the current process: its stack, values v and labels. Nothing when v is all 0. */
static int sample(pctx_t *c, const cs_frame_t *f, size_t nframes, const char *bucket,
		  const int64_t *v)
{
	cs_pp_sample_t s = { .first_loc = c->pp.nlocids, .first_label = c->pp.nlabels };
	int err;

	if (!nonzero(v))
		return 0;
	err = stack_locs(c, f, nframes, bucket);
	return err ? err : sample_end(c, &s, v);
}

/* One sample per site of the current process (changed bytes only with changed words). */
static int site_samples(pctx_t *c, bool changed)
{
	const cs_proc_t *p = &c->m->procs[c->pi];
	int err = 0;

	for (size_t i = 0; i < p->nsites && !err; i++) {
		const cs_site_t *s = &p->sites[i];
		int64_t v[CS_PP_MAX_VALUES] = { whole(s->child_copied), whole(s->unshared),
						whole(s->parent_unshared),
						changed ? whole(s->changed_bytes) : 0 };

		err = sample(c, s->frames, s->nframes, s->bucket, v);
	}
	return err;
}

/* One sample per writer of the current process (--by writer): its copied pages. */
static int writer_samples(pctx_t *c)
{
	const cs_proc_t *p = &c->m->procs[c->pi];
	int err = 0;

	for (size_t i = 0; i < p->nwriters && !err; i++) {
		const cs_wstack_t *w = &p->writers[i];
		int64_t v[CS_PP_MAX_VALUES] = { whole(w->child_copied) };

		err = sample(c, w->frames, w->nframes, w->bucket, v);
	}
	return err;
}

/*
 * A label frame's location ("/srv/app.py:5": function "/srv/app.py:5", file "/srv/app.py",
 * line 5; "dict": function "dict"), n bytes at s. 0 or -ENOMEM.
 */
static int label_loc(pctx_t *c, const char *s, size_t n, uint64_t *id)
{
	char name[512], file[512];
	const char *colon;
	char *end;
	long line = 0;

	snprintf(name, sizeof(name), "%.*s", (int)n, s);
	colon = strrchr(name, ':');
	if (colon && colon[1])
		line = strtol(colon + 1, &end, 10);
	if (line > 0 && !*end)
		snprintf(file, sizeof(file), "%.*s", (int)(colon - name), name);
	else
		line = 0;
	c->lines[0].line = line;
	if (cs_pprof_func(&c->pp, name, line ? file : NULL, &c->lines[0].function_id))
		return -ENOMEM;
	return cs_pprof_loc(&c->pp, 0, 0, c->lines, 1, id);
}

/* A label's locations, innermost first: its ';'-joined frames (outermost first) reversed. */
static int label_locs(pctx_t *c, const char *label)
{
	const char *e = label + strlen(label);
	uint64_t id;
	int err = 0;

	while (!err) {
		const char *b = e;

		while (b > label && b[-1] != ';')
			b--;
		err = label_loc(c, b, (size_t)(e - b), &id);
		err = err ? err : push_loc(c, id);
		if (b == label)
			break;
		e = b - 1;
	}
	return err;
}

/* One sample per label of the current process's table of kind (--by label:KIND). */
static int label_samples(pctx_t *c, const char *kind)
{
	const cs_proc_t *p = &c->m->procs[c->pi];
	const cs_ltab_t *t = cs_ltabs_find(p->labels.tabs, p->labels.ntabs, kind);
	int err = 0;

	for (size_t k = 0; t && k <= t->nrows && !err; k++) {
		const cs_lrow_t *r = k < t->nrows ? &t->rows[k] : &t->rest;
		int64_t v[CS_PP_MAX_VALUES] = { t->split ? whole(r->v[CS_LCOL_CC]) : 0,
						whole(r->v[CS_LCOL_UN]),
						t->split ? whole(r->v[CS_LCOL_PU]) : 0 };
		cs_pp_sample_t s = { .first_loc = c->pp.nlocids, .first_label = c->pp.nlabels };
		uint64_t id;

		if (!nonzero(v))
			continue;
		err = k < t->nrows                           ? label_locs(c, r->label)
			: bucket_loc(c, "not labelled", &id) ? -ENOMEM
							     : push_loc(c, id);
		err = err ? err : sample_end(c, &s, v);
	}
	return err;
}

/* The sample types: by writer copied only; else copied, unshared, parent-unshared (, changed). */
static void types_of(const cs_model_t *m, bool by_writer, cs_pp_types_t *t)
{
	static const char *const names[] = { "copied", "unshared", "parent_unshared", "changed" };

	*t = (cs_pp_types_t){ .n = by_writer ? 1 : m->has_diff ? 4 : 3 };
	for (size_t k = 0; k < t->n; k++) {
		t->type[k] = names[k];
		t->unit[k] = k == V_CHANGED ? "bytes" : "pages";
	}
	if (!by_writer && m->story && m->story->dominant == CS_SORT_PUNSHARED)
		t->dflt = V_PUNSHARED;
}

int cs_render_pprof(FILE *f, const cs_model_t *m, const cs_render_opts_t *o)
{
	bool by_writer = o && o->by == CS_BY_WRITER, by_label = o && o->by == CS_BY_LABEL;
	pctx_t *c = calloc(1, sizeof(*c));
	cs_pp_types_t t;
	int err = c ? cs_pprof_init(&c->pp) : -ENOMEM;

	types_of(m, by_writer, &t);
	for (size_t i = 0; c && i < m->nprocs && !err; i++) {
		const cs_proc_t *p = &m->procs[i];

		if (by_label ? !p->labels.ntabs : by_writer ? !p->has_writers : !p->has_sites)
			continue;
		c->m = m;
		c->pi = i;
		modules_of(c, i);
		if (by_label)
			err = label_samples(c, o->label_kind ? o->label_kind : "");
		else
			err = by_writer ? writer_samples(c) : site_samples(c, m->has_diff);
	}
	if (!err)
		err = cs_pprof_write(f, &c->pp, &t);
	if (c)
		cs_pprof_free(&c->pp);
	free(c);
	if (!err && ferror(f))
		err = -EIO;
	return err;
}
