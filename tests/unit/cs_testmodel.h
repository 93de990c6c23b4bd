/* SPDX-License-Identifier: MIT */
/* Unit-test helpers over a loaded run model: find a process, a mapping's figures. */
#ifndef CS_TESTMODEL_H
#define CS_TESTMODEL_H

#include <stdint.h>
#include "model.h"
#include "render.h"

/* The process (pid, gen) of a loaded model; fails the running test if there is none. */
const cs_proc_t *tm_proc(const cs_model_t *m, uint32_t pid, uint32_t gen);

/* The figures of p's mapping starting at page start_page (TU_PAGE pages); fails if none. */
const cs_mapfig_t *tm_mapfig(const cs_proc_t *p, uint64_t start_page);

/* A model built in memory over room for TM_FAKE_PROCS processes (tests add them to m.nprocs). */
#define TM_FAKE_PROCS 16
typedef struct tm_fake {
	cs_model_t m;
	cs_proc_t procs[TM_FAKE_PROCS];
} tm_fake_t;

/* Empty f: no process, no root; the caller sets what its test needs (run, dir). */
void tm_fake_init(tm_fake_t *f);

/* The options tm_render uses: --top 5 unless a test changes them (e.g. all, per_process). */
extern cs_render_opts_t tm_opts;

/* What a renderer (cs_render_text, cs_render_json, ...) writes of m with tm_opts, as a malloc'd string. */
char *tm_render(int (*fn)(FILE *, const cs_model_t *, const cs_render_opts_t *),
		const cs_model_t *m);

/* tm_render of the model load() fills (then freed). */
char *tm_render_loaded(void (*load)(cs_model_t *m),
		       int (*fn)(FILE *, const cs_model_t *, const cs_render_opts_t *));

/* tm_render of run directory dir, loaded with cs_model_load (then freed). */
char *tm_render_dir(const char *dir,
		    int (*fn)(FILE *, const cs_model_t *, const cs_render_opts_t *));

/*
 * A test file's temporary directory and the model loaded from it: declares
 * `static char *dirvar` and `static cs_model_t mvar`, and the cmocka fixtures
 * setup() (a new empty directory, an empty model) and teardown() (the model
 * freed, the directory removed).
 */
#define TM_DIR_MODEL_FIXTURE(dirvar, mvar)      \
	static char *dirvar;                    \
	static cs_model_t mvar;                 \
	static int setup(void **state)          \
	{                                       \
		(void)state;                    \
		dirvar = tu_mkdtemp();          \
		memset(&mvar, 0, sizeof(mvar)); \
		return 0;                       \
	}                                       \
	static int teardown(void **state)       \
	{                                       \
		(void)state;                    \
		cs_model_free(&mvar);           \
		tu_rmtree(dirvar);              \
		free(dirvar);                   \
		return 0;                       \
	}

#endif
