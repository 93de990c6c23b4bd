/* SPDX-License-Identifier: MIT */
/* Perf event counters of one process (docs/events.md): naming at init, raw-syscall opening and reading; owns the event state. */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/perf_event.h>
#include <string.h>
#include <strings.h>
#include <sys/syscall.h>
#include "cowscope/trace_format.h"
#include "prim.h"
#include "record.h"
#include "boot.h"
#include "events.h"
#include "perfcount.h"
#include "trace.h"

#if __has_include(<perfmon/pfmlib_perf_event.h>)
#include <perfmon/pfmlib_perf_event.h>
#define CS_HAVE_PFM_HEADER 1
#endif

/* One event: how it was encoded, its descriptor, and why it failed. */
typedef struct pc_event {
	cs_event_def_t def;
	char name[CS_PC_NAME_MAX];
	const char *why; /* static text for the note when def.err != 0 */
	int name_err;    /* 0: named (encoded); else -errno, and it is never opened */
	int fd;          /* kept high, or -1 */
	cs_fd_id_t id;
} pc_event_t;

/* Event state, written only here (at init and at a fork child's start). */
static struct {
	uint32_t n;
	pc_event_t ev[CS_PC_MAX];
	uint8_t user_only; /* the kernel refused counting kernel mode: exclude_kernel set */
} pc;

/* The default events and the software names encoded without libpfm (libpfm4 spells them so). */
static const struct builtin {
	const char *name;
	uint64_t config;
} builtins[] = {
	{ "perf::PERF_COUNT_SW_PAGE_FAULTS", PERF_COUNT_SW_PAGE_FAULTS },
	{ "perf::PERF_COUNT_SW_PAGE_FAULTS_MIN", PERF_COUNT_SW_PAGE_FAULTS_MIN },
	{ "perf::PERF_COUNT_SW_PAGE_FAULTS_MAJ", PERF_COUNT_SW_PAGE_FAULTS_MAJ },
	{ "perf::PERF_COUNT_SW_CONTEXT_SWITCHES", PERF_COUNT_SW_CONTEXT_SWITCHES },
	{ "perf::page-faults", PERF_COUNT_SW_PAGE_FAULTS },
	{ "perf::minor-faults", PERF_COUNT_SW_PAGE_FAULTS_MIN },
	{ "perf::major-faults", PERF_COUNT_SW_PAGE_FAULTS_MAJ },
	{ "perf::context-switches", PERF_COUNT_SW_CONTEXT_SWITCHES },
};
#define NDEFAULT 4u
#define NBUILTIN (sizeof(builtins) / sizeof(builtins[0]))

static const struct builtin *builtin_of(const char *name)
{
	for (size_t i = 0; i < NBUILTIN; i++)
		if (strcasecmp(name, builtins[i].name) == 0)
			return &builtins[i];
	return NULL;
}

static pc_event_t *add_event(const char *name, size_t len)
{
	pc_event_t *e;

	if (pc.n >= CS_PC_MAX || len == 0)
		return NULL;
	e = &pc.ev[pc.n++];
	memset(e, 0, sizeof(*e));
	e->fd = -1;
	if (len >= sizeof(e->name)) {
		len = sizeof(e->name) - 1;
		e->name_err = -ENAMETOOLONG;
		e->why = "the name is too long";
	}
	memcpy(e->name, name, len);
	e->name[len] = 0;
	return e;
}

/* ---- libpfm4, loaded only when a name is not built in ---- */

typedef int (*pfm_init_fn)(void);
typedef int (*pfm_encode_fn)(const char *str, int dfl_plm, int os, void *args);
typedef void (*pfm_term_fn)(void);

static struct {
	void *h;
	pfm_encode_fn encode;
	pfm_term_fn term;
	int err; /* 0 loaded, else -errno: not there (ENOENT) or unusable */
	int tried;
} pfm;

static void pfm_load(void)
{
	pfm_init_fn init;

	pfm.tried = 1;
#ifdef CS_HAVE_PFM_HEADER
	pfm.h = dlopen("libpfm.so.4", RTLD_NOW | RTLD_LOCAL);
#endif
	if (!pfm.h) {
		pfm.err = -ENOENT;
		return;
	}
	init = (pfm_init_fn)dlsym(pfm.h, "pfm_initialize");
	pfm.encode = (pfm_encode_fn)dlsym(pfm.h, "pfm_get_os_event_encoding");
	pfm.term = (pfm_term_fn)dlsym(pfm.h, "pfm_terminate");
	if (!init || !pfm.encode || init() != 0)
		pfm.err = -ENOTSUP;
}

static void pfm_unload(void)
{
	if (pfm.h && !pfm.err && pfm.term)
		pfm.term();
	if (pfm.h)
		dlclose(pfm.h);
	pfm.h = NULL;
}

/* Encode e->name through libpfm4 into e->def (type and configs only). */
static void encode_pfm(pc_event_t *e)
{
#ifdef CS_HAVE_PFM_HEADER
	struct perf_event_attr attr;
	pfm_perf_encode_arg_t arg;

	if (!pfm.tried)
		pfm_load();
	if (pfm.err) {
		e->name_err = pfm.err;
		e->why = pfm.err == -ENOENT ? "libpfm4 (libpfm.so.4) is not installed"
					    : "libpfm4 could not start";
		return;
	}
	memset(&attr, 0, sizeof(attr));
	memset(&arg, 0, sizeof(arg));
	arg.attr = &attr;
	arg.size = sizeof(arg);
	if (pfm.encode(e->name, PFM_PLM3, PFM_OS_PERF_EVENT, &arg) != 0) {
		e->name_err = -ENOENT;
		e->why = "libpfm4 does not know this event here";
		return;
	}
	e->def.type = attr.type;
	e->def.config = attr.config;
	e->def.config1 = attr.config1;
	e->def.config2 = attr.config2;
#else
	e->name_err = -ENOTSUP;
	e->why = "built without libpfm4";
#endif
}

static void encode(pc_event_t *e)
{
	const struct builtin *b = builtin_of(e->name);

	if (e->name_err)
		return;
	if (b) {
		e->def.type = PERF_TYPE_SOFTWARE;
		e->def.config = b->config;
		return;
	}
	encode_pfm(e);
}

static void name_all(const char *list)
{
	const char *p = list;

	if (!list || !list[0]) {
		for (uint32_t i = 0; i < NDEFAULT; i++)
			add_event(builtins[i].name, strlen(builtins[i].name));
		return;
	}
	if (strcmp(list, "none") == 0)
		return;
	while (*p) {
		const char *end = strchr(p, ',');
		size_t len = end ? (size_t)(end - p) : strlen(p);

		add_event(p, len);
		p += len + (end ? 1 : 0);
	}
}

void cs_perfcount_init(const char *list)
{
	name_all(list);
	for (uint32_t i = 0; i < pc.n; i++)
		encode(&pc.ev[i]);
	pfm_unload();
	cs_perfcount_open_all();
}

/* ---- opening, closing, reading (raw syscalls) ---- */

static int perf_open(const cs_event_def_t *d, int user_only, int thread_only)
{
	struct perf_event_attr a;

	memset(&a, 0, sizeof(a));
	a.size = sizeof(a);
	a.type = d->type;
	a.config = d->config;
	a.config1 = d->config1;
	a.config2 = d->config2;
	a.read_format = PERF_FORMAT_TOTAL_TIME_ENABLED | PERF_FORMAT_TOTAL_TIME_RUNNING;
	a.inherit = (uint64_t)thread_only; /* never into child processes: they count themselves */
	a.inherit_thread = (uint64_t)thread_only;
	a.exclude_kernel = (uint64_t)user_only;
	a.exclude_hv = (uint64_t)user_only;
	return (int)cs_prim_syscall6(SYS_perf_event_open, (long)&a, 0, -1, -1, PERF_FLAG_FD_CLOEXEC,
				     0);
}

/*
 * Kernel and user mode first, then user space only (perf_event_paranoid >= 2
 * refuses the first with EACCES unprivileged). inherit_thread needs Linux
 * 5.13: without it (EINVAL), count this thread only rather than children too.
 */
static int open_one(const cs_event_def_t *d)
{
	int fd = -EACCES;

	if (!pc.user_only)
		fd = perf_open(d, 0, 1);
	if (fd == -EACCES || fd == -EPERM) {
		fd = perf_open(d, 1, 1);
		if (fd >= 0)
			pc.user_only = 1;
	}
	if (fd == -EINVAL)
		fd = perf_open(d, pc.user_only, 0);
	return fd;
}

static void open_event(pc_event_t *e)
{
	int fd = open_one(&e->def), r;

	if (fd < 0) {
		e->def.err = fd;
		e->why = "perf_event_open refused it";
		return;
	}
	if ((r = cs_prim_fd_id(fd, &e->id)) < 0) {
		cs_prim_close(fd);
		e->def.err = r;
		e->why = "its descriptor could not be checked";
		return;
	}
	e->fd = cs_prim_fd_high(fd);
	if (e->fd < 0) {
		e->def.err = -EMFILE;
		e->why = "no descriptor outside the program's range";
		e->fd = -1;
	}
}

void cs_perfcount_open_all(void)
{
	for (uint32_t i = 0; i < pc.n; i++) {
		pc_event_t *e = &pc.ev[i];

		e->def.err = e->name_err;
		if (e->name_err)
			continue; /* never named: nothing to open */
		e->why = NULL;
		open_event(e);
	}
}

void cs_perfcount_child(void)
{
	for (uint32_t i = 0; i < pc.n; i++)
		if (pc.ev[i].fd >= 0)
			cs_prim_fd_drop(&pc.ev[i].fd, &pc.ev[i].id);
	cs_perfcount_open_all();
}

/* ---- records ---- */

/* Append src to out (cap bytes, NUL kept) at *n. */
static void cat(char *out, size_t cap, size_t *n, const char *src)
{
	size_t l = strlen(src);

	if (l > cap - 1 - *n)
		l = cap - 1 - *n;

	memcpy(out + *n, src, l);
	*n += l;
	out[*n] = 0;
}

static int not_permitted(int err)
{
	return err == -EACCES || err == -EPERM || err == -ENOSYS;
}

/* 1 when every event that was named failed to open because perf is not permitted. */
static int perf_denied(int *err)
{
	uint32_t tried = 0, denied = 0;

	for (uint32_t i = 0; i < pc.n; i++) {
		if (pc.ev[i].name_err)
			continue;
		tried++;
		if (not_permitted(pc.ev[i].def.err)) {
			denied++;
			*err = pc.ev[i].def.err;
		}
	}
	return tried > 0 && denied == tried;
}

static void note_denied(int err)
{
	char text[320];
	size_t n = 0;

	cat(text, sizeof(text), &n, "cowscope: perf events are not permitted here (");
	cat(text, sizeof(text), &n,
	    err == -ENOSYS ? "perf_event_open: ENOSYS, no perf support or a seccomp filter"
		    : err == -EPERM
		    ? "perf_event_open: EPERM, a seccomp filter, a container or a "
		      "security module"
		    : "perf_event_open: EACCES, kernel.perf_event_paranoid or a seccomp "
		      "filter");
	cat(text, sizeof(text), &n, "): no event counts in this process");
	cs_rec_note(CS_NOTE_EVENTS, -err, text);
}

static void note_event(const pc_event_t *e)
{
	char text[320];
	size_t n = 0;

	cat(text, sizeof(text), &n, "cowscope: event ");
	cat(text, sizeof(text), &n, e->name);
	cat(text, sizeof(text), &n, " is not counted: ");
	cat(text, sizeof(text), &n, e->why ? e->why : "unknown reason");
	cs_rec_note(CS_NOTE_EVENTS, -e->def.err, text);
}

static void put_notes(void)
{
	int err = 0, denied = perf_denied(&err);

	if (denied)
		note_denied(err);
	for (uint32_t i = 0; i < pc.n; i++)
		if (pc.ev[i].def.err && !(denied && !pc.ev[i].name_err))
			note_event(&pc.ev[i]);
}

void cs_perfcount_put_defs(void)
{
	uint8_t buf[sizeof(cs_rec_evdefs_t) +
		    CS_PC_MAX * (sizeof(cs_event_def_t) + 8 + CS_PC_NAME_MAX)];
	cs_recbuf_t b = { .buf = buf, .cap = sizeof(buf) };
	cs_rec_evdefs_t *r;

	if (!pc.n)
		return;
	r = cs_rec_begin(&b, CS_REC_EVDEFS, sizeof(*r));
	r->count = pc.n;
	for (uint32_t i = 0; i < pc.n; i++)
		cs_rec_put(&b, &pc.ev[i].def, sizeof(pc.ev[i].def));
	for (uint32_t i = 0; i < pc.n; i++)
		cs_rec_put_str(&b, pc.ev[i].name, strlen(pc.ev[i].name));
	cs_trace_put(buf, cs_rec_finish(&b));
	put_notes();
}

/* The event's counts now; zeros when it is not open (or not ours any more). */
static void read_one(pc_event_t *e, cs_count_t *out)
{
	uint64_t v[3];

	memset(out, 0, sizeof(*out));
	if (e->fd < 0 || !cs_prim_fd_same(e->fd, &e->id)) {
		e->fd = -1; /* closed or reused by the program: never read its descriptor */
		return;
	}
	if (cs_prim_read(e->fd, v, sizeof(v)) != (long)sizeof(v))
		return;
	out->value = v[0];
	out->enabled_ns = v[1];
	out->running_ns = v[2];
}

void cs_perfcount_put_counts(uint8_t at, uint32_t seq)
{
	uint8_t buf[sizeof(cs_rec_counts_t) + CS_PC_MAX * sizeof(cs_count_t)];
	cs_rec_counts_t *r = (cs_rec_counts_t *)buf;
	cs_count_t *c = (cs_count_t *)(buf + sizeof(*r));
	size_t n = sizeof(*r) + pc.n * sizeof(cs_count_t);

	if (!pc.n)
		return;
	memset(buf, 0, sizeof(*r));
	r->h.type = CS_REC_COUNTS;
	r->h.size = (uint32_t)n;
	r->seq = seq;
	r->at = at;
	r->count = pc.n;
	for (uint32_t i = 0; i < pc.n; i++)
		read_one(&pc.ev[i], &c[i]);
	r->t_ns = cs_prim_now_ns();
	cs_trace_put(buf, n);
}
