/* SPDX-License-Identifier: MIT */
/* Benchmark body for tools/bench/amp_cost: a child's snapshot with changed words vs the kernel primitive. */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cowscope.h>

/*
 * amp_cost_bin MIB SIDE: the parent fills MIB MiB and forks; SIDE "child":
 * the child changes one word on every page; "parent": the parent does, and
 * the child waits for it. Then the child times (wall and CPU):
 *   prim: pread of the parent's pages (64 KiB at a time, through a
 *         /proc/PID/mem descriptor the parent opened) and a memcmp per page;
 *   snap: one cowscope_snapshot() (with COWSCOPE_DIFF=off or all).
 * Output, one line: "pages prim_wall_ns prim_cpu_ns snap_wall_ns snap_cpu_ns".
 */

#define PAGE 4096u
#define CHUNK (64u * 1024u)

static uint64_t ns(clockid_t c)
{
	struct timespec t;

	clock_gettime(c, &t);
	return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

static void touch(volatile uint64_t *m, size_t pages, uint64_t v)
{
	for (size_t i = 0; i < pages; i++)
		m[i * (PAGE / 8) + 3] = v + i;
}

/* The primitive: read the parent's copy of every page and compare it with ours. */
static size_t prim(int fd, const uint8_t *m, size_t pages)
{
	static uint8_t buf[CHUNK];
	size_t differ = 0;

	for (size_t off = 0; off < pages * PAGE; off += CHUNK) {
		size_t n = pages * PAGE - off < CHUNK ? pages * PAGE - off : CHUNK;

		if (pread(fd, buf, n, (off_t)(uintptr_t)(m + off)) != (ssize_t)n)
			return (size_t)-1;
		for (size_t p = 0; p < n; p += PAGE)
			differ += memcmp(buf + p, m + off + p, PAGE) != 0;
	}
	return differ;
}

static void child(int fd, int go, uint8_t *m, size_t pages, int side_child)
{
	uint64_t w0, c0, w1, c1, w2, c2;
	char x;

	if (side_child)
		touch((volatile uint64_t *)m, pages, 7);
	else if (read(go, &x, 1) != 1)
		_exit(3);
	w0 = ns(CLOCK_MONOTONIC), c0 = ns(CLOCK_THREAD_CPUTIME_ID);
	if (prim(fd, m, pages) != pages)
		_exit(4);
	w1 = ns(CLOCK_MONOTONIC), c1 = ns(CLOCK_THREAD_CPUTIME_ID);
	if (cowscope_snapshot)
		cowscope_snapshot();
	w2 = ns(CLOCK_MONOTONIC), c2 = ns(CLOCK_THREAD_CPUTIME_ID);
	printf("%zu %llu %llu %llu %llu\n", pages, (unsigned long long)(w1 - w0),
	       (unsigned long long)(c1 - c0), (unsigned long long)(w2 - w1),
	       (unsigned long long)(c2 - c1));
	fflush(stdout);
	_exit(0);
}

int main(int argc, char **argv)
{
	size_t pages = (argc > 1 ? strtoul(argv[1], NULL, 0) : 64) << 20 >> 12;
	int side_child = argc < 3 || strcmp(argv[2], "parent") != 0, go[2], st = 0;
	uint8_t *m = mmap(NULL, pages * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
			  -1, 0);
	int fd = open("/proc/self/mem", O_RDONLY | O_CLOEXEC);
	char x = 0;
	pid_t pid;

	if (m == MAP_FAILED || fd < 0 || pipe(go) < 0)
		return 2;
	touch((volatile uint64_t *)m, pages, 1);
	pid = fork();
	if (pid == 0)
		child(fd, go[0], m, pages, side_child);
	if (!side_child)
		touch((volatile uint64_t *)m, pages, 9);
	if (write(go[1], &x, 1) != 1 || waitpid(pid, &st, 0) != pid)
		return 2;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 3;
}
