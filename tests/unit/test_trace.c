/* SPDX-License-Identifier: MIT */
/* Unit tests: the Chrome Trace Event renderer on synthetic runs (escaping, no NaN, exact counters). */
#include <fcntl.h>
#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include "analyze.h"
#include "cs_testmodel.h"
#include "cs_testutil.h"
#include "model.h"
#include "render.h"

#define MS 1000000ull
#define S_PAGES 1024u
#define BASE 0x10000u

/* A command line with a quote, a backslash and control characters (one argument). */
static const char nasty[] = "q\"b\\c\x01\n";

TM_DIR_MODEL_FIXTURE(dir, m)

static void heap_snap(int fd, uint32_t seq, uint8_t reason, uint64_t t_ns, uint64_t copied)
{
	cs_run_t all = { BASE, S_PAGES }, w = { BASE, copied };

	tu_snap_begin(fd, seq, reason, CS_BACKEND_UFFD_WP, t_ns, 0);
	tu_mapping(fd, seq, BASE * TU_PAGE, (BASE + S_PAGES) * TU_PAGE, CS_MAP_HEAP, CS_MAPF_ARMED,
		   "[heap]");
	tu_pages(fd, seq, CS_SET_PRESENT, &all, 1);
	if (copied) {
		tu_pages(fd, seq, CS_SET_WRITTEN, &w, 1);
		tu_pages(fd, seq, CS_SET_EXCL, &w, 1);
	}
	tu_snap_end(fd, seq);
}

/* Child 101 (the nasty command) copies 10 pages, then 12 while it exits (after W). */
static void measured_child(void)
{
	int fd = tu_open(dir, "101.0.cst", CS_FILE_PROCESS, 101, 0);

	tu_proc(fd, 101, 100, 0, CS_ROLE_CHILD, nasty);
	tu_backend(fd, CS_BACKEND_UFFD_WP, "works");
	heap_snap(fd, 0, CS_SNAP_FORK, 1 * MS, 0);
	heap_snap(fd, 1, CS_SNAP_SAMPLE, 2 * MS, 4);
	heap_snap(fd, 2, CS_SNAP_WORK, 3 * MS, 10);
	heap_snap(fd, 3, CS_SNAP_EXIT, 4 * MS, 12);
	tu_mark(fd, 2 * MS, 0, "phase \"2\"\t");
	tu_end(fd, CS_END_EXIT, 0, 5 * MS);
	close(fd);
}

/* Root 100 forks 101 (reaped) and 102 (left no end anywhere: its end time is unknown). */
static void nasty_run(void)
{
	int fd = tu_open(dir, "100.0.cst", CS_FILE_PROCESS, 100, 0);

	tu_proc(fd, 100, 99, 0, CS_ROLE_ROOT, "server");
	tu_backend(fd, CS_BACKEND_UFFD_WP, "works");
	tu_fork(fd, 101, 1, 1 * MS);
	tu_fork(fd, 102, 2, 1 * MS);
	tu_child_exit(fd, 101, 0, 6 * MS);
	tu_end(fd, CS_END_EXIT, 0, 7 * MS);
	close(fd);
	fd = tu_open(dir, "102.0.cst", CS_FILE_PROCESS, 102, 0);
	tu_proc(fd, 102, 100, 0, CS_ROLE_CHILD, "worker");
	close(fd);
	measured_child();
}

/* The events of pid with phase ph and name (NULL: any), as a new array. */
static json_t *events(json_t *doc, int pid, const char *ph, const char *name)
{
	json_t *out = json_array(), *e;
	size_t i;

	json_array_foreach(json_object_get(doc, "traceEvents"), i, e)
	{
		if (json_integer_value(json_object_get(e, "pid")) != pid ||
		    strcmp(json_string_value(json_object_get(e, "ph")), ph))
			continue;
		if (!name || !strcmp(json_string_value(json_object_get(e, "name")), name))
			json_array_append(out, e);
	}
	return out;
}

static const char *arg_str(json_t *e, const char *key)
{
	return json_string_value(json_object_get(json_object_get(e, "args"), key));
}

static json_t *render_doc(char **text)
{
	cs_diag_t d = { "" };
	json_error_t err;
	json_t *doc;

	nasty_run();
	assert_int_equal(cs_model_load(&m, dir, &d), 0);
	*text = tm_render(cs_render_trace, &m);
	doc = json_loads(*text, JSON_REJECT_DUPLICATES, &err);
	if (!doc)
		fail_msg("not JSON: %s at line %d", err.text, err.line);
	return doc;
}

static void test_escapes_and_no_nan(void **state)
{
	char *text;
	json_t *doc = render_doc(&text), *v;

	(void)state;
	for (const char *const *bad =
		     (const char *const[]){ ": nan", ": -nan", ": inf", ": -inf", NULL };
	     *bad; bad++)
		assert_null(strstr(text, *bad));
	/* the argument holds a newline: the command line quotes it (cs_cmdline_str) */
	assert_non_null(strstr(text, "\"cmd\": \"'q\\\"b\\\\c\\u0001\\n'\""));
	v = events(doc, 101, "M", "process_name");
	assert_int_equal(json_array_size(v), 1);
	assert_string_equal(arg_str(json_array_get(v, 0), "cmd"), "'q\"b\\c\x01\n'");
	json_decref(v);
	v = events(doc, 101, "i", "phase \"2\"\t");
	assert_int_equal(json_array_size(v), 1);
	assert_string_equal(arg_str(json_array_get(v, 0), "label"), "phase \"2\"\t");
	json_decref(v);
	v = events(doc, 102, "i", NULL); /* no end known: no instant of its own, no null ts */
	assert_int_equal(json_array_size(v), 0);
	json_decref(v);
	json_decref(doc);
	free(text);
}

static double counter_arg(json_t *e, const char *key)
{
	json_t *v = json_object_get(json_object_get(e, "args"), key);

	assert_non_null(v);
	return json_number_value(v);
}

/* The track holds the sample, then W's figures (10 pages) at W's time: not the exit's 12. */
static void test_counter_ends_on_working(void **state)
{
	char *text;
	json_t *doc = render_doc(&text), *c, *last;

	(void)state;
	c = events(doc, 101, "C", "COW (MiB)");
	assert_int_equal(json_array_size(c), 2);
	last = json_array_get(c, 1);
	assert_true(counter_arg(json_array_get(c, 0), "copied") == 4 * 4096.0 / 1048576);
	assert_true(counter_arg(last, "copied") == 10 * 4096.0 / 1048576);
	assert_true(counter_arg(last, "parent-unshared") == 0);
	assert_true(counter_arg(last, "unshared") == 10 * 4096.0 / 1048576);
	/* ts: microseconds since the run's start (the root's start, 1000 ns) */
	assert_true(json_number_value(json_object_get(last, "ts")) == (3 * MS - 1000) / 1e3);
	json_decref(c);
	c = events(doc, 100, "i", "fork");
	assert_int_equal(json_array_size(c), 2);
	json_decref(c);
	json_decref(doc);
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_escapes_and_no_nan, setup, teardown),
		cmocka_unit_test_setup_teardown(test_counter_ends_on_working, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
