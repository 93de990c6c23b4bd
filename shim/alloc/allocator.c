/* SPDX-License-Identifier: MIT */
/* The allocator in use: its object found at init, named, and written as CS_REC_ALLOCATOR. */
#include <dlfcn.h>
#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "allocboot.h"
#include "allocator.h"
#include "boot.h"
#include "record.h"
#include "trace.h"

#define NAME_MAX_BYTES 64

/* What init found; the fork child writes it again as it is. */
static struct {
	bool known;
	uint32_t flags; /* CS_ALLOCF_* */
	char name[NAME_MAX_BYTES];
	char path[CS_PATH_MAX];
} al;

/* Allocators known by a word of their file name, or by a symbol only they define. */
static const struct {
	const char *file;
	const char *symbol;
	const char *name;
} known[] = {
	{ "jemalloc", "mallctl", "jemalloc" },
	{ "tcmalloc", "tc_malloc", "tcmalloc" },
	{ "mimalloc", "mi_malloc", "mimalloc" },
	{ "libc.so", "gnu_get_libc_version", "glibc" },
};

static const char *base_name(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash ? slash + 1 : path;
}

static void copy(char *out, size_t size, const char *s)
{
	size_t n = strlen(s) < size - 1 ? strlen(s) : size - 1;

	memcpy(out, s, n);
	out[n] = 0;
}

#define NKNOWN (sizeof(known) / sizeof(known[0]))

/* Whether symbol is defined by object obj. */
static bool defines(const cs_objinfo_t *obj, const char *symbol)
{
	void *s = dlsym(RTLD_DEFAULT, symbol);
	cs_objinfo_t where;

	return s && cs_alloc_object_of(s, &where) == 0 && where.id == obj->id;
}

/* By file name first; a renamed or static copy by the symbol only it defines. */
static void name_it(const cs_objinfo_t *obj)
{
	const char *file = base_name(al.path);

	for (size_t i = 0; i < NKNOWN; i++) {
		if (strstr(file, known[i].file)) {
			copy(al.name, sizeof(al.name), known[i].name);
			return;
		}
	}
	for (size_t i = 0; i < NKNOWN; i++) {
		if (defines(obj, known[i].symbol)) {
			copy(al.name, sizeof(al.name), known[i].name);
			return;
		}
	}
	copy(al.name, sizeof(al.name), *file ? file : "unknown");
}

/* Whether one LD_PRELOAD entry names the object (a path: same file; a bare name: same name). */
static bool entry_is(const char *entry, const char *loaded_as, const struct stat *obj)
{
	struct stat st;

	if (strchr(entry, '/'))
		return stat(entry, &st) == 0 && st.st_dev == obj->st_dev &&
			st.st_ino == obj->st_ino;
	return !strcmp(entry, base_name(loaded_as)) || !strcmp(entry, base_name(al.path));
}

/* Whether LD_PRELOAD (entries split by ':' or blanks, as ld.so does) brought the object in. */
static bool preloaded(const char *loaded_as)
{
	const char *pre = getenv("LD_PRELOAD");
	char entry[CS_PATH_MAX];
	struct stat obj;
	size_t n;

	if (!pre || stat(al.path, &obj))
		return false;
	for (; *pre; pre += n) {
		pre += strspn(pre, ": \t");
		n = strcspn(pre, ": \t");
		if (!n || n >= sizeof(entry))
			continue;
		memcpy(entry, pre, n);
		entry[n] = 0;
		if (entry_is(entry, loaded_as, &obj))
			return true;
	}
	return false;
}

void cs_allocator_detect(void)
{
	char real[PATH_MAX];
	cs_objinfo_t obj;

	if (cs_alloc_object_of(cs_alloc_target(), &obj) < 0)
		return;
	if (!*obj.name)
		copy(al.path, sizeof(al.path), cs_proc()->exe); /* the main program */
	else
		copy(al.path, sizeof(al.path), realpath(obj.name, real) ? real : obj.name);
	name_it(&obj);
	al.flags = preloaded(obj.name) ? CS_ALLOCF_PRELOADED : 0;
	al.known = true;
}

void cs_allocator_put(void)
{
	uint8_t buf[sizeof(cs_rec_allocator_t) + NAME_MAX_BYTES + CS_PATH_MAX + 16];
	cs_recbuf_t b = { .buf = buf, .cap = sizeof(buf) };
	cs_rec_allocator_t *r;

	if (!al.known)
		return;
	r = cs_rec_begin(&b, CS_REC_ALLOCATOR, sizeof(*r));
	r->flags = al.flags;
	cs_rec_put_str(&b, al.name, strlen(al.name));
	cs_rec_put_str(&b, al.path, strlen(al.path));
	cs_trace_put(b.buf, cs_rec_finish(&b));
}
