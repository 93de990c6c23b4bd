/* SPDX-License-Identifier: MIT */
/* How a report tells a run: exec chains, sibling groups in fork order, roles, significance. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "story.h"

#define MIB (1024.0 * 1024.0)

/* ---- names ------------------------------------------------------------------------------ */

static const char *const sort_names[] = {
	[CS_SORT_AUTO] = "auto",         [CS_SORT_COPIED] = "copied",
	[CS_SORT_UNSHARED] = "unshared", [CS_SORT_PUNSHARED] = "parent-unshared",
	[CS_SORT_NEW] = "new",
};

const char *cs_sort_name(int sort)
{
	return sort >= 0 && sort <= CS_SORT_NEW ? sort_names[sort] : "?";
}

const char *cs_sib_noun(const cs_sib_t *g)
{
	return g->concurrent ? "workers" : "children";
}

int cs_sort_parse(const char *s, int *sort)
{
	for (int i = 0; i <= CS_SORT_NEW; i++)
		if (!strcmp(s, sort_names[i])) {
			*sort = i;
			return 0;
		}
	return -EINVAL;
}

/* Launchers whose first operand, when it is not an option, names the program. */
static const char *const interpreters[] = { "python", "ruby", "perl", "node", "sh", "bash",
					    "dash",   "php",  "lua",  "env",  NULL };

static bool interpreter(const char *name)
{
	for (size_t i = 0; interpreters[i]; i++) {
		size_t n = strlen(interpreters[i]);

		/* python3, python3.11, ruby3.1: the name, then digits and dots */
		if (!strncmp(name, interpreters[i], n) &&
		    strspn(name + n, "0123456789.") == strlen(name + n))
			return true;
	}
	return false;
}

/* The basename of the n bytes at s, into buf. */
static void base_of(const char *s, size_t n, char *buf, size_t size)
{
	const char *slash = memrchr(s, '/', n);

	if (slash) {
		n -= (size_t)(slash + 1 - s);
		s = slash + 1;
	}
	snprintf(buf, size, "%.*s", (int)n, s);
}

char *cs_program_name(const char *cmdline, size_t len, char *buf, size_t size)
{
	size_t n0 = cmdline ? strnlen(cmdline, len) : 0;
	const char *a1 = n0 + 1 < len ? cmdline + n0 + 1 : NULL;

	if (!n0) {
		snprintf(buf, size, "?");
		return buf;
	}
	base_of(cmdline, n0, buf, size);
	/* `env bash script`, `python3 app.py`: the operand the launcher runs */
	while (a1 && a1[0] && a1[0] != '-' && interpreter(buf)) {
		size_t n1 = strnlen(a1, len - (size_t)(a1 - cmdline));

		base_of(a1, n1, buf, size);
		a1 = a1 + n1 + 1 < cmdline + len ? a1 + n1 + 1 : NULL;
	}
	return buf;
}

/* ---- figures ---------------------------------------------------------------------------- */

static bool measured(const cs_proc_t *p)
{
	return p->role == CS_ROLE_CHILD && p->fig.shared_at_fork >= 0 && p->fig.child_new >= 0;
}

static double pages_or_nan(int64_t v)
{
	return v >= 0 ? (double)v : NAN;
}

double cs_story_key(const cs_proc_t *p, int sort)
{
	const cs_figures_t *f = &p->fig;

	switch (sort) {
	case CS_SORT_UNSHARED:
		return pages_or_nan(f->unshared);
	case CS_SORT_PUNSHARED:
		return pages_or_nan(f->parent_unshared);
	case CS_SORT_NEW:
		return pages_or_nan(f->child_new);
	default: /* copied; unshared where the backend cannot split */
		return f->child_copied >= 0 ? (double)f->child_copied : pages_or_nan(f->unshared);
	}
}

/* The larger of a child's shared-at-fork and child-new bytes: how much there is to read. */
static double weight_bytes(const cs_proc_t *p)
{
	double s = p->fig.shared_at_fork > 0 ? (double)p->fig.shared_at_fork : 0;
	double n = p->fig.child_new > 0 ? (double)p->fig.child_new : 0;

	return (s > n ? s : n) * (p->page_size ? p->page_size : 4096);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* The spread of v[0..n) (NaN entries are unknown: then sum is NaN). v is sorted. */
static void spread_of(double *v, size_t n, cs_spread_t *s)
{
	size_t k = 0;

	s->sum = 0;
	for (size_t i = 0; i < n; i++) {
		if (isnan(v[i]))
			s->sum = NAN;
		else
			v[k++] = v[i], s->sum += v[i];
	}
	if (!n)
		s->sum = NAN;
	if (!k) {
		s->min = s->median = s->max = NAN;
		return;
	}
	qsort(v, k, sizeof(*v), cmp_double);
	s->min = v[0];
	s->max = v[k - 1];
	s->median = k % 2 ? v[k / 2] : (v[k / 2 - 1] + v[k / 2]) / 2;
}

/* ---- times ------------------------------------------------------------------------------ */

static double run_start_ns(const cs_model_t *m)
{
	double t = NAN;

	if (m->run.has_run && m->run.start_ns)
		return (double)m->run.start_ns;
	if (m->root >= 0 && m->procs[m->root].has_proc)
		return (double)m->procs[m->root].start_ns;
	for (size_t i = 0; i < m->nprocs; i++)
		if (m->procs[i].has_proc && (isnan(t) || (double)m->procs[i].start_ns < t))
			t = (double)m->procs[i].start_ns;
	return t;
}

/*
 * When child i was forked (CLOCK_MONOTONIC ns): its parent's FORK record, else its own
 * start. The parent's records are in fork order; children that start at once may write
 * their own start times in another order.
 */
static double fork_ns(const cs_model_t *m, size_t i)
{
	const cs_proc_t *p = &m->procs[i];

	if (p->parent >= 0) {
		const cs_proc_t *q = &m->procs[p->parent];

		for (size_t k = 0; k < q->nforks; k++)
			if (q->forks[k].child_pid == p->pid)
				return (double)q->forks[k].t_ns;
	}
	if (p->has_proc && p->start_ns)
		return (double)p->start_ns;
	return NAN;
}

/* When the process of image i ended (the last image of its chain), NaN if unknown. */
static double end_ns(const cs_model_t *m, const cs_story_t *s, size_t i)
{
	const cs_proc_t *l = &m->procs[s->p[i].chain_last], *p = &m->procs[i];

	if (l->has_end && l->end_how != CS_END_EXEC)
		return (double)l->end_ns;
	if (p->parent >= 0) {
		const cs_proc_t *q = &m->procs[p->parent];

		for (size_t k = 0; k < q->nreaped; k++)
			if (q->reaped[k].pid == p->pid && q->reaped[k].t_ns >= p->start_ns)
				return (double)q->reaped[k].t_ns;
	}
	return NAN;
}

static double since(double t_ns, double start_ns)
{
	return isnan(t_ns) || isnan(start_ns) ? NAN : (t_ns - start_ns) / 1e9;
}

/* ---- exec chains ------------------------------------------------------------------------ */

static void chains(const cs_model_t *m, cs_story_t *s)
{
	for (size_t i = 0; i < m->nprocs; i++)
		s->p[i].chain_first = m->procs[i].exec_image ? s->p[i - 1].chain_first : (long)i;
	for (size_t i = m->nprocs; i-- > 0;) {
		bool next = i + 1 < m->nprocs && m->procs[i + 1].exec_image;

		s->p[i].chain_last = next ? s->p[i + 1].chain_last : (long)i;
		s->p[i].execs = next ? 0 : m->procs[i].exec_no;
	}
}

/* ---- sibling groups --------------------------------------------------------------------- */

typedef struct kid {
	size_t i;
	long parent;
	int64_t ppid;
	size_t phase; /* children forked in different phases are not one group */
	const char *cmd;
	size_t len;
	double fork_ns;
} kid_t;

static int cmp_cmd(const kid_t *a, const kid_t *b)
{
	size_t n = a->len < b->len ? a->len : b->len;
	int c = n ? memcmp(a->cmd, b->cmd, n) : 0;

	return c ? c : (a->len > b->len) - (a->len < b->len);
}

static int cmp_time(double a, double b)
{
	if (isnan(a) || isnan(b))
		return isnan(a) - isnan(b);
	return (a > b) - (a < b);
}

static int cmp_kid(const void *va, const void *vb)
{
	const kid_t *a = va, *b = vb;
	int c;

	if (a->parent != b->parent)
		return a->parent < b->parent ? -1 : 1;
	if (a->ppid != b->ppid)
		return a->ppid < b->ppid ? -1 : 1;
	if (a->phase != b->phase)
		return a->phase < b->phase ? -1 : 1;
	if ((c = cmp_cmd(a, b)))
		return c;
	if ((c = cmp_time(a->fork_ns, b->fork_ns)))
		return c;
	return a->i < b->i ? -1 : a->i > b->i;
}

static int cmp_sib(const void *va, const void *vb)
{
	const cs_sib_t *a = va, *b = vb;
	int c;

	if (a->parent != b->parent)
		return a->parent < b->parent ? -1 : 1;
	if (a->ppid != b->ppid)
		return a->ppid < b->ppid ? -1 : 1;
	if ((c = cmp_time(a->first_fork_s, b->first_fork_s)))
		return c;
	return a->members[0] < b->members[0] ? -1 : a->members[0] > b->members[0];
}

static bool same_group(const kid_t *a, const kid_t *b)
{
	return a->parent == b->parent && a->ppid == b->ppid && a->phase == b->phase &&
		!cmp_cmd(a, b);
}

static int collect_kids(const cs_model_t *m, kid_t **out, size_t *n)
{
	kid_t *v = malloc((m->nprocs + 1) * sizeof(*v));

	*n = 0;
	if (!v)
		return -ENOMEM;
	for (size_t i = 0; i < m->nprocs; i++) {
		const cs_proc_t *p = &m->procs[i];

		if (p->role != CS_ROLE_CHILD || p->exec_image)
			continue;
		v[(*n)++] = (kid_t){ .i = i,
				     .parent = p->parent,
				     .ppid = p->ppid,
				     .phase = p->phase,
				     .cmd = p->cmdline ? p->cmdline : "",
				     .len = p->cmdline_len,
				     .fork_ns = fork_ns(m, i) };
	}
	qsort(v, *n, sizeof(*v), cmp_kid);
	*out = v;
	return 0;
}

static int make_sibs(cs_story_t *s, const kid_t *k, size_t n)
{
	s->sibs = calloc(n + 1, sizeof(*s->sibs));
	if (!s->sibs)
		return -ENOMEM;
	for (size_t a = 0, b; a < n; a = b) {
		cs_sib_t *g = &s->sibs[s->nsibs++];

		for (b = a + 1; b < n && same_group(&k[a], &k[b]); b++)
			;
		*g = (cs_sib_t){ .parent = k[a].parent,
				 .ppid = k[a].ppid,
				 .cmd = k[a].cmd,
				 .cmd_len = k[a].len,
				 .worst = -1,
				 .first_fork_s = since(k[a].fork_ns, s->start_ns) };
		g->members = malloc((b - a) * sizeof(*g->members));
		if (!g->members)
			return -ENOMEM;
		for (size_t j = a; j < b; j++)
			g->members[g->n++] = k[j].i;
	}
	qsort(s->sibs, s->nsibs, sizeof(*s->sibs), cmp_sib);
	return 0;
}

/* The spreads of a group's measured members. */
static int sib_figures(const cs_model_t *m, const cs_story_t *s, cs_sib_t *g)
{
	double *v = malloc((g->n + 1) * 6 * sizeof(*v));
	double *sh = v, *cp = sh + g->n, *pu = cp + g->n, *un = pu + g->n, *nw = un + g->n,
	       *rt = nw + g->n, best = -1;

	if (!v)
		return -ENOMEM;
	for (size_t j = 0; j < g->n; j++) {
		const cs_proc_t *p = &m->procs[g->members[j]];
		size_t k = g->measured;
		double key;

		if (!measured(p))
			continue;
		sh[k] = pages_or_nan(p->fig.shared_at_fork);
		cp[k] = pages_or_nan(p->fig.child_copied);
		pu[k] = pages_or_nan(p->fig.parent_unshared);
		un[k] = pages_or_nan(p->fig.unshared);
		nw[k] = pages_or_nan(p->fig.child_new);
		rt[k] = p->fig.share_retained;
		g->measured++;
		key = cs_story_key(p, s->dominant);
		if (!isnan(key) && key > best)
			best = key, g->worst = (long)g->members[j];
	}
	spread_of(sh, g->measured, &g->shared);
	spread_of(cp, g->measured, &g->copied);
	spread_of(pu, g->measured, &g->punshared);
	spread_of(un, g->measured, &g->unshared);
	spread_of(nw, g->measured, &g->newp);
	spread_of(rt, g->measured, &g->retained);
	free(v);
	return 0;
}

/* ---- roles ------------------------------------------------------------------------------ */

/*
 * Whether earlier member k still ran when a member was forked at fork_j (an unknown end
 * counts as running: a process without an end record was alive when its trace stopped).
 */
static bool alive_at(const cs_model_t *m, const cs_story_t *s, size_t k, double fork_j)
{
	double e = end_ns(m, s, k);

	return isnan(e) || isnan(fork_j) || e > fork_j;
}

/*
 * Concurrent or one after another, and the respawns: a group is concurrent when two members
 * ran at once; then a member forked after an earlier one ended, while another earlier one
 * still ran, replaced it (a pre-fork server's respawned worker). Members of a group run one
 * after another (a loop of fork-and-wait) are children, not workers.
 */
static void respawns(const cs_model_t *m, cs_story_t *s, cs_sib_t *g)
{
	for (size_t j = 1; j < g->n && !g->concurrent; j++)
		for (size_t k = 0; k < j && !g->concurrent; k++)
			g->concurrent = alive_at(m, s, g->members[k], fork_ns(m, g->members[j]));
	for (size_t j = 1; j < g->n && g->concurrent; j++) {
		double f = fork_ns(m, g->members[j]);
		bool ended = false, running = false;

		for (size_t k = 0; k < j; k++) {
			bool alive = alive_at(m, s, g->members[k], f);

			ended = ended || !alive;
			running = running || alive;
		}
		if (ended && running) {
			s->p[g->members[j]].role = CS_SR_RESPAWN;
			g->respawned++;
		}
	}
}

/* Child i's place in fork order among all the children of its parent image (1-based). */
static uint32_t fork_rank(const cs_model_t *m, const cs_story_t *s, size_t i)
{
	double t = fork_ns(m, i);
	uint32_t rank = 1;

	for (size_t g = 0; g < s->nsibs; g++) {
		if (s->sibs[g].parent != m->procs[i].parent || s->sibs[g].ppid != m->procs[i].ppid)
			continue;
		for (size_t k = 0; k < s->sibs[g].n; k++) {
			size_t o = s->sibs[g].members[k];
			int c = cmp_time(fork_ns(m, o), t);

			rank += c < 0 || (c == 0 && o < i);
		}
	}
	return rank;
}

static void label_members(const cs_model_t *m, cs_story_t *s, cs_sib_t *g, const uint32_t *nkids)
{
	uint32_t orig = (uint32_t)(g->n - g->respawned);

	for (size_t j = 0; j < g->n; j++) {
		cs_pstory_t *ps = &s->p[g->members[j]];
		long par = m->procs[g->members[j]].parent;

		ps->sib = g - s->sibs;
		ps->rank = (uint32_t)j + 1;
		ps->of = (uint32_t)g->n;
		if (!g->concurrent) {
			ps->role = CS_SR_CHILD;
			ps->rank = fork_rank(m, s, g->members[j]);
			ps->of = par >= 0 ? nkids[par] : 1;
			snprintf(ps->label, sizeof(ps->label), "child %u of %u", ps->rank, ps->of);
		} else if (ps->role == CS_SR_RESPAWN) {
			snprintf(ps->label, sizeof(ps->label), "respawned worker %u", ps->rank);
		} else {
			ps->role = CS_SR_WORKER;
			snprintf(ps->label, sizeof(ps->label), "worker %u of %u", ps->rank, orig);
		}
	}
}

/* Roles of the images that are not children: master, parent, exec image, root. */
static void label_others(const cs_model_t *m, cs_story_t *s, const uint32_t *nkids,
			 const bool *has_group)
{
	for (size_t i = 0; i < m->nprocs; i++) {
		cs_pstory_t *ps = &s->p[i];

		if (ps->sib >= 0)
			continue;
		if (nkids[i])
			ps->role = has_group[i] ? CS_SR_MASTER : CS_SR_PARENT;
		else if (ps->chain_last != (long)i)
			ps->role = CS_SR_IMAGE;
		else
			ps->role = CS_SR_ROOT;
		if (ps->role == CS_SR_IMAGE)
			snprintf(ps->label, sizeof(ps->label), "exec image %u",
				 m->procs[i].exec_no + 1);
		else
			snprintf(ps->label, sizeof(ps->label), "%s",
				 ps->role == CS_SR_MASTER           ? "master"
					 : ps->role == CS_SR_PARENT ? "parent"
								    : "root");
	}
}

static int roles(const cs_model_t *m, cs_story_t *s)
{
	uint32_t *nkids = calloc(m->nprocs + 1, sizeof(*nkids));
	bool *has_group = calloc(m->nprocs + 1, sizeof(*has_group));

	if (!nkids || !has_group) {
		free(nkids);
		free(has_group);
		return -ENOMEM;
	}
	for (size_t g = 0; g < s->nsibs; g++) {
		long par = s->sibs[g].parent;

		respawns(m, s, &s->sibs[g]);
		if (par >= 0) {
			nkids[par] += (uint32_t)s->sibs[g].n;
			has_group[par] = has_group[par] || s->sibs[g].concurrent;
		}
	}
	for (size_t g = 0; g < s->nsibs; g++)
		label_members(m, s, &s->sibs[g], nkids);
	label_others(m, s, nkids, has_group);
	free(nkids);
	free(has_group);
	return 0;
}

/* ---- significance and the dominant figure ----------------------------------------------- */

static void significance(const cs_model_t *m, cs_story_t *s)
{
	double largest = 0;

	for (size_t i = 0; i < m->nprocs; i++)
		if (measured(&m->procs[i]) && weight_bytes(&m->procs[i]) > largest)
			largest = weight_bytes(&m->procs[i]);
	s->threshold_bytes = largest < MIB ? 0 : (largest / 100 > MIB ? largest / 100 : MIB);
	for (size_t g = 0; g < s->nsibs; g++) {
		cs_sib_t *sib = &s->sibs[g];

		for (size_t j = 0; j < sib->n; j++) {
			size_t i = sib->members[j];
			const cs_proc_t *p = &m->procs[i];
			bool sig = !measured(p) ? s->threshold_bytes == 0
						: weight_bytes(p) >= s->threshold_bytes;

			s->p[i].significant = sig;
			sib->significant = sib->significant || sig;
			s->folded += !sig;
			/* the image that forked it, and those that forked its ancestors */
			for (long a = p->parent; sig && a >= 0;
			     a = m->procs[s->p[a].chain_first].parent)
				s->p[a].significant = true;
		}
	}
	if (m->root >= 0)
		s->p[s->p[m->root].chain_last].significant = true;
}

static void dominant(const cs_model_t *m, cs_story_t *s)
{
	double copied = 0, punshared = 0;

	for (size_t g = 0; g < s->nsibs; g++) {
		double most = 0;

		for (size_t j = 0; j < s->sibs[g].n; j++) {
			const cs_proc_t *p = &m->procs[s->sibs[g].members[j]];

			if (!measured(p))
				continue;
			copied += p->fig.child_copied > 0 ? (double)p->fig.child_copied : 0;
			if (p->fig.parent_unshared > most)
				most = (double)p->fig.parent_unshared;
		}
		punshared += most; /* one parent write unshares a page from all its children */
	}
	s->dominant = punshared > copied ? CS_SORT_PUNSHARED : CS_SORT_COPIED;
}

/* ---- entry ------------------------------------------------------------------------------ */

void cs_story_free(cs_story_t *s)
{
	for (size_t g = 0; g < s->nsibs; g++)
		free(s->sibs[g].members);
	free(s->sibs);
	free(s->p);
	memset(s, 0, sizeof(*s));
}

static void names(const cs_model_t *m, cs_story_t *s)
{
	for (size_t i = 0; i < m->nprocs; i++) {
		const cs_proc_t *p = &m->procs[i];
		cs_pstory_t *ps = &s->p[i];

		cs_program_name(p->cmdline, p->cmdline_len, ps->program, sizeof(ps->program));
		ps->forked_at_s = p->role == CS_ROLE_CHILD && !p->exec_image
			? since(fork_ns(m, i), s->start_ns)
			: NAN;
		ps->ended_at_s = since(end_ns(m, s, i), s->start_ns);
	}
}

int cs_story_compute(const cs_model_t *m, cs_story_t *s)
{
	kid_t *kids = NULL;
	size_t nk = 0;
	int err;

	memset(s, 0, sizeof(*s));
	s->np = m->nprocs;
	s->start_ns = run_start_ns(m);
	s->p = calloc(m->nprocs + 1, sizeof(*s->p));
	if (!s->p)
		return -ENOMEM;
	for (size_t i = 0; i < m->nprocs; i++)
		s->p[i].sib = -1;
	chains(m, s);
	err = collect_kids(m, &kids, &nk);
	if (!err)
		err = make_sibs(s, kids, nk);
	free(kids);
	if (!err)
		err = roles(m, s);
	if (!err) {
		names(m, s);
		dominant(m, s);
		significance(m, s);
	}
	for (size_t g = 0; !err && g < s->nsibs; g++)
		err = sib_figures(m, s, &s->sibs[g]);
	if (err)
		cs_story_free(s);
	return err;
}

const cs_story_t *cs_story_get(const cs_model_t *m, cs_story_t *local)
{
	if (m->story)
		return m->story;
	return cs_story_compute(m, local) ? NULL : local;
}
