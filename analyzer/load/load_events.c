/* SPDX-License-Identifier: MIT */
/* Loading the perf event records of format 1.5 (EVDEFS, COUNTS): every count and length checked against its record. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "perfev.h"
#include "load_events.h"
#include "vec.h"

/* Events one file may define: far more than the shim writes (CS_PC_MAX). */
#define EV_MAX 4096u

static int take_names(cs_loader_t *l, const cs_rec_t *r, cs_cur_t *c, cs_evinfo_t *e)
{
	cs_str_t s;

	for (size_t i = 0; i < e->ndefs; i++) {
		if (cs_cur_str(c, &s))
			return cs_load_bad(l, r, "bad event name");
		e->defs[i].name = strndup(s.p, s.len);
		if (!e->defs[i].name)
			return cs_load_nomem(l);
	}
	return 0;
}

int cs_load_evdefs(cs_loader_t *l, const cs_rec_t *r, const cs_fixed_t *f, cs_cur_t *c)
{
	cs_evinfo_t *e = &l->p->ev;
	uint32_t n = f->evdefs.count;
	const void *p;

	if (n > EV_MAX || cs_cur_bytes(c, (size_t)n * sizeof(cs_event_def_t), &p))
		return cs_load_bad(l, r, "bad event count");
	cs_evinfo_free(e);
	e->defs = calloc(n ? n : 1, sizeof(*e->defs));
	if (!e->defs)
		return cs_load_nomem(l);
	e->ndefs = n;
	for (uint32_t i = 0; i < n; i++) {
		cs_event_def_t d;

		memcpy(&d, (const uint8_t *)p + (size_t)i * sizeof(d), sizeof(d));
		e->defs[i].type = d.type;
		e->defs[i].err = d.err;
		e->defs[i].config = d.config;
	}
	e->has_defs = true;
	return take_names(l, r, c, e);
}

int cs_load_counts(cs_loader_t *l, const cs_rec_t *r, const cs_fixed_t *f, cs_cur_t *c)
{
	cs_evinfo_t *e = &l->p->ev;
	const cs_rec_counts_t *rec = &f->counts;
	size_t bytes = (size_t)rec->count * sizeof(cs_count_t);
	cs_evread_t *rd;
	const void *p;

	if (!e->has_defs)
		return cs_load_bad(l, r, "counts without event definitions");
	if (rec->count != e->ndefs)
		return cs_load_bad(l, r, "counts for a different number of events");
	if (rec->at != CS_COUNT_AT_SNAP && rec->at != CS_COUNT_AT_MARK)
		return cs_load_bad(l, r, "bad counts point");
	if (cs_cur_bytes(c, bytes, &p))
		return cs_load_bad(l, r, "bad counts count");
	if (CS_VEC_GROW(e->reads, e->nreads, e->capreads))
		return cs_load_nomem(l);
	rd = &e->reads[e->nreads];
	*rd = (cs_evread_t){ .seq = rec->seq, .at = rec->at, .t_ns = rec->t_ns };
	rd->v = malloc(bytes ? bytes : 1);
	if (!rd->v)
		return cs_load_nomem(l);
	memcpy(rd->v, p, bytes);
	e->nreads++;
	return 0;
}
