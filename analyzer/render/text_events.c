/* SPDX-License-Identifier: MIT */
/* The text report's perf event parts (format 1.5): faults per copied page, and the counts per process. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include "render.h"

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

static void proc_line(FILE *f, const cs_proc_t *p)
{
	const cs_evinfo_t *e = &p->ev;
	char id[24];

	snprintf(id, sizeof(id), p->gen ? "%u.%u" : "%u", (unsigned)p->pid, (unsigned)p->gen);
	fprintf(f, "  %8s %-5s", id, p->role == CS_ROLE_CHILD ? "child" : "root");
	for (size_t i = 0; i < e->ndefs; i++) {
		const cs_evval_t *v = e->work ? &e->work[i] : NULL;

		if (v && v->known)
			fprintf(f, "  %s=%s%" PRIu64, short_name(e->defs[i].name),
				v->scaled ? "~" : "", v->value);
		else
			fprintf(f, "  %s=-", short_name(e->defs[i].name));
	}
	fputc('\n', f);
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
		fprintf(f, "  %8s at mark \"%s\":", "", label);
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

int cs_render_text_events(FILE *f, const cs_model_t *m)
{
	bool any = false;

	for (size_t i = 0; i < m->nprocs; i++) {
		if (!m->procs[i].ev.has_defs)
			continue;
		if (!any)
			fprintf(f,
				"\nevents (perf counts to each process's working snapshot, a root's "
				"to its end; - = not counted, ~ = scaled, multiplexed):\n");
		any = true;
		proc_line(f, &m->procs[i]);
		mark_lines(f, &m->procs[i]);
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
