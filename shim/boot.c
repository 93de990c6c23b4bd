/* SPDX-License-Identifier: MIT */
/* Shim start-up: options, backend probe, run directory, this process's trace. */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include "cowscope/trace_format.h"
#include "allocator.h"
#include "maps.h"
#include "prim.h"
#include "record.h"
#include "state.h"
#include "evbuf.h"
#include "modules.h"
#include "stacks.h"

cs_state_t cs_st = {.dirfd = -1, .pagemap_fd = -1, .uffd = -1, .w = {.fd = -1}};

/* The shim's own static data: excluded from every figure (hidden: our own, not the program's). */
extern char __bss_start[] __attribute__((visibility("hidden")));
extern char _end[] __attribute__((visibility("hidden")));

static const char *env(const char *name)
{
	return getenv(name);
}

static void warn_option(const char *msg, size_t n)
{
	(void)n;
	cs_say(msg);
}

static unsigned shift_of(long ps)
{
	unsigned s = 0;

	while ((1L << s) < ps)
		s++;
	return s;
}

/* argv joined by NUL, and the executable's path. */
static void read_identity(void)
{
	int fd = cs_prim_openat(AT_FDCWD, "/proc/self/cmdline", O_RDONLY | O_CLOEXEC, 0);
	long n = fd >= 0 ? cs_prim_read(fd, cs_st.cmdline, sizeof(cs_st.cmdline)) : 0;

	if (fd >= 0)
		cs_prim_close(fd);
	cs_st.cmdline_len = n > 0 ? (uint32_t)n : 0;
	while (cs_st.cmdline_len && cs_st.cmdline[cs_st.cmdline_len - 1] == 0)
		cs_st.cmdline_len--;
	n = cs_prim_readlink("/proc/self/exe", cs_st.exe, sizeof(cs_st.exe) - 1);
	cs_st.exe_len = n > 0 ? (uint32_t)n : 0;
	cs_st.exe[cs_st.exe_len] = 0;
}

static void find_shim_path(void)
{
	Dl_info info;

	if (dladdr((void *)cs_boot_init, &info) && info.dli_fname &&
	    realpath(info.dli_fname, cs_st.shim_path))
		return;
	cs_st.shim_path[0] = 0;
}

/* Append src (at most max bytes) at out + *n. */
static void add(char *out, size_t *n, const char *src, size_t max)
{
	size_t l = strnlen(src, max);

	memcpy(out + *n, src, l);
	*n += l;
	out[*n] = 0;
}

/*
 * The private per-user parent of default run directories:
 * ${TMPDIR:-/tmp}/cowscope-<uid> (TMPDIR only when absolute).
 */
static void default_parent(char *out)
{
	const char *tmp = env("TMPDIR");
	size_t n = 0;

	if (!tmp || tmp[0] != '/' || strlen(tmp) > CS_PATH_MAX / 2)
		tmp = "/tmp";
	add(out, &n, tmp, CS_PATH_MAX / 2);
	while (n > 1 && out[n - 1] == '/')
		out[--n] = 0;
	add(out, &n, "/cowscope-", 16);
	n += cs_utoa(out + n, (uint64_t)geteuid());
	out[n] = 0;
}

/* Default run directory name: <program>.<pid>. */
static void default_name(char *out)
{
	const char *base = strrchr(cs_st.exe, '/');
	size_t n = 0;

	add(out, &n, base ? base + 1 : "process", 64);
	out[n++] = '.';
	n += cs_utoa(out + n, (uint64_t)cs_st.pid);
	out[n] = 0;
}

static int default_dir;  /* COWSCOPE_OUT unset: under the private per-user parent */
static const char *refused; /* why the run directory was refused (for COWSCOPE_VERBOSE) */

/* Absolute run directory path in cs_st.out_dir. */
static int resolve_out(void)
{
	char rel[CS_PATH_MAX];
	size_t n = 0;

	if (!cs_st.opt.out[0]) {
		default_dir = 1;
		default_parent(cs_st.out_dir);
		n = strlen(cs_st.out_dir);
		cs_st.out_dir[n++] = '/';
		default_name(cs_st.out_dir + n);
		return 0;
	}
	memcpy(rel, cs_st.opt.out, sizeof(rel));
	if (rel[0] == '/') {
		memcpy(cs_st.out_dir, rel, sizeof(rel));
		return 0;
	}
	if (!getcwd(cs_st.out_dir, sizeof(cs_st.out_dir)))
		return -errno;
	n = strlen(cs_st.out_dir);
	if (n + 1 + strlen(rel) >= sizeof(cs_st.out_dir))
		return -ENAMETOOLONG;
	cs_st.out_dir[n] = '/';
	memcpy(cs_st.out_dir + n + 1, rel, strlen(rel) + 1);
	return 0;
}

/* Why a run directory must not be used (NULL: it may). strict: mode exactly 0700. */
static const char *dir_refusal(const struct stat *st, int strict)
{
	if (!S_ISDIR(st->st_mode))
		return "not a directory";
	if (st->st_uid != geteuid())
		return "not owned by this user";
	if (st->st_mode & 022)
		return "writable by group or others";
	if (strict && (st->st_mode & 0777) != 0700)
		return "mode is not 0700";
	return NULL;
}

/*
 * Create (0700) then open name in at (O_NOFOLLOW|O_DIRECTORY) and verify it
 * on the open descriptor: ours, not group/other-writable (unless shared is
 * allowed). The descriptor or -errno, with the reason in `refused`.
 */
static int open_verified(int at, const char *name, int strict)
{
	int shared = cs_st.opt.allow_shared_dir && !strict, fd, r;
	struct stat st;

	r = cs_prim_mkdirat(at, name, 0700);
	if (r < 0 && r != -EEXIST)
		return refused = "cannot create it", r;
	fd = cs_prim_openat(at, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | (shared ? 0 : O_NOFOLLOW),
			    0);
	if (fd == -ELOOP || fd == -ENOTDIR)
		return refused = "a symbolic link or not a directory", -ELOOP;
	if (fd < 0)
		return refused = "cannot open it", fd;
	if ((r = cs_prim_fstat(fd, &st)) < 0 || (!shared && (refused = dir_refusal(&st, strict)))) {
		cs_prim_close(fd);
		return r < 0 ? r : -EPERM;
	}
	return fd;
}

/* The default run directory: the per-user parent, verified strictly, then <program>.<pid>. */
static int open_default_dir(void)
{
	char *slash = strrchr(cs_st.out_dir, '/');
	int parent, fd;

	*slash = 0;
	parent = open_verified(AT_FDCWD, cs_st.out_dir, 1);
	*slash = '/';
	if (parent < 0)
		return parent;
	fd = open_verified(parent, slash + 1, 0);
	cs_prim_close(parent);
	return fd;
}

/* Keep the run directory's identity, and its descriptor when it can sit high. */
static int open_out_dir(void)
{
	int fd = default_dir ? open_default_dir() : open_verified(AT_FDCWD, cs_st.out_dir, 0), r;

	if (fd < 0)
		return fd;
	r = cs_prim_fd_id(fd, &cs_st.dir_id);
	if (r < 0) {
		cs_prim_close(fd);
		return r;
	}
	cs_st.dirfd = cs_prim_fd_high(fd);
	if (cs_st.dirfd < 0)
		cs_st.dirfd = -1; /* opened by path when needed */
	return 0;
}

int cs_boot_dir_get(int *own)
{
	int fd = cs_st.dirfd;

	*own = 0;
	if (fd >= 0 && cs_prim_fd_same(fd, &cs_st.dir_id))
		return fd;
	cs_st.dirfd = -1; /* closed or reused by the program: not ours to close */
	fd = cs_prim_openat(AT_FDCWD, cs_st.out_dir,
			    O_RDONLY | O_DIRECTORY | O_CLOEXEC |
				    (cs_st.opt.allow_shared_dir ? 0 : O_NOFOLLOW),
			    0);
	if (fd >= 0 && !cs_prim_fd_same(fd, &cs_st.dir_id)) {
		cs_prim_close(fd);
		return -ESTALE;
	}
	*own = fd >= 0;
	return fd;
}

void cs_boot_pagemap_open(void)
{
	int fd = cs_prim_openat(AT_FDCWD, "/proc/self/pagemap", O_RDONLY | O_CLOEXEC, 0);

	cs_st.pagemap_fd = -1;
	if (fd < 0 || cs_prim_fd_id(fd, &cs_st.pagemap_id) < 0) {
		if (fd >= 0)
			cs_prim_close(fd);
		return;
	}
	fd = cs_prim_fd_high(fd);
	cs_st.pagemap_fd = fd < 0 ? -1 : fd;
}

int cs_boot_pagemap_get(int *own)
{
	int fd = cs_st.pagemap_fd;

	*own = 0;
	if (fd >= 0 && cs_prim_fd_same(fd, &cs_st.pagemap_id))
		return fd;
	cs_st.pagemap_fd = -1; /* not ours any more: leave the program's descriptor alone */
	fd = cs_prim_openat(AT_FDCWD, "/proc/self/pagemap", O_RDONLY | O_CLOEXEC, 0);
	*own = fd >= 0;
	return fd;
}

static void put_rec(cs_recbuf_t *b)
{
	cs_writer_put(&cs_st.w, b->buf, cs_rec_finish(b));
}

static void put_proc(void)
{
	uint8_t buf[sizeof(cs_rec_proc_t) + CS_CMDLINE_MAX + 2 * CS_PATH_MAX + 16];
	cs_recbuf_t b = {.buf = buf, .cap = sizeof(buf)};
	cs_rec_proc_t *p = cs_rec_begin(&b, CS_REC_PROC, sizeof(*p));

	p->pid = (uint32_t)cs_st.pid;
	p->ppid = (uint32_t)cs_st.ppid;
	p->gen = cs_st.w.gen;
	p->role = cs_st.role;
	p->fork_via = cs_st.fork_via;
	p->page_size = 1u << cs_st.page_shift;
	p->start_ns = cs_st.start_ns;
	p->parent_fork_seq = cs_st.parent_fork_seq;
	cs_rec_put_str(&b, cs_st.cmdline, cs_st.cmdline_len);
	cs_rec_put_str(&b, cs_st.exe, cs_st.exe_len);
	cs_rec_put_str(&b, cs_st.shim_path, strlen(cs_st.shim_path));
	put_rec(&b);
}

void cs_boot_put_backend(void)
{
	uint8_t buf[sizeof(cs_rec_backend_t) + CS_BACKEND_COUNT * (8 + CS_REASON_MAX + 8)];
	cs_recbuf_t b = {.buf = buf, .cap = sizeof(buf)};
	cs_rec_backend_t *r = cs_rec_begin(&b, CS_REC_BACKEND, sizeof(*r));

	r->chosen = cs_st.backend;
	r->requested = cs_st.opt.backend;
	r->scan = cs_st.probe.scan;
	r->nentries = CS_BACKEND_COUNT - 1;
	for (uint8_t i = 1; i < CS_BACKEND_COUNT; i++) {
		const cs_probe_entry_t *e = &cs_st.probe.b[i];
		cs_backend_entry_t be = {.backend = i, .usable = e->usable, .err = e->err};
		static const uint8_t zeros[8];

		be.reason_len = (uint16_t)strlen(e->reason);
		cs_rec_put(&b, &be, sizeof(be));
		cs_rec_put(&b, e->reason, be.reason_len);
		cs_rec_put(&b, zeros, (8 - (be.reason_len & 7)) & 7);
	}
	put_rec(&b);
}

static void put_shim_range(uint64_t start, uint64_t end)
{
	uint64_t mask = (1ull << cs_st.page_shift) - 1;
	cs_rec_shim_range_t r = {.h = {CS_REC_SHIM_RANGE, 0, sizeof(r)},
				 .start = start & ~mask, .end = (end + mask) & ~mask};

	cs_writer_put(&cs_st.w, &r, sizeof(r));
}

static void put_sampling(void)
{
	cs_rec_sampling_t r = {.h = {CS_REC_SAMPLING, 0, sizeof(r)},
			       .mean_bytes = cs_st.sample_bytes,
			       .max_depth = cs_st.opt.stack_depth,
			       .flags = cs_stacks_unwind_available() ? 0 : CS_SAMPLINGF_NO_UNWIND};

	cs_writer_put(&cs_st.w, &r, sizeof(r));
}

int cs_boot_open_trace(void)
{
	int own, dfd = cs_boot_dir_get(&own), r;

	if (dfd < 0)
		return dfd;
	r = cs_writer_create_in(&cs_st.w, dfd, cs_st.out_dir, CS_FILE_PROCESS, cs_st.pid,
				CS_TRACE_SUFFIX);
	if (own)
		cs_prim_close(dfd);
	if (r < 0)
		return r;
	put_proc();
	cs_boot_put_backend();
	cs_allocator_put();
	put_shim_range((uint64_t)(uintptr_t)cs_st.arena,
		       (uint64_t)(uintptr_t)cs_st.arena + CS_ARENA_BYTES);
	put_shim_range((uint64_t)(uintptr_t)__bss_start, (uint64_t)(uintptr_t)_end);
	if (cs_st.fork_gate)
		put_shim_range((uint64_t)(uintptr_t)cs_st.fork_gate,
			       (uint64_t)(uintptr_t)(cs_st.fork_gate + CS_FORK_GATE_SLOTS));
	if (cs_st.mem.base) {
		put_shim_range((uint64_t)(uintptr_t)cs_st.mem.base,
			       (uint64_t)(uintptr_t)cs_st.mem.base + cs_st.mem.bytes);
		put_sampling();
	}
	if (cs_st.fell_back)
		cs_rec_note(CS_NOTE_BACKEND_FALLBACK, 0,
			    "cowscope: the requested backend is not usable here; "
			    "using the best one that is");
	return 0;
}

static int make_arena(void)
{
	cs_st.arena = cs_prim_mmap_anon(CS_ARENA_BYTES);
	if (!cs_st.arena)
		return -ENOMEM;
	cs_st.wipeonfork = cs_prim_madvise(cs_st.arena, CS_ARENA_BYTES, MADV_WIPEONFORK) == 0;
	return 0;
}

static void choose_backend(void)
{
	cs_backend_probe_for(&cs_st.probe, cs_st.opt.backend);
	cs_st.thp = (uint8_t)cs_thp_possible();
	cs_st.backend = cs_backend_choose(&cs_st.probe, cs_st.opt.backend, &cs_st.fell_back);
}

/* The steps of start-up, in order; any failure leaves the shim inert. */
static int boot_steps(void)
{
	int r;

	read_identity();
	find_shim_path();
	cs_allocator_detect();
	if ((r = make_arena()) < 0 || (r = resolve_out()) < 0 || (r = open_out_dir()) < 0)
		return r;
	cs_st.sample_bytes = cs_st.opt.sample_bytes;
	if (cs_st.sample_bytes && cs_shimmem_init(&cs_st.mem) < 0)
		cs_st.sample_bytes = 0; /* no memory for it: run without allocation sites */
	choose_backend();
	if ((r = cs_boot_open_trace()) < 0)
		return r;
	cs_boot_pagemap_open();
	return cs_fork_register();
}

/* Allocation sampling: buffers, stacks, modules; then the hooks start recording. */
static void start_alloc_tracking(void)
{
	if (!cs_st.mem.base || cs_evbuf_init(&cs_st.mem) < 0)
		return;
	cs_tls_guard = 1; /* libunwind's warm-up and dl_iterate_phdr may allocate */
	cs_stacks_init(&cs_st.mem, cs_st.opt.stack_depth);
	cs_modules_scan(&cs_st.mem, cs_st.exe);
	cs_tls_guard = 0;
	cs_stacks_wipe(64u * 1024u); /* the warm-up runs deep, before main (cs_stacks_wipe) */
	cs_st.alloc_on = 1;
}

/* Tracing is off: say why on stderr, only when COWSCOPE_VERBOSE asks. */
static void say_off(void)
{
	char msg[CS_PATH_MAX + 160];
	size_t n = 0;

	if (!cs_st.opt.verbose)
		return;
	if (!refused) {
		cs_say("cowscope: tracing is off in this process: cannot create its trace");
		return;
	}
	add(msg, &n, "cowscope: tracing is off: refusing run directory ", 60);
	add(msg, &n, cs_st.out_dir, CS_PATH_MAX);
	add(msg, &n, ": ", 2);
	add(msg, &n, refused, 64);
	if (!cs_st.opt.allow_shared_dir)
		add(msg, &n, " (COWSCOPE_ALLOW_SHARED_DIR=1 accepts it)", 64);
	cs_say(msg);
}

void cs_boot_init(void)
{
	static int once;
	int r;

	if (__atomic_exchange_n(&once, 1, __ATOMIC_ACQ_REL))
		return;
	cs_st.pid = cs_prim_getpid();
	cs_st.ppid = cs_prim_getppid();
	cs_st.page_shift = shift_of(sysconf(_SC_PAGESIZE));
	cs_st.start_ns = cs_prim_now_ns();
	cs_st.role = CS_ROLE_ROOT;
	cs_options_load(&cs_st.opt, env, warn_option);
	r = boot_steps();
	if (r < 0) {
		say_off();
		return;
	}
	cs_st.ready = 1;
	start_alloc_tracking();
}

__attribute__((constructor)) static void cs_boot(void)
{
	cs_boot_init();
}

/* exit() and return from main end here, after the program's atexit handlers. */
__attribute__((destructor)) static void cs_fini(void)
{
	if (!cs_traced_here())
		return;
	cs_modules_refresh();
	cs_finish(CS_END_EXIT, cs_st.exit_status_known ? cs_st.exit_status : -1);
	cs_st.ready = 0;
}
