/* SPDX-License-Identifier: MIT */
/* Reading one trace file: the header, record framing and field bounds; every byte untrusted. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include "trace_read.h"
#include "vec.h"

_Static_assert(sizeof(cs_file_hdr_t) == 32, "file header is 32 bytes");
_Static_assert(sizeof(cs_rec_hdr_t) == 8, "record header is 8 bytes");
_Static_assert(sizeof(cs_fixed_t) <= CS_REC_PEEK, "cs_trace_follow reads every fixed part");
_Static_assert(sizeof(cs_file_hdr_t) <= CS_REC_PEEK, "cs_trace_follow reads the header there");

/* Read fd into t->data, up to max bytes. */
static int slurp(cs_trace_t *t, int fd, size_t max)
{
	size_t cap = 0, want;
	ssize_t n;

	while (t->len < max) {
		if (cs_vec_reserve((void **)&t->data, &cap, t->len, 65536, 1))
			return -ENOMEM;
		want = cap - t->len < max - t->len ? cap - t->len : max - t->len;
		n = read(fd, t->data + t->len, want);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return 0;
		t->len += (size_t)n;
	}
	return 0;
}

/* Files this large are mapped read-only rather than copied into memory. */
#define CS_TRACE_MAP_BYTES (4u << 20)

/*
 * Map a large file read-only (its pages are page cache the kernel can drop,
 * not the analyzer's memory), as long as it was when we looked: a file that
 * grows later is read to that length, like a copy would be. True if mapped.
 * A file cut shorter while mapped would fault (SIGBUS): trace files are
 * append-only and only their owner can write them (docs/security.md).
 */
static bool map(cs_trace_t *t, int fd, const struct stat *st)
{
	void *p = mmap(NULL, (size_t)st->st_size, PROT_READ, MAP_PRIVATE, fd, 0);

	if (p == MAP_FAILED)
		return false;
	madvise(p, (size_t)st->st_size, MADV_SEQUENTIAL);
	t->data = p;
	t->len = (size_t)st->st_size;
	t->mapped = true;
	return true;
}

/* Open name under dirfd as a regular file (never a FIFO or device) and read it. */
static int read_file(cs_trace_t *t, int dirfd, const char *name, size_t max, cs_diag_t *d)
{
	struct stat st;
	int fd, err = 0;

	fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (fd < 0) {
		err = -errno;
		goto out;
	}
	if (fstat(fd, &st)) {
		err = -errno;
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		err = -EINVAL;
		goto out;
	}
	if (st.st_size >= CS_TRACE_MAP_BYTES && (uint64_t)st.st_size <= max && map(t, fd, &st))
		goto out;
	err = slurp(t, fd, max);
out:
	if (fd >= 0)
		close(fd);
	if (err == -EINVAL)
		cs_diag_set(d, "%s: not a regular file", t->path);
	else if (err)
		cs_diag_set(d, "%s: cannot read: %s", t->path, strerror(-err));
	return err;
}

/* Whether the n bytes at p could begin a trace: a prefix of the magic (a file being written). */
static int check_prefix(const cs_trace_t *t, const uint8_t *p, size_t n, cs_diag_t *d)
{
	if (memcmp(p, CS_TRACE_MAGIC, n < CS_TRACE_MAGIC_LEN ? n : CS_TRACE_MAGIC_LEN)) {
		cs_diag_set(d, "%s: not a cowscope trace (bad magic)", t->path);
		return -EBADMSG;
	}
	return 0;
}

/* A file shorter than the header: fine if it is a prefix of one (being written). */
static int check_short(cs_trace_t *t, cs_diag_t *d)
{
	int err = check_prefix(t, t->data, t->len, d);

	if (err)
		return err;
	t->truncated = true;
	t->off = t->len;
	return 0;
}

static int check_version(const cs_trace_t *t, const cs_file_hdr_t *h, cs_diag_t *d)
{
	if (h->version_major > CS_TRACE_MAJOR) {
		cs_diag_set(d,
			    "%s: trace format version %u.%u is newer than this cowscope's "
			    "%u.%u: use a newer cowscope",
			    t->path, h->version_major, h->version_minor, CS_TRACE_MAJOR,
			    CS_TRACE_MINOR);
		return -EPROTONOSUPPORT;
	}
	if (h->version_major == 0) {
		cs_diag_set(d,
			    "%s: trace format version 0.%u is not supported (this cowscope "
			    "reads %u.%u)",
			    t->path, h->version_minor, CS_TRACE_MAJOR, CS_TRACE_MINOR);
		return -EPROTONOSUPPORT;
	}
	return 0;
}

/* The whole header's fields: magic, byte order, version, header size. Every reader's check. */
static int check_fields(const cs_trace_t *t, const cs_file_hdr_t *h, cs_diag_t *d)
{
	int err;

	if (memcmp(h->magic, CS_TRACE_MAGIC, CS_TRACE_MAGIC_LEN)) {
		cs_diag_set(d, "%s: not a cowscope trace (bad magic)", t->path);
		return -EBADMSG;
	}
	if (h->byte_order != CS_TRACE_BYTE_ORDER) {
		cs_diag_set(d, "%s: written with a foreign byte order (0x%08x)", t->path,
			    (unsigned)h->byte_order);
		return -EBADMSG;
	}
	err = check_version(t, h, d);
	if (err)
		return err;
	if (h->header_bytes < sizeof(*h) || h->header_bytes > CS_HEADER_MAX_BYTES) {
		cs_diag_set(d, "%s: bad header size %u", t->path, (unsigned)h->header_bytes);
		return -EBADMSG;
	}
	return 0;
}

static int check_header(cs_trace_t *t, cs_diag_t *d)
{
	int err;

	if (t->len < sizeof(t->hdr))
		return check_short(t, d);
	memcpy(&t->hdr, t->data, sizeof(t->hdr));
	err = check_fields(t, &t->hdr, d);
	if (err)
		return err;
	t->has_hdr = true;
	t->off = t->hdr.header_bytes;
	if (t->off > t->len) {
		t->off = t->len;
		t->truncated = true;
	}
	return 0;
}

int cs_trace_open(cs_trace_t *t, int dirfd, const char *name, const char *path, cs_diag_t *d)
{
	return cs_trace_open_head(t, dirfd, name, path, SIZE_MAX, d);
}

int cs_trace_open_head(cs_trace_t *t, int dirfd, const char *name, const char *path, size_t max,
		       cs_diag_t *d)
{
	int err;

	memset(t, 0, sizeof(*t));
	t->path = strdup(path);
	if (!t->path) {
		cs_diag_set(d, "out of memory");
		return -ENOMEM;
	}
	err = read_file(t, dirfd, name, max, d);
	if (!err)
		err = check_header(t, d);
	if (err)
		cs_trace_close(t);
	return err;
}

void cs_trace_close(cs_trace_t *t)
{
	free(t->path);
	if (t->mapped)
		munmap(t->data, t->len);
	else
		free(t->data);
	memset(t, 0, sizeof(*t));
}

/* A record header's size: at least the header, a multiple of 8, at most the maximum. */
static int check_size(const cs_trace_t *t, const cs_rec_hdr_t *h, cs_diag_t *d)
{
	if (h->size >= sizeof(*h) && h->size % 8 == 0 && h->size <= CS_REC_MAX_BYTES)
		return 0;
	cs_diag_set(d, "%s: record %u at offset %zu: bad size %u", t->path, (unsigned)t->recno + 1,
		    t->off, (unsigned)h->size);
	return -EBADMSG;
}

/* Return the record of header h at t->off, whose first `have` bytes are at p. */
static int take(cs_trace_t *t, const cs_rec_hdr_t *h, const uint8_t *p, size_t have, cs_rec_t *r)
{
	*r = (cs_rec_t){ .p = p,
			 .size = h->size,
			 .have = (uint32_t)have,
			 .type = h->type,
			 .recno = ++t->recno,
			 .off = t->off };
	t->off += h->size;
	return 1;
}

int cs_trace_next(cs_trace_t *t, cs_rec_t *r, cs_diag_t *d)
{
	cs_rec_hdr_t h;
	size_t left = t->len - t->off;

	if (left == 0)
		return 0;
	if (left < sizeof(h)) {
		t->truncated = true;
		return 0;
	}
	memcpy(&h, t->data + t->off, sizeof(h));
	if (check_size(t, &h, d))
		return -EBADMSG;
	if (h.size > left) {
		t->truncated = true;
		return 0;
	}
	return take(t, &h, t->data + t->off, h.size, r);
}

int cs_trace_follow_init(cs_trace_t *t, const char *path)
{
	memset(t, 0, sizeof(*t));
	t->path = strdup(path);
	t->data = malloc(CS_REC_PEEK);
	if (t->path && t->data)
		return 0;
	cs_trace_close(t);
	return -ENOMEM;
}

/* Up to n bytes at off into buf: how many were there, or -errno. */
static ssize_t read_at(int fd, void *buf, size_t n, size_t off)
{
	ssize_t got;

	do
		got = pread(fd, buf, n, (off_t)off);
	while (got < 0 && errno == EINTR);
	return got < 0 ? -errno : got;
}

/* Read and check the header of a followed file: 1 once whole, 0 while shorter. */
static int follow_header(cs_trace_t *t, int fd, cs_diag_t *d)
{
	ssize_t n = read_at(fd, t->data, sizeof(t->hdr), 0);
	int err;

	if (n < 0) {
		cs_diag_set(d, "%s: cannot read: %s", t->path, strerror((int)-n));
		return (int)n;
	}
	if ((size_t)n < sizeof(t->hdr))
		return check_prefix(t, t->data, (size_t)n, d);
	memcpy(&t->hdr, t->data, sizeof(t->hdr));
	err = check_fields(t, &t->hdr, d);
	if (err)
		return err;
	t->has_hdr = true;
	t->off = t->hdr.header_bytes;
	return 1;
}

/* Whether byte off of the file exists: 1, 0 (not yet), or -errno. */
static int have_byte(int fd, size_t off)
{
	uint8_t b;
	ssize_t n = read_at(fd, &b, 1, off);

	return n < 0 ? (int)n : n == 1;
}

int cs_trace_follow(cs_trace_t *t, int fd, cs_rec_t *r, cs_diag_t *d)
{
	cs_rec_hdr_t h;
	ssize_t n;
	int got;

	if (!t->has_hdr && (got = follow_header(t, fd, d)) <= 0)
		return got;
	n = read_at(fd, t->data, CS_REC_PEEK, t->off);
	if (n < 0) {
		cs_diag_set(d, "%s: cannot read: %s", t->path, strerror((int)-n));
		return (int)n;
	}
	if ((size_t)n < sizeof(h))
		return 0;
	memcpy(&h, t->data, sizeof(h));
	if (check_size(t, &h, d))
		return -EBADMSG;
	if (h.size > (size_t)n && (got = have_byte(fd, t->off + h.size - 1)) <= 0)
		return got; /* not all there yet */
	t->len = (size_t)n < h.size ? (size_t)n : h.size;
	return take(t, &h, t->data, t->len, r);
}

int cs_trace_bad(const cs_trace_t *t, const cs_rec_t *r, cs_diag_t *d, const char *what)
{
	cs_diag_set(d, "%s: record %u at offset %zu: %s", t->path, (unsigned)r->recno, r->off,
		    what);
	return -EBADMSG;
}

int cs_rec_fixed(const cs_rec_t *r, void *out, size_t fixed, cs_cur_t *c)
{
	if (r->size < fixed || r->have < fixed)
		return -EBADMSG;
	memcpy(out, r->p, fixed);
	*c = (cs_cur_t){ .p = r->p, .len = r->have, .off = fixed };
	return 0;
}

size_t cs_cur_left(const cs_cur_t *c)
{
	return c->len - c->off;
}

int cs_cur_bytes(cs_cur_t *c, size_t n, const void **p)
{
	if (n > cs_cur_left(c))
		return -EBADMSG;
	*p = c->p + c->off;
	c->off += n;
	return 0;
}

int cs_cur_str(cs_cur_t *c, cs_str_t *s)
{
	const void *p;
	uint16_t len;

	if (cs_cur_bytes(c, sizeof(len), &p))
		return -EBADMSG;
	memcpy(&len, p, sizeof(len));
	if (cs_cur_bytes(c, len, &p))
		return -EBADMSG;
	s->p = p;
	s->len = len;
	return 0;
}
