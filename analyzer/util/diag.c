/* SPDX-License-Identifier: MIT */
/* Diagnostics: formatting the message of a failure. */
#include <stdarg.h>
#include <stdio.h>
#include "diag.h"

void cs_diag_set(cs_diag_t *d, const char *fmt, ...)
{
	va_list ap;

	if (!d)
		return;
	va_start(ap, fmt);
	vsnprintf(d->msg, sizeof(d->msg), fmt, ap);
	va_end(ap);
}
