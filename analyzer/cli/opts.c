/* SPDX-License-Identifier: MIT */
/* The shared option plumbing: one getopt_long loop built from a command's option table. */
#include <getopt.h>
#include <string.h>
#include "cli.h"

/* getopt_long's return for long-only option i (above every letter). */
#define LONG_ONLY_BASE 256

typedef struct getopt_tables {
	struct option longs[CS_OPTS_MAX + 1];
	char shorts[3 + 2 * CS_OPTS_MAX + 1];
} getopt_tables_t;

/*
 * "+:" (stop at the first operand: run's CMD keeps its own options; report
 * a missing argument as ':'), then each letter, with ':' if it takes one.
 */
static int build_tables(const cs_cmd_t *c, getopt_tables_t *t)
{
	size_t n = 0, k = 0;

	t->shorts[k++] = '+';
	t->shorts[k++] = ':';
	for (const cs_opt_t *o = c->opts; o->name; o++, n++) {
		if (n == CS_OPTS_MAX)
			return -1;
		int has = !o->kind        ? no_argument
			: o->arg_optional ? optional_argument
					  : required_argument;

		t->longs[n] = (struct option){ o->name, has, NULL,
					       o->letter ? o->letter : LONG_ONLY_BASE + (int)n };
		if (o->letter)
			t->shorts[k++] = o->letter;
		if (o->letter && o->kind)
			t->shorts[k++] = ':';
	}
	t->longs[n] = (struct option){ 0 };
	t->shorts[k] = 0;
	return 0;
}

/* The descriptor getopt_long's return r stands for, or NULL ('?', ':'). */
static const cs_opt_t *find_opt(const cs_cmd_t *c, int r)
{
	if (r >= LONG_ONLY_BASE)
		return &c->opts[r - LONG_ONLY_BASE];
	for (const cs_opt_t *o = c->opts; o->name; o++)
		if (o->letter && o->letter == r)
			return o;
	return NULL;
}

/* "a, b or c" into buf. */
static void join_choices(const char *const *choices, char *buf, size_t size)
{
	size_t n = 0, len = 0;

	while (choices[n])
		n++;
	buf[0] = 0;
	for (size_t i = 0; i < n && len < size; i++) {
		const char *sep = i == 0 ? "" : i + 1 == n ? " or " : ", ";

		len += (size_t)snprintf(buf + len, size - len, "%s%s", sep, choices[i]);
	}
}

static int read_choice(const cs_cmd_t *c, const cs_opt_t *o, const char *s, cs_optval_t *v)
{
	char list[256];

	for (size_t i = 0; o->choices[i]; i++) {
		if (!strcmp(s, o->choices[i])) {
			v->num = i;
			return 0;
		}
	}
	join_choices(o->choices, list, sizeof(list));
	return cs_usage_error(c, "unknown %s '%s' (%s)", o->name, s, list);
}

int cs_opt_read(const cs_cmd_t *c, const cs_opt_t *o, const char *s, cs_optval_t *v)
{
	*v = (cs_optval_t){ .str = s };
	if (o->kind == CS_ARG_CHOICE)
		return read_choice(c, o, s, v);
	if (o->kind != CS_ARG_UINT)
		return 0;
	if (cs_parse_uint(s, o->max, &v->num) || v->num < o->min)
		return cs_usage_error(c, "--%s wants %s from %lu to %lu, not '%s'", o->name,
				      o->unit ? o->unit : "a number", o->min, o->max, s);
	return 0;
}

/* One option getopt_long returned (r): checked, then given to the command. */
static int take(const cs_cmd_t *c, void *ctx, int r, char **argv, bool *help)
{
	const cs_opt_t *o = find_opt(c, r);
	cs_optval_t v;
	int err = 0;

	if (!o)
		return cs_getopt_error(c, r, argv);
	if (o->id == CS_OPT_HELP) {
		*help = true;
		return 0;
	}
	if (o->arg_optional && !optarg)
		v = (cs_optval_t){ 0 };
	else
		err = cs_opt_read(c, o, o->kind ? optarg : NULL, &v);
	return err || !c->parse ? err : c->parse(ctx, o->id, &v);
}

int cs_cli_parse(const cs_cmd_t *c, void *ctx, int argc, char **argv, bool *help, int *first)
{
	getopt_tables_t t;
	int r, err = 0;

	*help = false;
	if (build_tables(c, &t)) {
		fprintf(stderr, "cowscope %s: more than %d options\n", c->name, CS_OPTS_MAX);
		return CS_EXIT_SYSTEM;
	}
	optind = 0; /* glibc: start over, as for a new argv */
	opterr = 0;
	while (!err && (r = getopt_long(argc, argv, t.shorts, t.longs, NULL)) != -1)
		err = take(c, ctx, r, argv, help);
	*first = optind;
	return err;
}
