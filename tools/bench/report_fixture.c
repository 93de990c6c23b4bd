/* SPDX-License-Identifier: MIT */
/* Benchmark fixture for the report: a parent fills MIB MiB, then forked children each write a quarter. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

/*
 * Usage: report_fixture [MIB [CHILDREN [AT_ONCE]]]   (defaults 1024, 16, 4)
 * The parent allocates MIB MiB in 1 MiB blocks from four call sites (one per quarter) and writes
 * every page; then it forks CHILDREN children, AT_ONCE alive at a time (memory stays below
 * MIB × (1 + AT_ONCE / 4)). Child i writes one byte on every page of quarter i % 4 and exits.
 */

#define BLOCK (1u << 20)

static long page;

/* Allocate a block and write every page of it (not a tail call: each site keeps its frame). */
static char *fill(char *p)
{
	if (p)
		for (size_t o = 0; o < BLOCK; o += (size_t)page)
			p[o] = 1;
	return p;
}

/* Four call sites, so that the report has sites to attribute to. */
static __attribute__((noinline)) char *alloc_q0(void)
{
	return fill(malloc(BLOCK));
}
static __attribute__((noinline)) char *alloc_q1(void)
{
	return fill(malloc(BLOCK));
}
static __attribute__((noinline)) char *alloc_q2(void)
{
	return fill(malloc(BLOCK));
}
static __attribute__((noinline)) char *alloc_q3(void)
{
	return fill(malloc(BLOCK));
}

static char *(*const allocs[4])(void) = { alloc_q0, alloc_q1, alloc_q2, alloc_q3 };

static void child(char **blocks, size_t n, int quarter)
{
	size_t q = n / 4;

	for (size_t i = (size_t)quarter * q; i < (size_t)(quarter + 1) * q; i++)
		for (size_t o = 0; o < BLOCK; o += (size_t)page)
			blocks[i][o]++;
	exit(0);
}

static int wait_one(void)
{
	int st;

	if (wait(&st) < 0 || !WIFEXITED(st) || WEXITSTATUS(st)) {
		fprintf(stderr, "report_fixture: a child failed\n");
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	size_t n = argc > 1 ? strtoul(argv[1], NULL, 0) : 1024;
	int kids = argc > 2 ? atoi(argv[2]) : 16, at_once = argc > 3 ? atoi(argv[3]) : 4, live = 0;
	char **blocks = calloc(n, sizeof(*blocks));

	page = sysconf(_SC_PAGESIZE);
	if (!blocks || n < 4 || kids < 1 || at_once < 1)
		return 2;
	for (size_t i = 0; i < n; i++) {
		if (!(blocks[i] = allocs[i * 4 / n]()))
			return 1;
	}
	for (int k = 0; k < kids; k++) {
		if (live == at_once && wait_one())
			return 1;
		live -= live == at_once;
		pid_t pid = fork();
		if (pid < 0)
			return 1;
		if (pid == 0)
			child(blocks, n, k % 4);
		live++;
	}
	while (live-- > 0)
		if (wait_one())
			return 1;
	return 0;
}
