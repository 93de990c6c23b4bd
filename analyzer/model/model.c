/* SPDX-License-Identifier: MIT */
/* The run model's housekeeping: processes in order, lookup, and freeing what was loaded. */
#include <stdlib.h>
#include <string.h>
#include "model.h"
#include "story.h"
#include "sitetab.h"

static int cmp_proc(const void *a, const void *b)
{
	const cs_proc_t *x = a, *y = b;

	if (x->pid != y->pid)
		return x->pid < y->pid ? -1 : 1;
	return (x->gen > y->gen) - (x->gen < y->gen);
}

void cs_model_sort(cs_model_t *m)
{
	if (m->nprocs > 1)
		qsort(m->procs, m->nprocs, sizeof(*m->procs), cmp_proc);
}

long cs_model_find(const cs_model_t *m, uint32_t pid, uint32_t gen)
{
	cs_proc_t key = { .pid = pid, .gen = gen };
	const cs_proc_t *p =
		m->nprocs ? bsearch(&key, m->procs, m->nprocs, sizeof(*m->procs), cmp_proc) : NULL;

	return p ? p - m->procs : -1;
}

void cs_model_free(cs_model_t *m)
{
	for (size_t i = 0; i < m->nprocs; i++)
		cs_proc_free(&m->procs[i]);
	free(m->procs);
	free(m->run.cmdline);
	free(m->run.cwd);
	free(m->run.reaped);
	free(m->dir);
	free(m->absdir);
	cs_groups_free(m);
	if (m->story)
		cs_story_free(m->story);
	free(m->story);
	free(m->phases);
	cs_arena_free(&m->arena);
	memset(m, 0, sizeof(*m));
	m->root = -1;
}

void cs_module_free(cs_module_t *m)
{
	free(m->segs);
	free(m->build_id);
	free(m->path);
}

void cs_probed_free(cs_proc_t *p)
{
	for (size_t i = 0; i < p->nprobed; i++)
		free(p->probed[i].reason);
	free(p->probed);
	p->probed = NULL;
	p->nprobed = 0;
}

void cs_allocinfo_free(cs_allocinfo_t *a)
{
	for (size_t i = 0; i < a->nmods; i++)
		cs_module_free(&a->mods[i]);
	free(a->mods);
	for (size_t i = 0; i < a->nstacks; i++)
		free(a->stacks[i].ra);
	free(a->stacks);
	free(a->evs);
	free(a->ckpts);
	memset(a, 0, sizeof(*a));
}

void cs_snap_free(cs_snap_t *s)
{
	for (size_t i = 0; i < s->nmaps; i++)
		free(s->maps[i].name);
	free(s->maps);
	for (size_t i = 0; i < CS_NSETS; i++)
		cs_pageset_free(&s->sets[i]);
	for (size_t i = 0; i < s->npfns; i++)
		free(s->pfns[i].pfn);
	free(s->pfns);
	for (size_t i = 0; i < CS_NSIDES; i++)
		free(s->diff[i].ent);
	memset(s, 0, sizeof(*s));
}

void cs_proc_free(cs_proc_t *p)
{
	free(p->cmdline);
	free(p->exe);
	cs_probed_free(p);
	cs_evinfo_free(&p->ev);
	cs_labels_free(&p->labels);
	for (size_t i = 0; i < p->nsnaps; i++)
		cs_snap_free(&p->snaps[i]);
	free(p->snaps);
	free(p->forks);
	free(p->reaped);
	for (size_t i = 0; i < p->nnotes; i++)
		free(p->notes[i].text);
	free(p->notes);
	free(p->shim);
	for (size_t i = 0; i < p->nmarks; i++)
		free(p->marks[i].label);
	free(p->marks);
	free(p->fig.maps);
	free(p->fig.timeline);
	cs_pageset_free(&p->fig.wc);
	cs_pageset_free(&p->fig.wp);
	cs_pageset_free(&p->fig.uns);
	cs_allocinfo_free(&p->alloc);
	free(p->sites);
	free(p->allocator_name);
	free(p->allocator_path);
	cs_wsampinfo_free(&p->ws);
	cs_writers_free(p->writers, p->nwriters);
	memset(p, 0, sizeof(*p));
}
