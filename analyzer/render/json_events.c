/* SPDX-License-Identifier: MIT */
/* JSON of the perf event counts (format 1.5): one object per process, sums per parent and in totals. */
#include <string.h>
#include "json_events.h"

bool cs_json_events_any(const cs_model_t *m)
{
	for (size_t i = 0; i < m->nprocs; i++)
		if (m->procs[i].ev.has_defs)
			return true;
	return false;
}

static void value(cs_json_t *j, const char *key, const cs_evval_t *v)
{
	if (v && v->known)
		cs_json_uint(j, key, v->value);
	else
		cs_json_null(j, key);
}

void cs_json_events(cs_json_t *j, const cs_proc_t *p)
{
	const cs_evinfo_t *e = &p->ev;

	cs_json_obj(j, "events");
	for (size_t i = 0; i < e->ndefs; i++) {
		const cs_evval_t *w = e->work ? &e->work[i] : NULL;

		cs_json_obj(j, e->defs[i].name);
		value(j, "count", w);
		cs_json_bool(j, "scaled", w && w->known && w->scaled);
		value(j, "at_end", e->end ? &e->end[i] : NULL);
		if (e->defs[i].err)
			cs_json_int(j, "error", -(int64_t)e->defs[i].err);
		else
			cs_json_null(j, "error");
		cs_json_end_obj(j);
	}
	cs_json_end_obj(j);
}

void cs_json_event_counts(cs_json_t *j, const cs_proc_t *p)
{
	const cs_evinfo_t *e = &p->ev;

	for (size_t i = 0; i < e->ndefs; i++)
		value(j, e->defs[i].name, e->work ? &e->work[i] : NULL);
}

/* The counts read at mark m, as {name: count or null}; no key when none was read there. */
static void mark_counts(cs_json_t *j, const cs_evinfo_t *e, const cs_mark_t *m)
{
	const cs_evread_t *r = cs_evread_find(e, CS_COUNT_AT_MARK, m->seq);

	if (!r)
		return;
	cs_json_obj(j, NULL);
	cs_json_str(j, "label", m->label ? m->label : "");
	cs_json_int(j, "mark", m->seq);
	cs_json_obj(j, "events");
	for (size_t i = 0; i < e->ndefs; i++) {
		cs_evval_t v = cs_evval_of(e, r, i);

		value(j, e->defs[i].name, &v);
	}
	cs_json_end_obj(j);
	cs_json_end_obj(j);
}

void cs_json_events_at_marks(cs_json_t *j, const cs_proc_t *p)
{
	cs_json_arr(j, "events_at_marks");
	for (size_t i = 0; i < p->nmarks; i++)
		mark_counts(j, &p->ev, &p->marks[i]);
	cs_json_end_arr(j);
}

/* Whether name was written already by an earlier process of the list. */
static bool seen(const cs_model_t *m, const size_t *idx, size_t k, const char *name)
{
	for (size_t i = 0; i < k; i++)
		if (cs_evdef_find(&m->procs[idx[i]].ev, name) >= 0)
			return true;
	return false;
}

/* The sum of name over the list; false when one that defines it does not know it. */
static bool sum_of(const cs_model_t *m, const size_t *idx, size_t n, const char *name,
		   uint64_t *sum)
{
	*sum = 0;
	for (size_t k = 0; k < n; k++) {
		const cs_evinfo_t *e = &m->procs[idx[k]].ev;
		long i = cs_evdef_find(e, name);

		if (i < 0)
			continue;
		if (!e->work || !e->work[i].known)
			return false;
		*sum += e->work[i].value;
	}
	return true;
}

void cs_json_events_sum(cs_json_t *j, const cs_model_t *m, const size_t *idx, size_t n)
{
	uint64_t sum;

	cs_json_obj(j, "events");
	for (size_t k = 0; k < n; k++) {
		const cs_evinfo_t *e = &m->procs[idx[k]].ev;

		for (size_t i = 0; i < e->ndefs; i++) {
			const char *name = e->defs[i].name;

			if (seen(m, idx, k, name) || cs_evdef_find(e, name) != (long)i)
				continue;
			if (sum_of(m, idx, n, name, &sum))
				cs_json_uint(j, name, sum);
			else
				cs_json_null(j, name);
		}
	}
	cs_json_end_obj(j);
}
