/* SPDX-License-Identifier: MIT */
/* The text report for a person: tree, per-child table, top mappings and sites, backend, totals. */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include "backend.h"
#include "figures.h"
#include "render.h"
#include "text.h"

#define TREE_MAX_INDENT 24

typedef struct text {
	FILE *f;
	const cs_model_t *m;
	const cs_render_opts_t *o;
} text_t;

static char *clean(const char *s, size_t len, char *buf, size_t size)
{
	return cs_clean_text(s, len, buf, size);
}

/* A command line as words (empty arguments quoted), safe for a terminal. */
static char *words_of(const char *cmdline, size_t len, char *buf, size_t size)
{
	char words[1024];

	if (!cmdline)
		return strcpy(buf, "?");
	cs_cmdline_str(cmdline, len, words, sizeof(words));
	return clean(words, strlen(words), buf, size);
}

static char *cmd_of(const cs_proc_t *p, char *buf, size_t size)
{
	return words_of(p->cmdline, p->cmdline_len, buf, size);
}

/* The command line of p cut to cols columns unless --all: the rest of its line fits. */
static char *cmd_cut(text_t *t, const cs_proc_t *p, char *buf, size_t size, size_t cols)
{
	cmd_of(p, buf, size);
	return t->o->all ? buf : cs_text_cut(buf, size, cols);
}

static char *pages_mib(int64_t pages, uint32_t page_size, char *buf, size_t size)
{
	if (pages < 0 || !page_size)
		return strcpy(buf, "-");
	return cs_fmt_mib((double)pages * page_size, buf, size);
}

static const char *signame(int sig, char *buf, size_t size)
{
	const char *abbrev = sig > 0 ? sigabbrev_np(sig) : NULL;

	if (abbrev)
		snprintf(buf, size, "SIG%s", abbrev);
	else
		snprintf(buf, size, "signal %d", sig);
	return buf;
}

static char *ended_str(const cs_proc_t *p, char *buf, size_t size)
{
	char sig[32];

	switch (p->ended) {
	case CS_ENDED_EXIT:
	case CS_ENDED__EXIT:
		if (p->exit_status < 0) /* return from main under plain LD_PRELOAD: not seen */
			snprintf(buf, size, "%s ?", cs_ended_name(p->ended));
		else
			snprintf(buf, size, "%s %d", cs_ended_name(p->ended), p->exit_status);
		break;
	case CS_ENDED_EXEC:
		snprintf(buf, size, "exec");
		break;
	case CS_ENDED_SIGNAL: /* the children table says "SIGKILL" (short: ended_short) */
		snprintf(buf, size, "killed by %s", signame(p->signal, sig, sizeof(sig)));
		break;
	default:
		snprintf(buf, size, p->still_running ? "still running" : "end unknown");
	}
	return buf;
}

static void header(text_t *t)
{
	const cs_runinfo_t *r = &t->m->run;
	char cmd[512], sig[32];

	fprintf(t->f, "cowscope: run directory %s\n", t->m->absdir);
	if (!r->has_run)
		return;
	words_of(r->cmdline, r->cmdline_len, cmd, sizeof(cmd));
	fprintf(t->f, "command: %s (pid %u)", t->o->all ? cmd : cs_text_cut(cmd, sizeof(cmd), 60),
		(unsigned)r->root_pid);
	if (r->has_end && WIFEXITED(r->root_status))
		fprintf(t->f, ", exit status %d", WEXITSTATUS(r->root_status));
	else if (r->has_end && WIFSIGNALED(r->root_status))
		fprintf(t->f, ", killed by %s",
			signame(WTERMSIG(r->root_status), sig, sizeof(sig)));
	else if (!r->has_end)
		fprintf(t->f, ", run not finished (or cowscope was killed)");
	fputc('\n', t->f);
}

static void backend(text_t *t)
{
	long b = cs_run_backend_proc(t->m);
	const cs_proc_t *p = b >= 0 ? &t->m->procs[b] : NULL;
	const char *prec;
	char reason[256];

	if (!p) {
		fprintf(t->f, "backend: unknown (no process recorded one)\n");
		return;
	}
	prec = cs_backend_precision(p->backend);
	fprintf(t->f, "backend: %s (%.*s)\n", cs_backend_name(p->backend),
		t->o->all ? (int)strlen(prec) : (int)strcspn(prec, ":"), prec);
	for (size_t i = 0; i < p->nprobed; i++) {
		const cs_probed_t *e = &p->probed[i];

		if (e->usable || e->backend == CS_BACKEND_NONE || p->requested == p->backend ||
		    (e->backend >= p->backend && e->backend != p->requested))
			continue; /* only better ones, or the one asked for, that did not work */
		fprintf(t->f, "  %s was not usable: %s\n", cs_backend_name(e->backend),
			clean(e->reason, strlen(e->reason), reason, sizeof(reason)));
	}
}

/* ---- the allocator (format 1.3): one line, or one per allocator when processes differ ---- */

#define ALLOC_PIDS_SHOWN 6

static bool same_allocator(const cs_proc_t *a, const cs_proc_t *b)
{
	return a->allocator_flags == b->allocator_flags &&
		!strcmp(a->allocator_name, b->allocator_name) &&
		!strcmp(a->allocator_path, b->allocator_path);
}

/* "jemalloc (/usr/lib/x86_64-linux-gnu/libjemalloc.so.2, preloaded)" */
static char *allocator_str(const cs_proc_t *p, char *buf, size_t size)
{
	char name[64], path[512];

	clean(p->allocator_name, strlen(p->allocator_name), name, sizeof(name));
	clean(p->allocator_path, strlen(p->allocator_path), path, sizeof(path));
	snprintf(buf, size, "%s (%s%s)", name, *path ? path : "path unknown",
		 p->allocator_flags & CS_ALLOCF_PRELOADED ? ", preloaded" : "");
	return buf;
}

/* The first process naming an allocator at or after i, or nprocs. */
static size_t next_with_allocator(const cs_model_t *m, size_t i)
{
	while (i < m->nprocs && !m->procs[i].has_allocator)
		i++;
	return i;
}

/* "  jemalloc (...): pid 12, 13 (exec #1) and 4 more" for the allocator of process i. */
static void allocator_group(text_t *t, size_t i)
{
	const cs_model_t *m = t->m;
	char desc[640];
	size_t shown = 0, more = 0;

	fprintf(t->f, "  %s:", allocator_str(&m->procs[i], desc, sizeof(desc)));
	for (size_t k = i; k < m->nprocs; k++) {
		const cs_proc_t *p = &m->procs[k];

		if (!p->has_allocator || !same_allocator(p, &m->procs[i]))
			continue;
		if (shown++ >= ALLOC_PIDS_SHOWN) {
			more++;
			continue;
		}
		fprintf(t->f, "%s pid %u", shown > 1 ? "," : "", (unsigned)p->pid);
		if (p->exec_no)
			fprintf(t->f, " (exec #%u)", (unsigned)p->exec_no);
	}
	if (more)
		fprintf(t->f, " and %zu more", more);
	fputc('\n', t->f);
}

#define ALLOCATORS_SHOWN 8

/* The first process of each distinct allocator (at most ALLOCATORS_SHOWN); their count. */
static size_t distinct_allocators(const cs_model_t *m, size_t *rep)
{
	size_t n = 0, k;

	for (size_t i = next_with_allocator(m, 0); i < m->nprocs && n < ALLOCATORS_SHOWN;
	     i = next_with_allocator(m, i + 1)) {
		for (k = 0; k < n && !same_allocator(&m->procs[rep[k]], &m->procs[i]); k++)
			;
		if (k == n)
			rep[n++] = i;
	}
	return n;
}

static void allocator(text_t *t)
{
	size_t rep[ALLOCATORS_SHOWN], n = distinct_allocators(t->m, rep);
	char desc[640];

	if (n == 1)
		fprintf(t->f, "allocator: %s\n",
			allocator_str(&t->m->procs[rep[0]], desc, sizeof(desc)));
	if (n > 1)
		fprintf(t->f, "allocators (they differ by process):\n");
	for (size_t k = 0; n > 1 && k < n; k++)
		allocator_group(t, rep[k]);
	/* none: traces older than 1.3 */
}

/* Asked, achieved (mean and median time between two samples of one child), how many, CPU time. */
static void sampling(text_t *t)
{
	const cs_runinfo_t *r = &t->m->run;
	double mean, got = cs_achieved_interval_ms(t->m, &mean);

	if (!r->has_run)
		return;
	if (!r->interval_ms) {
		fprintf(t->f, "sampling: off\n");
		return;
	}
	fprintf(t->f, "sampling: every %u ms asked, ", (unsigned)r->interval_ms);
	if (got == got)
		fprintf(t->f, "%.0f ms achieved (mean; median %.0f ms)", mean, got);
	else
		fprintf(t->f, "achieved unknown (no child sampled twice)");
	if (r->has_end)
		fprintf(t->f, ", %" PRIu64 " samples, %.1f ms of CPU", r->samples,
			(double)r->sample_ns / 1e6);
	fputc('\n', t->f);
}

/* The basename of argv[0] of p, into buf. */
static char *argv0_base(const cs_proc_t *p, char *buf, size_t size)
{
	const char *a = p->cmdline ? p->cmdline : "?";
	size_t n = p->cmdline ? strnlen(a, p->cmdline_len) : 1;
	const char *slash = memrchr(a, '/', n);

	if (slash) {
		n -= (size_t)(slash + 1 - a);
		a = slash + 1;
	}
	return clean(a, n, buf, size);
}

/* "  via 6 execs (env, bash, …)": the images before image i of its exec chain. */
static void via_execs(text_t *t, size_t i)
{
	const cs_story_t *s = t->m->story;
	char names[3][64], b[64];
	size_t n = 0, more = 0;

	if (!s || !s->p[i].execs || s->p[i].chain_first < 0)
		return;
	for (size_t k = (size_t)s->p[i].chain_first; k < i; k++) {
		size_t j;

		argv0_base(&t->m->procs[k], b, sizeof(b));
		for (j = 0; j < n && strcmp(names[j], b); j++)
			;
		if (j < n)
			continue;
		if (n < 3)
			strcpy(names[n++], b);
		else
			more++;
	}
	fprintf(t->f, "  via %u exec%s (", (unsigned)s->p[i].execs, s->p[i].execs == 1 ? "" : "s");
	for (size_t j = 0; j < n; j++)
		fprintf(t->f, "%s%s", j ? ", " : "", names[j]);
	fprintf(t->f, "%s)", more ? ", \u2026" : "");
}

static void tree_line(text_t *t, size_t i, size_t depth, bool member)
{
	const cs_proc_t *p = &t->m->procs[i];
	const cs_pstory_t *ps = t->m->story ? &t->m->story->p[i] : NULL;
	char cmd[160], end[64];
	int pad = (int)(2 * (depth < TREE_MAX_INDENT ? depth : TREE_MAX_INDENT) + 2);

	fprintf(t->f, "%*s%u", pad, "", (unsigned)p->pid);
	if (p->exec_no && (t->o->all || !ps || !ps->execs))
		fprintf(t->f, " (exec #%u)", (unsigned)p->exec_no);
	if (ps)
		fprintf(t->f, " %s", ps->label);
	if (!member) {
		fprintf(t->f, ": %s", cmd_cut(t, p, cmd, sizeof(cmd), 56));
		if (!t->o->all)
			via_execs(t, i);
	}
	fprintf(t->f, "  [%s", ended_str(p, end, sizeof(end)));
	if (!p->complete)
		fprintf(t->f, "; INCOMPLETE: %s", p->incomplete);
	fputs("]\n", t->f);
}

/* Children lists of the process tree; slot nprocs is the forest's root. */
typedef struct forest {
	long *first;
	long *next;
	long *cursor;
	size_t *stack;
} forest_t;

static void forest_free(forest_t *fo)
{
	free(fo->first);
	free(fo->next);
	free(fo->cursor);
	free(fo->stack);
}

static int forest_build(forest_t *fo, const cs_model_t *m)
{
	size_t n = m->nprocs;

	fo->first = malloc((n + 1) * sizeof(long));
	fo->next = malloc((n + 1) * sizeof(long));
	fo->cursor = malloc((n + 1) * sizeof(long));
	fo->stack = malloc((n + 1) * sizeof(size_t));
	if (!fo->first || !fo->next || !fo->cursor || !fo->stack)
		return -ENOMEM;
	for (size_t i = 0; i <= n; i++)
		fo->first[i] = -1;
	for (size_t i = n; i-- > 0;) {
		size_t parent = m->procs[i].parent >= 0 ? (size_t)m->procs[i].parent : n;

		fo->next[i] = fo->first[parent];
		fo->first[parent] = (long)i;
	}
	return 0;
}

/* Whether the tree leaves out child c and what it forked: folded as not significant. */
static bool tree_folds(text_t *t, size_t c)
{
	const cs_proc_t *p = &t->m->procs[c];

	return p->role == CS_ROLE_CHILD && !p->exec_image && !cs_text_listed(t->m, t->o, c);
}

/* Whether the tree shows image c: with --all every one, else the image that ran last. */
static bool tree_shows(text_t *t, size_t c)
{
	return t->o->all || !t->m->story || t->m->story->p[c].chain_last == (long)c;
}

/* A sibling group's command line once, above its first member the tree reaches. */
static bool tree_group_head(text_t *t, size_t c, bool *headed, size_t depth)
{
	const cs_story_t *s = t->m->story;
	long g = s ? s->p[c].sib : -1;
	char cmd[160];
	int pad = (int)(2 * (depth < TREE_MAX_INDENT ? depth : TREE_MAX_INDENT) + 2);

	if (g < 0 || s->sibs[g].n < 2)
		return false;
	if (!headed[g])
		fprintf(t->f, "%*s%zu %s: %s\n", pad, "", s->sibs[g].n, cs_sib_noun(&s->sibs[g]),
			cmd_cut(t, &t->m->procs[c], cmd, sizeof(cmd), 70));
	headed[g] = true;
	return true;
}

/* Print node c (unless hidden) and set the depth its children print at. */
static void tree_node(text_t *t, size_t c, size_t base, size_t *lvl, bool *headed)
{
	bool member;

	lvl[c] = base;
	if (!tree_shows(t, c))
		return;
	member = tree_group_head(t, c, headed, base);
	tree_line(t, c, base + member, member);
	lvl[c] = base + member + 1;
}

/* Depth-first without recursion (forged ppids may make the tree deep). */
static int tree(text_t *t)
{
	forest_t fo = { 0 };
	size_t sp = 0, top, n = t->m->nprocs;
	size_t *lvl = calloc(n + 1, sizeof(*lvl));
	bool *headed = calloc((t->m->story ? t->m->story->nsibs : 0) + 1, sizeof(*headed));
	long c;
	int err = forest_build(&fo, t->m);

	if (!err && (!lvl || !headed))
		err = -ENOMEM;
	if (err)
		goto out;
	fprintf(t->f, "\nprocess tree:\n");
	fo.stack[sp++] = n;
	fo.cursor[n] = fo.first[n];
	while (sp) {
		top = fo.stack[sp - 1];
		c = fo.cursor[top];
		if (c < 0) {
			sp--;
			continue;
		}
		fo.cursor[top] = fo.next[c];
		if (tree_folds(t, (size_t)c))
			continue;
		tree_node(t, (size_t)c, lvl[top], lvl, headed);
		fo.cursor[c] = fo.first[c];
		fo.stack[sp++] = (size_t)c;
	}
	cs_text_fold_line(t->f, t->m, t->o);
out:
	forest_free(&fo);
	free(lvl);
	free(headed);
	return err;
}

/* The figure columns of a row: SHARED COPIED P-UNSHARED RETAINED NEW (pages, a fraction). */
static void fig_cells(text_t *t, double sh, double cp, double pu, double ret, double nw,
		      uint32_t ps)
{
	char a[16], b[16], c[16], d[16], e[16];

	if (ret == ret)
		snprintf(e, sizeof(e), "%.1f%%", 100.0 * ret);
	else
		strcpy(e, "-");
	fprintf(t->f, " %6s %6s %10s %8s %6s", pages_mib(sh == sh ? (int64_t)sh : -1, ps, a, 16),
		pages_mib(cp == cp ? (int64_t)cp : -1, ps, b, 16),
		pages_mib(pu == pu ? (int64_t)pu : -1, ps, c, 16), e,
		pages_mib(nw == nw ? (int64_t)nw : -1, ps, d, 16));
}

static double known(int64_t v)
{
	return v >= 0 ? (double)v : NAN;
}

/*
 * A role for a table's narrow ROLE column: "worker 2/4", "respawn 5", "child 1/3" (the
 * group's header line names the group). Returns buf.
 */
static char *row_label(const char *label, char *buf, size_t size)
{
	const char *of = strstr(label, " of ");

	if (!strncmp(label, "respawned worker ", 17))
		snprintf(buf, size, "respawn %s", label + 17);
	else if (of)
		snprintf(buf, size, "%.*s/%s", (int)(of - label), label, of + 4);
	else
		snprintf(buf, size, "%s", label);
	return buf;
}

static void child_row(text_t *t, size_t i)
{
	const cs_proc_t *p = &t->m->procs[i];
	const cs_figures_t *f = &p->fig;
	char id[64], end[64], amp[32], fpc[24], role[48];

	snprintf(id, sizeof(id), p->gen ? "%u.%u" : "%u", (unsigned)p->pid, (unsigned)p->gen);
	if (cs_few_samples(p))
		strcat(id, "*"); /* footnote: fewer than 2 samples after the fork */
	if (t->m->story)
		snprintf(id + strlen(id), sizeof(id) - strlen(id), " %s",
			 row_label(t->m->story->p[i].label, role, sizeof(role)));
	fprintf(t->f, "    %-20s", id);
	fig_cells(t, known(f->shared_at_fork), known(f->child_copied), known(f->parent_unshared),
		  f->share_retained, known(f->child_new), p->page_size);
	if (cs_text_has_events(t->m))
		fprintf(t->f, " %8s", cs_text_faults_per_copy(p, fpc, sizeof(fpc)));
	if (f->minor_faults >= 0)
		fprintf(t->f, " %7" PRId64, f->minor_faults);
	else
		fprintf(t->f, " %7s", "-");
	if (t->m->has_diff) {
		const cs_amp_t *x = &f->amp[CS_DIFF_CHILD];

		fputc(' ', t->f);
		cs_fprint_right(t->f,
				cs_fmt_amp(x->amplification, x->known, x->compared > 0,
					   x->estimated, amp, sizeof(amp)),
				7);
	}
	ended_str(p, end, sizeof(end));
	if (!t->o->all && !strncmp(end, "killed by ", 10))
		memmove(end, end + 10, strlen(end + 10) + 1); /* the column says how it ended */
	fprintf(t->f, "  %s%s\n", end, p->complete ? "" : ", incomplete");
}

/* A group's min, median and max rows. */
static void spread_rows(text_t *t, const cs_sib_t *g)
{
	static const char *const what[] = { "min", "median", "max" };
	uint32_t ps = t->m->procs[g->members[0]].page_size;

	for (int k = 0; k < 3; k++) {
		const double *sh = &g->shared.min, *cp = &g->copied.min, *pu = &g->punshared.min,
			     *rt = &g->retained.min, *nw = &g->newp.min;

		fprintf(t->f, "    %-20s", what[k]);
		fig_cells(t, sh[k], cp[k], pu[k], rt[k], nw[k], ps);
		fputc('\n', t->f);
	}
}

static void children_header(text_t *t)
{
	fprintf(t->f,
		"\nchildren (MiB, ranked by %s; - = unknown):\n    %-20s %6s %6s %10s %8s %6s",
		cs_text_sort_words(cs_text_sort(t->m, t->o)), "PID ROLE", "SHARED", "COPIED",
		"P-UNSHARED", "RETAINED", "NEW");
	if (cs_text_has_events(t->m))
		fprintf(t->f, " %8s", "FLT/COPY"); /* minor faults per copied page */
	fprintf(t->f, " %7s", "MINFLT");
	if (t->m->has_diff)
		fprintf(t->f, " %7s", "AMPLIF"); /* copied bytes per changed byte */
	fprintf(t->f, "  %s\n", "ENDED");
}

/* One sibling group: its name and command once, then its spread or its members' rows. */
static bool sib_rows(text_t *t, size_t g)
{
	const cs_sib_t *s = &t->m->story->sibs[g];
	char name[200], cmd[160];
	bool few = false;

	fprintf(t->f, "  %s: %s\n", cs_text_sib_name(t->m, g, name, sizeof(name)),
		cmd_cut(t, &t->m->procs[s->members[0]], cmd, sizeof(cmd), 40));
	if (s->n >= 2 && !t->o->per_process) {
		spread_rows(t, s);
		if (s->measured < s->n)
			fprintf(t->f, "    (%zu of them without figures)\n", s->n - s->measured);
		return false;
	}
	for (size_t j = 0; j < s->n; j++) {
		if (!cs_text_listed(t->m, t->o, s->members[j]))
			continue;
		few |= cs_few_samples(&t->m->procs[s->members[j]]);
		child_row(t, s->members[j]);
	}
	return few;
}

static void children(text_t *t)
{
	size_t *v = NULL;
	long n = t->m->story ? cs_text_sibs(t->m, t->o, &v) : 0;
	bool few = false;

	if (n > 0)
		children_header(t);
	for (long k = 0; k < n; k++)
		few |= sib_rows(t, v[k]);
	free(v);
	if (few)
		fprintf(t->f,
			"  * fewer than 2 samples after the fork (outside samples and its own "
			"snapshots): its figures rest on one point in time, or on none\n");
}

/* "X MiB copied, Y MiB unshared", or the unshared part alone when the split is unknown. */
static void copied_unshared(text_t *t, int64_t copied, int64_t unshared, uint32_t ps)
{
	char a[16], b[16];

	if (copied >= 0)
		fprintf(t->f, "%s MiB copied, ", pages_mib(copied, ps, a, 16));
	fprintf(t->f, "%s MiB unshared", pages_mib(unshared, ps, b, 16));
}

/* A child that went on after its working snapshot: what its teardown left, and the peak. */
static void teardown_line(text_t *t, const cs_proc_t *p)
{
	const cs_figures_t *f = &p->fig;
	const cs_snap_t *z = cs_final_snap(p);
	char pk[16];

	fprintf(t->f, "  pid %u: working figures from its %s snapshot; after teardown (%s): ",
		(unsigned)p->pid, cs_snap_reason_name(f->from),
		z ? cs_snap_reason_name(z->reason) : "?");
	copied_unshared(t, f->at_end.child_copied, f->at_end.unshared, p->page_size);
	fprintf(t->f, "; peak %s MiB unshared\n",
		pages_mib(f->peak_unshared, p->page_size, pk, 16));
}

/* A group's teardown in one line: the range of what its members held after it. */
static void teardown_group(text_t *t, const cs_sib_t *g, size_t gi)
{
	int64_t lo = INT64_MAX, hi = -1, peak = -1;
	bool split = true;
	size_t n = 0;
	char who[200], a[16], b[16], pk[16];
	uint32_t ps = t->m->procs[g->members[0]].page_size;

	for (size_t j = 0; j < g->n; j++) {
		const cs_figures_t *f = &t->m->procs[g->members[j]].fig;
		int64_t v = f->at_end.child_copied >= 0 ? f->at_end.child_copied
							: f->at_end.unshared;

		if (!f->has_end || v < 0)
			continue;
		n++;
		split = split && f->at_end.child_copied >= 0;
		lo = v < lo ? v : lo;
		hi = v > hi ? v : hi;
		peak = f->peak_unshared > peak ? f->peak_unshared : peak;
	}
	if (!n)
		return;
	fprintf(t->f, "  %s: after teardown ", cs_text_sib_name(t->m, gi, who, sizeof(who)));
	if (n < g->n)
		fprintf(t->f, "the %zu that went on held ", n);
	else
		fprintf(t->f, "they held ");
	if (lo == hi)
		fprintf(t->f, "%s MiB", pages_mib(lo, ps, a, 16));
	else
		fprintf(t->f, "%s to %s MiB", pages_mib(lo, ps, a, 16), pages_mib(hi, ps, b, 16));
	fprintf(t->f, " %s each; peak %s MiB unshared in one\n", split ? "copied" : "unshared",
		pages_mib(peak, ps, pk, 16));
}

/* The effect of each listed child's teardown beside the table's working figures. */
static void teardown(text_t *t)
{
	const cs_model_t *m = t->m;
	bool any = false;

	for (size_t i = 0; i < m->nprocs; i++) {
		const cs_proc_t *p = &m->procs[i];
		bool grouped = cs_text_grouped(m, t->o, i);
		long g = grouped ? m->story->p[i].sib : -1;

		if (p->role != CS_ROLE_CHILD || !p->fig.has_end || !cs_text_listed(m, t->o, i))
			continue;
		if (grouped && m->story->sibs[g].members[0] != i)
			continue;
		if (!any)
			fprintf(t->f,
				"\nafter teardown (the table holds working figures: the last "
				"snapshot before each child began to exit):\n");
		any = true;
		if (grouped)
			teardown_group(t, &m->story->sibs[g], (size_t)g);
		else
			teardown_line(t, p);
	}
}

/* Sort key of a mapping: the sort's figure (copied: unshared when the split is unknown). */
static int64_t map_key(const cs_mapfig_t *mf, int sort)
{
	switch (sort) {
	case CS_SORT_PUNSHARED:
		return mf->parent_unshared >= 0 ? mf->parent_unshared : mf->unshared;
	case CS_SORT_UNSHARED:
		return mf->unshared;
	case CS_SORT_NEW:
		return mf->child_new;
	default:
		return mf->child_copied >= 0 ? mf->child_copied : mf->unshared;
	}
}

typedef struct mapref {
	const cs_mapfig_t *mf;
	int64_t key;
} mapref_t;

static int cmp_mapref(const void *a, const void *b)
{
	const mapref_t *x = a, *y = b;

	if (x->key != y->key)
		return x->key > y->key ? -1 : 1;
	return (x->mf->start > y->mf->start) - (x->mf->start < y->mf->start);
}

/* A mapping's name in at most 30 columns: a long path keeps its end. */
static const char *map_name(const cs_mapfig_t *mf, char *buf, size_t size)
{
	size_t n = strlen(mf->name);

	if (n == 0)
		return "[anon]";
	if (n <= 30)
		return clean(mf->name, n, buf, size);
	buf[0] = buf[1] = buf[2] = '.';
	clean(mf->name + n - 27, 27, buf + 3, size - 3);
	return buf;
}

static void map_cells(text_t *t, const char *name, const int64_t *v, uint32_t ps)
{
	char a[16], b[16], c[16], d[16], e[16];

	fprintf(t->f, "    %-30s %9s %9s %10s %9s %9s", name, pages_mib(v[0], ps, a, 16),
		pages_mib(v[1], ps, b, 16), pages_mib(v[2], ps, c, 16), pages_mib(v[3], ps, e, 16),
		pages_mib(v[4], ps, d, 16));
}

static void map_row(text_t *t, const cs_proc_t *p, const cs_mapfig_t *mf)
{
	char name[48];
	int64_t v[5] = { mf->shared_at_fork, mf->child_copied, mf->parent_unshared, mf->unshared,
			 mf->child_new };

	map_cells(t, map_name(mf, name, sizeof(name)), v, p->page_size);
	fprintf(t->f, "%s\n", mf->approximate ? "  ~ huge pages: approximate" : "");
}

/* Whether row k of a table (n rows, keys summing to total) is shown, not in "rest". */
static bool row_shown(text_t *t, size_t k, double key, double total, uint32_t ps)
{
	if (k >= t->o->top)
		return false;
	/* small: under 1% of the table and under 0.1 MiB */
	return t->o->all || key * 100 >= total || key * ps >= 0.1 * 1024 * 1024;
}

/* Sum a figure into *acc: unknown (negative) makes the sum unknown. */
static void acc_add(int64_t *acc, int64_t v)
{
	*acc = *acc < 0 || v < 0 ? -1 : *acc + v;
}

/* The rows left out of a table, summed: "rest (N rows)". */
static void map_rest(text_t *t, const mapref_t *v, size_t n, const bool *shown, uint32_t ps)
{
	int64_t sum[5] = { 0 };
	size_t rest = 0;
	char name[48];

	for (size_t i = 0; i < n; i++) {
		const cs_mapfig_t *mf = v[i].mf;

		if (shown[i])
			continue;
		rest++;
		acc_add(&sum[0], mf->shared_at_fork);
		acc_add(&sum[1], mf->child_copied);
		acc_add(&sum[2], mf->parent_unshared);
		acc_add(&sum[3], mf->unshared);
		acc_add(&sum[4], mf->child_new);
	}
	if (!rest)
		return;
	snprintf(name, sizeof(name), "rest (%zu row%s)", rest, rest == 1 ? "" : "s");
	map_cells(t, name, sum, ps);
	fputc('\n', t->f);
}

/* The mappings of p ranked by the sort, the top and large ones shown, the rest summed. */
static int top_maps(text_t *t, const cs_proc_t *p, const char *who)
{
	mapref_t *v = malloc((p->fig.nmaps + 1) * sizeof(*v));
	bool *shown = calloc(p->fig.nmaps + 1, sizeof(*shown));
	size_t n = 0;
	double total = 0;
	int sort = cs_text_sort(t->m, t->o);

	if (!v || !shown) {
		free(v);
		free(shown);
		return -ENOMEM;
	}
	for (size_t i = 0; i < p->fig.nmaps; i++)
		if (map_key(&p->fig.maps[i], sort) > 0) {
			v[n] = (mapref_t){ &p->fig.maps[i], map_key(&p->fig.maps[i], sort) };
			total += (double)v[n++].key;
		}
	qsort(v, n, sizeof(*v), cmp_mapref);
	fprintf(t->f, "  %s:%s\n", who, n ? "" : " none");
	for (size_t i = 0; i < n; i++) {
		shown[i] = row_shown(t, i, (double)v[i].key, total, p->page_size);
		if (shown[i])
			map_row(t, p, v[i].mf);
	}
	map_rest(t, v, n, shown, p->page_size);
	free(v);
	free(shown);
	return 0;
}

/* Which child's mappings stand for child i: its own, or its group's worst member's. */
static int maps_of(text_t *t, size_t i)
{
	const cs_story_t *s = t->m->story;
	char who[300], name[200], member[80];

	if (!cs_text_grouped(t->m, t->o, i)) {
		if (s)
			snprintf(who, sizeof(who), "pid %u, %s", (unsigned)t->m->procs[i].pid,
				 s->p[i].label);
		else
			snprintf(who, sizeof(who), "pid %u", (unsigned)t->m->procs[i].pid);
		return top_maps(t, &t->m->procs[i], who);
	}
	const cs_sib_t *g = &s->sibs[s->p[i].sib];

	if (g->members[0] != i || g->worst < 0)
		return 0;
	snprintf(who, sizeof(who), "%s, the worst: %s",
		 cs_text_sib_name(t->m, (size_t)s->p[i].sib, name, sizeof(name)),
		 cs_text_member_name(t->m, (size_t)g->worst, member, sizeof(member)));
	return top_maps(t, &t->m->procs[g->worst], who);
}

static int mappings(text_t *t)
{
	const cs_model_t *m = t->m;
	bool any = false;
	int err = 0;

	for (size_t i = 0; i < m->nprocs && !err && t->o->top; i++) {
		const cs_proc_t *p = &m->procs[i];

		if (p->role != CS_ROLE_CHILD || p->fig.shared_at_fork < 0 ||
		    !cs_text_listed(m, t->o, i))
			continue;
		if (!any)
			fprintf(t->f,
				"\ntop %u mappings by %s pages (MiB):\n    %-30s %9s %9s"
				" %10s %9s %9s\n",
				t->o->top, cs_text_sort_words(cs_text_sort(m, t->o)), "MAPPING",
				"SHARED", "COPIED", "P-UNSHARED", "UNSHARED", "NEW");
		any = true;
		err = maps_of(t, i);
	}
	return err;
}

static void proc_notes(text_t *t, const cs_proc_t *p)
{
	char text[256], mib[16];

	for (size_t i = 0; i < p->nnotes; i++) {
		const cs_note_t *n = &p->notes[i];

		if (cs_note_said_before(t->m, p, i))
			continue;
		fprintf(t->f, "  pid %u: %s: %s", (unsigned)p->pid, cs_note_code_name(n->code),
			clean(n->text, strlen(n->text), text, sizeof(text)));
		fprintf(t->f, n->err ? " (%s)\n" : "\n", strerror(n->err));
	}
	if (p->fig.partial)
		fprintf(t->f,
			"  pid %u: %s MiB shared at fork lay in mappings the backend could not "
			"arm: copies there count as unshared, not split child/parent\n",
			(unsigned)p->pid, pages_mib(p->fig.unarmed_pages, p->page_size, mib, 16));
	if (p->fig.released > 0 && p->fig.released * 100 >= p->fig.shared_at_fork)
		fprintf(t->f,
			"  pid %u: released %s MiB of what it shared (unmapped or discarded, e.g. "
			"MADV_DONTNEED): neither copied nor unshared in the figures\n",
			(unsigned)p->pid, pages_mib(p->fig.released, p->page_size, mib, 16));
	if (!p->complete && p->fig.ntimeline && cs_work_snap(p) && cs_work_snap(p)->from_samples)
		fprintf(t->f, "  pid %u: incomplete (%s): figures are from its last sample\n",
			(unsigned)p->pid, p->incomplete);
	else if (!p->complete)
		fprintf(t->f, "  pid %u: incomplete: %s\n", (unsigned)p->pid, p->incomplete);
}

/* The shim's own pages in the children: shown, never counted. */
static void shim_line(text_t *t)
{
	const cs_model_t *m = t->m;
	int64_t sum = 0, most = 0;
	size_t n = 0;

	for (size_t i = 0; i < m->nprocs; i++) {
		int64_t s = m->procs[i].shim_pages;

		if (s < 0)
			continue;
		n++;
		sum += s;
		most = s > most ? s : most;
	}
	if (n)
		fprintf(t->f,
			"cowscope's own memory in %zu %s: %" PRId64 " pages copied or new "
			"(at most %" PRId64 " in one), excluded from every figure\n",
			n, n == 1 ? "child" : "children", sum, most);
}

static void notes(text_t *t)
{
	const cs_model_t *m = t->m;

	fprintf(t->f, "\n");
	for (size_t i = 0; i < m->nprocs; i++)
		if (cs_text_listed(m, t->o, i))
			proc_notes(t, &m->procs[i]);
	if (m->run.has_end && m->run.still_running)
		fprintf(t->f,
			"%u process%s still running when cowscope stopped waiting; "
			"figures are from the last sample\n",
			(unsigned)m->run.still_running,
			m->run.still_running == 1 ? " was" : "es were");
}

static const char *plural(size_t n, const char *one, const char *many)
{
	return n == 1 ? one : many;
}

/* "pid 100 (server --preload)", or "pid 100" for a parent that left no trace. */
static char *parent_name(text_t *t, const cs_bill_group_t *g, char *buf, size_t size)
{
	char cmd[160];
	int n = g->ppid >= 0 ? snprintf(buf, size, "pid %lld", (long long)g->ppid)
			     : snprintf(buf, size, "an unknown parent");

	if (g->parent >= 0 && t->m->procs[g->parent].cmdline && n > 0 && (size_t)n < size)
		snprintf(buf + n, size - (size_t)n, " (%s)",
			 cmd_cut(t, &t->m->procs[g->parent], cmd, sizeof(cmd), 40));
	return buf;
}

/* Percent of a over b, or 0 when b is 0. */
static char *pct_of(double a, double b, char *buf)
{
	return cs_fmt_pct(b > 0 ? 100.0 * a / b : 0, buf, 16);
}

/* Percent of what each child shared that x is, on average: "12.5% of what each shared, ...". */
static void pct_each(text_t *t, const cs_totals_t *s, double x)
{
	char pct[16];

	fprintf(t->f, "%s%% of what %s", pct_of(x, s->shared_bytes, pct),
		s->measured == 1 ? "it shared" : "each shared, on average");
}

/* What the measured children of g hold: private copies, or unshared pages if not split. */
static void group_copies(text_t *t, const cs_bill_group_t *g)
{
	const cs_totals_t *s = &g->t;
	char a[16], them[48];

	if (s->measured < s->children)
		snprintf(them, sizeof(them), "the %zu with figures", s->measured);
	else
		snprintf(them, sizeof(them), "%s", plural(s->children, "it", "they"));
	if (s->child_copied >= 0) {
		fprintf(t->f, "; %s %s %s MiB of private copies (", them,
			plural(s->measured, "holds", "hold"), cs_fmt_mib(s->copied_bytes, a, 16));
		pct_each(t, s, s->copied_bytes);
		fputc(')', t->f);
		return;
	}
	fprintf(t->f, "; %s MiB unshared in %s (", cs_fmt_mib(s->unshared_bytes, a, 16),
		s->measured < s->children ? them : plural(s->children, "it", "them"));
	pct_each(t, s, s->unshared_bytes);
	fprintf(t->f,
		"; the %s backend cannot tell the children's copies from the parent's writes)",
		cs_backend_name(g->backend));
}

/* The children's changed words summed: "changed words: 12 MiB copied to change 96 KiB (128×)". */
static void amp_total(text_t *t, const cs_totals_t *s)
{
	const cs_ampsum_t *a = &s->amp[CS_DIFF_CHILD];
	char b1[32], b2[32], x[32], n[32];
	const char *about = a->estimated ? "\u2248" : "";

	if (!a->known)
		return;
	fprintf(t->f, "  changed words (%zu %s compared): %s%s of copies changed %s%s (%s); ",
		a->known, plural(a->known, "child", "children"), about,
		cs_fmt_bytes(a->comparable_bytes, b1, sizeof(b1)), about,
		cs_fmt_bytes(a->changed_bytes, b2, sizeof(b2)),
		cs_fmt_amp(a->amplification, true, a->compared > 0, a->estimated, x, sizeof(x)));
	fprintf(t->f, "%s%s %s copied for no net change", about,
		cs_fmt_count(a->noop_pages, n, sizeof(n)), a->noop_pages == 1 ? "page" : "pages");
	if (a->unknown > 0)
		fprintf(t->f, "; %s not comparable",
			cs_fmt_count((double)a->unknown, n, sizeof(n)));
	fputc('\n', t->f);
}

/* One parent: its shared memory once, what its children copied, what it unshared itself. */
static void group_line(text_t *t, const cs_bill_group_t *g)
{
	const cs_totals_t *s = &g->t;
	char who[200], a[16];

	fprintf(t->f, "%s: %zu %s ", parent_name(t, g, who, sizeof(who)), s->children,
		plural(s->children, "child", "children"));
	if (g->shared_at_fork < 0) {
		fprintf(t->f, "without figures\n");
		return;
	}
	fprintf(t->f, "%s %s MiB from it", plural(s->children, "shares", "share"),
		cs_fmt_mib(g->shared_bytes, a, sizeof(a)));
	if (s->measured)
		group_copies(t, g);
	if (s->measured && g->parent_unshared >= 0)
		fprintf(t->f, "; the parent unshared %s MiB",
			cs_fmt_mib(g->punshared_bytes, a, 16));
	fputc('\n', t->f);
	amp_total(t, s);
}

/* Over every parent: shared memory counted once per parent, copies summed. */
static void grand_total(text_t *t, const cs_bill_t *b)
{
	char a[16], c[16], p[16];

	fprintf(t->f, "all %zu parents: %s MiB shared at fork (each parent's once)", b->ngroups,
		b->shared_at_fork >= 0 ? cs_fmt_mib(b->shared_bytes, a, 16) : "?");
	if (b->t.measured && b->t.child_copied >= 0)
		fprintf(t->f, ", %s MiB of private copies in %zu %s",
			cs_fmt_mib(b->t.copied_bytes, c, 16), b->t.measured,
			plural(b->t.measured, "child", "children"));
	else if (b->t.measured && b->t.unshared >= 0)
		fprintf(t->f, ", %s MiB unshared in %zu %s", cs_fmt_mib(b->t.unshared_bytes, c, 16),
			b->t.measured, plural(b->t.measured, "child", "children"));
	if (b->parent_unshared >= 0)
		fprintf(t->f, ", %s MiB unshared by the parents",
			cs_fmt_mib(b->punshared_bytes, p, 16));
	fputc('\n', t->f);
}

/* Children without figures, and why: never the backend's fault. */
static void missing(text_t *t, const cs_totals_t *s)
{
	if (s->no_sample)
		fprintf(t->f, "%zu %s before any sample: no figures\n", s->no_sample,
			plural(s->no_sample, "child ended", "children ended"));
	if (s->no_fork_snap)
		fprintf(t->f, "%zu %s no fork snapshot: no figures\n", s->no_fork_snap,
			plural(s->no_fork_snap, "child has", "children have"));
}

/* Whether a parent's bill line is listed: --all, or one of its children is. */
static bool bill_listed(text_t *t, const cs_bill_t *b, const cs_bill_group_t *g)
{
	for (size_t k = 0; k < g->t.children; k++)
		if (cs_text_listed(t->m, t->o, b->kids[g->first + k]))
			return true;
	return false;
}

/* The memory bill: a line per parent, the grand total over parents, what is missing. */
static int totals_line(text_t *t)
{
	size_t hidden = 0;
	cs_bill_t b;
	int err = cs_bill_compute(t->m, &b);

	if (err)
		return err;
	if (!b.ngroups)
		fprintf(t->f, "no forked children\n");
	for (size_t i = 0; i < b.ngroups; i++)
		if (bill_listed(t, &b, &b.groups[i]))
			group_line(t, &b.groups[i]);
		else
			hidden++;
	if (hidden)
		fprintf(t->f, "%zu more parent%s of folded processes only: --all shows %s\n",
			hidden, hidden == 1 ? "" : "s", hidden == 1 ? "it" : "them");
	if (b.ngroups > 1)
		grand_total(t, &b);
	missing(t, &b.t);
	cs_bill_free(&b);
	return 0;
}

/* The totals after the children's teardowns, when some child went on after its working snapshot. */
static void teardown_totals(text_t *t)
{
	cs_endtot_t e;
	char a[16], pct[16];
	double u;

	cs_endtot_init(&e);
	for (size_t i = 0; i < t->m->nprocs; i++)
		if (t->m->procs[i].role == CS_ROLE_CHILD)
			cs_endtot_add(&e, &t->m->procs[i]);
	cs_endtot_finish(&e);
	if (!e.later || !(e.shared_bytes > 0))
		return;
	u = e.child_copied >= 0 ? e.copied_bytes : e.unshared_bytes;
	fprintf(t->f,
		"  after teardown (%zu of them went on after their working snapshot): %s MiB "
		"%s (%s%%)\n",
		e.later, cs_fmt_mib(u, a, sizeof(a)), e.child_copied >= 0 ? "copied" : "unshared",
		cs_fmt_pct(100.0 * u / e.shared_bytes, pct, sizeof(pct)));
}

/* The report's sections in order, to t->f. */
static int sections(text_t *t)
{
	int err;

	header(t);
	backend(t);
	allocator(t);
	sampling(t);
	err = cs_text_verdict(t->f, t->m, t->o);
	if (!err)
		err = tree(t);
	children(t);
	teardown(t);
	if (!err)
		err = cs_render_text_events(t->f, t->m, t->o);
	if (!err)
		err = cs_render_text_amp(t->f, t->m, t->o);
	if (!err)
		err = mappings(t);
	if (!err)
		err = cs_render_text_sites(t->f, t->m, t->o);
	if (!err)
		err = cs_render_text_labels(t->f, t->m, t->o);
	if (!err)
		err = cs_render_text_writers(t->f, t->m, t->o);
	notes(t);
	shim_line(t);
	if (!err)
		err = totals_line(t);
	teardown_totals(t);
	return err;
}

int cs_render_text(FILE *f, const cs_model_t *m, const cs_render_opts_t *o)
{
	char *buf = NULL;
	size_t len = 0;
	text_t t = { .f = o->all ? f : open_memstream(&buf, &len), .m = m, .o = o };
	int err;

	if (!t.f)
		return -ENOMEM;
	err = sections(&t);
	if (t.f != f && fclose(t.f) && !err)
		err = -ENOMEM;
	if (t.f != f && !err)
		err = cs_text_emit_cut(f, buf, len);
	free(buf);
	if (!err && ferror(f))
		err = -EIO;
	return err;
}
