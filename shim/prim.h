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

/* Write all n bytes, retrying short writes and EINTR. 0 or -errno. */
int cs_prim_write_all(int fd, const void *buf, size_t n);

long cs_prim_ioctl(int fd, unsigned long req, void *arg);
int cs_prim_fstat(int fd, struct stat *st);
int cs_prim_dupfd_high(int fd); /* F_DUPFD_CLOEXEC to >= CS_PRIM_FD_MIN, or fd as is */
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
