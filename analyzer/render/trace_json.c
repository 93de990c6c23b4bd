/* SPDX-License-Identifier: MIT */
/* The run as Chrome Trace Event JSON (Perfetto, chrome://tracing): process tracks, COW counters, instants. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "figures.h"
#include "json_writer.h"
#include "render.h"
#include "story.h"

/* Counter values are MiB: exact with 8 decimals for pages of 4 KiB and more (k / 256). */
#define MIB_DECIMALS 8

typedef struct tctx {
	cs_json_t j;
	const cs_model_t *m;
	const cs_story_t *s;
	double start_ns; /* the run's start (story.h), NaN if unknown */
} tctx_t;

/* A process image's order key: roots first, then children by fork time, unknown last. */
typedef struct order {
	double key;
	size_t i;
} order_t;

/* Microseconds from the run's start to t_ns (CLOCK_MONOTONIC), NaN if either is unknown. */
static double us_of(const tctx_t *t, uint64_t t_ns)
{
	return t_ns ? ((double)t_ns - t->start_ns) / 1e3 : NAN;
}

/* The pid Chrome groups events by: the process's, exec images sharing their pid. */
static void head(tctx_t *t, const char *ph, const char *name, uint32_t pid)
{
	cs_json_obj(&t->j, NULL);
	cs_json_str(&t->j, "ph", ph);
	cs_json_str(&t->j, "name", name);
	cs_json_uint(&t->j, "pid", pid);
	cs_json_uint(&t->j, "tid", pid);
}

/*
 * "worker 2 of 4 gunicorn (pid 815)": the program its exec chain ran last; the
 * label of the image that was forked when that is a child ("child 1 of 1" for
 * a child that exec'd), else the last image's ("master" for a root that exec'd
 * a server).
 */
static char *proc_name(const tctx_t *t, size_t i, char *buf, size_t size)
{
	const cs_pstory_t *first = &t->s->p[t->s->p[i].chain_first];
	const cs_pstory_t *last = &t->s->p[t->s->p[i].chain_last];
	const char *label = first->sib >= 0 ? first->label : last->label;

	snprintf(buf, size, "%s%s%s (pid %u)", label, label[0] ? " " : "", last->program,
		 t->m->procs[i].pid);
	return buf;
}

static void process_name(tctx_t *t, size_t i)
{
	const cs_proc_t *p = &t->m->procs[i], *l = &t->m->procs[t->s->p[i].chain_last];
	char name[160], cmd[512];

	head(t, "M", "process_name", p->pid);
	cs_json_obj(&t->j, "args");
	cs_json_str(&t->j, "name", proc_name(t, i, name, sizeof(name)));
	cs_json_str(&t->j, "cmd", cs_cmdline_str(l->cmdline, l->cmdline_len, cmd, sizeof(cmd)));
	cs_json_end_obj(&t->j);
	cs_json_end_obj(&t->j);
}

static void sort_index(tctx_t *t, size_t i, size_t rank)
{
	head(t, "M", "process_sort_index", t->m->procs[i].pid);
	cs_json_obj(&t->j, "args");
	cs_json_uint(&t->j, "sort_index", rank);
	cs_json_end_obj(&t->j);
	cs_json_end_obj(&t->j);
}

static int cmp_order(const void *x, const void *y)
{
	const order_t *a = x, *b = y;

	if (a->key != b->key)
		return a->key < b->key ? -1 : 1;
	return a->i < b->i ? -1 : a->i > b->i;
}

static double order_key(const tctx_t *t, size_t i)
{
	double f = t->s->p[i].forked_at_s;

	if (t->m->procs[i].role != CS_ROLE_CHILD)
		return -INFINITY;
	return isnan(f) ? INFINITY : f;
}

/* A process_name and a process_sort_index (fork order, roots first) per exec chain. */
static int metadata(tctx_t *t)
{
	order_t *v = calloc(t->m->nprocs + 1, sizeof(*v));
	size_t n = 0;

	if (!v)
		return -ENOMEM;
	for (size_t i = 0; i < t->m->nprocs; i++)
		if (t->s->p[i].chain_first == (long)i)
			v[n++] = (order_t){ order_key(t, i), i };
	qsort(v, n, sizeof(*v), cmp_order);
	for (size_t k = 0; k < n; k++) {
		process_name(t, v[k].i);
		sort_index(t, v[k].i, k);
	}
	free(v);
	return 0;
}

static void mib_arg(tctx_t *t, const char *key, int64_t pages, double mib_per_page)
{
	if (pages >= 0)
		cs_json_num(&t->j, key, (double)pages * mib_per_page, MIB_DECIMALS);
}

/* One point of a "COW (MiB)" counter track; nothing when no figure is known. */
static void counter(tctx_t *t, const cs_proc_t *p, double us, const cs_tpoint_t *v)
{
	double mib = (double)p->page_size / 1048576.0;

	if (!isfinite(us) || (v->child_copied < 0 && v->parent_unshared < 0 && v->unshared < 0))
		return;
	head(t, "C", "COW (MiB)", p->pid);
	cs_json_num(&t->j, "ts", us, 3);
	cs_json_obj(&t->j, "args");
	mib_arg(t, "copied", v->child_copied, mib);
	mib_arg(t, "parent-unshared", v->parent_unshared, mib);
	mib_arg(t, "unshared", v->unshared, mib);
	cs_json_end_obj(&t->j);
	cs_json_end_obj(&t->j);
}

/*
 * A measured child's timeline up to its working snapshot, then the working
 * figures at that snapshot's time: the track ends on the reported figures (the
 * points of its teardown, after W, are left out: docs/chrome-trace.md).
 */
static void track(tctx_t *t, const cs_proc_t *p)
{
	const cs_snap_t *f = cs_fork_snap(p), *w = cs_work_snap(p);
	const cs_figures_t *fig = &p->fig;
	cs_tpoint_t last;
	double f_us, w_ms;

	if (!f || !w || !fig->from || fig->shared_at_fork < 0 || !p->page_size)
		return;
	f_us = us_of(t, f->t_ns);
	w_ms = (double)(int64_t)(w->t_ns - f->t_ns) / 1e6; /* as figures.c's timeline */
	for (size_t k = 0; k < fig->ntimeline; k++)
		if (fig->timeline[k].t_ms < w_ms)
			counter(t, p, f_us + fig->timeline[k].t_ms * 1e3, &fig->timeline[k]);
	last = (cs_tpoint_t){ .t_ms = w_ms,
			      .child_copied = fig->child_copied,
			      .parent_unshared = fig->parent_unshared,
			      .unshared = fig->unshared };
	counter(t, p, f_us + w_ms * 1e3, &last);
}

/* A process-scoped instant event, left open for its args. */
static void instant(tctx_t *t, uint32_t pid, const char *name, const char *cat, double us)
{
	head(t, "i", name, pid);
	cs_json_str(&t->j, "cat", cat);
	cs_json_str(&t->j, "s", "p");
	cs_json_num(&t->j, "ts", us, 3);
	cs_json_obj(&t->j, "args");
}

static void instant_end(tctx_t *t)
{
	cs_json_end_obj(&t->j);
	cs_json_end_obj(&t->j);
}

/* "fork" in the parent's track at the child's fork time. */
static void fork_instant(tctx_t *t, size_t i)
{
	const cs_proc_t *p = &t->m->procs[i];
	double at = t->s->p[i].forked_at_s;
	int64_t ppid = p->parent >= 0 ? t->m->procs[p->parent].pid : p->ppid;
	char name[160];

	if (p->role != CS_ROLE_CHILD || p->exec_image || !isfinite(at) || ppid < 0)
		return;
	instant(t, (uint32_t)ppid, "fork", "process", at * 1e6);
	cs_json_uint(&t->j, "child_pid", p->pid);
	cs_json_str(&t->j, "child", proc_name(t, i, name, sizeof(name)));
	instant_end(t);
}

/* An exec in the image's track, and how the chain ended in its last image's. */
static void end_instants(tctx_t *t, size_t i)
{
	const cs_proc_t *p = &t->m->procs[i];
	double at = t->s->p[i].ended_at_s;

	if (p->has_end && p->end_how == CS_END_EXEC && isfinite(us_of(t, p->end_ns))) {
		instant(t, p->pid, "exec", "process", us_of(t, p->end_ns));
		instant_end(t);
	}
	if (t->s->p[i].chain_last != (long)i || p->ended == CS_ENDED_EXEC || !isfinite(at))
		return;
	instant(t, p->pid, cs_ended_name(p->ended), "process", at * 1e6);
	if (p->exit_status >= 0)
		cs_json_int(&t->j, "exit_status", p->exit_status);
	if (p->signal >= 0)
		cs_json_int(&t->j, "signal", p->signal);
	instant_end(t);
}

/* cowscope_mark() labels in the marking process's track. */
static void mark_instants(tctx_t *t, const cs_proc_t *p)
{
	for (size_t k = 0; k < p->nmarks; k++) {
		const char *label = p->marks[k].label ? p->marks[k].label : "";

		if (!isfinite(us_of(t, p->marks[k].t_ns)))
			continue;
		instant(t, p->pid, label, "mark", us_of(t, p->marks[k].t_ns));
		cs_json_str(&t->j, "label", label);
		instant_end(t);
	}
}

static void other_data(tctx_t *t)
{
	char cmd[512];

	cs_json_obj(&t->j, "otherData");
	cs_json_str(&t->j, "tool", "cowscope");
	cs_json_str(&t->j, "run", t->m->absdir ? t->m->absdir : t->m->dir);
	cs_json_str(&t->j, "command",
		    cs_cmdline_str(t->m->run.cmdline, t->m->run.cmdline_len, cmd, sizeof(cmd)));
	cs_json_str(&t->j, "counters", "MiB: copied (by the child), parent-unshared, unshared");
	cs_json_str(&t->j, "ts", "microseconds since the run's start");
	cs_json_end_obj(&t->j);
}

static int events(tctx_t *t)
{
	int err = metadata(t);

	for (size_t i = 0; !err && i < t->m->nprocs; i++) {
		track(t, &t->m->procs[i]);
		fork_instant(t, i);
		end_instants(t, i);
		mark_instants(t, &t->m->procs[i]);
	}
	return err;
}

int cs_render_trace(FILE *f, const cs_model_t *m, const cs_render_opts_t *o)
{
	tctx_t t = { .m = m, .s = m->story, .start_ns = m->story ? m->story->start_ns : NAN };
	int err;

	(void)o;
	if (!t.s)
		return -EINVAL; /* cs_model_load tells the story */
	cs_json_init(&t.j, f);
	cs_json_obj(&t.j, NULL);
	cs_json_arr(&t.j, "traceEvents");
	err = events(&t);
	cs_json_end_arr(&t.j);
	cs_json_str(&t.j, "displayTimeUnit", "ms");
	other_data(&t);
	cs_json_end_obj(&t.j);
	if (err)
		return err;
	return cs_json_finish(&t.j);
}
