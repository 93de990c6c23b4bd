/* SPDX-License-Identifier: MIT */
/* prefork-sim: a model pre-fork server on the object API, to measure header layouts and freezing. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "sim.h"

static const char usage[] =
	"usage: prefork-sim [options]\n"
	"A model pre-fork server: the parent builds a graph of objects (strings, lists, dicts)\n"
	"with the cowscope object API, optionally freezes it, and forks workers that serve\n"
	"requests: read random objects (incref/decref), make and drop temporaries, collect.\n"
	"Run it under `cowscope run` to see what the workers copy. Deterministic for a seed.\n"
	"\n"
	"  -n, --objects N      objects in the graph (default 200000)\n"
	"  -w, --workers N      workers to fork (default 4)\n"
	"  -r, --requests N     requests per worker (default 1000)\n"
	"      --reads N        objects read per request (default 100)\n"
	"      --temps N        temporaries per request (default 20)\n"
	"      --layout L       inline or outofline (default: COWSCOPE_OBJ_LAYOUT, else outofline)\n"
	"      --freeze         cowscope_freeze() before forking\n"
	"      --immortal       freeze, making the frozen objects immortal (implies --freeze)\n"
	"      --gc-every N     full collection every N requests in a worker, 0: never (default 100)\n"
	"      --no-auto-gc     no automatic (threshold) collections in the workers\n"
	"      --phases         two rounds of workers: unfrozen (phase \"before\"), then frozen\n"
	"                       (phase \"frozen\"), for `cowscope diff RUN:before RUN:frozen`\n"
	"  -s, --seed N         random seed (default 1)\n"
	"  -h, --help           this text\n";

enum {
	OPT_READS = 256,
	OPT_TEMPS,
	OPT_LAYOUT,
	OPT_FREEZE,
	OPT_IMMORTAL,
	OPT_GC_EVERY,
	OPT_NO_AUTO_GC,
	OPT_PHASES
};

static const struct option longopts[] = {
	{ "objects", required_argument, NULL, 'n' },
	{ "workers", required_argument, NULL, 'w' },
	{ "requests", required_argument, NULL, 'r' },
	{ "reads", required_argument, NULL, OPT_READS },
	{ "temps", required_argument, NULL, OPT_TEMPS },
	{ "layout", required_argument, NULL, OPT_LAYOUT },
	{ "freeze", no_argument, NULL, OPT_FREEZE },
	{ "immortal", no_argument, NULL, OPT_IMMORTAL },
	{ "gc-every", required_argument, NULL, OPT_GC_EVERY },
	{ "no-auto-gc", no_argument, NULL, OPT_NO_AUTO_GC },
	{ "phases", no_argument, NULL, OPT_PHASES },
	{ "seed", required_argument, NULL, 's' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

/* A decimal number in [lo, hi]. 0 or -EINVAL. */
static int number(const char *s, long lo, long hi, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < lo || v > hi)
		return -EINVAL;
	*out = v;
	return 0;
}

static int parse_layout(const char *s, int *layout)
{
	if (strcmp(s, "inline") == 0)
		*layout = COWSCOPE_LAYOUT_INLINE;
	else if (strcmp(s, "outofline") == 0)
		*layout = COWSCOPE_LAYOUT_OUTOFLINE;
	else
		return -EINVAL;
	return 0;
}

/* One option with an argument; 0 or -EINVAL. */
static int parse_valued(sim_opts_t *o, int c, const char *arg)
{
	long v = 0;
	int r = 0;

	switch (c) {
	case 'n':
		r = number(arg, 1, 100000000, &o->objects);
		break;
	case 'w':
		r = number(arg, 0, 256, &v), o->workers = (int)v;
		break;
	case 'r':
		r = number(arg, 0, 1000000000, &o->requests);
		break;
	case OPT_READS:
		r = number(arg, 0, 1000000, &v), o->reads = (int)v;
		break;
	case OPT_TEMPS:
		r = number(arg, 0, 1000000, &v), o->temps = (int)v;
		break;
	case OPT_GC_EVERY:
		r = number(arg, 0, 1000000000, &o->gc_every);
		break;
	case OPT_LAYOUT:
		r = parse_layout(arg, &o->layout);
		break;
	case 's':
		r = number(arg, 0, 0x7fffffffffffffffL, &v), o->seed = (uint64_t)v;
		break;
	default:
		r = -EINVAL;
	}
	return r;
}

/* 0 to run, 1 for --help, 2 for a usage error (message printed). */
static int parse_args(sim_opts_t *o, int argc, char **argv)
{
	int c;

	*o = (sim_opts_t){ .objects = 200000,
			   .workers = 4,
			   .requests = 1000,
			   .reads = 100,
			   .temps = 20,
			   .gc_every = 100,
			   .auto_gc = 1,
			   .seed = 1 };
	while ((c = getopt_long(argc, argv, "n:w:r:s:h", longopts, NULL)) != -1) {
		if (c == 'h')
			return 1;
		if (c == OPT_FREEZE || c == OPT_IMMORTAL)
			o->freeze = 1, o->immortal |= c == OPT_IMMORTAL;
		else if (c == OPT_NO_AUTO_GC)
			o->auto_gc = 0;
		else if (c == OPT_PHASES)
			o->phases = 1;
		else if (c == '?' || parse_valued(o, c, optarg) < 0)
			goto bad;
	}
	if (optind == argc)
		return 0;
bad:
	fprintf(stderr, "prefork-sim: bad arguments (try --help)\n");
	return 2;
}

/* Fork o->workers workers and wait for them; 0 if all exited 0. */
static int round_of_workers(const sim_graph_t *g, const sim_opts_t *o, int first)
{
	int failed = 0;

	fflush(stdout);
	for (int i = 0; i < o->workers; i++) {
		pid_t pid = fork();

		if (pid < 0) {
			perror("prefork-sim: fork");
			return -1;
		}
		if (pid == 0)
			sim_worker(g, o, first + i);
	}
	for (int i = 0; i < o->workers; i++) {
		int status;

		if (wait(&status) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
			failed = 1;
	}
	return failed ? -1 : 0;
}

static void freeze(const sim_opts_t *o)
{
	long n;

	if (o->immortal)
		cowscope_obj_set_immortal(1);
	n = cowscope_freeze();
	printf("prefork-sim: froze %ld objects%s\n", n < 0 ? 0 : n,
	       n == COWSCOPE_NOT_LOADED ? " (no shim: nothing to freeze)"
		       : o->immortal    ? ", immortal"
					: "");
}

/* What the driver needs: layout, object count and bytes, where the header table is. */
static void describe(const sim_graph_t *g)
{
	cowscope_gc_stats_t st = { 0 };
	int loaded = cowscope_gc_stats(&st) == 0;

	printf("prefork-sim: layout=%s shim=%s objects=%ld payload_bytes=%llu "
	       "header_table=%#lx header_table_bytes=%zu\n",
	       cowscope_obj_layout() == COWSCOPE_LAYOUT_INLINE ? "inline" : "outofline",
	       loaded ? "yes" : "no", g->n, (unsigned long long)g->payload_bytes,
	       (unsigned long)(uintptr_t)st.header_table, st.header_table_bytes);
}

static int run(const sim_opts_t *o)
{
	sim_graph_t g;

	if (o->layout && cowscope_obj_set_layout(o->layout) < 0 &&
	    o->layout != COWSCOPE_LAYOUT_INLINE)
		fprintf(stderr, "prefork-sim: no shim: objects have inline headers\n");
	if (sim_graph_build(&g, o) < 0) {
		fprintf(stderr, "prefork-sim: out of memory building %ld objects\n", o->objects);
		return 1;
	}
	describe(&g);
	if (o->phases) {
		cowscope_mark("before");
		if (round_of_workers(&g, o, 0) < 0)
			return 1;
	}
	if (o->freeze)
		freeze(o);
	cowscope_mark(o->immortal ? "immortal" : o->freeze ? "frozen" : "before");
	return round_of_workers(&g, o, o->phases ? o->workers : 0) < 0;
}

int main(int argc, char **argv)
{
	sim_opts_t o;
	int r = parse_args(&o, argc, argv);

	if (r == 1) {
		fputs(usage, stdout);
		return 0;
	}
	if (r == 2)
		return 2;
	if (o.phases && !o.freeze)
		o.freeze = 1; /* the second round is the frozen one */
	return run(&o);
}
