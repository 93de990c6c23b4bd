/* SPDX-License-Identifier: MIT */
/* The command-line layer: exit codes, the command table's row and option descriptors, usage errors. */
#ifndef CS_CLI_H
#define CS_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* Exit codes (DESIGN.md). */
enum cs_exit {
	CS_EXIT_OK = 0,
	CS_EXIT_CHECK = 1, /* reserved: `check` found a regression */
	CS_EXIT_USAGE = 2,
	CS_EXIT_TRACE = 3,  /* unreadable or unsupported trace */
	CS_EXIT_SYSTEM = 4, /* runtime or system error */
};

typedef struct cs_cmd cs_cmd_t;

/* A command table: cs_cli_commands, or a part of it in tests. */
typedef struct cs_cli {
	const cs_cmd_t *const *cmds;
	size_t ncmds;
} cs_cli_t;

/* How an option's argument is read before the command sees it. */
typedef enum cs_arg_kind {
	CS_ARG_NONE,   /* a flag: no argument */
	CS_ARG_STR,    /* any string; the command's parse checks it */
	CS_ARG_UINT,   /* a decimal number from min to max */
	CS_ARG_CHOICE, /* one of choices */
} cs_arg_kind_t;

/*
 * One option of a command. A command's options are an array ending with a
 * row whose name is NULL; the getopt_long tables, the usage line and the
 * options part of --help are all made from it.
 */
typedef struct cs_opt {
	int id;           /* given to the command's parse; CS_OPT_HELP is handled here */
	const char *name; /* long name, without "--" */
	char letter;      /* short option, 0 for none */
	cs_arg_kind_t kind;
	const char *arg;        /* the argument's name in help ("N", "DIR"); NULL for a flag */
	const char *help;       /* lines separated by '\n', no final newline */
	unsigned long min, max; /* CS_ARG_UINT: the accepted range */
	const char *unit;       /* CS_ARG_UINT: what an error says it wants (default "a number") */
	const char *const *choices; /* CS_ARG_CHOICE: the accepted words, NULL-terminated */
	bool arg_optional; /* --name or --name=ARG (never --name ARG); parse gets str NULL without */
} cs_opt_t;

/* An option's value as the plumbing read it. */
typedef struct cs_optval {
	const char *str;   /* the argument as given; NULL for a flag */
	unsigned long num; /* CS_ARG_UINT: the number; CS_ARG_CHOICE: the index in choices */
} cs_optval_t;

/* Ids every command shares; a command's own ids are >= 0. */
enum { CS_OPT_HELP = -1 };

/* Most options a command may have (the getopt tables are built on the stack). */
#define CS_OPTS_MAX 24

/* The largest --top. */
#define CS_TOP_MAX 100000

/* -h, --help: handled by the plumbing, never seen by parse. */
#define CS_OPT_HELP_ROW                                                                    \
	{                                                                                  \
		.id = CS_OPT_HELP, .name = "help", .letter = 'h', .help = "show this help" \
	}

/* -f, --format FMT: one of formats (NULL-terminated); parse gets its index. */
#define CS_OPT_FORMAT_ROW(id_, formats_, help_)                                                    \
	{                                                                                          \
		.id = (id_), .name = "format", .letter = 'f', .kind = CS_ARG_CHOICE, .arg = "FMT", \
		.choices = (formats_), .help = (help_)                                             \
	}

/* -n, --top N: 0 to CS_TOP_MAX; parse gets the number. */
#define CS_OPT_TOP_ROW(id_, help_)                                                          \
	{                                                                                   \
		.id = (id_), .name = "top", .letter = 'n', .kind = CS_ARG_UINT, .arg = "N", \
		.max = CS_TOP_MAX, .help = (help_)                                          \
	}

/*
 * One row of the command table. cs_cli_exec allocates ctx_size zeroed bytes,
 * calls init, parse once per option (in command-line order), args with the
 * operands, run, and fini (always, once init ran). parse, args and run
 * return 0 or an exit code, having said why on stderr.
 */
struct cs_cmd {
	const char *name;
	const char *summary;     /* one line for the command list */
	const char *operands;    /* the usage line after the options: "RUN", "-- CMD [ARG...]" */
	const char *description; /* --help, before the options */
	const char *epilogue;    /* --help, after the options (formats, environment, exit status) */
	const cs_opt_t *opts;    /* ends with a row whose name is NULL */
	size_t ctx_size;
	void (*init)(void *ctx);                               /* defaults; NULL: all zero */
	int (*parse)(void *ctx, int id, const cs_optval_t *v); /* NULL: no own options */
	int (*args)(void *ctx, int argc, char **argv);
	int (*run)(void *ctx, const cs_cli_t *cli);
	void (*fini)(void *ctx); /* NULL: nothing to free */
};

extern const cs_cmd_t cs_cmd_run;
extern const cs_cmd_t cs_cmd_report;
extern const cs_cmd_t cs_cmd_diff;
extern const cs_cmd_t cs_cmd_check;
extern const cs_cmd_t cs_cmd_events;
extern const cs_cmd_t cs_cmd_help;

/* Every command, in the order `cowscope help` lists them (commands.c). */
extern const cs_cli_t cs_cli_commands;

/*
 * `cowscope ARGS` with the command table cli: global options (--help,
 * --version), then the command argv[1] names. Returns the exit code; the
 * caller checks stdout.
 */
int cs_cli_main(const cs_cli_t *cli, int argc, char **argv);

/* Run command c on argv (argv[0] is its name) as cs_cmd_t describes. Returns the exit code. */
int cs_cli_exec(const cs_cli_t *cli, const cs_cmd_t *c, int argc, char **argv);

/*
 * Read c's options from argv with one getopt_long loop built from c->opts,
 * giving each to c->parse(ctx) once its argument is checked (cs_opt_read).
 * *help is set by -h/--help (the other options are still read); *first gets
 * the index of the first operand. Returns 0 or CS_EXIT_USAGE (or parse's exit code).
 */
int cs_cli_parse(const cs_cmd_t *c, void *ctx, int argc, char **argv, bool *help, int *first);

/*
 * Check option o's argument s and read it into v: a number in range for
 * CS_ARG_UINT, a word of choices for CS_ARG_CHOICE. A bad one is a usage
 * error of c naming the option and the value. Returns 0 or CS_EXIT_USAGE.
 */
int cs_opt_read(const cs_cmd_t *c, const cs_opt_t *o, const char *s, cs_optval_t *v);

/* The command called name, or NULL. */
const cs_cmd_t *cs_cli_find(const cs_cli_t *cli, const char *name);

/* Print the command list and the global options to f. */
void cs_help_overview(FILE *f, const cs_cli_t *cli);

/* Print a command's usage line (wrapped), description, options and epilogue to f. */
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
