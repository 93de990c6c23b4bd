/* SPDX-License-Identifier: MIT */
/* Unit tests: format 1.2 marks read with bounds checks, phases named and assigned, JSON keys. */
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
#include "cs_testutil.h"
#include "model.h"
#include "phases.h"
#include "render.h"

#define MS 1000000ull

TU_DIR_FIXTURE(dir)

static int child_file(uint32_t pid, uint32_t ppid, uint64_t start_ns)
{
	char name[32];
	int fd;

	snprintf(name, sizeof(name), "%u.0.cst", pid);
	fd = tu_open(dir, name, CS_FILE_PROCESS, pid, 0);
	tu_proc_start(fd, pid, ppid, CS_ROLE_CHILD, "worker", start_ns);
	tu_backend(fd, CS_BACKEND_UFFD_WP, "");
	return fd;
}

/*
 * Root 100 forks 101 at 1 ms, marks "frozen" (twice), forks 102 at 3 ms, marks
 * "late", forks 104 (no trace of its own) at 4.5 ms. 101 marks "inside" (it has
 * no children: not a phase). 102 forks 103 at 5 ms without marks of its own.
 */
static void make_run(void)
{
	int fd = tu_proc_file(dir, 100, 1, CS_ROLE_ROOT, CS_BACKEND_UFFD_WP);

	tu_fork(fd, 101, 0, 1 * MS);
	tu_mark(fd, 2 * MS, 0, "frozen");
	tu_mark(fd, 2 * MS + 500, 1, "frozen");
	tu_fork(fd, 102, 1, 3 * MS);
	tu_mark(fd, 4 * MS, 2, "late");
	tu_fork(fd, 104, 2, 4 * MS + 500000);
	close(fd);
	fd = child_file(101, 100, 1 * MS + 10);
	tu_mark(fd, 1 * MS + 500000, 0, "inside");
	close(fd);
	fd = child_file(102, 100, 3 * MS + 10);
	tu_fork(fd, 103, 0, 5 * MS);
	close(fd);
	close(child_file(103, 102, 5 * MS + 10));
}

static const char *phase_of(const cs_model_t *m, uint32_t pid)
{
	long i = cs_model_find(m, pid, 0);

	assert_true(i >= 0);
	return m->phases[m->procs[i].phase];
}

static void test_phases_assigned(void **state)
{
	cs_model_t m;
	cs_diag_t d = { "" };

	(void)state;
	make_run();
	assert_int_equal(cs_model_load(&m, dir, &d), 0);
	assert_true(m.v12);
	assert_int_equal(m.nphases, 3);
	assert_string_equal(m.phases[0], "start");
	assert_string_equal(m.phases[1], "frozen");
	assert_string_equal(m.phases[2], "late");
	assert_string_equal(phase_of(&m, 100), "start");
	assert_string_equal(phase_of(&m, 101), "start");
	assert_string_equal(phase_of(&m, 102), "frozen");
	assert_string_equal(phase_of(&m, 103), "frozen"); /* its parent's phase */
	assert_string_equal(phase_of(&m, 104), "late");   /* by the FORK record's time */
	assert_int_equal(cs_phase_find(&m, "late"), 2);
	assert_int_equal(cs_phase_find(&m, "inside"), -1);
	cs_model_free(&m);
}

static char *render_json(const cs_model_t *m)
{
	char *buf = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&buf, &n);
	cs_render_opts_t o = { .top = 5 };

	assert_non_null(f);
	assert_int_equal(cs_render_json(f, m, &o), 0);
	fclose(f);
	return buf;
}

static void test_json_phases(void **state)
{
	cs_model_t m;
	cs_diag_t d = { "" };
	char *json;

	(void)state;
	make_run();
	assert_int_equal(cs_model_load(&m, dir, &d), 0);
	json = render_json(&m);
	assert_non_null(strstr(json, "\"phase\": \"frozen\""));
	assert_non_null(strstr(json, "\"phases\": ["));
	assert_non_null(strstr(json, "\"name\": \"late\",\n      \"children\": [\n        104\n"));
	free(json);
	cs_model_free(&m);
}

/* A format 1.0 run keeps its report: no phase keys. */
static void test_json_v10_unchanged(void **state)
{
	cs_model_t m;
	cs_diag_t d = { "" };
	uint16_t minor = 0;
	char path[4096], *json;
	int fd;

	(void)state;
	close(tu_proc_file(dir, 100, 1, CS_ROLE_ROOT, CS_BACKEND_UFFD_WP));
	snprintf(path, sizeof(path), "%s/100.0.cst", dir);
	fd = open(path, O_WRONLY); /* not O_APPEND: pwrite would append */
	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, &minor, 2, 10), 2); /* header version_minor */
	close(fd);
	assert_int_equal(cs_model_load(&m, dir, &d), 0);
	assert_false(m.v12);
	json = render_json(&m);
	assert_null(strstr(json, "\"phase"));
	free(json);
	cs_model_free(&m);
}

static void expect_bad(const void *rec, size_t n, const char *what)
{
	cs_model_t m;
	cs_diag_t d = { "" };
	int fd = tu_proc_file(dir, 100, 1, CS_ROLE_ROOT, CS_BACKEND_UFFD_WP);

	tu_put(fd, rec, n);
	close(fd);
	assert_int_equal(cs_model_load(&m, dir, &d), -EBADMSG);
	assert_non_null(strstr(d.msg, what));
	assert_non_null(strstr(d.msg, "100.0.cst"));
}

static void test_mark_too_short(void **state)
{
	uint64_t rec[2] = { 0 };
	cs_rec_hdr_t h = { CS_REC_MARK, 0, sizeof(rec) };

	(void)state;
	memcpy(rec, &h, sizeof(h));
	expect_bad(rec, sizeof(rec), "too short");
}

static void test_mark_bad_label_length(void **state)
{
	uint8_t rec[sizeof(cs_rec_mark_t) + 8] = { 0 };
	cs_rec_hdr_t h = { CS_REC_MARK, 0, sizeof(rec) };
	uint16_t len = 300; /* more than the record holds */

	(void)state;
	memcpy(rec, &h, sizeof(h));
	memcpy(rec + sizeof(cs_rec_mark_t), &len, sizeof(len));
	expect_bad(rec, sizeof(rec), "string");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_phases_assigned, setup, teardown),
		cmocka_unit_test_setup_teardown(test_json_phases, setup, teardown),
		cmocka_unit_test_setup_teardown(test_json_v10_unchanged, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mark_too_short, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mark_bad_label_length, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
