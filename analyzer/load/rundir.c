/* SPDX-License-Identifier: MIT */
/* Reading a run directory: every trace file in name order, each into its process of the model. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "figures.h"
#include "load_file.h"
#include "rundir.h"
#include "vec.h"

typedef struct names {
	char **v;
	size_t n, cap;
} names_t;

static void names_free(names_t *ns)
{
	for (size_t i = 0; i < ns->n; i++)
		free(ns->v[i]);
	free(ns->v);
}

static bool has_suffix(const char *s, const char *suffix)
{
	size_t n = strlen(s), k = strlen(suffix);

	return n > k && !strcmp(s + n - k, suffix);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The *.cst names in the directory, sorted. */
static int list_traces(DIR *dir, names_t *ns)
{
	struct dirent *e;

	errno = 0;
	while ((e = readdir(dir))) {
		if (e->d_name[0] == '.' || !has_suffix(e->d_name, CS_TRACE_SUFFIX))
			continue;
		if (CS_VEC_GROW(ns->v, ns->n, ns->cap))
			return -ENOMEM;
		ns->v[ns->n] = strdup(e->d_name);
		if (!ns->v[ns->n])
			return -ENOMEM;
		ns->n++;
	}
	if (errno)
		return -errno;
	if (ns->n > 1)
		qsort(ns->v, ns->n, sizeof(*ns->v), cmp_str);
	return 0;
}

/* The process (pid, gen), added if new. Linear: used while loading. */
static cs_proc_t *proc_get(cs_model_t *m, uint32_t pid, uint32_t gen)
{
	cs_proc_t *p;

	for (size_t i = 0; i < m->nprocs; i++)
		if (m->procs[i].pid == pid && m->procs[i].gen == gen)
			return &m->procs[i];
	if (CS_VEC_GROW(m->procs, m->nprocs, m->capprocs))
		return NULL;
	p = &m->procs[m->nprocs++];
	memset(p, 0, sizeof(*p));
	p->pid = pid;
	p->gen = gen;
	p->ppid = CS_UNKNOWN;
	p->role = CS_ROLE_ROOT; /* until its PROC record, or a parent's FORK, says otherwise */
	cs_figures_init(&p->fig);
	return p;
}

/* File kind, pid and gen from a name, for a file cut short inside its header. */
static int kind_from_name(const char *name, cs_file_hdr_t *h)
{
	unsigned pid, gen;
	int len = 0;

	if (!strcmp(name, CS_RUN_FILE)) {
		h->file_kind = CS_FILE_RUN;
		return 0;
	}
	if (sscanf(name, "%u.%u%n", &pid, &gen, &len) != 2)
		return -EINVAL;
	h->pid = pid;
	h->gen = gen;
	if (!strcmp(name + len, CS_SAMPLES_SUFFIX))
		h->file_kind = CS_FILE_SAMPLES;
	else if (!strcmp(name + len, CS_TRACE_SUFFIX))
		h->file_kind = CS_FILE_PROCESS;
	else
		return -EINVAL;
	return 0;
}

/* Say what the cap skipped in p's file: a CS_NOTE_A_ALLOCS note. 0 or -ENOMEM. */
static int note_skipped(cs_model_t *m, cs_proc_t *p)
{
	const cs_allocinfo_t *a = &p->alloc;
	double pct = a->file_len ? 100.0 * (double)a->skipped_from / (double)a->file_len : 0;
	char buf[256], *text;

	snprintf(buf, sizeof(buf),
		 "allocation sites: %llu events past the %llu MiB memory cap "
		 "(--max-memory) skipped; sites are from the first %.0f%% of its trace",
		 (unsigned long long)a->skipped_evs,
		 (unsigned long long)(m->max_memory_bytes >> 20), pct);
	text = strdup(buf);
	if (!text || CS_VEC_GROW(p->notes, p->nnotes, p->capnotes)) {
		free(text);
		return -ENOMEM;
	}
	p->notes[p->nnotes++] = (cs_note_t){ .code = CS_NOTE_A_ALLOCS, .text = text };
	return 0;
}

/* Changed-word entries of p the cap did not keep, over every snapshot and side. */
static uint64_t words_capped(const cs_proc_t *p)
{
	uint64_t n = 0;

	for (size_t i = 0; i < p->nsnaps; i++)
		for (size_t k = 0; k < CS_NSIDES; k++)
			n += p->snaps[i].diff[k].capped;
	return n;
}

/* Say what the cap left out of p's changed words: a CS_NOTE_A_WORDS note. 0 or -ENOMEM. */
static int note_words(cs_model_t *m, cs_proc_t *p, uint64_t n)
{
	char buf[256], *text;

	snprintf(buf, sizeof(buf),
		 "changed words: %llu pages past the %llu MiB memory cap (--max-memory) not "
		 "kept; per mapping and per site changed bytes unknown, the process's from the "
		 "trace's summary",
		 (unsigned long long)n, (unsigned long long)(m->max_memory_bytes >> 20));
	text = strdup(buf);
	if (!text || CS_VEC_GROW(p->notes, p->nnotes, p->capnotes)) {
		free(text);
		return -ENOMEM;
	}
	p->notes[p->nnotes++] = (cs_note_t){ .code = CS_NOTE_A_WORDS, .text = text };
	return 0;
}

/* A process file under the cap: events allowed before, what it kept taken off after. */
static int load_capped(cs_model_t *m, cs_proc_t *p, cs_trace_t *t, cs_diag_t *d)
{
	uint64_t before = p->alloc.skipped_evs, had = p->alloc.nevs, words = p->word_pages;
	int err;

	p->alloc.max_evs = had + (m->evs_left ? m->evs_left : 1);
	p->alloc.file_len = t->len;
	p->max_word_pages = words + (m->words_left ? m->words_left : 1);
	err = cs_load_proc_file(p, t, false, d);
	m->words_left -= m->words_left < p->word_pages - words ? m->words_left
							       : p->word_pages - words;
	m->evs_left -= m->evs_left < p->alloc.nevs - had ? m->evs_left : p->alloc.nevs - had;
	m->skipped_evs += p->alloc.skipped_evs - before;
	if (!err && p->alloc.skipped_evs > before && (err = note_skipped(m, p)))
		cs_diag_set(d, "out of memory");
	if (!err && words_capped(p) && (err = note_words(m, p, words_capped(p))))
		cs_diag_set(d, "out of memory");
	return err;
}

static int load_proc_kind(cs_model_t *m, cs_trace_t *t, const cs_file_hdr_t *h, cs_diag_t *d)
{
	cs_proc_t *p = proc_get(m, h->pid, h->gen);

	if (!p) {
		cs_diag_set(d, "out of memory");
		return -ENOMEM;
	}
	if (!t->has_hdr) {
		p->has_file = p->has_file || h->file_kind == CS_FILE_PROCESS;
		p->truncated = p->truncated || h->file_kind == CS_FILE_PROCESS;
		p->has_samples = p->has_samples || h->file_kind == CS_FILE_SAMPLES;
		return 0;
	}
	if (h->file_kind == CS_FILE_PROCESS)
		return load_capped(m, p, t, d);
	return cs_load_proc_file(p, t, true, d);
}

static int load_kind(cs_model_t *m, cs_trace_t *t, const cs_file_hdr_t *h, cs_diag_t *d)
{
	switch (h->file_kind) {
	case CS_FILE_PROCESS:
	case CS_FILE_SAMPLES:
		return load_proc_kind(m, t, h, d);
	case CS_FILE_RUN:
		m->run.present = true;
		m->run.truncated = m->run.truncated || !t->has_hdr;
		return t->has_hdr ? cs_load_run_file(&m->run, t, d) : 0;
	}
	if (t->hdr.version_minor > CS_TRACE_MINOR)
		return 0; /* a file kind of a newer minor version */
	cs_diag_set(d, "%s: unknown file kind %u", t->path, (unsigned)h->file_kind);
	return -EBADMSG;
}

static int load_one(cs_model_t *m, int dirfd, const char *name, cs_diag_t *d)
{
	cs_file_hdr_t h = { 0 };
	cs_trace_t t;
	char path[PATH_MAX];
	int err;

	snprintf(path, sizeof(path), "%s/%s", m->dir, name);
	err = cs_trace_open(&t, dirfd, name, path, d);
	if (err)
		return err;
	if (t.has_hdr)
		h = t.hdr;
	else if (kind_from_name(name, &h))
		goto out; /* cut short inside the header, and no name we know */
	err = load_kind(m, &t, &h, d);
out:
	cs_trace_close(&t);
	return err;
}

static int open_dir(cs_model_t *m, int *dirfd, DIR **dir, cs_diag_t *d)
{
	*dirfd = open(m->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (*dirfd >= 0)
		*dir = fdopendir(dup(*dirfd));
	if (*dirfd < 0 || !*dir) {
		cs_diag_set(d, "cannot read run directory '%s': %s", m->dir, strerror(errno));
		return errno ? -errno : -EIO;
	}
	return 0;
}

int cs_rundir_load(cs_model_t *m, cs_diag_t *d)
{
	names_t ns = { 0 };
	DIR *dir = NULL;
	int dirfd = -1, err;

	err = open_dir(m, &dirfd, &dir, d);
	if (!err && (err = list_traces(dir, &ns)))
		cs_diag_set(d, "cannot read run directory '%s': %s", m->dir, strerror(-err));
	if (!err && ns.n == 0) {
		cs_diag_set(d, "no cowscope traces in %s", m->dir);
		err = -ENOENT;
	}
	for (size_t i = 0; !err && i < ns.n; i++)
		err = load_one(m, dirfd, ns.v[i], d);
	names_free(&ns);
	if (dir)
		closedir(dir);
	if (dirfd >= 0)
		close(dirfd);
	return err;
}
