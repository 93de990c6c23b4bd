/* SPDX-License-Identifier: MIT */
/* `cowscope help [COMMAND]`, and the help texts' layout shared by every command. */
#include <string.h>
#include "cli.h"
#include "cs_config.h"

void cs_help_overview(FILE *f, const cs_cli_t *cli)
{
	fprintf(f, "usage: cowscope <command> [options] [args]\n\n"
		   "cowscope " CS_VERSION " measures fork copy-on-write memory sharing: how much memory\n"
		   "forked children stop sharing with their parent, and which memory it was.\n\n"
		   "commands:\n");
	for (size_t i = 0; i < cli->ncmds; i++)
		fprintf(f, "  %-8s %s\n", cli->cmds[i]->name, cli->cmds[i]->summary);
	fprintf(f, "\n'cowscope help <command>' or 'cowscope <command> --help' shows a command's "
		   "options;\n'cowscope --version' prints the version.\n\n"
		   "exit status: 0 ok, 1 check found a regression, 2 usage error,\n"
		   "3 unreadable or unsupported trace, 4 runtime or system error\n"
		   "(`run` exits with the command's own status).\n");
}

void cs_help_command(FILE *f, const cs_cmd_t *c)
{
	fprintf(f, "usage: cowscope %s\n\n%s", c->usage, c->help);
}

static int help_main(const cs_cli_t *cli, int argc, char **argv)
{
	const cs_cmd_t *c;

	if (argc > 2)
		return cs_usage_error(&cs_cmd_help, "too many arguments");
	if (argc < 2) {
		cs_help_overview(stdout, cli);
		return CS_EXIT_OK;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		cs_help_command(stdout, &cs_cmd_help);
		return CS_EXIT_OK;
	}
	if (argv[1][0] == '-' && argv[1][1])
		return cs_usage_error(&cs_cmd_help, "unknown option '%s'", argv[1]);
	c = cs_cli_find(cli, argv[1]);
	if (!c)
		return cs_usage_error(&cs_cmd_help, "unknown command '%s'", argv[1]);
	cs_help_command(stdout, c);
	return CS_EXIT_OK;
}

const cs_cmd_t cs_cmd_help = {
	.name = "help",
	.summary = "show the commands, or one command's options",
	.usage = "help [COMMAND]",
	.help = "Without COMMAND, lists the commands; with it, shows that command's options.\n",
	.main = help_main,
};
