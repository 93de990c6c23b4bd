/* SPDX-License-Identifier: MIT */
/* Packing and unpacking allocation events: a tag byte, zigzag deltas and LEB128 varints. */
#include <errno.h>
#include "evpack.h"

static inline uint64_t zigzag(uint64_t d)
{
	return (d << 1) ^ (uint64_t)((int64_t)d >> 63);
}

static inline uint64_t unzigzag(uint64_t z)
{
	return (z >> 1) ^ (uint64_t) - (int64_t)(z & 1);
}

static inline size_t put_varint(uint8_t *out, uint64_t v)
{
	size_t n = 0;

	while (v >= 0x80) {
		out[n++] = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	out[n++] = (uint8_t)v;
	return n;
}

void cs_evenc_start(cs_evenc_t *e, uint64_t seq0)
{
	e->seq = seq0;
	e->ptr = 0;
}

size_t cs_evenc_put(cs_evenc_t *e, uint8_t *out, const cs_pev_t *ev)
{
	uint8_t tag = (uint8_t)((ev->what & CS_PEV_WHAT_MASK) |
				((ev->kind & CS_PEV_KIND_MASK) << CS_PEV_KIND_SHIFT));
	size_t n = 1;

	if (ev->seq == e->seq + 1)
		tag |= CS_PEV_SEQ_NEXT;
	else
		n += put_varint(out + n, zigzag(ev->seq - e->seq));
	out[0] = tag;
	n += put_varint(out + n, zigzag(ev->ptr - e->ptr));
	n += put_varint(out + n, ev->len);
	if ((ev->what & CS_PEV_WHAT_MASK) == CS_PEV_ALLOC)
		n += put_varint(out + n, ev->stack);
	e->seq = ev->seq;
	e->ptr = ev->ptr;
	return n;
}

void cs_evdec_start(cs_evdec_t *d, const void *buf, size_t n, uint64_t seq0)
{
	d->p = buf;
	d->end = d->p + n;
	d->seq = seq0;
	d->ptr = 0;
}

static int get_varint(cs_evdec_t *d, uint64_t *v)
{
	uint64_t x = 0;

	for (unsigned shift = 0; shift < 70; shift += 7) {
		uint8_t b;

		if (d->p == d->end)
			return -EINVAL;
		b = *d->p++;
		x |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80)) {
			*v = x;
			return 0;
		}
	}
	return -EINVAL; /* more than 10 bytes */
}

/* The tag's fields; -EINVAL for reserved bits or a what that is neither. */
static int get_tag(cs_evdec_t *d, cs_pev_t *ev, int *seq_next)
{
	uint8_t tag = *d->p++;

	ev->what = tag & CS_PEV_WHAT_MASK;
	ev->kind = (tag >> CS_PEV_KIND_SHIFT) & CS_PEV_KIND_MASK;
	*seq_next = !!(tag & CS_PEV_SEQ_NEXT);
	if ((tag & 0xc0) || (ev->what != CS_PEV_ALLOC && ev->what != CS_PEV_FREE))
		return -EINVAL;
	return 0;
}

int cs_evdec_next(cs_evdec_t *d, cs_pev_t *ev)
{
	uint64_t dseq = 1, dptr, stack = 0;
	int seq_next;

	if (d->p == d->end)
		return 0;
	if (get_tag(d, ev, &seq_next) < 0 || (!seq_next && get_varint(d, &dseq) < 0) ||
	    get_varint(d, &dptr) < 0 || get_varint(d, &ev->len) < 0 ||
	    (ev->what == CS_PEV_ALLOC && get_varint(d, &stack) < 0) || stack > UINT32_MAX)
		return -EINVAL;
	d->seq += seq_next ? 1 : unzigzag(dseq);
	d->ptr += unzigzag(dptr);
	ev->seq = d->seq;
	ev->ptr = d->ptr;
	ev->stack = (uint32_t)stack;
	return 1;
}
