/* SPDX-License-Identifier: MIT */
/* Unit tests: the command table and the shared option plumbing, driven as `cowscope` would be. */
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include "cli.h"

/* What one `cowscope ARGS` printed, and its exit code. */
typedef struct outcome {
	int rc;
	char out[32768];
	char err[4096];
} outcome_t;

static void slurp(FILE *f, char *buf, size_t size)
{
	size_t n;

	rewind(f);
	n = fread(buf, 1, size - 1, f);
	buf[n] = 0;
	fclose(f);
}

/* Run `cowscope argv...` (NULL-terminated) through cs_cli_main, capturing stdout and stderr. */
static void cowscope(outcome_t *o, const char *arg0, ...)
{
	char *argv[16] = { "cowscope", (char *)arg0 };
	int argc = 2, save1 = dup(1), save2 = dup(2);
	FILE *out = tmpfile(), *err = tmpfile();
	va_list ap;

	va_start(ap, arg0);
	while (argc < 15 && (argv[argc] = va_arg(ap, char *)))
		argc++;
	va_end(ap);
	assert_non_null(out);
	assert_non_null(err);
	fflush(stdout);
	fflush(stderr);
	dup2(fileno(out), 1);
	dup2(fileno(err), 2);
	o->rc = cs_cli_main(&cs_cli_commands, argc, argv);
	fflush(stdout);
	fflush(stderr);
	dup2(save1, 1);
	dup2(save2, 2);
	close(save1);
	close(save2);
	slurp(out, o->out, sizeof(o->out));
	slurp(err, o->err, sizeof(o->err));
}

static const cs_cmd_t *cmd(size_t i)
{
	return cs_cli_commands.cmds[i];
}

static const cs_opt_t *find_opt(const cs_cmd_t *c, const char *name)
{
	for (const cs_opt_t *o = c->opts; o->name; o++)
		if (!strcmp(o->name, name))
			return o;
	return NULL;
}

/* Every row is complete, and its options are consistent and unambiguous. */
static void check_opts(const cs_cmd_t *c)
{
	size_t n = 0;
	bool help = false, own = false;

	for (const cs_opt_t *o = c->opts; o->name; o++, n++) {
		assert_non_null(o->help);
		assert_true(*o->help && o->help[strlen(o->help) - 1] != '\n');
		assert_int_equal(o->kind != CS_ARG_NONE, o->arg != NULL);
		assert_true(o->kind != CS_ARG_CHOICE || (o->choices && o->choices[0]));
		assert_true(o->kind != CS_ARG_UINT || o->max >= o->min);
		assert_ptr_equal(find_opt(c, o->name), o); /* long names unique */
		for (const cs_opt_t *p = c->opts; o->letter && p != o; p++)
			assert_true(p->letter != o->letter); /* letters unique */
		help |= o->id == CS_OPT_HELP && o->letter == 'h' && !strcmp(o->name, "help");
		own |= o->id != CS_OPT_HELP;
	}
	assert_true(help);
	assert_true(n <= CS_OPTS_MAX);
	assert_true(!own || c->parse);
}

static void test_rows_complete(void **state)
{
	(void)state;
	assert_int_equal(cs_cli_commands.ncmds, 6);
	for (size_t i = 0; i < cs_cli_commands.ncmds; i++) {
		const cs_cmd_t *c = cmd(i);

		assert_non_null(c->name);
		assert_true(c->summary && *c->summary && !strchr(c->summary, '\n'));
		assert_true(c->description && *c->description);
		assert_non_null(c->operands);
		assert_non_null(c->opts);
		assert_non_null(c->args);
		assert_non_null(c->run);
		assert_true(c->ctx_size > 0);
		assert_ptr_equal(cs_cli_find(&cs_cli_commands, c->name), c);
		check_opts(c);
	}
}

/* `cowscope CMD --help`, `-h` and `cowscope help CMD`: exit 0, the same text, from the table. */
static void test_help(void **state)
{
	static outcome_t a, b, h;
	char usage[128];

	(void)state;
	for (size_t i = 0; i < cs_cli_commands.ncmds; i++) {
		const cs_cmd_t *c = cmd(i);

		cowscope(&a, c->name, "--help", NULL);
		cowscope(&b, c->name, "-h", NULL);
		cowscope(&h, "help", c->name, NULL);
		assert_int_equal(a.rc, 0);
		assert_int_equal(b.rc, 0);
		assert_int_equal(h.rc, 0);
		assert_string_equal(a.err, "");
		snprintf(usage, sizeof(usage), "usage: cowscope %s ", c->name);
		assert_memory_equal(a.out, usage, strlen(usage));
		assert_non_null(strstr(a.out, c->description));
		assert_string_equal(a.out, b.out);
		assert_string_equal(a.out, h.out);
		for (const cs_opt_t *o = c->opts; o->name; o++) {
			snprintf(usage, sizeof(usage), "--%s", o->name);
			assert_non_null(strstr(a.out, usage));
		}
	}
}

static bool starts_with(const char *s, const char *prefix)
{
	return !strncmp(s, prefix, strlen(prefix));
}

/* The usage line: every option but --help in table order, then the operands; wrapped. */
static void test_usage_line(void **state)
{
	static outcome_t o;

	(void)state;
	cowscope(&o, "report", "--help", NULL);
	assert_true(starts_with(
		o.out,
		"usage: cowscope report [--format text|json|folded|pprof|trace] "
		"[--top N]\n"
		"                       [--max-memory MIB] [--by site|writer|mapping|process|label:KIND]\n"
		"                       [--sort auto|copied|unshared|parent-unshared|new] "
		"[--all]\n"
		"                       [--per-process] RUN\n\n"));
	cowscope(&o, "diff", "--help", NULL);
	assert_true(starts_with(o.out,
				"usage: cowscope diff [--format text|json] [--top N] "
				"BEFORE AFTER\n\n"));
	cowscope(&o, "run", "--help", NULL);
	assert_non_null(strstr(o.out, "\n                    [--linger SECONDS] "));
	assert_non_null(strstr(o.out, "[--quiet] -- CMD [ARG...]\n\n"));
	assert_non_null(strstr(o.out, "\n  -q, --quiet               do not print the report"));
	assert_non_null(strstr(o.out, "\n      --no-python           do not put"));
}

/* The command list of `cowscope help` and `cowscope --help` is the table's, in its order. */
static void test_overview(void **state)
{
	static outcome_t a, b;
	char line[256];
	const char *at;

	(void)state;
	cowscope(&a, "help", NULL);
	cowscope(&b, "--help", NULL);
	assert_int_equal(a.rc, 0);
	assert_int_equal(b.rc, 0);
	assert_string_equal(a.out, b.out);
	at = strstr(a.out, "commands:\n");
	assert_non_null(at);
	for (size_t i = 0; i < cs_cli_commands.ncmds; i++) {
		snprintf(line, sizeof(line), "  %-8s %s\n", cmd(i)->name, cmd(i)->summary);
		at = strstr(at, line);
		assert_non_null(at);
	}
}

static void expect_usage_error(const outcome_t *o, const char *cmd, const char *msg)
{
	char want[512];

	if (cmd)
		snprintf(want, sizeof(want), "cowscope %s: %s\nTry 'cowscope %s --help'.\n", cmd,
			 msg, cmd);
	else
		snprintf(want, sizeof(want), "cowscope: %s\nTry 'cowscope --help'.\n", msg);
	assert_int_equal(o->rc, CS_EXIT_USAGE);
	assert_string_equal(o->err, want);
	assert_string_equal(o->out, "");
}

/* Unknown options, commands and missing arguments: exit 2, naming them. */
static void test_unknown(void **state)
{
	static outcome_t o;

	(void)state;
	for (size_t i = 0; i < cs_cli_commands.ncmds; i++) {
		cowscope(&o, cmd(i)->name, "--bogus", "x", NULL);
		expect_usage_error(&o, cmd(i)->name, "unknown option '--bogus'");
		cowscope(&o, cmd(i)->name, "-Z", "x", NULL);
		expect_usage_error(&o, cmd(i)->name, "unknown option '-Z'");
	}
	cowscope(&o, "nope", NULL);
	expect_usage_error(&o, NULL, "unknown command 'nope'");
	cowscope(&o, "--nope", NULL);
	expect_usage_error(&o, NULL, "unknown option '--nope'");
	cowscope(&o, "help", "nope", NULL);
	expect_usage_error(&o, "help", "unknown command 'nope'");
	cowscope(&o, "report", "--top", NULL);
	expect_usage_error(&o, "report", "option '--top' needs an argument");
	cowscope(&o, "run", "-o", NULL);
	expect_usage_error(&o, "run", "option '-o' needs an argument");
	cowscope(&o, "run", "--no-python", NULL); /* long-only options have no letter */
	expect_usage_error(&o, "run", "no command given (cowscope run [options] -- CMD [ARG...])");
}

/* A bad --top: exit 2 naming the option and the value, before any run directory is read. */
static void test_bad_top(void **state)
{
	static const char *const bad[] = { "x", "-1", "100001", "", "5x", "99999999999999999999" };
	static outcome_t o;
	char msg[256];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(msg, sizeof(msg), "--top wants a number from 0 to 100000, not '%s'",
			 bad[i]);
		cowscope(&o, "report", "--top", bad[i], "/nonexistent", NULL);
		expect_usage_error(&o, "report", msg);
		cowscope(&o, "diff", "-n", bad[i], "/nonexistent", "/nonexistent", NULL);
		expect_usage_error(&o, "diff", msg);
	}
	cowscope(&o, "report", "--max-memory", "0", "/nonexistent", NULL);
	expect_usage_error(&o, "report", "--max-memory wants MiB from 1 to 1048576, not '0'");
	cowscope(&o, "run", "--interval", "3600001", "--", "true", NULL);
	expect_usage_error(&o, "run", "--interval wants a number from 0 to 3600000, not '3600001'");
}

/* --format is checked against each command's own formats. */
static void test_format(void **state)
{
	static outcome_t o;

	(void)state;
	cowscope(&o, "report", "--format", "svg", "/nonexistent", NULL);
	expect_usage_error(&o, "report",
			   "unknown format 'svg' (text, json, folded, pprof or trace)");
	cowscope(&o, "diff", "-f", "folded", "/nonexistent", "/nonexistent", NULL);
	expect_usage_error(&o, "diff", "unknown format 'folded' (text or json)");
	/* good options reach the operands: the missing run directory is the error now */
	cowscope(&o, "report", "--format=json", "-n", "0", "--max-memory", "1", "/nonexistent",
		 NULL);
	assert_int_equal(o.rc, CS_EXIT_TRACE);
	cowscope(&o, "diff", "--format", "json", "--top", "100000", "/nonexistent", "/nonexistent",
		 NULL);
	assert_int_equal(o.rc, CS_EXIT_TRACE);
}

/* An option two commands share is read the same way by both, value for value. */
static void same_reading(const cs_cmd_t *a, const cs_opt_t *x, const cs_cmd_t *b, const cs_opt_t *y)
{
	static const char *const samples[] = { "0",  "1", "7",    "100000", "100001", "x",
					       "-1", "",  "text", "json",   "folded", "svg" };

	assert_int_equal(x->letter, y->letter);
	assert_int_equal(x->kind, y->kind);
	assert_int_equal(x->id == CS_OPT_HELP, y->id == CS_OPT_HELP);
	assert_string_equal(x->arg ? x->arg : "", y->arg ? y->arg : "");
	if (x->kind == CS_ARG_UINT) {
		assert_true(x->min == y->min && x->max == y->max);
		assert_string_equal(x->unit ? x->unit : "", y->unit ? y->unit : "");
	}
	for (size_t i = 0; x->kind && i < sizeof(samples) / sizeof(samples[0]); i++) {
		cs_optval_t u, v;
		int fd = dup(2), null = open("/dev/null", O_WRONLY);
		int ra, rb;

		dup2(null, 2);
		ra = cs_opt_read(a, x, samples[i], &u);
		rb = cs_opt_read(b, y, samples[i], &v);
		dup2(fd, 2);
		close(fd);
		close(null);
		if (x->kind == CS_ARG_CHOICE && (ra || rb))
			continue; /* each command has its own formats: checked in test_format */
		assert_int_equal(ra, rb);
		if (!ra && x->kind == CS_ARG_CHOICE)
			assert_string_equal(x->choices[u.num], y->choices[v.num]);
		else if (!ra)
			assert_true(u.num == v.num && u.str == v.str);
	}
}

/* A letter means one option everywhere: x's letter in command c names x's long name. */
static void same_letter_same_name(const cs_opt_t *x, const cs_cmd_t *c)
{
	for (const cs_opt_t *y = c->opts; x->letter && y->name; y++)
		if (y->letter == x->letter)
			assert_string_equal(y->name, x->name);
}

static void test_shared_options(void **state)
{
	size_t shared = 0;

	(void)state;
	for (size_t i = 0; i < cs_cli_commands.ncmds; i++)
		for (size_t j = i + 1; j < cs_cli_commands.ncmds; j++)
			for (const cs_opt_t *x = cmd(i)->opts; x->name; x++) {
				const cs_opt_t *y = find_opt(cmd(j), x->name);

				if (y) {
					same_reading(cmd(i), x, cmd(j), y);
					shared++;
				}
				same_letter_same_name(x, cmd(j));
			}
	assert_true(shared >= 2 + 6); /* report/diff: format, top; --help everywhere */
}

/* --top 7 is 7 for both; the plumbing hands the checked number to the command. */
static void test_top_value(void **state)
{
	const cs_opt_t *r = find_opt(&cs_cmd_report, "top"), *d = find_opt(&cs_cmd_diff, "top");
	cs_optval_t u, v;

	(void)state;
	assert_int_equal(cs_opt_read(&cs_cmd_report, r, "7", &u), 0);
	assert_int_equal(cs_opt_read(&cs_cmd_diff, d, "7", &v), 0);
	assert_true(u.num == 7 && v.num == 7);
	assert_int_equal(r->letter, 'n');
	assert_true(r->max == CS_TOP_MAX);
}

/* What the optional-argument test command's parse saw. */
static const char *seen_str;
static unsigned long seen_num;
static int seen_calls;

static int lines_parse(void *ctx, int id, const cs_optval_t *v)
{
	(void)ctx;
	(void)id;
	seen_str = v->str;
	seen_num = v->num;
	seen_calls++;
	return 0;
}

/* --python-lines, --python-lines=3, --python-lines=0 (out of range): run's optional argument. */
static void test_optional_arg(void **state)
{
	const cs_opt_t *o = find_opt(&cs_cmd_run, "python-lines");
	cs_cmd_t c = { .name = "t", .opts = o, .parse = lines_parse };
	cs_opt_t opts[3] = { *o, CS_OPT_HELP_ROW, { 0 } };
	char a0[] = "t", bare[] = "--python-lines", three[] = "--python-lines=3",
	     zero[] = "--python-lines=0", cmd[] = "cmd";
	char *argv1[] = { a0, bare, cmd, NULL }, *argv2[] = { a0, three, cmd, NULL };
	char *argv3[] = { a0, zero, cmd, NULL };
	bool help;
	int first, save2 = dup(2), null = open("/dev/null", O_WRONLY);

	(void)state;
	assert_non_null(o);
	assert_true(o->arg_optional && o->kind == CS_ARG_UINT && o->min == 1);
	c.opts = opts;
	seen_calls = 0;
	assert_int_equal(cs_cli_parse(&c, NULL, 3, argv1, &help, &first), 0);
	assert_true(seen_calls == 1 && seen_str == NULL && seen_num == 0 && first == 2);
	assert_int_equal(cs_cli_parse(&c, NULL, 3, argv2, &help, &first), 0);
	assert_true(seen_calls == 2 && seen_str && !strcmp(seen_str, "3") && seen_num == 3);
	assert_int_equal(first, 2);
	fflush(stderr);
	dup2(null, 2);
	assert_int_equal(cs_cli_parse(&c, NULL, 3, argv3, &help, &first), CS_EXIT_USAGE);
	fflush(stderr);
	dup2(save2, 2);
	close(save2);
	close(null);
	assert_int_equal(seen_calls, 2);
}

/* ---- the man page against the table ------------------------------------------------------ */

static char *man;

static int load_man(void **state)
{
	FILE *f = fopen(CS_MANPAGE, "r");
	long n;

	(void)state;
	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	man = calloc(1, (size_t)n + 1);
	assert_non_null(man);
	assert_int_equal(fread(man, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	return 0;
}

static int free_man(void **state)
{
	(void)state;
	free(man);
	return 0;
}

/* The text of section name, up to the next .SH, as a new string. */
static char *section(const char *name)
{
	char head[64];
	const char *s, *e;

	snprintf(head, sizeof(head), "\n.SH %s\n", name);
	s = strstr(man, head);
	assert_non_null(s);
	s += strlen(head);
	e = strstr(s, "\n.SH ");
	return strndup(s, e ? (size_t)(e - s) : strlen(s));
}

/* Within [s, end): the text after the line starting with head, up to the next line starting so. */
static char *block(const char *s, const char *head, const char *next)
{
	const char *b = strstr(s, head), *e;

	if (!b)
		return NULL;
	b += strlen(head);
	e = strstr(b, next);
	return strndup(b, e ? (size_t)(e - b) : strlen(b));
}

/* "\-\-max\-memory" for "max-memory". */
static void roff_long(const char *name, char *buf, size_t size)
{
	size_t n = (size_t)snprintf(buf, size, "\\-\\-");

	for (; *name && n + 3 < size; name++)
		n += (size_t)snprintf(buf + n, size - n, *name == '-' ? "\\-" : "%c", *name);
}

/* Does text name "\-x" as a word (not "\-xyz")? */
static bool has_short(const char *text, char letter)
{
	char shrt[4] = { '\\', '-', letter, 0 };

	for (const char *p = strstr(text, shrt); p; p = strstr(p + 1, shrt))
		if (!(p[3] >= 'a' && p[3] <= 'z') && p[3] != '\\')
			return true;
	return false;
}

/* Every option of c but --help is named in text, long or short. */
static void names_every_option(const cs_cmd_t *c, const char *text)
{
	char lng[96];

	for (const cs_opt_t *o = c->opts; o->name; o++) {
		if (o->id == CS_OPT_HELP)
			continue;
		roff_long(o->name, lng, sizeof(lng));
		if (!strstr(text, lng) && !(o->letter && has_short(text, o->letter)))
			fail_msg("man page: %s does not mention --%s", c->name, o->name);
	}
}

/* Every long option named in text is one of c's. */
static void names_no_other_option(const cs_cmd_t *c, const char *text)
{
	for (const char *p = strstr(text, "\\-\\-"); p; p = strstr(p, "\\-\\-")) {
		char name[64];
		size_t n = 0;

		for (p += 4; n < sizeof(name) - 1 && ((*p >= 'a' && *p <= 'z') || *p == '\\'); p++)
			if (*p == '\\' && p[1] == '-')
				name[n++] = '-', p++;
			else if (*p != '\\')
				name[n++] = *p;
			else
				break;
		name[n] = 0;
		if (n && !find_opt(c, name)) /* n == 0: "--" before CMD */
			fail_msg("man page: %s names --%s, which it does not have", c->name, name);
	}
}

/* SYNOPSIS: one entry per command of the table, naming exactly its options. */
static void test_man_synopsis(void **state)
{
	char *syn = section("SYNOPSIS"), head[64];
	size_t entries = 0;

	(void)state;
	for (const char *p = strstr(syn, ".B cowscope "); p; p = strstr(p + 1, ".B cowscope "))
		entries++;
	assert_int_equal(entries, cs_cli_commands.ncmds + 1); /* + cowscope --version */
	for (size_t i = 0; i < cs_cli_commands.ncmds; i++) {
		char *b;

		snprintf(head, sizeof(head), ".B cowscope %s\n", cmd(i)->name);
		b = block(syn, head, "\n.br\n");
		if (!b)
			fail_msg("man page: no SYNOPSIS entry for %s", cmd(i)->name);
		names_every_option(cmd(i), b);
		names_no_other_option(cmd(i), b);
		free(b);
	}
	free(syn);
}

/* COMMANDS: the table's commands in its order, each paragraph naming exactly its options. */
static void test_man_commands(void **state)
{
	char *sec = section("COMMANDS"), head[64];
	const char *at = sec;
	size_t entries = 0;

	(void)state;
	for (const char *p = strstr(sec, ".TP\n.B "); p; p = strstr(p + 1, ".TP\n.B "))
		entries++;
	assert_int_equal(entries, cs_cli_commands.ncmds);
	for (size_t i = 0; i < cs_cli_commands.ncmds; i++) {
		char *b;

		snprintf(head, sizeof(head), ".TP\n.B %s\n", cmd(i)->name);
		at = strstr(at, head);
		if (!at)
			fail_msg("man page: COMMANDS lacks %s, or not in the table's order",
				 cmd(i)->name);
		b = block(at, head, ".TP\n.B ");
		names_every_option(cmd(i), b);
		names_no_other_option(cmd(i), b);
		free(b);
	}
	free(sec);
}

/* OPTIONS: every short form of the table, as ".BR \\-x \" (\" \\-\\-long )". */
static void test_man_short_forms(void **state)
{
	char *sec = section("OPTIONS"), want[128], lng[96];

	(void)state;
	for (size_t i = 0; i < cs_cli_commands.ncmds; i++)
		for (const cs_opt_t *o = cmd(i)->opts; o->name; o++) {
			if (!o->letter || o->id == CS_OPT_HELP)
				continue;
			roff_long(o->name, lng, sizeof(lng));
			snprintf(want, sizeof(want), ".BR \\-%c \" (\" %s )", o->letter, lng);
			if (!strstr(sec, want))
				fail_msg("man page: OPTIONS lacks %s", want);
		}
	assert_non_null(strstr(sec, ".BR \\-h \", \" \\-\\-help\n"));
	free(sec);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rows_complete),
		cmocka_unit_test(test_help),
		cmocka_unit_test(test_usage_line),
		cmocka_unit_test(test_overview),
		cmocka_unit_test(test_unknown),
		cmocka_unit_test(test_bad_top),
		cmocka_unit_test(test_format),
		cmocka_unit_test(test_shared_options),
		cmocka_unit_test(test_top_value),
		cmocka_unit_test(test_optional_arg),
		cmocka_unit_test_setup_teardown(test_man_synopsis, load_man, free_man),
		cmocka_unit_test_setup_teardown(test_man_commands, load_man, free_man),
		cmocka_unit_test_setup_teardown(test_man_short_forms, load_man, free_man),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
