/* SPDX-License-Identifier: MIT */
/* Benchmark: the fixed cost of one traced process (CPU, page faults, wall), from an unshimmed launcher. */
#include <fcntl.h>
#include <linux/perf_event.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/*
 * Usage: proc_cost_bin SHIM COWSCOPE OUTDIR REPS
 * Runs /bin/true and `python3 -c pass` REPS times in each configuration,
 * interleaved (A B C D A B C D ...), and prints a Markdown table of
 * min/median/max CPU (user+sys from wait4), page faults (minor+major) and wall:
 *   none:      no shim;
 *   shim:      LD_PRELOAD + COWSCOPE_OUT, nothing else running with a software
 *              perf event (the launcher holds none);
 *   shim+held: the same, while this launcher holds the four default software
 *              events open (disabled), as `cowscope run` does;
 *   shim+held, tmpfs: the same with the trace on a tmpfs (/dev/shm): the
 *              shim's own cost without the file system's inode allocation
 *              for the trace file (ext4 with many recent deletions, as on a
 *              busy build machine, spends ~0.3 ms per created file);
 *   run:       `cowscope run -q -o DIR -- CMD`; its CPU and faults are
 *              cowscope's and CMD's together (wait4 adds a reaped grandchild).
 * This launcher is never shimmed: its own fork is not measured.
 */

#define NCONF 5
#define MAXREPS 200

enum { C_NONE, C_SHIM, C_HELD, C_TMPFS, C_RUN };
static const char *const conf_name[NCONF] = { "none", "shim", "shim+held", "shim+held, tmpfs",
					      "cowscope run" };

typedef struct sample {
	double cpu_ms;
	double faults;
	double wall_ms;
} sample_t;

static const char *shim, *cowscope, *outdir;
static char tmpfs_dir[] = "/dev/shm/cowscope-bench.XXXXXX"; /* C_TMPFS's traces */
static unsigned run_no;

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* The four default software events, on this process, disabled: the kernel's static keys stay on. */
static void hold_events(int fds[4])
{
	static const uint64_t cfg[4] = { PERF_COUNT_SW_PAGE_FAULTS, PERF_COUNT_SW_PAGE_FAULTS_MIN,
					 PERF_COUNT_SW_PAGE_FAULTS_MAJ,
					 PERF_COUNT_SW_CONTEXT_SWITCHES };

	for (int i = 0; i < 4; i++) {
		struct perf_event_attr a = { .size = sizeof(a),
					     .type = PERF_TYPE_SOFTWARE,
					     .config = cfg[i],
					     .disabled = 1,
					     .exclude_kernel = 1,
					     .exclude_hv = 1 };

		fds[i] = (int)syscall(SYS_perf_event_open, &a, 0, -1, -1, PERF_FLAG_FD_CLOEXEC);
	}
}

static void drop_events(int fds[4])
{
	for (int i = 0; i < 4; i++)
		if (fds[i] >= 0)
			close(fds[i]);
}

static void child(int conf, char **cmd)
{
	char out[4096], pre[4096];
	char *argv[16];
	int n = 0;

	snprintf(out, sizeof(out), "COWSCOPE_OUT=%s/p%u", conf == C_TMPFS ? tmpfs_dir : outdir,
		 run_no);
	snprintf(pre, sizeof(pre), "LD_PRELOAD=%s", shim);
	if (conf == C_SHIM || conf == C_HELD || conf == C_TMPFS) {
		putenv(out);
		putenv(pre);
	}
	if (conf == C_RUN) {
		snprintf(out, sizeof(out), "%s/r%u", outdir, run_no);
		argv[n++] = (char *)cowscope;
		argv[n++] = "run";
		argv[n++] = "-q";
		argv[n++] = "-o";
		argv[n++] = out;
		argv[n++] = "--";
	}
	while (*cmd && n < 15)
		argv[n++] = *cmd++;
	argv[n] = NULL;
	execv(argv[0], argv);
	_exit(127);
}

/* One run of cmd in configuration conf. */
static int one(int conf, char **cmd, sample_t *s)
{
	int fds[4] = { -1, -1, -1, -1 }, st;
	struct rusage ru;
	double t0;
	pid_t pid;

	if (conf == C_HELD || conf == C_TMPFS)
		hold_events(fds);
	run_no++;
	if (conf == C_SHIM || conf == C_HELD || conf == C_TMPFS) {
		char d[4096];

		snprintf(d, sizeof(d), "%s/p%u", conf == C_TMPFS ? tmpfs_dir : outdir, run_no);
		mkdir(d, 0700);
	}
	t0 = now_ms();
	pid = fork();
	if (pid == 0)
		child(conf, cmd);
	if (pid < 0 || wait4(pid, &st, 0, &ru) != pid)
		return -1;
	s->wall_ms = now_ms() - t0;
	drop_events(fds);
	s->cpu_ms = (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e3 +
		(double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e3;
	s->faults = (double)(ru.ru_minflt + ru.ru_majflt);
	return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* min/median/max of field f of n samples, sorted in place in v. */
static void stats(double *v, int n, double mmm[3])
{
	qsort(v, (size_t)n, sizeof(*v), cmp);
	mmm[0] = v[0];
	mmm[1] = v[n / 2];
	mmm[2] = v[n - 1];
}

static void row(const char *prog, int conf, sample_t *s, int n, double base_cpu)
{
	double v[MAXREPS], c[3], f[3], w[3];

	for (int i = 0; i < n; i++)
		v[i] = s[i].cpu_ms;
	stats(v, n, c);
	for (int i = 0; i < n; i++)
		v[i] = s[i].faults;
	stats(v, n, f);
	for (int i = 0; i < n; i++)
		v[i] = s[i].wall_ms;
	stats(v, n, w);
	printf("| %s | %s | %.2f / %.2f / %.2f | %+.2f | %.0f / %.0f / %.0f | %.2f / %.2f / "
	       "%.2f |\n",
	       prog, conf_name[conf], c[0], c[1], c[2], c[1] - base_cpu, f[0], f[1], f[2], w[0],
	       w[1], w[2]);
}

static int bench(const char *prog, char **cmd, int reps)
{
	static sample_t s[NCONF][MAXREPS];
	double v[MAXREPS], base[3];

	for (int i = 0; i < reps; i++)
		for (int c = 0; c < NCONF; c++)
			if (one(c, cmd, &s[c][i]) < 0) {
				fprintf(stderr, "proc_cost: %s failed in %s\n", prog, conf_name[c]);
				return -1;
			}
	for (int i = 0; i < reps; i++)
		v[i] = s[C_NONE][i].cpu_ms;
	stats(v, reps, base);
	for (int c = 0; c < NCONF; c++)
		row(prog, c, s[c], reps, base[1]);
	return 0;
}

int main(int argc, char **argv)
{
	char *t[] = { "/bin/true", NULL };
	char *py[] = { "/usr/bin/python3", "-c", "pass", NULL };
	int reps = argc > 4 ? atoi(argv[4]) : 30;

	if (argc < 4 || reps < 1 || reps > MAXREPS) {
		fprintf(stderr, "usage: proc_cost_bin SHIM COWSCOPE OUTDIR [REPS]\n");
		return 2;
	}
	shim = argv[1];
	cowscope = argv[2];
	outdir = argv[3];
	if (!mkdtemp(tmpfs_dir)) {
		perror("proc_cost: mkdtemp /dev/shm");
		return 1;
	}
	printf("| program | configuration | CPU ms min / median / max | median CPU vs none | "
	       "page faults min / median / max | wall ms min / median / max |\n");
	printf("|---|---|---|---|---|---|\n");
	int r = bench("/bin/true", t, reps) < 0 || bench("python3 -c pass", py, reps) < 0;
	char rm[256];

	snprintf(rm, sizeof(rm), "rm -rf %s", tmpfs_dir);
	return system(rm) != 0 || r;
}
