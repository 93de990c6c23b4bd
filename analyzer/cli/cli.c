/* SPDX-License-Identifier: MIT */
/* The command-line layer's driver: global options, dispatch to a command row, usage errors. */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include "cli.h"
#include "cs_config.h"

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

/* Options, operands, then the work; help instead of the work if asked. */
static int exec_ctx(const cs_cli_t *cli, const cs_cmd_t *c, void *ctx, int argc, char **argv)
{
	bool help;
	int first, rc = cs_cli_parse(c, ctx, argc, argv, &help, &first);

	if (rc)
		return rc;
	if (help) {
		cs_help_command(stdout, c);
		return CS_EXIT_OK;
	}
	rc = c->args(ctx, argc - first, argv + first);
	return rc ? rc : c->run(ctx, cli);
}

int cs_cli_exec(const cs_cli_t *cli, const cs_cmd_t *c, int argc, char **argv)
{
	void *ctx = calloc(1, c->ctx_size ? c->ctx_size : 1);
	int rc;

	if (!ctx) {
		fprintf(stderr, "cowscope: out of memory\n");
		return CS_EXIT_SYSTEM;
	}
	if (c->init)
		c->init(ctx);
	rc = exec_ctx(cli, c, ctx, argc, argv);
	if (c->fini)
		c->fini(ctx);
	free(ctx);
	return rc;
}

static int opt_help(const cs_cli_t *cli)
{
	cs_help_overview(stdout, cli);
	return CS_EXIT_OK;
}

static int opt_version(const cs_cli_t *cli)
{
	(void)cli;
	printf("cowscope " CS_VERSION "\n");
	return CS_EXIT_OK;
}

/* What `cowscope OPTION` does without a command. */
static const struct {
	const char *name;
	const char *alias;
	int (*fn)(const cs_cli_t *cli);
} global_opts[] = {
	{ "--help", "-h", opt_help },
	{ "--version", "-V", opt_version },
};

int cs_cli_main(const cs_cli_t *cli, int argc, char **argv)
{
	const cs_cmd_t *c;

	if (argc < 2)
		return cs_usage_error(NULL, "no command given");
	for (size_t i = 0; i < sizeof(global_opts) / sizeof(global_opts[0]); i++)
		if (!strcmp(argv[1], global_opts[i].name) || !strcmp(argv[1], global_opts[i].alias))
			return global_opts[i].fn(cli);
	c = cs_cli_find(cli, argv[1]);
	if (!c && argv[1][0] == '-')
		return cs_usage_error(NULL, "unknown option '%s'", argv[1]);
	if (!c)
		return cs_usage_error(NULL, "unknown command '%s'", argv[1]);
	return cs_cli_exec(cli, c, argc - 1, argv + 1);
}
