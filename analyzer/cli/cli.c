/* SPDX-License-Identifier: MIT */
/* The command-line layer's shared helpers: lookup, usage errors, numbers, getopt errors. */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include "cli.h"

const cs_cmd_t *cs_cli_find(const cs_cli_t *cli, const char *name)
{
	for (size_t i = 0; i < cli->ncmds; i++)
		if (!strcmp(cli->cmds[i]->name, name))
			return cli->cmds[i];
	return NULL;
}

int cs_usage_error(const cs_cmd_t *c, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, c ? "cowscope %s: " : "cowscope: ", c ? c->name : "");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	if (c)
		fprintf(stderr, "\nTry 'cowscope %s --help'.\n", c->name);
	else
		fprintf(stderr, "\nTry 'cowscope --help'.\n");
	return CS_EXIT_USAGE;
}

int cs_parse_uint(const char *s, unsigned long max, unsigned long *out)
{
	char *end;
	unsigned long v;

	if (!s || *s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

int cs_getopt_error(const cs_cmd_t *c, int opt, char **argv)
{
	const char *arg = argv[optind - 1];

	if (opt == ':')
		return cs_usage_error(c, "option '%s' needs an argument", arg);
	if (optopt && strncmp(arg, "--", 2))
		return cs_usage_error(c, "unknown option '-%c'", optopt);
	return cs_usage_error(c, "unknown option '%s'", arg);
}
