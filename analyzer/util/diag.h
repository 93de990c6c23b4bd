/* SPDX-License-Identifier: MIT */
/* Diagnostics: the one message an analyzer failure carries to the user. */
#ifndef CS_DIAG_H
#define CS_DIAG_H

#define CS_DIAG_MAX 768

typedef struct cs_diag {
	char msg[CS_DIAG_MAX]; /* empty when nothing went wrong */
} cs_diag_t;

/*
 * Set the message (printf-style), replacing any earlier one. d may be NULL.
 * Messages name the file and, for a bad record, its number and offset.
 */
void cs_diag_set(cs_diag_t *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
