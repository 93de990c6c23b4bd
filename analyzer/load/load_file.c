/* SPDX-License-Identifier: MIT */
/* Loading one trace file: the record table (handler, minimum size, version, file kinds). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "load_alloc.h"
#include "load_diff.h"
#include "load_writers.h"
#include "load_events.h"
#include "load_labels.h"
#include "load_file.h"
#include "loader.h"
#include "vec.h"

/* File kinds a record is meaningful in. */
#define IN_P (1u << CS_FILE_PROCESS)
#define IN_S (1u << CS_FILE_SAMPLES)
#define IN_R (1u << CS_FILE_RUN)

typedef cs_loader_t loader_t;

/* A string field copied to a NUL-terminated heap string (*len its length). */
static int take_str(loader_t *l, const cs_rec_t *r, cs_cur_t *c, char **out, size_t *len)
{
	cs_str_t s;
	char *p;

	if (cs_cur_str(c, &s))
		return cs_load_bad(l, r, "bad string length");
	p = malloc((size_t)s.len + 1);
	if (!p)
		return cs_load_nomem(l);
	memcpy(p, s.p, s.len);
	p[s.len] = 0;
	free(*out);
	*out = p;
	if (len)
		*len = s.len;
	return 0;
}

static bool page_size_ok(uint32_t ps)
{
	return ps >= 512 && ps <= (1u << 30) && !(ps & (ps - 1));
}

static int on_proc(loader_t *l, const cs_rec_t *r, const cs_fixed_t *f, cs_cur_t *c)
{
	const cs_rec_proc_t *rec = &f->proc;
	char *shim = NULL;
	int err;

	if (l->t->has_hdr && rec->pid != l->t->hdr.pid)
		return cs_load_bad(l, r, "process id differs from the file header's");
	if (rec->role > CS_ROLE_CHILD)
		return cs_load_bad(l, r, "bad process role");
	if (!page_size_ok(rec->page_size))
		return cs_load_bad(l, r, "bad page size");
	err = take_str(l, r, c, &l->p->cmdline, &l->p->cmdline_len);
	if (!err)
		err = take_str(l, r, c, &l->p->exe, NULL);
	if (!err)
		err = take_str(l, r, c, &shim, NULL);
	free(shim);
	if (err)
		return err;
	l->p->has_proc = true;
	l->p->ppid = rec->ppid;
	l->p->role = rec->role;
	l->p->fork_via = rec->fork_via;
	l->p->page_size = rec->page_size;
	l->p->start_ns = rec->start_ns;
	return 0;
}

/* One backend entry: fixed part then the reason, padded to 8. */
static int take_probe(loader_t *l, const cs_rec_t *r, cs_cur_t *c, cs_probed_t *out)
{
	cs_backend_entry_t e;
	const void *p;
	size_t padded;

	if (cs_cur_bytes(c, sizeof(e), &p))
		return cs_load_bad(l, r, "bad backend entry count");
	memcpy(&e, p, sizeof(e));
	padded = ((size_t)e.reason_len + 7) & ~(size_t)7;
	if (cs_cur_bytes(c, padded, &p))
		return cs_load_bad(l, r, "bad backend reason length");
	out->reason = strndup(p, e.reason_len);
	if (!out->reason)
		return cs_load_nomem(l);
	out->backend = e.backend;
	out->usable = e.usable;
	out->err = e.err;
	return 0;
}

static int on_backend(loader_t *l, const cs_rec_t *r, const cs_fixed_t *f, cs_cur_t *c)
{
	const cs_rec_backend_t *rec = &f->backend;
	int err;

	cs_probed_free(l->p);
	l->p->probed = calloc(rec->nentries ? rec->nentries : 1, sizeof(*l->p->probed));
	if (!l->p->probed)
		return cs_load_nomem(l);
	for (size_t i = 0; i < rec->nentries; i++) {
		err = take_probe(l, r, c, &l->p->probed[i]);
		if (err)
			return err;
		l->p->nprobed++;
	}
	l->p->has_backend = true;
	l->p->backend = rec->chosen;
	l->p->requested = rec->requested;
	return 0;
}

cs_snap_t *cs_load_open_snap(cs_loader_t *l, uint32_t seq)
{
	for (size_t i = l->p->nsnaps; i-- > 0;) {
		cs_snap_t *s = &l->p->snaps[i];

		if (s->open && s->seq == seq && s->from_samples == l->samples)
			return s;
	}
	return NULL;
}

static int on_snap_begin(loader_t *l, const cs_rec_t *r, const cs_fixed_t *f, cs_cur_t *c)
{
	const cs_rec_snap_t *rec = &f->snap;
	cs_snap_t *s = cs_load_open_snap(l, rec->seq);

	(void)r;
	(void)c;
	if (s)
		s->open = false; /* begun again: the first one was cut short */
	if (CS_VEC_GROW(l->p->snaps, l->p->nsnaps, l->p->capsnaps))
		return cs_load_nomem(l);
	s = &l->p->snaps[l->p->nsnaps++];
	*s = (cs_snap_t){ .seq = rec->seq,
			  .reason = rec->reason,
			  .backend = rec->backend,
			  .from_samples = l->samples,
			  .open = true,
			  .t_ns = rec->t_ns,
			  .minflt = rec->minflt,
			  .majflt = rec->majflt };
	return 0;
}

static int on_snap_end(loader_t *l, const cs_rec_t *r, const cs_fixed_t *f, cs_cur_t *c)
{
	const cs_rec_snap_end_t *rec = &f->snap_end;
	cs_snap_t *s = cs_load_open_snap(l, rec->seq);

	(void)r;
	(void)c;
	if (!s)
		return 0;
	s->open = false;
	s->complete = true;
	s->end_flags = rec->flags;
	s->cost_ns = rec->cost_ns;
	return 0;
}

static int on_mapping(loader_t *l, const cs_rec_t *r, const cs_fixed_t *f, cs_cur_t *c)
{
	const cs_rec_mapping_t *rec = &f->mapping;
	cs_mapping_t *m;
	cs_snap_t *s;
	char *name = NULL;
	int err = 0;

	if (rec->start > rec->end)
		err = cs_load_bad(l, r, "mapping ends before it starts");
	if (!err)
		err = take_str(l, r, c, &name, NULL);
	s = err ? NULL : cs_load_open_snap(l, rec->seq);
	if (!s)
		goto out;
	if (CS_VEC_GROW(s->maps, s->nmaps, s->capmaps)) {
		err = cs_load_nomem(l);
		goto out;
	}
	m = &s->maps[s->nmaps++];
	*m = (cs_mapping_t){ .start = rec->start,
			     .end = rec->end,
			     .offset = rec->offset,
			     .kind = rec->kind,
			     .prot = rec->prot,
			     .flags = rec->flags,
			     .name = name };
	name = NULL;
out:
	free(name);
	return err;
}

static int add_runs(loader_t *l, const cs_rec_t *r, cs_cur_t *c, cs_pageset_t *set)
{
	cs_run_t run;
	const void *p;

	while (cs_cur_left(c) >= sizeof(run)) {
		cs_cur_bytes(c, sizeof(run), &p);
		memcpy(&run, p, sizeof(run));
		if (run.npages > UINT64_MAX - run.first_page)
			return cs_load_bad(l, r, "page run overflows");
		if (cs_pageset_add(set, run.first_page, run.first_page + run.npages))
			return cs_load_nomem(l);
	}
	return 0;
}

static int on_pages(loader_t *l, const cs_rec_t *r, const cs_fixed_t *f, cs_cur_t *c)
{
	const cs_rec_pages_t *rec = &f->pages;
	cs_snap_t *s;

	if (cs_cur_left(c) % sizeof(cs_run_t))
		return cs_load_bad(l, r, "bad run count");
	s = cs_load_open_snap(l, rec->seq);
	if (!s || rec->set == 0 || rec->set >= CS_NSETS)
		return 0; /* cut-short snapshot, or a set from a newer minor */
	return add_runs(l, r, c, &s->sets[rec->set]);
}

static int on_pfns(loader_t *l, const cs_rec_t *r, const cs_fixed_t *f, cs_cur_t *c)
{
	const cs_rec_pfns_t *rec = &f->pfns;
	cs_pfnrun_t *run;
	const void *p;
	cs_snap_t *s;

	if (rec->count > cs_cur_left(c) / 8 || rec->first_page > UINT64_MAX - rec->count)
		return cs_load_bad(l, r, "bad frame number count");
	s = cs_load_open_snap(l, rec->seq);
	if (!s || rec->count == 0)
		return 0;
	cs_cur_bytes(c, (size_t)rec->count * 8, &p);
	if (CS_VEC_GROW(s->pfns, s->npfns, s->cappfns))
		return cs_load_nomem(l);
	run = &s->pfns[s->npfns];
	run->pfn = malloc((size_t)rec->count * 8);
	if (!run->pfn)
		return cs_load_nomem(l);
	memcpy(run->pfn, p, (size_t)rec->count * 8);
	run->first_page = rec->first_page;
	run->count = rec->count;
	s->npfns++;
	return 0;
}

static int on_fork(loader_t *l, const cs_rec_t *r, const cs_fixed_t *f, cs_cur_t *c)
{
	const cs_rec_fork_t *rec = &f->fork;

	(void)r;
	(void)c;
	if (CS_VEC_GROW(l->p->forks, l->p->nforks, l->p->capforks))
		return cs_load_nomem(l);
	l->p->forks[l->p->nforks++] = (cs_forked_t){
		.child_pid = rec->child_pid, .via = rec->via, .seq = rec->seq, .t_ns = rec->t_ns
	};
	return 0;
}

static int on_child_exit(loader_t *l, const cs_rec_t *r, const cs_fixed_t *f, cs_cur_t *c)
{
	const cs_rec_child_exit_t *rec = &f->child_exit;
	cs_reaped_t **arr = l->run ? &l->run->reaped : &l->p->reaped;
	size_t *n = l->run ? &l->run->nreaped : &l->p->nreaped;
	size_t *cap = l->run ? &l->run->capreaped : &l->p->capreaped;

	(void)r;
	(void)c;
	if (cs_vec_reserve((void **)arr, cap, *n, 1, sizeof(**arr)))
		return cs_load_nomem(l);
	(*arr)[(*n)++] = (cs_reaped_t){ .pid = rec->pid, .status = rec->status, .t_ns = rec->t_ns };
	return 0;
}

static int on_end(loader_t *l, const cs_rec_t *r, const cs_fixed_t *f, cs_cur_t *c)
{
	const cs_rec_end_t *rec = &f->end;

	(void)r;
	(void)c;
	l->p->has_end = true;
	l->p->end_how = rec->how <= CS_END_SIGNAL ? rec->how : CS_END_UNKNOWN;
	l->p->end_status = rec->status;
	l->p->end_ns = rec->t_ns;
	return 0;
}

static int on_resume(loader_t *l, const cs_rec_t *r, const cs_fixed_t *f, cs_cur_t *c)
{
	(void)r;
	(void)f;
	(void)c;
	l->p->has_end = false; /* the exec failed: the image went on */
	return 0;
}

static int on_counters(loader_t *l, const cs_rec_t *r, const cs_fixed_t *f, cs_cur_t *c)
{
	const cs_rec_counters_t *rec = &f->counters;
	const void *p;

	if (rec->count > cs_cur_left(c) / 8)
		return cs_load_bad(l, r, "bad counter count");
	l->p->ncounters = rec->count < CS_CNT__COUNT ? rec->count : CS_CNT__COUNT;
	cs_cur_bytes(c, (size_t)l->p->ncounters * 8, &p);
	memcpy(l->p->counters, p, (size_t)l->p->ncounters * 8);
	l->p->has_counters = true;
	return 0;
}

static int on_note(loader_t *l, const cs_rec_t *r, const cs_fixed_t *f, cs_cur_t *c)
{
	const cs_rec_note_t *rec = &f->note;
	cs_note_t *n;
	char *text = NULL;
	int err = take_str(l, r, c, &text, NULL);

	if (!err && CS_VEC_GROW(l->p->notes, l->p->nnotes, l->p->capnotes))
		err = cs_load_nomem(l);
	if (err) {
		free(text);
		return err;
	}
	n = &l->p->notes[l->p->nnotes++];
	*n = (cs_note_t){ .code = rec->code, .err = rec->err, .text = text };
	return 0;
}

static int on_shim_range(loader_t *l, const cs_rec_t *r, const cs_fixed_t *f, cs_cur_t *c)
{
	const cs_rec_shim_range_t *rec = &f->shim_range;

	(void)c;
	if (rec->start > rec->end)
		return cs_load_bad(l, r, "shim range ends before it starts");
	if (CS_VEC_GROW(l->p->shim, l->p->nshim, l->p->capshim))
		return cs_load_nomem(l);
	l->p->shim[l->p->nshim++] = (cs_brange_t){ rec->start, rec->end };
	return 0;
}

static int on_run(loader_t *l, const cs_rec_t *r, const cs_fixed_t *f, cs_cur_t *c)
{
	const cs_rec_run_t *rec = &f->run;
	int err = take_str(l, r, c, &l->run->cmdline, &l->run->cmdline_len);

	if (!err)
		err = take_str(l, r, c, &l->run->cwd, NULL);
	if (err)
		return err;
	l->run->has_run = true;
	l->run->start_ns = rec->start_ns;
	l->run->root_pid = rec->root_pid;
	l->run->interval_ms = rec->interval_ms;
	l->run->linger_ms = rec->linger_ms;
	l->run->backend = rec->backend;
	return 0;
}

static int on_run_end(loader_t *l, const cs_rec_t *r, const cs_fixed_t *f, cs_cur_t *c)
{
	const cs_rec_run_end_t *rec = &f->run_end;

	(void)r;
	(void)c;
	l->run->has_end = true;
	l->run->end_ns = rec->t_ns;
	l->run->root_status = rec->root_status;
	l->run->still_running = rec->still_running;
	l->run->samples = rec->samples;
	l->run->sample_ns = rec->sample_ns;
	return 0;
}

static int on_mark(loader_t *l, const cs_rec_t *r, const cs_fixed_t *f, cs_cur_t *c)
{
	const cs_rec_mark_t *rec = &f->mark;
	char *label = NULL;
	int err = take_str(l, r, c, &label, NULL);

	if (!err && CS_VEC_GROW(l->p->marks, l->p->nmarks, l->p->capmarks))
		err = cs_load_nomem(l);
	if (err) {
		free(label);
		return err;
	}
	l->p->marks[l->p->nmarks++] = (cs_mark_t){
		.t_ns = rec->t_ns, .seq = rec->seq, .snap_seq = rec->snap_seq, .label = label
	};
	return 0;
}

static int on_allocator(loader_t *l, const cs_rec_t *r, const cs_fixed_t *f, cs_cur_t *c)
{
	const cs_rec_allocator_t *rec = &f->allocator;
	int err = take_str(l, r, c, &l->p->allocator_name, NULL);

	if (!err)
		err = take_str(l, r, c, &l->p->allocator_path, NULL);
	if (err)
		return err;
	l->p->has_allocator = true;
	l->p->allocator_flags = rec->flags;
	return 0;
}

/*
 * The record table: per type, its handler, its minimum size (the fixed part,
 * header included: sizeof its struct in trace_format.h), the format minor
 * version it appeared in, and the file kinds it is read from (skipped in
 * others). ROW fails to compile if a struct is not in cs_fixed_t.
 */
typedef struct rec_row {
	cs_rec_fn fn;
	uint16_t min_bytes;
	uint8_t minor;
	uint8_t kinds;
} rec_row_t;

#define FITS(T) (0 * sizeof(char[sizeof(T) <= sizeof(cs_fixed_t) ? 1 : -1]))
#define ROW(type, fn, T, minor, kinds) [type] = { fn, sizeof(T) + FITS(T), minor, kinds }

static const rec_row_t rows[] = {
	ROW(CS_REC_PROC, on_proc, cs_rec_proc_t, 0, IN_P),
	ROW(CS_REC_BACKEND, on_backend, cs_rec_backend_t, 0, IN_P),
	ROW(CS_REC_SNAP_BEGIN, on_snap_begin, cs_rec_snap_t, 0, IN_P | IN_S),
	ROW(CS_REC_MAPPING, on_mapping, cs_rec_mapping_t, 0, IN_P | IN_S),
	ROW(CS_REC_PAGES, on_pages, cs_rec_pages_t, 0, IN_P | IN_S),
	ROW(CS_REC_PFNS, on_pfns, cs_rec_pfns_t, 0, IN_P | IN_S),
	ROW(CS_REC_SNAP_END, on_snap_end, cs_rec_snap_end_t, 0, IN_P | IN_S),
	ROW(CS_REC_FORK, on_fork, cs_rec_fork_t, 0, IN_P),
	ROW(CS_REC_CHILD_EXIT, on_child_exit, cs_rec_child_exit_t, 0, IN_P | IN_R),
	ROW(CS_REC_END, on_end, cs_rec_end_t, 0, IN_P),
	ROW(CS_REC_RESUME, on_resume, cs_rec_resume_t, 0, IN_P),
	ROW(CS_REC_COUNTERS, on_counters, cs_rec_counters_t, 0, IN_P),
	ROW(CS_REC_NOTE, on_note, cs_rec_note_t, 0, IN_P | IN_S), /* samples: sampler blind */
	ROW(CS_REC_SHIM_RANGE, on_shim_range, cs_rec_shim_range_t, 0, IN_P),
	ROW(CS_REC_RUN, on_run, cs_rec_run_t, 0, IN_R),
	ROW(CS_REC_RUN_END, on_run_end, cs_rec_run_end_t, 0, IN_R),
	ROW(CS_REC_SAMPLING, cs_load_sampling, cs_rec_sampling_t, 1, IN_P),
	ROW(CS_REC_MODULE, cs_load_module, cs_rec_module_t, 1, IN_P),
	ROW(CS_REC_STACK, cs_load_stack, cs_rec_stack_t, 1, IN_P),
	ROW(CS_REC_ALLOCS, cs_load_allocs, cs_rec_events_t, 1, IN_P),
	ROW(CS_REC_FREES, cs_load_frees, cs_rec_events_t, 1, IN_P),
	ROW(CS_REC_FORK_POINT, cs_load_fork_point, cs_rec_fork_point_t, 1, IN_P),
	ROW(CS_REC_MARK, on_mark, cs_rec_mark_t, 2, IN_P),
	ROW(CS_REC_ALLOCATOR, on_allocator, cs_rec_allocator_t, 3, IN_P),
	ROW(CS_REC_DIFF, cs_load_diff, cs_rec_diff_t, 4, IN_P),
	ROW(CS_REC_WORDS, cs_load_words, cs_rec_words_t, 4, IN_P),
	ROW(CS_REC_WSAMPLES, cs_load_wsamples, cs_rec_wsamples_t, 5, IN_P),
	ROW(CS_REC_EVDEFS, cs_load_evdefs, cs_rec_evdefs_t, 5, IN_P),
	ROW(CS_REC_COUNTS, cs_load_counts, cs_rec_counts_t, 5, IN_P),
	ROW(CS_REC_LSET, cs_load_lset, cs_rec_lset_t, 6, IN_P),
	ROW(CS_REC_LRANGES, cs_load_lranges, cs_rec_lranges_t, 6, IN_P),
	ROW(CS_REC_EVPACK, cs_load_evpack, cs_rec_evpack_t, 7, IN_P),
	ROW(CS_REC_LIVESET, cs_load_liveset, cs_rec_evpack_t, 7, IN_P),
};

/* The row of a type this analyzer knows, or NULL. */
static const rec_row_t *row_of(uint16_t type)
{
	if (type >= sizeof(rows) / sizeof(rows[0]) || !rows[type].fn)
		return NULL;
	return &rows[type];
}

/* Whether the file's kind is one the row is read from. */
static bool in_kind(const rec_row_t *row, uint32_t file_kind)
{
	return file_kind < 8 && (row->kinds & (1u << file_kind));
}

int cs_rec_admit(const cs_trace_t *t, const cs_rec_t *r, cs_fixed_t *f, cs_cur_t *c, cs_diag_t *d)
{
	const rec_row_t *row = row_of(r->type);
	char what[96];

	if (!row)
		return 0; /* a newer minor's record */
	if (row->minor > t->hdr.version_minor) {
		snprintf(what, sizeof(what),
			 "record type %u is newer than the file's version %u.%u", (unsigned)r->type,
			 (unsigned)t->hdr.version_major, (unsigned)t->hdr.version_minor);
		return cs_trace_bad(t, r, d, what);
	}
	if (!in_kind(row, t->hdr.file_kind))
		return 0; /* one that does not belong in this file */
	if (cs_rec_fixed(r, f, row->min_bytes, c))
		return cs_trace_bad(t, r, d, "record too short for its type");
	return 1;
}

/* Check r against its row, then hand it to the row's handler. */
static int dispatch(loader_t *l, const cs_rec_t *r)
{
	cs_fixed_t f;
	cs_cur_t c;
	int got = cs_rec_admit(l->t, r, &f, &c, l->d);

	if (got <= 0)
		return got;
	return rows[r->type].fn(l, r, &f, &c);
}

/* Drop the snapshots this file began but never ended. */
static void drop_open_snaps(cs_proc_t *p)
{
	size_t n = 0;

	for (size_t i = 0; i < p->nsnaps; i++) {
		if (p->snaps[i].complete) {
			p->snaps[n++] = p->snaps[i];
			continue;
		}
		cs_snap_free(&p->snaps[i]);
	}
	p->nsnaps = n;
}

static int load_records(loader_t *l)
{
	cs_rec_t r;
	int got, err = 0;

	while ((got = cs_trace_next(l->t, &r, l->d)) > 0) {
		err = dispatch(l, &r);
		if (err)
			return err;
	}
	return got;
}

int cs_load_proc_file(cs_proc_t *p, cs_trace_t *t, bool samples, cs_diag_t *d)
{
	loader_t l = { .t = t, .d = d, .p = p, .samples = samples };
	int err = load_records(&l);

	drop_open_snaps(p);
	if (!err)
		cs_load_diff_finish(p);
	if (!err && !samples && cs_load_labels_finish(p))
		err = cs_load_nomem(&l);
	if (!samples)
		cs_allocinfo_finish(&p->alloc);
	if (samples)
		p->has_samples = true;
	else
		p->has_file = true;
	if (!samples && t->has_hdr)
		p->fmt_minor = t->hdr.version_minor;
	if (!samples && t->truncated)
		p->truncated = true;
	return err;
}

int cs_load_run_file(cs_runinfo_t *run, cs_trace_t *t, cs_diag_t *d)
{
	loader_t l = { .t = t, .d = d, .run = run };
	int err = load_records(&l);

	run->present = true;
	if (t->truncated)
		run->truncated = true;
	if (t->has_hdr)
		run->sup_pid = t->hdr.pid;
	return err;
}
