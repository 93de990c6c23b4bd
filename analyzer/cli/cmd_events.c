/* SPDX-License-Identifier: MIT */
/* `cowscope events`: the perf events this machine can count, for `run --events` (docs/events.md). */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include "cli.h"
#include "pfm.h"

typedef struct events_ctx {
	bool all; /* --all: the events perf does not open here too, marked */
} events_ctx_t;

enum { OPT_ALL };

static const cs_opt_t events_opts[] = {
	{ .id = OPT_ALL,
	  .name = "all",
	  .letter = 'a',
	  .help = "list the events perf_event_open refuses here too, marked\n"
		  "[not here: REASON]" },
	CS_OPT_HELP_ROW,
	{ 0 },
};

static int events_parse(void *vctx, int id, const cs_optval_t *v)
{
	events_ctx_t *ctx = vctx;

	(void)v;
	if (id == OPT_ALL)
		ctx->all = true;
	return 0;
}

static int events_args(void *vctx, int argc, char **argv)
{
	(void)vctx;
	(void)argv;
	if (argc > 0)
		return cs_usage_error(&cs_cmd_events, "no operands expected");
	return 0;
}

static int events_run(void *vctx, const cs_cli_t *cli)
{
	events_ctx_t *ctx = vctx;
	long n = cs_pfm_list(stdout, ctx->all);

	(void)cli;
	if (n == -ENOTSUP) {
		fprintf(stderr,
			"cowscope events: built without libpfm4: only the default events "
			"(perf::PERF_COUNT_SW_PAGE_FAULTS, _MIN, _MAJ, "
			"perf::PERF_COUNT_SW_CONTEXT_SWITCHES) can be named\n");
		return CS_EXIT_SYSTEM;
	}
	if (n < 0) {
		fprintf(stderr, "cowscope events: libpfm4 could not start\n");
		return CS_EXIT_SYSTEM;
	}
	return CS_EXIT_OK;
}

const cs_cmd_t cs_cmd_events = {
	.name = "events",
	.summary = "list the perf events this machine can count (for run --events)",
	.operands = "",
	.description =
		"Lists, one a line, the perf events libpfm4 knows for the PMUs present here that\n"
		"perf_event_open accepts for this process (user space only), each with a one-line\n"
		"description: the names `cowscope run --events` and COWSCOPE_EVENTS take.\n",
	.epilogue = "exit status: 0 ok; 2 usage error; 4 libpfm4 missing or not starting.\n",
	.opts = events_opts,
	.ctx_size = sizeof(events_ctx_t),
	.parse = events_parse,
	.args = events_args,
	.run = events_run,
};
