/* SPDX-License-Identifier: MIT */
/* Stacks for a person: allocator frames hidden, unnamed runs folded, 100 columns, look-alikes told apart. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include "render.h"
#include "symbolize.h"

/* What a printed stack line is: one frame, a run of unnamed frames folded, or the rest. */
enum sline_kind { SL_FRAME, SL_RUN, SL_MORE };

typedef struct sline {
	int kind;    /* enum sline_kind */
	size_t from; /* first frame */
	size_t n;    /* frames it stands for */
} sline_t;

/* The lines of a stack: at most max_frames named ones, a run between each two, the rest. */
typedef struct splan {
	sline_t *v;
	size_t n;
} splan_t;

#define MAX_SHOWN 64 /* max_frames beyond this are taken as this */
#define PLAN_CAP (2 * MAX_SHOWN + 2)

static const char *base_name(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash ? slash + 1 : path;
}

char *cs_frame_label(const cs_frame_t *f, char *buf, size_t size)
{
	char raw[512], mod[128] = "", line[32] = "";

	if (f->module && !f->main_program)
		snprintf(mod, sizeof(mod), " [%s]", f->module);
	if (f->line >= 0)
		snprintf(line, sizeof(line), ":%" PRId64, f->line);
	if (f->function && f->file)
		snprintf(raw, sizeof(raw), "%s %s%s%s%s", f->function, base_name(f->file), line,
			 mod, f->inlined ? " (inlined)" : "");
	else if (f->function)
		snprintf(raw, sizeof(raw), "%s [%s]", f->function, f->module ? f->module : "?");
	else if (f->module)
		snprintf(raw, sizeof(raw), "%s+0x%" PRIx64, f->module, f->offset);
	else
		snprintf(raw, sizeof(raw), "0x%" PRIx64, f->offset);
	return cs_clean_text(raw, strlen(raw), buf, size);
}

static void add_line(splan_t *p, int kind, size_t from, size_t n)
{
	if (p->n < PLAN_CAP)
		p->v[p->n++] = (sline_t){ .kind = kind, .from = from, .n = n };
}

/* Whether some frame of f[from..n) has a name. */
static bool any_named(const cs_frame_t *f, size_t from, size_t n)
{
	for (size_t i = from; i < n; i++)
		if (f[i].function)
			return true;
	return false;
}

/* Nothing named to prefer: the first max frames as they are, then the rest. */
static void plan_plain(splan_t *p, size_t from, size_t n, size_t max)
{
	size_t i = from;

	for (; i < n && i - from < max; i++)
		add_line(p, SL_FRAME, i, 1);
	if (i < n)
		add_line(p, SL_MORE, i, n - i);
}

/*
 * The lines of frames f[0..n): past the allocator's leading frames
 * (cs_sym_alloc_frames), the first max named frames, each run of unnamed
 * frames before one of them folded into a line (a run of one is the frame
 * itself), then "… N more frames" for the rest.
 */
static void plan_stack(splan_t *p, const cs_frame_t *f, size_t n, size_t max)
{
	size_t i = cs_sym_alloc_frames(f, n), j, shown = 0;

	p->n = 0;
	max = max < MAX_SHOWN ? max : MAX_SHOWN;
	if (!any_named(f, i, n)) {
		plan_plain(p, i, n, max);
		return;
	}
	while (i < n && shown < max) {
		for (j = i; j < n && !f[j].function; j++)
			;
		if (j == n)
			break; /* unnamed to the end: the rest */
		if (j > i)
			add_line(p, j - i == 1 ? SL_FRAME : SL_RUN, i, j - i);
		add_line(p, SL_FRAME, j, 1);
		shown++;
		i = j + 1;
	}
	if (i < n)
		add_line(p, SL_MORE, i, n - i);
}

/* The module of all of f[from..from+n), or NULL when they differ or have none. */
static const char *run_module(const cs_frame_t *f, size_t from, size_t n)
{
	const char *m = f[from].module;

	for (size_t i = from + 1; m && i < from + n; i++)
		if (!f[i].module || strcmp(f[i].module, m))
			return NULL;
	return m;
}

/* Cut buf to cols terminal columns (UTF-8 aware), "…" last when it is cut. */
static char *fit(char *buf, size_t size, int cols)
{
	size_t cut = 0, seen = 0, i;

	for (i = 0; buf[i]; i++) {
		if (((unsigned char)buf[i] & 0xc0) == 0x80)
			continue;
		if ((int)seen == cols - 1)
			cut = i;
		seen++;
	}
	if ((int)seen > cols && cut + sizeof("\u2026") <= size)
		strcpy(buf + cut, "\u2026");
	return buf;
}

/* The text of line l of frames f, cut to cols columns. Returns buf. */
static char *line_text(const cs_frame_t *f, const sline_t *l, int cols, char *buf, size_t size)
{
	char mod[160];
	const char *m;

	if (l->kind == SL_FRAME)
		cs_frame_label(&f[l->from], buf, size);
	else if (l->kind == SL_MORE)
		snprintf(buf, size, "\u2026 %zu more frame%s", l->n, l->n == 1 ? "" : "s");
	else if ((m = run_module(f, l->from, l->n)))
		snprintf(buf, size, "\u2026 %zu frames without symbols in %s", l->n,
			 cs_clean_text(m, strlen(m), mod, sizeof(mod)));
	else
		snprintf(buf, size, "\u2026 %zu frames without symbols", l->n);
	return fit(buf, size, cols);
}

/* Columns a line may take after an indent, within CS_STACK_COLUMNS. */
static int columns(int indent)
{
	int cols = CS_STACK_COLUMNS - (indent > 0 ? indent : 0);

	return cols < 24 ? 24 : cols;
}

void cs_print_site_stack(FILE *f, const cs_site_t *s, size_t max_frames, int indent)
{
	sline_t v[PLAN_CAP];
	splan_t p = { .v = v };
	char label[600];

	if (s->bucket) {
		snprintf(label, sizeof(label), "[%s]", s->bucket);
		cs_clean_text(label, strlen(label), label, sizeof(label));
		fprintf(f, "%s\n", fit(label, sizeof(label), columns(indent)));
		return;
	}
	plan_stack(&p, s->frames, s->nframes, max_frames);
	for (size_t i = 0; i < p.n; i++)
		fprintf(f, "%*s%s\n", i ? indent : 0, "",
			line_text(s->frames, &v[i], columns(indent), label, sizeof(label)));
}

/* Whether sites a and b print the same lines. */
static bool same_print(const cs_site_t *a, const cs_site_t *b, size_t max)
{
	sline_t va[PLAN_CAP], vb[PLAN_CAP];
	splan_t pa = { .v = va }, pb = { .v = vb };
	char x[600], y[600];

	if (a->bucket || b->bucket)
		return false;
	plan_stack(&pa, a->frames, a->nframes, max);
	plan_stack(&pb, b->frames, b->nframes, max);
	if (pa.n != pb.n)
		return false;
	for (size_t i = 0; i < pa.n; i++)
		if (strcmp(line_text(a->frames, &va[i], 600, x, sizeof(x)),
			   line_text(b->frames, &vb[i], 600, y, sizeof(y))))
			return false;
	return true;
}

/* The first frame where a and b differ (by label), or the shorter one's depth. */
static size_t first_diff(const cs_site_t *a, const cs_site_t *b)
{
	char x[600], y[600];
	size_t i = 0;

	for (; i < a->nframes && i < b->nframes; i++)
		if (strcmp(cs_frame_label(&a->frames[i], x, sizeof(x)),
			   cs_frame_label(&b->frames[i], y, sizeof(y))))
			break;
	return i;
}

bool cs_site_display_via(const cs_site_t *s, const cs_site_t *rows, size_t nrows, size_t max_frames,
			 size_t *via)
{
	bool found = false;

	*via = 0;
	for (size_t i = 0; i < nrows; i++) {
		size_t d;

		if (&rows[i] == s || !same_print(s, &rows[i], max_frames))
			continue;
		d = first_diff(s, &rows[i]);
		*via = !found || d > *via ? d : *via;
		found = true;
	}
	return found;
}

void cs_print_site_stack_among(FILE *f, const cs_site_t *s, const cs_site_t *rows, size_t nrows,
			       size_t max_frames, int indent)
{
	char label[700], frame[600];
	size_t via;

	cs_print_site_stack(f, s, max_frames, indent);
	if (!cs_site_display_via(s, rows, nrows, max_frames, &via))
		return;
	if (via < s->nframes)
		snprintf(label, sizeof(label), "(via %s, frame %zu)",
			 cs_frame_label(&s->frames[via], frame, sizeof(frame)), via + 1);
	else
		snprintf(label, sizeof(label), "(its stack ends after frame %zu)", via);
	fprintf(f, "%*s%s\n", indent, "", fit(label, sizeof(label), columns(indent)));
}

bool cs_note_said_before(const cs_model_t *m, const cs_proc_t *p, size_t i)
{
	const cs_note_t *n = &p->notes[i];

	if (n->code != CS_NOTE_A_SYMBOLS)
		return false;
	for (const cs_proc_t *q = m->procs; q >= m->procs && q < p; q++)
		for (size_t k = 0; k < q->nnotes; k++)
			if (q->notes[k].code == n->code && !strcmp(q->notes[k].text, n->text))
				return true;
	return false;
}
