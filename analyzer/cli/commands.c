/* SPDX-License-Identifier: MIT */
/* The command table: one row per command (cs_cmd_t, defined in cmd_<name>.c), in help's order. */
#include "cli.h"

static const cs_cmd_t *const commands[] = {
	&cs_cmd_run, &cs_cmd_report, &cs_cmd_diff, &cs_cmd_check, &cs_cmd_events, &cs_cmd_help,
};

const cs_cli_t cs_cli_commands = { commands, sizeof(commands) / sizeof(commands[0]) };
