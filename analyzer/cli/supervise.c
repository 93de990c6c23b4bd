/* SPDX-License-Identifier: MIT */
/* Supervising a `cowscope run`: reap, follow process files as they grow, sample, stop. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "cowscope/trace_format.h"
#include "load_file.h"
#include "sampler.h"
#include "supervise.h"
#include "vec.h"
#include "writer.h"

#define SCAN_MAX_RECORDS 100000           /* per file per tick: bounded work on a huge file */
#define SAMPLE_SHARE 50                   /* sampling gets 1/50 (2%) of one CPU, over time */
#define SAMPLE_BURST_NS (50u * 1000000u)  /* the CPU it may spend ahead: 2% of 2.5 s */
#define PENDING_POLL_NS (5u * 1000000u)   /* a new child's file is read this often... */
#define PENDING_MAX_NS (2000u * 1000000u) /* ...for this long, until its fork snapshot is whole */
#define DESC_MAX 1000000                  /* descendants counted at most */

struct cs_seen {
	uint32_t pid;
	uint32_t gen;
	cs_head_t head; /* its process file, as read so far */
	bool done;      /* nothing left to do for it */
	bool identity_known;
	unsigned long long starttime; /* /proc/PID/stat field 22, once checked */
	cs_sampler_t *sampler;
	uint64_t seen_ns; /* when its file was first seen */
	uint64_t due_ns;  /* its next sample is due (0: at once) */
	uint64_t cost_ns; /* CPU time its last sample took */
	uint32_t nsamples;
};

uint64_t cs_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void put_record(cs_sup_t *s, const void *rec, size_t n)
{
	ssize_t w;

	do
		w = write(s->runfd, rec, n);
	while (w < 0 && errno == EINTR);
	if (w != (ssize_t)n)
		s->write_failed = true;
}

static void put_child_exit(cs_sup_t *s, pid_t pid, int status)
{
	cs_rec_child_exit_t r = { .h = { CS_REC_CHILD_EXIT, 0, sizeof(r) },
				  .pid = (uint32_t)pid,
				  .status = status,
				  .t_ns = cs_now_ns() };

	put_record(s, &r, sizeof(r));
}

static void reaped(cs_sup_t *s, pid_t pid, int status)
{
	put_child_exit(s, pid, status);
	if (pid != s->root)
		return;
	s->root_done = true;
	s->root_status = status;
	s->deadline_ns = cs_now_ns() + (uint64_t)s->linger_ms * 1000000u;
}

/* Reap every child that has ended; note when none is left at all. */
static int reap(cs_sup_t *s)
{
	int status;
	pid_t pid;

	for (;;) {
		pid = waitpid(-1, &status, WNOHANG | __WALL);
		if (pid > 0) {
			reaped(s, pid, status);
			continue;
		}
		if (pid == 0)
			return 0;
		if (errno == EINTR)
			continue;
		if (errno == ECHILD) {
			s->no_children = true;
			return 0;
		}
		return -errno;
	}
}

static void forward_signals(cs_sup_t *s)
{
	struct signalfd_siginfo si;

	while (read(s->sigfd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo != SIGTERM && si.ssi_signo != SIGHUP)
			continue;
		if (!s->root_done)
			kill(s->root, (int)si.ssi_signo);
		else
			s->deadline_ns = 0; /* lingering: stop waiting now */
	}
}

/* /proc/PID/stat field 22, the start time in clock ticks after boot. */
static int proc_starttime(uint32_t pid, unsigned long long *out)
{
	char path[64], buf[1024];
	const char *q;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%u/stat", (unsigned)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -ESRCH;
	buf[n] = 0;
	q = strrchr(buf, ')'); /* the command name may hold spaces and parentheses */
	for (int i = 0; q && i < 20; i++)
		q = strchr(q + 1, ' ');
	if (!q || sscanf(q + 1, "%llu", out) != 1)
		return -EINVAL;
	return 0;
}

/* CLOCK_BOOTTIME - CLOCK_MONOTONIC: time spent suspended. */
static uint64_t suspended_ns(void)
{
	struct timespec b, m;

	clock_gettime(CLOCK_BOOTTIME, &b);
	clock_gettime(CLOCK_MONOTONIC, &m);
	return (uint64_t)(b.tv_sec - m.tv_sec) * 1000000000u + (uint64_t)(b.tv_nsec - m.tv_nsec);
}

/*
 * Whether pid is still the process that wrote the trace: first time, it must
 * have started no later than the trace says it did (a reused pid starts
 * later); after that, its start time must not change.
 */
static bool same_process(cs_seen_t *e)
{
	unsigned long long t;
	long hz = sysconf(_SC_CLK_TCK);
	uint64_t boot_ns;

	if (proc_starttime(e->pid, &t) || hz <= 0)
		return false;
	if (e->identity_known)
		return t == e->starttime;
	boot_ns = (uint64_t)(t * (1000000000.0 / (double)hz));
	if (e->head.start_ns &&
	    boot_ns > e->head.start_ns + suspended_ns() + 3u * 1000000000u / (uint64_t)hz)
		return false;
	e->identity_known = true;
	e->starttime = t;
	return true;
}

static void close_sampler(cs_seen_t *e)
{
	cs_sampler_close(e->sampler);
	e->sampler = NULL;
}

static void finish(cs_seen_t *e)
{
	close_sampler(e);
	cs_head_free(&e->head);
	e->done = true;
}

/* A CS_REC_NOTE of code CS_NOTE_BLIND with its text, padded to 8. */
typedef struct blind_rec {
	cs_rec_note_t n;
	uint8_t text[2 + 320 + 6];
} blind_rec_t;

static uint32_t blind_note(blind_rec_t *r, const cs_seen_t *e, int err)
{
	char text[320];
	int n = snprintf(text, sizeof(text),
			 "cowscope run cannot read the page state of pid %u "
			 "from outside (/proc/%u: %s; a non-dumpable program, another user or a "
			 "restricted /proc): figures that need its samples are unknown",
			 (unsigned)e->pid, (unsigned)e->pid, strerror(err));
	uint16_t len = (uint16_t)(n < 0                              ? 0
					  : (size_t)n < sizeof(text) ? (size_t)n
								     : sizeof(text) - 1);

	memset(r, 0, sizeof(*r));
	memcpy(r->text, &len, 2);
	memcpy(r->text + 2, text, len);
	r->n.h.type = CS_REC_NOTE;
	r->n.h.size = (uint32_t)((sizeof(r->n) + 2 + len + 7) & ~7u);
	r->n.code = CS_NOTE_BLIND;
	r->n.err = err;
	return r->n.h.size;
}

/*
 * The sampler cannot read the process (EACCES, EPERM): say so with a
 * CS_NOTE_BLIND note in its samples file (made now if the sampler did not
 * get that far), so the report gives unknown figures a reason instead of 0.
 */
static void note_blind(cs_sup_t *s, const cs_seen_t *e, int err)
{
	char name[CS_NAME_MAX];
	blind_rec_t r;
	uint32_t n = blind_note(&r, e, err);
	cs_writer_t w = { .fd = -1 };
	int fd;

	if (cs_writer_create_gen(&w, s->dirfd, CS_FILE_SAMPLES, (int)e->pid, e->gen,
				 CS_SAMPLES_SUFFIX) == 0) {
		cs_writer_put(&w, &r, n);
		cs_writer_close(&w);
		return;
	}
	snprintf(name, sizeof(name), "%u.%u%s", (unsigned)e->pid, (unsigned)e->gen,
		 CS_SAMPLES_SUFFIX);
	fd = openat(s->dirfd, name, O_WRONLY | O_APPEND | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return;
	if (write(fd, &r, n) != (ssize_t)n)
		s->write_failed = true;
	close(fd);
}

static bool blind_err(int err)
{
	return err == -EACCES || err == -EPERM;
}

static void on_record(cs_head_t *h, uint16_t type, const cs_fixed_t *f)
{
	switch (type) {
	case CS_REC_PROC:
		h->have_proc = true;
		h->role = f->proc.role;
		h->start_ns = f->proc.start_ns;
		break;
	case CS_REC_BACKEND:
		h->backend = f->backend.chosen; /* the last one rules */
		break;
	case CS_REC_SNAP_BEGIN:
		h->fork_seq_known |= f->snap.reason == CS_SNAP_FORK;
		h->fork_seq = f->snap.reason == CS_SNAP_FORK ? f->snap.seq : h->fork_seq;
		break;
	case CS_REC_SNAP_END:
		h->fork_done |= h->fork_seq_known && f->snap_end.seq == h->fork_seq;
		break;
	case CS_REC_END:
	case CS_REC_RESUME:
		h->ended = type == CS_REC_END;
		break;
	}
}

int cs_head_follow(cs_head_t *h, int fd, const char *path, cs_diag_t *d)
{
	cs_fixed_t f;
	cs_rec_t r;
	cs_cur_t c;
	int got;

	if (!h->t.path && cs_trace_follow_init(&h->t, path)) {
		cs_diag_set(d, "out of memory reading %s", path);
		return -ENOMEM;
	}
	for (int i = 0; i < SCAN_MAX_RECORDS; i++) {
		got = cs_trace_follow(&h->t, fd, &r, d);
		if (got <= 0)
			return got;
		got = cs_rec_admit(&h->t, &r, &f, &c, d);
		if (got < 0)
			return got;
		if (got)
			on_record(h, r.type, &f);
	}
	return 0;
}

void cs_head_free(cs_head_t *h)
{
	cs_trace_close(&h->t);
}

static void scan_file(cs_seen_t *e, int dirfd, const char *name)
{
	int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	cs_diag_t d;

	if (fd < 0)
		return;
	if (cs_head_follow(&e->head, fd, name, &d) < 0)
		finish(e); /* not a trace we can follow: the report will say what is wrong */
	close(fd);
}

/* The entry for (pid, gen), inserted in order if new. O(log n) to find. */
static cs_seen_t *seen_get(cs_sup_t *s, uint32_t pid, uint32_t gen)
{
	size_t lo = 0, hi = s->nseen, mid;
	uint64_t key = (uint64_t)pid << 32 | gen, k;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		k = (uint64_t)s->seen[mid].pid << 32 | s->seen[mid].gen;
		if (k == key)
			return &s->seen[mid];
		if (k < key)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (CS_VEC_GROW(s->seen, s->nseen, s->capseen))
		return NULL;
	memmove(&s->seen[lo + 1], &s->seen[lo], (s->nseen - lo) * sizeof(*s->seen));
	s->nseen++;
	s->seen[lo] = (cs_seen_t){ .pid = pid, .gen = gen };
	return &s->seen[lo];
}

/* A newer image of pid exists: the older ones exec'd, stop sampling them. */
static void supersede(cs_sup_t *s, const cs_seen_t *e)
{
	for (const cs_seen_t *x = e; x-- > s->seen && x->pid == e->pid;)
		finish((cs_seen_t *)x);
}

static void maybe_sample(cs_sup_t *s, cs_seen_t *e)
{
	int err;

	if (e->head.ended || (e->head.have_proc && e->head.role != CS_ROLE_CHILD)) {
		finish(e);
		return;
	}
	if (e->sampler || !e->head.fork_done || e->head.backend == CS_BACKEND_NONE)
		return;
	if (!same_process(e)) {
		finish(e);
		return;
	}
	err = cs_sampler_open(&e->sampler, s->dirfd, (int)e->pid, e->gen, e->head.backend);
	if (err) {
		e->sampler = NULL;
		if (blind_err(err))
			note_blind(s, e, -err);
		finish(e);
	}
}

static bool parse_name(const char *name, uint32_t *pid, uint32_t *gen)
{
	unsigned p, g;
	int n = 0;

	if (name[0] < '0' || name[0] > '9' || sscanf(name, "%u.%u%n", &p, &g, &n) != 2)
		return false;
	*pid = p;
	*gen = g;
	return !strcmp(name + n, CS_TRACE_SUFFIX);
}

static void visit(cs_sup_t *s, const char *name)
{
	uint32_t pid, gen;
	cs_seen_t *e;

	if (!parse_name(name, &pid, &gen) || !(e = seen_get(s, pid, gen)))
		return;
	if (!e->seen_ns)
		e->seen_ns = cs_now_ns();
	supersede(s, e);
	if (e->done)
		return;
	scan_file(e, s->dirfd, name);
	if (!e->done)
		maybe_sample(s, e);
}

/* Follow every process file of the run directory. */
static void discover(cs_sup_t *s)
{
	int fd = openat(s->dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *dir = fd >= 0 ? fdopendir(fd) : NULL;
	struct dirent *de;

	if (!dir) {
		if (fd >= 0)
			close(fd);
		return;
	}
	while ((de = readdir(dir)))
		visit(s, de->d_name);
	closedir(dir);
}

/* A new child's file: its fork snapshot is not whole yet, and it was first seen recently. */
static bool pending(const cs_seen_t *e, uint64_t now)
{
	return !e->done && !e->sampler && now - e->seen_ns < PENDING_MAX_NS;
}

static bool any_pending(const cs_sup_t *s, uint64_t now)
{
	for (size_t i = 0; i < s->nseen; i++)
		if (pending(&s->seen[i], now))
			return true;
	return false;
}

/* Read the pending files again: a child is sampled as soon as its fork snapshot is whole. */
static void poll_pending(cs_sup_t *s, uint64_t now)
{
	char name[48];

	for (size_t i = 0; i < s->nseen; i++) {
		if (!pending(&s->seen[i], now))
			continue;
		snprintf(name, sizeof(name), "%u.%u%s", (unsigned)s->seen[i].pid,
			 (unsigned)s->seen[i].gen, CS_TRACE_SUFFIX);
		visit(s, name); /* an existing entry: s->seen does not move */
	}
}

/* inotify on the run directory for new files; -1 without (new files wait for discovery). */
static int watch_dir(int dirfd)
{
	char path[48];
	int fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);

	snprintf(path, sizeof(path), "/proc/self/fd/%d", dirfd);
	if (fd >= 0 && inotify_add_watch(fd, path, IN_CREATE) < 0) {
		close(fd);
		fd = -1;
	}
	return fd;
}

/* Visit the files inotify reports as created; an overflow means: discover now. */
static void read_created(cs_sup_t *s)
{
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	const struct inotify_event *ev;
	ssize_t n;

	while ((n = read(s->inofd, buf, sizeof(buf))) > 0) {
		for (char *p = buf; p < buf + n; p += sizeof(*ev) + ev->len) {
			ev = (const struct inotify_event *)p;
			if (ev->mask & IN_Q_OVERFLOW)
				s->next_discover_ns = 0;
			else if (ev->len)
				visit(s, ev->name);
		}
	}
	s->wake_ns = 0; /* a new child may be ready for its first sample */
}

/* CPU time of this thread (the supervisor has one), the kernel's share included. */
static uint64_t cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* 2% of the wall time since the last refill joins the budget, up to the burst. */
static void refill(cs_sup_t *s, uint64_t now)
{
	int64_t t = s->tokens_ns + (int64_t)((now - s->refill_ns) / SAMPLE_SHARE);

	s->refill_ns = now;
	s->tokens_ns = t > (int64_t)SAMPLE_BURST_NS ? (int64_t)SAMPLE_BURST_NS : t;
}

/*
 * A sample failed as if the process had exited (the sampler cannot tell): is
 * it in fact alive, with its /proc files closed to us (it became non-dumpable
 * after the sampler opened its pagemap)?
 */
static bool blind_now(const cs_seen_t *e)
{
	char path[48];
	int fd;

	if (!same_process((cs_seen_t *)e))
		return false;
	snprintf(path, sizeof(path), "/proc/%u/maps", (unsigned)e->pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		close(fd);
		return false;
	}
	return errno == EACCES || errno == EPERM;
}

static void sample_one(cs_sup_t *s, cs_seen_t *e)
{
	uint64_t start = cs_now_ns(), t0 = cpu_ns(), cost;
	int err = same_process(e) ? cs_sampler_take(e->sampler, NULL) : -ESRCH;

	cost = cpu_ns() - t0;
	s->tokens_ns -= (int64_t)cost;
	s->sample_ns += cost;
	if (err) {
		finish(e); /* -ESRCH: it exited; anything else: stop trying */
		if (blind_err(err) || (err == -ESRCH && blind_now(e)))
			note_blind(s, e, EACCES);
		return;
	}
	e->cost_ns = cost;
	e->nsamples++;
	e->due_ns = start + (uint64_t)s->interval_ms * 1000000u;
	s->samples++;
}

/* Fewest samples first, then the longest overdue. */
static int by_priority(const void *a, const void *b, void *arg)
{
	const cs_seen_t *v = arg, *x = &v[*(const size_t *)a], *y = &v[*(const size_t *)b];

	if (x->nsamples != y->nsamples)
		return x->nsamples < y->nsamples ? -1 : 1;
	return (x->due_ns > y->due_ns) - (x->due_ns < y->due_ns);
}

/* Indexes of the children due for a sample at now, in the order they get the budget. */
static size_t *due_list(const cs_sup_t *s, uint64_t now, size_t *n)
{
	size_t *v = malloc((s->nseen + 1) * sizeof(*v));

	*n = 0;
	for (size_t i = 0; v && i < s->nseen; i++)
		if (s->seen[i].sampler && s->seen[i].due_ns <= now)
			v[(*n)++] = i;
	if (v && *n > 1)
		qsort_r(v, *n, sizeof(*v), by_priority, s->seen);
	return v;
}

/* The budget a sample of e needs: any for a first one, else what its last one cost (<= burst). */
static int64_t need_ns(const cs_seen_t *e)
{
	if (!e->nsamples)
		return 1;
	return e->cost_ns < SAMPLE_BURST_NS ? (int64_t)e->cost_ns : (int64_t)SAMPLE_BURST_NS;
}

/*
 * Sample the children that are due, fewest samples first, while the budget
 * covers them. Returns when the budget will cover the first one left waiting,
 * or UINT64_MAX if none waits.
 */
static uint64_t sample_due(cs_sup_t *s, uint64_t now)
{
	size_t n, i, *v = due_list(s, now, &n);
	int64_t need = 0;

	refill(s, now);
	for (i = 0; v && i < n; i++) {
		need = need_ns(&s->seen[v[i]]);
		if (s->tokens_ns < need)
			break;
		sample_one(s, &s->seen[v[i]]);
	}
	free(v);
	if (!v || i == n)
		return UINT64_MAX;
	return cs_now_ns() + (uint64_t)(need - s->tokens_ns) * SAMPLE_SHARE;
}

/* The earliest due sample, not before the budget allows one (budget_ns). */
static uint64_t next_due(const cs_sup_t *s, uint64_t budget_ns)
{
	uint64_t t = UINT64_MAX;

	for (size_t i = 0; i < s->nseen; i++)
		if (s->seen[i].sampler && s->seen[i].due_ns < t)
			t = s->seen[i].due_ns;
	return t != UINT64_MAX && budget_ns != UINT64_MAX && t < budget_ns ? budget_ns : t;
}

/* Discovery when due (else the pending files), the due samples; sets when to come back. */
static void sampling_round(cs_sup_t *s)
{
	uint64_t now = cs_now_ns(), budget;

	if (now >= s->next_discover_ns) {
		discover(s);
		s->next_discover_ns = now + (uint64_t)s->interval_ms * 1000000u;
	} else {
		poll_pending(s, now);
	}
	budget = sample_due(s, cs_now_ns());
	s->wake_ns = next_due(s, budget);
	if (s->next_discover_ns < s->wake_ns)
		s->wake_ns = s->next_discover_ns;
	now = cs_now_ns();
	if (any_pending(s, now) && now + PENDING_POLL_NS < s->wake_ns)
		s->wake_ns = now + PENDING_POLL_NS;
}

static void sampling_init(cs_sup_t *s)
{
	uint64_t now = cs_now_ns();

	s->inofd = s->interval_ms ? watch_dir(s->dirfd) : -1;
	s->tokens_ns = SAMPLE_BURST_NS;
	s->refill_ns = now;
	s->next_discover_ns = now;
	s->wake_ns = now;
}

static void sampling_end(cs_sup_t *s)
{
	for (size_t i = 0; i < s->nseen; i++) {
		close_sampler(&s->seen[i]);
		cs_head_free(&s->seen[i].head);
	}
	free(s->seen);
	s->seen = NULL;
	s->nseen = s->capseen = 0;
	if (s->inofd >= 0)
		close(s->inofd);
	s->inofd = -1;
}

/* Children of every thread of pid, appended to *v. */
static int add_children(uint32_t pid, uint32_t **v, size_t *n, size_t *cap)
{
	char path[96];
	unsigned c;
	DIR *tasks;
	struct dirent *t;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%u/task", (unsigned)pid);
	tasks = opendir(path);
	if (!tasks)
		return -errno;
	while ((t = readdir(tasks)) && *n < DESC_MAX) {
		if (t->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/%u/task/%.20s/children", (unsigned)pid,
			 t->d_name);
		f = fopen(path, "re");
		while (f && fscanf(f, "%u", &c) == 1 && *n < DESC_MAX &&
		       !cs_vec_reserve((void **)v, cap, *n, 1, sizeof(**v)))
			(*v)[(*n)++] = c;
		if (f)
			fclose(f);
	}
	closedir(tasks);
	return 0;
}

/* Our live descendants (breadth first through /proc/PID/task/TID/children). */
static uint32_t count_descendants(const cs_sup_t *s)
{
	uint32_t *v = NULL, count = 0;
	size_t n = 0, cap = 0;
	bool ok = add_children((uint32_t)getpid(), &v, &n, &cap) == 0;

	for (size_t i = 0; ok && i < n; i++)
		add_children(v[i], &v, &n, &cap);
	free(v);
	if (ok)
		return (uint32_t)n;
	for (size_t i = 0; i < s->nseen; i++) /* no children files: count traced ones alive */
		count += s->seen[i].identity_known && kill((pid_t)s->seen[i].pid, 0) == 0;
	return count;
}

/* Sleep until a signal or a new file arrives, or timeout_ms passes (-1: no timeout). */
static void wait_event(cs_sup_t *s, int timeout_ms)
{
	struct pollfd p[2] = { { .fd = s->sigfd, .events = POLLIN },
			       { .fd = s->inofd, .events = POLLIN } };

	if (poll(p, s->inofd >= 0 ? 2 : 1, timeout_ms) <= 0)
		return;
	if (p[0].revents)
		forward_signals(s);
	if (s->inofd >= 0 && p[1].revents)
		read_created(s);
}

static int ms_until(uint64_t now, uint64_t t)
{
	uint64_t ms = t > now ? (t - now + 999999) / 1000000 : 0;

	return ms > 3600000 ? 3600000 : (int)ms;
}

/* How long to sleep: until sampling has work again, or the linger deadline. */
static int next_timeout(const cs_sup_t *s)
{
	uint64_t now = cs_now_ns();
	int t = s->interval_ms ? ms_until(now, s->wake_ns) : -1;
	int d = s->root_done ? ms_until(now, s->deadline_ns) : -1;

	if (t < 0 || (d >= 0 && d < t))
		return d;
	return t;
}

int cs_supervise(cs_sup_t *s)
{
	int err;

	sampling_init(s);
	for (;;) {
		err = reap(s);
		if (err || (s->root_done && s->no_children))
			break;
		if (s->root_done && cs_now_ns() >= s->deadline_ns) {
			s->still_running = count_descendants(s);
			break;
		}
		if (s->interval_ms && cs_now_ns() >= s->wake_ns)
			sampling_round(s);
		wait_event(s, next_timeout(s));
	}
	sampling_end(s);
	return err;
}
