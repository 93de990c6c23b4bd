/* SPDX-License-Identifier: MIT */
/* Raw system calls for the shim: no errno, no allocation, no locks. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/futex.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "prim.h"

#if defined(__x86_64__)
long cs_prim_syscall6(long nr, long a, long b, long c, long d, long e, long f)
{
	long ret;
	register long r10 __asm__("r10") = d;
	register long r8 __asm__("r8") = e;
	register long r9 __asm__("r9") = f;

	__asm__ volatile("syscall"
			 : "=a"(ret)
			 : "a"(nr), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
			 : "rcx", "r11", "memory");
	return ret;
}
#elif defined(__aarch64__)
long cs_prim_syscall6(long nr, long a, long b, long c, long d, long e, long f)
{
	register long x8 __asm__("x8") = nr;
	register long x0 __asm__("x0") = a;
	register long x1 __asm__("x1") = b;
	register long x2 __asm__("x2") = c;
	register long x3 __asm__("x3") = d;
	register long x4 __asm__("x4") = e;
	register long x5 __asm__("x5") = f;

	__asm__ volatile("svc 0"
			 : "+r"(x0)
			 : "r"(x8), "r"(x1), "r"(x2), "r"(x3), "r"(x4), "r"(x5)
			 : "memory");
	return x0;
}
#else
/* Portable fallback: syscall(2) sets errno, so save and restore it. */
long cs_prim_syscall6(long nr, long a, long b, long c, long d, long e, long f)
{
	int saved = errno;
	long ret = syscall(nr, a, b, c, d, e, f);

	if (ret == -1)
		ret = -errno;
	errno = saved;
	return ret;
}
#endif

#define SYS(nr, a, b, c, d) cs_prim_syscall6((nr), (long)(a), (long)(b), (long)(c), (long)(d), 0, 0)

int cs_prim_openat(int dirfd, const char *path, int flags, int mode)
{
	return (int)SYS(SYS_openat, dirfd, path, flags, mode);
}

int cs_prim_close(int fd)
{
	return (int)SYS(SYS_close, fd, 0, 0, 0);
}

long cs_prim_read(int fd, void *buf, size_t n)
{
	long r;

	do
		r = SYS(SYS_read, fd, buf, n, 0);
	while (r == -EINTR);
	return r;
}

long cs_prim_pread(int fd, void *buf, size_t n, uint64_t off)
{
	long r;

	do
		r = SYS(SYS_pread64, fd, buf, n, off);
	while (r == -EINTR);
	return r;
}

long cs_prim_write(int fd, const void *buf, size_t n)
{
	long r;

	do
		r = SYS(SYS_write, fd, buf, n, 0);
	while (r == -EINTR);
	return r;
}

long cs_prim_writev(int fd, const struct iovec *iov, int iovcnt)
{
	long r;

	do
		r = SYS(SYS_writev, fd, iov, iovcnt, 0);
	while (r == -EINTR);
	return r;
}

int cs_prim_ftruncate(int fd, uint64_t len)
{
	return (int)SYS(SYS_ftruncate, fd, len, 0, 0);
}

int cs_prim_write_all(int fd, const void *buf, size_t n)
{
	const char *p = buf;

	while (n > 0) {
		long r = SYS(SYS_write, fd, p, n, 0);

		if (r == -EINTR)
			continue;
		if (r < 0)
			return (int)r;
		if (r == 0)
			return -EIO;
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

long cs_prim_ioctl(int fd, unsigned long req, void *arg)
{
	return SYS(SYS_ioctl, fd, req, arg, 0);
}

int cs_prim_fstat(int fd, struct stat *st)
{
	return (int)SYS(SYS_newfstatat, fd, "", st, AT_EMPTY_PATH);
}

int cs_prim_dupfd_high(int fd)
{
	long r = SYS(SYS_fcntl, fd, F_DUPFD_CLOEXEC, CS_PRIM_FD_MIN, 0);

	if (r < 0)
		return fd;
	cs_prim_close(fd);
	return (int)r;
}

int cs_prim_fd_high(int fd)
{
	long r;

	if (fd < 0)
		return fd;
	r = SYS(SYS_fcntl, fd, F_DUPFD_CLOEXEC, CS_PRIM_FD_MIN, 0);
	cs_prim_close(fd);
	return r < 0 ? -EMFILE : (int)r;
}

int cs_prim_fd_id(int fd, cs_fd_id_t *id)
{
	struct stat st;
	int r = cs_prim_fstat(fd, &st);

	if (r < 0)
		return r;
	id->dev = st.st_dev;
	id->ino = st.st_ino;
	return 0;
}

int cs_prim_fd_same(int fd, const cs_fd_id_t *id)
{
	cs_fd_id_t now;

	return fd >= 0 && cs_prim_fd_id(fd, &now) == 0 && now.dev == id->dev && now.ino == id->ino;
}

void cs_prim_fd_drop(int *fd, const cs_fd_id_t *id)
{
	if (cs_prim_fd_same(*fd, id))
		cs_prim_close(*fd);
	*fd = -1;
}

/* "/proc/self/fd/" + a decimal number. */
static void fd_path(char *out, int fd)
{
	char digits[12];
	int n = 0;

	memcpy(out, "/proc/self/fd/", 14);
	do
		digits[n++] = (char)('0' + fd % 10);
	while ((fd /= 10) > 0);
	for (int i = 0; i < n; i++)
		out[14 + i] = digits[n - 1 - i];
	out[14 + n] = 0;
}

int cs_prim_fd_is_uffd(int fd)
{
	static const char want[] = "anon_inode:[userfaultfd]";
	char path[32], got[sizeof(want)];
	long n;

	if (fd < 0)
		return 0;
	fd_path(path, fd);
	n = cs_prim_readlink(path, got, sizeof(got));
	return n == (long)sizeof(want) - 1 && memcmp(got, want, sizeof(want) - 1) == 0;
}

int cs_prim_mkdirat(int dirfd, const char *path, int mode)
{
	return (int)SYS(SYS_mkdirat, dirfd, path, mode, 0);
}

long cs_prim_readlink(const char *path, char *buf, size_t n)
{
	return SYS(SYS_readlinkat, AT_FDCWD, path, buf, n);
}

static void *map_anon(size_t n, int extra)
{
	long r = cs_prim_syscall6(SYS_mmap, 0, (long)n, PROT_READ | PROT_WRITE,
				  MAP_PRIVATE | MAP_ANONYMOUS | extra, -1, 0);

	return (r < 0 && r > -4096) ? NULL : (void *)r;
}

void *cs_prim_mmap_anon(size_t n)
{
	return map_anon(n, 0);
}

void *cs_prim_mmap_reserve(size_t n)
{
	return map_anon(n, MAP_NORESERVE);
}

void *cs_prim_mmap_shared(size_t n)
{
	long r = cs_prim_syscall6(SYS_mmap, 0, (long)n, PROT_READ | PROT_WRITE,
				  MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	return (r < 0 && r > -4096) ? NULL : (void *)r;
}

int cs_prim_futex_wait(uint32_t *word, uint32_t val, uint64_t timeout_ns)
{
	struct timespec ts = { (time_t)(timeout_ns / 1000000000u),
			       (long)(timeout_ns % 1000000000u) };

	return (int)cs_prim_syscall6(SYS_futex, (long)word, FUTEX_WAIT, val, (long)&ts, 0, 0);
}

int cs_prim_futex_wake(uint32_t *word)
{
	return (int)cs_prim_syscall6(SYS_futex, (long)word, FUTEX_WAKE, INT_MAX, 0, 0, 0);
}

/* WNOWAIT: the child stays waitable for the program; nothing is reaped. */
int cs_prim_child_running(int pid)
{
	siginfo_t si;

	memset(&si, 0, sizeof(si));
	if (cs_prim_syscall6(SYS_waitid, P_PID, pid, (long)&si, WEXITED | WNOHANG | WNOWAIT, 0, 0) <
	    0)
		return 0;
	return si.si_pid == 0;
}

int cs_prim_munmap(void *p, size_t n)
{
	return (int)SYS(SYS_munmap, p, n, 0, 0);
}

int cs_prim_madvise(void *p, size_t n, int advice)
{
	return (int)SYS(SYS_madvise, p, n, advice, 0);
}

int cs_prim_mincore(void *p, size_t n, unsigned char *vec)
{
	return (int)SYS(SYS_mincore, p, n, vec, 0);
}

int cs_prim_getpid(void)
{
	return (int)SYS(SYS_getpid, 0, 0, 0, 0);
}

int cs_prim_getppid(void)
{
	return (int)SYS(SYS_getppid, 0, 0, 0, 0);
}

int cs_prim_getrusage_self(struct rusage *ru)
{
	return (int)SYS(SYS_getrusage, RUSAGE_SELF, ru, 0, 0);
}

int cs_prim_userfaultfd(int flags)
{
#ifdef SYS_userfaultfd
	return (int)SYS(SYS_userfaultfd, flags, 0, 0, 0);
#else
	return -ENOSYS;
#endif
}

int cs_prim_pipe2(int fds[2], int flags)
{
	return (int)SYS(SYS_pipe2, fds, flags, 0, 0);
}

uint64_t cs_prim_now_ns(void)
{
	struct timespec ts;

	/* vDSO clock_gettime: async-signal-safe and does not set errno on success. */
	if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
		return 0;
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* ---- PAGEMAP_SCAN: the only caller of the ioctl in the shim and the analyzer ---- */
#include "pagemap.h"

long cs_prim_pagemap_scan(int fd, struct pm_scan_arg *a)
{
	/* "fs/proc: check p->vec_buf for NULL" (2025-09): without a vector, 6.7+ oopses on THPs. */
	if (!a->vec || a->vec_len == 0)
		return -EINVAL;
	return cs_prim_ioctl(fd, PAGEMAP_SCAN, a);
}
