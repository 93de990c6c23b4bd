/* SPDX-License-Identifier: MIT */
/* JSON of the perf event counts (format 1.5): per process, summed per parent and in totals (render/). */
#ifndef CS_JSON_EVENTS_H
#define CS_JSON_EVENTS_H

#include <stdbool.h>
#include <stddef.h>
#include "json_writer.h"
#include "model.h"

/* Whether some process counted events (then every process gets an "events" key). */
bool cs_json_events_any(const cs_model_t *m);

/*
 * "events": {name: {"count", "scaled", "at_end", "error"}} of one process
 * (docs/json-report.md, "events"): count at its working snapshot (a root: at its
 * end), null when not counted; error the errno it failed with, or null.
 */
void cs_json_events(cs_json_t *j, const cs_proc_t *p);

/*
 * Inside the open `counters` object (DESIGN.md: counters maps each event name
 * to its count): each event's count at the figures snapshot, as `events` has
 * it, or null when unknown. The shim's own counters' names never clash.
 */
void cs_json_event_counts(cs_json_t *j, const cs_proc_t *p);

/*
 * "events_at_marks": [{"label", "mark", "events": {name: count or null}}], one per
 * cowscope_mark() of the process with a reading, in record order (counts from its start).
 */
void cs_json_events_at_marks(cs_json_t *j, const cs_proc_t *p);

/*
 * "events": {name: sum or null} over the processes m->procs[idx[k]], k < n: each
 * name any of them counted; null when one of them that defines it does not know it.
 */
void cs_json_events_sum(cs_json_t *j, const cs_model_t *m, const size_t *idx, size_t n);

#endif
