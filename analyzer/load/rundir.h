/* SPDX-License-Identifier: MIT */
/* Reading a run directory into a model. */
#ifndef CS_RUNDIR_H
#define CS_RUNDIR_H

#include "diag.h"
#include "model.h"

/*
 * Read every *.cst file of m->dir (m initialised with its dir, absdir and
 * memory budget) in name order into m's processes and run info; files of a
 * newer minor version's unknown kinds are skipped. Returns 0; -ENOENT/-errno
 * if the directory cannot be read or holds no traces; -EBADMSG or
 * -EPROTONOSUPPORT for a bad trace; -ENOMEM. d names the file and record.
 */
int cs_rundir_load(cs_model_t *m, cs_diag_t *d);

#endif
