/* SPDX-License-Identifier: MIT */
/* `cowscope check`: fail a CI job when a run's copy-on-write sharing breaks a limit. */
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "analyze.h"
#include "baseline.h"
#include "check.h"
#include "cli.h"
#include "json_writer.h"
#include "phases.h"
#include "render.h"
#include "totals.h"

#define TOP_SITES 3
#define FRAMES_SHOWN 3
#define MIB 1048576.0

enum {
	OPT_SCOPE = CS_LIM__COUNT, /* ids below are the limits (enum cs_limit) */
	OPT_ONLY,
	OPT_PHASE,
	OPT_JUNIT,
	OPT_BMF,
	OPT_BASELINE,
	OPT_TOLERANCE,
	OPT_WRITE_BASELINE,
};

static const char *const scopes[] = { "child", "tree", NULL };

static const cs_opt_t check_opts[] = {
	{ .id = CS_LIM_COPIED_PCT,
	  .name = "max-copied-pct",
	  .kind = CS_ARG_STR,
	  .arg = "PCT",
	  .help = "fail when a child copied more than PCT percent of the pages\n"
		  "it shared at fork" },
	{ .id = CS_LIM_COPIED_MIB,
	  .name = "max-copied-mib",
	  .kind = CS_ARG_STR,
	  .arg = "MIB",
	  .help = "fail when a child copied more than MIB MiB" },
	{ .id = CS_LIM_SHARE_RETAINED,
	  .name = "min-share-retained",
	  .kind = CS_ARG_STR,
	  .arg = "PCT",
	  .help = "fail when a child kept less than PCT percent of its\n"
		  "shared pages shared" },
	{ .id = CS_LIM_AMPLIFICATION,
	  .name = "max-amplification",
	  .kind = CS_ARG_STR,
	  .arg = "X",
	  .help = "fail when a child's copies are more than X times the bytes\n"
		  "it changed (runs with changed words: format 1.4, --diff on)" },
	{ .id = CS_LIM_PUNSHARED_PCT,
	  .name = "max-parent-unshared-pct",
	  .kind = CS_ARG_STR,
	  .arg = "PCT",
	  .help = "fail when the parent's writes unshared more than PCT\n"
		  "percent of a child's shared pages" },
	{ .id = OPT_SCOPE,
	  .name = "scope",
	  .kind = CS_ARG_CHOICE,
	  .arg = "SCOPE",
	  .choices = scopes,
	  .help = "child (default): each child, the worst one named; tree: the\n"
		  "whole run's totals (copies summed, each parent's shared\n"
		  "pages once)" },
	{ .id = OPT_ONLY,
	  .name = "only",
	  .kind = CS_ARG_STR,
	  .arg = "NAME",
	  .help = "only children whose command name (basename of argv[0]) is NAME" },
	{ .id = OPT_PHASE,
	  .name = "phase",
	  .kind = CS_ARG_STR,
	  .arg = "P",
	  .help = "only children forked during phase P (as `diff RUN:P`)" },
	{ .id = OPT_JUNIT,
	  .name = "junit",
	  .kind = CS_ARG_STR,
	  .arg = "FILE",
	  .help = "also write the verdicts as JUnit XML to FILE" },
	{ .id = OPT_BMF,
	  .name = "bmf",
	  .kind = CS_ARG_STR,
	  .arg = "FILE",
	  .help = "also write the figures per parent and of the tree as Bencher\n"
		  "Metric Format JSON to FILE" },
	{ .id = OPT_BASELINE,
	  .name = "baseline",
	  .kind = CS_ARG_STR,
	  .arg = "FILE",
	  .help = "fail when the run regressed from the JSON report FILE" },
	{ .id = OPT_TOLERANCE,
	  .name = "tolerance",
	  .kind = CS_ARG_STR,
	  .arg = "PCT",
	  .help = "growth from the baseline allowed, percent (default 0)" },
	{ .id = OPT_WRITE_BASELINE,
	  .name = "write-baseline",
	  .kind = CS_ARG_STR,
	  .arg = "FILE",
	  .help = "write the run's JSON report to FILE as a baseline" },
	CS_OPT_HELP_ROW,
	{ 0 },
};

/* One verdict: a limit's, or the baseline's. */
typedef struct verdict {
	int lim; /* enum cs_limit; CS_LIM__COUNT: the baseline */
	double limit;
	cs_check_res_t res;
	char line[400];       /* the text line, without ": PASS" */
	char where_file[256]; /* the top site's source file, "" if none */
	int64_t where_line;
} verdict_t;

typedef struct check_ctx {
	bool set[CS_LIM__COUNT];
	double limit[CS_LIM__COUNT];
	char limit_text[CS_LIM__COUNT][32];
	cs_check_sel_t sel;
	const char *phase;
	const char *junit, *bmf, *baseline, *write_baseline;
	double tolerance;
	const char *dir;
	cs_model_t m;
	bool loaded;
	size_t *kids;
	size_t nkids;
	verdict_t v[CS_LIM__COUNT + 1];
	size_t nv;
	cs_regression_t *regs; /* their `what` strings live in base: freed together (fini) */
	size_t nregs;
	cs_baseline_t *base;
} check_ctx_t;

/* A non-negative finite number, or a usage error naming the option. */
static int read_number(const char *opt, const char *s, double *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || *end || !isfinite(v) || v < 0)
		return cs_usage_error(&cs_cmd_check, "--%s wants a number >= 0, not '%s'", opt, s);
	*out = v;
	return 0;
}

static int check_parse(void *vctx, int id, const cs_optval_t *v)
{
	check_ctx_t *ctx = vctx;

	if (id < CS_LIM__COUNT) {
		ctx->set[id] = true;
		snprintf(ctx->limit_text[id], sizeof(ctx->limit_text[id]), "%s", v->str);
		return read_number(cs_limit_option(id), v->str, &ctx->limit[id]);
	}
	if (id == OPT_SCOPE)
		ctx->sel.tree = v->num == 1;
	else if (id == OPT_ONLY)
		ctx->sel.only = v->str;
	else if (id == OPT_PHASE)
		ctx->phase = v->str;
	else if (id == OPT_JUNIT)
		ctx->junit = v->str;
	else if (id == OPT_BMF)
		ctx->bmf = v->str;
	else if (id == OPT_BASELINE)
		ctx->baseline = v->str;
	else if (id == OPT_TOLERANCE)
		return read_number("tolerance", v->str, &ctx->tolerance);
	else if (id == OPT_WRITE_BASELINE)
		ctx->write_baseline = v->str;
	return 0;
}

static bool any_limit(const check_ctx_t *ctx)
{
	for (int i = 0; i < CS_LIM__COUNT; i++)
		if (ctx->set[i])
			return true;
	return false;
}

static int check_args(void *vctx, int argc, char **argv)
{
	check_ctx_t *ctx = vctx;

	if (argc < 1)
		return cs_usage_error(&cs_cmd_check, "no run directory given");
	if (argc > 1)
		return cs_usage_error(&cs_cmd_check, "one run directory only ('%s' is extra)",
				      argv[1]);
	if (!any_limit(ctx) && !ctx->baseline && !ctx->write_baseline)
		return cs_usage_error(
			&cs_cmd_check,
			"no limit given (e.g. --max-copied-pct 10, or --baseline FILE)");
	ctx->dir = argv[0];
	return 0;
}

static void check_init(void *vctx)
{
	check_ctx_t *ctx = vctx;

	ctx->sel.phase = -1;
}

/* Load the run and choose its children. Returns 0 or an exit code. */
static int load(check_ctx_t *ctx)
{
	cs_diag_t d = { "" };
	int err = cs_model_load(&ctx->m, ctx->dir, &d);

	if (err) {
		fprintf(stderr, "cowscope: %s\n", d.msg);
		return err == -ENOMEM ? CS_EXIT_SYSTEM : CS_EXIT_TRACE;
	}
	ctx->loaded = true;
	if (ctx->phase) {
		ctx->sel.phase = cs_phase_find(&ctx->m, ctx->phase);
		if (ctx->sel.phase < 0) {
			fprintf(stderr,
				"cowscope check: %s has no phase '%s' (its phases:", ctx->dir,
				ctx->phase);
			for (size_t i = 0; i < ctx->m.nphases; i++)
				fprintf(stderr, "%s %s", i ? "," : "", ctx->m.phases[i]);
			fprintf(stderr, ")\n");
			return CS_EXIT_USAGE;
		}
	}
	if (cs_check_select(&ctx->m, &ctx->sel, &ctx->kids, &ctx->nkids))
		return CS_EXIT_SYSTEM;
	return 0;
}

/* What a limit measures and how it compares, as the text line says it. */
static const struct {
	const char *what;
	const char *unit;
} lim_text[CS_LIM__COUNT] = {
	{ "copied %.2f%% of shared pages", "%" },
	{ "copied %.2f MiB", " MiB" },
	{ "share retained %.2f%%", "%" },
	{ "amplification %.1f\u00d7", "\u00d7" },
	{ "parent unshared %.2f%% of shared pages", "%" },
};

/* "(worst child pid 812 `gunicorn`)" or "(tree: 4 children)". */
static void who(const check_ctx_t *ctx, const verdict_t *v, char *buf, size_t size)
{
	const cs_proc_t *p = v->res.worst >= 0 ? &ctx->m.procs[v->res.worst] : NULL;
	char name[64];

	if (!p) {
		snprintf(buf, size, "(tree: %zu %s)", v->res.children,
			 v->res.children == 1 ? "child" : "children");
		return;
	}
	cs_clean_text(cs_check_comm(p), strlen(cs_check_comm(p)), name, sizeof(name));
	snprintf(buf, size, "(%s child pid %u `%s`)", v->res.children > 1 ? "worst" : "one", p->pid,
		 name);
}

static void verdict_line(const check_ctx_t *ctx, verdict_t *v)
{
	char what[120], w[120], line[sizeof(v->line)];

	if (isinf(v->res.value))
		snprintf(what, sizeof(what), "amplification \u221e (copies without a change)");
	else
		snprintf(what, sizeof(what), lim_text[v->lim].what, v->res.value);
	who(ctx, v, w, sizeof(w));
	snprintf(line, sizeof(line), "%s %s %s %s%s", what, w,
		 cs_limit_is_min(v->lim) ? "\u2265" : "\u2264", ctx->limit_text[v->lim],
		 lim_text[v->lim].unit);
	memcpy(v->line, line, sizeof(line));
}

/* The frame a CI annotation points at: the innermost one of the main program with a source
 * line, else the innermost one with a source line; NULL if none. */
static const cs_frame_t *source_frame(const cs_site_t *s)
{
	const cs_frame_t *any = NULL;

	for (size_t i = 0; i < s->nframes; i++) {
		const cs_frame_t *f = &s->frames[i];

		if (!f->file || f->line < 0)
			continue;
		if (f->main_program)
			return f;
		if (!any)
			any = f;
	}
	return any;
}

static uint32_t page_size_of(const check_ctx_t *ctx, const verdict_t *v)
{
	if (v->res.worst >= 0)
		return ctx->m.procs[v->res.worst].page_size;
	for (size_t i = 0; i < ctx->nkids; i++)
		if (ctx->m.procs[ctx->kids[i]].page_size)
			return ctx->m.procs[ctx->kids[i]].page_size;
	return 0;
}

static void print_site(const cs_site_t *s, int lim, uint32_t ps)
{
	char mib[16];
	double pages = cs_check_site_pages(s, lim);

	if (ps)
		cs_fmt_mib(pages * ps, mib, sizeof(mib));
	else
		snprintf(mib, sizeof(mib), "?");
	printf("    %6s MiB %-15s ", mib,
	       lim == CS_LIM_PUNSHARED_PCT ? "parent-unshared" : "child-copied");
	cs_print_site_stack(stdout, s, FRAMES_SHOWN, 31);
}

/* The top sites behind a failed limit; the first one's source line for annotations. */
static int failed_sites(check_ctx_t *ctx, verdict_t *v)
{
	cs_site_t *sites;
	size_t n, shown = 0;
	int err = cs_check_sites(&ctx->m, ctx->kids, ctx->nkids, &v->res, v->lim, &sites, &n);

	if (err)
		return err;
	for (size_t i = 0; i < n && shown < TOP_SITES; i++) {
		const cs_frame_t *f = source_frame(&sites[i]);

		if (!(cs_check_site_pages(&sites[i], v->lim) > 0))
			break;
		if (!shown++ && f) {
			snprintf(v->where_file, sizeof(v->where_file), "%s", f->file);
			v->where_line = f->line;
		}
		print_site(&sites[i], v->lim, page_size_of(ctx, v));
	}
	free(sites);
	return 0;
}

/* Check one limit and say so. Returns 0 or an exit code (system error). */
static int check_one(check_ctx_t *ctx, int lim)
{
	verdict_t *v = &ctx->v[ctx->nv++];

	v->lim = lim;
	v->limit = ctx->limit[lim];
	if (cs_check_limit(&ctx->m, ctx->kids, ctx->nkids, ctx->sel.tree, lim, v->limit, &v->res))
		return CS_EXIT_SYSTEM;
	if (v->res.err) {
		char line[sizeof(v->line)];

		snprintf(line, sizeof(line), "cannot check --%s: %s", cs_limit_option(lim),
			 v->res.why);
		memcpy(v->line, line, sizeof(line));
		printf("%s\n", v->line);
		fprintf(stderr, "cowscope check: %s\n", v->line);
		return 0;
	}
	verdict_line(ctx, v);
	printf("%s: %s\n", v->line, v->res.pass ? "PASS" : "FAIL");
	if (!v->res.pass && failed_sites(ctx, v))
		return CS_EXIT_SYSTEM;
	return 0;
}

/* The exit code of the verdicts: 3 if one could not be measured, else 1 if one failed. */
static int outcome(const check_ctx_t *ctx, size_t *failed, size_t *errors)
{
	*failed = *errors = 0;
	for (size_t i = 0; i < ctx->nv; i++) {
		if (ctx->v[i].res.err)
			(*errors)++;
		else if (!ctx->v[i].res.pass)
			(*failed)++;
	}
	if (*errors)
		return CS_EXIT_TRACE;
	return *failed ? CS_EXIT_CHECK : CS_EXIT_OK;
}

static void verdict_summary(const check_ctx_t *ctx, char *buf, size_t size)
{
	char kids[32];
	size_t failed, errors;
	int rc = outcome(ctx, &failed, &errors);
	const char *scope = ctx->sel.tree ? "tree" : "child";

	snprintf(kids, sizeof(kids), "%zu %s", ctx->nkids, ctx->nkids == 1 ? "child" : "children");
	if (rc == CS_EXIT_TRACE)
		snprintf(buf, size,
			 "check ERROR: %zu of %zu checks could not be measured (%s scope, %s)",
			 errors, ctx->nv, scope, kids);
	else if (rc == CS_EXIT_CHECK)
		snprintf(buf, size, "check FAIL: %zu of %zu checks failed (%s scope, %s)", failed,
			 ctx->nv, scope, kids);
	else
		snprintf(buf, size, "check PASS: %zu %s passed (%s scope, %s)", ctx->nv,
			 ctx->nv == 1 ? "check" : "checks", scope, kids);
}

/* The baseline's verdict, after the limits. Returns 0 or an exit code. */
static int check_baseline(check_ctx_t *ctx)
{
	verdict_t *v = &ctx->v[ctx->nv];
	cs_diag_t d = { "" };
	int r = cs_baseline_load(ctx->baseline, &ctx->base, &d);

	if (!r)
		r = cs_baseline_compare(ctx->base, &ctx->m, ctx->sel.tree, ctx->tolerance,
					&ctx->regs, &ctx->nregs, &d);
	if (r == -ENOMEM || r == -ENOSYS) {
		fprintf(stderr, "cowscope check: %s\n", d.msg);
		return CS_EXIT_SYSTEM;
	}
	ctx->nv++;
	v->lim = CS_LIM__COUNT;
	v->limit = ctx->tolerance;
	v->res.err = r < 0 ? r : 0;
	v->res.pass = r == 0;
	if (r < 0) {
		snprintf(v->line, sizeof(v->line), "cannot compare with the baseline: %s", d.msg);
		fprintf(stderr, "cowscope check: %s\n", v->line);
	} else {
		snprintf(v->line, sizeof(v->line), "baseline %s, tolerance %g%%", ctx->baseline,
			 ctx->tolerance);
	}
	printf("%s%s\n", v->line, r < 0 ? "" : r ? ": FAIL" : ": PASS");
	for (size_t i = 0; i < ctx->nregs; i++)
		printf("    %s: %.4g \u2192 %.4g\n", ctx->regs[i].what, ctx->regs[i].before,
		       ctx->regs[i].after);
	return 0;
}

static int write_baseline(check_ctx_t *ctx)
{
	cs_diag_t d = { "" };
	int r = cs_baseline_write(&ctx->m, ctx->write_baseline, &d);

	if (!r)
		return 0;
	fprintf(stderr, "cowscope check: %s\n", d.msg);
	return CS_EXIT_SYSTEM;
}

/* XML text with &, <, >, " and ' escaped, control characters as spaces. */
static void xml_text(FILE *f, const char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '&')
			fputs("&amp;", f);
		else if (c == '<')
			fputs("&lt;", f);
		else if (c == '>')
			fputs("&gt;", f);
		else if (c == '"')
			fputs("&quot;", f);
		else if (c == '\'')
			fputs("&apos;", f);
		else
			fputc(c < 0x20 ? ' ' : c, f);
	}
}

static void junit_case(FILE *f, const check_ctx_t *ctx, const verdict_t *v)
{
	const char *scope = ctx->sel.tree ? "tree" : "child";

	fputs("    <testcase classname=\"cowscope.check\" name=\"", f);
	if (v->lim < CS_LIM__COUNT)
		fprintf(f, "%s %s (%s scope)", cs_limit_option(v->lim), ctx->limit_text[v->lim],
			scope);
	else
		xml_text(f, "baseline");
	fputc('"', f);
	if (v->res.pass) {
		fputs("/>\n", f);
		return;
	}
	fprintf(f, ">\n      <%s message=\"", v->res.err ? "error" : "failure");
	xml_text(f, v->line);
	fprintf(f, "\" type=\"%s\"/>\n    </testcase>\n", v->res.err ? "unmeasurable" : "limit");
}

/* --junit FILE: one testsuite, one testcase per verdict. Returns 0 or an exit code. */
static int write_junit(const check_ctx_t *ctx)
{
	size_t failed, errors;
	FILE *f = fopen(ctx->junit, "w");

	if (!f) {
		fprintf(stderr, "cowscope check: cannot write %s: %s\n", ctx->junit,
			strerror(errno));
		return CS_EXIT_SYSTEM;
	}
	outcome(ctx, &failed, &errors);
	fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites>\n");
	fprintf(f,
		"  <testsuite name=\"cowscope check\" tests=\"%zu\" failures=\"%zu\" errors=\"%zu\">\n",
		ctx->nv, failed, errors);
	for (size_t i = 0; i < ctx->nv; i++)
		junit_case(f, ctx, &ctx->v[i]);
	fprintf(f, "  </testsuite>\n</testsuites>\n");
	if (fclose(f)) {
		fprintf(stderr, "cowscope check: cannot write %s: %s\n", ctx->junit,
			strerror(errno));
		return CS_EXIT_SYSTEM;
	}
	return 0;
}

/* A workflow command's data or property: %, CR, LF (and in properties : and ,) escaped. */
static void gh_escape(FILE *f, const char *s, bool property)
{
	for (; *s; s++) {
		if (*s == '%')
			fputs("%25", f);
		else if (*s == '\r')
			fputs("%0D", f);
		else if (*s == '\n')
			fputs("%0A", f);
		else if (property && *s == ':')
			fputs("%3A", f);
		else if (property && *s == ',')
			fputs("%2C", f);
		else
			fputc(*s, f);
	}
}

/* GITHUB_ACTIONS=true: an ::error annotation per failed or unmeasurable verdict. */
static void github_annotations(const check_ctx_t *ctx)
{
	for (size_t i = 0; i < ctx->nv; i++) {
		const verdict_t *v = &ctx->v[i];

		if (v->res.pass)
			continue;
		fputs("::error ", stdout);
		if (v->where_file[0]) {
			fputs("file=", stdout);
			gh_escape(stdout, v->where_file, true);
			printf(",line=%lld,", (long long)v->where_line);
		}
		fputs("title=cowscope check::", stdout);
		gh_escape(stdout, v->line, false);
		fputs(v->res.err ? "\n" : ": FAIL\n", stdout);
	}
}

/* A Markdown table cell: | and newlines made harmless. */
static void md_cell(FILE *f, const char *s)
{
	for (; *s; s++)
		fputs(*s == '|' ? "\\|" : *s == '\n' ? " " : (char[2]){ *s, 0 }, f);
}

/* $GITHUB_STEP_SUMMARY: a Markdown table of the verdicts, appended. */
static int github_summary(const check_ctx_t *ctx, const char *path, const char *summary)
{
	FILE *f = fopen(path, "a");

	if (!f) {
		fprintf(stderr, "cowscope check: cannot append to %s: %s\n", path, strerror(errno));
		return CS_EXIT_SYSTEM;
	}
	fprintf(f, "### cowscope check `");
	md_cell(f, ctx->dir);
	fprintf(f, "`\n\n| check | result |\n|---|---|\n");
	for (size_t i = 0; i < ctx->nv; i++) {
		const verdict_t *v = &ctx->v[i];

		fputs("| ", f);
		md_cell(f, v->line);
		fprintf(f, " | %s |\n", v->res.err ? "ERROR" : v->res.pass ? "PASS" : "FAIL");
	}
	fprintf(f, "\n**%s**\n\n", summary);
	return fclose(f) ? CS_EXIT_SYSTEM : 0;
}

/* One BMF entry: copied MiB, share retained (percent), amplification; unknown ones left out. */
static void bmf_entry(cs_json_t *j, const char *name, const cs_totals_t *t)
{
	const cs_ampsum_t *a = &t->amp[CS_DIFF_CHILD];

	cs_json_obj(j, name);
	if (t->measured && t->child_copied >= 0) {
		cs_json_obj(j, "copied_mib");
		cs_json_num(j, "value", t->copied_bytes / MIB, 6);
		cs_json_end_obj(j);
	}
	if (t->share_retained == t->share_retained) {
		cs_json_obj(j, "share_retained");
		cs_json_num(j, "value", 100.0 * t->share_retained, 6);
		cs_json_end_obj(j);
	}
	if (a->known && !a->unknown_children && isfinite(a->amplification)) {
		cs_json_obj(j, "amplification");
		cs_json_num(j, "value", a->amplification, 6);
		cs_json_end_obj(j);
	}
	cs_json_end_obj(j);
}

static void bmf_groups(cs_json_t *j, const check_ctx_t *ctx, const cs_bill_t *b)
{
	for (size_t i = 0; i < b->ngroups; i++) {
		const cs_bill_group_t *g = &b->groups[i];
		const char *comm = g->parent >= 0 ? cs_check_comm(&ctx->m.procs[g->parent]) : "?";
		char name[300];

		snprintf(name, sizeof(name), "%s (parent pid %lld)", comm, (long long)g->ppid);
		bmf_entry(j, name, &g->t);
	}
	bmf_entry(j, "tree", &b->t);
}

/* --bmf FILE: Bencher Metric Format, per parent and for the tree. Returns 0 or an exit code. */
static int write_bmf(const check_ctx_t *ctx)
{
	cs_bill_t b;
	cs_json_t j;
	FILE *f;
	int err = CS_EXIT_SYSTEM;

	if (cs_bill_of(&ctx->m, ctx->kids, ctx->nkids, &b))
		return CS_EXIT_SYSTEM;
	f = fopen(ctx->bmf, "w");
	if (!f)
		goto out;
	cs_json_init(&j, f);
	cs_json_obj(&j, NULL);
	bmf_groups(&j, ctx, &b);
	cs_json_end_obj(&j);
	err = cs_json_finish(&j) ? CS_EXIT_SYSTEM : 0;
	fputc('\n', f);
	if (fclose(f))
		err = CS_EXIT_SYSTEM;
out:
	if (err)
		fprintf(stderr, "cowscope check: cannot write %s: %s\n", ctx->bmf, strerror(errno));
	cs_bill_free(&b);
	return err;
}

/* The machine outputs the options and the environment ask for. Returns 0 or an exit code. */
static int outputs(const check_ctx_t *ctx, const char *summary)
{
	const char *gha = getenv("GITHUB_ACTIONS");
	const char *step = getenv("GITHUB_STEP_SUMMARY");
	int err = 0;

	if (ctx->junit)
		err = write_junit(ctx);
	if (!err && ctx->bmf)
		err = write_bmf(ctx);
	if (!err && gha && !strcmp(gha, "true")) {
		github_annotations(ctx);
		if (step && *step)
			err = github_summary(ctx, step, summary);
	}
	return err;
}

static int check_run(void *vctx, const cs_cli_t *cli)
{
	check_ctx_t *ctx = vctx;
	char summary[200];
	size_t failed, errors;
	int err = load(ctx);

	(void)cli;
	for (int i = 0; i < CS_LIM__COUNT && !err; i++)
		if (ctx->set[i])
			err = check_one(ctx, i);
	if (!err && ctx->baseline)
		err = check_baseline(ctx);
	if (!err && ctx->write_baseline)
		err = write_baseline(ctx);
	if (err)
		return err;
	verdict_summary(ctx, summary, sizeof(summary));
	if (ctx->nv)
		printf("%s\n", summary);
	err = outputs(ctx, summary);
	return err ? err : outcome(ctx, &failed, &errors);
}

static void check_fini(void *vctx)
{
	check_ctx_t *ctx = vctx;

	free(ctx->kids);
	free(ctx->regs);
	cs_baseline_free(ctx->base); /* after regs: their names live in it */
	if (ctx->loaded)
		cs_model_free(&ctx->m);
}

const cs_cmd_t cs_cmd_check = {
	.name = "check",
	.summary = "fail (exit 1) when a run's sharing breaks a limit: for CI",
	.operands = "RUN",
	.description =
		"Checks the copy-on-write sharing of the forked children of run directory RUN\n"
		"against limits, one line each: the value, the limit, PASS or FAIL (e.g. \"copied\n"
		"12.30% of shared pages (worst child pid 812 `gunicorn`) \u2264 10%: FAIL\"), on a\n"
		"failure the 3 allocation sites behind it, then a one-line verdict. A value equal\n"
		"to its limit passes. At least one limit (or --baseline) is required.\n"
		"\n"
		"With --scope child (the default) every child is checked and the worst one\n"
		"named; with --scope tree the whole run is, as a memory bill: the children's\n"
		"copies summed, each parent's shared pages counted once (as `report` totals).\n"
		"--only and --phase narrow the children either way. See docs/ci.md.\n",
	.epilogue =
		"With GITHUB_ACTIONS=true, failures are also printed as ::error annotations (at\n"
		"the top allocation site's file and line when known), and a Markdown table is\n"
		"appended to the file $GITHUB_STEP_SUMMARY names.\n"
		"\n"
		"exit status: 0 every limit passed, 1 a limit failed (or the run regressed from\n"
		"the baseline), 2 usage error (also: no limit, no such phase), 3 RUN is unreadable\n"
		"or holds no traces, a trace is corrupt, or the run cannot measure a limit (e.g.\n"
		"copies on the `exclusive` backend; never a pass), 4 system error.\n",
	.opts = check_opts,
	.ctx_size = sizeof(check_ctx_t),
	.init = check_init,
	.parse = check_parse,
	.args = check_args,
	.run = check_run,
	.fini = check_fini,
};
