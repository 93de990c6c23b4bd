/* SPDX-License-Identifier: MIT */
/* Trace file creation and appends, guarded against descriptors the program closed or reused. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include "cowscope/trace_format.h"
#include "maps.h"
#include "prim.h"
#include "record.h"
#include "writer.h"

#define CS_OPEN_FLAGS (O_WRONLY | O_APPEND | O_NOFOLLOW | O_CLOEXEC)

static void make_name(char *out, int pid, uint32_t gen, const char *suffix)
{
	size_t n = cs_utoa(out, (uint64_t)pid);

	out[n++] = '.';
	n += cs_utoa(out + n, gen);
	memcpy(out + n, suffix, strlen(suffix) + 1);
}

static int remember(cs_writer_t *w, int fd)
{
	struct stat st;
	int r;

	fd = cs_prim_dupfd_high(fd);
	r = cs_prim_fstat(fd, &st);
	if (r < 0) {
		cs_prim_close(fd);
		return r;
	}
	w->fd = fd;
	w->dev = st.st_dev;
	w->ino = st.st_ino;
	return 0;
}

/* Create the file for (pid, gen); gen_max > gen tries the following gens too. */
static int create(cs_writer_t *w, int dirfd, uint32_t kind, int pid, uint32_t gen,
		  uint32_t gen_max, const char *suffix)
{
	cs_file_hdr_t h;
	int fd = -EEXIST, r;

	memset(w, 0, sizeof(*w));
	w->fd = -1;
	w->dirfd = dirfd;
	for (; gen < gen_max && fd == -EEXIST; gen++) {
		make_name(w->name, pid, gen, suffix);
		fd = cs_prim_openat(dirfd, w->name, CS_OPEN_FLAGS | O_CREAT | O_EXCL, 0600);
	}
	if (fd < 0)
		return fd;
	w->gen = gen - 1;
	r = remember(w, fd);
	if (r < 0)
		return r;
	cs_file_hdr_init(&h, kind, (uint32_t)pid, w->gen);
	return cs_writer_put(w, &h, sizeof(h));
}

int cs_writer_create(cs_writer_t *w, int dirfd, uint32_t kind, int pid, const char *suffix)
{
	return create(w, dirfd, kind, pid, 0, 1000, suffix);
}

int cs_writer_create_gen(cs_writer_t *w, int dirfd, uint32_t kind, int pid, uint32_t gen,
			 const char *suffix)
{
	return create(w, dirfd, kind, pid, gen, gen + 1, suffix);
}

/* Is w->fd still our file? */
static int still_ours(const cs_writer_t *w)
{
	struct stat st;

	return cs_prim_fstat(w->fd, &st) == 0 && st.st_dev == w->dev && st.st_ino == w->ino;
}

static int reopen(cs_writer_t *w)
{
	int fd = cs_prim_openat(w->dirfd, w->name, CS_OPEN_FLAGS, 0);

	w->reopens++;
	return fd < 0 ? fd : remember(w, fd);
}

int cs_writer_put(cs_writer_t *w, const void *p, size_t n)
{
	int r;

	if (w->fd < 0)
		return -EBADF;
	if (!still_ours(w) && (r = reopen(w)) < 0)
		goto fail;
	r = cs_prim_write_all(w->fd, p, n);
	if (r == 0)
		return 0;
fail:
	w->failures++;
	return r;
}

void cs_writer_close(cs_writer_t *w)
{
	if (w->fd >= 0)
		cs_prim_close(w->fd);
	w->fd = -1;
}
