/* SPDX-License-Identifier: MIT */
/* The analysis pipeline in one call: load a run directory → model figures → allocation sites. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "analyze.h"
#include "figures.h"
#include "lattrib.h"
#include "model_link.h"
#include "phases.h"
#include "rundir.h"
#include "shimcost.h"
#include "sites.h"
#include "story.h"

static int init(cs_model_t *m, const char *dir, cs_diag_t *d)
{
	char *abs;

	memset(m, 0, sizeof(*m));
	m->root = -1;
	m->dir = strdup(dir);
	abs = realpath(dir, NULL);
	m->absdir = abs ? abs : strdup(dir);
	if (!m->dir || !m->absdir) {
		cs_diag_set(d, "out of memory");
		return -ENOMEM;
	}
	return 0;
}

/* Whether some process file is format 1.minor or newer (1.1: sites; 1.2: phases are reported). */
static bool any_minor(const cs_model_t *m, uint16_t minor)
{
	for (size_t i = 0; i < m->nprocs; i++)
		if (m->procs[i].has_file && m->procs[i].fmt_minor >= minor)
			return true;
	return false;
}

/* Whether some snapshot of some process holds a side's comparison with the fork (1.4). */
static bool any_diff(const cs_model_t *m)
{
	for (size_t i = 0; i < m->nprocs; i++)
		for (size_t k = 0; k < m->procs[i].nsnaps; k++)
			if (m->procs[i].snaps[k].diff[CS_DIFF_CHILD].has ||
			    m->procs[i].snaps[k].diff[CS_DIFF_PARENT].has)
				return true;
	return false;
}

uint64_t cs_model_default_max_memory(void)
{
	long pages = sysconf(_SC_PHYS_PAGES), size = sysconf(_SC_PAGESIZE);
	uint64_t quarter = pages > 0 && size > 0 ? (uint64_t)pages * (uint64_t)size / 4
						 : 1ull << 30;

	return quarter < (256ull << 20) ? 256ull << 20 : quarter;
}

/* Roles, sibling groups and significance, once the figures are known. */
static int story(cs_model_t *m)
{
	int err;

	m->story = calloc(1, sizeof(*m->story));
	if (!m->story)
		return -ENOMEM;
	err = cs_story_compute(m, m->story);
	if (err) {
		free(m->story);
		m->story = NULL;
	}
	return err;
}

int cs_model_load(cs_model_t *m, const char *dir, cs_diag_t *d)
{
	return cs_model_load_capped(m, dir, 0, d);
}

int cs_model_load_capped(cs_model_t *m, const char *dir, uint64_t max_memory_bytes, cs_diag_t *d)
{
	int err = init(m, dir, d);

	m->max_memory_bytes = max_memory_bytes ? max_memory_bytes : cs_model_default_max_memory();
	m->evs_left = m->max_memory_bytes / 2 / sizeof(cs_aev_t);
	m->words_left = m->max_memory_bytes / 8 / 72;

	if (!err)
		err = cs_rundir_load(m, d);
	if (!err)
		err = cs_model_link(m, d);
	if (!err)
		err = cs_phases_assign(m, d);
	for (size_t i = 0; !err && i < m->nprocs; i++)
		err = cs_figures_compute(&m->procs[i], d);
	for (size_t i = 0; !err && i < m->nprocs; i++)
		if ((err = cs_proc_events_compute(&m->procs[i])) < 0)
			cs_diag_set(d, "out of memory computing event counts");
	for (size_t i = 0; !err && i < m->nprocs; i++)
		if ((err = cs_shimcost_compute(&m->procs[i])) < 0)
			cs_diag_set(d, "out of memory computing the shim's footprint");
	m->v11 = any_minor(m, 1);
	m->v12 = any_minor(m, 2);
	m->has_diff = any_diff(m);
	if (!err && (err = story(m)) < 0)
		cs_diag_set(d, "out of memory telling the run's story");
	if (!err)
		err = cs_sites_compute(m, d);
	if (!err)
		err = cs_labels_compute(m, d);
	if (err)
		cs_model_free(m);
	return err;
}
