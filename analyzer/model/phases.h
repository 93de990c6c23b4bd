/* SPDX-License-Identifier: MIT */
/* Phases of a run: the cowscope_mark() labels that split it, and which phase each process is in. */
#ifndef CS_PHASES_H
#define CS_PHASES_H

#include "diag.h"
#include "model.h"

/* The name of the first phase, before any mark. */
#define CS_PHASE_START "start"

/*
 * After the tree is linked: name the phases (m->phases: "start", then the
 * labels of the marks of every process that has a child, each once, in order
 * of its first mark) and set each process's phase: a root's is "start"; a
 * child's is that of its parent's last mark before the child began (its PROC
 * start time, else the parent's FORK record time), and without such a mark
 * the parent's own phase. An exec image continues its previous image's.
 * Returns 0 or -ENOMEM (d says so). O(marks log marks + processes x marks of
 * their parent).
 */
int cs_phases_assign(cs_model_t *m, cs_diag_t *d);

/* Index of the phase called name in a loaded model, or -1. O(phases). */
long cs_phase_find(const cs_model_t *m, const char *name);

#endif
