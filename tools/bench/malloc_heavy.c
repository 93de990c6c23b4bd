/* SPDX-License-Identifier: MIT */
/* Benchmark workload: malloc/free churn with sizes from 16 B to 64 KiB, on 1 or more threads. */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * Usage: malloc_heavy THREADS OPS_PER_THREAD [log|small]
 * Each thread keeps 4096 live blocks and, OPS times, frees a random one and
 * allocates a new one, writing its first and last byte. Sizes are in
 * [16 B, 64 KiB]: "log" (default) makes every power-of-two range equally
 * likely (mean 7.9 KiB); "small" is skewed like most programs' allocations:
 * 80% in 16-256 B, 15% in 256 B-4 KiB, 5% in 4-64 KiB (mean 1.2 KiB).
 * Deterministic (fixed seeds). Prints a checksum so the work is not elided.
 */

#define SLOTS 4096

typedef struct job {
	uint64_t seed;
	long ops;
	uint64_t sum;
} job_t;

static uint64_t next(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static int small_sizes;

static size_t in_range(uint64_t *s, size_t lo, size_t hi)
{
	return lo + (size_t)(next(s) % (hi - lo));
}

static size_t pick_size(uint64_t *s)
{
	unsigned shift = 4 + (unsigned)(next(s) % 12); /* 16 B .. 32 KiB range start */
	size_t lo = (size_t)1 << shift;
	uint64_t r;

	if (!small_sizes)
		return lo + (size_t)(next(s) % lo); /* [2^k, 2^(k+1)) */
	r = next(s) % 100;
	return r < 80    ? in_range(s, 16, 256)
		: r < 95 ? in_range(s, 256, 4096)
			 : in_range(s, 4096, 65536);
}

static void *work(void *arg)
{
	job_t *j = arg;
	char **slot = calloc(SLOTS, sizeof(*slot));

	for (long i = 0; i < j->ops; i++) {
		uint64_t r = next(&j->seed) % SLOTS;
		size_t n = pick_size(&j->seed);

		free(slot[r]);
		slot[r] = malloc(n);
		slot[r][0] = (char)i;
		slot[r][n - 1] = (char)r;
		j->sum += (uint64_t)(unsigned char)slot[r][0];
	}
	for (int i = 0; i < SLOTS; i++)
		free(slot[i]);
	free(slot);
	return NULL;
}

int main(int argc, char **argv)
{
	int threads = argc > 1 ? atoi(argv[1]) : 1;
	long ops = argc > 2 ? atol(argv[2]) : 2000000;
	const char *dist = argc > 3 ? argv[3] : "log";
	pthread_t t[64];
	job_t jobs[64];
	uint64_t sum = 0;

	if (threads < 1 || threads > 64 || (strcmp(dist, "log") && strcmp(dist, "small")))
		return 2;
	small_sizes = strcmp(dist, "small") == 0;
	for (int i = 0; i < threads; i++) {
		jobs[i] = (job_t){ .seed = 0x1234567ull * (uint64_t)(i + 1), .ops = ops };
		pthread_create(&t[i], NULL, work, &jobs[i]);
	}
	for (int i = 0; i < threads; i++) {
		pthread_join(t[i], NULL);
		sum += jobs[i].sum;
	}
	printf("malloc_heavy: %d thread(s) x %ld ops, %s sizes, checksum %llu\n", threads, ops,
	       dist, (unsigned long long)sum);
	return 0;
}
