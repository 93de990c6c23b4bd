/* SPDX-License-Identifier: MIT */
/* JSON of the run's story (story.h): each process's role, and the sibling groups' spreads. */
#ifndef CS_JSON_STORY_H
#define CS_JSON_STORY_H

#include "json_writer.h"
#include "model.h"
#include "story.h"

/*
 * A process's story keys: "label", "program", "significant", "forked_at_s", "ended_at_s",
 * "via_execs" (docs/json-report.md). i is its index in the model's procs.
 */
void cs_json_story_proc(cs_json_t *j, const cs_story_t *s, size_t i);

/*
 * The top-level "story": the sort figure that dominates, the significance threshold, the
 * children folded as not significant, and the sibling groups with their members in fork
 * order and min/median/max/sum of each figure.
 */
void cs_json_story(cs_json_t *j, const cs_model_t *m, const cs_story_t *s);

#endif
