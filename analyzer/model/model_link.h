/* SPDX-License-Identifier: MIT */
/* Linking loaded processes into a run (internal to the model). */
#ifndef CS_MODEL_LINK_H
#define CS_MODEL_LINK_H

#include "diag.h"
#include "model.h"

/*
 * After every file is loaded: normalize page sets and order snapshots; add
 * the processes known only from FORK or CHILD_EXIT records (and the image an
 * exec led to); resolve how each process ended and whether it is complete;
 * link the tree (ppid, exec generations); find the run's root. Returns 0 or
 * -ENOMEM (d says so).
 */
int cs_model_link(cs_model_t *m, cs_diag_t *d);

#endif
