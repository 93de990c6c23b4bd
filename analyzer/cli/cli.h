/* SPDX-License-Identifier: MIT */
/* The command-line layer: exit codes, the command descriptor, usage errors, argument parsing. */
#ifndef CS_CLI_H
#define CS_CLI_H

#include <stddef.h>
#include <stdio.h>

/* Exit codes (DESIGN.md). */
enum cs_exit {
	CS_EXIT_OK = 0,
	CS_EXIT_CHECK = 1,   /* reserved: `check` found a regression */
	CS_EXIT_USAGE = 2,
	CS_EXIT_TRACE = 3,   /* unreadable or unsupported trace */
	CS_EXIT_SYSTEM = 4,  /* runtime or system error */
};

typedef struct cs_cmd cs_cmd_t;

/* The command table, as main() holds it. */
typedef struct cs_cli {
	const cs_cmd_t *const *cmds;
	size_t ncmds;
} cs_cli_t;

struct cs_cmd {
	const char *name;
	const char *summary;  /* one line for the command list */
	const char *usage;    /* after "usage: cowscope " */
	const char *help;     /* description and options, for --help */
	/* argv[0] is the command's name. Returns an exit code. */
	int (*main)(const cs_cli_t *cli, int argc, char **argv);
};

extern const cs_cmd_t cs_cmd_run;
extern const cs_cmd_t cs_cmd_report;
extern const cs_cmd_t cs_cmd_diff;
extern const cs_cmd_t cs_cmd_help;

/* The command called name, or NULL. */
const cs_cmd_t *cs_cli_find(const cs_cli_t *cli, const char *name);

/* Print the command list and the global options to f. */
void cs_help_overview(FILE *f, const cs_cli_t *cli);

/* Print a command's usage line and help to f. */
void cs_help_command(FILE *f, const cs_cmd_t *c);

/*
 * Report a usage error of command c (NULL: of cowscope itself) on stderr,
 * naming the problem and pointing to --help. Returns CS_EXIT_USAGE.
 */
int cs_usage_error(const cs_cmd_t *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Parse a decimal unsigned number <= max. Returns 0 or -EINVAL. */
int cs_parse_uint(const char *s, unsigned long max, unsigned long *out);

/*
 * The usage error for getopt's return `opt` ('?' unknown option, ':' missing
 * argument), given the argv getopt saw. Returns CS_EXIT_USAGE.
 */
int cs_getopt_error(const cs_cmd_t *c, int opt, char **argv);

#endif
