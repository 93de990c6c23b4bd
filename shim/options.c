/* SPDX-License-Identifier: MIT */
/* COWSCOPE_* option table: parse, default, one warning per bad value. */
#include <errno.h>
#include <string.h>
#include "backend.h"
#include "options.h"

typedef struct option_def {
	const char *name;
	const char *accepts;
	int (*parse)(cs_options_t *o, const char *v);
} option_def_t;

static int parse_out(cs_options_t *o, const char *v)
{
	size_t n = strlen(v);

	if (n == 0 || n >= sizeof(o->out))
		return -EINVAL;
	memcpy(o->out, v, n + 1);
	return 0;
}

static int parse_backend(cs_options_t *o, const char *v)
{
	return cs_backend_parse(v, &o->backend);
}

static int parse_verbose(cs_options_t *o, const char *v)
{
	if (v[0] < '0' || v[0] > '2' || v[1] != 0)
		return -EINVAL;
	o->verbose = (uint8_t)(v[0] - '0');
	return 0;
}

static const option_def_t table[] = {
	{"COWSCOPE_OUT", "a directory path shorter than 1024 bytes", parse_out},
	{"COWSCOPE_BACKEND", "auto, uffd-wp, soft-dirty, pfn or exclusive", parse_backend},
	{"COWSCOPE_VERBOSE", "0, 1 or 2", parse_verbose},
};

static void warn_bad(cs_warn_fn warn, const option_def_t *d, const char *v)
{
	char msg[512];
	size_t n = 0;
	const char *parts[] = {"cowscope: ignoring ", d->name, "=", v, ": expected ", d->accepts,
			       "; using the default"};

	for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
		size_t l = strlen(parts[i]);

		if (l > sizeof(msg) - 1 - n)
			l = sizeof(msg) - 1 - n;
		memcpy(msg + n, parts[i], l);
		n += l;
	}
	msg[n] = 0;
	warn(msg, n);
}

int cs_options_load(cs_options_t *o, cs_getenv_fn get, cs_warn_fn warn)
{
	int warnings = 0;

	memset(o, 0, sizeof(*o));
	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
		const char *v = get(table[i].name);
		cs_options_t saved = *o;

		if (!v)
			continue;
		if (table[i].parse(o, v) < 0) {
			*o = saved;
			warn_bad(warn, &table[i], v);
			warnings++;
		}
	}
	return warnings;
}
