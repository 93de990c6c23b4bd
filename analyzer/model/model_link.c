/* SPDX-License-Identifier: MIT */
/* Linking a run: processes known only from others' records, how each ended, the tree. */
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "figures.h"
#include "model_link.h"
#include "sort.h"
#include "vec.h"

/* A process to add because another record names it. */
typedef struct want {
	uint32_t pid;
	uint32_t gen;
	int64_t ppid;
	uint8_t role;
	size_t order; /* keeps the first claim first after sorting */
} want_t;

typedef struct wants {
	want_t *v;
	size_t n, cap;
} wants_t;

/* Every reaped record of the run, sorted by (pid, time). */
typedef struct reaped_index {
	cs_reaped_t *v;
	size_t n, cap;
} reaped_index_t;

static int cmp_snap(const void *a, const void *b)
{
	const cs_snap_t *x = a, *y = b;

	if (x->t_ns != y->t_ns)
		return x->t_ns < y->t_ns ? -1 : 1;
	if (x->from_samples != y->from_samples)
		return x->from_samples ? 1 : -1;
	return (x->seq > y->seq) - (x->seq < y->seq);
}

static int cmp_pfnrun(const void *a, const void *b)
{
	const cs_pfnrun_t *x = a, *y = b;

	return (x->first_page > y->first_page) - (x->first_page < y->first_page);
}

static void normalize_snap(cs_snap_t *s)
{
	for (size_t i = 0; i < CS_NSETS; i++)
		cs_pageset_normalize(&s->sets[i]);
	cs_sort(s->pfns, s->npfns, sizeof(*s->pfns), cmp_pfnrun);
}

static void normalize_all(cs_model_t *m)
{
	for (size_t i = 0; i < m->nprocs; i++) {
		cs_proc_t *p = &m->procs[i];

		for (size_t k = 0; k < p->nsnaps; k++)
			normalize_snap(&p->snaps[k]);
		cs_sort(p->snaps, p->nsnaps, sizeof(*p->snaps), cmp_snap);
	}
}

/* Index of the first process with this pid (any gen), or -1. */
static long first_of_pid(const cs_model_t *m, uint32_t pid)
{
	size_t lo = 0, hi = m->nprocs, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (m->procs[mid].pid < pid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < m->nprocs && m->procs[lo].pid == pid ? (long)lo : -1;
}

/* Whether procs[i] is the last image of its process: no exec continuation follows. */
static bool last_gen(const cs_model_t *m, size_t i)
{
	return i + 1 == m->nprocs || m->procs[i + 1].pid != m->procs[i].pid ||
		!m->procs[i + 1].exec_image;
}

/* Before when the pid of procs[i] can have been reaped: the next process with that pid began. */
static uint64_t pid_free_until(const cs_model_t *m, size_t i)
{
	for (size_t k = i + 1; k < m->nprocs && m->procs[k].pid == m->procs[i].pid; k++)
		if (!m->procs[k].exec_image)
			return m->procs[k].has_proc ? m->procs[k].start_ns : UINT64_MAX;
	return UINT64_MAX;
}

static int want(wants_t *w, uint32_t pid, uint32_t gen, int64_t ppid, uint8_t role)
{
	if (CS_VEC_GROW(w->v, w->n, w->cap))
		return -ENOMEM;
	w->v[w->n] = (want_t){ pid, gen, ppid, role, w->n };
	w->n++;
	return 0;
}

static int cmp_want(const void *a, const void *b)
{
	const want_t *x = a, *y = b;

	if (x->pid != y->pid)
		return x->pid < y->pid ? -1 : 1;
	if (x->gen != y->gen)
		return x->gen < y->gen ? -1 : 1;
	return (x->order > y->order) - (x->order < y->order);
}

static bool present(const cs_model_t *m, const want_t *x, bool any_gen)
{
	return any_gen ? first_of_pid(m, x->pid) >= 0 : cs_model_find(m, x->pid, x->gen) >= 0;
}

/* Add each wanted process not yet in the model (first claim wins), then re-sort. */
static int add_wanted(cs_model_t *m, wants_t *w, bool any_gen)
{
	size_t n = 0;

	if (w->n > 1)
		qsort(w->v, w->n, sizeof(*w->v), cmp_want);
	for (size_t i = 0; i < w->n; i++) {
		const want_t *x = &w->v[i];

		if (i && x->pid == w->v[i - 1].pid && (any_gen || x->gen == w->v[i - 1].gen))
			continue;
		if (!present(m, x, any_gen))
			w->v[n++] = *x; /* searches stay on the sorted model until we append */
	}
	if (cs_vec_reserve((void **)&m->procs, &m->capprocs, m->nprocs, n, sizeof(*m->procs)))
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		cs_proc_t *p = &m->procs[m->nprocs++];

		*p = (cs_proc_t){ .pid = w->v[i].pid,
				  .gen = w->v[i].gen,
				  .ppid = w->v[i].ppid,
				  .role = w->v[i].role };
		cs_figures_init(&p->fig);
	}
	cs_model_sort(m);
	return 0;
}

static int wants_from_records(const cs_model_t *m, wants_t *w)
{
	const cs_runinfo_t *run = &m->run;
	int err = 0;

	for (size_t i = 0; i < m->nprocs && !err; i++) {
		const cs_proc_t *p = &m->procs[i];

		for (size_t k = 0; k < p->nforks && !err; k++)
			err = want(w, p->forks[k].child_pid, 0, p->pid, CS_ROLE_CHILD);
		for (size_t k = 0; k < p->nreaped && !err; k++) /* no FORK: spawned, not COW */
			err = want(w, p->reaped[k].pid, 0, p->pid, CS_ROLE_ROOT);
	}
	if (!err && run->has_run)
		err = want(w, run->root_pid, 0, run->sup_pid, CS_ROLE_ROOT);
	for (size_t k = 0; k < run->nreaped && !err; k++) {
		uint32_t pid = run->reaped[k].pid;
		bool root = run->has_run && pid == run->root_pid;

		err = want(w, pid, 0, root ? (int64_t)run->sup_pid : CS_UNKNOWN, CS_ROLE_ROOT);
	}
	return err;
}

static int cmp_reaped(const void *a, const void *b)
{
	const cs_reaped_t *x = a, *y = b;

	if (x->pid != y->pid)
		return x->pid < y->pid ? -1 : 1;
	return (x->t_ns > y->t_ns) - (x->t_ns < y->t_ns);
}

static int index_add(reaped_index_t *ri, const cs_reaped_t *v, size_t n)
{
	if (cs_vec_reserve((void **)&ri->v, &ri->cap, ri->n, n, sizeof(*ri->v)))
		return -ENOMEM;
	if (n)
		memcpy(ri->v + ri->n, v, n * sizeof(*v));
	ri->n += n;
	return 0;
}

static int index_reaped(const cs_model_t *m, reaped_index_t *ri)
{
	int err = index_add(ri, m->run.reaped, m->run.nreaped);

	for (size_t i = 0; i < m->nprocs && !err; i++)
		err = index_add(ri, m->procs[i].reaped, m->procs[i].nreaped);
	if (!err && ri->n > 1)
		qsort(ri->v, ri->n, sizeof(*ri->v), cmp_reaped);
	return err;
}

/* The last time pid was reaped in [after, before) ns, or NULL. O(log n + reaps of pid). */
static const cs_reaped_t *find_reaped(const reaped_index_t *ri, uint32_t pid, uint64_t after,
				      uint64_t before)
{
	const cs_reaped_t *found = NULL;
	size_t lo = 0, hi = ri->n, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (ri->v[mid].pid < pid)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (; lo < ri->n && ri->v[lo].pid == pid; lo++)
		if (ri->v[lo].t_ns >= after && ri->v[lo].t_ns < before)
			found = &ri->v[lo];
	return found;
}

/* Exec'd images that left no trace of their own but were reaped: gen + 1. */
static int wants_from_exec(const cs_model_t *m, const reaped_index_t *ri, wants_t *w)
{
	int err = 0;

	for (size_t i = 0; i < m->nprocs && !err; i++) {
		const cs_proc_t *p = &m->procs[i];

		if (!last_gen(m, i) || !p->has_end || p->end_how != CS_END_EXEC)
			continue;
		if (find_reaped(ri, p->pid, p->end_ns, UINT64_MAX))
			err = want(w, p->pid, p->gen + 1, p->ppid, CS_ROLE_ROOT);
	}
	return err;
}

static void from_end(cs_proc_t *p)
{
	static const int ended[] = {
		[CS_END_UNKNOWN] = CS_ENDED_UNKNOWN, [CS_END_EXIT] = CS_ENDED_EXIT,
		[CS_END__EXIT] = CS_ENDED__EXIT,     [CS_END_EXEC] = CS_ENDED_EXEC,
		[CS_END_SIGNAL] = CS_ENDED_SIGNAL,
	};

	p->ended = ended[p->end_how];
	/*
	 * The status a waiter sees (exit(3)): exit(300) is 44. -1 means unknown; older
	 * shims also wrote exit(-1) so, which a wait status may still fill in.
	 */
	if ((p->ended == CS_ENDED_EXIT || p->ended == CS_ENDED__EXIT) && p->end_status >= 0)
		p->exit_status = p->end_status & 0xff;
	if (p->ended == CS_ENDED_SIGNAL && p->end_status > 0)
		p->signal = p->end_status;
}

static void from_status(cs_proc_t *p, int status)
{
	if (WIFSIGNALED(status)) {
		p->ended = CS_ENDED_SIGNAL;
		p->signal = WTERMSIG(status);
	} else if (WIFEXITED(status)) {
		p->ended = CS_ENDED_EXIT;
		p->exit_status = WEXITSTATUS(status);
	}
}

/* The number a CS_NOTE_WRITE_LOST text gives ("...lost: N (...)"), or -1. */
static int64_t lost_count(const char *text)
{
	const char *at = text ? strstr(text, "lost: ") : NULL;
	char *end;
	long long n;

	if (!at)
		return -1;
	n = strtoll(at + 6, &end, 10);
	return end > at + 6 && n >= 0 ? n : -1;
}

/* Sum the process's CS_NOTE_WRITE_LOST notes into records_lost; the last one's errno. */
static int sum_lost(cs_proc_t *p)
{
	int err = 0;

	p->records_lost = 0;
	p->lost_records = false;
	for (size_t i = 0; i < p->nnotes; i++) {
		int64_t n = p->notes[i].code == CS_NOTE_WRITE_LOST ? lost_count(p->notes[i].text)
								   : 0;

		if (p->notes[i].code != CS_NOTE_WRITE_LOST)
			continue;
		p->lost_records = true;
		err = p->notes[i].err;
		p->records_lost = n < 0 || p->records_lost < 0 ? CS_UNKNOWN : p->records_lost + n;
	}
	return err;
}

/* "disk full (N records lost)", or the write error's name; in p->why_buf. */
static const char *why_lost(cs_proc_t *p, int err)
{
	char n[48] = "records lost";

	if (p->records_lost >= 0)
		snprintf(n, sizeof(n), "%lld record%s lost", (long long)p->records_lost,
			 p->records_lost == 1 ? "" : "s");
	if (err == ENOSPC)
		snprintf(p->why_buf, sizeof(p->why_buf), "disk full (%s)", n);
	else
		snprintf(p->why_buf, sizeof(p->why_buf), "trace writes failed: %s (%s)",
			 err > 0 ? strerror(err) : "unknown error", n);
	return p->why_buf;
}

static bool fd_closed(const cs_proc_t *p)
{
	for (size_t i = 0; i < p->nnotes; i++)
		if (p->notes[i].code == CS_NOTE_FD && p->notes[i].err == EBADF)
			return true;
	return false;
}

static const char *why_killed(cs_proc_t *p)
{
	const char *abbrev = p->signal > 0 ? sigabbrev_np(p->signal) : NULL;

	if (abbrev)
		snprintf(p->why_buf, sizeof(p->why_buf), "killed by SIG%s", abbrev);
	else
		snprintf(p->why_buf, sizeof(p->why_buf), "killed by a signal");
	return p->why_buf;
}

/* Why the process is not whole, in the words of docs/security.md; NULL if it is. */
static const char *why_incomplete(cs_proc_t *p)
{
	bool child = p->role == CS_ROLE_CHILD;
	int lost_err = sum_lost(p);

	if (!p->has_file)
		return "no trace file: known only from other processes' records";
	if (p->lost_records)
		return why_lost(p, lost_err);
	if (p->truncated)
		return "its trace was cut short";
	if (!p->has_end && p->ended == CS_ENDED_SIGNAL)
		return why_killed(p);
	if (!p->has_end && fd_closed(p))
		return "trace descriptor closed by the program";
	if (!p->has_end && p->running_now)
		return "no end record: still running when this report was made";
	if (!p->has_end && p->still_running)
		return "no end record (still running when cowscope stopped)";
	if (!p->has_end)
		return "no end record (killed, or still running)";
	if (child && cs_proc_blind(p) &&
	    (!cs_fork_snap(p) || cs_snap_blind(cs_fork_snap(p)) || !cs_final_snap(p)))
		return "blind: its page state could not be read (see notes)";
	if (child && !cs_fork_snap(p))
		return "no snapshot at fork";
	if (child && !cs_final_snap(p))
		return "no snapshot after the fork";
	return NULL;
}

/*
 * Whether process pid, which began at start_ns (CLOCK_MONOTONIC), runs now: /proc/PID/stat's
 * start time (clock ticks since boot, field 22, proc(5)) within a second of it. A suspended
 * machine shifts the two clocks apart: then a live process reads as not running.
 */
static bool alive_now(uint32_t pid, uint64_t start_ns)
{
	char path[32], buf[1024], *rp;
	unsigned long long ticks;
	long hz = sysconf(_SC_CLK_TCK);
	FILE *f;
	size_t n;
	double t;

	snprintf(path, sizeof(path), "/proc/%u/stat", pid);
	if (hz <= 0 || !(f = fopen(path, "re")))
		return false;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = 0;
	rp = strrchr(buf, ')'); /* the command may hold spaces and parentheses */
	if (!rp ||
	    sscanf(rp + 1,
		   " %*c"
		   "%*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s"
		   " %*s %*s %*s %*s %llu",
		   &ticks) != 1)
		return false;
	t = (double)ticks * 1e9 / (double)hz;
	return fabs(t - (double)start_ns) < 1e9;
}

/* The start of the process of image i: its exec chain's first image's. */
static uint64_t process_start(const cs_model_t *m, size_t i)
{
	while (i > 0 && m->procs[i].exec_image)
		i--;
	return m->procs[i].start_ns;
}

static void resolve_end(cs_model_t *m, size_t i, const reaped_index_t *ri)
{
	cs_proc_t *p = &m->procs[i];
	const cs_reaped_t *r =
		last_gen(m, i) ? find_reaped(ri, p->pid, p->start_ns, pid_free_until(m, i)) : NULL;

	p->ended = CS_ENDED_UNKNOWN;
	p->exit_status = p->signal = CS_UNKNOWN;
	if (p->has_end)
		from_end(p);
	else if (r)
		from_status(p, r->status);
	if (p->ended == CS_ENDED_EXIT && p->exit_status < 0 && r && WIFEXITED(r->status))
		p->exit_status = WEXITSTATUS(r->status); /* exit() with a status not seen */
	p->still_running = !p->has_end && !r && m->run.has_end && m->run.still_running > 0;
	p->running_now = !p->has_end && !r && last_gen(m, i) && p->has_proc &&
		alive_now(p->pid, process_start(m, i));
	p->incomplete = why_incomplete(p);
	p->complete = !p->incomplete;
}

/* The generation of ppid that forked p: the one with the FORK record, else by time. */
static long parent_gen(const cs_model_t *m, const cs_proc_t *p)
{
	long first = first_of_pid(m, (uint32_t)p->ppid), best = first;

	for (long k = first; k >= 0 && (size_t)k < m->nprocs && m->procs[k].pid == p->ppid; k++) {
		const cs_proc_t *q = &m->procs[k];

		for (size_t f = 0; f < q->nforks; f++)
			if (q->forks[f].child_pid == p->pid)
				return k;
		if (q->has_proc && p->has_proc && q->start_ns <= p->start_ns)
			best = k;
	}
	return best;
}

/*
 * Cut cycles that forged ppids can make: walk up from each node, marking the
 * path; meeting the path again means a cycle, cut at the node we came from.
 * O(n): each node is walked once.
 */
static int cut_cycles(cs_model_t *m)
{
	uint8_t *state = calloc(m->nprocs + 1, 1); /* 0 new, 1 on the path, 2 done */
	long x, prev;

	if (!state)
		return -ENOMEM;
	for (size_t i = 0; i < m->nprocs; i++) {
		for (x = (long)i, prev = -1; x >= 0 && state[x] == 0;
		     prev = x, x = m->procs[x].parent)
			state[x] = 1;
		if (x >= 0 && state[x] == 1)
			m->procs[prev].parent = -1;
		for (x = (long)i; x >= 0 && state[x] == 1; x = m->procs[x].parent)
			state[x] = 2;
	}
	free(state);
	return 0;
}

/*
 * Whether procs[i] (gen N > 0) is an exec continuation of procs[i - 1] (gen
 * N - 1): that image ended by exec (or left no END), this one did not begin
 * before the exec, and the pid was not reaped in between. Otherwise the shim
 * took the next free gen for a new process that got a reused pid.
 */
static bool continues(const cs_model_t *m, size_t i, const reaped_index_t *ri)
{
	const cs_proc_t *p = &m->procs[i], *q = i ? &m->procs[i - 1] : NULL;

	if (!q || p->gen == 0 || q->pid != p->pid || q->gen + 1 != p->gen)
		return false;
	if (q->has_end && q->end_how != CS_END_EXEC)
		return false;
	if (!p->has_proc || !q->has_proc)
		return true; /* nothing to tell them apart by */
	if (p->start_ns < (q->has_end ? q->end_ns : q->start_ns))
		return false;
	return !find_reaped(ri, p->pid, q->start_ns, p->start_ns);
}

/* Tell exec continuations from reused pids; number the images of each exec chain. */
static void link_images(cs_model_t *m, const reaped_index_t *ri)
{
	for (size_t i = 0; i < m->nprocs; i++) {
		cs_proc_t *p = &m->procs[i];

		p->exec_image = continues(m, i, ri);
		p->exec_no = p->exec_image ? m->procs[i - 1].exec_no + 1 : 0;
		p->pid_reused = p->gen > 0 && !p->exec_image;
	}
}

static int link_tree(cs_model_t *m)
{
	for (size_t i = 0; i < m->nprocs; i++) {
		cs_proc_t *p = &m->procs[i];

		p->parent = -1;
		if (p->exec_image)
			p->parent = (long)i - 1;
		else if (p->ppid >= 0 && p->ppid <= UINT32_MAX && p->ppid != p->pid)
			p->parent = parent_gen(m, p);
	}
	return cut_cycles(m);
}

static void find_root(cs_model_t *m)
{
	m->root = -1;
	if (m->run.has_run)
		m->root = cs_model_find(m, m->run.root_pid, 0);
	for (size_t i = 0; m->root < 0 && i < m->nprocs; i++)
		if (m->procs[i].role == CS_ROLE_ROOT && m->procs[i].parent < 0)
			m->root = (long)i;
}

/* Processes whose PROC record is missing are children if a FORK names them. */
static void roles_from_forks(cs_model_t *m)
{
	for (size_t i = 0; i < m->nprocs; i++) {
		const cs_proc_t *p = &m->procs[i];

		for (size_t k = 0; k < p->nforks; k++) {
			long c = cs_model_find(m, p->forks[k].child_pid, 0);

			if (c >= 0 && !m->procs[c].has_proc) {
				m->procs[c].role = CS_ROLE_CHILD;
				m->procs[c].ppid = p->pid;
			}
		}
	}
}

static int add_known_only(cs_model_t *m, reaped_index_t *ri)
{
	wants_t w = { 0 };
	int err = wants_from_records(m, &w);

	if (!err)
		err = add_wanted(m, &w, true);
	if (!err)
		err = index_reaped(m, ri);
	w.n = 0;
	if (!err)
		err = wants_from_exec(m, ri, &w);
	if (!err)
		err = add_wanted(m, &w, false);
	free(w.v);
	return err;
}

int cs_model_link(cs_model_t *m, cs_diag_t *d)
{
	reaped_index_t ri = { 0 };
	int err;

	normalize_all(m);
	cs_model_sort(m);
	roles_from_forks(m);
	err = add_known_only(m, &ri);
	if (err) {
		cs_diag_set(d, "out of memory");
		goto out;
	}
	link_images(m, &ri);
	for (size_t i = 0; i < m->nprocs; i++)
		resolve_end(m, i, &ri);
	err = link_tree(m);
	if (err) {
		cs_diag_set(d, "out of memory");
		goto out;
	}
	find_root(m);
out:
	free(ri.v);
	return err;
}
