/* SPDX-License-Identifier: MIT */
/* Loading the page-fault samples of format 1.5 (CS_REC_WSAMPLES) into a process. */
#ifndef CS_LOAD_WRITERS_H
#define CS_LOAD_WRITERS_H

#include "loader.h"

/*
 * The record table's handler of CS_REC_WSAMPLES: count samples, each a
 * cs_wsample_t and its depth return addresses, every one checked against the
 * record's length; appended to l->p->ws in order, lost taken as the latest
 * cumulative count. Returns 0, -EBADMSG (l->d names file and record) or
 * -ENOMEM. Cost: linear in the record.
 */
int cs_load_wsamples(cs_loader_t *l, const cs_rec_t *r, const cs_fixed_t *f, cs_cur_t *c);

#endif
