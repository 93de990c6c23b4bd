/* SPDX-License-Identifier: MIT */
/* What the renderers share: totals over the children, the run's backend, number and text formats. */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include "render.h"

static void add(int64_t *sum, int64_t v)
{
	if (*sum == CS_UNKNOWN || v == CS_UNKNOWN)
		*sum = CS_UNKNOWN;
	else
		*sum += v;
}

static void add_child(cs_totals_t *t, const cs_proc_t *p)
{
	const cs_figures_t *f = &p->fig;
	double ps = p->page_size;

	if (t->measured++ == 0)
		t->page_size = p->page_size;
	else if (t->page_size != (int64_t)p->page_size)
		t->page_size = CS_UNKNOWN;
	add(&t->shared_at_fork, f->shared_at_fork);
	add(&t->child_copied, f->child_copied);
	add(&t->parent_unshared, f->parent_unshared);
	add(&t->unshared, f->unshared);
	add(&t->child_new, f->child_new);
	t->shared_bytes += (double)f->shared_at_fork * ps;
	t->copied_bytes += f->child_copied > 0 ? (double)f->child_copied * ps : 0;
	t->punshared_bytes += f->parent_unshared > 0 ? (double)f->parent_unshared * ps : 0;
	t->unshared_bytes += f->unshared > 0 ? (double)f->unshared * ps : 0;
	t->new_bytes += f->child_new > 0 ? (double)f->child_new * ps : 0;
}

void cs_totals_init(cs_totals_t *t)
{
	memset(t, 0, sizeof(*t));
	t->page_size = CS_UNKNOWN;
}

void cs_totals_add(cs_totals_t *t, const cs_proc_t *p)
{
	t->children++;
	if (p->fig.shared_at_fork >= 0)
		add_child(t, p);
}

void cs_totals_finish(cs_totals_t *t)
{
	if (!t->measured)
		t->shared_at_fork = t->child_copied = t->parent_unshared = t->unshared =
			t->child_new = CS_UNKNOWN;
	t->share_retained = NAN;
	if (t->unshared >= 0 && t->shared_bytes > 0)
		t->share_retained = 1.0 - t->unshared_bytes / t->shared_bytes;
}

void cs_totals_compute(const cs_model_t *m, cs_totals_t *t)
{
	cs_totals_init(t);
	for (size_t i = 0; i < m->nprocs; i++)
		if (m->procs[i].role == CS_ROLE_CHILD)
			cs_totals_add(t, &m->procs[i]);
	cs_totals_finish(t);
}

long cs_run_backend_proc(const cs_model_t *m)
{
	if (m->root >= 0 && m->procs[m->root].has_backend)
		return m->root;
	for (size_t i = 0; i < m->nprocs; i++)
		if (m->procs[i].has_backend)
			return (long)i;
	return -1;
}

char *cs_fmt_mib(double bytes, char *buf, size_t size)
{
	double mib = bytes / (1024.0 * 1024.0);
	size_t n;

	if (mib <= 0)
		snprintf(buf, size, "0");
	else if (mib < 0.05)
		snprintf(buf, size, "<0.1");
	else if (mib < 9.95)
		snprintf(buf, size, "%.1f", mib);
	else
		snprintf(buf, size, "%.0f", mib);
	n = strlen(buf);
	if (n > 2 && !strcmp(buf + n - 2, ".0"))
		buf[n - 2] = 0;
	return buf;
}

char *cs_clean_text(const char *s, size_t len, char *buf, size_t size)
{
	size_t n = 0;

	for (size_t i = 0; s && i < len && n + 1 < size; i++) {
		unsigned char c = (unsigned char)s[i];

		buf[n++] = c == 0 ? ' ' : (c < 0x20 || c == 0x7f) ? '?' : (char)c;
	}
	buf[n] = 0;
	while (n && buf[n - 1] == ' ')
		buf[--n] = 0;
	return buf;
}

char *cs_fmt_pct(double pct, char *buf, size_t size)
{
	if (pct > 0 && pct < 0.05)
		snprintf(buf, size, "<0.1");
	else
		snprintf(buf, size, "%.1f", pct);
	return buf;
}
