/* SPDX-License-Identifier: MIT */
/* Perf event counts of one process: the values at its working and end snapshots (docs/events.md). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "perfev.h"
#include "figures.h"
#include "model.h"

void cs_evinfo_free(cs_evinfo_t *e)
{
	for (size_t i = 0; i < e->ndefs; i++)
		free(e->defs[i].name);
	free(e->defs);
	for (size_t i = 0; i < e->nreads; i++)
		free(e->reads[i].v);
	free(e->reads);
	free(e->work);
	free(e->end);
	memset(e, 0, sizeof(*e));
}

cs_evval_t cs_evval_of(const cs_evinfo_t *e, const cs_evread_t *r, size_t i)
{
	cs_evval_t v = { 0 };
	const cs_count_t *c;

	if (!r || i >= e->ndefs || e->defs[i].err)
		return v;
	c = &r->v[i];
	if (c->running_ns == 0 && c->enabled_ns != 0)
		return v; /* enabled but never scheduled: no estimate */
	v.known = true;
	v.value = c->value;
	if (c->running_ns < c->enabled_ns) {
		v.scaled = true;
		double x = (double)c->value * (double)c->enabled_ns / (double)c->running_ns;

		v.value = x < 18446744073709549568.0 ? (uint64_t)x
						     : UINT64_MAX; /* a forged trace */
	}
	return v;
}

const cs_evread_t *cs_evread_find(const cs_evinfo_t *e, uint8_t at, uint32_t seq)
{
	for (size_t i = e->nreads; i-- > 0;)
		if (e->reads[i].at == at && e->reads[i].seq == seq)
			return &e->reads[i];
	return NULL;
}

/* The last read at a snapshot (or at a root's end), or NULL. */
static const cs_evread_t *last_snap_read(const cs_evinfo_t *e)
{
	for (size_t i = e->nreads; i-- > 0;)
		if (e->reads[i].at == CS_COUNT_AT_SNAP)
			return &e->reads[i];
	return NULL;
}

static int values(const cs_evinfo_t *e, const cs_evread_t *r, cs_evval_t **out)
{
	*out = calloc(e->ndefs ? e->ndefs : 1, sizeof(**out));
	if (!*out)
		return -ENOMEM;
	for (size_t i = 0; i < e->ndefs; i++)
		(*out)[i] = cs_evval_of(e, r, i);
	return 0;
}

int cs_events_compute(cs_evinfo_t *e, uint32_t work_seq, uint32_t end_seq)
{
	const cs_evread_t *w = NULL, *z = NULL;
	int err;

	if (!e->has_defs || e->work)
		return 0;
	if (work_seq != UINT32_MAX)
		w = cs_evread_find(e, CS_COUNT_AT_SNAP, work_seq);
	if (!w)
		w = last_snap_read(e);
	if (end_seq != UINT32_MAX && end_seq != work_seq)
		z = cs_evread_find(e, CS_COUNT_AT_SNAP, end_seq);
	err = values(e, w, &e->work);
	if (!err && z)
		err = values(e, z, &e->end);
	return err;
}

long cs_evdef_find(const cs_evinfo_t *e, const char *name)
{
	for (size_t i = 0; i < e->ndefs; i++)
		if (strcmp(e->defs[i].name, name) == 0)
			return (long)i;
	return -1;
}

/* A snapshot's seq when it is the process's own, else UINT32_MAX. */
static uint32_t own_seq(const cs_snap_t *s)
{
	return s && !s->from_samples ? s->seq : UINT32_MAX;
}

int cs_proc_events_compute(cs_proc_t *p)
{
	return cs_events_compute(&p->ev, own_seq(cs_work_snap(p)), own_seq(cs_final_snap(p)));
}
