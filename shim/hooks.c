/* SPDX-License-Identifier: MIT */
/* The interposers: fork family, exit family, exec family, wait family. They forward and record. */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include "cowscope/trace_format.h"
#include "prim.h"
#include "boot.h"
#include "events.h"
#include "fork.h"
#include "view.h"
#include "guard.h"

/* Interposers must stay visible although the shim builds with hidden visibility. */
#define CS_HOOK __attribute__((visibility("default")))

#define REAL_FUNCS(X)                                                            \
	X(pid_t, fork, (void))                                                   \
	X(pid_t, _Fork, (void))                                                  \
	X(void, exit, (int))                                                     \
	X(void, _exit, (int))                                                    \
	X(void, _Exit, (int))                                                    \
	X(int, execve, (const char *, char *const[], char *const[]))             \
	X(int, execv, (const char *, char *const[]))                             \
	X(int, execvp, (const char *, char *const[]))                            \
	X(int, execvpe, (const char *, char *const[], char *const[]))            \
	X(int, fexecve, (int, char *const[], char *const[]))                     \
	X(int, execveat, (int, const char *, char *const[], char *const[], int)) \
	X(pid_t, wait4, (pid_t, int *, int, struct rusage *))                    \
	X(int, waitid, (idtype_t, id_t, siginfo_t *, int))                       \
	X(int, pipe, (int[2]))                                                   \
	X(int, pipe2, (int[2], int))                                             \
	X(int, close, (int))                                                     \
	X(ssize_t, read, (int, void *, size_t))

#define X_PTR(ret, name, args) static ret(*real_##name) args;
REAL_FUNCS(X_PTR)
#undef X_PTR

/* Resolve the next definitions once; called at load and, if needed, on first use. */
static void resolve(void)
{
#define X_RESOLVE(ret, name, args) \
	if (!real_##name)          \
		*(void **)&real_##name = dlsym(RTLD_NEXT, #name);
	REAL_FUNCS(X_RESOLVE)
#undef X_RESOLVE
}

#define REAL(name) (real_##name ? real_##name : (resolve(), real_##name))

/* At load, under the guard (dlsym may allocate); resolved even if it is held. */
__attribute__((constructor(101))) static void resolve_at_load(void)
{
	int took = cs_guard_enter();

	resolve();
	if (took)
		cs_guard_leave();
}

/* Enter the shim from a hook that records: traced here, and not already inside the shim. */
static int enter(void)
{
	return !cs_guard_held() && cs_traced_here() && cs_guard_enter();
}

static void leave(void)
{
	cs_guard_leave();
}

/* ---- fork family ---- */

CS_HOOK pid_t fork(void)
{
	pid_t pid = REAL(fork)();

	if (pid != 0 && cs_traced_here())
		cs_view_forked(pid);
	if (pid > 0 && enter()) {
		cs_rec_fork(pid, CS_VIA_FORK, cs_fork_this_seq());
		cs_fork_gate_wait(pid);
		leave();
	}
	return pid;
}

/*
 * _Fork runs no atfork handlers: start the child here. The guard is held
 * around the real _Fork, so the child starts inside it and leaves it.
 */
CS_HOOK pid_t _Fork(void)
{
	int traced = enter();
	pid_t pid;

	if (traced) {
		cs_fork_number();
		cs_view_prepare();
	}
	pid = REAL(_Fork)();
	if (pid == 0 && traced)
		cs_fork_child_start(CS_VIA_UNDERSCORE_FORK);
	if (pid != 0 && traced)
		cs_view_forked(pid);
	if (traced)
		leave();
	if (pid > 0 && enter()) {
		cs_rec_fork(pid, CS_VIA_UNDERSCORE_FORK, cs_fork_this_seq());
		cs_fork_gate_wait(pid);
		leave();
	}
	return pid;
}

/* ---- exit family ---- */

/*
 * exit(): the process begins to exit. Its working snapshot comes first, before
 * the atexit handlers and destructors run (the exit snapshot, after them, is
 * taken by the shim's destructor). Return from main reaches libc's exit
 * without this interposer: such a process has no working snapshot of its own.
 */
CS_HOOK void exit(int status)
{
	if (enter()) {
		cs_boot_note_exit(status);
		cs_snapshot_work();
		leave();
	}
	REAL(exit)(status);
	__builtin_unreachable();
}

static void finish_now(int status)
{
	if (enter()) {
		cs_finish(CS_END__EXIT, status & 0xff); /* what a waiter sees; -1 is "unknown" */
		cs_boot_stop();
		leave();
	}
}

CS_HOOK void _exit(int status)
{
	finish_now(status);
	if (real__exit)
		real__exit(status);
	cs_prim_syscall6(SYS_exit_group, status, 0, 0, 0, 0, 0);
	__builtin_unreachable();
}

CS_HOOK void _Exit(int status)
{
	finish_now(status);
	if (real__Exit)
		real__Exit(status);
	cs_prim_syscall6(SYS_exit_group, status, 0, 0, 0, 0, 0);
	__builtin_unreachable();
}

/* ---- exec family: snapshot before the address space goes; resume if exec fails ---- */

static int before_exec(void)
{
	if (!enter())
		return 0;
	cs_finish(CS_END_EXEC, 0);
	leave();
	return 1;
}

/* The exec failed and the image goes on (ret is -1). */
static int after_exec(int traced, int ret)
{
	int err = errno;

	if (traced && cs_guard_enter()) {
		cs_rec_resume(err);
		cs_guard_leave();
	}
	errno = err;
	return ret;
}

CS_HOOK int execve(const char *path, char *const argv[], char *const envp[])
{
	int t = before_exec();

	return after_exec(t, REAL(execve)(path, argv, envp));
}

CS_HOOK int execv(const char *path, char *const argv[])
{
	int t = before_exec();

	return after_exec(t, REAL(execv)(path, argv));
}

CS_HOOK int execvp(const char *file, char *const argv[])
{
	int t = before_exec();

	return after_exec(t, REAL(execvp)(file, argv));
}

CS_HOOK int execvpe(const char *file, char *const argv[], char *const envp[])
{
	int t = before_exec();

	return after_exec(t, REAL(execvpe)(file, argv, envp));
}

CS_HOOK int fexecve(int fd, char *const argv[], char *const envp[])
{
	int t = before_exec();

	return after_exec(t, REAL(fexecve)(fd, argv, envp));
}

CS_HOOK int execveat(int dirfd, const char *path, char *const argv[], char *const envp[], int flags)
{
	int t = before_exec();

	return after_exec(t, REAL(execveat)(dirfd, path, argv, envp, flags));
}

/* Count the variadic arguments up to the terminating NULL (as glibc does, at most INT_MAX). */
static size_t count_args(const char *arg0, va_list ap)
{
	size_t n = 1;
	va_list aq;

	va_copy(aq, ap);
	if (arg0)
		while (va_arg(aq, const char *) && n < INT_MAX)
			n++;
	va_end(aq);
	return n;
}

/* Fill argv[0..n] from the variadic list, NULL-terminated; the NULL is consumed. */
static void fill_args(char **argv, size_t n, const char *arg0, va_list *ap)
{
	argv[0] = (char *)arg0;
	for (size_t i = 1; i < n; i++)
		argv[i] = va_arg(*ap, char *);
	argv[n] = NULL;
	if (arg0)
		(void)va_arg(*ap, char *);
}

enum exec_list_kind { EXEC_L, EXEC_LP, EXEC_LE };

/* execl, execlp and execle: gather the list into argv (and envp) and call the v-form hook. */
static int exec_list(enum exec_list_kind kind, const char *path, const char *arg0, va_list *ap)
{
	size_t n = count_args(arg0, *ap);
	char *const *envp;

	if (n >= INT_MAX) {
		errno = E2BIG; /* glibc's execl* refuse the same */
		return -1;
	}
	char *argv[n + 1];
	fill_args(argv, n, arg0, ap);
	if (kind == EXEC_L)
		return execv(path, argv);
	if (kind == EXEC_LP)
		return execvp(path, argv);
	envp = va_arg(*ap, char *const *);
	return execve(path, argv, envp);
}

CS_HOOK int execl(const char *path, const char *arg0, ...)
{
	va_list ap;
	int r;

	va_start(ap, arg0);
	r = exec_list(EXEC_L, path, arg0, &ap);
	va_end(ap);
	return r;
}

CS_HOOK int execlp(const char *file, const char *arg0, ...)
{
	va_list ap;
	int r;

	va_start(ap, arg0);
	r = exec_list(EXEC_LP, file, arg0, &ap);
	va_end(ap);
	return r;
}

CS_HOOK int execle(const char *path, const char *arg0, ...)
{
	va_list ap;
	int r;

	va_start(ap, arg0);
	r = exec_list(EXEC_LE, path, arg0, &ap);
	va_end(ap);
	return r;
}

/* ---- wait family: note how each child ended ---- */

static void note_status(pid_t pid, int status)
{
	if (pid > 0 && (WIFEXITED(status) || WIFSIGNALED(status)))
		cs_view_reaped(pid);
	if (pid > 0 && (WIFEXITED(status) || WIFSIGNALED(status)) && enter()) {
		cs_rec_child_exit(pid, status);
		leave();
	}
}

/* wait, waitpid and wait3 are wait4 with defaults: one path forwards to the real wait4. */
static pid_t reap(pid_t which, int *wstatus, int options, struct rusage *ru)
{
	int st = 0;
	pid_t pid = REAL(wait4)(which, &st, options, ru);

	note_status(pid, st);
	if (wstatus && pid > 0)
		*wstatus = st;
	return pid;
}

CS_HOOK pid_t wait(int *wstatus)
{
	return reap(-1, wstatus, 0, NULL);
}

CS_HOOK pid_t waitpid(pid_t which, int *wstatus, int options)
{
	return reap(which, wstatus, options, NULL);
}

CS_HOOK pid_t wait3(int *wstatus, int options, struct rusage *ru)
{
	return reap(-1, wstatus, options, ru);
}

CS_HOOK pid_t wait4(pid_t which, int *wstatus, int options, struct rusage *ru)
{
	return reap(which, wstatus, options, ru);
}

/* waitid reports through siginfo; turn it into a wait status. */
static int status_of(const siginfo_t *si)
{
	if (si->si_code == CLD_EXITED)
		return (si->si_status & 0xff) << 8;
	if (si->si_code == CLD_KILLED)
		return si->si_status & 0x7f;
	if (si->si_code == CLD_DUMPED)
		return (si->si_status & 0x7f) | 0x80;
	return 0xffff; /* stopped/continued: neither exited nor signalled */
}

CS_HOOK int waitid(idtype_t idtype, id_t id, siginfo_t *infop, int options)
{
	siginfo_t si;
	int r;

	memset(&si, 0, sizeof(si));
	r = REAL(waitid)(idtype, id, &si, options);
	if (r == 0 && si.si_pid > 0)
		note_status(si.si_pid, status_of(&si));
	if (infop && r == 0)
		*infop = si;
	return r;
}

/* ---- pipes ---- */

/*
 * The pipe handed to libunwind: its numbers and identities. libunwind 1.6.2
 * (src/x86_64/Ginit.c) validates an address, on the slow path of a step
 * through a frame without unwind info, by read(pipe[0]) then
 * syscall(SYS_write, pipe[1]); when the read fails it close()s both numbers
 * and makes a new pipe. If the program closed our ends (close_range, even
 * by a raw system call) and reused the numbers, that read would consume its
 * input, the write land in its file, and the close close its descriptor. So
 * read and close from inside the shim check the pipe's identity (two fstat
 * calls, only on that slow path; checking before every unwind cost exact mode
 * 4-5x): a read of an end that is not ours fails with EBADF, which makes
 * libunwind take a new pipe (ours, high), and a close of it is not done.
 */
static int unw_pipe[2] = { -1, -1 };
static cs_fd_id_t unw_pipe_id[2];

/*
 * A pipe asked for from inside the shim. The only caller is libunwind
 * (1.6.2, src/x86_64/Ginit.c): at its init and whenever a read of its pipe
 * fails, it calls pipe2 (ignoring the result) to validate addresses (read one
 * byte, write the address's byte). Taken low it shifted the program's
 * numbers (its first open() returned 5): both ends go high (>=
 * CS_PRIM_FD_MIN, close-on-exec). When that is impossible (RLIMIT_NOFILE) the
 * call fails with EMFILE and creates nothing; libunwind then cannot validate
 * and stacks come out empty (measured: failing the pipe always loses every
 * stack on 1.6.2), which is recorded as allocations without a stack.
 */
static int shim_pipe(int fds[2], int flags)
{
	int raw[2], r = cs_prim_pipe2(raw, flags | O_CLOEXEC);

	if (r < 0) {
		errno = -r;
		return -1;
	}
	raw[0] = cs_prim_fd_high(raw[0]);
	raw[1] = cs_prim_fd_high(raw[1]);
	if (raw[0] < 0 || raw[1] < 0 || cs_prim_fd_id(raw[0], &unw_pipe_id[0]) < 0 ||
	    cs_prim_fd_id(raw[1], &unw_pipe_id[1]) < 0) {
		for (int i = 0; i < 2; i++)
			if (raw[i] >= 0)
				cs_prim_close(raw[i]);
		errno = EMFILE;
		return -1;
	}
	unw_pipe[0] = fds[0] = raw[0];
	unw_pipe[1] = fds[1] = raw[1];
	return 0;
}

/* Whether fd is one of libunwind's pipe numbers but no longer the pipe we made. */
static int unw_pipe_lost(int fd)
{
	for (int i = 0; i < 2; i++)
		if (unw_pipe[i] >= 0 && fd == unw_pipe[i])
			return !cs_prim_fd_same(fd, &unw_pipe_id[i]);
	return 0;
}

CS_HOOK ssize_t read(int fd, void *buf, size_t n)
{
	if (cs_guard_held() && fd >= 0 && fd == unw_pipe[0] &&
	    (unw_pipe_lost(unw_pipe[0]) || unw_pipe_lost(unw_pipe[1]))) {
		errno = EBADF; /* libunwind then makes a new pipe: never the program's file */
		return -1;
	}
	return REAL(read)(fd, buf, n);
}

CS_HOOK int close(int fd)
{
	if (cs_guard_held() && unw_pipe_lost(fd))
		return 0; /* libunwind dropping a number the program holds now: leave it */
	return REAL(close)(fd);
}

CS_HOOK int pipe2(int fds[2], int flags)
{
	if (cs_guard_held())
		return shim_pipe(fds, flags);
	return REAL(pipe2)(fds, flags);
}

CS_HOOK int pipe(int fds[2])
{
	if (cs_guard_held())
		return shim_pipe(fds, 0);
	return REAL(pipe)(fds);
}
