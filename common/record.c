/* SPDX-License-Identifier: MIT */
/* Trace record building: fixed part, appended payload, padding. */
#include <errno.h>
#include <string.h>
#include "record.h"

const char *const cs_counter_names[CS_CNT__COUNT] = {
#define CS_X_NAME(id, name) name,
	CS_COUNTERS(CS_X_NAME)
#undef CS_X_NAME
};

void *cs_rec_begin(cs_recbuf_t *b, uint16_t type, size_t fixed)
{
	if (fixed < sizeof(cs_rec_hdr_t) || fixed > b->cap)
		return NULL;
	memset(b->buf, 0, fixed);
	((cs_rec_hdr_t *)b->buf)->type = type;
	b->len = (uint32_t)fixed;
	return b->buf;
}

size_t cs_rec_room(const cs_recbuf_t *b)
{
	size_t cap = b->cap & ~(size_t)7;
	return b->len >= cap ? 0 : cap - b->len;
}

int cs_rec_put(cs_recbuf_t *b, const void *p, size_t n)
{
	if (n > cs_rec_room(b))
		return -ENOSPC;
	if (n == 0)
		return 0; /* p may be NULL: memcpy must not see it */
	memcpy(b->buf + b->len, p, n);
	b->len += (uint32_t)n;
	return 0;
}

int cs_rec_put_str(cs_recbuf_t *b, const char *s, size_t n)
{
	uint16_t len = n > 65535 ? 65535 : (uint16_t)n;

	if (sizeof(len) + len > cs_rec_room(b))
		return -ENOSPC;
	cs_rec_put(b, &len, sizeof(len));
	return cs_rec_put(b, s, len);
}

uint32_t cs_rec_finish(cs_recbuf_t *b)
{
	while (b->len & 7)
		b->buf[b->len++] = 0;
	((cs_rec_hdr_t *)b->buf)->size = b->len;
	return b->len;
}

void cs_file_hdr_init(cs_file_hdr_t *h, uint32_t kind, uint32_t pid, uint32_t gen)
{
	memset(h, 0, sizeof(*h));
	memcpy(h->magic, CS_TRACE_MAGIC, CS_TRACE_MAGIC_LEN);
	h->version_major = CS_TRACE_MAJOR;
	h->version_minor = CS_TRACE_MINOR;
	h->header_bytes = sizeof(*h);
	h->byte_order = CS_TRACE_BYTE_ORDER;
	h->file_kind = kind;
	h->pid = pid;
	h->gen = gen;
}
