/* SPDX-License-Identifier: MIT */
/* /proc/PID/maps parsing with raw reads into a caller buffer. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include "maps.h"
#include "prim.h"

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Parse hex digits at *p until a non-hex char; fails on none or overflow. */
static int parse_hex(const char **p, const char *end, uint64_t *out)
{
	uint64_t v = 0;
	const char *s = *p;
	int d;

	while (s < end && (d = hexval(*s)) >= 0) {
		if (v >> 60)
			return -EINVAL;
		v = v << 4 | (uint64_t)d;
		s++;
	}
	if (s == *p)
		return -EINVAL;
	*p = s;
	*out = v;
	return 0;
}

static int expect(const char **p, const char *end, char c)
{
	if (*p >= end || **p != c)
		return -EINVAL;
	(*p)++;
	return 0;
}

static void skip_field(const char **p, const char *end)
{
	while (*p < end && **p != ' ')
		(*p)++;
	while (*p < end && **p == ' ')
		(*p)++;
}

static int parse_perms(const char **p, const char *end, cs_vma_t *v)
{
	const char *s = *p;

	if (end - s < 5 || s[4] != ' ')
		return -EINVAL;
	v->prot = (s[0] == 'r' ? PROT_READ : 0) | (s[1] == 'w' ? PROT_WRITE : 0) |
		(s[2] == 'x' ? PROT_EXEC : 0);
	v->shared = s[3] == 's';
	*p = s + 5;
	return 0;
}

static void set_name(cs_vma_t *v, const char *s, const char *end)
{
	size_t n = (size_t)(end - s);

	if (n > CS_VMA_NAME_MAX - 1)
		n = CS_VMA_NAME_MAX - 1;
	memcpy(v->name, s, n);
	v->name[n] = 0;
	v->name_len = (uint16_t)n;
}

int cs_maps_parse_line(const char *line, size_t n, cs_vma_t *v)
{
	const char *p = line, *end = line + n;

	if (parse_hex(&p, end, &v->start) || expect(&p, end, '-') || parse_hex(&p, end, &v->end) ||
	    expect(&p, end, ' ') || parse_perms(&p, end, v) || parse_hex(&p, end, &v->offset) ||
	    v->end < v->start)
		return -EINVAL;
	skip_field(&p, end); /* offset's trailing space */
	skip_field(&p, end); /* dev */
	skip_field(&p, end); /* inode */
	set_name(v, p, end);
	return 0;
}

size_t cs_utoa(char *out, uint64_t v)
{
	char tmp[24];
	size_t n = 0, i;

	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	for (i = 0; i < n; i++)
		out[i] = tmp[n - 1 - i];
	out[n] = 0;
	return n;
}

void cs_proc_path(char *out, int pid, const char *leaf)
{
	size_t n = 6, l = strlen(leaf);

	memcpy(out, "/proc/", 6);
	if (pid > 0)
		n += cs_utoa(out + n, (uint64_t)pid);
	else {
		memcpy(out + n, "self", 4);
		n += 4;
	}
	if (l)
		out[n++] = '/';
	memcpy(out + n, leaf, l + 1);
}

int cs_maps_open(cs_maps_reader_t *r, int proc_fd, char *buf, size_t cap)
{
	if (proc_fd >= 0)
		r->fd = cs_prim_openat(proc_fd, "maps", O_RDONLY | O_CLOEXEC, 0);
	else
		r->fd = cs_prim_openat(AT_FDCWD, "/proc/self/maps", O_RDONLY | O_CLOEXEC, 0);
	r->buf = buf;
	r->cap = cap;
	r->len = r->pos = 0;
	return r->fd < 0 ? r->fd : 0;
}

/* Refill: keep the unread tail, read more after it. 0 at EOF, >0 bytes, -errno. */
static long refill(cs_maps_reader_t *r)
{
	long got;

	memmove(r->buf, r->buf + r->pos, r->len - r->pos);
	r->len -= r->pos;
	r->pos = 0;
	got = cs_prim_read(r->fd, r->buf + r->len, r->cap - r->len);
	if (got > 0)
		r->len += (size_t)got;
	return got;
}

int cs_maps_next(cs_maps_reader_t *r, cs_vma_t *v)
{
	for (;;) {
		char *nl = memchr(r->buf + r->pos, '\n', r->len - r->pos);
		long got;

		if (nl) {
			const char *line = r->buf + r->pos;

			r->pos = (size_t)(nl - r->buf) + 1;
			if (cs_maps_parse_line(line, (size_t)(nl - line), v) == 0)
				return 1;
			continue;
		}
		if (r->pos == 0 && r->len == r->cap)
			r->len = r->cap / 2; /* over-long line: drop its tail */
		got = refill(r);
		if (got < 0)
			return (int)got;
		if (got == 0)
			return 0;
	}
}

void cs_maps_close(cs_maps_reader_t *r)
{
	if (r->fd >= 0)
		cs_prim_close(r->fd);
	r->fd = -1;
}
