/* SPDX-License-Identifier: MIT */
/* The text report's changed words (format 1.4): a line per child, and the field view of sites. */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include "render.h"
#include "text.h"

#define FIELD_BINS_SHOWN 3 /* bins named per site in the field view */

char *cs_fmt_bytes(double bytes, char *buf, size_t size)
{
	static const char *const unit[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	size_t u = 0;

	while (bytes >= 1023.95 && u + 1 < sizeof(unit) / sizeof(unit[0])) {
		bytes /= 1024;
		u++;
	}
	if (!u || bytes >= 9.95 || fabs(bytes - round(bytes)) < 0.05)
		snprintf(buf, size, "%.0f %s", bytes, unit[u]);
	else
		snprintf(buf, size, "%.1f %s", bytes, unit[u]);
	return buf;
}

char *cs_fmt_count(double v, char *buf, size_t size)
{
	char digits[32];
	size_t n, k = 0;

	snprintf(digits, sizeof(digits), "%.0f", v < 0 || v != v ? 0 : v);
	n = strlen(digits);
	for (size_t i = 0; i < n && k + 2 < size; i++) {
		if (i && (n - i) % 3 == 0)
			buf[k++] = ',';
		buf[k++] = digits[i];
	}
	buf[k] = 0;
	return buf;
}

char *cs_fmt_amp(double amp, bool known, bool compared, bool estimated, char *buf, size_t size)
{
	const char *about = estimated ? "\u2248" : "";

	if (!known || !compared)
		snprintf(buf, size, "-");
	else if (amp != amp)
		snprintf(buf, size, "\u221e");
	else if (amp < 9.95)
		snprintf(buf, size, "%s%.1f\u00d7", about, amp);
	else
		snprintf(buf, size, "%s%.0f\u00d7", about, amp);
	return buf;
}

void cs_fprint_right(FILE *f, const char *s, int width)
{
	int cols = 0;

	for (const char *c = s; *c; c++)
		cols += ((unsigned char)*c & 0xc0) != 0x80; /* UTF-8: count the first bytes */
	fprintf(f, "%*s%s", width > cols ? width - cols : 0, "", s);
}

/* Why pages could not be compared, as the text says it ("the parent wrote them"). */
static const char *why_text(int why, bool one)
{
	static const char *const them[] = {
		[CS_DIFFW_NO_VIEW] = "no view of the parent's memory",
		[CS_DIFFW_GONE] = "the parent exited",
		[CS_DIFFW_CHANGED] = "the parent wrote them",
		[CS_DIFFW_ABSENT] = "the parent freed them (not present there)",
	};
	static const char *const it[] = {
		[CS_DIFFW_NO_VIEW] = "no view of the parent's memory",
		[CS_DIFFW_GONE] = "the parent exited",
		[CS_DIFFW_CHANGED] = "the parent wrote it",
		[CS_DIFFW_ABSENT] = "the parent freed it (not present there)",
	};

	if (why < 1 || why > CS_DIFFW_COUNT)
		return "other";
	return one ? it[why] : them[why];
}

static const char *pages_word(double n)
{
	return n == 1 ? "page" : "pages";
}

/* "N pages not comparable: a, b" when some were not. */
static void unknown_part(FILE *f, const cs_amp_t *a)
{
	char n[32];
	bool first = true;

	if (a->unknown <= 0)
		return;
	fprintf(f, "; %s %s not comparable", cs_fmt_count((double)a->unknown, n, sizeof(n)),
		pages_word((double)a->unknown));
	for (int w = 1; w <= CS_DIFFW_COUNT; w++) {
		int64_t k = a->unknown_why[w - 1];

		if (k <= 0)
			continue;
		fprintf(f, "%s %s", first ? ":" : ",", why_text(w, k == 1));
		if (k < a->unknown)
			fprintf(f, " (%" PRId64 ")", k);
		first = false;
	}
}

/* "16 MiB copied to change 128 KiB (128×); 3,900 pages copied for no net change". */
static void side_line(FILE *f, const cs_amp_t *a, uint32_t ps, const char *copied, const char *noop)
{
	char b1[32], b2[32], x[32], n[32];
	const char *about = a->estimated ? "\u2248" : "";

	if (a->compared <= 0) {
		fprintf(f, "none of its %s pages could be compared", copied);
		unknown_part(f, a);
		fputc('\n', f);
		return;
	}
	fprintf(f, "%s%s %s to change %s%s", about,
		cs_fmt_bytes(a->comparable * ps, b1, sizeof(b1)), copied, about,
		cs_fmt_bytes(a->changed_bytes, b2, sizeof(b2)));
	if (a->compared > 0)
		fprintf(f, " (%s)",
			a->changed_words ? cs_fmt_amp(a->amplification, true, true, a->estimated, x,
						      sizeof(x))
					 : "\u221e: no net change");
	fprintf(f, "; %s%s %s %s", about, cs_fmt_count(a->noop_pages, n, sizeof(n)),
		pages_word(a->noop_pages), noop);
	unknown_part(f, a);
	if (a->estimated)
		fprintf(f, " (\u2248: one page in %u compared)", (unsigned)a->stride);
	fputc('\n', f);
}

static void child_amp(FILE *f, const cs_model_t *m, size_t i)
{
	const cs_proc_t *p = &m->procs[i];
	const cs_amp_t *c = &p->fig.amp[CS_DIFF_CHILD], *pa = &p->fig.amp[CS_DIFF_PARENT];

	if (m->story)
		fprintf(f, "  pid %u (%s): ", (unsigned)p->pid, m->story->p[i].label);
	else
		fprintf(f, "  pid %u: ", (unsigned)p->pid);
	if (!c->known)
		fprintf(f, "not compared (no changed-word records)\n");
	else
		side_line(f, c, p->page_size, "copied", "copied for no net change");
	if (pa->known && (pa->compared > 0 || pa->unknown > 0)) {
		fprintf(f, "    the parent's side: ");
		side_line(f, pa, p->page_size, "unshared", "unshared for no net change");
	}
}

/* Add b's figures into a (the sum of a group's members). */
static void amp_add(cs_amp_t *a, const cs_amp_t *b)
{
	if (!b->known)
		return;
	a->known = true;
	a->estimated |= b->estimated;
	a->stride = b->stride > a->stride ? b->stride : a->stride;
	a->compared += b->compared;
	a->changed_pages += b->changed_pages;
	a->changed_words += b->changed_words;
	a->comparable += b->comparable;
	a->changed_bytes += b->changed_bytes;
	a->noop_pages += b->noop_pages;
	a->unknown += b->unknown > 0 ? b->unknown : 0;
	for (int w = 0; w < CS_DIFFW_COUNT; w++)
		a->unknown_why[w] += b->unknown_why[w] > 0 ? b->unknown_why[w] : 0;
}

/* One side of a group's members summed; amplification from the sums. */
static cs_amp_t amp_sum(const cs_model_t *m, const cs_sib_t *g, int side, uint32_t ps)
{
	cs_amp_t a = { 0 };

	for (size_t j = 0; j < g->n; j++)
		amp_add(&a, &m->procs[g->members[j]].fig.amp[side]);
	a.amplification = a.changed_bytes > 0 ? a.comparable * ps / a.changed_bytes : NAN;
	return a;
}

/* A group's changed words in one line (and its parent's side): its members summed. */
static void group_amp(FILE *f, const cs_model_t *m, size_t gi)
{
	const cs_sib_t *g = &m->story->sibs[gi];
	uint32_t ps = m->procs[g->members[0]].page_size;
	cs_amp_t c = amp_sum(m, g, CS_DIFF_CHILD, ps), pa = amp_sum(m, g, CS_DIFF_PARENT, ps);
	char who[200];

	fprintf(f, "  %s, summed: ", cs_text_sib_name(m, gi, who, sizeof(who)));
	if (!c.known)
		fprintf(f, "not compared (no changed-word records)\n");
	else
		side_line(f, &c, ps, "copied", "copied for no net change");
	if (pa.known && (pa.compared > 0 || pa.unknown > 0)) {
		fprintf(f, "    the parent's side: ");
		side_line(f, &pa, ps, "unshared", "unshared for no net change");
	}
}

/* The biggest bins of a field view: "97% of changed words at offsets 16-23; 2% at 0-7". */
static void field_bins(FILE *f, const double *fields)
{
	double total = cs_fields_total(fields), shown[CS_FIELD_BINS] = { 0 };
	uint64_t lo, hi;
	char pct[16];

	for (int k = 0; k < FIELD_BINS_SHOWN; k++) {
		unsigned best = CS_FIELD_BINS;

		for (unsigned b = 0; b < CS_FIELD_BINS; b++)
			if (fields[b] > 0 && !shown[b] &&
			    (best == CS_FIELD_BINS || fields[b] > fields[best]))
				best = b;
		if (best == CS_FIELD_BINS)
			break;
		shown[best] = 1;
		cs_field_range(best, &lo, &hi);
		fprintf(f, "%s%s%% %sat offsets %" PRIu64 "\u2013", k ? "; " : "",
			cs_fmt_pct(100 * fields[best] / total, pct, sizeof(pct)),
			k ? "" : "of changed words ", lo);
		if (hi == UINT64_MAX)
			fprintf(f, "\u2026");
		else
			fprintf(f, "%" PRIu64, hi);
	}
	fputc('\n', f);
}

/* The field view of a child's top sites by changed bytes. */
static void child_fields(FILE *f, const cs_proc_t *p, unsigned top)
{
	double all[CS_FIELD_BINS];
	unsigned shown = 0;

	cs_fields_sum(p->sites, p->nsites, all);
	if (!(cs_fields_total(all) > 0))
		return;
	fprintf(f, "  pid %u, all sampled objects: ", (unsigned)p->pid);
	field_bins(f, all);
	for (size_t i = 0; i < p->nsites && shown < top; i++) {
		const cs_site_t *s = &p->sites[i];

		if (s->bucket || !(cs_fields_total(s->fields) > 0))
			continue;
		fprintf(f, "    ");
		field_bins(f, s->fields);
		fprintf(f, "      in ");
		cs_print_site_stack(f, s, 2, 9);
		shown++;
	}
}

/* Whether a site group is in the report: its sibling group is listed (or --all). */
static bool group_listed(const cs_model_t *m, const cs_render_opts_t *o, const cs_group_t *g)
{
	return o->all || !m->story || g->sib < 0 || m->story->sibs[g->sib].significant;
}

static bool has_fields(const cs_group_t *g)
{
	double all[CS_FIELD_BINS];

	cs_fields_sum(g->sites, g->nsites, all);
	return g->nchildren >= 2 && cs_fields_total(all) > 0;
}

/* The field view of a sibling group of two or more children: their sites summed. */
static void group_fields(FILE *f, const cs_model_t *m, const cs_group_t *g)
{
	double all[CS_FIELD_BINS];
	char who[200];

	cs_fields_sum(g->sites, g->nsites, all);
	if (g->nchildren < 2 || !(cs_fields_total(all) > 0))
		return;
	if (m->story && g->sib >= 0)
		fprintf(f, "  %s, all sampled objects: ",
			cs_text_sib_name(m, (size_t)g->sib, who, sizeof(who)));
	else
		fprintf(f, "  the %zu children of pid %u, all sampled objects: ", g->nchildren,
			(unsigned)m->procs[g->parent].pid);
	field_bins(f, all);
}

/* Child i's changed-words line, its group's at its first member, or none. */
static void amp_lines(FILE *f, const cs_model_t *m, const cs_render_opts_t *o, size_t i)
{
	const cs_proc_t *p = &m->procs[i];

	if (p->role != CS_ROLE_CHILD || p->fig.shared_at_fork < 0 || !cs_text_listed(m, o, i))
		return;
	if (!cs_text_grouped(m, o, i))
		child_amp(f, m, i);
	else if (m->story->sibs[m->story->p[i].sib].members[0] == i)
		group_amp(f, m, (size_t)m->story->p[i].sib);
}

/* Whether child i has a field view of its own in the report. */
static bool own_fields(const cs_model_t *m, const cs_render_opts_t *o, size_t i)
{
	double all[CS_FIELD_BINS];

	if (!m->procs[i].has_sites || !cs_text_listed(m, o, i) || cs_text_grouped(m, o, i))
		return false;
	cs_fields_sum(m->procs[i].sites, m->procs[i].nsites, all);
	return cs_fields_total(all) > 0;
}

int cs_render_text_amp(FILE *f, const cs_model_t *m, const cs_render_opts_t *o)
{
	bool fields = false;

	if (!m->has_diff)
		return 0;
	fprintf(f,
		"\nchanged words in copied pages, against the fork (amplification: copied "
		"bytes per changed byte):\n");
	for (size_t i = 0; i < m->nprocs; i++)
		amp_lines(f, m, o, i);
	for (size_t i = 0; i < m->nprocs && o->top; i++) {
		if (!own_fields(m, o, i))
			continue;
		if (!fields)
			fprintf(f,
				"\nfield view (changed words by offset from their object's "
				"start, sampled objects only):\n");
		fields = true;
		child_fields(f, &m->procs[i], o->top);
	}
	for (size_t i = 0; o->top && i < m->ngroups; i++) {
		if (!fields && group_listed(m, o, &m->groups[i]) && has_fields(&m->groups[i]))
			fprintf(f,
				"\nfield view (changed words by offset from their object's "
				"start, sampled objects only):\n");
		fields |= group_listed(m, o, &m->groups[i]) && has_fields(&m->groups[i]);
		if (group_listed(m, o, &m->groups[i]))
			group_fields(f, m, &m->groups[i]);
	}
	return ferror(f) ? -EIO : 0;
}
