/* SPDX-License-Identifier: MIT */
/* CS_REC_LSET and CS_REC_LRANGES: labellings and their ranges, every count bounds-checked. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "load_labels.h"
#include "vec.h"

/* Longest kind a runtime may give (include/cowscope.h). */
#define KIND_MAX 64

/* A NUL-terminated copy of a string field into *out. */
static int take(cs_loader_t *l, const cs_rec_t *r, cs_cur_t *c, char **out)
{
	cs_str_t s;

	if (cs_cur_str(c, &s))
		return cs_load_bad(l, r, "labelling string past the record's end");
	*out = strndup(s.p, s.len);
	return *out ? 0 : cs_load_nomem(l);
}

static int take_names(cs_loader_t *l, const cs_rec_t *r, cs_cur_t *c, cs_lset_t *s, uint32_t nnames)
{
	/* each name takes 2 bytes of length at least: a count past that is corrupt */
	if (nnames > cs_cur_left(c) / 2)
		return cs_load_bad(l, r, "bad label name count");
	s->names = calloc((size_t)nnames + 1, sizeof(*s->names));
	if (!s->names)
		return cs_load_nomem(l);
	for (; s->nnames < nnames; s->nnames++) {
		int err = take(l, r, c, &s->names[s->nnames]);

		if (err)
			return err;
	}
	return 0;
}

/* The labelling numbered set in p, or NULL. */
static cs_lset_t *find_set(cs_proc_t *p, uint32_t set)
{
	for (size_t i = p->labels.nsets; i-- > 0;)
		if (p->labels.sets[i].set == set)
			return &p->labels.sets[i];
	return NULL;
}

/* Add a note to p (its text copied). */
static int note(cs_proc_t *p, const char *text)
{
	char *t = strdup(text);

	if (!t || CS_VEC_GROW(p->notes, p->nnotes, p->capnotes)) {
		free(t);
		return -ENOMEM;
	}
	p->notes[p->nnotes++] = (cs_note_t){ .code = CS_NOTE_LABELS, .text = t };
	return 0;
}

int cs_load_lset(cs_loader_t *l, const cs_rec_t *r, const cs_fixed_t *f, cs_cur_t *c)
{
	const cs_rec_lset_t *rec = &f->lset;
	cs_lset_t s = { .set = rec->set,
			.flags = rec->flags,
			.nranges = rec->nranges,
			.t_ns = rec->t_ns,
			.bytes = rec->bytes };
	cs_labels_t *ls = &l->p->labels;
	char text[128];
	int err = take(l, r, c, &s.kind);

	if (!err && (!*s.kind || strlen(s.kind) > KIND_MAX))
		err = cs_load_bad(l, r, "bad labelling kind");
	if (!err)
		err = take_names(l, r, c, &s, rec->nnames);
	if (!err && find_set(l->p, s.set)) {
		snprintf(text, sizeof(text), "labelling %u (%s) recorded twice: the second ignored",
			 s.set, s.kind);
		err = note(l->p, text) ? cs_load_nomem(l) : 0;
		goto out;
	}
	if (!err && CS_VEC_GROW(ls->sets, ls->nsets, ls->capsets))
		err = cs_load_nomem(l);
	if (!err) {
		ls->sets[ls->nsets++] = s;
		return 0;
	}
out:
	cs_lset_free(&s);
	return err;
}

/* Whether a range can be charged: a label of its set, bytes, no wrap past 2^64. */
static bool range_ok(const cs_lset_t *s, const cs_lrange_t *g)
{
	return g->label < s->nnames && g->len && g->addr + g->len > g->addr;
}

int cs_load_lranges(cs_loader_t *l, const cs_rec_t *r, const cs_fixed_t *f, cs_cur_t *c)
{
	const cs_rec_lranges_t *rec = &f->lranges;
	cs_lset_t *s = find_set(l->p, rec->set);
	const void *p;

	if (rec->count > cs_cur_left(c) / sizeof(cs_lrange_t))
		return cs_load_bad(l, r, "bad range count");
	if (!s)
		return 0; /* its LSET was refused or lost */
	cs_cur_bytes(c, (size_t)rec->count * sizeof(cs_lrange_t), &p);
	if (cs_vec_reserve((void **)&s->ranges, &s->capr, s->nr, rec->count, sizeof(cs_lrange_t)))
		return cs_load_nomem(l);
	for (uint32_t i = 0; i < rec->count; i++) {
		cs_lrange_t g;

		memcpy(&g, (const uint8_t *)p + (size_t)i * sizeof(g), sizeof(g));
		if (range_ok(s, &g)) {
			s->ranges[s->nr++] = g;
			s->covered += g.len;
		} else
			s->dropped++;
	}
	s->got += rec->count;
	return 0;
}

/* n with thousands separators ("400,000"). */
static char *count_str(uint64_t n, char *buf, size_t size)
{
	char raw[24], *o = buf;
	int len = snprintf(raw, sizeof(raw), "%llu", (unsigned long long)n);

	for (int i = 0; i < len && (size_t)(o - buf) + 2 < size; i++) {
		if (i && (len - i) % 3 == 0)
			*o++ = ',';
		*o++ = raw[i];
	}
	*o = 0;
	return buf;
}

static int finish_set(cs_proc_t *p, cs_lset_t *s)
{
	char text[256], a[32], b[32];
	int err = 0;

	s->complete = s->got == s->nranges;
	if (!s->complete) {
		snprintf(text, sizeof(text), "labelling %u (%s) cut short: %s of %s ranges", s->set,
			 s->kind, count_str(s->got, a, sizeof(a)),
			 count_str(s->nranges, b, sizeof(b)));
		err = note(p, text);
	}
	if (!err && s->dropped) {
		snprintf(text, sizeof(text),
			 "labelling %u (%s): %s ranges dropped (a label index out of range, "
			 "no bytes, or past the address space)",
			 s->set, s->kind, count_str(s->dropped, a, sizeof(a)));
		err = note(p, text);
	}
	return err;
}

int cs_load_labels_finish(cs_proc_t *p)
{
	int err = 0;

	for (size_t i = 0; i < p->labels.nsets && !err; i++)
		err = finish_set(p, &p->labels.sets[i]);
	return err;
}
