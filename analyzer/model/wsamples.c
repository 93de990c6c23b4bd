/* SPDX-License-Identifier: MIT */
/* Freeing the page-fault samples and writers of a process. */
#include <stdlib.h>
#include <string.h>
#include "allocs.h"
#include "wsamples.h"

void cs_wsampinfo_free(cs_wsampinfo_t *ws)
{
	free(ws->v);
	free(ws->ra);
	memset(ws, 0, sizeof(*ws));
}

void cs_writers_free(cs_wstack_t *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i].owners);
	free(v);
}
