/* SPDX-License-Identifier: MIT */
/* The JSON report, schema_version 1: stable keys, null for what a backend cannot know. */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include "backend.h"
#include "figures.h"
#include "json_amp.h"
#include "json_labels.h"
#include "json_story.h"
#include "json_events.h"
#include "json_writer.h"
#include "record.h"
#include "render.h"

#define CS_SCHEMA_VERSION 1

static void str_or_null(cs_json_t *j, const char *key, bool known, const char *s)
{
	if (known)
		cs_json_str(j, key, s);
	else
		cs_json_null(j, key);
}

static void cmdline(cs_json_t *j, const char *key, const char *cmd, size_t len)
{
	char *buf = cmd ? malloc(4 * len + 3) : NULL;

	str_or_null(j, key, buf, buf ? cs_cmdline_str(cmd, len, buf, 4 * len + 3) : NULL);
	free(buf);
}

static void backend_fields(cs_json_t *j, bool known, int backend)
{
	str_or_null(j, "backend", known, cs_backend_name(backend));
	str_or_null(j, "backend_precision", known, cs_backend_precision(backend));
}

/* Whether some process file says records were lost (the run is then not complete). */
static bool any_lost(const cs_model_t *m)
{
	for (size_t i = 0; i < m->nprocs; i++)
		if (m->procs[i].lost_records)
			return true;
	return false;
}

static void run_status(cs_json_t *j, const cs_model_t *m)
{
	const cs_runinfo_t *r = &m->run;
	bool exited = r->has_end && WIFEXITED(r->root_status);
	bool killed = r->has_end && WIFSIGNALED(r->root_status);

	cs_json_opt(j, "exit_status", exited ? WEXITSTATUS(r->root_status) : CS_UNKNOWN);
	cs_json_opt(j, "signal", killed ? WTERMSIG(r->root_status) : CS_UNKNOWN);
	cs_json_opt(j, "still_running", r->has_end ? (int64_t)r->still_running : CS_UNKNOWN);
	cs_json_opt(j, "samples", r->has_end ? (int64_t)r->samples : CS_UNKNOWN);
	cs_json_num(j, "sample_ms", r->has_end ? (double)r->sample_ns / 1e6 : NAN, 3);
	cs_json_bool(j, "complete", r->has_end && !r->truncated && !any_lost(m));
}

static void run_obj(cs_json_t *j, const cs_model_t *m)
{
	const cs_runinfo_t *r = &m->run;
	const cs_proc_t *root = m->root >= 0 ? &m->procs[m->root] : NULL;
	long b = cs_run_backend_proc(m);
	double mean;

	cs_json_obj(j, "run");
	cs_json_str(j, "dir", m->absdir);
	if (r->has_run)
		cmdline(j, "cmd", r->cmdline, r->cmdline_len);
	else
		cmdline(j, "cmd", root ? root->cmdline : NULL, root ? root->cmdline_len : 0);
	str_or_null(j, "cwd", r->has_run, r->cwd);
	cs_json_opt(j, "root_pid", root ? (int64_t)root->pid : CS_UNKNOWN);
	backend_fields(j, b >= 0, b >= 0 ? m->procs[b].backend : 0);
	str_or_null(j, "backend_requested", r->has_run,
		    r->backend == CS_BACKEND_NONE ? "auto" : cs_backend_name(r->backend));
	cs_json_opt(j, "interval_ms", r->has_run ? (int64_t)r->interval_ms : CS_UNKNOWN);
	cs_json_num(j, "achieved_interval_ms", cs_achieved_interval_ms(m, &mean), 3);
	cs_json_num(j, "achieved_interval_mean_ms", mean, 3);
	cs_json_opt(j, "linger_ms", r->has_run ? (int64_t)r->linger_ms : CS_UNKNOWN);
	run_status(j, m);
	cs_json_end_obj(j);
}

static void counters(cs_json_t *j, const cs_proc_t *p)
{
	cs_json_obj(j, "counters");
	for (uint32_t i = 0; i < p->ncounters; i++)
		if (cs_counter_names[i]) /* NULL: a retired slot */
			cs_json_int(j, cs_counter_names[i], (int64_t)p->counters[i]);
	cs_json_event_counts(j, p);
	cs_json_end_obj(j);
}

static void notes(cs_json_t *j, const cs_proc_t *p)
{
	cs_json_arr(j, "notes");
	for (size_t i = 0; i < p->nnotes; i++) {
		cs_json_obj(j, NULL);
		cs_json_str(j, "code", cs_note_code_name(p->notes[i].code));
		cs_json_int(j, "errno", p->notes[i].err);
		cs_json_str(j, "text", p->notes[i].text);
		cs_json_end_obj(j);
	}
	cs_json_end_arr(j);
}

static void probed(cs_json_t *j, const cs_proc_t *p)
{
	cs_json_arr(j, "backends_probed");
	for (size_t i = 0; i < p->nprobed; i++) {
		cs_json_obj(j, NULL);
		cs_json_str(j, "name", cs_backend_name(p->probed[i].backend));
		cs_json_bool(j, "usable", p->probed[i].usable);
		cs_json_str(j, "reason", p->probed[i].reason);
		cs_json_int(j, "errno", p->probed[i].err);
		cs_json_end_obj(j);
	}
	cs_json_end_arr(j);
}

/* A mapping's changed words (format 1.4 reports only). */
static void mapping_amp(cs_json_t *j, const cs_mapfig_t *mf)
{
	const cs_amp_t *c = &mf->amp[CS_DIFF_CHILD], *pa = &mf->amp[CS_DIFF_PARENT];

	cs_json_amp_flat(j, c, "changed_bytes", "noop_copied_pages", "amplification");
	cs_json_opt(j, "compared_pages", c->known ? c->compared : CS_UNKNOWN);
	cs_json_opt(j, "unknown_pages", c->known ? c->unknown : CS_UNKNOWN);
	cs_json_amp_flat(j, pa, "parent_changed_bytes", "parent_noop_pages",
			 "parent_amplification");
}

static void mapping(cs_json_t *j, const cs_mapfig_t *mf, bool has_diff)
{
	cs_json_obj(j, NULL);
	cs_json_str(j, "name", mf->name);
	cs_json_str(j, "kind", cs_map_kind_name(mf->kind));
	cs_json_uint(j, "start", mf->start);
	cs_json_uint(j, "end", mf->end);
	cs_json_opt(j, "size_pages", mf->size_pages);
	cs_json_opt(j, "shared_at_fork_pages", mf->shared_at_fork);
	cs_json_opt(j, "child_copied_pages", mf->child_copied);
	cs_json_opt(j, "parent_unshared_pages", mf->parent_unshared);
	cs_json_opt(j, "unshared_pages", mf->unshared);
	cs_json_opt(j, "child_new_pages", mf->child_new);
	cs_json_bool(j, "approximate", mf->approximate);
	if (has_diff)
		mapping_amp(j, mf);
	cs_json_end_obj(j);
}

static void timeline(cs_json_t *j, const cs_figures_t *f)
{
	cs_json_arr(j, "timeline");
	for (size_t i = 0; i < f->ntimeline; i++) {
		cs_json_obj(j, NULL);
		cs_json_num(j, "t_ms", f->timeline[i].t_ms, 3);
		cs_json_opt(j, "child_copied_pages", f->timeline[i].child_copied);
		cs_json_opt(j, "parent_unshared_pages", f->timeline[i].parent_unshared);
		cs_json_opt(j, "unshared_pages", f->timeline[i].unshared);
		cs_json_end_obj(j);
	}
	cs_json_end_arr(j);
}

void cs_json_pages(cs_json_t *j, const char *key, double v)
{
	if (v == v && fabs(v - round(v)) < 5e-4)
		cs_json_int(j, key, (int64_t)llround(v));
	else
		cs_json_num(j, key, v, 3);
}

void cs_json_frame(cs_json_t *j, const cs_frame_t *f)
{
	cs_json_obj(j, NULL);
	cs_json_str(j, "module", f->module);
	cs_json_str(j, "function", f->function);
	cs_json_str(j, "file", f->file);
	cs_json_opt(j, "line", f->line);
	cs_json_uint(j, "offset", f->offset);
	cs_json_bool(j, "inlined", f->inlined);
	cs_json_end_obj(j);
}

/* How the changed words of sites are written: only with changed words, in pages of ps bytes. */
typedef struct site_amp {
	bool on;
	uint64_t ps;
} site_amp_t;

static void site(cs_json_t *j, const cs_site_t *s, site_amp_t sa)
{
	cs_json_obj(j, NULL);
	cs_json_arr(j, "frames");
	for (size_t i = 0; i < s->nframes; i++)
		cs_json_frame(j, &s->frames[i]);
	cs_json_end_arr(j);
	cs_json_str(j, "bucket", s->bucket);
	cs_json_pages(j, "child_copied_pages", s->child_copied);
	cs_json_pages(j, "parent_unshared_pages", s->parent_unshared);
	cs_json_pages(j, "unshared_pages", s->unshared);
	cs_json_uint(j, "estimated_bytes", s->estimated_bytes);
	cs_json_uint(j, "samples", s->samples);
	cs_json_pages(j, "freed_in_child_pages", s->freed_in_child);
	if (sa.on)
		cs_json_site_amp(j, s, sa.ps);
	cs_json_end_obj(j);
}

static void sites(cs_json_t *j, const cs_site_t *v, size_t n, site_amp_t sa)
{
	double fields[CS_FIELD_BINS];

	cs_json_arr(j, "sites");
	for (size_t i = 0; i < n; i++)
		site(j, &v[i], sa);
	cs_json_end_arr(j);
	if (!sa.on)
		return;
	cs_fields_sum(v, n, fields);
	cs_json_fields(j, "field_view", fields);
}

/* How the process sampled allocations: null without a SAMPLING record. */
static void sampling(cs_json_t *j, const cs_proc_t *p)
{
	if (!p->alloc.has_sampling) {
		cs_json_null(j, "sampling");
		return;
	}
	cs_json_obj(j, "sampling");
	cs_json_uint(j, "mean_bytes", p->alloc.mean_bytes);
	cs_json_uint(j, "max_depth", p->alloc.max_depth);
	cs_json_end_obj(j);
}

/* "sampling" and the 1.1 groups exist only when some trace is format 1.1 (v1 reports unchanged). */
static void lists(cs_json_t *j, const cs_model_t *m, const cs_proc_t *p)
{
	counters(j, p);
	notes(j, p);
	probed(j, p);
	cs_json_opt(j, "shim_pages", p->shim_pages);
	cs_json_arr(j, "mappings");
	for (size_t i = 0; i < p->fig.nmaps; i++)
		mapping(j, &p->fig.maps[i], m->has_diff);
	cs_json_end_arr(j);
	if (m->v11)
		sampling(j, p);
	sites(j, p->sites, p->nsites, (site_amp_t){ m->has_diff, p->page_size });
	cs_json_writers(j, p->writers, p->nwriters, cs_json_v15(m), p->ws.present, p->ws.n,
			p->ws.lost);
	timeline(j, &p->fig);
	cs_json_labels(j, p->labels.tabs, p->labels.ntabs);
}

static void figures(cs_json_t *j, const cs_figures_t *f)
{
	cs_json_opt(j, "shared_at_fork_pages", f->shared_at_fork);
	cs_json_opt(j, "child_copied_pages", f->child_copied);
	cs_json_opt(j, "parent_unshared_pages", f->parent_unshared);
	cs_json_opt(j, "unshared_pages", f->unshared);
	cs_json_opt(j, "child_new_pages", f->child_new);
	cs_json_num(j, "share_retained", f->share_retained, 6);
	cs_json_opt(j, "minor_faults", f->minor_faults);
	cs_json_amp_flat(j, &f->amp[CS_DIFF_CHILD], "changed_bytes", "noop_copied_pages",
			 "amplification");
	cs_json_bool(j, "precision_partial", f->partial);
}

/* The changed words of both sides in detail (format 1.4 reports only). */
static void amp_detail(cs_json_t *j, const cs_figures_t *f)
{
	cs_json_amp_flat(j, &f->amp[CS_DIFF_PARENT], "parent_changed_bytes", "parent_noop_pages",
			 "parent_amplification");
	cs_json_amp(j, "copied_diff", &f->amp[CS_DIFF_CHILD]);
	cs_json_amp(j, "parent_diff", &f->amp[CS_DIFF_PARENT]);
}

static void end_figures(cs_json_t *j, const cs_endfig_t *e, bool has_diff)
{
	cs_json_obj(j, "at_end");
	cs_json_opt(j, "child_copied_pages", e->child_copied);
	cs_json_opt(j, "parent_unshared_pages", e->parent_unshared);
	cs_json_opt(j, "unshared_pages", e->unshared);
	cs_json_opt(j, "child_new_pages", e->child_new);
	cs_json_num(j, "share_retained", e->share_retained, 6);
	if (has_diff)
		cs_json_amp_flat(j, &e->amp, "changed_bytes", "noop_copied_pages", "amplification");
	cs_json_end_obj(j);
}

/* Which snapshot the working figures come from, the figures after it, the peak. */
static void working(cs_json_t *j, const cs_figures_t *f, bool has_diff)
{
	str_or_null(j, "figures_from", f->from, cs_snap_reason_name(f->from));
	cs_json_opt(j, "unmap_snapshots", f->from ? f->unmap_snaps : CS_UNKNOWN);
	cs_json_opt(j, "peak_unshared_pages", f->peak_unshared);
	cs_json_opt(j, "released_pages", f->released);
	if (f->has_end)
		end_figures(j, &f->at_end, has_diff);
	else
		cs_json_null(j, "at_end");
}

static void identity(cs_json_t *j, const cs_proc_t *p)
{
	cs_json_int(j, "pid", p->pid);
	cs_json_int(j, "gen", p->gen);
	cs_json_opt(j, "ppid", p->ppid);
	cmdline(j, "cmd", p->cmdline, p->cmdline_len);
	cs_json_str(j, "exe", p->exe);
	cs_json_str(j, "role", p->role == CS_ROLE_CHILD ? "child" : "root");
	backend_fields(j, p->has_backend, p->backend);
	cs_json_opt(j, "page_size", p->page_size ? (int64_t)p->page_size : CS_UNKNOWN);
	cs_json_str(j, "ended", cs_ended_name(p->ended));
	cs_json_opt(j, "exit_status", p->exit_status);
	cs_json_opt(j, "signal", p->signal);
	cs_json_bool(j, "complete", p->complete);
	cs_json_str(j, "incomplete_reason", p->incomplete);
	cs_json_bool(j, "still_running", p->still_running);
	cs_json_bool(j, "running_at_report", p->running_now);
}

/* The allocator the process used (format 1.3): null when its trace does not say. */
static void allocator(cs_json_t *j, const cs_proc_t *p)
{
	if (!p->has_allocator) {
		cs_json_null(j, "allocator");
		return;
	}
	cs_json_obj(j, "allocator");
	cs_json_str(j, "name", p->allocator_name);
	str_or_null(j, "path", *p->allocator_path, p->allocator_path);
	cs_json_bool(j, "preloaded", p->allocator_flags & CS_ALLOCF_PRELOADED);
	cs_json_end_obj(j);
}

/* Whether some process file is format 1.3 or newer ("allocator" keys; older reports unchanged). */
static bool any_v13(const cs_model_t *m)
{
	for (size_t i = 0; i < m->nprocs; i++)
		if (m->procs[i].has_file && m->procs[i].fmt_minor >= 3)
			return true;
	return false;
}

static void process(cs_json_t *j, const cs_model_t *m, const cs_story_t *st, const cs_proc_t *p,
		    bool v13)
{
	cs_json_obj(j, NULL);
	identity(j, p);
	cs_json_story_proc(j, st, (size_t)(p - m->procs));
	if (v13)
		allocator(j, p);
	if (m->v12)
		cs_json_str(j, "phase", m->phases[p->phase]);
	figures(j, &p->fig);
	if (m->has_diff)
		amp_detail(j, &p->fig);
	working(j, &p->fig, m->has_diff);
	cs_json_int(j, "samples", (int64_t)cs_samples(p));
	cs_json_bool(j, "few_samples", cs_few_samples(p));
	if (cs_json_events_any(m)) {
		cs_json_events(j, p);
		cs_json_events_at_marks(j, p);
	}
	lists(j, m, p);
	cs_json_end_obj(j);
}

/* The page size of a sibling group's first child with one (4096 if none says). */
static uint64_t group_page_size(const cs_model_t *m, const cs_group_t *g)
{
	for (size_t k = 0; k < g->nchildren; k++) {
		long i = cs_model_find(m, g->children[k], 0);

		if (i >= 0 && m->procs[i].page_size)
			return m->procs[i].page_size;
	}
	return 4096;
}

static void sibling_groups(cs_json_t *j, const cs_model_t *m)
{
	cs_json_arr(j, "sibling_groups");
	for (size_t i = 0; i < m->ngroups; i++) {
		const cs_group_t *g = &m->groups[i];

		cs_json_obj(j, NULL);
		cs_json_int(j, "ppid", g->ppid);
		cs_json_arr(j, "children");
		for (size_t k = 0; k < g->nchildren; k++)
			cs_json_int(j, NULL, g->children[k]);
		cs_json_end_arr(j);
		sites(j, g->sites, g->nsites, (site_amp_t){ m->has_diff, group_page_size(m, g) });
		if (cs_json_v15(m))
			cs_json_writers(j, g->writers, g->nwriters, true,
					g->writer_samples || g->nwriters, g->writer_samples,
					g->writer_samples_lost);
		cs_json_labels(j, g->labels, g->nlabels);
		cs_json_end_obj(j);
	}
	cs_json_end_arr(j);
}

/* The phases (format 1.2): each name with the children forked in it. */
static void phases(cs_json_t *j, const cs_model_t *m)
{
	cs_json_arr(j, "phases");
	for (size_t i = 0; i < m->nphases; i++) {
		cs_json_obj(j, NULL);
		cs_json_str(j, "name", m->phases[i]);
		cs_json_arr(j, "children");
		for (size_t k = 0; k < m->nprocs; k++)
			if (m->procs[k].role == CS_ROLE_CHILD && m->procs[k].exec_no == 0 &&
			    m->procs[k].phase == i)
				cs_json_int(j, NULL, m->procs[k].pid);
		cs_json_end_arr(j);
		cs_json_end_obj(j);
	}
	cs_json_end_arr(j);
}

/*
 * The at-end totals, beside "totals" (the working ones): each measured child's figures
 * after its teardown, its working ones if nothing came after them.
 */
static void end_totals(cs_json_t *j, const cs_model_t *m)
{
	cs_endtot_t t;

	cs_endtot_init(&t);
	for (size_t i = 0; i < m->nprocs; i++)
		if (m->procs[i].role == CS_ROLE_CHILD)
			cs_endtot_add(&t, &m->procs[i]);
	cs_endtot_finish(&t);
	cs_json_obj(j, "totals_at_end");
	cs_json_int(j, "children", (int64_t)t.measured);
	cs_json_int(j, "children_with_later_snapshot", (int64_t)t.later);
	cs_json_opt(j, "child_copied_pages", t.child_copied);
	cs_json_opt(j, "parent_unshared_pages", t.parent_unshared);
	cs_json_opt(j, "unshared_pages", t.unshared);
	cs_json_opt(j, "child_new_pages", t.child_new);
	cs_json_num(j, "share_retained", t.share_retained, 6);
	if (m->has_diff)
		cs_json_ampsum_flat(j, &t.amp, "changed_bytes", "noop_copied_pages",
				    "amplification");
	cs_json_end_obj(j);
}

/* The changed words summed over children (format 1.4 reports only). */
static void totals_amp(cs_json_t *j, const cs_totals_t *t)
{
	cs_json_ampsum_flat(j, &t->amp[CS_DIFF_CHILD], "changed_bytes", "noop_copied_pages",
			    "amplification");
	cs_json_ampsum_flat(j, &t->amp[CS_DIFF_PARENT], "parent_changed_bytes", "parent_noop_pages",
			    "parent_amplification");
	cs_json_ampsum(j, "copied_diff", &t->amp[CS_DIFF_CHILD]);
	cs_json_ampsum(j, "parent_diff", &t->amp[CS_DIFF_PARENT]);
}

/* One parent's children: its shared memory once, their copies summed. */
static void bill_group(cs_json_t *j, const cs_model_t *m, const cs_bill_t *b,
		       const cs_bill_group_t *g)
{
	const cs_proc_t *parent = g->parent >= 0 ? &m->procs[g->parent] : NULL;

	cs_json_obj(j, NULL);
	cs_json_opt(j, "parent_pid", g->ppid);
	cmdline(j, "command", parent ? parent->cmdline : NULL, parent ? parent->cmdline_len : 0);
	cs_json_arr(j, "children");
	for (size_t k = 0; k < g->t.children; k++)
		cs_json_int(j, NULL, m->procs[b->kids[g->first + k]].pid);
	cs_json_end_arr(j);
	cs_json_int(j, "children_measured", (int64_t)g->t.measured);
	cs_json_opt(j, "shared_at_fork_pages", g->shared_at_fork);
	cs_json_opt(j, "child_copied_pages_sum", g->t.child_copied);
	cs_json_opt(j, "parent_unshared_pages", g->parent_unshared);
	cs_json_opt(j, "unshared_pages_sum", g->t.unshared);
	cs_json_opt(j, "child_new_pages_sum", g->t.child_new);
	cs_json_num(j, "share_retained", g->t.share_retained, 6);
	if (m->has_diff)
		totals_amp(j, &g->t);
	if (cs_json_events_any(m))
		cs_json_events_sum(j, m, b->kids + g->first, g->t.children);
	cs_json_end_obj(j);
}

/*
 * The totals: the memory bill (shared memory and parent-unshared pages once
 * per parent; the children's copies, new pages and unshared pages summed) and
 * its groups, one per parent.
 */
static int totals(cs_json_t *j, const cs_model_t *m)
{
	cs_bill_t b;
	const cs_totals_t *t = &b.t;
	int err = cs_bill_compute(m, &b);

	if (err)
		return err;
	cs_json_obj(j, "totals");
	cs_json_int(j, "children", (int64_t)t->children);
	cs_json_int(j, "children_measured", (int64_t)t->measured);
	cs_json_int(j, "children_without_fork_snapshot", (int64_t)t->no_fork_snap);
	cs_json_int(j, "children_without_samples", (int64_t)t->no_sample);
	cs_json_int(j, "children_few_samples", (int64_t)t->few_samples);
	cs_json_opt(j, "shared_at_fork_pages", b.shared_at_fork);
	cs_json_opt(j, "child_copied_pages", t->child_copied);
	cs_json_opt(j, "private_copies_pages", t->child_copied);
	cs_json_opt(j, "parent_unshared_pages", b.parent_unshared);
	cs_json_opt(j, "unshared_pages", t->unshared);
	cs_json_opt(j, "child_new_pages", t->child_new);
	cs_json_num(j, "share_retained", t->share_retained, 6);
	cs_json_opt(j, "page_size", t->page_size);
	if (m->has_diff)
		totals_amp(j, t);
	if (cs_json_events_any(m))
		cs_json_events_sum(j, m, b.kids, t->children);
	cs_json_arr(j, "groups");
	for (size_t i = 0; i < b.ngroups; i++)
		bill_group(j, m, &b, &b.groups[i]);
	cs_json_end_arr(j);
	cs_json_end_obj(j);
	cs_bill_free(&b);
	return 0;
}

int cs_render_json(FILE *f, const cs_model_t *m, const cs_render_opts_t *o)
{
	bool v13 = any_v13(m);
	cs_story_t own = { 0 };
	const cs_story_t *st = cs_story_get(m, &own);
	cs_json_t j;
	int err;

	if (!st)
		return -ENOMEM;
	cs_json_init(&j, f);
	cs_json_obj(&j, NULL);
	cs_json_int(&j, "schema_version", CS_SCHEMA_VERSION);
	run_obj(&j, m);
	cs_json_arr(&j, "processes");
	for (size_t i = 0; i < m->nprocs; i++)
		process(&j, m, st, &m->procs[i], v13);
	cs_json_end_arr(&j);
	if (m->v11)
		sibling_groups(&j, m);
	if (m->v12)
		phases(&j, m);
	cs_json_story(&j, m, st);
	end_totals(&j, m);
	err = totals(&j, m);
	cs_json_end_obj(&j);
	cs_story_free(&own);
	return err ? err : cs_json_finish(&j);
}
