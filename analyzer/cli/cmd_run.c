/* SPDX-License-Identifier: MIT */
/* `cowscope run`: run a command under the shim, supervise its tree, report when it ends. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/perf_event.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <dirent.h>
#include <unistd.h>
#include "analyze.h"
#include "backend.h"
#include "options.h"
#include "cli.h"
#include "pfm.h"
#include "cs_config.h"
#include "model.h"
#include "record.h"
#include "render.h"
#include "supervise.h"
#include "vec.h"

#define INTERVAL_DEFAULT_MS 100
#define INTERVAL_MAX_MS 3600000
#define LINGER_DEFAULT_S 10
#define LINGER_MAX_S 86400
#define PYTHON_LINES_DEFAULT 8 /* frames, as tracemalloc.start(8) */
#define PYTHON_LINES_MAX 1000  /* the helper takes 1 to 1000 */
#define REPORT_TOP 5

extern char **environ;

typedef struct run_ctx {
	const char *out; /* -o DIR */
	const char *backend_name;
	uint8_t backend;          /* requested; CS_BACKEND_NONE for auto */
	const char *sample_bytes; /* --sample-bytes, checked against the shim's option table */
	const char *stack_depth;  /* --stack-depth, likewise */
	const char *diff;         /* --diff: COWSCOPE_DIFF, NULL for the shim's default (auto) */
	const char *events;       /* --events: COWSCOPE_EVENTS, every name checked with libpfm4 */
	unsigned interval_ms;
	unsigned linger_s;
	bool quiet;
	bool no_python;        /* --no-python: no CPython helper on PYTHONPATH */
	bool no_py_labels;     /* --no-python-labels: the helper labels no objects */
	bool no_punshared;     /* --no-parent-unshared: COWSCOPE_PARENT_UNSHARED=off */
	char python_lines[8];  /* --python-lines[=N]: COWSCOPE_PYTHON_LINES, "" when not given */
	bool writers;          /* --writers: COWSCOPE_WRITERS=1 (docs/writers.md) */
	bool allow_shared_dir; /* --allow-shared-dir: a symlinked, foreign or shared run dir */
	char **cmd;            /* CMD [ARG...] */
	/* while running */
	char *shim;
	char *pyhelper; /* the CPython helper's directory, NULL if not used */
	char *dir;      /* absolute */
	int dirfd;
	int runfd;
	int sigfd;
	sigset_t oldmask;
	struct sigaction oldchld; /* CMD gets it back: an ignored SIGCHLD stays ignored there */
	char **envp;
	size_t nowned; /* envp[0..nowned) were allocated by build_env */
	pid_t root;
	uint64_t start_ns;
	int held[4]; /* the default software events, held open for the run (hold_events) */
} run_ctx_t;

static int set_backend(run_ctx_t *ctx, const char *name)
{
	if (cs_backend_parse(name, &ctx->backend))
		return cs_usage_error(&cs_cmd_run,
				      "unknown backend '%s' (auto, uffd-wp, soft-dirty, "
				      "pfn or exclusive)",
				      name);
	ctx->backend_name = name;
	return 0;
}

/* A value passed to the shim: refused here, with the shim's own words, if the shim would refuse it. */
static int set_shim_option(const char *opt, const char *var, const char *value, const char **out)
{
	const char *accepts = "";

	if (cs_option_check(var, value, &accepts))
		return cs_usage_error(&cs_cmd_run, "%s wants %s, not '%s'", opt, accepts, value);
	*out = value;
	return 0;
}

/*
 * --diff MODE: checked by the shim's option table when it knows COWSCOPE_DIFF, else
 * against the modes docs/amplification.md names.
 */
static int set_diff(run_ctx_t *ctx, const char *mode)
{
	const char *accepts = "auto, all or off";
	int rc = cs_option_check("COWSCOPE_DIFF", mode, &accepts);

	if (rc == -ENOENT)
		rc = strcmp(mode, "auto") && strcmp(mode, "all") && strcmp(mode, "off") ? -EINVAL
											: 0;
	if (rc)
		return cs_usage_error(&cs_cmd_run, "--diff wants %s, not '%s'", accepts, mode);
	ctx->diff = mode;
	return 0;
}

/* --events LIST: each name must be one the shim can count (built in, or known to libpfm4). */
static int set_events(run_ctx_t *ctx, const char *list)
{
	char bad[256] = "";
	int rc = cs_option_check("COWSCOPE_EVENTS", list, NULL);

	if (rc == 0 && cs_pfm_check_list(list, bad, sizeof(bad)) == 0) {
		ctx->events = list;
		return 0;
	}
	return cs_usage_error(&cs_cmd_run, "unknown event '%s' (cowscope events lists them)",
			      bad[0] ? bad : list);
}

enum {
	OPT_OUTPUT,
	OPT_ALLOW_SHARED_DIR,
	OPT_BACKEND,
	OPT_INTERVAL,
	OPT_LINGER,
	OPT_SAMPLE_BYTES,
	OPT_STACK_DEPTH,
	OPT_DIFF,
	OPT_EVENTS,
	OPT_NO_PYTHON,
	OPT_NO_PYTHON_LABELS,
	OPT_PYTHON_LINES,
	OPT_WRITERS,
	OPT_NO_PARENT_UNSHARED,
	OPT_QUIET,
};

static const cs_opt_t run_opts[] = {
	{ .id = OPT_OUTPUT,
	  .name = "output",
	  .letter = 'o',
	  .kind = CS_ARG_STR,
	  .arg = "DIR",
	  .help = "run directory (default: cowscope.<CMD>.<pid> here); created\n"
		  "mode 0700; an existing one must be empty, yours, not a\n"
		  "symlink and not writable by group or others" },
	{ .id = OPT_ALLOW_SHARED_DIR,
	  .name = "allow-shared-dir",
	  .help = "accept a run directory that is a symlink, another user's\n"
		  "or writable by group or others (the shim too)" },
	{ .id = OPT_BACKEND,
	  .name = "backend",
	  .letter = 'b',
	  .kind = CS_ARG_STR,
	  .arg = "NAME",
	  .help = "auto (default), uffd-wp, soft-dirty, pfn or exclusive; a named\n"
		  "backend that is not usable here is an error" },
	{ .id = OPT_INTERVAL,
	  .name = "interval",
	  .letter = 'i',
	  .kind = CS_ARG_UINT,
	  .arg = "MS",
	  .max = INTERVAL_MAX_MS,
	  .help = "sample each live child every MS ms (default 100; 0: never),\n"
		  "the first time as soon as its fork snapshot is written.\n"
		  "Sampling spends at most 2% of one CPU over time (50 ms ahead\n"
		  "at most); when that is short, the children with the fewest\n"
		  "samples go first. The report says the interval achieved" },
	{ .id = OPT_LINGER,
	  .name = "linger",
	  .letter = 'l',
	  .kind = CS_ARG_UINT,
	  .arg = "SECONDS",
	  .max = LINGER_MAX_S,
	  .help = "after CMD ends, wait this long for its remaining descendants\n"
		  "(default 10), then report them as still running" },
	{ .id = OPT_SAMPLE_BYTES,
	  .name = "sample-bytes",
	  .letter = 's',
	  .kind = CS_ARG_STR,
	  .arg = "N",
	  .help = "record allocations every N bytes on average (default 64k;\n"
		  "k and M suffixes; 1: every allocation, exact but slower;\n"
		  "0: no allocation sites)" },
	{ .id = OPT_STACK_DEPTH,
	  .name = "stack-depth",
	  .letter = 'd',
	  .kind = CS_ARG_STR,
	  .arg = "N",
	  .help = "frames kept per allocation stack, 1 to 64 (default 32)" },
	{ .id = OPT_DIFF,
	  .name = "diff",
	  .kind = CS_ARG_STR,
	  .arg = "MODE",
	  .help = "compare each child's copied pages with their content at the\n"
		  "fork, for changed bytes and amplification: auto (default,\n"
		  "within a budget: over it one page in k, figures estimated),\n"
		  "all (every page) or off" },
	{ .id = OPT_WRITERS,
	  .name = "writers",
	  .help = "sample page faults in the children to name the code that\n"
		  "wrote each copied page (docs/writers.md: needs perf events;\n"
		  "costs a few microseconds per fault in the children)" },
	{ .id = OPT_NO_PARENT_UNSHARED,
	  .name = "no-parent-unshared",
	  .help = "children's snapshots skip pagemap bit 56 (uffd-wp backend):\n"
		  "cheaper snapshots (mincore + the written set); parent-unshared,\n"
		  "unshared and share retained are then unknown, child-copied\n"
		  "stays exact (docs/backends.md)" },
	{ .id = OPT_EVENTS,
	  .name = "events",
	  .letter = 'e',
	  .kind = CS_ARG_STR,
	  .arg = "LIST",
	  .help = "perf events to count in every process, comma-separated, as\n"
		  "libpfm4 names them (`cowscope events` lists them; default:\n"
		  "page faults, minor and major faults, context switches; none)" },
	{ .id = OPT_NO_PYTHON,
	  .name = "no-python",
	  .help = "do not put cowscope's CPython helper on PYTHONPATH (below)" },
	{ .id = OPT_NO_PYTHON_LABELS,
	  .name = "no-python-labels",
	  .help = "the CPython helper labels no objects before a fork (it still\n"
		  "takes the working snapshot at exit): the walk's freed buffers\n"
		  "then stay out of the parent's heap (docs/python.md, Cost)" },
	{ .id = OPT_PYTHON_LINES,
	  .name = "python-lines",
	  .kind = CS_ARG_UINT,
	  .arg = "N",
	  .arg_optional = true,
	  .min = 1,
	  .max = PYTHON_LINES_MAX,
	  .help = "the CPython helper also labels objects by the Python stack\n"
		  "that allocated them (N frames, default 8; tracemalloc runs\n"
		  "from the start: slower, more memory; docs/python.md)" },
	{ .id = OPT_QUIET,
	  .name = "quiet",
	  .letter = 'q',
	  .help = "do not print the report (read it with `cowscope report DIR`)" },
	CS_OPT_HELP_ROW,
	{ 0 },
};

/* The options without an argument. */
static int run_flag(run_ctx_t *ctx, int id)
{
	if (id == OPT_QUIET)
		ctx->quiet = true;
	else if (id == OPT_NO_PYTHON)
		ctx->no_python = true;
	else if (id == OPT_NO_PYTHON_LABELS)
		ctx->no_py_labels = true;
	else if (id == OPT_WRITERS)
		ctx->writers = true;
	else if (id == OPT_NO_PARENT_UNSHARED)
		ctx->no_punshared = true;
	else if (id == OPT_ALLOW_SHARED_DIR)
		ctx->allow_shared_dir = true;
	return 0;
}

static void run_init(void *vctx)
{
	run_ctx_t *ctx = vctx;

	ctx->interval_ms = INTERVAL_DEFAULT_MS;
	ctx->linger_s = LINGER_DEFAULT_S;
	ctx->dirfd = ctx->runfd = ctx->sigfd = -1;
	for (int i = 0; i < 4; i++)
		ctx->held[i] = -1;
}

static int run_parse(void *vctx, int id, const cs_optval_t *v)
{
	run_ctx_t *ctx = vctx;

	switch (id) {
	case OPT_OUTPUT:
		ctx->out = v->str;
		return 0;
	case OPT_BACKEND:
		return set_backend(ctx, v->str);
	case OPT_PYTHON_LINES:
		snprintf(ctx->python_lines, sizeof(ctx->python_lines), "%lu",
			 v->str ? v->num : PYTHON_LINES_DEFAULT);
		return 0;
	case OPT_INTERVAL:
		ctx->interval_ms = (unsigned)v->num;
		return 0;
	case OPT_LINGER:
		ctx->linger_s = (unsigned)v->num;
		return 0;
	case OPT_SAMPLE_BYTES:
		return set_shim_option("--sample-bytes", "COWSCOPE_SAMPLE_BYTES", v->str,
				       &ctx->sample_bytes);
	case OPT_STACK_DEPTH:
		return set_shim_option("--stack-depth", "COWSCOPE_STACK_DEPTH", v->str,
				       &ctx->stack_depth);
	case OPT_DIFF:
		return set_diff(ctx, v->str);
	case OPT_EVENTS:
		return set_events(ctx, v->str);
	}
	return run_flag(ctx, id);
}

static int run_args(void *vctx, int argc, char **argv)
{
	run_ctx_t *ctx = vctx;

	if (argc < 1)
		return cs_usage_error(&cs_cmd_run,
				      "no command given (cowscope run [options] -- CMD "
				      "[ARG...])");
	ctx->cmd = argv;
	return 0;
}

/* Print "cowscope: " and the message on stderr; returns CS_EXIT_SYSTEM. */
static int sys_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int sys_error(const char *fmt, ...)
{
	va_list ap;

	fputs("cowscope: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return CS_EXIT_SYSTEM;
}

/* Whether this cowscope is the build tree's (it then uses the build tree's shim and helper). */
static bool in_build_tree(void)
{
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

	if (n <= 0)
		return false;
	exe[n] = 0;
	return !strncmp(exe, CS_BUILDDIR "/", strlen(CS_BUILDDIR "/"));
}

/* The build tree's shim for a build-tree cowscope, else the installed one. */
static const char *default_shim(void)
{
	return in_build_tree() ? CS_SHIM_BUILDDIR : CS_SHIM_INSTALLED;
}

static int resolve_shim(run_ctx_t *ctx)
{
	const char *env = getenv("COWSCOPE_SHIM");
	const char *path = env && *env ? env : default_shim();

	if (path[0] != '/')
		return sys_error("the shim path must be absolute: '%s'", path);
	if (strpbrk(path, ": \t\n"))
		return sys_error("the shim path '%s' cannot go in LD_PRELOAD (it holds ':' or a "
				 "space)",
				 path);
	if (access(path, R_OK))
		return sys_error("cannot use the shim '%s': %s", path, strerror(errno));
	ctx->shim = strdup(path);
	return ctx->shim ? 0 : sys_error("out of memory");
}

/* The CPython helper's directory, chosen as the shim is: the build tree's for a build-tree binary. */
static const char *default_pyhelper(void)
{
	return in_build_tree() ? CS_PYHELPER_BUILDDIR : CS_PYHELPER_INSTALLED;
}

/*
 * The directory `cowscope run` puts first on PYTHONPATH (docs/working-figures.md),
 * unless --no-python. A missing helper is not fatal: Python programs then get
 * their working figures from exit(), after their teardown; we say so once.
 */
static int resolve_pyhelper(run_ctx_t *ctx)
{
	const char *dir = default_pyhelper();
	char file[PATH_MAX];

	if (ctx->no_python)
		return 0;
	snprintf(file, sizeof(file), "%s/sitecustomize.py", dir);
	if (strchr(dir, ':') || access(file, R_OK)) {
		fprintf(stderr,
			"cowscope: no Python helper at %s (%s): Python programs will be "
			"measured after their teardown\n",
			file, strchr(dir, ':') ? "its path holds ':'" : strerror(errno));
		return 0;
	}
	ctx->pyhelper = strdup(dir);
	return ctx->pyhelper ? 0 : sys_error("out of memory");
}

static int check_backend(run_ctx_t *ctx)
{
	cs_probe_t p;

	if (ctx->backend == CS_BACKEND_NONE || ctx->backend >= CS_BACKEND_COUNT)
		return 0;
	cs_backend_probe_for(&p, ctx->backend); /* probes the requested one for sure */
	if (p.b[ctx->backend].usable)
		return 0;
	return sys_error("backend %s is not usable here: %s", cs_backend_name(ctx->backend),
			 p.b[ctx->backend].reason);
}

/* An existing run directory is fine if it is an empty directory. */
static int check_empty(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *e;
	int err = 0;

	if (!d)
		return sys_error("%s exists and is not a usable directory: %s", path,
				 strerror(errno));
	while (!err && (e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			err = sys_error("%s exists and is not empty", path);
	closedir(d);
	return err;
}

/* "cowscope.<basename of CMD>.<our pid>", with the name made safe for a path. */
static void default_dir(const run_ctx_t *ctx, char *buf, size_t size)
{
	const char *slash = strrchr(ctx->cmd[0], '/');
	const char *base = slash && slash[1] ? slash + 1 : ctx->cmd[0];
	char name[65];
	size_t n = 0;

	for (; base[n] && n < sizeof(name) - 1; n++)
		name[n] = strchr("/\\\n\t ", base[n]) ? '_' : base[n];
	name[n] = 0;
	snprintf(buf, size, "cowscope.%s.%d", n ? name : "cmd", (int)getpid());
}

/* Why the open run directory must not be used, or NULL (checked on the descriptor). */
static const char *dir_refusal(int fd)
{
	struct stat st;

	if (fstat(fd, &st))
		return strerror(errno);
	if (st.st_uid != geteuid())
		return "it is not owned by you";
	if (st.st_mode & 022)
		return "it is writable by group or others";
	return NULL;
}

/*
 * Open the run directory (created 0700 if new) without following a symlink
 * and verify it on the descriptor; --allow-shared-dir skips both checks.
 */
static int open_run_dir(run_ctx_t *ctx, const char *path)
{
	int flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC | (ctx->allow_shared_dir ? 0 : O_NOFOLLOW);
	const char *why;

	ctx->dirfd = open(path, flags);
	if (ctx->dirfd < 0 && (errno == ELOOP || errno == ENOTDIR))
		return sys_error("refusing run directory '%s': it is a symbolic link or not a "
				 "directory (--allow-shared-dir accepts a symlink)",
				 path);
	if (ctx->dirfd < 0)
		return sys_error("cannot open run directory '%s': %s", path, strerror(errno));
	if (!ctx->allow_shared_dir && (why = dir_refusal(ctx->dirfd)))
		return sys_error("refusing run directory '%s': %s (--allow-shared-dir accepts it)",
				 path, why);
	return 0;
}

static int make_run_dir(run_ctx_t *ctx)
{
	char name[128];
	const char *path = ctx->out;
	int err, made;

	if (!path) {
		default_dir(ctx, name, sizeof(name));
		path = name;
	}
	made = mkdir(path, 0700) == 0;
	if (!made && errno != EEXIST)
		return sys_error("cannot create run directory '%s': %s", path, strerror(errno));
	if ((err = open_run_dir(ctx, path)) || (!made && (err = check_empty(path))))
		return err;
	ctx->dir = realpath(path, NULL);
	if (!ctx->dir)
		return sys_error("cannot resolve run directory '%s': %s", path, strerror(errno));
	return 0;
}

static int open_run_file(run_ctx_t *ctx)
{
	cs_file_hdr_t h;

	ctx->runfd = openat(ctx->dirfd, CS_RUN_FILE,
			    O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC | O_APPEND, 0600);
	if (ctx->runfd < 0)
		return sys_error("cannot create %s/" CS_RUN_FILE ": %s", ctx->dir, strerror(errno));
	cs_file_hdr_init(&h, CS_FILE_RUN, (uint32_t)getpid(), 0);
	if (write(ctx->runfd, &h, sizeof(h)) != (ssize_t)sizeof(h))
		return sys_error("cannot write %s/" CS_RUN_FILE ": %s", ctx->dir, strerror(errno));
	return 0;
}

static bool has_key(const char *entry, const char *key)
{
	size_t n = strlen(key);

	return !strncmp(entry, key, n) && entry[n] == '=';
}

/* "KEY=a:b" (or "KEY=a" when b is NULL), in a new string. */
static char *env_entry(const char *key, const char *a, const char *b)
{
	char *s;

	if (asprintf(&s, "%s=%s%s%s", key, a, b ? ":" : "", b ? b : "") < 0)
		return NULL;
	return s;
}

/* What cowscope sets in CMD's environment, besides LD_PRELOAD; NULL values are left alone. */
#define ENV_SETS 11

static void env_sets(const run_ctx_t *ctx, const char *keys[ENV_SETS], const char *vals[ENV_SETS])
{
	keys[0] = "COWSCOPE_OUT", vals[0] = ctx->dir;
	keys[1] = "COWSCOPE_BACKEND";
	vals[1] = ctx->backend != CS_BACKEND_NONE ? ctx->backend_name : NULL;
	keys[2] = "COWSCOPE_SAMPLE_BYTES", vals[2] = ctx->sample_bytes;
	keys[3] = "COWSCOPE_STACK_DEPTH", vals[3] = ctx->stack_depth;
	keys[4] = "COWSCOPE_ALLOW_SHARED_DIR", vals[4] = ctx->allow_shared_dir ? "1" : NULL;
	keys[5] = "COWSCOPE_DIFF", vals[5] = ctx->diff;
	keys[6] = "COWSCOPE_WRITERS", vals[6] = ctx->writers ? "1" : NULL;
	keys[7] = "COWSCOPE_EVENTS", vals[7] = ctx->events;
	keys[8] = "COWSCOPE_PYTHON_LINES",
	vals[8] = ctx->python_lines[0] ? ctx->python_lines : NULL;
	keys[9] = "COWSCOPE_PYTHON_LABELS", vals[9] = ctx->no_py_labels ? "0" : NULL;
	keys[10] = "COWSCOPE_PARENT_UNSHARED", vals[10] = ctx->no_punshared ? "off" : NULL;
}

/*
 * An AddressSanitizer-built CMD refuses to start when its runtime is not the
 * first preloaded library ("ASan runtime does not come first in initial
 * library list"): cowscope adds ASAN_OPTIONS=verify_asan_link_order=0 in
 * front of CMD's own ASAN_OPTIONS, unless those already set it.
 */
#define ASAN_LINK_ORDER "verify_asan_link_order"

/* Does the inherited entry e name a variable cowscope sets? */
static bool overridden(const run_ctx_t *ctx, const char *e, const char *keys[ENV_SETS],
		       const char *vals[ENV_SETS])
{
	if (has_key(e, "LD_PRELOAD") || (ctx->pyhelper && has_key(e, "PYTHONPATH")))
		return true;
	if (has_key(e, "ASAN_OPTIONS") && !strstr(e, ASAN_LINK_ORDER))
		return true;
	for (int i = 0; i < ENV_SETS; i++)
		if (vals[i] && has_key(e, keys[i]))
			return true;
	return false;
}

/*
 * CMD's environment: ours, with the shim preloaded, the CPython helper first on
 * PYTHONPATH (an existing PYTHONPATH kept after it) and cowscope's settings.
 */
static int build_env(run_ctx_t *ctx)
{
	const char *preload = getenv("LD_PRELOAD"), *pypath = getenv("PYTHONPATH");
	const char *asan = getenv("ASAN_OPTIONS");
	const char *keys[ENV_SETS], *vals[ENV_SETS];
	size_t n = 0, k = 0;

	env_sets(ctx, keys, vals);
	while (environ[n])
		n++;
	ctx->envp = calloc(n + ENV_SETS + 4, sizeof(char *));
	if (!ctx->envp)
		return sys_error("out of memory");
	ctx->envp[k++] = env_entry("LD_PRELOAD", ctx->shim, preload && *preload ? preload : NULL);
	if (!asan || !strstr(asan, ASAN_LINK_ORDER))
		ctx->envp[k++] = env_entry("ASAN_OPTIONS", ASAN_LINK_ORDER "=0",
					   asan && *asan ? asan : NULL);
	if (ctx->pyhelper)
		ctx->envp[k++] =
			env_entry("PYTHONPATH", ctx->pyhelper, pypath && *pypath ? pypath : NULL);
	for (int i = 0; i < ENV_SETS; i++)
		if (vals[i])
			ctx->envp[k++] = env_entry(keys[i], vals[i], NULL);
	ctx->nowned = k;
	for (size_t i = 0; i < k; i++)
		if (!ctx->envp[i])
			return sys_error("out of memory");
	for (size_t i = 0; i < n; i++)
		if (!overridden(ctx, environ[i], keys, vals))
			ctx->envp[k++] = environ[i];
	return 0;
}

static void free_env(run_ctx_t *ctx)
{
	if (!ctx->envp)
		return;
	for (size_t i = 0; i < ctx->nowned; i++)
		free(ctx->envp[i]);
	free(ctx->envp);
}

/*
 * Block the signals the supervisor waits for (SIGCHLD, SIGTERM, SIGHUP: read
 * from a signalfd) and SIGINT/SIGQUIT (ignored once CMD runs: the terminal
 * sends them to CMD too); make sure SIGCHLD is not ignored, or the kernel
 * would reap for us. CMD gets the old mask and SIGCHLD action back before exec.
 */
static int block_signals(run_ctx_t *ctx)
{
	sigset_t all, waited;

	sigemptyset(&waited);
	sigaddset(&waited, SIGCHLD);
	sigaddset(&waited, SIGTERM);
	sigaddset(&waited, SIGHUP);
	all = waited;
	sigaddset(&all, SIGINT);
	sigaddset(&all, SIGQUIT);
	if (sigprocmask(SIG_BLOCK, &all, &ctx->oldmask))
		return sys_error("cannot block signals: %s", strerror(errno));
	if (sigaction(SIGCHLD, &(struct sigaction){ .sa_handler = SIG_DFL }, &ctx->oldchld))
		return sys_error("cannot reset SIGCHLD: %s", strerror(errno));
	ctx->sigfd = signalfd(-1, &waited, SFD_NONBLOCK | SFD_CLOEXEC);
	if (ctx->sigfd < 0)
		return sys_error("cannot create a signalfd: %s", strerror(errno));
	if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0))
		return sys_error("cannot become a child subreaper: %s", strerror(errno));
	return 0;
}

static __attribute__((noreturn)) void exec_cmd(run_ctx_t *ctx)
{
	int err;

	sigaction(SIGCHLD, &ctx->oldchld, NULL);
	sigprocmask(SIG_SETMASK, &ctx->oldmask, NULL);
	execvpe(ctx->cmd[0], ctx->cmd, ctx->envp);
	err = errno;
	dprintf(2, "cowscope: cannot run '%s': %s\n", ctx->cmd[0], strerror(err));
	_exit(err == EACCES ? 126 : 127);
}

/* One record into run.cst: the command line (arguments joined by NUL) and cwd. */
static int put_run(run_ctx_t *ctx)
{
	static uint8_t buf[2 * 65536 + 256];
	cs_recbuf_t b = { .buf = buf, .cap = sizeof(buf) };
	cs_rec_run_t *r = cs_rec_begin(&b, CS_REC_RUN, sizeof(*r));
	char *cmdline = NULL, cwd[PATH_MAX];
	const char *dir = getcwd(cwd, sizeof(cwd)) ? cwd : "";
	size_t len = 0;
	FILE *f = open_memstream(&cmdline, &len);

	for (char **a = ctx->cmd; f && *a; a++)
		fwrite(*a, 1, strlen(*a) + 1, f);
	if (!f || fclose(f))
		return sys_error("out of memory");
	r->start_ns = ctx->start_ns;
	r->root_pid = (uint32_t)ctx->root;
	r->interval_ms = ctx->interval_ms;
	r->linger_ms = ctx->linger_s * 1000u;
	r->backend = ctx->backend;
	cs_rec_put_str(&b, cmdline, len);
	cs_rec_put_str(&b, dir, strlen(dir));
	free(cmdline);
	if (write(ctx->runfd, buf, cs_rec_finish(&b)) < 0)
		return sys_error("cannot write %s/" CS_RUN_FILE ": %s", ctx->dir, strerror(errno));
	return 0;
}

/*
 * Hold one of each default software event (page faults, minor and major
 * faults, context switches) open on cowscope itself, disabled, for the whole
 * run. The first such event in the system turns a kernel static key on
 * (perf_swevent_init: static_key_slow_inc, which patches kernel text and sends
 * an IPI to every CPU, ~0.15-0.2 ms) and the last one turns it off again: held
 * here, the traced processes' own opens and closes find it on and are cheap.
 * A disabled event on cowscope counts nothing and changes no count a traced
 * process reports (its events are its own). Failure is harmless: no step fails.
 * docs/events.md, "Cost".
 */
static int hold_events(run_ctx_t *ctx)
{
	static const uint64_t cfg[4] = { PERF_COUNT_SW_PAGE_FAULTS, PERF_COUNT_SW_PAGE_FAULTS_MIN,
					 PERF_COUNT_SW_PAGE_FAULTS_MAJ,
					 PERF_COUNT_SW_CONTEXT_SWITCHES };

	if (ctx->events && strcmp(ctx->events, "none") == 0)
		return 0; /* the traced processes open none */
	for (int i = 0; i < 4; i++) {
		struct perf_event_attr a = { .size = sizeof(a),
					     .type = PERF_TYPE_SOFTWARE,
					     .config = cfg[i],
					     .disabled = 1,
					     .exclude_kernel = 1,
					     .exclude_hv = 1 };

		ctx->held[i] =
			(int)syscall(SYS_perf_event_open, &a, 0, -1, -1, PERF_FLAG_FD_CLOEXEC);
	}
	return 0;
}

static int spawn(run_ctx_t *ctx)
{
	ctx->start_ns = cs_now_ns();
	ctx->root = fork();
	if (ctx->root < 0)
		return sys_error("cannot fork: %s", strerror(errno));
	if (ctx->root == 0)
		exec_cmd(ctx);
	signal(SIGINT, SIG_IGN);
	signal(SIGQUIT, SIG_IGN);
	put_run(ctx); /* CMD runs either way: a lost record must not harm it */
	return 0;
}

static int put_run_end(run_ctx_t *ctx, const cs_sup_t *s)
{
	cs_rec_run_end_t r = { .h = { CS_REC_RUN_END, 0, sizeof(r) },
			       .t_ns = cs_now_ns(),
			       .root_status = s->root_status,
			       .still_running = s->still_running,
			       .samples = s->samples,
			       .sample_ns = s->sample_ns };

	if (write(ctx->runfd, &r, sizeof(r)) != (ssize_t)sizeof(r) || s->write_failed)
		return sys_error("cannot write %s/" CS_RUN_FILE ": %s", ctx->dir,
				 s->write_failed ? "a record was lost" : strerror(errno));
	return 0;
}

/* The report on stderr; its errors do not change the exit status. */
static void report(const run_ctx_t *ctx)
{
	cs_render_opts_t o = { .top = REPORT_TOP };
	cs_diag_t d = { "" };
	cs_model_t m;

	if (ctx->quiet)
		return;
	if (cs_model_load(&m, ctx->dir, &d)) {
		fprintf(stderr, "cowscope: no report: %s\n", d.msg);
		return;
	}
	fputc('\n', stderr);
	if (cs_render_text(stderr, &m, &o))
		fprintf(stderr, "cowscope: the report could not be written in full\n");
	cs_model_free(&m);
}

/* CMD's status as a shell would give it. */
static int exit_code(int status)
{
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return CS_EXIT_SYSTEM;
}

static int supervise(run_ctx_t *ctx)
{
	cs_sup_t s = { .dirfd = ctx->dirfd,
		       .runfd = ctx->runfd,
		       .sigfd = ctx->sigfd,
		       .root = ctx->root,
		       .interval_ms = ctx->interval_ms,
		       .linger_ms = ctx->linger_s * 1000u };
	int err = cs_supervise(&s);

	if (err)
		sys_error("waiting for the command failed: %s", strerror(-err));
	put_run_end(ctx, &s);
	close(ctx->runfd);
	ctx->runfd = -1;
	report(ctx);
	return s.root_done ? exit_code(s.root_status) : CS_EXIT_SYSTEM;
}

/* The steps before CMD runs, in order; each returns 0 or an exit code. */
static int (*const steps[])(run_ctx_t *ctx) = {
	resolve_shim, resolve_pyhelper, check_backend, make_run_dir, open_run_file,
	build_env,    block_signals,    hold_events,   spawn,
};

static void run_fini(void *vctx)
{
	run_ctx_t *ctx = vctx;

	free(ctx->shim);
	free(ctx->pyhelper);
	free(ctx->dir);
	free_env(ctx);
	if (ctx->dirfd >= 0)
		close(ctx->dirfd);
	if (ctx->runfd >= 0)
		close(ctx->runfd);
	if (ctx->sigfd >= 0)
		close(ctx->sigfd);
	for (int i = 0; i < 4; i++)
		if (ctx->held[i] >= 0)
			close(ctx->held[i]);
}

static int run_run(void *vctx, const cs_cli_t *cli)
{
	run_ctx_t *ctx = vctx;
	int rc = 0;

	(void)cli;
	for (size_t i = 0; !rc && i < sizeof(steps) / sizeof(steps[0]); i++)
		rc = steps[i](ctx);
	return rc ? rc : supervise(ctx);
}

const cs_cmd_t cs_cmd_run = {
	.name = "run",
	.summary = "run a command under cowscope and report its copy-on-write sharing",
	.operands = "-- CMD [ARG...]",
	.description =
		"Runs CMD with the cowscope shim preloaded, supervises its process tree, samples its\n"
		"forked children from outside, writes the traces to a run directory, prints the\n"
		"report on stderr when CMD ends, and exits with CMD's status (128+N if a signal N\n"
		"killed it).\n",
	.epilogue =
		"environment: COWSCOPE_SHIM overrides the shim's path (absolute). CMD gets\n"
		"LD_PRELOAD (the shim first), COWSCOPE_OUT and, when given, COWSCOPE_BACKEND,\n"
		"COWSCOPE_SAMPLE_BYTES, COWSCOPE_STACK_DEPTH, COWSCOPE_DIFF, COWSCOPE_EVENTS and\n"
		"COWSCOPE_PYTHON_LINES (--python-lines), COWSCOPE_PYTHON_LABELS=0\n"
		"(--no-python-labels), COWSCOPE_PARENT_UNSHARED=off (--no-parent-unshared),\n"
		"and PYTHONPATH starts with cowscope's\n"
		"CPython helper (a sitecustomize module that chains to the one it hides): a forked\n"
		"Python child then takes its working snapshot when its atexit handlers run, before\n"
		"the interpreter frees its memory, and a parent labels its objects by type before\n"
		"each fork (docs/python.md). The report's figures are each\n"
		"child's working figures: its last snapshot before it began to exit.\n"
		"ASAN_OPTIONS gets verify_asan_link_order=0 unless it sets that option, so that\n"
		"programs built with AddressSanitizer start with the shim preloaded first.\n"
		"While CMD runs, cowscope ignores SIGINT and SIGQUIT (the terminal sends them to CMD)\n"
		"and forwards SIGTERM and SIGHUP to it.\n"
		"\n"
		"exit status: CMD's; 2 usage error; 4 cowscope could not start CMD (no shim, backend\n"
		"not usable, run directory not usable); 126/127 CMD could not be executed.\n",
	.opts = run_opts,
	.ctx_size = sizeof(run_ctx_t),
	.init = run_init,
	.parse = run_parse,
	.args = run_args,
	.run = run_run,
	.fini = run_fini,
};
