/* SPDX-License-Identifier: MIT */
/* Trace file creation and appends, guarded against descriptors the program closed or reused. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include "cowscope/trace_format.h"
#include "maps.h"
#include "options.h"
#include "prim.h"
#include "record.h"
#include "writer.h"

#define CS_OPEN_FLAGS (O_WRONLY | O_APPEND | O_NOFOLLOW | O_CLOEXEC)

enum { FD_WHY_REUSED = 1, FD_WHY_LOW = 2 };

static void make_name(char *out, int pid, uint32_t gen, const char *suffix)
{
	size_t n = cs_utoa(out, (uint64_t)pid);

	out[n++] = '.';
	n += cs_utoa(out + n, gen);
	memcpy(out + n, suffix, strlen(suffix) + 1);
}

/* Keep fd high if possible; otherwise close it and write by open-write-close from now on. */
static void keep(cs_writer_t *w, int fd)
{
	int h = cs_prim_fd_high(fd);

	if (h >= 0) {
		w->fd = h;
		return;
	}
	w->transient = 1;
	w->fd_note = w->live > 1; /* after the file header, which must come first */
	w->fd_why = FD_WHY_LOW;
}

/* Create the file for (pid, gen); gen_max > gen tries the following gens too. */
static int create(cs_writer_t *w, int dirfd, const char *dir, uint32_t kind, int pid, uint32_t gen,
		  uint32_t gen_max, const char *suffix)
{
	cs_file_hdr_t h;
	int fd = -EEXIST, r;

	memset(w, 0, sizeof(*w));
	w->fd = -1;
	w->dirfd = dir ? -1 : dirfd;
	w->dir = dir;
	for (; gen < gen_max && fd == -EEXIST; gen++) {
		make_name(w->name, pid, gen, suffix);
		fd = cs_prim_openat(dirfd, w->name, CS_OPEN_FLAGS | O_CREAT | O_EXCL, 0600);
	}
	if (fd < 0)
		return fd;
	w->gen = gen - 1;
	r = cs_prim_fd_id(fd, &w->id);
	if (r < 0) {
		cs_prim_close(fd);
		return r;
	}
	w->live = 1;
	keep(w, fd);
	cs_file_hdr_init(&h, kind, (uint32_t)pid, w->gen);
	r = cs_writer_put(w, &h, sizeof(h));
	w->live = 2; /* header written: notes may follow */
	w->fd_note |= w->transient;
	return r;
}

int cs_writer_create(cs_writer_t *w, int dirfd, uint32_t kind, int pid, const char *suffix)
{
	return create(w, dirfd, NULL, kind, pid, 0, 1000, suffix);
}

int cs_writer_create_gen(cs_writer_t *w, int dirfd, uint32_t kind, int pid, uint32_t gen,
			 const char *suffix)
{
	return create(w, dirfd, NULL, kind, pid, gen, gen + 1, suffix);
}

int cs_writer_create_in(cs_writer_t *w, int dirfd, const char *dir, uint32_t kind, int pid,
			const char *suffix)
{
	return create(w, dirfd, dir, kind, pid, 0, 1000, suffix);
}

/* Open our file again (by path or in dirfd), O_APPEND; only the same inode is accepted. */
static int open_again(cs_writer_t *w)
{
	char path[CS_PATH_MAX + CS_NAME_MAX + 2];
	size_t n;
	int fd;

	if (w->dir) {
		n = strnlen(w->dir, CS_PATH_MAX);
		memcpy(path, w->dir, n);
		path[n] = '/';
		memcpy(path + n + 1, w->name, strnlen(w->name, CS_NAME_MAX - 1) + 1);
		fd = cs_prim_openat(AT_FDCWD, path, CS_OPEN_FLAGS, 0);
	} else {
		fd = cs_prim_openat(w->dirfd, w->name, CS_OPEN_FLAGS, 0);
	}
	if (fd >= 0 && !cs_prim_fd_same(fd, &w->id)) {
		cs_prim_close(fd);
		return -ESTALE;
	}
	return fd;
}

/*
 * A descriptor to write with: the kept one when it is still ours, else a
 * reopened one (kept high when possible; else a transient one, *own = 1, that
 * the caller closes). Another thread may reopen at the same time: the first
 * to publish wins.
 */
static int acquire(cs_writer_t *w, int *own)
{
	int fd = __atomic_load_n(&w->fd, __ATOMIC_ACQUIRE), h;

	*own = 0;
	if (fd >= 0 && cs_prim_fd_same(fd, &w->id))
		return fd;
	if (fd >= 0 &&
	    __atomic_compare_exchange_n(&w->fd, &fd, -1, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
		w->reopens++; /* the program closed or reused it: not ours to close */
		w->fd_note = 1;
		w->fd_why = FD_WHY_REUSED;
	}
	fd = open_again(w);
	if (fd < 0 || w->transient)
		return *own = 1, fd;
	h = cs_prim_fd_high(fd);
	if (h < 0) {
		keep(w, -1);
		return *own = 1, open_again(w);
	}
	fd = -1;
	if (__atomic_compare_exchange_n(&w->fd, &fd, h, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
		return h;
	return *own = 1, h; /* another thread published first: write with ours, then close it */
}

/* Step past done bytes of iov[0..n): the first unfinished buffer, adjusted in place. */
static size_t iov_skip(struct iovec *iov, size_t n, size_t done)
{
	size_t i = 0;

	for (; i < n && done >= iov[i].iov_len; i++)
		done -= iov[i].iov_len;
	if (i < n) {
		iov[i].iov_base = (char *)iov[i].iov_base + done;
		iov[i].iov_len -= done;
	}
	return i;
}

/*
 * Append the buffers iov[0..n) (n <= CS_WRITER_IOV_MAX, total bytes) as one
 * record with O_APPEND writev calls (one, unless the kernel writes short). On
 * a short write (disk full) cut the file back to where this record began, so
 * no partial record is left. Another thread's record appended meanwhile would
 * be cut too: that can only happen while the disk is full, and it is counted
 * as lost like this one.
 */
static int appendv(int fd, const struct iovec *iov, size_t n, size_t total)
{
	struct iovec v[CS_WRITER_IOV_MAX];
	size_t done = 0, i = 0;
	struct stat st;

	memcpy(v, iov, n * sizeof(*v));
	while (done < total) {
		long r = cs_prim_writev(fd, v + i, (int)(n - i));

		if (r <= 0) {
			if (done && cs_prim_fstat(fd, &st) == 0 && (uint64_t)st.st_size >= done)
				cs_prim_ftruncate(fd, (uint64_t)st.st_size - done);
			return r < 0 ? (int)r : -EIO;
		}
		done += (size_t)r;
		i += iov_skip(v + i, n - i, (size_t)r);
	}
	return 0;
}

static int append(int fd, const void *p, size_t n)
{
	struct iovec v = { .iov_base = (void *)p, .iov_len = n };

	return appendv(fd, &v, 1, n);
}

static int put_note(int fd, uint32_t code, int err, const char *a, uint64_t num, const char *b)
{
	uint8_t buf[256];
	char text[160];
	cs_recbuf_t rb = { .buf = buf, .cap = sizeof(buf) };
	cs_rec_note_t *r = cs_rec_begin(&rb, CS_REC_NOTE, sizeof(*r));
	size_t n = strlen(a);

	memcpy(text, a, n);
	n += cs_utoa(text + n, num);
	memcpy(text + n, b, strlen(b));
	n += strlen(b);
	r->code = code;
	r->err = err;
	cs_rec_put_str(&rb, text, n);
	return append(fd, buf, cs_rec_finish(&rb));
}

/* Notes that are due go before the next record: descriptor trouble, then lost records. */
static int put_due(cs_writer_t *w, int fd)
{
	int r = 0;

	if (w->fd_note) {
		r = put_note(fd, CS_NOTE_FD, w->fd_why == FD_WHY_LOW ? EMFILE : EBADF,
			     w->fd_why == FD_WHY_LOW ? "cowscope: no descriptor outside the "
						       "program's range (limit "
						     : "cowscope: the program closed or reused the "
						       "trace descriptor (reopens ",
			     w->fd_why == FD_WHY_LOW ? CS_PRIM_FD_MIN : w->reopens,
			     w->fd_why == FD_WHY_LOW
				     ? "): the trace is written by open-append-close"
				     : "): reopened the same file");
		if (r == 0)
			w->fd_note = 0;
	}
	if (r == 0 && w->lost) {
		r = put_note(fd, CS_NOTE_WRITE_LOST, w->lost_err,
			     "cowscope: trace records lost: ", w->lost,
			     " (write failed; none partial)");
		if (r == 0)
			w->lost = 0;
	}
	return r;
}

static void lose(cs_writer_t *w, int err, uint32_t recs)
{
	w->failures++;
	w->lost += recs;
	w->lost_total += recs;
	w->lost_err = -err;
}

/* Check the descriptor, write due notes, then iov[0..n) (total bytes, recs records). */
static int write_out(cs_writer_t *w, const struct iovec *iov, size_t n, size_t total, uint32_t recs)
{
	int fd, r, own;

	fd = acquire(w, &own);
	if (fd < 0) {
		lose(w, fd, recs);
		return fd;
	}
	r = put_due(w, fd);
	if (r == 0)
		r = appendv(fd, iov, n, total);
	if (r < 0)
		lose(w, r, recs);
	if (own)
		cs_prim_close(fd);
	return r;
}

/* A token per thread: which thread owns a batch. */
static __thread char tls_token __attribute__((tls_model("initial-exec")));

static int batching_here(const cs_writer_t *w)
{
	return __atomic_load_n(&w->batch, __ATOMIC_ACQUIRE) &&
		__atomic_load_n(&w->batch_owner, __ATOMIC_ACQUIRE) == (const void *)&tls_token;
}

static int batch_flush(cs_writer_t *w)
{
	struct iovec v = { .iov_base = w->batch, .iov_len = w->batch_len };
	uint32_t recs = w->batch_recs;

	if (w->batch_len == 0)
		return 0;
	w->batch_len = w->batch_recs = 0;
	return write_out(w, &v, 1, v.iov_len, recs);
}

/* Into this thread's batch: flushed first if the record does not fit, alone if it never would. */
static int batch_put(cs_writer_t *w, const struct iovec *iov, size_t n, size_t total)
{
	int r = 0;

	if (total > w->batch_cap - w->batch_len)
		r = batch_flush(w);
	if (total > w->batch_cap)
		return r < 0 ? r : write_out(w, iov, n, total, 1);
	for (size_t i = 0; i < n; i++) {
		memcpy(w->batch + w->batch_len, iov[i].iov_base, iov[i].iov_len);
		w->batch_len += (uint32_t)iov[i].iov_len;
	}
	w->batch_recs++;
	return r;
}

int cs_writer_putv(cs_writer_t *w, const struct iovec *iov, size_t n)
{
	size_t total = 0, i;

	if (!w->live)
		return -EBADF;
	if (n > CS_WRITER_IOV_MAX)
		return -EINVAL;
	for (i = 0; i < n; i++)
		total += iov[i].iov_len;
	if (batching_here(w))
		return batch_put(w, iov, n, total);
	return write_out(w, iov, n, total, 1);
}

int cs_writer_put(cs_writer_t *w, const void *p, size_t n)
{
	struct iovec v = { .iov_base = (void *)p, .iov_len = n };

	return cs_writer_putv(w, &v, 1);
}

int cs_writer_batch_begin(cs_writer_t *w, void *buf, size_t cap)
{
	uint8_t *none = NULL;

	if (!w->live || !buf ||
	    !__atomic_compare_exchange_n(&w->batch, &none, (uint8_t *)buf, 0, __ATOMIC_ACQ_REL,
					 __ATOMIC_ACQUIRE))
		return 0; /* claimed: this thread's (nested) or another's */
	w->batch_cap = (uint32_t)cap;
	w->batch_len = w->batch_recs = 0;
	__atomic_store_n(&w->batch_owner, (const void *)&tls_token, __ATOMIC_RELEASE);
	return 1;
}

int cs_writer_batch_end(cs_writer_t *w, int began)
{
	int r;

	if (!began || !batching_here(w))
		return 0;
	r = batch_flush(w);
	__atomic_store_n(&w->batch_owner, NULL, __ATOMIC_RELEASE);
	__atomic_store_n(&w->batch, NULL, __ATOMIC_RELEASE);
	return r;
}

void cs_writer_close(cs_writer_t *w)
{
	if (batching_here(w))
		cs_writer_batch_end(w, 1);
	cs_prim_fd_drop(&w->fd, &w->id);
	w->live = 0;
}
