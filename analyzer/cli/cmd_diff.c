/* SPDX-License-Identifier: MIT */
/* `cowscope diff`: compare the COW sharing of two runs, or of two phases of one run. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "analyze.h"
#include "cli.h"
#include "diff.h"
#include "render.h"
#include "phases.h"

#define TOP_DEFAULT 10

static const char *const formats[] = { "text", "json", NULL };

enum { OPT_FORMAT, OPT_TOP };

static const cs_opt_t diff_opts[] = {
	CS_OPT_FORMAT_ROW(OPT_FORMAT, formats,
			  "text (default) for a person, or json (schema_version 1, every\n"
			  "site; see docs/diff.md)"),
	CS_OPT_TOP_ROW(OPT_TOP, "allocation sites listed in the text output (default 10)"),
	CS_OPT_HELP_ROW,
	{ 0 },
};

/* A side as given: RUN, or RUN:PHASE. */
typedef struct spec {
	const char *arg;
	char *dir;
	const char *phase; /* NULL: every child of the run */
} spec_t;

typedef struct diff_ctx {
	bool json;
	unsigned top;
	spec_t side[2];
	cs_model_t model[2];
	bool loaded[2];
} diff_ctx_t;

static void diff_init(void *vctx)
{
	diff_ctx_t *ctx = vctx;

	ctx->top = TOP_DEFAULT;
}

static int diff_parse(void *vctx, int id, const cs_optval_t *v)
{
	diff_ctx_t *ctx = vctx;

	if (id == OPT_FORMAT)
		ctx->json = !strcmp(formats[v->num], "json");
	else if (id == OPT_TOP)
		ctx->top = (unsigned)v->num;
	return 0;
}

static bool is_dir(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* RUN (a directory, even with ':' in its name) or RUN:PHASE, split at the last ':'. */
static int parse_spec(spec_t *s, const char *arg)
{
	const char *colon = strrchr(arg, ':');

	s->arg = arg;
	if (is_dir(arg) || !colon || colon == arg)
		s->dir = strdup(arg);
	else
		s->dir = strndup(arg, (size_t)(colon - arg));
	if (!s->dir) {
		fprintf(stderr, "cowscope: out of memory\n");
		return CS_EXIT_SYSTEM;
	}
	if (!is_dir(arg) && colon && colon != arg) {
		s->phase = colon + 1;
		if (!*s->phase)
			return cs_usage_error(&cs_cmd_diff, "no phase name after ':' in '%s'", arg);
	}
	return 0;
}

static int diff_args(void *vctx, int argc, char **argv)
{
	diff_ctx_t *ctx = vctx;
	int err;

	if (argc < 2)
		return cs_usage_error(&cs_cmd_diff, "diff wants two sides, BEFORE and AFTER");
	if (argc > 2)
		return cs_usage_error(&cs_cmd_diff, "two sides only ('%s' is extra)", argv[2]);
	err = parse_spec(&ctx->side[0], argv[0]);
	return err ? err : parse_spec(&ctx->side[1], argv[1]);
}

/* Load side k's run, or share side 0's when both name the same directory. */
static int load(diff_ctx_t *ctx, int k, const cs_model_t **out)
{
	cs_diag_t d = { "" };
	int err;

	if (k == 1 && !strcmp(ctx->side[0].dir, ctx->side[1].dir)) {
		*out = &ctx->model[0];
		return 0;
	}
	err = cs_model_load(&ctx->model[k], ctx->side[k].dir, &d);
	if (err) {
		fprintf(stderr, "cowscope: %s\n", d.msg);
		return err == -ENOMEM ? CS_EXIT_SYSTEM : CS_EXIT_TRACE;
	}
	ctx->loaded[k] = true;
	*out = &ctx->model[k];
	return 0;
}

static void list_phases(const cs_model_t *m)
{
	for (size_t i = 0; i < m->nphases; i++)
		fprintf(stderr, "%s%s", i ? ", " : "", m->phases[i]);
}

/* The side's phase index (-1: the whole run); an unknown name is a usage error. */
static int find_phase(const spec_t *s, cs_side_t *side)
{
	side->phase = s->phase ? cs_phase_find(side->m, s->phase) : -1;
	if (!s->phase || side->phase >= 0)
		return 0;
	fprintf(stderr, "cowscope diff: %s has no phase '%s' (its phases: ", s->dir, s->phase);
	list_phases(side->m);
	fprintf(stderr, ")\n");
	return CS_EXIT_USAGE;
}

/* Two phases of one run are named by their phases; anything else as the user wrote it. */
static void set_labels(diff_ctx_t *ctx, cs_diff_t *df)
{
	bool phases_of_one = df->before.m == df->after.m && ctx->side[0].phase &&
		ctx->side[1].phase;

	df->before.label = phases_of_one ? ctx->side[0].phase : ctx->side[0].arg;
	df->after.label = phases_of_one ? ctx->side[1].phase : ctx->side[1].arg;
}

static int diff_run(void *vctx, const cs_cli_t *cli)
{
	diff_ctx_t *ctx = vctx;
	cs_diff_t df = { 0 };
	int err = load(ctx, 0, &df.before.m);

	(void)cli;
	if (!err)
		err = load(ctx, 1, &df.after.m);
	if (!err)
		err = find_phase(&ctx->side[0], &df.before);
	if (!err)
		err = find_phase(&ctx->side[1], &df.after);
	if (err)
		return err;
	set_labels(ctx, &df);
	if (cs_diff_compute(&df)) {
		fprintf(stderr, "cowscope: out of memory comparing the runs\n");
		err = CS_EXIT_SYSTEM;
		goto out;
	}
	if (ctx->json)
		cs_render_diff_json(stdout, &df);
	else
		cs_render_diff_text(stdout, &df, ctx->top);
out:
	cs_diff_free(&df);
	return err; /* write errors: main checks stdout */
}

static void diff_fini(void *vctx)
{
	diff_ctx_t *ctx = vctx;

	for (int k = 0; k < 2; k++) {
		free(ctx->side[k].dir);
		if (ctx->loaded[k])
			cs_model_free(&ctx->model[k]);
	}
}

const cs_cmd_t cs_cmd_diff = {
	.name = "diff",
	.summary = "compare the sharing of two runs, or of two phases of one run",
	.operands = "BEFORE AFTER",
	.description =
		"Compares the copy-on-write sharing of the forked children of BEFORE and AFTER:\n"
		"a headline first (e.g. \"from start to frozen: 61.2% \u2192 3.1% of shared pages\n"
		"copied (\u221294.9%)\"), then the totals over each side's children (shared at fork,\n"
		"child-copied, parent-unshared, unshared, new, share retained) with their change,\n"
		"the children paired in fork order, and the allocation sites whose copied pages\n"
		"changed most, matched by symbolized stack (so they survive ASLR and rebuilds that\n"
		"keep function names).\n"
		"\n"
		"BEFORE and AFTER are each a run directory (every child of the run), or RUN:PHASE,\n"
		"the children forked during one phase of a run: phases start at cowscope_mark(LABEL)\n"
		"calls in the parent and are named by their labels; the first is \"start\". Two\n"
		"phases of one run: `cowscope diff RUN:start RUN:frozen`.\n"
		"\n"
		"When a side's backend cannot tell child copies from parent writes, unshared\n"
		"pages are compared instead of copied ones, and the output says so.\n",
	.epilogue =
		"exit status: 0 ok, 2 usage error (also: no such phase), 3 a run directory is\n"
		"unreadable, holds no traces, or a trace is corrupt or of a newer major version,\n"
		"4 system error.\n",
	.opts = diff_opts,
	.ctx_size = sizeof(diff_ctx_t),
	.init = diff_init,
	.parse = diff_parse,
	.args = diff_args,
	.run = diff_run,
	.fini = diff_fini,
};
