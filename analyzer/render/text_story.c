/* SPDX-License-Identifier: MIT */
/* The text report's story: the verdict, which processes it lists, folding, ranking, width. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include "text.h"

#define FOLD_NAMES 4 /* commands named on the fold line */

int cs_text_sort(const cs_model_t *m, const cs_render_opts_t *o)
{
	if (o->sort != CS_SORT_AUTO)
		return o->sort;
	return m->story ? m->story->dominant : CS_SORT_COPIED;
}

const char *cs_text_sort_words(int sort)
{
	return cs_sort_name(sort == CS_SORT_AUTO ? CS_SORT_COPIED : sort);
}

bool cs_text_listed(const cs_model_t *m, const cs_render_opts_t *o, size_t i)
{
	return o->all || !m->story || m->story->p[i].significant;
}

bool cs_text_grouped(const cs_model_t *m, const cs_render_opts_t *o, size_t i)
{
	const cs_story_t *s = m->story;

	return !o->per_process && s && s->p[i].sib >= 0 && s->sibs[s->p[i].sib].n >= 2;
}

/* The sum of the sort figure over a group's members (unknown ones count 0). */
static double sib_key(const cs_model_t *m, const cs_sib_t *g, int sort)
{
	double sum = 0;

	for (size_t j = 0; j < g->n; j++) {
		double k = cs_story_key(&m->procs[g->members[j]], sort);

		sum += isnan(k) ? 0 : k;
	}
	return sum;
}

typedef struct ranked {
	size_t g;
	double key;
} ranked_t;

static int cmp_ranked(const void *a, const void *b)
{
	const ranked_t *x = a, *y = b;

	if (x->key != y->key)
		return x->key > y->key ? -1 : 1;
	return (x->g > y->g) - (x->g < y->g);
}

long cs_text_sibs(const cs_model_t *m, const cs_render_opts_t *o, size_t **out)
{
	const cs_story_t *s = m->story;
	size_t n = 0, ns = s ? s->nsibs : 0;
	ranked_t *r = malloc((ns + 1) * sizeof(*r));
	size_t *v = malloc((ns + 1) * sizeof(*v));

	if (!r || !v) {
		free(r);
		free(v);
		return -ENOMEM;
	}
	for (size_t g = 0; g < ns; g++)
		if (o->all || s->sibs[g].significant)
			r[n++] = (ranked_t){ g, sib_key(m, &s->sibs[g], cs_text_sort(m, o)) };
	qsort(r, n, sizeof(*r), cmp_ranked);
	for (size_t k = 0; k < n; k++)
		v[k] = r[k].g;
	free(r);
	*out = v;
	return (long)n;
}

/* "gunicorn master (pid 812, via 2 execs)", "pid 812" without a trace of the parent. */
static char *parent_name(const cs_model_t *m, long par, int64_t ppid, char *buf, size_t size)
{
	const cs_pstory_t *ps = par >= 0 ? &m->story->p[par] : NULL;
	char prog[80];

	if (!ps) {
		snprintf(buf, size, "pid %lld", (long long)ppid);
		return buf;
	}
	cs_clean_text(ps->program, strlen(ps->program), prog, sizeof(prog));
	snprintf(buf, size, "%s%s%s (pid %u", prog, ps->role == CS_SR_MASTER ? " " : "",
		 ps->role == CS_SR_MASTER ? ps->label : "", (unsigned)m->procs[par].pid);
	if (ps->execs && size > strlen(buf)) /* the last image of an exec chain */
		snprintf(buf + strlen(buf), size - strlen(buf), ", via %u exec%s",
			 (unsigned)ps->execs, ps->execs == 1 ? "" : "s");
	if (size > strlen(buf) + 1)
		strcat(buf, ")");
	return buf;
}

char *cs_text_sib_name(const cs_model_t *m, size_t g, char *buf, size_t size)
{
	const cs_sib_t *s = &m->story->sibs[g];
	char par[160];

	parent_name(m, s->parent, s->ppid, par, sizeof(par));
	if (s->n >= 2)
		snprintf(buf, size, "%zu %s of %s", s->n, cs_sib_noun(s), par);
	else
		snprintf(buf, size, "the child of %s", par);
	return buf;
}

char *cs_text_member_name(const cs_model_t *m, size_t i, char *buf, size_t size)
{
	snprintf(buf, size, "%s (pid %u)", m->story->p[i].label, (unsigned)m->procs[i].pid);
	return buf;
}

const cs_group_t *cs_text_site_group(const cs_model_t *m, size_t g)
{
	for (size_t i = 0; i < m->ngroups; i++)
		if (m->groups[i].sib == (long)g)
			return &m->groups[i];
	return NULL;
}

/* ---- the verdict ------------------------------------------------------------------------ */

/* A growing line of text. */
typedef struct line {
	char buf[1024];
	size_t n;
} line_t;

static void add(line_t *l, const char *fmt, ...)
{
	va_list ap;
	int k;

	if (l->n + 1 >= sizeof(l->buf))
		return;
	va_start(ap, fmt);
	k = vsnprintf(l->buf + l->n, sizeof(l->buf) - l->n, fmt, ap);
	va_end(ap);
	if (k > 0)
		l->n = l->n + (size_t)k < sizeof(l->buf) ? l->n + (size_t)k : sizeof(l->buf) - 1;
}

static uint32_t page_size_of(const cs_model_t *m, const cs_sib_t *g)
{
	for (size_t j = 0; j < g->n; j++)
		if (m->procs[g->members[j]].page_size)
			return m->procs[g->members[j]].page_size;
	return 4096;
}

static char *mib(double pages, uint32_t ps, char *buf)
{
	return cs_fmt_mib(pages * ps, buf, 16);
}

/* The sort figure of a site: copied (unshared where not split), parent-unshared, unshared. */
double cs_text_site_key(const cs_site_t *s, bool split, int sort)
{
	double v = !split || sort == CS_SORT_UNSHARED ? s->unshared
		: sort == CS_SORT_PUNSHARED           ? s->parent_unshared
						      : s->child_copied;

	return v == v ? v : 0;
}

/* The site with the most of the sort figure among v[0..n), or NULL if none has any. */
static const cs_site_t *top_site(const cs_site_t *v, size_t n, bool split, int sort)
{
	const cs_site_t *best = NULL;

	for (size_t i = 0; i < n; i++)
		if (cs_text_site_key(&v[i], split, sort) > 0 &&
		    (!best ||
		     cs_text_site_key(&v[i], split, sort) > cs_text_site_key(best, split, sort)))
			best = &v[i];
	return best;
}

/*
 * A site's first frame with a name among its innermost four (a stripped module leaves some
 * unnamed, python3.11+0x… ← PyList_New), else its first: a name further out says where the
 * program started, not what allocated.
 */
static const cs_frame_t *first_named(const cs_site_t *s)
{
	for (size_t i = 0; i < s->nframes && i < 4; i++)
		if (s->frames[i].function)
			return &s->frames[i];
	return &s->frames[0];
}

/* "; most of it: PyUnicode_New [python3.11]" when the group's sites are known. */
static void most_of_it(line_t *l, const cs_model_t *m, size_t g, int sort)
{
	const cs_sib_t *s = &m->story->sibs[g];
	const cs_group_t *sg = s->n >= 2 ? cs_text_site_group(m, g) : NULL;
	const cs_proc_t *p = &m->procs[s->members[0]];
	const cs_site_t *top = sg ? top_site(sg->sites, sg->nsites, sg->split, sort)
				  : top_site(p->sites, p->nsites, p->fig.split, sort);
	char label[600];

	if (!top)
		return;
	if (top->bucket)
		snprintf(label, sizeof(label), "[%s]", top->bucket);
	else if (top->nframes)
		cs_frame_label(first_named(top), label, sizeof(label));
	else
		return;
	add(l, "; most of it: %s", cs_clean_text(label, strlen(label), label, sizeof(label)));
}

/* "; after teardown each worker held 16 MiB" (copied, or unshared where not split). */
static void teardown_clause(line_t *l, const cs_model_t *m, const cs_sib_t *s, uint32_t ps)
{
	double lo = INFINITY, hi = -INFINITY;
	size_t n = 0;
	char a[16], b[16];

	for (size_t j = 0; j < s->n; j++) {
		const cs_figures_t *f = &m->procs[s->members[j]].fig;
		int64_t v = f->at_end.child_copied >= 0 ? f->at_end.child_copied
							: f->at_end.unshared;

		if (!f->has_end || v < 0)
			continue;
		n++;
		lo = (double)v < lo ? (double)v : lo;
		hi = (double)v > hi ? (double)v : hi;
	}
	if (!n)
		return;
	mib(lo, ps, a);
	mib(hi, ps, b);
	if (s->n == 1)
		add(l, "; after teardown it held %s MiB", a);
	else if (n < s->n && !strcmp(a, b)) /* only those that went on past their working point */
		add(l, "; after teardown the %zu that went on held %s MiB each", n, a);
	else if (n < s->n)
		add(l, "; after teardown the %zu that went on held %s to %s MiB each", n, a, b);
	else if (!strcmp(a, b)) /* "19 to 19 MiB" says one figure twice */
		add(l, "; after teardown each %s held %s MiB", s->concurrent ? "worker" : "child",
		    a);
	else
		add(l, "; after teardown the %s held %s to %s MiB each", cs_sib_noun(s), a, b);
}

/* What the children hold: copies, or unshared pages; the retained share; the worst. */
static void copies_clause(line_t *l, const cs_model_t *m, const cs_sib_t *s, int sort, uint32_t ps)
{
	char a[16], who[80];
	bool split = !isnan(s->copied.sum);
	double ret = s->retained.median;

	if (split)
		add(l, " and %s %s MiB of private copies", s->n == 1 ? "holds" : "hold",
		    mib(s->copied.sum, ps, a));
	else if (!isnan(s->unshared.sum))
		add(l,
		    "; %s MiB unshared (the backend cannot tell copies from the parent's writes)",
		    mib(s->unshared.sum, ps, a));
	if (!isnan(ret))
		add(l, " (retained %.1f%%%s)", 100.0 * ret, s->measured > 1 ? ", median" : "");
	if (s->n >= 2 && s->worst >= 0)
		add(l, "; worst: %s, %s MiB",
		    cs_text_member_name(m, (size_t)s->worst, who, sizeof(who)),
		    mib(cs_story_key(&m->procs[s->worst], sort), ps, a));
}

/* One sibling group's verdict, wrapped. */
static void verdict_sib(FILE *f, const cs_model_t *m, size_t g, int sort)
{
	const cs_sib_t *s = &m->story->sibs[g];
	uint32_t ps = page_size_of(m, s);
	line_t l = { .n = 0 };
	char par[160], a[16], b[16];

	parent_name(m, s->parent, s->ppid, par, sizeof(par));
	if (s->n >= 2)
		add(&l, "%s forked %zu %s", par, s->n, cs_sib_noun(s));
	else
		add(&l, "%s forked 1 child (pid %u)", par, (unsigned)m->procs[s->members[0]].pid);
	if (!s->measured || isnan(s->shared.max)) {
		add(&l, "; no figures");
		cs_text_wrap(f, l.buf, 4);
		return;
	}
	add(&l, "; %s %s MiB from it", s->n == 1 ? "it shares" : "they share",
	    mib(s->shared.max, ps, a));
	if (sort == CS_SORT_PUNSHARED && !isnan(s->punshared.max))
		add(&l, "; the parent unshared %s MiB while %s lived (%s copied %s MiB)",
		    mib(s->punshared.max, ps, a), s->n == 1 ? "the child" : "they",
		    s->n == 1 ? "the child" : "the children",
		    mib(isnan(s->copied.sum) ? 0 : s->copied.sum, ps, b));
	else
		copies_clause(&l, m, s, sort, ps);
	most_of_it(&l, m, g, sort);
	teardown_clause(&l, m, s, ps);
	cs_text_wrap(f, l.buf, 4);
}

int cs_text_verdict(FILE *f, const cs_model_t *m, const cs_render_opts_t *o)
{
	size_t *v = NULL;
	long n = m->story ? cs_text_sibs(m, o, &v) : 0;

	if (n < 0)
		return (int)n;
	if (n)
		fprintf(f, "\nverdict:\n");
	for (long k = 0; k < n; k++)
		verdict_sib(f, m, v[k], cs_text_sort(m, o));
	cs_text_fold_line(f, m, o);
	free(v);
	return 0;
}

/* ---- folding ---------------------------------------------------------------------------- */

typedef struct tally {
	const char *name;
	size_t n;
} tally_t;

static int cmp_tally(const void *a, const void *b)
{
	const tally_t *x = a, *y = b;

	if (x->n != y->n)
		return x->n > y->n ? -1 : 1;
	return strcmp(x->name, y->name);
}

/* The programs of the folded children (the image each ran last), counted, most first. */
static size_t fold_tally(const cs_model_t *m, tally_t *v)
{
	const cs_story_t *s = m->story;
	size_t n = 0, k;

	for (size_t g = 0; g < s->nsibs; g++)
		for (size_t j = 0; j < s->sibs[g].n; j++) {
			size_t i = s->sibs[g].members[j];
			const char *name = s->p[s->p[i].chain_last].program;

			if (s->p[i].significant)
				continue;
			for (k = 0; k < n && strcmp(v[k].name, name); k++)
				;
			if (k == n)
				v[n++] = (tally_t){ name, 0 };
			v[k].n++;
		}
	qsort(v, n, sizeof(*v), cmp_tally);
	return n;
}

void cs_text_fold_line(FILE *f, const cs_model_t *m, const cs_render_opts_t *o)
{
	const cs_story_t *s = m->story;
	tally_t *v;
	size_t n;
	line_t l = { .n = 0 };
	char a[16], name[80];

	if (!s || !s->folded || o->all || !(v = malloc(s->folded * sizeof(*v))))
		return;
	n = fold_tally(m, v);
	add(&l, "%zu more process%s (", s->folded, s->folded == 1 ? "" : "es");
	for (size_t k = 0; k < n && k < FOLD_NAMES; k++)
		add(&l, "%s%s \u00d7%zu", k ? ", " : "",
		    cs_clean_text(v[k].name, strlen(v[k].name), name, sizeof(name)), v[k].n);
	add(&l, "%s), each < %s MiB shared and new: --all shows them",
	    n > FOLD_NAMES ? ", \u2026" : "", cs_fmt_mib(s->threshold_bytes, a, sizeof(a)));
	cs_text_wrap(f, l.buf, 4);
	free(v);
}

/* ---- width ------------------------------------------------------------------------------ */

/* Terminal columns of the n bytes at s: UTF-8 code points. */
static size_t columns(const char *s, size_t n)
{
	size_t c = 0;

	for (size_t i = 0; i < n; i++)
		c += ((unsigned char)s[i] & 0xc0) != 0x80;
	return c;
}

/* Bytes of s (n bytes) that hold its first cols code points. */
static size_t bytes_for(const char *s, size_t n, size_t cols)
{
	size_t i = 0, c = 0;

	for (; i < n; i++) {
		if (((unsigned char)s[i] & 0xc0) == 0x80)
			continue;
		if (c == cols)
			break;
		c++;
	}
	return i;
}

/* Write n bytes of text wrapped at CS_TEXT_WIDTH: the first line after pad spaces, the
 * others after indent; a word longer than a line is cut with "…". */
static void wrap_n(FILE *f, const char *text, size_t n, int pad, int indent)
{
	size_t at = 0;

	while (at < n) {
		size_t room = CS_TEXT_WIDTH - (size_t)pad,
		       take = bytes_for(text + at, n - at, room);
		size_t shown, sp = take;

		if (at + take < n) { /* break at the last space that fits */
			while (sp > 0 && text[at + sp] != ' ')
				sp--;
			if (!sp) { /* one word wider than the line: cut it */
				fprintf(f, "%*s%.*s\u2026\n", pad, "",
					(int)bytes_for(text + at, n - at, room - 1), text + at);
				while (at < n && text[at] != ' ')
					at++;
			}
			take = sp;
		}
		for (shown = take; shown > 0 && text[at + shown - 1] == ' '; shown--)
			;
		if (take)
			fprintf(f, "%*s%.*s\n", pad, "", (int)shown, text + at);
		at += take;
		while (at < n && text[at] == ' ')
			at++;
		pad = indent;
	}
}

char *cs_text_cut(char *buf, size_t size, size_t cols)
{
	size_t n = strlen(buf), k;

	if (columns(buf, n) <= cols || cols < 1)
		return buf;
	k = bytes_for(buf, n, cols - 1);
	if (k + 4 <= size)
		memcpy(buf + k, "\u2026", 4); /* "…" and the NUL */
	return buf;
}

void cs_text_wrap(FILE *f, const char *text, int indent)
{
	wrap_n(f, text, strlen(text), 2, indent);
}

int cs_text_emit_cut(FILE *f, const char *buf, size_t len)
{
	size_t at = 0;

	while (at < len) {
		const char *nl = memchr(buf + at, '\n', len - at);
		size_t n = nl ? (size_t)(nl - (buf + at)) : len - at, lead = 0;

		while (lead < n && buf[at + lead] == ' ')
			lead++;
		if (columns(buf + at, n) > CS_TEXT_WIDTH && lead <= 8) /* prose: wrap it */
			wrap_n(f, buf + at + lead, n - lead, (int)lead, (int)lead + 4);
		else if (columns(buf + at, n) > CS_TEXT_WIDTH) /* a stack frame, a table: cut */
			fprintf(f, "%.*s\u2026\n", (int)bytes_for(buf + at, n, CS_TEXT_WIDTH - 1),
				buf + at);
		else
			fprintf(f, "%.*s%s", (int)n, buf + at, nl ? "\n" : "");
		at += n + (nl != NULL);
	}
	return ferror(f) ? -EIO : 0;
}
