/* SPDX-License-Identifier: MIT */
/* The text report's writer sections (format 1.5): who wrote the copied pages, into whose objects. */
#include <stdio.h>
#include <string.h>
#include "render.h"
#include "text.h"

/* Owner sites shown per writer. */
#define OWNERS_SHOWN 3

/* A short name: the innermost frame's function, else its label; a bucket's name. */
static const char *short_name(const cs_frame_t *f, size_t n, const char *bucket, char *buf,
			      size_t size)
{
	if (bucket || !n) {
		snprintf(buf, size, "[%s]", bucket ? bucket : "no frames");
		return buf;
	}
	if (f[0].function)
		return cs_clean_text(f[0].function, strlen(f[0].function), buf, size);
	return cs_frame_label(&f[0], buf, size);
}

void cs_print_writer_chain(FILE *f, const cs_wstack_t *w, size_t max_frames)
{
	char buf[512];

	if (!w->nframes) {
		fprintf(f, "[%s]\n", w->bucket ? w->bucket : "no frames");
		return;
	}
	for (size_t i = 0; i < w->nframes && i < max_frames; i++)
		fprintf(f, "%*s%s\n", i ? 16 : 0, "",
			cs_frame_label(&w->frames[i], buf, sizeof(buf)));
	if (w->nframes > max_frames)
		fprintf(f, "%16s… %zu more frame%s\n", "", w->nframes - max_frames,
			w->nframes - max_frames == 1 ? "" : "s");
}

/* "dict_lookup wrote into objects allocated at load_config: 8,210 pages" per owner. */
static void owners(FILE *f, const cs_wstack_t *w)
{
	char who[256], at[256], n[32];

	short_name(w->frames, w->nframes, w->bucket ? "writes no sample saw" : NULL, who,
		   sizeof(who));
	for (size_t i = 0; i < w->nowners && i < OWNERS_SHOWN; i++) {
		const cs_site_t *o = &w->owners[i];

		cs_fmt_count(o->child_copied, n, sizeof(n));
		if (o->bucket)
			fprintf(f, "%16s%s wrote into %s: %s pages\n", "", who,
				cs_clean_text(o->bucket, strlen(o->bucket), at, sizeof(at)), n);
		else
			fprintf(f, "%16s%s wrote into objects allocated at %s: %s pages\n", "", who,
				short_name(o->frames, o->nframes, NULL, at, sizeof(at)), n);
	}
	if (w->nowners > OWNERS_SHOWN)
		fprintf(f, "%16s… %zu more owner sites\n", "", w->nowners - OWNERS_SHOWN);
}

static void table(FILE *f, const cs_wstack_t *v, size_t n, unsigned top)
{
	char pages[32];

	fprintf(f, "       PAGES  WRITER (the faulting instruction first)\n");
	for (size_t i = 0; i < n && i < top; i++) {
		fprintf(f, "  %10s  ", cs_fmt_count(v[i].child_copied, pages, sizeof(pages)));
		cs_print_writer_chain(f, &v[i], 4);
		owners(f, &v[i]);
	}
	if (n > top)
		fprintf(f, "  … %zu more writers\n", n - top);
}

static void child_writers(FILE *f, const cs_proc_t *p, unsigned top)
{
	char s[32], l[32];

	fprintf(f, "  pid %u (%s samples, %s lost%s):\n", (unsigned)p->pid,
		cs_fmt_count((double)p->ws.n, s, sizeof(s)),
		cs_fmt_count((double)p->ws.lost, l, sizeof(l)),
		p->ws.lost ? ": raise COWSCOPE_WRITERS_BUFFER; pages whose write was lost are in "
			     "the bucket"
			   : "");
	if (!p->nwriters)
		fprintf(f, "  no pages copied\n");
	else
		table(f, p->writers, p->nwriters, top);
}

static void group_writers(FILE *f, const cs_model_t *m, const cs_group_t *g, unsigned top)
{
	char s[32], l[32];

	char who[200];

	if (m->story && g->sib >= 0)
		cs_text_sib_name(m, (size_t)g->sib, who, sizeof(who));
	else
		snprintf(who, sizeof(who), "%zu children of pid %u", g->nchildren,
			 (unsigned)m->procs[g->parent].pid);
	fprintf(f, "\ntop %u writers by pages copied, summed over the %s (%s samples, %s lost):\n",
		top, who, cs_fmt_count((double)g->writer_samples, s, sizeof(s)),
		cs_fmt_count((double)g->writer_samples_lost, l, sizeof(l)));
	table(f, g->writers, g->nwriters, top);
}

int cs_render_text_writers(FILE *f, const cs_model_t *m, const cs_render_opts_t *o)
{
	bool any = false;

	for (size_t i = 0; i < m->nprocs && o->top; i++) {
		if (!m->procs[i].has_writers || !cs_text_listed(m, o, i) ||
		    cs_text_grouped(m, o, i))
			continue;
		if (!any)
			fprintf(f,
				"\ntop %u writers by pages copied (the code whose write copied each "
				"page, and whose objects it wrote; docs/writers.md):\n",
				o->top);
		any = true;
		child_writers(f, &m->procs[i], o->top);
	}
	for (size_t i = 0; i < m->ngroups && o->top; i++)
		if (m->groups[i].nchildren >= 2 && m->groups[i].nwriters &&
		    (o->all || !m->story || m->groups[i].sib < 0 ||
		     m->story->sibs[m->groups[i].sib].significant))
			group_writers(f, m, &m->groups[i], o->top);
	return 0;
}
