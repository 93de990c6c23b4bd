/* SPDX-License-Identifier: MIT */
/* Unit-test helpers over a loaded run model: find a process, a mapping's figures. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "analyze.h"
#include "cs_testmodel.h"
#include "cs_testutil.h"

const cs_proc_t *tm_proc(const cs_model_t *m, uint32_t pid, uint32_t gen)
{
	long i = cs_model_find(m, pid, gen);

	assert_true(i >= 0);
	return &m->procs[i];
}

const cs_mapfig_t *tm_mapfig(const cs_proc_t *p, uint64_t start_page)
{
	for (size_t i = 0; i < p->fig.nmaps; i++)
		if (p->fig.maps[i].start == start_page * TU_PAGE)
			return &p->fig.maps[i];
	fail_msg("no mapping at page %llu", (unsigned long long)start_page);
	return NULL;
}

cs_render_opts_t tm_opts = { .top = 5 };

char *tm_render(int (*fn)(FILE *, const cs_model_t *, const cs_render_opts_t *),
		const cs_model_t *m)
{
	cs_render_opts_t o = tm_opts;
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	assert_int_equal(fn(f, m, &o), 0);
	fclose(f);
	if (getenv("CS_TEST_DUMP")) /* to look at a report while changing it */
		fputs(buf, stderr);
	return buf;
}

char *tm_render_loaded(void (*load)(cs_model_t *m),
		       int (*fn)(FILE *, const cs_model_t *, const cs_render_opts_t *))
{
	cs_model_t m;
	char *buf;

	load(&m);
	buf = tm_render(fn, &m);
	cs_model_free(&m);
	return buf;
}

static void load_dir(const char *dir, cs_model_t *m)
{
	cs_diag_t d = { "" };

	if (cs_model_load(m, dir, &d))
		fail_msg("cs_model_load %s: %s", dir, d.msg);
}

char *tm_render_dir(const char *dir,
		    int (*fn)(FILE *, const cs_model_t *, const cs_render_opts_t *))
{
	cs_model_t m;
	char *buf;

	load_dir(dir, &m);
	buf = tm_render(fn, &m);
	cs_model_free(&m);
	return buf;
}

void tm_fake_init(tm_fake_t *f)
{
	memset(f, 0, sizeof(*f));
	f->m.procs = f->procs;
	f->m.root = -1;
}
