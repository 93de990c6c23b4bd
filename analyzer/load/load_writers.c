/* SPDX-License-Identifier: MIT */
/* CS_REC_WSAMPLES: page-fault samples with their call chains, bounds-checked. */
#include <string.h>
#include "load_writers.h"
#include "vec.h"

/* One sample at c: its fixed part, then its chain into ws->ra. */
static int take_sample(cs_loader_t *l, const cs_rec_t *r, cs_cur_t *c)
{
	cs_wsampinfo_t *ws = &l->p->ws;
	cs_wsample_t s;
	const void *p;

	if (cs_cur_bytes(c, sizeof(s), &p))
		return cs_load_bad(l, r, "sample count past the record's end");
	memcpy(&s, p, sizeof(s));
	if (s.depth > cs_cur_left(c) / 8)
		return cs_load_bad(l, r, "sample call chain past the record's end");
	cs_cur_bytes(c, (size_t)s.depth * 8, &p);
	if (CS_VEC_GROW(ws->v, ws->n, ws->cap) ||
	    cs_vec_reserve((void **)&ws->ra, &ws->capra, ws->nra, s.depth, 8))
		return cs_load_nomem(l);
	if (s.depth) /* no call chain: ra may still be NULL */
		memcpy(ws->ra + ws->nra, p, (size_t)s.depth * 8);
	ws->v[ws->n++] = (cs_wsamp_t){
		.addr = s.addr, .ip = s.ip, .tid = s.tid, .depth = s.depth, .first = ws->nra
	};
	ws->nra += s.depth;
	return 0;
}

int cs_load_wsamples(cs_loader_t *l, const cs_rec_t *r, const cs_fixed_t *f, cs_cur_t *c)
{
	const cs_rec_wsamples_t *rec = &f->wsamples;
	int err = 0;

	if (rec->count > cs_cur_left(c) / sizeof(cs_wsample_t))
		return cs_load_bad(l, r, "bad sample count");
	for (uint32_t i = 0; i < rec->count && !err; i++)
		err = take_sample(l, r, c);
	if (err)
		return err;
	l->p->ws.present = true;
	if (rec->lost > l->p->ws.lost)
		l->p->ws.lost = rec->lost;
	return 0;
}
