/* SPDX-License-Identifier: MIT */
/* The cowscope CLI: the command table, global options, and a checked stdout at exit. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "cli.h"
#include "cs_config.h"

static const cs_cmd_t *const commands[] = {
	&cs_cmd_run,
	&cs_cmd_report,
	&cs_cmd_diff,
	&cs_cmd_help,
};

static const cs_cli_t cli = { commands, sizeof(commands) / sizeof(commands[0]) };

static int opt_help(void)
{
	cs_help_overview(stdout, &cli);
	return CS_EXIT_OK;
}

static int opt_version(void)
{
	printf("cowscope " CS_VERSION "\n");
	return CS_EXIT_OK;
}

static const struct {
	const char *name;
	const char *alias;
	int (*fn)(void);
} global_opts[] = {
	{ "--help", "-h", opt_help },
	{ "--version", "-V", opt_version },
};

/* Anything the command printed must have reached stdout. */
static int check_stdout(int rc)
{
	if (fflush(stdout) == 0 && !ferror(stdout))
		return rc;
	fprintf(stderr, "cowscope: error writing output: %s\n", strerror(errno));
	return CS_EXIT_SYSTEM;
}

static int dispatch(int argc, char **argv)
{
	const cs_cmd_t *c;

	if (argc < 2)
		return cs_usage_error(NULL, "no command given");
	for (size_t i = 0; i < sizeof(global_opts) / sizeof(global_opts[0]); i++)
		if (!strcmp(argv[1], global_opts[i].name) || !strcmp(argv[1], global_opts[i].alias))
			return global_opts[i].fn();
	c = cs_cli_find(&cli, argv[1]);
	if (!c && argv[1][0] == '-')
		return cs_usage_error(NULL, "unknown option '%s'", argv[1]);
	if (!c)
		return cs_usage_error(NULL, "unknown command '%s'", argv[1]);
	return c->main(&cli, argc - 1, argv + 1);
}

int main(int argc, char **argv)
{
	return check_stdout(dispatch(argc, argv));
}
