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

/* Default run directory: cowscope.<program>.<pid> in the current directory. */
static void default_out(char *out)
{
	const char *base = strrchr(cs_st.exe, '/');
	size_t n;

	base = base ? base + 1 : "process";
	n = strlen(base) > 64 ? 64 : strlen(base);
	memcpy(out, "cowscope.", 9);
	memcpy(out + 9, base, n);
	out[9 + n] = '.';
	cs_utoa(out + 10 + n, (uint64_t)cs_st.pid);
}

/* Absolute run directory path in cs_st.out_dir. */
static int resolve_out(void)
{
	char rel[CS_PATH_MAX];
	size_t n;

	if (cs_st.opt.out[0])
		memcpy(rel, cs_st.opt.out, sizeof(rel));
	else
		default_out(rel);
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

/* Create (0700) or open the run directory; refuse a directory owned by someone else. */
static int open_out_dir(void)
{
	struct stat st;
	int r = cs_prim_mkdirat(AT_FDCWD, cs_st.out_dir, 0700), fd;

	if (r < 0 && r != -EEXIST)
		return r;
	fd = cs_prim_openat(AT_FDCWD, cs_st.out_dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC,
			    0);
	if (fd < 0)
		return fd;
	if (cs_prim_fstat(fd, &st) < 0 || st.st_uid != geteuid()) {
		cs_prim_close(fd);
		return -EPERM;
	}
	cs_st.dirfd = cs_prim_dupfd_high(fd);
	return 0;
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
	int r = cs_writer_create(&cs_st.w, cs_st.dirfd, CS_FILE_PROCESS, cs_st.pid, CS_TRACE_SUFFIX);

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
	cs_st.pagemap_fd = cs_prim_dupfd_high(
		cs_prim_openat(AT_FDCWD, "/proc/self/pagemap", O_RDONLY | O_CLOEXEC, 0));
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
	cs_st.alloc_on = 1;
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
		if (cs_st.opt.verbose)
			cs_say("cowscope: tracing is off in this process: cannot create its trace");
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
