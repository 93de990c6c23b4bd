/* SPDX-License-Identifier: MIT */
/* Recipe example: a C pre-fork server whose per-request counters copy its shared table, and the fix. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

/*
 * The parent loads a table of 64-byte product records (a price list, a routing table: what a
 * pre-fork server builds once) and forks WORKERS workers. Each worker serves REQUESTS
 * requests; a request looks up one record, reads it, and counts the hit.
 *
 *   inline (default): the hit counter lives in the record, so every first hit on a page
 *           copies that 4 KiB page into the worker, although 8 bytes changed;
 *   --fix:  the counters live out of line, in one MAP_SHARED array of uint64_t (8 bytes per
 *           record instead of a page per 64 records): shared memory is never copied on write,
 *           the table stays read-only after the fork, and the parent sees every worker's
 *           counts in one place.
 *
 * Usage: recipe_prefork_counters [--fix] [--records N] [--workers W] [--requests R]
 * Prints one line per worker ("worker W: R requests, sum S") and the total hits.
 */

typedef struct product {
	uint64_t id;
	uint64_t hits; /* inline mode only: the write that costs a page */
	uint64_t price_cents;
	char name[40];
} product_t;

typedef struct opts {
	int fix;
	size_t records, workers, requests;
} opts_t;

typedef struct server {
	product_t *table;
	uint64_t *counters; /* --fix: MAP_SHARED, one per record */
	opts_t o;
} server_t;

static int parse_size(const char *s, size_t *out)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end || v == 0)
		return -EINVAL;
	*out = (size_t)v;
	return 0;
}

static int parse_args(int argc, char **argv, opts_t *o)
{
	*o = (opts_t){ .records = 262144, .workers = 4, .requests = 200000 };
	for (int i = 1; i < argc; i++) {
		size_t *dst = NULL;

		if (!strcmp(argv[i], "--fix"))
			o->fix = 1;
		else if (!strcmp(argv[i], "--records"))
			dst = &o->records;
		else if (!strcmp(argv[i], "--workers"))
			dst = &o->workers;
		else if (!strcmp(argv[i], "--requests"))
			dst = &o->requests;
		else
			return -EINVAL;
		if (dst && (++i == argc || parse_size(argv[i], dst)))
			return -EINVAL;
	}
	return 0;
}

static int load(server_t *s)
{
	size_t n = s->o.records;

	s->table = malloc(n * sizeof(*s->table));
	if (!s->table)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		s->table[i] = (product_t){ .id = i, .price_cents = 100 + i % 9000 };
		snprintf(s->table[i].name, sizeof(s->table[i].name), "product-%zu", i);
	}
	if (!s->o.fix)
		return 0;
	s->counters = mmap(NULL, n * sizeof(uint64_t), PROT_READ | PROT_WRITE,
			   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	return s->counters == MAP_FAILED ? -errno : 0;
}

/* A request for record i: read it, count the hit where this mode keeps counters. */
static uint64_t serve(server_t *s, size_t i)
{
	product_t *p = &s->table[i];

	if (s->o.fix)
		__atomic_fetch_add(&s->counters[i], 1, __ATOMIC_RELAXED);
	else
		p->hits++;
	return p->price_cents + (uint64_t)p->name[8];
}

static void worker(server_t *s, size_t w)
{
	uint64_t sum = 0, x = 0x9e3779b97f4a7c15ull * (w + 1);

	for (size_t r = 0; r < s->o.requests; r++) {
		x ^= x << 13, x ^= x >> 7,
			x ^= x << 17; /* xorshift: requests hit records at random */
		sum += serve(s, x % s->o.records);
	}
	printf("worker %zu: %zu requests, sum %llu\n", w + 1, s->o.requests,
	       (unsigned long long)sum);
	fflush(stdout);
	_exit(0);
}

static uint64_t total_hits(const server_t *s)
{
	uint64_t t = 0;

	for (size_t i = 0; s->counters && i < s->o.records; i++)
		t += s->counters[i];
	return t;
}

int main(int argc, char **argv)
{
	server_t s = { 0 };
	int failed = 0, st;

	if (parse_args(argc, argv, &s.o)) {
		fprintf(stderr, "usage: %s [--fix] [--records N] [--workers W] [--requests R]\n",
			argv[0]);
		return 2;
	}
	if (load(&s)) {
		perror("recipe_prefork_counters: load");
		return 1;
	}
	printf("loaded %zu records (%zu KiB), counters %s\n", s.o.records,
	       s.o.records * sizeof(product_t) >> 10,
	       s.o.fix ? "out of line (MAP_SHARED)" : "inline");
	fflush(stdout);
	for (size_t w = 0; w < s.o.workers; w++)
		if (fork() == 0)
			worker(&s, w);
	while (wait(&st) > 0)
		failed |= !WIFEXITED(st) || WEXITSTATUS(st);
	if (s.o.fix)
		printf("total hits (parent's view): %llu\n", (unsigned long long)total_hits(&s));
	free(s.table);
	return failed;
}
