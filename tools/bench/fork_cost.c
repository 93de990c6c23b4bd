/* SPDX-License-Identifier: MIT */
/* Benchmark: fork latency and snapshot (harvest) time for a given amount of tracked memory. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cowscope.h>

/*
 * Usage: fork_cost_bin MIB REPS
 * Prints one line: "MIB fork_return_ms child_start_ms snapshot_ms" (medians).
 *   fork_return_ms: fork() call to its return in the parent;
 *   child_start_ms: fork() call to the child's first instruction after fork()
 *                   (with the shim this includes arming and the fork snapshot);
 *   snapshot_ms:    one cowscope_snapshot() in the child ("-" without the shim).
 */

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static double median_ms(uint64_t *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp);
	return v[n / 2] / 1e6;
}

/* One fork: the child reports when it started and how long a snapshot took. */
static int one(uint64_t *ret_ns, uint64_t *start_ns, uint64_t *snap_ns, int *snap_ok)
{
	uint64_t msg[2];
	int fds[2], st;
	uint64_t t0;
	pid_t pid;

	if (pipe(fds))
		return -1;
	t0 = now_ns();
	pid = fork();
	if (pid == 0) {
		uint64_t t1 = now_ns(), t2;
		int r = cowscope_snapshot();

		t2 = now_ns();
		msg[0] = t1;
		msg[1] = r == 0 ? t2 - t1 : UINT64_MAX;
		if (write(fds[1], msg, sizeof(msg)) != sizeof(msg))
			_exit(1);
		_exit(0);
	}
	*ret_ns = now_ns() - t0;
	if (pid < 0 || read(fds[0], msg, sizeof(msg)) != sizeof(msg))
		return -1;
	waitpid(pid, &st, 0);
	close(fds[0]);
	close(fds[1]);
	*start_ns = msg[0] - t0;
	*snap_ok = msg[1] != UINT64_MAX;
	*snap_ns = *snap_ok ? msg[1] : 0;
	return 0;
}

int main(int argc, char **argv)
{
	size_t mib = argc > 1 ? strtoul(argv[1], NULL, 0) : 256;
	int reps = argc > 2 ? atoi(argv[2]) : 5, ok = 1;
	uint64_t ret[64], start[64], snap[64];
	char *mem = malloc(mib << 20);

	if (!mem || reps < 1 || reps > 64)
		return 2;
	memset(mem, 1, mib << 20); /* every page present: all of it is shared at fork */
	for (int i = 0; i < reps; i++)
		if (one(&ret[i], &start[i], &snap[i], &ok) < 0)
			return 1;
	printf("%zu %.2f %.2f ", mib, median_ms(ret, reps), median_ms(start, reps));
	if (ok)
		printf("%.2f\n", median_ms(snap, reps));
	else
		printf("-\n");
	free(mem);
	return 0;
}
