/* SPDX-License-Identifier: MIT */
/* Phases of a run (1.2): named by cowscope_mark() labels; a child is in its parent's phase at fork. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "phases.h"

/* A mark that may start a phase, or (after dedup) a phase name with its first mark time. */
typedef struct label {
	const char *name;
	uint64_t t_ns;
	size_t index; /* in m->phases, once numbered */
} label_t;

typedef struct labels {
	label_t *v;
	size_t n;
} labels_t;

static int cmp_name_time(const void *a, const void *b)
{
	const label_t *x = a, *y = b;
	int r = strcmp(x->name, y->name);

	if (r)
		return r;
	return (x->t_ns > y->t_ns) - (x->t_ns < y->t_ns);
}

static int cmp_time_name(const void *a, const void *b)
{
	const label_t *x = a, *y = b;

	if (x->t_ns != y->t_ns)
		return x->t_ns < y->t_ns ? -1 : 1;
	return strcmp(x->name, y->name);
}

static int cmp_name(const void *a, const void *b)
{
	return strcmp(((const label_t *)a)->name, ((const label_t *)b)->name);
}

/* Which processes are parents of another process (only their marks split phases). */
static bool *parents_of(const cs_model_t *m)
{
	bool *is = calloc(m->nprocs + 1, sizeof(*is));

	for (size_t i = 0; is && i < m->nprocs; i++)
		if (m->procs[i].parent >= 0)
			is[m->procs[i].parent] = true;
	return is;
}

/* The marks of every parent, one entry each. */
static int collect(const cs_model_t *m, labels_t *l)
{
	bool *is = parents_of(m);
	size_t n = 0;

	if (!is)
		return -ENOMEM;
	for (size_t i = 0; i < m->nprocs; i++)
		n += is[i] ? m->procs[i].nmarks : 0;
	l->v = malloc((n + 1) * sizeof(*l->v));
	for (size_t i = 0; l->v && i < m->nprocs; i++) {
		const cs_proc_t *p = &m->procs[i];

		for (size_t k = 0; is[i] && k < p->nmarks; k++)
			l->v[l->n++] = (label_t){ p->marks[k].label, p->marks[k].t_ns, 0 };
	}
	free(is);
	return l->v ? 0 : -ENOMEM;
}

/* Keep each name once, with its earliest time; "start" is the implicit first phase. */
static void dedup(labels_t *l)
{
	size_t k = 0;

	if (l->n > 1)
		qsort(l->v, l->n, sizeof(*l->v), cmp_name_time);
	for (size_t i = 0; i < l->n; i++) {
		if (!strcmp(l->v[i].name, CS_PHASE_START))
			continue;
		if (k && !strcmp(l->v[k - 1].name, l->v[i].name))
			continue;
		l->v[k++] = l->v[i];
	}
	l->n = k;
}

/* m->phases: "start", then the names in order of their first mark; l gets the indices. */
static int number(cs_model_t *m, labels_t *l)
{
	if (l->n > 1)
		qsort(l->v, l->n, sizeof(*l->v), cmp_time_name);
	m->phases = malloc((l->n + 1) * sizeof(*m->phases));
	if (!m->phases)
		return -ENOMEM;
	m->phases[m->nphases++] = CS_PHASE_START;
	for (size_t i = 0; i < l->n; i++) {
		l->v[i].index = m->nphases;
		m->phases[m->nphases] = cs_arena_strdup(&m->arena, l->v[i].name);
		if (!m->phases[m->nphases++])
			return -ENOMEM;
	}
	if (l->n > 1)
		qsort(l->v, l->n, sizeof(*l->v), cmp_name);
	return 0;
}

static size_t index_of(const labels_t *l, const char *name)
{
	label_t key = { .name = name };
	const label_t *x = l->n ? bsearch(&key, l->v, l->n, sizeof(*l->v), cmp_name) : NULL;

	return x ? x->index : 0; /* not found: "start" (a mark named "start") */
}

/* When process c began, as its parent's clock says: its PROC start, else the FORK record. */
static bool birth(const cs_model_t *m, const cs_proc_t *c, uint64_t *t_ns)
{
	const cs_proc_t *p = &m->procs[c->parent];

	if (c->has_proc) {
		*t_ns = c->start_ns;
		return true;
	}
	for (size_t k = 0; k < p->nforks; k++) {
		if (p->forks[k].child_pid == c->pid) {
			*t_ns = p->forks[k].t_ns;
			return true;
		}
	}
	return false;
}

/* The parent's last mark before c began, or NULL: c inherits the parent's own phase. */
static const cs_mark_t *mark_before(const cs_model_t *m, const cs_proc_t *c)
{
	const cs_proc_t *p = &m->procs[c->parent];
	const cs_mark_t *best = NULL;
	uint64_t t;

	if (!birth(m, c, &t))
		return NULL;
	for (size_t k = 0; k < p->nmarks; k++)
		if (p->marks[k].t_ns < t && (!best || p->marks[k].t_ns >= best->t_ns))
			best = &p->marks[k];
	return best;
}

/*
 * Resolve process i and the unresolved ones above it: walk up to the first
 * process whose phase is known or decided by itself (a root: "start"; a child
 * forked after a mark of its parent: that mark's phase); everything walked
 * inherits it. Each process is walked once (the tree has no cycles).
 */
static void resolve(cs_model_t *m, const labels_t *l, bool *done, size_t *path, size_t i)
{
	size_t n = 0, x = i;

	while (!done[x] && n < m->nprocs) {
		cs_proc_t *p = &m->procs[x];
		const cs_mark_t *mk = p->parent >= 0 ? mark_before(m, p) : NULL;

		if (p->parent < 0 || mk) {
			p->phase = mk ? index_of(l, mk->label) : 0;
			done[x] = true;
			break;
		}
		path[n++] = x;
		x = (size_t)p->parent;
	}
	while (n-- > 0) {
		m->procs[path[n]].phase = m->procs[x].phase;
		done[path[n]] = true;
	}
}

static int assign(cs_model_t *m, const labels_t *l)
{
	bool *done = calloc(m->nprocs + 1, sizeof(*done));
	size_t *path = malloc((m->nprocs + 1) * sizeof(*path));
	int err = done && path ? 0 : -ENOMEM;

	for (size_t i = 0; !err && i < m->nprocs; i++)
		if (!done[i])
			resolve(m, l, done, path, i);
	free(done);
	free(path);
	return err;
}

int cs_phases_assign(cs_model_t *m, cs_diag_t *d)
{
	labels_t l = { 0 };
	int err = collect(m, &l);

	if (!err) {
		dedup(&l);
		err = number(m, &l);
	}
	if (!err)
		err = assign(m, &l);
	free(l.v);
	if (err)
		cs_diag_set(d, "out of memory");
	return err;
}

long cs_phase_find(const cs_model_t *m, const char *name)
{
	for (size_t i = 0; i < m->nphases; i++)
		if (!strcmp(m->phases[i], name))
			return (long)i;
	return -1;
}
