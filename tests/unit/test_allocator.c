/* SPDX-License-Identifier: MIT */
/* Unit tests: reading CS_REC_ALLOCATOR (format 1.3) and showing it in the text and JSON reports. */
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
#include "cs_testmodel.h"
#include "cs_testutil.h"
#include "model.h"
#include "record.h"
#include "render.h"

#define JE "/usr/lib/x86_64-linux-gnu/libjemalloc.so.2"
#define LIBC "/usr/lib/x86_64-linux-gnu/libc.so.6"

TM_DIR_MODEL_FIXTURE(dir, m)

/* An ALLOCATOR record as the shim writes it; name_len lies about the name when asked. */
static void put_allocator(int fd, const char *name, const char *path, uint32_t flags, int name_len)
{
	uint8_t buf[1024];
	cs_recbuf_t b = { .buf = buf, .cap = sizeof(buf) };
	cs_rec_allocator_t *r = cs_rec_begin(&b, CS_REC_ALLOCATOR, sizeof(*r));
	uint16_t len = (uint16_t)(name_len >= 0 ? name_len : (int)strlen(name));

	r->flags = flags;
	cs_rec_put(&b, &len, 2);
	cs_rec_put(&b, name, strlen(name));
	cs_rec_put_str(&b, path, strlen(path));
	tu_put(fd, buf, cs_rec_finish(&b));
}

/* "<pid>.<gen>.cst": PROC, BACKEND, and the allocator when name is given. */
static void proc_file(uint32_t pid, uint32_t gen, uint8_t role, const char *name, const char *path,
		      uint32_t flags)
{
	char fname[64];
	int fd;

	snprintf(fname, sizeof(fname), "%u.%u.cst", pid, gen);
	fd = tu_open(dir, fname, CS_FILE_PROCESS, pid, gen);
	tu_proc(fd, pid, role == CS_ROLE_ROOT ? 1 : 100, gen, role, "prog");
	tu_backend(fd, CS_BACKEND_UFFD_WP, "");
	if (name)
		put_allocator(fd, name, path, flags, -1);
	tu_end(fd, gen ? CS_END_EXIT : CS_END_EXEC, 0, 1000);
	close(fd);
}

/* The same file as format 1.2 wrote it: no allocator record, minor 2 in the header. */
static void old_file(uint32_t pid)
{
	cs_file_hdr_t h;
	char path[4096];
	int fd;

	cs_file_hdr_init(&h, CS_FILE_PROCESS, pid, 0);
	h.version_minor = 2;
	tu_write_file(dir, "7.0.cst", &h, sizeof(h));
	snprintf(path, sizeof(path), "%s/7.0.cst", dir);
	fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
	assert_true(fd >= 0);
	tu_proc(fd, pid, 1, 0, CS_ROLE_ROOT, "old");
	tu_backend(fd, CS_BACKEND_UFFD_WP, "");
	close(fd);
}

static int load(void)
{
	cs_diag_t d = { "" };

	return cs_model_load(&m, dir, &d);
}

static const cs_proc_t *proc(uint32_t pid, uint32_t gen)
{
	return tm_proc(&m, pid, gen);
}

static char *render(int (*fn)(FILE *, const cs_model_t *, const cs_render_opts_t *))
{
	return tm_render(fn, &m);
}

static void test_reads_the_record(void **state)
{
	const cs_proc_t *p;

	(void)state;
	proc_file(100, 0, CS_ROLE_ROOT, "jemalloc", JE, CS_ALLOCF_PRELOADED);
	proc_file(100, 1, CS_ROLE_ROOT, "glibc", LIBC, 0);
	proc_file(101, 0, CS_ROLE_ROOT, NULL, NULL, 0);
	assert_int_equal(load(), 0);
	p = proc(100, 0);
	assert_true(p->has_allocator);
	assert_string_equal(p->allocator_name, "jemalloc");
	assert_string_equal(p->allocator_path, JE);
	assert_int_equal(p->allocator_flags, CS_ALLOCF_PRELOADED);
	p = proc(100, 1);
	assert_true(p->has_allocator && p->allocator_flags == 0);
	assert_string_equal(p->allocator_name, "glibc");
	assert_false(proc(101, 0)->has_allocator);
}

static void test_bad_string_is_named(void **state)
{
	int fd = tu_open(dir, "42.0.cst", CS_FILE_PROCESS, 42, 0);
	cs_diag_t d = { "" };

	(void)state;
	tu_proc(fd, 42, 1, 0, CS_ROLE_ROOT, "prog");
	put_allocator(fd, "jemalloc", JE, 0, 900); /* the name runs past the record */
	close(fd);
	assert_int_equal(cs_model_load(&m, dir, &d), -EBADMSG);
	assert_non_null(strstr(d.msg, "42.0.cst"));
	assert_non_null(strstr(d.msg, "record 2"));
}

/* One allocator for every process: one header line, and the JSON object per process. */
static void test_one_line_and_json_key(void **state)
{
	char *doc;

	(void)state;
	proc_file(100, 0, CS_ROLE_ROOT, "jemalloc", JE, CS_ALLOCF_PRELOADED);
	proc_file(101, 0, CS_ROLE_CHILD, "jemalloc", JE, CS_ALLOCF_PRELOADED);
	assert_int_equal(load(), 0);
	doc = render(cs_render_text);
	assert_non_null(strstr(doc, "\nallocator: jemalloc (" JE ", preloaded)\n"));
	free(doc);
	doc = render(cs_render_json);
	assert_non_null(strstr(doc,
			       "\"allocator\": {\n        \"name\": \"jemalloc\",\n"
			       "        \"path\": \"" JE "\",\n        \"preloaded\": true\n"
			       "      },\n"));
	free(doc);
}

/* After an exec the allocator may change: one line per allocator, naming the processes. */
static void test_processes_differ(void **state)
{
	char *doc;

	(void)state;
	proc_file(100, 0, CS_ROLE_ROOT, "glibc", LIBC, 0);
	proc_file(100, 1, CS_ROLE_ROOT, "jemalloc", JE, 0);
	proc_file(101, 0, CS_ROLE_CHILD, "jemalloc", JE, 0);
	proc_file(102, 0, CS_ROLE_ROOT, "mimalloc", "", 0);
	assert_int_equal(load(), 0);
	doc = render(cs_render_text);
	assert_non_null(strstr(doc,
			       "\nallocators (they differ by process):\n"
			       "  glibc (" LIBC "): pid 100\n"
			       "  jemalloc (" JE "): pid 100 (exec #1), pid 101\n"
			       "  mimalloc (path unknown): pid 102\n"));
	free(doc);
	doc = render(cs_render_json);
	assert_non_null(strstr(doc,
			       "\"name\": \"mimalloc\",\n        \"path\": null,\n"
			       "        \"preloaded\": false\n"));
	free(doc);
}

/* A 1.2 process beside 1.3 ones: null; a run of 1.2 traces only: no key (reports unchanged). */
static void test_older_traces(void **state)
{
	char *doc;

	(void)state;
	old_file(7);
	assert_int_equal(load(), 0);
	doc = render(cs_render_json);
	assert_null(strstr(doc, "\"allocator\""));
	free(doc);
	doc = render(cs_render_text);
	assert_null(strstr(doc, "allocator"));
	free(doc);
	cs_model_free(&m);
	proc_file(100, 0, CS_ROLE_ROOT, "glibc", LIBC, 0);
	assert_int_equal(load(), 0);
	doc = render(cs_render_json);
	assert_non_null(strstr(doc, "\"pid\": 7,"));
	assert_non_null(strstr(doc, "\"allocator\": null,"));
	assert_non_null(strstr(doc, "\"name\": \"glibc\""));
	free(doc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_reads_the_record, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_string_is_named, setup, teardown),
		cmocka_unit_test_setup_teardown(test_one_line_and_json_key, setup, teardown),
		cmocka_unit_test_setup_teardown(test_processes_differ, setup, teardown),
		cmocka_unit_test_setup_teardown(test_older_traces, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
