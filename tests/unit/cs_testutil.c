/* SPDX-License-Identifier: MIT */
/* Unit-test helpers: temporary run directories and trace files built with record.h. */
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zstd.h>
#include "cs_testutil.h"
#include "record.h"

static uint8_t recbuf[1 << 20];

char *tu_mkdtemp(void)
{
	const char *tmp = getenv("TMPDIR");
	char *path;

	if (asprintf(&path, "%s/cs_unit.XXXXXX", tmp && *tmp ? tmp : "/tmp") < 0)
		abort();
	if (!mkdtemp(path))
		abort();
	return path;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

void tu_rmtree(const char *dir)
{
	nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

void tu_put(int fd, const void *p, size_t n)
{
	if (write(fd, p, n) != (ssize_t)n)
		abort();
}

/* Create dir/name holding a file header of version 1.minor. */
static int open_version(const char *dir, const char *name, uint32_t kind, uint32_t pid,
			uint32_t gen, uint16_t minor)
{
	cs_file_hdr_t h;
	char path[4096];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0600);
	if (fd < 0)
		abort();
	cs_file_hdr_init(&h, kind, pid, gen);
	h.version_minor = minor;
	tu_put(fd, &h, sizeof(h));
	return fd;
}

int tu_open(const char *dir, const char *name, uint32_t kind, uint32_t pid, uint32_t gen)
{
	return open_version(dir, name, kind, pid, gen, CS_TRACE_MINOR);
}

void tu_write_file(const char *dir, const char *name, const void *p, size_t n)
{
	char path[4096];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		abort();
	tu_put(fd, p, n);
	close(fd);
}

char *tu_slurp(const char *path, size_t *n)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long len;

	if (!f || fseek(f, 0, SEEK_END) || (len = ftell(f)) < 0 || fseek(f, 0, SEEK_SET))
		abort();
	buf = malloc((size_t)len + 1);
	if (!buf || fread(buf, 1, (size_t)len, f) != (size_t)len)
		abort();
	buf[len] = 0;
	fclose(f);
	*n = (size_t)len;
	return buf;
}

static cs_recbuf_t rec_start(void)
{
	return (cs_recbuf_t){ .buf = recbuf, .cap = sizeof(recbuf) };
}

static void rec_finish(int fd, cs_recbuf_t *b)
{
	tu_put(fd, b->buf, cs_rec_finish(b));
}

void tu_proc(int fd, uint32_t pid, uint32_t ppid, uint32_t gen, uint8_t role, const char *cmd)
{
	tu_proc_args(fd, pid, ppid, gen, role, cmd, strlen(cmd) + 1);
}

static void proc_rec(int fd, uint32_t pid, uint32_t ppid, uint32_t gen, uint8_t role,
		     const char *args, size_t len, const char *exe, uint64_t start_ns);

void tu_proc_args(int fd, uint32_t pid, uint32_t ppid, uint32_t gen, uint8_t role, const char *args,
		  size_t len)
{
	proc_rec(fd, pid, ppid, gen, role, args, len, "/bin/x", 1000);
}

void tu_proc_start(int fd, uint32_t pid, uint32_t ppid, uint8_t role, const char *cmd,
		   uint64_t start_ns)
{
	proc_rec(fd, pid, ppid, 0, role, cmd, strlen(cmd) + 1, "/bin/x", start_ns);
}

void tu_proc_gen_start(int fd, uint32_t pid, uint32_t ppid, uint32_t gen, uint8_t role,
		       const char *cmd, uint64_t start_ns)
{
	proc_rec(fd, pid, ppid, gen, role, cmd, strlen(cmd) + 1, "/bin/x", start_ns);
}

void tu_proc_exe(int fd, uint32_t pid, uint32_t ppid, uint8_t role, const char *cmd,
		 const char *exe)
{
	proc_rec(fd, pid, ppid, 0, role, cmd, strlen(cmd) + 1, exe, 1000);
}

static void proc_rec(int fd, uint32_t pid, uint32_t ppid, uint32_t gen, uint8_t role,
		     const char *args, size_t len, const char *exe, uint64_t start_ns)
{
	cs_recbuf_t b = rec_start();
	cs_rec_proc_t *r = cs_rec_begin(&b, CS_REC_PROC, sizeof(*r));

	r->pid = pid;
	r->ppid = ppid;
	r->gen = gen;
	r->role = role;
	r->fork_via = role == CS_ROLE_CHILD ? CS_VIA_FORK : CS_VIA_NONE;
	r->page_size = TU_PAGE;
	r->start_ns = start_ns;
	cs_rec_put_str(&b, args, len); /* each argument ends with NUL */
	cs_rec_put_str(&b, exe, strlen(exe));
	cs_rec_put_str(&b, "/lib/libcowscope.so", 19);
	rec_finish(fd, &b);
}

static void backend_entry(cs_recbuf_t *b, uint8_t backend, uint8_t usable, const char *reason)
{
	cs_backend_entry_t e = { .backend = backend,
				 .usable = usable,
				 .reason_len = (uint16_t)strlen(reason),
				 .err = usable ? 0 : 38 };
	static const uint8_t zeros[8];

	cs_rec_put(b, &e, sizeof(e));
	cs_rec_put(b, reason, e.reason_len);
	cs_rec_put(b, zeros, (8 - (e.reason_len & 7)) & 7);
}

void tu_backend(int fd, uint8_t chosen, const char *unusable_reason)
{
	cs_recbuf_t b = rec_start();
	cs_rec_backend_t *r = cs_rec_begin(&b, CS_REC_BACKEND, sizeof(*r));

	r->chosen = chosen;
	r->nentries = CS_BACKEND_COUNT - 1;
	for (uint8_t i = 1; i < CS_BACKEND_COUNT; i++)
		backend_entry(&b, i, i >= chosen, i >= chosen ? "works" : unusable_reason);
	rec_finish(fd, &b);
}

void tu_snap_begin(int fd, uint32_t seq, uint8_t reason, uint8_t backend, uint64_t t_ns,
		   uint64_t minflt)
{
	cs_rec_snap_t r = { .h = { CS_REC_SNAP_BEGIN, 0, sizeof(r) },
			    .seq = seq,
			    .reason = reason,
			    .backend = backend,
			    .t_ns = t_ns,
			    .minflt = minflt };

	tu_put(fd, &r, sizeof(r));
}

void tu_snap_end(int fd, uint32_t seq)
{
	cs_rec_snap_end_t r = { .h = { CS_REC_SNAP_END, 0, sizeof(r) }, .seq = seq };

	tu_put(fd, &r, sizeof(r));
}

void tu_snap_end_flags(int fd, uint32_t seq, uint32_t flags)
{
	cs_rec_snap_end_t r = { .h = { CS_REC_SNAP_END, 0, sizeof(r) },
				.seq = seq,
				.flags = flags };

	tu_put(fd, &r, sizeof(r));
}

void tu_mapping(int fd, uint32_t seq, uint64_t start, uint64_t end, uint8_t kind, uint16_t flags,
		const char *name)
{
	cs_recbuf_t b = rec_start();
	cs_rec_mapping_t *r = cs_rec_begin(&b, CS_REC_MAPPING, sizeof(*r));

	r->start = start;
	r->end = end;
	r->seq = seq;
	r->kind = kind;
	r->prot = 3;
	r->flags = flags;
	cs_rec_put_str(&b, name, strlen(name));
	rec_finish(fd, &b);
}

void tu_pages(int fd, uint32_t seq, uint8_t set, const cs_run_t *runs, size_t n)
{
	cs_recbuf_t b = rec_start();
	cs_rec_pages_t *r = cs_rec_begin(&b, CS_REC_PAGES, sizeof(*r));

	r->seq = seq;
	r->set = set;
	cs_rec_put(&b, runs, n * sizeof(*runs));
	rec_finish(fd, &b);
}

void tu_pfns(int fd, uint32_t seq, uint64_t first_page, const uint64_t *pfn, uint32_t count)
{
	cs_recbuf_t b = rec_start();
	cs_rec_pfns_t *r = cs_rec_begin(&b, CS_REC_PFNS, sizeof(*r));

	r->seq = seq;
	r->count = count;
	r->first_page = first_page;
	cs_rec_put(&b, pfn, (size_t)count * 8);
	rec_finish(fd, &b);
}

void tu_fork(int fd, uint32_t child, uint64_t seq, uint64_t t_ns)
{
	cs_rec_fork_t r = { .h = { CS_REC_FORK, 0, sizeof(r) },
			    .child_pid = child,
			    .via = CS_VIA_FORK,
			    .seq = seq,
			    .t_ns = t_ns };

	tu_put(fd, &r, sizeof(r));
}

void tu_child_exit(int fd, uint32_t pid, int32_t status, uint64_t t_ns)
{
	cs_rec_child_exit_t r = {
		.h = { CS_REC_CHILD_EXIT, 0, sizeof(r) }, .pid = pid, .status = status, .t_ns = t_ns
	};

	tu_put(fd, &r, sizeof(r));
}

void tu_end(int fd, uint8_t how, int32_t status, uint64_t t_ns)
{
	cs_rec_end_t r = {
		.h = { CS_REC_END, 0, sizeof(r) }, .how = how, .status = status, .t_ns = t_ns
	};

	tu_put(fd, &r, sizeof(r));
}

void tu_resume(int fd, int32_t err)
{
	cs_rec_resume_t r = { .h = { CS_REC_RESUME, 0, sizeof(r) }, .err = err };

	tu_put(fd, &r, sizeof(r));
}

void tu_note(int fd, uint32_t code, int32_t err, const char *text)
{
	cs_recbuf_t b = rec_start();
	cs_rec_note_t *r = cs_rec_begin(&b, CS_REC_NOTE, sizeof(*r));

	r->code = code;
	r->err = err;
	cs_rec_put_str(&b, text, strlen(text));
	rec_finish(fd, &b);
}

void tu_mark(int fd, uint64_t t_ns, uint32_t seq, const char *label)
{
	cs_recbuf_t b = rec_start();
	cs_rec_mark_t *r = cs_rec_begin(&b, CS_REC_MARK, sizeof(*r));

	r->t_ns = t_ns;
	r->seq = seq;
	r->snap_seq = UINT32_MAX;
	cs_rec_put_str(&b, label, strlen(label));
	rec_finish(fd, &b);
}

void tu_shim_range(int fd, uint64_t start, uint64_t end)
{
	cs_rec_shim_range_t r = { .h = { CS_REC_SHIM_RANGE, 0, sizeof(r) },
				  .start = start,
				  .end = end };

	tu_put(fd, &r, sizeof(r));
}

void tu_counters(int fd, const uint64_t *v, uint32_t n)
{
	cs_recbuf_t b = rec_start();
	cs_rec_counters_t *r = cs_rec_begin(&b, CS_REC_COUNTERS, sizeof(*r));

	r->count = n;
	cs_rec_put(&b, v, (size_t)n * 8);
	rec_finish(fd, &b);
}

void tu_run(int fd, uint32_t root_pid, uint32_t interval_ms, const char *cmd)
{
	cs_recbuf_t b = rec_start();
	cs_rec_run_t *r = cs_rec_begin(&b, CS_REC_RUN, sizeof(*r));

	r->root_pid = root_pid;
	r->interval_ms = interval_ms;
	r->linger_ms = 10000;
	cs_rec_put_str(&b, cmd, strlen(cmd) + 1);
	cs_rec_put_str(&b, "/tmp", 4);
	rec_finish(fd, &b);
}

void tu_run_end(int fd, int32_t root_status, uint32_t still_running, uint64_t samples)
{
	cs_rec_run_end_t r = { .h = { CS_REC_RUN_END, 0, sizeof(r) },
			       .root_status = root_status,
			       .still_running = still_running,
			       .samples = samples };

	tu_put(fd, &r, sizeof(r));
}

void tu_sampling(int fd, uint64_t mean_bytes, uint32_t max_depth)
{
	cs_rec_sampling_t r = { .h = { CS_REC_SAMPLING, 0, sizeof(r) },
				.mean_bytes = mean_bytes,
				.max_depth = max_depth };

	tu_put(fd, &r, sizeof(r));
}

void tu_module(int fd, uint64_t base, const cs_seg_t *segs, uint32_t nsegs, const void *build_id,
	       uint16_t build_id_len, const char *path)
{
	static const uint8_t zeros[8];
	cs_recbuf_t b = rec_start();
	cs_rec_module_t *r = cs_rec_begin(&b, CS_REC_MODULE, sizeof(*r));

	r->base = base;
	r->nsegs = nsegs;
	r->build_id_len = build_id_len;
	cs_rec_put(&b, segs, (size_t)nsegs * sizeof(*segs));
	cs_rec_put(&b, build_id, build_id_len);
	cs_rec_put(&b, zeros, (8 - (build_id_len & 7)) & 7);
	cs_rec_put_str(&b, path, strlen(path));
	rec_finish(fd, &b);
}

void tu_stack(int fd, uint32_t id, const uint64_t *ra, uint32_t depth)
{
	cs_recbuf_t b = rec_start();
	cs_rec_stack_t *r = cs_rec_begin(&b, CS_REC_STACK, sizeof(*r));

	r->id = id;
	r->depth = depth;
	cs_rec_put(&b, ra, (size_t)depth * 8);
	rec_finish(fd, &b);
}

void tu_allocs(int fd, const cs_alloc_ev_t *ev, uint32_t n)
{
	cs_recbuf_t b = rec_start();
	cs_rec_events_t *r = cs_rec_begin(&b, CS_REC_ALLOCS, sizeof(*r));

	r->count = n;
	r->tid = 7;
	cs_rec_put(&b, ev, (size_t)n * sizeof(*ev));
	rec_finish(fd, &b);
}

void tu_frees(int fd, const cs_free_ev_t *ev, uint32_t n)
{
	cs_recbuf_t b = rec_start();
	cs_rec_events_t *r = cs_rec_begin(&b, CS_REC_FREES, sizeof(*r));

	r->count = n;
	r->tid = 7;
	cs_rec_put(&b, ev, (size_t)n * sizeof(*ev));
	rec_finish(fd, &b);
}

void tu_fork_point(int fd, uint64_t alloc_seq, uint32_t stack_id)
{
	cs_rec_fork_point_t r = { .h = { CS_REC_FORK_POINT, 0, sizeof(r) },
				  .alloc_seq = alloc_seq,
				  .stack_id = stack_id };

	tu_put(fd, &r, sizeof(r));
}

cs_alloc_ev_t tu_alloc_ev(uint64_t seq, uint64_t ptr, uint64_t size, uint64_t weight,
			  uint32_t stack, uint8_t kind)
{
	return (cs_alloc_ev_t){ .seq = seq,
				.ptr = ptr,
				.size = size,
				.weight_bytes = weight,
				.stack = stack,
				.kind = kind };
}

cs_free_ev_t tu_free_ev(uint64_t seq, uint64_t ptr, uint64_t len, uint8_t kind)
{
	return (cs_free_ev_t){ .seq = seq, .ptr = ptr, .len = len, .kind = kind };
}

int tu_proc_file(const char *dir, uint32_t pid, uint32_t ppid, uint8_t role, uint8_t backend)
{
	char name[32];
	int fd;

	snprintf(name, sizeof(name), "%u.0.cst", pid);
	fd = tu_open(dir, name, CS_FILE_PROCESS, pid, 0);
	tu_proc(fd, pid, ppid, 0, role, "prog");
	tu_backend(fd, backend, "");
	return fd;
}

int tu_open_minor(const char *dir, const char *name, uint32_t kind, uint32_t pid, uint16_t minor)
{
	return open_version(dir, name, kind, pid, 0, minor);
}

void tu_diff(int fd, uint32_t seq, uint8_t side, const tu_diff_t *v)
{
	cs_recbuf_t b = rec_start();
	cs_rec_diff_t *r = cs_rec_begin(&b, CS_REC_DIFF, sizeof(*r));

	r->seq = seq;
	r->side = side;
	r->word_bytes = 8;
	r->stride = v->stride ? v->stride : 1;
	r->flags = v->flags;
	r->considered = v->considered;
	r->compared = v->compared;
	r->changed_pages = v->changed_pages;
	r->changed_words = v->changed_words;
	memcpy(r->unknown, v->unknown, sizeof(r->unknown));
	r->cost_ns = 1000;
	rec_finish(fd, &b);
}

void tu_words(int fd, uint32_t seq, uint8_t side, const uint64_t *pages, const uint64_t *bitmaps,
	      uint32_t count)
{
	cs_recbuf_t b = rec_start();
	cs_rec_words_t *r = cs_rec_begin(&b, CS_REC_WORDS, sizeof(*r));

	r->seq = seq;
	r->side = side;
	r->bitmap_words = TU_BITMAP_WORDS;
	r->count = count;
	for (uint32_t i = 0; i < count; i++) {
		cs_rec_put(&b, &pages[i], 8);
		cs_rec_put(&b, &bitmaps[i * TU_BITMAP_WORDS], TU_BITMAP_WORDS * 8);
	}
	rec_finish(fd, &b);
}

void tu_lset(int fd, uint32_t set, uint64_t t_ns, uint64_t nranges, uint64_t bytes, uint32_t flags,
	     const char *kind, const char *const *names, uint32_t nnames)
{
	cs_recbuf_t b = rec_start();
	cs_rec_lset_t *r = cs_rec_begin(&b, CS_REC_LSET, sizeof(*r));

	r->set = set;
	r->nnames = nnames;
	r->nranges = nranges;
	r->t_ns = t_ns;
	r->bytes = bytes;
	r->flags = flags;
	cs_rec_put_str(&b, kind, strlen(kind));
	for (uint32_t i = 0; i < nnames; i++)
		cs_rec_put_str(&b, names[i], strlen(names[i]));
	rec_finish(fd, &b);
}

void tu_lranges(int fd, uint32_t set, const cs_lrange_t *v, uint32_t n)
{
	cs_recbuf_t b = rec_start();
	cs_rec_lranges_t *r = cs_rec_begin(&b, CS_REC_LRANGES, sizeof(*r));

	r->set = set;
	r->count = n;
	cs_rec_put(&b, v, (size_t)n * sizeof(*v));
	rec_finish(fd, &b);
}

size_t tu_pack(uint64_t seq0, const cs_pev_t *ev, uint32_t n, uint8_t *out)
{
	cs_evenc_t e;
	size_t len = 0;

	cs_evenc_start(&e, seq0);
	for (uint32_t i = 0; i < n; i++)
		len += cs_evenc_put(&e, out + len, &ev[i]);
	return len;
}

void tu_evpack_bytes(int fd, uint16_t type, uint32_t count, uint64_t seq, uint32_t raw_bytes,
		     uint16_t codec, const void *p, size_t n)
{
	cs_recbuf_t b = rec_start();
	cs_rec_evpack_t *r = cs_rec_begin(&b, type, sizeof(*r));

	r->count = count;
	r->tid = type == CS_REC_EVPACK ? 7 : 0;
	r->seq = seq;
	r->raw_bytes = raw_bytes;
	r->codec = codec;
	if (cs_rec_put(&b, p, n))
		abort();
	rec_finish(fd, &b);
}

void tu_evpack(int fd, uint16_t type, uint64_t seq0, const cs_pev_t *ev, uint32_t n, uint16_t codec)
{
	size_t cap = (size_t)n * CS_PEV_MAX_BYTES + 1, len, zcap;
	uint8_t *raw = malloc(cap), *z;

	len = tu_pack(seq0, ev, n, raw);
	if (codec == CS_CODEC_RAW) {
		tu_evpack_bytes(fd, type, n, seq0, (uint32_t)len, codec, raw, len);
		free(raw);
		return;
	}
	zcap = ZSTD_compressBound(len);
	z = malloc(zcap);
	zcap = ZSTD_compress(z, zcap, raw, len, 3);
	if (ZSTD_isError(zcap))
		abort();
	tu_evpack_bytes(fd, type, n, seq0, (uint32_t)len, codec, z, zcap);
	free(z);
	free(raw);
}

void tu_liveset(int fd, uint64_t cut, const cs_pev_t *ev, uint32_t n)
{
	tu_evpack(fd, CS_REC_LIVESET, cut, ev, n, CS_CODEC_RAW);
}
