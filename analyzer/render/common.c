/* SPDX-License-Identifier: MIT */
/* What the renderers share: formats of sizes, percentages and text made safe for a terminal. */
#include <stdio.h>
#include <string.h>
#include "render.h"

char *cs_fmt_mib(double bytes, char *buf, size_t size)
{
	double mib = bytes / (1024.0 * 1024.0);
	size_t n;

	if (mib <= 0)
		snprintf(buf, size, "0");
	else if (mib < 0.05)
		snprintf(buf, size, "<0.1");
	else if (mib < 9.95)
		snprintf(buf, size, "%.1f", mib);
	else
		snprintf(buf, size, "%.0f", mib);
	n = strlen(buf);
	if (n > 2 && !strcmp(buf + n - 2, ".0"))
		buf[n - 2] = 0;
	return buf;
}

char *cs_clean_text(const char *s, size_t len, char *buf, size_t size)
{
	size_t n = 0;

	for (size_t i = 0; s && i < len && n + 1 < size; i++) {
		unsigned char c = (unsigned char)s[i];

		buf[n++] = c == 0 ? ' ' : (c < 0x20 || c == 0x7f) ? '?' : (char)c;
	}
	buf[n] = 0;
	while (n && buf[n - 1] == ' ')
		buf[--n] = 0;
	return buf;
}

char *cs_fmt_pct(double pct, char *buf, size_t size)
{
	if (pct > 0 && pct < 0.05)
		snprintf(buf, size, "<0.1");
	else
		snprintf(buf, size, "%.1f", pct);
	return buf;
}
