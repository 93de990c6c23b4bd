/* SPDX-License-Identifier: MIT */
/* Unit tests: the JSON and text reports of synthetic runs, exact values, and `report`'s exits. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include "analyze.h"
#include "cli.h"
#include "cs_testmodel.h"
#include "cs_testutil.h"
#include "model.h"
#include "render.h"
#include "story.h"

#define MS 1000000ull
#define S_PAGES 16384u /* 64 MiB of 4 KiB pages */

TU_DIR_FIXTURE(dir)

/* A child sharing `shared` pages of heap, copying `copied`; the parent wrote `punshared`. */
static void child_args(uint32_t pid, uint64_t shared, uint64_t copied, uint64_t punshared,
		       const char *cmd, size_t cmd_len)
{
	char name[32];
	uint64_t base = 0x10000;
	cs_run_t all = { base, shared }, w = { base, copied }, x = { base, copied + punshared };
	int fd;

	snprintf(name, sizeof(name), "%u.0.cst", pid);
	fd = tu_open(dir, name, CS_FILE_PROCESS, pid, 0);
	tu_proc_args(fd, pid, 100, 0, CS_ROLE_CHILD, cmd, cmd_len);
	tu_backend(fd, CS_BACKEND_SOFT_DIRTY, "");
	tu_snap_begin(fd, 0, CS_SNAP_FORK, CS_BACKEND_SOFT_DIRTY, 1 * MS, 0);
	tu_mapping(fd, 0, base * TU_PAGE, (base + shared) * TU_PAGE, CS_MAP_HEAP, CS_MAPF_ARMED,
		   "[heap]");
	tu_pages(fd, 0, CS_SET_PRESENT, &all, 1);
	tu_snap_end(fd, 0);
	tu_snap_begin(fd, 1, CS_SNAP_EXIT, CS_BACKEND_SOFT_DIRTY, 3 * MS, 10);
	tu_mapping(fd, 1, base * TU_PAGE, (base + shared) * TU_PAGE, CS_MAP_HEAP, CS_MAPF_ARMED,
		   "[heap]");
	tu_pages(fd, 1, CS_SET_PRESENT, &all, 1);
	tu_pages(fd, 1, CS_SET_WRITTEN, &w, 1);
	tu_pages(fd, 1, CS_SET_EXCL, &x, 1);
	tu_snap_end(fd, 1);
	tu_end(fd, CS_END_EXIT, 0, 4 * MS);
	close(fd);
}

/* A child sharing S_PAGES of heap, copying `copied` of them; the parent wrote `punshared`. */
static void child(uint32_t pid, uint8_t backend, uint64_t copied, uint64_t punshared,
		  const char *cmd, bool end)
{
	char name[32];
	uint64_t base = 0x10000;
	cs_run_t all = { base, S_PAGES }, w = { base, copied }, x = { base, copied + punshared };
	int fd;

	snprintf(name, sizeof(name), "%u.0.cst", pid);
	fd = tu_open(dir, name, CS_FILE_PROCESS, pid, 0);
	tu_proc(fd, pid, 100, 0, CS_ROLE_CHILD, cmd);
	tu_backend(fd, backend, "userfaultfd: Operation not permitted");
	tu_snap_begin(fd, 0, CS_SNAP_FORK, backend, 1 * MS, 0);
	tu_mapping(fd, 0, base * TU_PAGE, (base + S_PAGES) * TU_PAGE, CS_MAP_HEAP, CS_MAPF_ARMED,
		   "[heap]");
	tu_pages(fd, 0, CS_SET_PRESENT, &all, 1);
	tu_snap_end(fd, 0);
	tu_snap_begin(fd, 1, CS_SNAP_EXIT, backend, 3 * MS, 1234);
	tu_mapping(fd, 1, base * TU_PAGE, (base + S_PAGES) * TU_PAGE, CS_MAP_HEAP, CS_MAPF_ARMED,
		   "[heap]");
	tu_pages(fd, 1, CS_SET_PRESENT, &all, 1);
	tu_pages(fd, 1, CS_SET_WRITTEN, &w, 1);
	tu_pages(fd, 1, CS_SET_EXCL, &x, 1);
	tu_snap_end(fd, 1);
	if (end)
		tu_end(fd, CS_END_EXIT, 0, 4 * MS);
	close(fd);
}

/* Root 100 forking children 101..100+n, and run.cst. */
static void root(unsigned n)
{
	int fd = tu_open(dir, "100.0.cst", CS_FILE_PROCESS, 100, 0);

	tu_proc_args(fd, 100, 99, 0, CS_ROLE_ROOT, "server\0--preload", 17);
	tu_backend(fd, CS_BACKEND_SOFT_DIRTY, "userfaultfd: Operation not permitted");
	for (unsigned i = 1; i <= n; i++) {
		tu_fork(fd, 100 + i, i, 1 * MS);
		tu_child_exit(fd, 100 + i, i == 5 ? 9 : 0, 5 * MS);
	}
	tu_end(fd, CS_END_EXIT, 0, 6 * MS);
	close(fd);
	fd = tu_open(dir, "run.cst", CS_FILE_RUN, 99, 0);
	tu_run(fd, 100, 100, "server");
	tu_child_exit(fd, 100, 0, 7 * MS);
	tu_run_end(fd, 0, 0, 12);
	close(fd);
}

/* The four children of the DESIGN example: 256 MiB shared, 40 copied, 2 unshared by the parent. */
static void example_run(void)
{
	root(4);
	for (uint32_t i = 1; i <= 4; i++)
		child(100 + i, CS_BACKEND_SOFT_DIRTY, 2560, 128, "worker", true);
}

static char *render(int (*fn)(FILE *, const cs_model_t *, const cs_render_opts_t *))
{
	return tm_render_dir(dir, fn);
}

/* --- a minimal JSON syntax checker ------------------------------------------------------ */

static const char *ws(const char *p)
{
	while (*p == ' ' || *p == '\n' || *p == '\t' || *p == '\r')
		p++;
	return p;
}

static const char *value(const char *p, int depth);

static const char *string(const char *p)
{
	if (*p++ != '"')
		return NULL;
	while (*p && *p != '"') {
		if ((unsigned char)*p < 0x20)
			return NULL;
		if (*p == '\\' && strchr("\"\\/bfnrtu", p[1]) == NULL)
			return NULL;
		p += *p == '\\' ? 2 : 1;
	}
	return *p == '"' ? p + 1 : NULL;
}

static const char *members(const char *p, char close, int depth, bool keyed)
{
	p = ws(p);
	if (*p == close)
		return p + 1;
	for (;;) {
		if (keyed) {
			p = string(ws(p));
			if (!p || *(p = ws(p)) != ':')
				return NULL;
			p++;
		}
		p = value(p, depth + 1);
		if (!p)
			return NULL;
		p = ws(p);
		if (*p == close)
			return p + 1;
		if (*p++ != ',')
			return NULL;
	}
}

static const char *value(const char *p, int depth)
{
	p = ws(p);
	if (depth > 64)
		return NULL;
	if (*p == '{')
		return members(p + 1, '}', depth, true);
	if (*p == '[')
		return members(p + 1, ']', depth, false);
	if (*p == '"')
		return string(p);
	for (const char *lit = "true\0false\0null\0"; *lit; lit += strlen(lit) + 1)
		if (!strncmp(p, lit, strlen(lit)))
			return p + strlen(lit);
	if (*p == '-' || (*p >= '0' && *p <= '9')) {
		char *end;
		strtod(p, &end);
		return end;
	}
	return NULL;
}

static void assert_valid_json(const char *doc)
{
	const char *end = value(doc, 0);

	assert_non_null(end);
	assert_string_equal(ws(end), "");
}

/* The text of `"key": VALUE` inside the object of process pid (top-level keys only, by order). */
static char *field(const char *doc, unsigned pid, const char *key)
{
	static char out[256];
	char pat[64];
	const char *p, *next, *v;
	size_t n;

	snprintf(pat, sizeof(pat), "\"pid\": %u,", pid);
	p = strstr(doc, pat);
	assert_non_null(p);
	next = strstr(p + 1, "\"pid\": ");
	snprintf(pat, sizeof(pat), "\n      \"%s\": ", key);
	v = strstr(p, pat);
	assert_non_null(v);
	assert_true(!next || v < next);
	v += strlen(pat);
	n = strcspn(v, ",\n");
	assert_true(n < sizeof(out));
	memcpy(out, v, n);
	out[n] = 0;
	return out;
}

/* --- tests ------------------------------------------------------------------------------- */

static void test_json_exact_values(void **state)
{
	char *doc;

	(void)state;
	example_run();
	doc = render(cs_render_json);
	assert_valid_json(doc);
	assert_non_null(strstr(doc, "{\n  \"schema_version\": 1,\n  \"run\": {\n"));
	assert_string_equal(field(doc, 101, "role"), "\"child\"");
	assert_string_equal(field(doc, 101, "ppid"), "100");
	assert_string_equal(field(doc, 101, "backend"), "\"soft-dirty\"");
	assert_string_equal(field(doc, 101, "page_size"), "4096");
	assert_string_equal(field(doc, 101, "ended"), "\"exit\"");
	assert_string_equal(field(doc, 101, "exit_status"), "0");
	assert_string_equal(field(doc, 101, "signal"), "null");
	assert_string_equal(field(doc, 101, "complete"), "true");
	assert_string_equal(field(doc, 101, "shared_at_fork_pages"), "16384");
	assert_string_equal(field(doc, 101, "child_copied_pages"), "2560");
	assert_string_equal(field(doc, 101, "parent_unshared_pages"), "128");
	assert_string_equal(field(doc, 101, "unshared_pages"), "2688");
	assert_string_equal(field(doc, 101, "child_new_pages"), "0");
	assert_string_equal(field(doc, 101, "share_retained"), "0.835938");
	assert_string_equal(field(doc, 101, "minor_faults"), "1234");
	assert_string_equal(field(doc, 101, "changed_bytes"), "null");
	assert_string_equal(field(doc, 101, "noop_copied_pages"), "null");
	assert_string_equal(field(doc, 101, "amplification"), "null");
	assert_string_equal(field(doc, 100, "role"), "\"root\"");
	assert_string_equal(field(doc, 100, "cmd"), "\"server --preload\"");
	assert_string_equal(field(doc, 100, "shared_at_fork_pages"), "null");
	assert_non_null(strstr(doc,
			       "\"timeline\": [\n        {\n          \"t_ms\": 2.000,\n"
			       "          \"child_copied_pages\": 2560,\n"
			       "          \"parent_unshared_pages\": 128,\n"));
	assert_non_null(strstr(doc, "\"sites\": [],\n      \"writers\": [],\n"));
	/* the memory bill: the parent's 64 MiB once, the copies summed, its own writes once */
	assert_non_null(
		strstr(doc,
		       "\"totals\": {\n    \"children\": 4,\n    \"children_measured\": 4,\n"
		       "    \"children_without_fork_snapshot\": 0,\n"
		       "    \"children_without_samples\": 0,\n"
		       "    \"children_few_samples\": 4,\n"
		       "    \"shared_at_fork_pages\": 16384,\n"
		       "    \"child_copied_pages\": 10240,\n"
		       "    \"private_copies_pages\": 10240,\n"
		       "    \"parent_unshared_pages\": 128,\n"
		       "    \"unshared_pages\": 10752,\n"
		       "    \"child_new_pages\": 0,\n"
		       "    \"share_retained\": 0.835938,\n"
		       "    \"page_size\": 4096,\n"
		       "    \"groups\": [\n      {\n        \"parent_pid\": 100,\n"
		       "        \"command\": \"server --preload\",\n"
		       "        \"children\": [\n          101,\n          102,\n          103,\n"
		       "          104\n        ],\n"
		       "        \"children_measured\": 4,\n"
		       "        \"shared_at_fork_pages\": 16384,\n"
		       "        \"child_copied_pages_sum\": 10240,\n"
		       "        \"parent_unshared_pages\": 128,\n"
		       "        \"unshared_pages_sum\": 10752,\n"
		       "        \"child_new_pages_sum\": 0,\n"
		       "        \"share_retained\": 0.835938\n      }\n    ]\n  }\n}\n"));
	assert_string_equal(field(doc, 101, "samples"), "1");
	assert_string_equal(field(doc, 101, "few_samples"), "true");
	assert_string_equal(field(doc, 100, "few_samples"), "false");
	assert_non_null(strstr(doc,
			       "\"interval_ms\": 100,\n    \"achieved_interval_ms\": null,\n"
			       "    \"achieved_interval_mean_ms\": null,\n"));
	assert_non_null(strstr(doc, "\"root_pid\": 100,"));
	assert_non_null(strstr(doc, "\"samples\": 12,"));
	free(doc);
}

static void test_json_mapping_and_counters(void **state)
{
	char *doc;

	(void)state;
	example_run();
	doc = render(cs_render_json);
	assert_non_null(strstr(doc,
			       "\"mappings\": [\n        {\n          \"name\": \"[heap]\",\n"
			       "          \"kind\": \"heap\",\n"
			       "          \"start\": 268435456,\n"
			       "          \"end\": 335544320,\n"
			       "          \"size_pages\": 16384,\n"
			       "          \"shared_at_fork_pages\": 16384,\n"
			       "          \"child_copied_pages\": 2560,\n"
			       "          \"parent_unshared_pages\": 128,\n"));
	assert_non_null(
		strstr(doc,
		       "\"backends_probed\": [\n        {\n          \"name\": \"uffd-wp\",\n"
		       "          \"usable\": false,\n"
		       "          \"reason\": \"userfaultfd: Operation not permitted\",\n"));
	free(doc);
}

static void test_json_escapes_untrusted_strings(void **state)
{
	char *doc;

	(void)state;
	root(1);
	child(101, CS_BACKEND_EXCLUSIVE, 10, 5, "q\"b\\c\x01\n\xff\xc3\xa9\xed\xa0\x80", true);
	doc = render(cs_render_json);
	assert_valid_json(doc);
	assert_string_equal(field(doc, 101, "cmd"),
			    "\"'q\\\"b\\\\c\\u0001\\n\\ufffd\xc3\xa9\\ufffd\\ufffd\\ufffd'\"");
	assert_string_equal(field(doc, 101, "child_copied_pages"), "null");
	assert_string_equal(field(doc, 101, "parent_unshared_pages"), "null");
	assert_string_equal(field(doc, 101, "unshared_pages"), "15");
	free(doc);
}

/* Command lines as words: an empty argument and one with a space survive, quoted. */
static void test_cmdline_quotes_empty_args(void **state)
{
	char buf[64];

	(void)state;
	assert_string_equal(cs_cmdline_str("a\0\0b", 5, buf, sizeof(buf)), "a '' b");
	assert_string_equal(cs_cmdline_str("sh\0-c\0echo hi\0", 14, buf, sizeof(buf)),
			    "sh -c 'echo hi'");
	assert_string_equal(cs_cmdline_str("x\0it's\0", 7, buf, sizeof(buf)), "x 'it'\\''s'");
	assert_string_equal(cs_cmdline_str("a\0\0", 3, buf, sizeof(buf)), "a ''");
	assert_string_equal(cs_cmdline_str("abcdef", 6, buf, 4), "abc");
}

static void test_text_totals_line(void **state)
{
	char *doc, want[4200];

	(void)state;
	example_run();
	doc = render(cs_render_text);
	snprintf(want, sizeof(want), "cowscope: run directory %s\n", dir);
	assert_memory_equal(doc, want, strlen(want));
	assert_non_null(strstr(doc,
			       "\npid 100 (server --preload): 4 children share 64 MiB from it; "
			       "they hold 40 MiB of private copies\n"
			       "    (15.6% of what each shared, on average); the parent unshared "
			       "0.5 MiB\n"));
	assert_null(strstr(doc, "all 1 parents"));
	assert_null(strstr(doc, "no figures"));
	assert_non_null(strstr(doc, "\nbackend: soft-dirty ("));
	assert_non_null(strstr(doc,
			       "\n  uffd-wp was not usable: userfaultfd: Operation not "
			       "permitted\n"));
	/* the verdict first, then one command line per group, roles in fork order */
	assert_non_null(strstr(doc,
			       "\nverdict:\n  server master (pid 100) forked 4 workers; they share "
			       "64 MiB from it and hold 40 MiB of private\n    copies (retained "
			       "83.6%, median); worst: worker 1 of 4 (pid 101), 10 MiB;"));
	assert_true(strstr(doc, "\nverdict:") < strstr(doc, "\nprocess tree:"));
	assert_non_null(strstr(doc,
			       "\n  100 master: server --preload  [exit 0]\n"
			       "    4 workers: worker\n"
			       "      101 worker 1 of 4  [exit 0]\n"
			       "      102 worker 2 of 4  [exit 0]\n"));
	/* one group: its spread, no row per worker, no site table per worker */
	assert_non_null(
		strstr(doc,
		       "\n  4 workers of server master (pid 100): worker\n"
		       "    min                      64     10        0.5    83.6%      0\n"
		       "    median                   64     10        0.5    83.6%      0\n"
		       "    max                      64     10        0.5    83.6%      0\n"));
	assert_null(strstr(doc, "\n    101"));
	assert_null(strstr(doc, "\n  pid 101"));
	assert_non_null(strstr(doc, "summed over the 4 workers of server master (pid 100):\n"));
	assert_non_null(strstr(doc,
			       "\nsampling: every 100 ms asked, achieved unknown (no child "
			       "sampled twice), 12 samples, 0.0 ms of CPU\n"));
	free(doc);
	/* --per-process: a row per worker, as before, with its role */
	tm_opts.per_process = true;
	doc = render(cs_render_text);
	tm_opts.per_process = false;
	assert_non_null(strstr(doc,
			       "\n    101* worker 1/4          64     10        0.5    83.6%      0"
			       "    1234  exit 0\n"));
	assert_non_null(strstr(doc, "\n  * fewer than 2 samples after the fork"));
	free(doc);
}

/* Children under 1 MiB fold into one line naming their commands; --all lists them. */
static void test_text_folds_small_children(void **state)
{
	static const char fold[] = "\n  3 more processes (basename \u00d72, readlink \u00d71), "
				   "each < 1 MiB shared and new: --all shows them\n";
	char *doc;

	(void)state;
	root(4);
	child(101, CS_BACKEND_SOFT_DIRTY, 2560, 128, "worker", true);
	child_args(102, 16, 1, 0, "basename\0/a/b", 13);
	child_args(103, 16, 1, 0, "readlink\0-f\0\0x", 14);
	child_args(104, 16, 1, 0, "basename\0/c", 11);
	doc = render(cs_render_text);
	assert_non_null(
		strstr(doc, "\nverdict:\n  server (pid 100) forked 1 child (pid 101); it "));
	assert_non_null(strstr(strstr(doc, "\nverdict:"), fold));
	assert_non_null(strstr(strstr(doc, "\nprocess tree:"), fold));
	assert_non_null(strstr(doc, "\n    101 child 1 of 4: worker  [exit 0]\n"));
	for (const char *p = doc; (p = strchr(p, '\n')); p++) /* 102..104: nowhere */
		assert_true(strncmp(p + 1, "    102", 7) && strncmp(p + 1, "    103", 7));
	assert_null(strstr(doc, "pid 102"));
	free(doc);
	tm_opts.all = true;
	doc = render(cs_render_text);
	tm_opts.all = false;
	assert_null(strstr(doc, "more processes"));
	assert_non_null(strstr(doc, "\n    102 child 2 of 4: basename /a/b  [exit 0]\n"));
	/* an empty argument survives as '' */
	assert_non_null(strstr(doc, "\n    103 child 3 of 4: readlink -f '' x  [exit 0]\n"));
	free(doc);
}

/* The parents unshared more than the children copied: tables rank by parent-unshared. */
static void test_text_sort(void **state)
{
	char *doc;

	(void)state;
	root(4);
	for (uint32_t i = 1; i <= 4; i++)
		child(100 + i, CS_BACKEND_SOFT_DIRTY, 128, 2560, "worker", true);
	doc = render(cs_render_text);
	assert_non_null(strstr(doc, "\nchildren (MiB, ranked by parent-unshared; - = unknown):\n"));
	assert_non_null(strstr(doc, "\ntop 5 mappings by parent-unshared pages (MiB):\n"));
	assert_non_null(strstr(doc, "\ntop 5 allocation sites by parent-unshared MiB, summed"));
	assert_non_null(
		strstr(doc,
		       "forked 4 workers; they share 64 MiB from it; the parent unshared 10 MiB\n"
		       "    while they lived (the children copied 2 MiB); most of it:"));
	free(doc);
	tm_opts.sort = CS_SORT_COPIED;
	doc = render(cs_render_text);
	tm_opts.sort = CS_SORT_AUTO;
	assert_non_null(strstr(doc, "\nchildren (MiB, ranked by copied; - = unknown):\n"));
	assert_non_null(strstr(doc, "\ntop 5 mappings by copied pages (MiB):\n"));
	assert_non_null(strstr(doc, "\ntop 5 allocation sites by copied MiB, summed"));
	assert_non_null(strstr(doc, "hold 2 MiB of private copies"));
	free(doc);
	tm_opts.sort = CS_SORT_NEW; /* sites have no child-new figure: they rank by copied */
	doc = render(cs_render_text);
	tm_opts.sort = CS_SORT_AUTO;
	assert_non_null(strstr(doc, "\nchildren (MiB, ranked by new; - = unknown):\n"));
	assert_non_null(strstr(doc, "\ntop 5 allocation sites by copied MiB, summed"));
	free(doc);
}

static void test_text_marks_incomplete(void **state)
{
	char *doc;

	(void)state;
	root(5);
	for (uint32_t i = 1; i <= 5; i++)
		child(100 + i, CS_BACKEND_SOFT_DIRTY, 2560, 128, "worker", i != 5);
	doc = render(cs_render_text);
	assert_non_null(strstr(doc,
			       "\n      105 worker 5 of 5  [killed by SIGKILL; INCOMPLETE: "
			       "killed by SIGKILL]\n"));
	assert_non_null(strstr(doc, "\n  pid 105: incomplete: killed by SIGKILL"));
	assert_non_null(strstr(doc,
			       "\npid 100 (server --preload): 5 children share 64 MiB from it; "
			       "they hold 50 MiB of private copies\n"
			       "    (15.6% of what each shared, on average); the parent unshared "
			       "0.5 MiB\n"));
	free(doc);
}

/* --- the memory bill, few samples, the achieved interval ---------------------------------- */

/* The sets of one snapshot: s pages of heap present, c written by the child, c + p exclusive. */
static void heap_snap(int fd, uint32_t seq, uint8_t reason, uint64_t t_ns, uint64_t s, uint64_t c,
		      uint64_t p)
{
	uint64_t base = 0x10000;
	cs_run_t all = { base, s }, w = { base, c }, x = { base, c + p };

	tu_snap_begin(fd, seq, reason, CS_BACKEND_UFFD_WP, t_ns, 0);
	tu_mapping(fd, seq, base * TU_PAGE, (base + s) * TU_PAGE, CS_MAP_HEAP, CS_MAPF_ARMED,
		   "[heap]");
	tu_pages(fd, seq, CS_SET_PRESENT, &all, 1);
	if (c)
		tu_pages(fd, seq, CS_SET_WRITTEN, &w, 1);
	if (c + p)
		tu_pages(fd, seq, CS_SET_EXCL, &x, 1);
	tu_snap_end(fd, seq);
}

/*
 * A uffd-wp child of ppid sharing s pages, copying c, the parent unsharing p:
 * a fork snapshot (unless fork is false), `samples` outside samples at 10 ms,
 * then 100 ms and 104 ms apart, and its own exit snapshot if own is true.
 */
static void kid(uint32_t pid, uint32_t ppid, uint64_t s, uint64_t c, uint64_t p, bool fork,
		unsigned samples, bool own)
{
	static const uint64_t at_ms[] = { 10, 110, 214 };
	char name[48];
	int fd;

	snprintf(name, sizeof(name), "%u.0.cst", pid);
	fd = tu_open(dir, name, CS_FILE_PROCESS, pid, 0);
	tu_proc(fd, pid, ppid, 0, CS_ROLE_CHILD, "worker");
	tu_backend(fd, CS_BACKEND_UFFD_WP, "works");
	if (fork)
		heap_snap(fd, 0, CS_SNAP_FORK, 1 * MS, s, 0, 0);
	if (own)
		heap_snap(fd, 1, CS_SNAP_EXIT, 300 * MS, s, c, p);
	close(fd);
	if (!samples)
		return;
	snprintf(name, sizeof(name), "%u.0.samples.cst", pid);
	fd = tu_open(dir, name, CS_FILE_SAMPLES, pid, 0);
	for (unsigned i = 0; i < samples && i < 3; i++)
		heap_snap(fd, i, CS_SNAP_SAMPLE, at_ms[i] * MS, s, c, p);
	close(fd);
}

/* Root 100 (and run.cst) forking the given children; each is reaped by its parent. */
static void root_of(const uint32_t *pids, size_t n)
{
	int fd = tu_open(dir, "100.0.cst", CS_FILE_PROCESS, 100, 0);

	tu_proc_args(fd, 100, 99, 0, CS_ROLE_ROOT, "server\0--preload", 17);
	tu_backend(fd, CS_BACKEND_UFFD_WP, "works");
	for (size_t i = 0; i < n; i++)
		tu_fork(fd, pids[i], i + 1, 1 * MS);
	tu_end(fd, CS_END_EXIT, 0, 400 * MS);
	close(fd);
	fd = tu_open(dir, "run.cst", CS_FILE_RUN, 99, 0);
	tu_run(fd, 100, 100, "server");
	tu_child_exit(fd, 100, 0, 500 * MS);
	tu_run_end(fd, 0, 0, 9);
	close(fd);
}

/*
 * Two parents: 100 forks 101 and 102, 101 forks 201 and 202. Each parent's
 * shared memory counts once (the largest its children saw), as do its own
 * writes; the children's copies add up.
 */
static void test_bill_two_groups(void **state)
{
	char *doc;

	(void)state;
	root_of((uint32_t[]){ 101, 102 }, 2);
	kid(101, 100, 16384, 2560, 128, true, 2, true);
	kid(102, 100, 12000, 1000, 200, true, 2, true);
	kid(201, 101, 4096, 100, 0, true, 2, true);
	kid(202, 101, 4096, 300, 10, true, 2, true);
	doc = render(cs_render_json);
	assert_valid_json(doc);
	assert_non_null(strstr(doc,
			       "    \"shared_at_fork_pages\": 20480,\n"
			       "    \"child_copied_pages\": 3960,\n"
			       "    \"private_copies_pages\": 3960,\n"
			       "    \"parent_unshared_pages\": 210,\n"
			       "    \"unshared_pages\": 4298,\n"));
	assert_non_null(
		strstr(doc,
		       "\"parent_pid\": 100,\n        \"command\": \"server --preload\",\n"
		       "        \"children\": [\n          101,\n          102\n        ],\n"
		       "        \"children_measured\": 2,\n"
		       "        \"shared_at_fork_pages\": 16384,\n"
		       "        \"child_copied_pages_sum\": 3560,\n"
		       "        \"parent_unshared_pages\": 200,\n"));
	assert_non_null(
		strstr(doc,
		       "\"parent_pid\": 101,\n        \"command\": \"worker\",\n"
		       "        \"children\": [\n          201,\n          202\n        ],\n"
		       "        \"children_measured\": 2,\n"
		       "        \"shared_at_fork_pages\": 4096,\n"
		       "        \"child_copied_pages_sum\": 400,\n"
		       "        \"parent_unshared_pages\": 10,\n"
		       "        \"unshared_pages_sum\": 410,\n"
		       "        \"child_new_pages_sum\": 0,\n"
		       "        \"share_retained\": 0.949951\n"));
	free(doc);
	tm_opts.all = true; /* every row, lines as long as they are */
	doc = render(cs_render_text);
	tm_opts.all = false;
	assert_non_null(strstr(doc,
			       "\npid 100 (server --preload): 2 children share 64 MiB from it; "
			       "they hold 14 MiB of private copies (12.5% of what each shared, "
			       "on average); the parent unshared 0.8 MiB\n"));
	assert_non_null(strstr(doc,
			       "\npid 101 (worker): 2 children share 16 MiB from it; they hold "
			       "1.6 MiB of private copies (4.9% of what each shared, on average); "
			       "the parent unshared <0.1 MiB\n"));
	assert_non_null(strstr(doc,
			       "\nall 2 parents: 80 MiB shared at fork (each parent's once), "
			       "15 MiB of private copies in 4 children, 0.8 MiB unshared by the "
			       "parents\n"));
	free(doc);
}

/*
 * Children without figures are counted apart and never blamed on the backend:
 * 102 ended before any sample, 103 has no fork snapshot. 101 has 3 samples,
 * 104 only its own exit snapshot (few samples); 105 one sample and its exit.
 */
static void test_few_samples_and_missing(void **state)
{
	char *doc;

	(void)state;
	root_of((uint32_t[]){ 101, 102, 103, 104, 105 }, 5);
	kid(101, 100, 1000, 100, 10, true, 3, false);
	kid(102, 100, 1000, 0, 0, true, 0, false);
	kid(103, 100, 1000, 50, 0, false, 0, true);
	kid(104, 100, 1000, 30, 5, true, 0, true);
	kid(105, 100, 1000, 40, 0, true, 1, true);
	doc = render(cs_render_json);
	assert_string_equal(field(doc, 101, "samples"), "3");
	assert_string_equal(field(doc, 101, "few_samples"), "false");
	assert_string_equal(field(doc, 102, "samples"), "0");
	assert_string_equal(field(doc, 102, "few_samples"), "true");
	assert_string_equal(field(doc, 102, "child_copied_pages"), "null");
	assert_string_equal(field(doc, 103, "few_samples"), "true");
	assert_string_equal(field(doc, 104, "samples"), "1");
	assert_string_equal(field(doc, 104, "few_samples"), "true");
	assert_string_equal(field(doc, 105, "samples"), "2");
	assert_string_equal(field(doc, 105, "few_samples"), "false");
	/* gaps between samples of one child: 100 and 104 ms (101); the median */
	assert_non_null(strstr(doc,
			       "\"achieved_interval_ms\": 102.000,\n"
			       "    \"achieved_interval_mean_ms\": 102.000,\n"));
	assert_non_null(strstr(doc,
			       "    \"children\": 5,\n    \"children_measured\": 3,\n"
			       "    \"children_without_fork_snapshot\": 1,\n"
			       "    \"children_without_samples\": 1,\n"
			       "    \"children_few_samples\": 3,\n"
			       "    \"shared_at_fork_pages\": 1000,\n"
			       "    \"child_copied_pages\": 170,\n"));
	free(doc);
	tm_opts.all = tm_opts.per_process = true;
	doc = render(cs_render_text);
	tm_opts.all = tm_opts.per_process = false;
	assert_non_null(strstr(doc,
			       "\nsampling: every 100 ms asked, 102 ms achieved (mean; median "
			       "102 ms), 9 samples, 0.0 ms of CPU\n"));
	assert_non_null(strstr(doc, "\n    101 worker 1/5          3.9    0.4 "));
	assert_non_null(strstr(doc,
			       "\n    102* worker 2/5         3.9      -          -        -"
			       "      -       -  end unknown, incomplete\n"));
	assert_non_null(strstr(doc, "\n    104* worker 4/5         3.9    0.1 "));
	assert_non_null(strstr(doc,
			       "\npid 100 (server --preload): 5 children share 3.9 MiB from it; "
			       "the 3 with figures hold 0.7 MiB of private copies (5.7% of what "
			       "each shared, on average); the parent unshared <0.1 MiB\n"
			       "1 child ended before any sample: no figures\n"
			       "1 child has no fork snapshot: no figures\n"));
	assert_null(strstr(doc, "backend cannot"));
	free(doc);
}

/* Where the backend really cannot split (exclusive), the bill says so; the missing do not. */
static void test_bill_unsplit(void **state)
{
	char *doc;

	(void)state;
	root(2);
	child(101, CS_BACKEND_EXCLUSIVE, 10, 5, "worker", true);
	child(102, CS_BACKEND_EXCLUSIVE, 20, 5, "worker", true);
	tm_opts.all = true;
	doc = render(cs_render_text);
	tm_opts.all = false;
	assert_non_null(strstr(doc,
			       "\npid 100 (server --preload): 2 children share 64 MiB from it; "
			       "0.2 MiB unshared in them (0.1% of what each shared, on average; "
			       "the exclusive backend cannot tell the children's copies from the "
			       "parent's writes)\n"));
	free(doc);
	doc = render(cs_render_json);
	assert_non_null(strstr(doc,
			       "    \"child_copied_pages\": null,\n"
			       "    \"private_copies_pages\": null,\n"
			       "    \"parent_unshared_pages\": null,\n"
			       "    \"unshared_pages\": 40,\n"));
	free(doc);
}

/* Run `cowscope report ARGS` with stdout to /dev/null; returns its exit code. */
static int report_exit(int argc, char **argv)
{
	static const cs_cmd_t *const cmds[] = { &cs_cmd_report, &cs_cmd_help };
	const cs_cli_t cli = { cmds, 2 };
	int saved = dup(1), null = open("/dev/null", O_WRONLY), rc;

	fflush(stdout);
	dup2(null, 1);
	rc = cs_cli_exec(&cli, &cs_cmd_report, argc, argv);
	fflush(stdout);
	dup2(saved, 1);
	close(saved);
	close(null);
	return rc;
}

static void test_report_exit_codes(void **state)
{
	char *empty;
	char junk[64];

	(void)state;
	example_run();
	assert_int_equal(report_exit(4, (char *[]){ "report", "--format", "json", dir, NULL }), 0);
	assert_int_equal(report_exit(2, (char *[]){ "report", dir, NULL }), 0);
	assert_int_equal(report_exit(4, (char *[]){ "report", "--format", "folded", dir, NULL }),
			 0);
	assert_int_equal(report_exit(4, (char *[]){ "report", "--format", "svg", dir, NULL }), 2);
	assert_int_equal(report_exit(4, (char *[]){ "report", "--top", "x", dir, NULL }), 2);
	assert_int_equal(report_exit(3, (char *[]){ "report", dir, dir, NULL }), 2);
	assert_int_equal(report_exit(1, (char *[]){ "report", NULL }), 2);
	assert_int_equal(report_exit(2, (char *[]){ "report", "--bogus", NULL }), 2);
	assert_int_equal(report_exit(2, (char *[]){ "report", "--help", NULL }), 0);
	assert_int_equal(report_exit(2, (char *[]){ "report", "/nonexistent/run", NULL }), 3);
	empty = tu_mkdtemp();
	assert_int_equal(report_exit(2, (char *[]){ "report", empty, NULL }), 3);
	memset(junk, 'j', sizeof(junk));
	tu_write_file(empty, "1.0.cst", junk, sizeof(junk));
	assert_int_equal(report_exit(2, (char *[]){ "report", empty, NULL }), 3);
	tu_rmtree(empty);
	free(empty);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_json_exact_values, setup, teardown),
		cmocka_unit_test_setup_teardown(test_json_mapping_and_counters, setup, teardown),
		cmocka_unit_test_setup_teardown(test_json_escapes_untrusted_strings, setup,
						teardown),
		cmocka_unit_test(test_cmdline_quotes_empty_args),
		cmocka_unit_test_setup_teardown(test_text_totals_line, setup, teardown),
		cmocka_unit_test_setup_teardown(test_text_folds_small_children, setup, teardown),
		cmocka_unit_test_setup_teardown(test_text_sort, setup, teardown),
		cmocka_unit_test_setup_teardown(test_text_marks_incomplete, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bill_two_groups, setup, teardown),
		cmocka_unit_test_setup_teardown(test_few_samples_and_missing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bill_unsplit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_report_exit_codes, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
