/* SPDX-License-Identifier: MIT */
/* Unit-test helpers over a loaded run model: find a process, a mapping's figures. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
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
