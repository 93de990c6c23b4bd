/* SPDX-License-Identifier: MIT */
/* The shim's OS layer: raw system calls that never touch errno and never allocate. */
#ifndef CS_PRIM_H
#define CS_PRIM_H

/*
 * Contract for every cs_prim_* function: it returns a result >= 0 or -errno,
 * leaves the thread's errno alone (hooks must not change what the program
 * sees), takes no lock and allocates nothing. All are hook-safe and
 * fork-child-safe (async-signal-safe).
 */

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct stat;
struct rusage;

long cs_prim_syscall6(long nr, long a, long b, long c, long d, long e, long f);

int cs_prim_openat(int dirfd, const char *path, int flags, int mode);
int cs_prim_close(int fd);
long cs_prim_read(int fd, void *buf, size_t n);
long cs_prim_pread(int fd, void *buf, size_t n, uint64_t off);

/* One write(2), retrying EINTR: bytes written or -errno. */
long cs_prim_write(int fd, const void *buf, size_t n);

/* One writev(2) of iovcnt buffers, retrying EINTR: bytes written or -errno. */
struct iovec;
long cs_prim_writev(int fd, const struct iovec *iov, int iovcnt);

/* ftruncate(2). */
int cs_prim_ftruncate(int fd, uint64_t len);

/* Write all n bytes, retrying short writes and EINTR. 0 or -errno. */
int cs_prim_write_all(int fd, const void *buf, size_t n);

long cs_prim_ioctl(int fd, unsigned long req, void *arg);
int cs_prim_fstat(int fd, struct stat *st);
int cs_prim_dupfd_high(int fd); /* F_DUPFD_CLOEXEC to >= CS_PRIM_FD_MIN, or fd as is */

/*
 * Move fd to a close-on-exec descriptor >= CS_PRIM_FD_MIN, out of the numbers
 * a program counts on. When that is impossible (RLIMIT_NOFILE at or below
 * CS_PRIM_FD_MIN, or the table full), close fd and return -EMFILE: the shim
 * never keeps a descriptor the program could have had. fd < 0 is returned as is.
 */
int cs_prim_fd_high(int fd);

/* A kept descriptor's identity, taken when it was opened: device and inode. */
typedef struct cs_fd_id {
	uint64_t dev;
	uint64_t ino;
} cs_fd_id_t;

/* Remember fd's identity in *id. 0 or -errno. */
int cs_prim_fd_id(int fd, cs_fd_id_t *id);

/*
 * 1 if fd is open and still refers to the file *id names (the program may
 * have closed it and reused the number: close_range, closefrom, dup2), else 0.
 * One fstat.
 */
int cs_prim_fd_same(int fd, const cs_fd_id_t *id);

/*
 * Close fd only if it is still the file *id names; then fd is forgotten
 * either way (*fd = -1). Never closes a descriptor the program reused.
 */
void cs_prim_fd_drop(int *fd, const cs_fd_id_t *id);

/* 1 if fd is a userfaultfd ("anon_inode:[userfaultfd]" in /proc/self/fd), else 0. */
int cs_prim_fd_is_uffd(int fd);
int cs_prim_mkdirat(int dirfd, const char *path, int mode);
long cs_prim_readlink(const char *path, char *buf, size_t n);

/* Anonymous private read-write memory; NULL on failure. */
void *cs_prim_mmap_anon(size_t n);

/* The same with MAP_NORESERVE: address space whose pages cost memory once touched. */
void *cs_prim_mmap_reserve(size_t n);
int cs_prim_munmap(void *p, size_t n);

/* Anonymous MAP_SHARED read-write memory, shared with every later fork child; NULL on failure. */
void *cs_prim_mmap_shared(size_t n);

/* FUTEX_WAIT (process-shared) on *word while it holds val, at most timeout_ns. 0 or -errno. */
int cs_prim_futex_wait(uint32_t *word, uint32_t val, uint64_t timeout_ns);

/* FUTEX_WAKE (process-shared) every waiter on *word. Woken count or -errno. */
int cs_prim_futex_wake(uint32_t *word);

/* 1 if child pid has not ended (or was not waited for), 0 if it ended or is not ours. */
int cs_prim_child_running(int pid);
int cs_prim_madvise(void *p, size_t n, int advice);
int cs_prim_mincore(void *p, size_t n, unsigned char *vec);

int cs_prim_getpid(void);
int cs_prim_getppid(void);
int cs_prim_getrusage_self(struct rusage *ru);
int cs_prim_userfaultfd(int flags);
int cs_prim_pipe2(int fds[2], int flags);

/* CLOCK_MONOTONIC in ns. */
uint64_t cs_prim_now_ns(void);

#define CS_PRIM_FD_MIN 700

/* A spin-wait hint to the CPU. */
static inline void cs_prim_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ volatile("yield");
#endif
}

#endif
