/* SPDX-License-Identifier: MIT */
/* Unit tests: report --format pprof decoded with protobuf-c's generated unpack, exact values. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>
#include <cmocka.h>
#include "analyze.h"
#include "cs_testmodel.h"
#include "cs_testutil.h"
#include "model.h"
#include "profile.pb-c.h"
#include "render.h"

#define MS 1000000ull
#define HP 0x10000ull /* first page of the heap */
#define HEAP_PAGES 64u
#define SP (HP + 0x3000) /* first page of the stack */
#define ADDR(pg) ((uint64_t)(pg)*TU_PAGE)
#define BASE 0x400000ull /* load bias of the fake library */
#define SEG_START 0x401000ull
#define SEG_END 0x403000ull
#define RA(id) (SEG_START + 0x100 * (id))

typedef Perftools__Profiles__Profile profile_t;

TM_DIR_MODEL_FIXTURE(dir, m)

static void snap(int fd, uint32_t seq, uint8_t reason, const cs_run_t *wr, size_t nwr)
{
	cs_run_t all[] = { { HP, HEAP_PAGES }, { SP, 4 } };

	tu_snap_begin(fd, seq, reason, CS_BACKEND_UFFD_WP, (1 + seq) * MS, 0);
	tu_mapping(fd, seq, ADDR(HP), ADDR(HP + HEAP_PAGES), CS_MAP_HEAP, CS_MAPF_ARMED, "[heap]");
	tu_mapping(fd, seq, ADDR(SP), ADDR(SP + 4), CS_MAP_STACK, CS_MAPF_ARMED, "[stack]");
	tu_pages(fd, seq, CS_SET_PRESENT, all, 2);
	tu_pages(fd, seq, CS_SET_WRITTEN, wr, nwr);
	tu_pages(fd, seq, CS_SET_EXCL, wr, nwr);
	tu_snap_end(fd, seq);
}

/*
 * Root 100: a library at BASE (one segment, build-id de ad be ef), stacks 1..3 of one
 * frame in it, page-sized blocks: stack 1 on heap pages 0-3, 2 on 4-7, 3 on 8-11. Child
 * 101 writes site 2's four pages, one free heap page (the allocator's bucket) and two of
 * the stack: copied 4, 1 and 2.
 */
static void three_sites(void)
{
	static const uint8_t id[] = { 0xde, 0xad, 0xbe, 0xef };
	cs_seg_t seg = { SEG_START, SEG_END, 0x1000 };
	cs_run_t wr[] = { { HP + 4, 4 }, { HP + 13, 1 }, { SP, 2 } };
	cs_alloc_ev_t a[12];
	int fd = tu_proc_file(dir, 100, 1, CS_ROLE_ROOT, CS_BACKEND_UFFD_WP);

	tu_sampling(fd, 1, 64);
	tu_module(fd, BASE, &seg, 1, id, sizeof(id), "/nonexistent/libfake.so");
	for (uint32_t s = 1; s <= 3; s++) {
		uint64_t ra = RA(s);

		tu_stack(fd, s, &ra, 1);
	}
	for (uint32_t i = 0; i < 12; i++)
		a[i] = tu_alloc_ev(1 + i, ADDR(HP + i), TU_PAGE, TU_PAGE, 1 + i / 4,
				   CS_ALLOC_MALLOC);
	tu_allocs(fd, a, 12);
	tu_fork(fd, 101, 1, MS);
	tu_end(fd, CS_END_EXIT, 0, 10 * MS);
	close(fd);
	fd = tu_proc_file(dir, 101, 100, CS_ROLE_CHILD, CS_BACKEND_UFFD_WP);
	tu_fork_point(fd, 100, 100);
	snap(fd, 0, CS_SNAP_FORK, NULL, 0);
	snap(fd, 1, CS_SNAP_EXIT, wr, 3);
	tu_end(fd, CS_END_EXIT, 0, 9 * MS);
	close(fd);
}

/* gunzip n bytes of gz; fails the test on a bad stream. Returns a malloc'd buffer, *len. */
static uint8_t *gunzip(const uint8_t *gz, size_t n, size_t *len)
{
	size_t cap = 1 << 20;
	uint8_t *out = malloc(cap);
	z_stream z = { .next_in = (Bytef *)gz, .avail_in = (uInt)n };

	assert_non_null(out);
	assert_int_equal(inflateInit2(&z, 15 + 16), Z_OK);
	z.next_out = out;
	z.avail_out = (uInt)cap;
	assert_int_equal(inflate(&z, Z_FINISH), Z_STREAM_END);
	*len = z.total_out;
	inflateEnd(&z);
	return out;
}

/* The model rendered as pprof (by: enum cs_fold_by), decoded. */
static profile_t *decode(int by)
{
	cs_render_opts_t o = { .top = 5, .by = by };
	char *buf = NULL;
	size_t n = 0, len;
	FILE *f = open_memstream(&buf, &n);
	uint8_t *raw;
	profile_t *p;

	assert_non_null(f);
	assert_int_equal(cs_render_pprof(f, &m, &o), 0);
	fclose(f);
	assert_true(n > 18 && (uint8_t)buf[0] == 0x1f && (uint8_t)buf[1] == 0x8b); /* gzip */
	raw = gunzip((const uint8_t *)buf, n, &len);
	p = perftools__profiles__profile__unpack(NULL, len, raw);
	assert_non_null(p);
	free(raw);
	free(buf);
	return p;
}

static void load(void)
{
	cs_diag_t d = { "" };

	assert_int_equal(cs_model_load(&m, dir, &d), 0);
}

static const char *str(const profile_t *p, int64_t ix)
{
	assert_true(ix >= 0 && (size_t)ix < p->n_string_table);
	return p->string_table[ix];
}

/* The value of label key of sample s: its string, or its number into *num. */
static const char *label(const profile_t *p, const Perftools__Profiles__Sample *s, const char *key,
			 int64_t *num)
{
	for (size_t i = 0; i < s->n_label; i++) {
		if (strcmp(str(p, s->label[i]->key), key))
			continue;
		*num = s->label[i]->num;
		return str(p, s->label[i]->str);
	}
	fail_msg("no label %s", key);
	return NULL;
}

static const Perftools__Profiles__Location *loc(const profile_t *p, uint64_t id)
{
	assert_true(id >= 1 && id <= p->n_location);
	assert_true(p->location[id - 1]->id == id);
	return p->location[id - 1];
}

static const char *func_name(const profile_t *p, uint64_t id)
{
	assert_true(id >= 1 && id <= p->n_function);
	assert_true(p->function[id - 1]->id == id);
	return str(p, p->function[id - 1]->name);
}

/* The sample whose single location is the bucket "[name]", or NULL. */
static const Perftools__Profiles__Sample *bucket(const profile_t *p, const char *name)
{
	for (size_t i = 0; i < p->n_sample; i++) {
		const Perftools__Profiles__Sample *s = p->sample[i];
		const Perftools__Profiles__Location *l = loc(p, s->location_id[0]);

		if (s->n_location_id == 1 && l->n_line == 1 && !l->mapping_id &&
		    !strcmp(func_name(p, l->line[0]->function_id), name))
			return s;
	}
	return NULL;
}

/* Types, string table, one sample per nonzero site with exact values and labels. */
static void test_sites_and_buckets(void **state)
{
	const Perftools__Profiles__Sample *s = NULL;
	const Perftools__Profiles__Location *l;
	int64_t num = -1;
	profile_t *p;

	(void)state;
	three_sites();
	load();
	p = decode(CS_BY_SITE);
	assert_string_equal(p->string_table[0], "");
	assert_int_equal(p->n_sample_type, 3); /* no changed words: no changed/bytes */
	assert_string_equal(str(p, p->sample_type[0]->type), "copied");
	assert_string_equal(str(p, p->sample_type[1]->type), "unshared");
	assert_string_equal(str(p, p->sample_type[2]->type), "parent_unshared");
	for (size_t k = 0; k < 3; k++)
		assert_string_equal(str(p, p->sample_type[k]->unit), "pages");
	assert_string_equal(str(p, p->default_sample_type), "copied");
	assert_int_equal(p->n_sample, 3); /* site 2, the allocator's free page, the stack */
	for (size_t i = 0; i < p->n_sample; i++)
		if (loc(p, p->sample[i]->location_id[0])->mapping_id)
			s = p->sample[i];
	assert_non_null(s);
	assert_int_equal(s->n_value, 3);
	assert_true(s->value[0] == 4 && s->value[1] == 4 && s->value[2] == 0);
	assert_string_equal(label(p, s, "role", &num), "child 1 of 1");
	assert_string_equal(label(p, s, "program", &num), "prog");
	assert_string_equal(label(p, s, "pid", &num), "");
	assert_int_equal(num, 101);
	assert_int_equal(s->n_location_id, 1);
	l = loc(p, s->location_id[0]);
	assert_int_equal(l->n_line, 0); /* no symbols: an address in a mapping */
	assert_true(l->address == BASE + m.procs[1].sites[0].frames[0].offset);
	assert_true(l->address >= RA(2) - 1 && l->address <= RA(2));
	assert_true(bucket(p, "[allocator free space and metadata]")->value[0] == 1);
	assert_true(bucket(p, "[stack]")->value[0] == 2);
	perftools__profiles__profile__free_unpacked(p, NULL);
}

/* One mapping for the library: its segment, file offset, path and build-id in hex. */
static void test_mapping(void **state)
{
	const Perftools__Profiles__Mapping *mp;
	profile_t *p;

	(void)state;
	three_sites();
	load();
	p = decode(CS_BY_SITE);
	assert_int_equal(p->n_mapping, 1);
	mp = p->mapping[0];
	assert_int_equal(mp->id, 1);
	assert_true(mp->memory_start == SEG_START && mp->memory_limit == SEG_END);
	assert_true(mp->file_offset == 0x1000);
	assert_string_equal(str(p, mp->filename), "/nonexistent/libfake.so");
	assert_string_equal(str(p, mp->build_id), "deadbeef");
	assert_false(mp->has_functions);
	/* functions and locations deduplicated: two buckets, one address */
	assert_int_equal(p->n_function, 2);
	assert_int_equal(p->n_location, 3);
	perftools__profiles__profile__free_unpacked(p, NULL);
}

/* --by writer on a run without writer samples: a valid profile, copied only, no samples. */
static void test_by_writer_empty(void **state)
{
	profile_t *p;

	(void)state;
	three_sites();
	load();
	p = decode(CS_BY_WRITER);
	assert_int_equal(p->n_sample_type, 1);
	assert_string_equal(str(p, p->sample_type[0]->type), "copied");
	assert_int_equal(p->n_sample, 0);
	assert_int_equal(p->n_string_table, 3); /* "", "copied", "pages" */
	perftools__profiles__profile__free_unpacked(p, NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_sites_and_buckets, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mapping, setup, teardown),
		cmocka_unit_test_setup_teardown(test_by_writer_empty, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
