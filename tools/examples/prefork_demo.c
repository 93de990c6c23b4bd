/* SPDX-License-Identifier: MIT */
/* The quickstart demonstration: a pre-fork server whose 4 workers write known shares of 64 MiB. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/*
 * The parent loads a 64 MiB table of 64-byte session records (like a cache a
 * pre-fork server builds before forking), then forks four workers:
 *   worker 1 reads every record                  -> shares everything
 *   worker 2 rewrites the first quarter          -> copies 16 MiB
 *   worker 3 rewrites the first half             -> copies 32 MiB
 *   worker 4 bumps one hit counter per 4 KiB page -> copies all 64 MiB,
 *            although it changed 8 bytes in 64 of every 4096 records' bytes
 * (numbered from 1 in fork order, as cowscope's report names them: "worker 2 of 4").
 * Worker 4 is the interesting one: a "read-mostly" access pattern that costs
 * the whole table, as refcount updates do in CPython.
 */

#define TABLE_BYTES (64u << 20)

typedef struct session {
	uint64_t id;
	uint64_t hits;
	char user[32];
	uint64_t expires;
	uint64_t flags;
} session_t;

static session_t *load(size_t n)
{
	session_t *t = malloc(n * sizeof(*t));

	if (!t) {
		perror("malloc");
		exit(1);
	}
	for (size_t i = 0; i < n; i++) {
		t[i].id = i;
		t[i].hits = 0;
		snprintf(t[i].user, sizeof(t[i].user), "user%zu", i);
		t[i].expires = 1700000000 + i;
		t[i].flags = i & 7;
	}
	return t;
}

static uint64_t work(session_t *t, size_t n, int which)
{
	size_t per_page = 4096 / sizeof(*t), i;
	uint64_t sum = 0;

	switch (which) {
	case 0:
		for (i = 0; i < n; i++)
			sum += t[i].expires;
		break;
	case 1:
	case 2:
		for (i = 0; i < n / (which == 1 ? 4 : 2); i++)
			t[i].expires += 3600;
		break;
	default:
		for (i = 0; i < n; i += per_page)
			t[i].hits++;
	}
	return sum;
}

int main(void)
{
	size_t n = TABLE_BYTES / sizeof(session_t);
	session_t *t = load(n);
	pid_t pids[4];

	printf("prefork_demo: parent loaded %zu sessions (%u MiB); forking 4 workers\n", n,
	       TABLE_BYTES >> 20);
	fflush(stdout);
	for (int w = 0; w < 4; w++) {
		pids[w] = fork();
		if (pids[w] == 0) {
			volatile uint64_t s = work(t, n, w);

			(void)s;
			_exit(0);
		}
	}
	for (int w = 0; w < 4; w++)
		waitpid(pids[w], NULL, 0);
	printf("prefork_demo: expected copies: worker 1 none, 2 a quarter (16 MiB), "
	       "3 half (32 MiB), 4 all (64 MiB)\n");
	free(t);
	return 0;
}
