/* SPDX-License-Identifier: MIT */
/* Labelled ranges: writes a labelling's CS_REC_LSET and CS_REC_LRANGES records (format 1.6). */
#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <sys/uio.h>
#define COWSCOPE_BUILDING_SHIM 1
#include "cowscope.h"
#include "cowscope/trace_format.h"
#include "maps.h"
#include "prim.h"
#include "record.h"
#include "events.h"
#include "labelling.h"
#include "trace.h"

/* The caller's ranges are written as they are: the public struct is the on-disk one. */
_Static_assert(sizeof(struct cowscope_range) == sizeof(cs_lrange_t) &&
		       offsetof(struct cowscope_range, addr) == offsetof(cs_lrange_t, addr) &&
		       offsetof(struct cowscope_range, len) == offsetof(cs_lrange_t, len) &&
		       offsetof(struct cowscope_range, weight) == offsetof(cs_lrange_t, weight) &&
		       offsetof(struct cowscope_range, label) == offsetof(cs_lrange_t, label) &&
		       offsetof(struct cowscope_range, flags) == offsetof(cs_lrange_t, flags),
	       "struct cowscope_range has cs_lrange_t's layout");

#define KIND_MAX_BYTES 64
#define NAME_MAX_BYTES 1024
#define LRANGES_MAX ((CS_REC_MAX_BYTES - sizeof(cs_rec_lranges_t)) / sizeof(cs_lrange_t))

/* The last labelling number of this process (reset in a fork child). */
static uint32_t lset_seq;

/* One call's labelling, checked. */
typedef struct lab {
	const char *kind;
	size_t kind_len;
	const char *const *names;
	size_t nnames;
	const struct cowscope_range *ranges;
	size_t n;
	uint64_t bytes; /* sum of the weights (saturated) */
	uint32_t flags; /* CS_LSETF_* */
	uint32_t set;
} lab_t;

/* Every label index below nnames; the weights' sum and whether some range was sampled. */
static int check_ranges(lab_t *l)
{
	size_t i;

	for (i = 0; i < l->n; i++) {
		const struct cowscope_range *r = &l->ranges[i];

		if (r->label >= l->nnames)
			return -EINVAL;
		if (__builtin_add_overflow(l->bytes, r->weight, &l->bytes))
			l->bytes = UINT64_MAX;
		if (r->weight > r->len)
			l->flags |= CS_LSETF_SAMPLED;
	}
	return 0;
}

static int check(lab_t *l)
{
	size_t i;

	if (!l->kind)
		return -EINVAL;
	l->kind_len = strnlen(l->kind, KIND_MAX_BYTES + 1);
	if (l->kind_len == 0 || l->kind_len > KIND_MAX_BYTES || l->nnames > UINT32_MAX ||
	    (l->nnames && !l->names) || (l->n && !l->ranges))
		return -EINVAL;
	for (i = 0; i < l->nnames; i++)
		if (!l->names[i])
			return -EINVAL;
	return check_ranges(l);
}

/* Bytes of the LSET record (padded), or more than CS_REC_MAX_BYTES when it cannot fit. */
static size_t lset_bytes(const lab_t *l)
{
	size_t b = sizeof(cs_rec_lset_t) + 2 + l->kind_len, i;

	for (i = 0; i < l->nnames && b <= CS_REC_MAX_BYTES; i++)
		b += 2 + strnlen(l->names[i], NAME_MAX_BYTES);
	return (b + 7) & ~(size_t)7;
}

/* The LSET, built in buf (a scratch mapping of its size) and written with one write. */
static int put_lset(const lab_t *l, uint8_t *buf, size_t size)
{
	cs_recbuf_t b = { .buf = buf, .cap = (uint32_t)size };
	cs_rec_lset_t *r;
	size_t i;

	r = cs_rec_begin(&b, CS_REC_LSET, sizeof(*r));
	r->set = l->set;
	r->nnames = (uint32_t)l->nnames;
	r->nranges = l->n;
	r->t_ns = cs_prim_now_ns();
	r->bytes = l->bytes;
	r->flags = l->flags;
	cs_rec_put_str(&b, l->kind, l->kind_len);
	for (i = 0; i < l->nnames; i++)
		cs_rec_put_str(&b, l->names[i], strnlen(l->names[i], NAME_MAX_BYTES));
	return cs_trace_put(buf, cs_rec_finish(&b));
}

/* LRANGES records of the set, each one writev of its header and a slice of the caller's array. */
static int put_ranges(const lab_t *l, size_t *done)
{
	cs_rec_lranges_t h = { .h = { CS_REC_LRANGES, 0, 0 }, .set = l->set };
	struct iovec v[2];
	int r;

	while (*done < l->n) {
		size_t k = l->n - *done < LRANGES_MAX ? l->n - *done : LRANGES_MAX;

		h.count = (uint32_t)k;
		h.h.size = (uint32_t)(sizeof(h) + k * sizeof(cs_lrange_t));
		v[0] = (struct iovec){ .iov_base = &h, .iov_len = sizeof(h) };
		v[1] = (struct iovec){ .iov_base = (void *)(l->ranges + *done),
				       .iov_len = k * sizeof(cs_lrange_t) };
		r = cs_trace_putv(v, 2);
		if (r < 0)
			return r;
		*done += k;
	}
	return 0;
}

/* A note's text, built in place (kind <= 64 bytes: it always fits). */
typedef struct text {
	char buf[320];
	size_t n;
} text_t;

static void add(text_t *t, const char *s, size_t len)
{
	memcpy(t->buf + t->n, s, len);
	t->n += len;
}

static void add_num(text_t *t, uint64_t v)
{
	t->n += cs_utoa(t->buf + t->n, v);
}

#define ADD_LIT(t, lit) add((t), (lit), sizeof(lit) - 1)

/*
 * "cowscope: labelling N of KIND cut short after K of M ranges", or for a
 * refusal (no set number taken) "cowscope: labelling of KIND refused: ...".
 */
static void note(int err, const lab_t *l, size_t done)
{
	text_t t = { .n = 0 };

	ADD_LIT(&t, "cowscope: labelling ");
	if (l->set) {
		add_num(&t, l->set);
		ADD_LIT(&t, " ");
	}
	ADD_LIT(&t, "of ");
	add(&t, l->kind, l->kind_len);
	if (err == E2BIG) {
		ADD_LIT(&t, " refused: its ");
		add_num(&t, l->nnames);
		ADD_LIT(&t, " names need more than one record holds (16 MiB)");
	} else if (err == ENOMEM) {
		ADD_LIT(&t, " refused: no memory to build its record of names");
	} else {
		ADD_LIT(&t, " cut short after ");
		add_num(&t, done);
		ADD_LIT(&t, " of ");
		add_num(&t, l->n);
		ADD_LIT(&t, " ranges");
	}
	t.buf[t.n] = 0;
	cs_rec_note(CS_NOTE_LABELS, err, t.buf);
}

int cs_labels_record(const char *kind, const char *const *names, size_t nnames,
		     const struct cowscope_range *ranges, size_t n)
{
	lab_t l = { .kind = kind, .names = names, .nnames = nnames, .ranges = ranges, .n = n };
	size_t size, done = 0;
	uint8_t *buf;
	int r = check(&l);

	if (r < 0)
		return r;
	size = lset_bytes(&l);
	if (size > CS_REC_MAX_BYTES) {
		note(E2BIG, &l, 0);
		return -E2BIG;
	}
	buf = cs_prim_mmap_anon(size);
	if (!buf) {
		note(ENOMEM, &l, 0);
		return -ENOMEM;
	}
	l.set = __atomic_add_fetch(&lset_seq, 1, __ATOMIC_RELAXED);
	r = put_lset(&l, buf, size);
	cs_prim_munmap(buf, size);
	if (r == 0)
		r = put_ranges(&l, &done);
	if (r == 0)
		return 0;
	note(-r, &l, done);
	return -EIO;
}

void cs_labels_reset_in_child(void)
{
	lset_seq = 0;
}
