/* SPDX-License-Identifier: MIT */
/* The text report's perf event parts (format 1.5): faults per copied page, and the counts per process. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include "render.h"
#include "text.h"

/* The minor-fault event's names (libpfm4 spellings; the shim's defaults first). */
static const char *const minflt_names[] = { "perf::PERF_COUNT_SW_PAGE_FAULTS_MIN",
					    "perf::minor-faults" };

/* The process's minor faults from the event when it counted them, else from its snapshot. */
static int64_t minor_faults(const cs_proc_t *p)
{
	const cs_evinfo_t *e = &p->ev;

	for (size_t i = 0; e->work && i < e->ndefs; i++)
		for (size_t k = 0; k < sizeof(minflt_names) / sizeof(minflt_names[0]); k++)
			if (strcasecmp(e->defs[i].name, minflt_names[k]) == 0 && e->work[i].known)
				return (int64_t)e->work[i].value;
	return p->fig.minor_faults;
}

char *cs_text_faults_per_copy(const cs_proc_t *p, char *buf, size_t size)
{
	int64_t flt = minor_faults(p), copied = p->fig.child_copied;

	if (flt < 0 || copied <= 0)
		snprintf(buf, size, "-");
	else
		snprintf(buf, size, "%.2f", (double)flt / (double)copied);
	return buf;
}

/* An event's name without libpfm4's "perf::" prefix (the report's column is narrow). */
static const char *short_name(const char *name)
{
	return strncmp(name, "perf::", 6) == 0 ? name + 6 : name;
}

/* "  NAME=VALUE" for each counter of v[0..n) into buf (size bytes), appended at *len. */
static void counts(char *buf, size_t size, size_t *len, const cs_evinfo_t *e, const cs_evval_t *v)
{
	for (size_t i = 0; i < e->ndefs && *len + 1 < size; i++) {
		int k = v && v[i].known
			? snprintf(buf + *len, size - *len, "  %s=%s%" PRIu64,
				   short_name(e->defs[i].name), v[i].scaled ? "~" : "", v[i].value)
			: snprintf(buf + *len, size - *len, "  %s=-", short_name(e->defs[i].name));

		*len = k > 0 && *len + (size_t)k < size ? *len + (size_t)k : size - 1;
	}
}

static void proc_line(FILE *f, const cs_model_t *m, size_t pi)
{
	const cs_proc_t *p = &m->procs[pi];
	char buf[1024], id[24];
	size_t len;

	snprintf(id, sizeof(id), p->gen ? "%u.%u" : "%u", (unsigned)p->pid, (unsigned)p->gen);
	len = (size_t)snprintf(buf, sizeof(buf), "%s %s", id,
			       m->story                           ? m->story->p[pi].label
				       : p->role == CS_ROLE_CHILD ? "child"
								  : "root");
	counts(buf, sizeof(buf), &len, &p->ev, p->ev.work);
	cs_text_wrap(f, buf, 6);
}

/* One line for a group of identical workers: each counter summed over its members. */
static void group_line(FILE *f, const cs_model_t *m, const cs_sib_t *g)
{
	const cs_evinfo_t *e = &m->procs[g->members[0]].ev;
	cs_evval_t v[64] = { 0 };
	char buf[1024], who[200];
	size_t len, nd = e->ndefs < 64 ? e->ndefs : 64;

	for (size_t i = 0; i < nd; i++) {
		v[i].known = true;
		for (size_t j = 0; j < g->n; j++) {
			const cs_evinfo_t *x = &m->procs[g->members[j]].ev;
			const cs_evval_t *w = x->work && x->ndefs == e->ndefs ? &x->work[i] : NULL;

			v[i].known = v[i].known && w && w->known;
			v[i].scaled = v[i].scaled || (w && w->scaled);
			v[i].value += w && w->known ? w->value : 0;
		}
	}
	len = (size_t)snprintf(buf, sizeof(buf), "%s, summed:",
			       cs_text_sib_name(m, (size_t)(g - m->story->sibs), who, sizeof(who)));
	counts(buf, sizeof(buf), &len, e, v);
	cs_text_wrap(f, buf, 6);
}

/* The counts read at each cowscope_mark of p (phases), one line per mark. */
static void mark_lines(FILE *f, const cs_proc_t *p)
{
	const cs_evinfo_t *e = &p->ev;
	char label[64];

	for (size_t k = 0; k < p->nmarks; k++) {
		const cs_evread_t *r = cs_evread_find(e, CS_COUNT_AT_MARK, p->marks[k].seq);

		if (!r)
			continue;
		cs_clean_text(p->marks[k].label, p->marks[k].label ? strlen(p->marks[k].label) : 0,
			      label, sizeof(label));
		fprintf(f, "      at mark \"%s\":", label);
		for (size_t i = 0; i < e->ndefs; i++) {
			cs_evval_t v = cs_evval_of(e, r, i);

			if (v.known)
				fprintf(f, "  %s=%s%" PRIu64, short_name(e->defs[i].name),
					v.scaled ? "~" : "", v.value);
			else
				fprintf(f, "  %s=-", short_name(e->defs[i].name));
		}
		fputc('\n', f);
	}
}

/* Process i's lines: its own, its group's (at its first member), or none. */
static void proc_lines(FILE *f, const cs_model_t *m, const cs_render_opts_t *o, size_t i)
{
	if (!cs_text_listed(m, o, i))
		return;
	if (!o->all && m->story && m->story->p[i].chain_last != (long)i)
		return; /* an exec chain shows as the image that ran last */
	if (!cs_text_grouped(m, o, i)) {
		proc_line(f, m, i);
		mark_lines(f, &m->procs[i]);
		return;
	}
	if (m->story->sibs[m->story->p[i].sib].members[0] == i)
		group_line(f, m, &m->story->sibs[m->story->p[i].sib]);
}

int cs_render_text_events(FILE *f, const cs_model_t *m, const cs_render_opts_t *o)
{
	bool any = false;

	for (size_t i = 0; i < m->nprocs; i++) {
		if (!m->procs[i].ev.has_defs)
			continue;
		if (!any)
			fprintf(f,
				"\nevents (perf counts to the working snapshot, a root's to its end; "
				"- = not counted, ~ = scaled):\n");
		any = true;
		proc_lines(f, m, o, i);
	}
	return ferror(f) ? -EIO : 0;
}

bool cs_text_has_events(const cs_model_t *m)
{
	for (size_t i = 0; i < m->nprocs; i++)
		if (m->procs[i].ev.has_defs)
			return true;
	return false;
}
