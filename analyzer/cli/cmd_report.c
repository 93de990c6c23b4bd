/* SPDX-License-Identifier: MIT */
/* `cowscope report`: load a run directory and render it as text, JSON or folded stacks. */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include "analyze.h"
#include "cli.h"
#include "model.h"
#include "render.h"

#define TOP_DEFAULT 5
#define TOP_MAX 100000

typedef int (*render_fn)(FILE *f, const cs_model_t *m, const cs_render_opts_t *o);

static const struct {
	const char *name;
	render_fn fn;
} formats[] = {
	{ "text", cs_render_text },
	{ "json", cs_render_json },
	{ "folded", cs_render_folded },
};

typedef struct report_ctx {
	render_fn render;
	cs_render_opts_t opts;
	const char *dir;
	uint64_t max_memory_bytes; /* 0: the default (cs_model_default_max_memory) */
	bool help;
} report_ctx_t;

static int set_format(report_ctx_t *ctx, const char *name)
{
	for (size_t i = 0; i < sizeof(formats) / sizeof(formats[0]); i++) {
		if (!strcmp(name, formats[i].name)) {
			ctx->render = formats[i].fn;
			return 0;
		}
	}
	return cs_usage_error(&cs_cmd_report, "unknown format '%s' (text, json or folded)", name);
}

static int set_top(report_ctx_t *ctx, const char *s)
{
	unsigned long v;

	if (cs_parse_uint(s, TOP_MAX, &v))
		return cs_usage_error(&cs_cmd_report, "--top wants a number from 0 to %u, not '%s'",
				      TOP_MAX, s);
	ctx->opts.top = (unsigned)v;
	return 0;
}

/* Largest --max-memory: 1 TiB in MiB. */
#define MAX_MEMORY_MIB (1ul << 20)

static int set_max_memory(report_ctx_t *ctx, const char *s)
{
	unsigned long v;

	if (cs_parse_uint(s, MAX_MEMORY_MIB, &v) || v < 1)
		return cs_usage_error(&cs_cmd_report, "--max-memory wants MiB from 1 to %lu, not '%s'",
				      MAX_MEMORY_MIB, s);
	ctx->max_memory_bytes = (uint64_t)v << 20;
	return 0;
}

static int parse_args(report_ctx_t *ctx, int argc, char **argv)
{
	static const struct option longs[] = {
		{ "format", required_argument, NULL, 'f' },
		{ "top", required_argument, NULL, 'n' },
		{ "max-memory", required_argument, NULL, 'm' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int opt, err = 0;

	optind = 0;
	opterr = 0;
	while (!err && (opt = getopt_long(argc, argv, "+:f:n:m:h", longs, NULL)) != -1) {
		if (opt == 'f')
			err = set_format(ctx, optarg);
		else if (opt == 'n')
			err = set_top(ctx, optarg);
		else if (opt == 'm')
			err = set_max_memory(ctx, optarg);
		else if (opt == 'h')
			ctx->help = true;
		else
			err = cs_getopt_error(&cs_cmd_report, opt, argv);
	}
	if (err || ctx->help)
		return err;
	if (optind >= argc)
		return cs_usage_error(&cs_cmd_report, "no run directory given");
	if (optind + 1 < argc)
		return cs_usage_error(&cs_cmd_report, "one run directory only ('%s' is extra)",
				      argv[optind + 1]);
	ctx->dir = argv[optind];
	return 0;
}

static int run(report_ctx_t *ctx)
{
	cs_model_t m;
	cs_diag_t d = { "" };
	int err = cs_model_load_capped(&m, ctx->dir, ctx->max_memory_bytes, &d);

	if (err) {
		fprintf(stderr, "cowscope: %s\n", d.msg);
		return err == -ENOMEM ? CS_EXIT_SYSTEM : CS_EXIT_TRACE;
	}
	err = ctx->render(stdout, &m, &ctx->opts);
	cs_model_free(&m);
	if (err == -ENOMEM) {
		fprintf(stderr, "cowscope: out of memory rendering the report\n");
		return CS_EXIT_SYSTEM;
	}
	return CS_EXIT_OK; /* write errors: main checks stdout */
}

static int report_main(const cs_cli_t *cli, int argc, char **argv)
{
	report_ctx_t ctx = { .render = cs_render_text, .opts = { .top = TOP_DEFAULT } };
	int err = parse_args(&ctx, argc, argv);

	if (err)
		return err;
	if (ctx.help) {
		cs_help_command(stdout, &cs_cmd_report);
		return CS_EXIT_OK;
	}
	return run(&ctx);
}

const cs_cmd_t cs_cmd_report = {
	.name = "report",
	.summary = "report the copy-on-write sharing of a run directory",
	.usage = "report [--format text|json|folded] [--top N] [--max-memory MIB] RUN",
	.help =
		"Reads the traces in run directory RUN (written by `cowscope run`, or by the shim\n"
		"with COWSCOPE_OUT) and reports, for every forked child, the pages shared at fork,\n"
		"copied by the child, unshared by the parent's writes, and new in the child; and\n"
		"which allocation sites (call stacks) own those pages, per child and summed over\n"
		"the children of one parent.\n"
		"\n"
		"options:\n"
		"  -f, --format FMT  text (default) for a person, json for programs (schema_version 1;\n"
		"                    unknown values are null), or folded (see below)\n"
		"  -n, --top N       mappings and allocation sites listed per child in the text\n"
		"                    report (default 5)\n"
		"  -m, --max-memory MIB  cap the memory the analyzer uses (default: a quarter of\n"
		"                    RAM, at least 256): allocation events past half of it are\n"
		"                    counted and skipped, and the report says how many and how\n"
		"                    much of the trace the sites come from\n"
		"  -h, --help        show this help\n"
		"\n"
		"folded: one line per allocation stack for flamegraph.pl, inferno or speedscope:\n"
		"the frames from outermost to innermost joined by ';', a space, and the pages the\n"
		"children copied on that stack, summed over all children and rounded (pages the\n"
		"children and the parent unshared, where the backend cannot tell them apart).\n"
		"A frame is the function's name (as in perf's folded stacks), or library+0xOFFSET\n"
		"without symbols; pages no allocation owns are one frame named after their\n"
		"bucket, e.g. \"[allocator free space and metadata]\". Lines that round to 0\n"
		"pages are left out. Example:\n"
		"  cowscope report --format folded RUN | flamegraph.pl > copied.svg\n"
		"\n"
		"exit status: 0 ok, 2 usage error, 3 RUN is unreadable, holds no traces, or a trace\n"
		"is corrupt or of a newer major version, 4 system error.\n",
	.main = report_main,
};
