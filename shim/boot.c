/* SPDX-License-Identifier: MIT */
/* Shim start-up: options, backend probe, run directory, this process's trace; owns the process identity. */
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
#include "boot.h"
#include "events.h"
#include "fork.h"
#include "guard.h"
#include "perfcount.h"
#include "sampling.h"
#include "stacks.h"
#include "trace.h"
#include "track.h"
#include "writers.h"

#define CS_CMDLINE_MAX 2048

__thread int cs_tls_guard __attribute__((tls_model("initial-exec")));

/* Written only in this file; others read it through cs_proc(). */
cs_proc_t cs_proc_st;

/* Private to boot.c: argv, the run directory's descriptor, the exit status. */
static struct {
	uint32_t cmdline_len;
	uint32_t exe_len;
	char cmdline[CS_CMDLINE_MAX];
	int dirfd;         /* run directory, kept high, or -1 (then opened by path) */
	cs_fd_id_t dir_id; /* its identity, checked before use */
	int exit_status;
	int exit_status_known;
} bt = { .dirfd = -1 };

/* Short names for this file, the owner. */
#define P cs_proc_st

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
	long n = fd >= 0 ? cs_prim_read(fd, bt.cmdline, sizeof(bt.cmdline)) : 0;

	if (fd >= 0)
		cs_prim_close(fd);
	bt.cmdline_len = n > 0 ? (uint32_t)n : 0;
	while (bt.cmdline_len && bt.cmdline[bt.cmdline_len - 1] == 0)
		bt.cmdline_len--;
	n = cs_prim_readlink("/proc/self/exe", P.exe, sizeof(P.exe) - 1);
	bt.exe_len = n > 0 ? (uint32_t)n : 0;
	P.exe[bt.exe_len] = 0;
}

static void find_shim_path(void)
{
	Dl_info info;

	if (dladdr((void *)cs_boot_init, &info) && info.dli_fname &&
	    realpath(info.dli_fname, P.shim_path))
		return;
	P.shim_path[0] = 0;
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
	const char *base = strrchr(P.exe, '/');
	size_t n = 0;

	add(out, &n, base ? base + 1 : "process", 64);
	out[n++] = '.';
	n += cs_utoa(out + n, (uint64_t)P.pid);
	out[n] = 0;
}

static int default_dir;     /* COWSCOPE_OUT unset: under the private per-user parent */
static const char *refused; /* why the run directory was refused (for COWSCOPE_VERBOSE) */

/* Absolute run directory path in P.out_dir. */
static int resolve_out(void)
{
	char rel[CS_PATH_MAX];
	size_t n = 0;

	if (!P.opt.out[0]) {
		default_dir = 1;
		default_parent(P.out_dir);
		n = strlen(P.out_dir);
		P.out_dir[n++] = '/';
		default_name(P.out_dir + n);
		return 0;
	}
	memcpy(rel, P.opt.out, sizeof(rel));
	if (rel[0] == '/') {
		memcpy(P.out_dir, rel, sizeof(rel));
		return 0;
	}
	if (!getcwd(P.out_dir, sizeof(P.out_dir)))
		return -errno;
	n = strlen(P.out_dir);
	if (n + 1 + strlen(rel) >= sizeof(P.out_dir))
		return -ENAMETOOLONG;
	P.out_dir[n] = '/';
	memcpy(P.out_dir + n + 1, rel, strlen(rel) + 1);
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
	int shared = P.opt.allow_shared_dir && !strict, fd, r;
	struct stat st;

	r = cs_prim_mkdirat(at, name, 0700);
	if (r < 0 && r != -EEXIST)
		return refused = "cannot create it", r;
	fd = cs_prim_openat(at, name,
			    O_RDONLY | O_DIRECTORY | O_CLOEXEC | (shared ? 0 : O_NOFOLLOW), 0);
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
	char *slash = strrchr(P.out_dir, '/');
	int parent, fd;

	*slash = 0;
	parent = open_verified(AT_FDCWD, P.out_dir, 1);
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
	int fd = default_dir ? open_default_dir() : open_verified(AT_FDCWD, P.out_dir, 0), r;

	if (fd < 0)
		return fd;
	r = cs_prim_fd_id(fd, &bt.dir_id);
	if (r < 0) {
		cs_prim_close(fd);
		return r;
	}
	bt.dirfd = cs_prim_fd_high(fd);
	if (bt.dirfd < 0)
		bt.dirfd = -1; /* opened by path when needed */
	return 0;
}

int cs_boot_dir_get(int *own)
{
	int fd = bt.dirfd;

	*own = 0;
	if (fd >= 0 && cs_prim_fd_same(fd, &bt.dir_id))
		return fd;
	bt.dirfd = -1; /* closed or reused by the program: not ours to close */
	fd = cs_prim_openat(
		AT_FDCWD, P.out_dir,
		O_RDONLY | O_DIRECTORY | O_CLOEXEC | (P.opt.allow_shared_dir ? 0 : O_NOFOLLOW), 0);
	if (fd >= 0 && !cs_prim_fd_same(fd, &bt.dir_id)) {
		cs_prim_close(fd);
		return -ESTALE;
	}
	*own = fd >= 0;
	return fd;
}

static void put_rec(cs_recbuf_t *b)
{
	cs_trace_put(b->buf, cs_rec_finish(b));
}

static void put_proc(void)
{
	uint8_t buf[sizeof(cs_rec_proc_t) + CS_CMDLINE_MAX + 2 * CS_PATH_MAX + 16];
	cs_recbuf_t b = { .buf = buf, .cap = sizeof(buf) };
	cs_rec_proc_t *p = cs_rec_begin(&b, CS_REC_PROC, sizeof(*p));

	p->pid = (uint32_t)P.pid;
	p->ppid = (uint32_t)P.ppid;
	p->gen = cs_trace_gen();
	p->role = P.role;
	p->fork_via = P.fork_via;
	p->page_size = 1u << P.page_shift;
	p->start_ns = P.start_ns;
	p->parent_fork_seq = P.parent_fork_seq;
	cs_rec_put_str(&b, bt.cmdline, bt.cmdline_len);
	cs_rec_put_str(&b, P.exe, bt.exe_len);
	cs_rec_put_str(&b, P.shim_path, strlen(P.shim_path));
	put_rec(&b);
}

static void put_shim_range(uint64_t start, uint64_t end)
{
	uint64_t mask = (1ull << P.page_shift) - 1;
	cs_rec_shim_range_t r = { .h = { CS_REC_SHIM_RANGE, 0, sizeof(r) },
				  .start = start & ~mask,
				  .end = (end + mask) & ~mask };

	cs_trace_put(&r, sizeof(r));
}

static void put_sampling(void)
{
	cs_rec_sampling_t r = { .h = { CS_REC_SAMPLING, 0, sizeof(r) },
				.mean_bytes = cs_sampling()->sample_bytes,
				.max_depth = P.opt.stack_depth,
				.flags = cs_stacks_sampling_flags() };

	cs_trace_put(&r, sizeof(r));
}

int cs_boot_open_trace(void)
{
	int own, dfd = cs_boot_dir_get(&own), r;
	const cs_shimmem_t *mem = &cs_sampling()->mem;
	uint64_t lo, hi;

	if (dfd < 0)
		return dfd;
	r = cs_trace_open(dfd, P.out_dir, P.pid);
	if (own)
		cs_prim_close(dfd);
	if (r < 0)
		return r;
	put_proc();
	cs_track_put_backend();
	cs_perfcount_put_defs();
	cs_allocator_put();
	put_shim_range((uint64_t)(uintptr_t)P.arena, (uint64_t)(uintptr_t)P.arena + CS_ARENA_BYTES);
	put_shim_range((uint64_t)(uintptr_t)__bss_start, (uint64_t)(uintptr_t)_end);
	if (cs_fork_gate_range(&lo, &hi) == 0)
		put_shim_range(lo, hi);
	if (mem->base) {
		put_shim_range((uint64_t)(uintptr_t)mem->base,
			       (uint64_t)(uintptr_t)mem->base + mem->bytes);
		if (cs_sampling()->sample_bytes)
			put_sampling(); /* else the memory holds module records only (writers) */
	}
	if (cs_track_fell_back())
		cs_rec_note(CS_NOTE_BACKEND_FALLBACK, 0,
			    "cowscope: the requested backend is not usable here; "
			    "using the best one that is");
	return 0;
}

static int make_arena(void)
{
	P.arena = cs_prim_mmap_anon(CS_ARENA_BYTES);
	if (!P.arena)
		return -ENOMEM;
	P.wipeonfork = cs_prim_madvise(P.arena, CS_ARENA_BYTES, MADV_WIPEONFORK) == 0;
	return 0;
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
	cs_sampling_reserve(P.opt.sample_bytes, P.opt.writers);
	cs_stacks_set_unwinder(P.opt.unwind);
	if (P.opt.writers)
		cs_writers_init();
	cs_track_choose(P.opt.backend);
	cs_perfcount_init(P.opt.events);
	if ((r = cs_boot_open_trace()) < 0)
		return r;
	cs_track_pagemap_open();
	return cs_fork_register();
}

/* Tracing is off: say why on stderr, only when COWSCOPE_VERBOSE asks. */
static void say_off(void)
{
	char msg[CS_PATH_MAX + 160];
	size_t n = 0;

	if (!P.opt.verbose)
		return;
	if (!refused) {
		cs_say("cowscope: tracing is off in this process: cannot create its trace");
		return;
	}
	add(msg, &n, "cowscope: tracing is off: refusing run directory ", 60);
	add(msg, &n, P.out_dir, CS_PATH_MAX);
	add(msg, &n, ": ", 2);
	add(msg, &n, refused, 64);
	if (!P.opt.allow_shared_dir)
		add(msg, &n, " (COWSCOPE_ALLOW_SHARED_DIR=1 accepts it)", 64);
	cs_say(msg);
}

void cs_boot_init(void)
{
	static int once;
	int r;

	if (__atomic_exchange_n(&once, 1, __ATOMIC_ACQ_REL))
		return;
	P.pid = cs_prim_getpid();
	P.ppid = cs_prim_getppid();
	P.page_shift = shift_of(sysconf(_SC_PAGESIZE));
	P.start_ns = cs_prim_now_ns();
	P.role = CS_ROLE_ROOT;
	cs_options_load(&P.opt, env, warn_option);
	r = boot_steps();
	if (r < 0) {
		say_off();
		return;
	}
	P.ready = 1;
	/* Allocation sampling: buffers, stacks, modules; then the hooks start recording. */
	cs_sampling_start(P.opt.stack_depth, P.exe);
}

int cs_traced_here(void)
{
	return P.ready && cs_prim_getpid() == P.pid;
}

void cs_say(const char *msg)
{
	cs_prim_write_all(2, msg, strlen(msg));
	cs_prim_write_all(2, "\n", 1);
}

void cs_boot_become_child(uint8_t via, uint64_t parent_seq)
{
	P.pid = cs_prim_getpid();
	P.ppid = cs_prim_getppid();
	P.role = CS_ROLE_CHILD;
	P.fork_via = via;
	P.parent_fork_seq = parent_seq;
	P.start_ns = cs_prim_now_ns();
	bt.exit_status_known = 0;
	/* Without MADV_WIPEONFORK, take fresh scratch rather than copy the parent's. */
	if (!P.wipeonfork)
		P.arena = cs_prim_mmap_anon(CS_ARENA_BYTES);
}

void cs_boot_stop(void)
{
	P.ready = 0;
}

void cs_boot_note_exit(int status)
{
	bt.exit_status = status & 0xff; /* what a waiter sees (exit(3)); -1 stays "unknown" */
	bt.exit_status_known = 1;
}

/*
 * The constructor. The guard is held for all of start-up: libunwind's
 * warm-up and dl_iterate_phdr may allocate, and those allocations only forward.
 */
__attribute__((constructor)) static void cs_boot(void)
{
	if (!cs_guard_enter())
		return; /* a constructor run from inside the shim (dlopen from a hook): never */
	cs_boot_init();
	cs_guard_leave();
}

/* exit() and return from main end here, after the program's atexit handlers. */
__attribute__((destructor)) static void cs_fini(void)
{
	if (!cs_traced_here() || !cs_guard_enter())
		return;
	cs_modules_refresh();
	cs_finish(CS_END_EXIT, bt.exit_status_known ? bt.exit_status : -1);
	cs_boot_stop();
	cs_guard_leave();
}
