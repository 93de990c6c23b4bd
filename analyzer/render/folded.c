/* SPDX-License-Identifier: MIT */
/* Folded stacks of the allocation sites (or writers, mappings, processes), weighted by copied pages. */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "render.h"
#include "sitetab.h"
#include "story.h"
#include "vec.h"

typedef struct line {
	char *text; /* frames, outermost first, joined by ';' */
	double weight;
} line_t;

typedef struct buf {
	char *p;
	size_t n, cap;
} buf_t;

/* Append n bytes of s, with ';' (the frame separator) and control characters replaced. */
static int put(buf_t *b, const char *s, size_t n)
{
	if (cs_vec_reserve((void **)&b->p, &b->cap, b->n, n + 1, 1))
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		b->p[b->n++] = c == ';' ? ':' : (c < 0x20 || c == 0x7f) ? '?' : (char)c;
	}
	b->p[b->n] = 0;
	return 0;
}

static int puts_(buf_t *b, const char *s)
{
	return put(b, s, strlen(s));
}

/*
 * The function's name, as perf's folded stacks have it (no module: names stay
 * free of spaces the tools would not expect); "module+0xoff" without symbols;
 * "[unknown]" outside every module.
 */
static int label(buf_t *b, const cs_frame_t *f)
{
	char off[32];
	int err;

	if (f->function)
		return puts_(b, f->function);
	if (!f->module)
		return puts_(b, "[unknown]");
	snprintf(off, sizeof(off), "+0x%" PRIx64, f->offset);
	err = puts_(b, f->module);
	return err ? err : puts_(b, off);
}

static int stack_text(buf_t *b, const cs_site_t *s)
{
	int err = 0;

	b->n = 0;
	if (s->bucket) {
		err = puts_(b, "[");
		if (!err)
			err = puts_(b, s->bucket);
		return err ? err : puts_(b, "]");
	}
	for (size_t i = s->nframes; i-- > 0 && !err;) {
		err = label(b, &s->frames[i]);
		if (!err && i && !cs_vec_reserve((void **)&b->p, &b->cap, b->n, 2, 1))
			memcpy(b->p + b->n++, ";", 2); /* the separator, not through put() */
		else if (!err && i)
			err = -ENOMEM;
	}
	return err;
}

static double weight_of(const cs_site_t *s)
{
	double w = s->child_copied == s->child_copied ? s->child_copied : s->unshared;

	return w == w ? w : 0;
}

static int cmp_line(const void *x, const void *y)
{
	return strcmp(((const line_t *)x)->text, ((const line_t *)y)->text);
}

static int make_lines(const cs_site_t *v, size_t n, line_t *lines, size_t *nlines)
{
	buf_t b = { 0 };
	int err = 0;

	*nlines = 0;
	for (size_t i = 0; i < n && !err; i++) {
		if (!(weight_of(&v[i]) > 0))
			continue;
		err = stack_text(&b, &v[i]);
		if (!err && !(lines[*nlines].text = strndup(b.p ? b.p : "", b.n)))
			err = -ENOMEM;
		if (!err)
			lines[(*nlines)++].weight = weight_of(&v[i]);
	}
	free(b.p);
	return err;
}

/* Lines of the same text summed (sites that differ only by file:line), then printed. */
static void print_lines(FILE *f, line_t *lines, size_t n)
{
	long long w;

	if (n > 1)
		qsort(lines, n, sizeof(*lines), cmp_line);
	for (size_t i = 0; i < n; i++) {
		if (i + 1 < n && !strcmp(lines[i].text, lines[i + 1].text)) {
			lines[i + 1].weight += lines[i].weight;
			continue;
		}
		w = llround(lines[i].weight);
		if (w > 0)
			fprintf(f, "%s %lld\n", lines[i].text, w);
	}
}

/*
 * The writers of every child merged by key, as sites (frames or bucket, and
 * child-copied pages) so that they fold like the owners.
 */
static int writers_of_run(const cs_model_t *m, cs_site_t **out, size_t *nout)
{
	const cs_proc_t **ps = malloc((m->nprocs + 1) * sizeof(*ps));
	cs_wstack_t *w = NULL;
	size_t n = 0, nw = 0;
	int err = ps ? 0 : -ENOMEM;

	for (size_t i = 0; !err && i < m->nprocs; i++)
		if (m->procs[i].has_writers)
			ps[n++] = &m->procs[i];
	if (!err && n)
		err = cs_writers_merge(ps, n, &w, &nw);
	free(ps);
	*out = err ? NULL : calloc(nw + 1, sizeof(**out));
	if (!err && !*out)
		err = -ENOMEM;
	for (size_t i = 0; !err && i < nw; i++)
		(*out)[i] = (cs_site_t){ .frames = w[i].frames,
					 .nframes = w[i].nframes,
					 .bucket = w[i].bucket,
					 .key = w[i].key,
					 .child_copied = w[i].child_copied,
					 .unshared = w[i].child_copied };
	*nout = err ? 0 : nw;
	cs_writers_free(w, nw); /* frames, keys and buckets live in the model's arena */
	return err;
}

/* Folded lines being built: --by mapping and --by process. */
typedef struct lines {
	line_t *v;
	size_t n, cap;
	buf_t b; /* the line being made */
} lines_t;

/* Keep b's text as a line of weight pages (none for 0 or less). */
static int add_line(lines_t *ls, int64_t pages)
{
	if (pages <= 0)
		return 0;
	if (CS_VEC_GROW(ls->v, ls->n, ls->cap))
		return -ENOMEM;
	ls->v[ls->n].text = strndup(ls->b.p ? ls->b.p : "", ls->b.n);
	if (!ls->v[ls->n].text)
		return -ENOMEM;
	ls->v[ls->n++].weight = (double)pages;
	return 0;
}

/* The frame separator, not through put(). */
static int sep(buf_t *b)
{
	if (cs_vec_reserve((void **)&b->p, &b->cap, b->n, 2, 1))
		return -ENOMEM;
	memcpy(b->p + b->n++, ";", 2);
	return 0;
}

/* "worker 1 of 4 (pid 9117)": its label in the story (the program without one). */
static int proc_frame(buf_t *b, const cs_model_t *m, size_t i)
{
	const cs_pstory_t *ps = m->story ? &m->story->p[i] : NULL;
	const char *who = ps && ps->label[0] ? ps->label : ps ? ps->program : "process";
	char pid[32];

	snprintf(pid, sizeof(pid), " (pid %u)", m->procs[i].pid);
	return puts_(b, who) ? -ENOMEM : puts_(b, pid);
}

/* "gunicorn (pid 9116)": the program of the image that forked child i. */
static int parent_frame(buf_t *b, const cs_model_t *m, size_t i)
{
	const cs_proc_t *p = &m->procs[i];
	const char *prog = m->story && p->parent >= 0 ? m->story->p[p->parent].program : "?";
	char pid[32];

	if (p->ppid >= 0)
		snprintf(pid, sizeof(pid), " (pid %" PRId64 ")", p->ppid);
	else
		snprintf(pid, sizeof(pid), " (pid ?)");
	return puts_(b, prog) ? -ENOMEM : puts_(b, pid);
}

/* Whether the child's copies are split from the parent's (else lines weigh unshared pages). */
static bool split_of(const cs_figures_t *fig)
{
	return fig->child_copied >= 0;
}

/* A measured child's pages: child-copied, unshared where the backend cannot split; -1 if none. */
static int64_t child_pages(const cs_proc_t *p)
{
	if (!p->fig.from || p->fig.shared_at_fork < 0)
		return -1;
	return split_of(&p->fig) ? p->fig.child_copied : p->fig.unshared;
}

/*
 * One line per mapping with copies ("label (pid N);[heap]", "...;[anon 0x7f...]"
 * for an unnamed one), the copies outside W's mappings in "...;[unmapped]".
 */
static int mapping_lines(lines_t *ls, const cs_model_t *m, size_t i)
{
	const cs_figures_t *fig = &m->procs[i].fig;
	int64_t total = child_pages(&m->procs[i]), sum = 0, w;
	char kind[48];
	int err = 0;

	for (size_t k = 0; k < fig->nmaps && !err && total > 0; k++) {
		const cs_mapfig_t *mf = &fig->maps[k];

		w = split_of(fig) ? mf->child_copied : mf->unshared;
		snprintf(kind, sizeof(kind), "[%s 0x%" PRIx64 "]", cs_map_kind_name(mf->kind),
			 mf->start); /* unnamed: one line per mapping, by its start */
		ls->b.n = 0;
		if (!(err = proc_frame(&ls->b, m, i)) && !(err = sep(&ls->b)))
			err = puts_(&ls->b, mf->name && mf->name[0] ? mf->name : kind);
		if (!err && w > 0 && !(err = add_line(ls, w)))
			sum += w;
	}
	ls->b.n = 0;
	if (!err && total > sum && !(err = proc_frame(&ls->b, m, i)) && !(err = sep(&ls->b)))
		err = puts_(&ls->b, "[unmapped]"); /* copies in ranges unmapped before the end */
	return err ? err : add_line(ls, total - sum);
}

static int process_line(lines_t *ls, const cs_model_t *m, size_t i)
{
	int err;

	ls->b.n = 0;
	err = parent_frame(&ls->b, m, i);
	if (!err && !(err = sep(&ls->b)))
		err = proc_frame(&ls->b, m, i);
	return err ? err : add_line(ls, child_pages(&m->procs[i]));
}

/*
 * --by label:KIND: a line per label of each child's table of kind (its frames, outermost
 * first, split on ';' as python-line labels are), and "[not labelled]".
 */
static int label_lines(lines_t *ls, const cs_model_t *m, size_t i, const char *kind)
{
	const cs_proc_t *p = &m->procs[i];
	const cs_ltab_t *t = cs_ltabs_find(p->labels.tabs, p->labels.ntabs, kind);
	int err = 0;

	for (size_t k = 0; t && k <= t->nrows && !err; k++) {
		const cs_lrow_t *r = k < t->nrows ? &t->rows[k] : &t->rest;
		const char *s = k < t->nrows ? r->label : "[not labelled]";
		double w = cs_lrow_key(t, r);

		ls->b.n = 0;
		for (const char *e; !err && (e = strchr(s, ';')); s = e + 1)
			err = put(&ls->b, s, (size_t)(e - s)) ? -ENOMEM : sep(&ls->b);
		err = err ? err : puts_(&ls->b, s);
		if (!err && w > 0 && CS_VEC_GROW(ls->v, ls->n, ls->cap))
			err = -ENOMEM;
		if (!err && w > 0 && !(ls->v[ls->n].text = strndup(ls->b.p, ls->b.n)))
			err = -ENOMEM;
		if (!err && w > 0)
			ls->v[ls->n++].weight = w;
	}
	return err;
}

/* --by mapping and --by process: lines per measured child, sorted, printed. */
static int fold_children(FILE *f, const cs_model_t *m, int by, const char *kind)
{
	lines_t ls = { 0 };
	int err = 0;

	for (size_t i = 0; i < m->nprocs && !err; i++)
		if (by == CS_BY_LABEL)
			err = label_lines(&ls, m, i, kind);
		else if (child_pages(&m->procs[i]) > 0)
			err = by == CS_BY_MAPPING ? mapping_lines(&ls, m, i)
						  : process_line(&ls, m, i);
	if (!err)
		print_lines(f, ls.v, ls.n);
	for (size_t i = 0; i < ls.n; i++)
		free(ls.v[i].text);
	free(ls.v);
	free(ls.b.p);
	if (!err && ferror(f))
		err = -EIO;
	return err;
}

int cs_render_folded(FILE *f, const cs_model_t *m, const cs_render_opts_t *o)
{
	cs_site_t *v = NULL;
	line_t *lines = NULL;
	size_t n = 0, nlines = 0;
	int err;

	if (o && (o->by == CS_BY_MAPPING || o->by == CS_BY_PROCESS || o->by == CS_BY_LABEL))
		return fold_children(f, m, o->by, o->label_kind ? o->label_kind : "");
	err = o && o->by == CS_BY_WRITER ? writers_of_run(m, &v, &n) : cs_sites_of_run(m, &v, &n);
	if (!err && !(lines = calloc(n + 1, sizeof(*lines))))
		err = -ENOMEM;
	if (!err)
		err = make_lines(v, n, lines, &nlines);
	if (!err)
		print_lines(f, lines, nlines);
	for (size_t i = 0; lines && i < nlines; i++)
		free(lines[i].text);
	free(lines);
	free(v);
	if (!err && ferror(f))
		err = -EIO;
	return err;
}
