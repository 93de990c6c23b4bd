/* SPDX-License-Identifier: MIT */
/* `cowscope report`: load a run directory and render it as text, JSON, folded stacks or pprof. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "analyze.h"
#include "cli.h"
#include "model.h"
#include "render.h"
#include "story.h"

#define TOP_DEFAULT 5

/* Largest --max-memory: 1 TiB in MiB. */
#define MAX_MEMORY_MIB (1ul << 20)

typedef int (*render_fn)(FILE *f, const cs_model_t *m, const cs_render_opts_t *o);

/* --format's words, and their renderers in the same order. */
static const char *const formats[] = { "text", "json", "folded", "pprof", "trace", NULL };
static const render_fn renderers[] = { cs_render_text, cs_render_json, cs_render_folded,
				       cs_render_pprof, cs_render_trace };
_Static_assert(sizeof(formats) / sizeof(formats[0]) == sizeof(renderers) / sizeof(renderers[0]) + 1,
	       "one renderer per format");

enum { OPT_FORMAT, OPT_TOP, OPT_MAX_MEMORY, OPT_BY, OPT_SORT, OPT_ALL, OPT_PER_PROCESS };

/* --by's words: what folded stacks are, as enum cs_fold_by ("label:KIND" for CS_BY_LABEL). */
static const char *const bys[] = { "site", "writer", "mapping", "process", "label", NULL };

/* --sort's words, in the order of enum cs_sort. */
static const char *const sorts[] = { "auto", "copied", "unshared", "parent-unshared", "new", NULL };

static const cs_opt_t report_opts[] = {
	CS_OPT_FORMAT_ROW(OPT_FORMAT, formats,
			  "text (default) for a person, json for programs\n"
			  "(schema_version 1; unknown values are null), folded or\n"
			  "pprof or trace (see below)"),
	CS_OPT_TOP_ROW(OPT_TOP,
		       "mappings and allocation sites listed per child in the text\n"
		       "report (default 5)"),
	{ .id = OPT_MAX_MEMORY,
	  .name = "max-memory",
	  .letter = 'm',
	  .kind = CS_ARG_UINT,
	  .arg = "MIB",
	  .min = 1,
	  .max = MAX_MEMORY_MIB,
	  .unit = "MiB",
	  .help = "cap the memory the analyzer uses (default: a quarter of RAM,\n"
		  "at least 256): allocation events past half of it are counted\n"
		  "and skipped, and the report says how many and how much of the\n"
		  "trace the sites come from" },
	{ .id = OPT_BY,
	  .name = "by",
	  .kind = CS_ARG_STR,
	  .arg = "site|writer|mapping|process|label:KIND",
	  .help = "folded: stacks of the allocation sites that own the copied\n"
		  "pages (site, the default), of the code that wrote them\n"
		  "(writer: runs with --writers), of process and mapping\n"
		  "(mapping), of parent and child (process), or the labels of\n"
		  "one kind a runtime gave its objects (label:python-type,\n"
		  "label:python-line); pprof: its samples by site, writer or\n"
		  "label:KIND" },
	{ .id = OPT_SORT,
	  .name = "sort",
	  .kind = CS_ARG_CHOICE,
	  .arg = "KEY",
	  .choices = sorts,
	  .help = "text: rank children, mappings and sites by copied, unshared,\n"
		  "parent-unshared or new pages (sites have no child-new figure:\n"
		  "new ranks them by copied); auto (the default) ranks by what\n"
		  "dominates the run: parent-unshared when the parents unshared\n"
		  "more than the children copied, else copied" },
	{ .id = OPT_ALL,
	  .name = "all",
	  .letter = 'a',
	  .kind = CS_ARG_NONE,
	  .help = "text: every process and every row, none folded as short-lived\n"
		  "or too small to matter" },
	{ .id = OPT_PER_PROCESS,
	  .name = "per-process",
	  .kind = CS_ARG_NONE,
	  .help = "text: each member of a group of identical workers in detail\n"
		  "(its rows and tables), not only the group's summary" },
	CS_OPT_HELP_ROW,
	{ 0 },
};

typedef struct report_ctx {
	render_fn render;
	cs_render_opts_t opts;
	const char *dir;
	uint64_t max_memory_bytes; /* 0: the default (cs_model_default_max_memory) */
} report_ctx_t;

static void report_init(void *vctx)
{
	report_ctx_t *ctx = vctx;

	ctx->render = cs_render_text;
	ctx->opts.top = TOP_DEFAULT;
}

/* --by WHAT: a word of bys, or label:KIND. Returns 0 or a usage error (exit 2). */
static int by_parse(report_ctx_t *ctx, const char *s)
{
	for (int i = 0; bys[i]; i++) {
		if (i == CS_BY_LABEL && !strncmp(s, "label:", 6) && s[6]) {
			ctx->opts.by = CS_BY_LABEL;
			ctx->opts.label_kind = s + 6;
			return 0;
		}
		if (i != CS_BY_LABEL && !strcmp(s, bys[i])) {
			ctx->opts.by = i;
			return 0;
		}
	}
	return cs_usage_error(&cs_cmd_report,
			      "unknown by '%s' (site, writer, mapping, process or label:KIND)", s);
}

static int report_parse(void *vctx, int id, const cs_optval_t *v)
{
	report_ctx_t *ctx = vctx;

	if (id == OPT_FORMAT)
		ctx->render = renderers[v->num];
	else if (id == OPT_TOP)
		ctx->opts.top = (unsigned)v->num;
	else if (id == OPT_MAX_MEMORY)
		ctx->max_memory_bytes = (uint64_t)v->num << 20;
	else if (id == OPT_BY)
		return by_parse(ctx, v->str);
	else if (id == OPT_SORT)
		ctx->opts.sort = (int)v->num;
	else if (id == OPT_ALL)
		ctx->opts.all = true;
	else if (id == OPT_PER_PROCESS)
		ctx->opts.per_process = true;
	return 0;
}

static int report_args(void *vctx, int argc, char **argv)
{
	report_ctx_t *ctx = vctx;

	if (argc < 1)
		return cs_usage_error(&cs_cmd_report, "no run directory given");
	if (argc > 1)
		return cs_usage_error(&cs_cmd_report, "one run directory only ('%s' is extra)",
				      argv[1]);
	if ((ctx->opts.by == CS_BY_WRITER || ctx->opts.by == CS_BY_LABEL) &&
	    ctx->render != cs_render_folded && ctx->render != cs_render_pprof)
		return cs_usage_error(&cs_cmd_report, "--by %s applies to --format folded or pprof",
				      ctx->opts.by == CS_BY_LABEL ? "label" : "writer");
	if (ctx->opts.by > CS_BY_WRITER && ctx->opts.by != CS_BY_LABEL &&
	    ctx->render != cs_render_folded)
		return cs_usage_error(&cs_cmd_report, "--by %s applies to --format folded",
				      bys[ctx->opts.by]);
	ctx->dir = argv[0];
	return 0;
}

static int report_run(void *vctx, const cs_cli_t *cli)
{
	report_ctx_t *ctx = vctx;
	cs_model_t m;
	cs_diag_t d = { "" };
	int err;

	if (ctx->render == cs_render_pprof && isatty(STDOUT_FILENO)) {
		fprintf(stderr,
			"cowscope: pprof output is binary: redirect it to a file "
			"(cowscope report --format pprof RUN > copied.pb.gz)\n");
		return CS_EXIT_USAGE;
	}
	err = cs_model_load_capped(&m, ctx->dir, ctx->max_memory_bytes, &d);

	(void)cli;
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

const cs_cmd_t cs_cmd_report = {
	.name = "report",
	.summary = "report the copy-on-write sharing of a run directory",
	.operands = "RUN",
	.description =
		"Reads the traces in run directory RUN (written by `cowscope run`, or by the shim\n"
		"with COWSCOPE_OUT) and reports, for every forked child, the pages shared at fork,\n"
		"copied by the child, unshared by the parent's writes, and new in the child; and\n"
		"which allocation sites (call stacks) own those pages, per child and summed over\n"
		"the children of one parent.\n",
	.epilogue =
		"folded: one line per allocation stack for flamegraph.pl, inferno or speedscope:\n"
		"the frames from outermost to innermost joined by ';', a space, and the pages the\n"
		"children copied on that stack, summed over all children and rounded (pages the\n"
		"children and the parent unshared, where the backend cannot tell them apart).\n"
		"A frame is the function's name (as in perf's folded stacks), or library+0xOFFSET\n"
		"without symbols; pages no allocation owns are one frame named after their\n"
		"bucket, e.g. \"[allocator free space and metadata]\". Lines that round to 0\n"
		"pages are left out. Example:\n"
		"  cowscope report --format folded RUN | flamegraph.pl > copied.svg\n"
		"With --by writer the stacks are the code that wrote the copied pages (runs made\n"
		"with `cowscope run --writers`), the copies no user-space sample saw one frame.\n"
		"With --by mapping a line is a child and one of its mappings, with --by process\n"
		"a parent and a child, weighed by the pages that child copied:\n"
		"  worker 1 of 4 (pid 9117);[heap] 4096\n"
		"  gunicorn (pid 9116);worker 1 of 4 (pid 9117) 4096\n"
		"With --by label:KIND (runs whose programs labelled their objects, e.g. Python\n"
		"with cowscope's helper) a line is a label of that kind, the pages the children\n"
		"copied charged to it (python-line labels are stacks, outermost frame first):\n"
		"  dict 3120\n"
		"  /srv/app.py:5;/srv/app.py:12 812\n"
		"\n"
		"trace: Chrome Trace Event JSON for the Perfetto UI (ui.perfetto.dev) or\n"
		"chrome://tracing: a track per process in fork order, named by its role and\n"
		"program; in each measured child a \"COW (MiB)\" counter (copied, parent-unshared,\n"
		"unshared) over time that ends on its working figures; instants for forks (in the\n"
		"parent's track), execs, exits and cowscope_mark() labels. Example:\n"
		"  cowscope report --format trace RUN > run.json\n"
		"\n"
		"pprof: a gzip-compressed profile.proto for go tool pprof, Perfetto, Pyroscope or\n"
		"Speedscope, written to a file (never to a terminal): one sample per child and\n"
		"allocation site with the pages it copied, unshared and parent-unshared (and\n"
		"changed bytes when words were compared), each rounded to whole pages, labelled\n"
		"pid, role, program and phase; buckets are one frame. --by writer: one sample per\n"
		"child and writer, copied pages only. --by label:KIND: one sample per child and\n"
		"label, a frame per ';'-separated part of the label. Example:\n"
		"  cowscope report --format pprof RUN > copied.pb.gz\n"
		"  go tool pprof -top copied.pb.gz\n"
		"\n"
		"exit status: 0 ok, 2 usage error, 3 RUN is unreadable, holds no traces, or a trace\n"
		"is corrupt or of a newer major version, 4 system error.\n",
	.opts = report_opts,
	.ctx_size = sizeof(report_ctx_t),
	.init = report_init,
	.parse = report_parse,
	.args = report_args,
	.run = report_run,
};
