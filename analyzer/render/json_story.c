/* SPDX-License-Identifier: MIT */
/* JSON of the run's story (story.h): each process's role, and the sibling groups' spreads. */
#include <math.h>
#include <stdlib.h>
#include "json_story.h"
#include "render.h"
#include "story.h"

void cs_json_story_proc(cs_json_t *j, const cs_story_t *s, size_t i)
{
	const cs_pstory_t *ps = &s->p[i];

	cs_json_str(j, "label", ps->label);
	cs_json_str(j, "program", ps->program);
	cs_json_bool(j, "significant", ps->significant);
	cs_json_num(j, "forked_at_s", ps->forked_at_s, 6);
	cs_json_num(j, "ended_at_s", ps->ended_at_s, 6);
	cs_json_int(j, "via_execs", ps->chain_last == (long)i ? ps->execs : 0);
}

/* Pages: min, median, max and sum; a fraction (retained): min, median, max. */
static void spread(cs_json_t *j, const char *key, const cs_spread_t *s, bool pages)
{
	cs_json_obj(j, key);
	if (pages) {
		cs_json_pages(j, "min", s->min);
		cs_json_pages(j, "median", s->median);
		cs_json_pages(j, "max", s->max);
		cs_json_pages(j, "sum", s->sum);
	} else {
		cs_json_num(j, "min", s->min, 6);
		cs_json_num(j, "median", s->median, 6);
		cs_json_num(j, "max", s->max, 6);
	}
	cs_json_end_obj(j);
}

static void group(cs_json_t *j, const cs_model_t *m, const cs_sib_t *g)
{
	char *cmd = malloc(g->cmd_len + 1);

	cs_json_obj(j, NULL);
	cs_json_opt(j, "ppid", g->ppid);
	cs_json_str(j, "command",
		    cmd ? cs_cmdline_str(g->cmd, g->cmd_len, cmd, g->cmd_len + 1) : NULL);
	free(cmd);
	cs_json_arr(j, "children");
	for (size_t k = 0; k < g->n; k++)
		cs_json_int(j, NULL, m->procs[g->members[k]].pid);
	cs_json_end_arr(j);
	cs_json_int(j, "measured", (int64_t)g->measured);
	cs_json_bool(j, "concurrent", g->concurrent);
	cs_json_int(j, "respawned", (int64_t)g->respawned);
	cs_json_bool(j, "significant", g->significant);
	cs_json_opt(j, "worst_pid", g->worst >= 0 ? (int64_t)m->procs[g->worst].pid : CS_UNKNOWN);
	cs_json_num(j, "first_fork_s", g->first_fork_s, 6);
	spread(j, "shared_at_fork_pages", &g->shared, true);
	spread(j, "child_copied_pages", &g->copied, true);
	spread(j, "parent_unshared_pages", &g->punshared, true);
	spread(j, "unshared_pages", &g->unshared, true);
	spread(j, "child_new_pages", &g->newp, true);
	spread(j, "share_retained", &g->retained, false);
	cs_json_end_obj(j);
}

void cs_json_story(cs_json_t *j, const cs_model_t *m, const cs_story_t *s)
{
	cs_json_obj(j, "story");
	cs_json_str(j, "dominant", cs_sort_name(s->dominant));
	cs_json_num(j, "significant_bytes", s->threshold_bytes, 0);
	cs_json_int(j, "folded_children", (int64_t)s->folded);
	cs_json_arr(j, "groups");
	for (size_t g = 0; g < s->nsibs; g++)
		group(j, m, &s->sibs[g]);
	cs_json_end_arr(j);
	cs_json_end_obj(j);
}
