/* SPDX-License-Identifier: MIT */
/* `cowscope help [COMMAND]`, and every help text's layout, made from the command table. */
#include <string.h>
#include "cli.h"
#include "cs_config.h"

/* Usage lines wrap before this column. */
#define USAGE_COLS 90

void cs_help_overview(FILE *f, const cs_cli_t *cli)
{
	fprintf(f,
		"usage: cowscope <command> [options] [args]\n\n"
		"cowscope " CS_VERSION
		" measures fork copy-on-write memory sharing: how much memory\n"
		"forked children stop sharing with their parent, and which memory it was.\n\n"
		"commands:\n");
	for (size_t i = 0; i < cli->ncmds; i++)
		fprintf(f, "  %-8s %s\n", cli->cmds[i]->name, cli->cmds[i]->summary);
	fprintf(f,
		"\n'cowscope help <command>' or 'cowscope <command> --help' shows a command's "
		"options;\n'cowscope --version' prints the version.\n\n"
		"exit status: 0 ok, 1 check found a regression, 2 usage error,\n"
		"3 unreadable or unsupported trace, 4 runtime or system error\n"
		"(`run` exits with the command's own status).\n");
}

/* An option as the usage line shows it: "[--top N]", "[--format text|json]", "[--quiet]". */
static void usage_word(const cs_opt_t *o, char *buf, size_t size)
{
	size_t n = (size_t)snprintf(buf, size, "[--%s", o->name);

	for (size_t i = 0; o->kind == CS_ARG_CHOICE && o->choices[i] && n < size; i++)
		n += (size_t)snprintf(buf + n, size - n, "%c%s", i ? '|' : ' ', o->choices[i]);
	if (o->kind != CS_ARG_CHOICE && o->arg && n < size)
		n += (size_t)snprintf(buf + n, size - n, o->arg_optional ? "[=%s]" : " %s", o->arg);
	if (n < size)
		snprintf(buf + n, size - n, "]");
}

/* Print word at column *col, first on a new line indented to indent if it would pass the edge. */
static void put_word(FILE *f, const char *word, size_t indent, size_t *col)
{
	size_t len = strlen(word);

	if (*col > indent && *col + 1 + len >= USAGE_COLS) {
		fprintf(f, "\n%*s", (int)indent, "");
		*col = indent;
	} else if (*col > indent) {
		fputc(' ', f);
		(*col)++;
	}
	fputs(word, f);
	*col += len;
}

/* "usage: cowscope NAME [options...] OPERANDS", wrapped under the name. */
static void help_usage(FILE *f, const cs_cmd_t *c)
{
	char word[256];
	size_t col = (size_t)fprintf(f, "usage: cowscope %s ", c->name), indent = col;

	for (const cs_opt_t *o = c->opts; o->name; o++) {
		if (o->id == CS_OPT_HELP)
			continue;
		usage_word(o, word, sizeof(word));
		put_word(f, word, indent, &col);
	}
	if (c->operands && *c->operands)
		put_word(f, c->operands, indent, &col);
	fputc('\n', f);
}

/* "  -n, --top N", "      --no-python" or "      --python-lines[=N]" into buf; its length. */
static size_t opt_left(const cs_opt_t *o, char *buf, size_t size)
{
	const char *pre = !o->arg ? "" : o->arg_optional ? "[=" : " ";
	const char *post = o->arg && o->arg_optional ? "]" : "";
	const char *arg = o->arg ? o->arg : "";
	int n = o->letter
		? snprintf(buf, size, "  -%c, --%s%s%s%s", o->letter, o->name, pre, arg, post)
		: snprintf(buf, size, "      --%s%s%s%s", o->name, pre, arg, post);

	return n < 0 ? 0 : (size_t)n >= size ? size - 1 : (size_t)n;
}

/* One option: its names, then its help lines aligned at column width. */
static void put_opt(FILE *f, const cs_opt_t *o, size_t width)
{
	char left[128];
	size_t n = opt_left(o, left, sizeof(left));
	const char *line = o->help ? o->help : "";

	fprintf(f, "%s%*s", left, (int)(width - n), "");
	for (const char *nl; (nl = strchr(line, '\n')); line = nl + 1)
		fprintf(f, "%.*s\n%*s", (int)(nl - line), line, (int)width, "");
	fprintf(f, "%s\n", line);
}

static void put_opts(FILE *f, const cs_cmd_t *c)
{
	char left[128];
	size_t width = 0;

	for (const cs_opt_t *o = c->opts; o->name; o++) {
		size_t n = opt_left(o, left, sizeof(left)) + 2;

		width = n > width ? n : width;
	}
	fprintf(f, "options:\n");
	for (const cs_opt_t *o = c->opts; o->name; o++)
		put_opt(f, o, width);
}

void cs_help_command(FILE *f, const cs_cmd_t *c)
{
	help_usage(f, c);
	fprintf(f, "\n%s\n", c->description);
	put_opts(f, c);
	if (c->epilogue)
		fprintf(f, "\n%s", c->epilogue);
}

/* ---- the `help` command ---------------------------------------------------------------- */

typedef struct help_ctx {
	const char *name; /* COMMAND, or NULL for the overview */
} help_ctx_t;

static const cs_opt_t help_opts[] = {
	CS_OPT_HELP_ROW,
	{ 0 },
};

static int help_args(void *vctx, int argc, char **argv)
{
	help_ctx_t *ctx = vctx;

	if (argc > 1)
		return cs_usage_error(&cs_cmd_help, "too many arguments");
	ctx->name = argc ? argv[0] : NULL;
	return 0;
}

static int help_run(void *vctx, const cs_cli_t *cli)
{
	help_ctx_t *ctx = vctx;
	const cs_cmd_t *c;

	if (!ctx->name) {
		cs_help_overview(stdout, cli);
		return CS_EXIT_OK;
	}
	c = cs_cli_find(cli, ctx->name);
	if (!c)
		return cs_usage_error(&cs_cmd_help, "unknown command '%s'", ctx->name);
	cs_help_command(stdout, c);
	return CS_EXIT_OK;
}

const cs_cmd_t cs_cmd_help = {
	.name = "help",
	.summary = "show the commands, or one command's options",
	.operands = "[COMMAND]",
	.description =
		"Without COMMAND, lists the commands; with it, shows that command's options.\n",
	.opts = help_opts,
	.ctx_size = sizeof(help_ctx_t),
	.args = help_args,
	.run = help_run,
};
