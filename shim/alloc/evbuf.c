/* SPDX-License-Identifier: MIT */
/*
 * Per-thread event buffers, each one open CS_REC_EVPACK being packed, written
 * when full (zstd-compressed when smaller) and at snapshots, forks and exit;
 * an ended thread's buffer is flushed and reused by the next thread that needs
 * one. In sampling mode the live sampled blocks are kept in a table so that,
 * past a write budget, buffered events can be dropped and replaced by one
 * CS_REC_LIVESET at the next sync point (compaction).
 */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#define ZSTD_STATIC_LINKING_ONLY
#include <zstd.h>
#include "evbuf.h"
#include "boot.h"
#include "counters.h"
#include "events.h"
#include "evpack.h"
#include "livetab.h"
#include "prim.h"
#include "sampling.h"
#include "trace.h"

#define ROOM sizeof(cs_rec_evpack_t) /* the record header, before the packed bytes */

typedef struct cs_evbuf {
	uint32_t state; /* 0 free, else the epoch of the process whose thread owns it */
	int busy;       /* held while appending or flushing */
	uint32_t used;  /* packed bytes at data + ROOM */
	uint32_t count; /* events packed */
	uint32_t tid;   /* the owning thread (atomic: another thread may reclaim the buffer) */
	uint32_t pad;
	uint64_t seq0;  /* the record's seq: the first event's seq - 1 */
	cs_evenc_t enc; /* the packing state */
	uint8_t data[CS_EVBUF_BYTES - 48];
} cs_evbuf_t;

/* Packed bytes a buffer holds: room for the header before, padding to 8 after. */
#define PACK_CAP (sizeof(((cs_evbuf_t *)0)->data) - ROOM - 8u)

/* Records always fit: the table holds no more blocks than one LIVESET can. */
#define LIVE_MAX ((CS_REC_MAX_BYTES - ROOM - 8u) / CS_PEV_MAX_BYTES)

/* Compaction's write budget: the floor, and bytes counted per live block. */
#define BUDGET_MIN_BYTES (256u << 10)
#define LIVE_EST_BYTES 12u
#define ZSTD_LEVEL 1

/*
 * A fork child must forget its parent's buffers without writing them: each
 * write would copy a page (1,216 buffers made every child copy 4.8 MiB). So a
 * buffer belongs to an epoch: a child takes a new one (its parent's + 1, so it
 * differs from every epoch it inherited) and treats any buffer of another
 * epoch as free. Only buffers below the high-water mark were ever claimed.
 */
static cs_evbuf_t *bufs;
static uint32_t nbufs;
static uint32_t epoch = 1;
static uint32_t high; /* buffers [0, high) have been claimed at some point */
static __thread cs_evbuf_t *mine __attribute__((tls_model("initial-exec")));

/* The shared stack buffer: CS_REC_STACK records, written before any event record. */
static uint8_t *sbuf;
static uint32_t sused;
static int sbusy;

/* zstd: one static context, taken with a try-lock (busy: the record goes raw). */
static ZSTD_CCtx *cctx;
static uint8_t *zout;
static size_t zout_cap;
static int zbusy;

/*
 * Compaction state. `lock` orders table updates with their appends and with
 * a checkpoint; with compaction on, every malloc-kind append holds it. It only
 * ever goes from on to off, under the lock.
 */
static volatile uint8_t compact;
static int lock;
static cs_livetab_t tab;
static uint8_t *ckpt;
static uint8_t dirty;    /* malloc-kind events were dropped since the last sync point */
static uint64_t written; /* malloc-kind bytes written since the last sync point */
static const char *off_why;
static uint8_t off_noted;

static void spin(int *l)
{
	while (__atomic_exchange_n(l, 1, __ATOMIC_ACQUIRE))
		cs_prim_relax();
}

static void unspin(int *l)
{
	__atomic_store_n(l, 0, __ATOMIC_RELEASE);
}

/* Hold b unless another thread keeps it for long (a flush under way): 1 if held. */
static int try_hold(cs_evbuf_t *b)
{
	for (int spins = 0; __atomic_exchange_n(&b->busy, 1, __ATOMIC_ACQUIRE); spins++)
		if (spins > 100000)
			return 0;
	return 1;
}

static uint32_t gettid_raw(void)
{
	return (uint32_t)cs_prim_syscall6(SYS_gettid, 0, 0, 0, 0, 0, 0);
}

static size_t pad8(size_t n)
{
	return (n + 7u) & ~(size_t)7u;
}

/* ---- writing packed records ---- */

/*
 * Write h's record with its n packed bytes compressed, if a zstd frame is
 * smaller and the context is free: the bytes written, or 0 (write it raw).
 * Never in a vfork child (it shares the parent's memory, context included).
 */
static size_t put_zstd(const uint8_t *src, size_t n, cs_rec_evpack_t h)
{
	size_t c, size = 0;

	if (!cctx || n < 256 || n > zout_cap || !cs_traced_here() ||
	    __atomic_exchange_n(&zbusy, 1, __ATOMIC_ACQUIRE))
		return 0;
	c = ZSTD_compressCCtx(cctx, zout + ROOM, n - 8, src, n, ZSTD_LEVEL);
	if (!ZSTD_isError(c) && pad8(ROOM + c) < pad8(ROOM + n)) {
		size = pad8(ROOM + c);
		memset(zout + ROOM + c, 0, size - ROOM - c);
		h.h.size = (uint32_t)size;
		h.codec = CS_CODEC_ZSTD;
		memcpy(zout, &h, sizeof(h));
		cs_trace_put_counted(zout, size);
	}
	unspin(&zbusy);
	return size;
}

/*
 * Write one packed record: rec holds ROOM bytes for the header, then n packed
 * bytes, then room for 8 of padding. Returns the bytes written.
 */
static size_t put_pack(uint8_t *rec, size_t n, uint16_t type, uint32_t tid, uint64_t seq,
		       uint32_t count, int zstd)
{
	cs_rec_evpack_t h = { .h = { type, 0, (uint32_t)pad8(ROOM + n) },
			      .count = count,
			      .tid = tid,
			      .seq = seq,
			      .raw_bytes = (uint32_t)n,
			      .codec = CS_CODEC_RAW };
	size_t size = zstd ? put_zstd(rec + ROOM, n, h) : 0;

	if (size)
		return size;
	memset(rec + ROOM + n, 0, h.h.size - ROOM - n);
	memcpy(rec, &h, sizeof(h));
	cs_trace_put_counted(rec, h.h.size);
	return h.h.size;
}

/* Write the stack buffer out; the caller holds sbusy. */
static void flush_stacks_held(void)
{
	if (sused)
		cs_trace_put_counted(sbuf, sused);
	sused = 0;
}

static void flush_stacks(void)
{
	if (!sbuf)
		return;
	spin(&sbusy);
	flush_stacks_held();
	unspin(&sbusy);
}

/* Write b's open record out (stacks first: its events name them). The caller holds b. */
static size_t write_buf(cs_evbuf_t *b)
{
	size_t size = 0;

	if (b->count) {
		flush_stacks();
		size = put_pack(b->data, b->used, CS_REC_EVPACK, b->tid, b->seq0, b->count, 1);
	}
	b->used = b->count = 0;
	return size;
}

static void discard(cs_evbuf_t *b)
{
	b->used = b->count = 0;
}

/* ---- compaction ---- */

static uint64_t budget(void)
{
	uint64_t live = 2ull * LIVE_EST_BYTES * tab.count;

	return live > BUDGET_MIN_BYTES ? live : BUDGET_MIN_BYTES;
}

/*
 * A full buffer (or one handed over): written while the bytes written since
 * the last sync point stay under the budget, else dropped (the next sync
 * point writes the live set). The caller holds b, and the lock if compact.
 */
static void emit(cs_evbuf_t *b)
{
	if (!compact) {
		write_buf(b);
		return;
	}
	if (b->count && written + b->used >= budget()) {
		discard(b);
		dirty = 1;
		return;
	}
	written += write_buf(b);
}

/* Pack the table into one CS_REC_LIVESET at ckpt (cut: the next seq) and write it. */
static void put_liveset(void)
{
	uint64_t cut = cs_sampling_seq_now();
	size_t n = 0, size;
	cs_evenc_t e;

	cs_evenc_start(&e, 0);
	for (uint32_t k = 0; k < tab.count; k++) {
		const cs_live_t *l = &tab.ent[k];
		cs_pev_t ev = { .seq = l->seq,
				.ptr = l->ptr,
				.len = l->size,
				.stack = l->stack,
				.what = CS_PEV_ALLOC,
				.kind = CS_ALLOC_MALLOC };

		n += cs_evenc_put(&e, ckpt + ROOM + n, &ev);
	}
	flush_stacks();
	size = put_pack(ckpt, n, CS_REC_LIVESET, 0, cut, tab.count, 0);
	cs_prim_madvise(ckpt, size, MADV_DONTNEED); /* scratch: give its pages back */
}

/* Write the live set in place of every buffered malloc-kind event. The caller holds the lock. */
static void checkpoint(void)
{
	uint32_t n = __atomic_load_n(&high, __ATOMIC_ACQUIRE);

	put_liveset();
	for (uint32_t i = 0; i < n; i++) {
		cs_evbuf_t *b = &bufs[i];

		if (__atomic_load_n(&b->state, __ATOMIC_ACQUIRE) != epoch || !try_hold(b))
			continue;
		discard(b);
		unspin(&b->busy);
	}
	dirty = 0;
	written = 0;
}

static void note_off(void)
{
	if (off_why && !off_noted && cs_traced_here()) {
		off_noted = 1;
		cs_rec_note(CS_NOTE_COMPACT, 0, off_why);
	}
}

/* Compaction off for the process (events dropped so far are checkpointed). Under the lock. */
static void compact_off(const char *why)
{
	if (dirty)
		checkpoint();
	__atomic_store_n(&compact, 0, __ATOMIC_RELEASE);
	off_why = why;
	note_off();
}

/* ---- buffers ---- */

int cs_evbuf_init(const cs_shimmem_t *m)
{
	const cs_options_t *o = &cs_proc()->opt;
	size_t tab_bytes = m->livetab_bytes, ctx_bytes;
	ZSTD_compressionParameters p = ZSTD_getCParams(ZSTD_LEVEL, CS_EVBUF_BYTES, 0);

	sbuf = m->evbufs;
	bufs = (cs_evbuf_t *)(m->evbufs + sizeof(cs_evbuf_t));
	nbufs = (uint32_t)(m->evbufs_bytes / sizeof(cs_evbuf_t)) - 1;
	ctx_bytes = (ZSTD_estimateCCtxSize_usingCParams(p) + 63u) & ~(size_t)63u;
	if (ctx_bytes + ROOM + PACK_CAP + 8u <= CS_ZSTD_BYTES) {
		cctx = ZSTD_initStaticCCtx(m->zstd, ctx_bytes);
		zout = m->zstd + ctx_bytes;
		zout_cap = PACK_CAP;
	}
	ckpt = m->ckpt;
	if (tab_bytes > (size_t)LIVE_MAX * CS_LIVETAB_BYTES_PER)
		tab_bytes = (size_t)LIVE_MAX * CS_LIVETAB_BYTES_PER;
	if (cs_sampling()->sample_bytes == 1)
		off_why = "exact mode records every event";
	else if (o->compact_off)
		off_why = "COWSCOPE_COMPACT=off";
	else if (cs_livetab_init(&tab, m->livetab, tab_bytes) < 0)
		off_why = "no memory for the live-block table";
	else
		compact = 1;
	return 0;
}

/* Thread tid of process pid has ended (tgkill with signal 0: nothing is sent). */
static int thread_gone(int pid, uint32_t tid)
{
	return tid && cs_prim_syscall6(SYS_tgkill, pid, (long)tid, 0, 0, 0, 0) == -ESRCH;
}

/*
 * Take this epoch's buffer b over from a thread that ended: write its events
 * out (or drop them, past compaction's budget), then give it to the caller.
 * No thread-exit hook does this (it needs pthread_setspecific, pthread TLS-key
 * code on the allocation path): the next thread that needs a buffer does, one
 * tgkill(tid, 0) per claimed buffer. A tid reused since keeps its old buffer
 * claimed until it ends too.
 */
static int reclaim(cs_evbuf_t *b, int pid, uint32_t me)
{
	uint32_t tid = __atomic_load_n(&b->tid, __ATOMIC_RELAXED);

	if (!thread_gone(pid, tid) || !try_hold(b))
		return 0;
	if (__atomic_load_n(&b->tid, __ATOMIC_RELAXED) != tid ||
	    __atomic_load_n(&b->state, __ATOMIC_ACQUIRE) != epoch) {
		unspin(&b->busy); /* another thread took it first */
		return 0;
	}
	emit(b);
	__atomic_store_n(&b->tid, me, __ATOMIC_RELAXED);
	unspin(&b->busy);
	return 1;
}

/* Take buffer i if it is free or another epoch's. */
static int take(uint32_t i)
{
	uint32_t seen = __atomic_load_n(&bufs[i].state, __ATOMIC_RELAXED);

	if (seen == epoch)
		return 0;
	return __atomic_compare_exchange_n(&bufs[i].state, &seen, epoch, 0, __ATOMIC_ACQUIRE,
					   __ATOMIC_RELAXED);
}

static void raise_high(uint32_t n)
{
	uint32_t h = __atomic_load_n(&high, __ATOMIC_RELAXED);

	while (h < n &&
	       !__atomic_compare_exchange_n(&high, &h, n, 1, __ATOMIC_RELEASE, __ATOMIC_RELAXED))
		;
}

/*
 * Take a buffer for this thread, the lowest that is free (never claimed, or
 * another epoch's) or whose thread ended (reclaim). A thread's first event
 * only: one pass over the claimed buffers.
 */
static cs_evbuf_t *claim(void)
{
	uint32_t me = gettid_raw(), n = __atomic_load_n(&high, __ATOMIC_ACQUIRE);
	int pid = cs_prim_getpid();

	for (uint32_t i = 0; i < nbufs; i++) {
		if (take(i)) {
			bufs[i].busy = 0; /* an inherited buffer may have been held at the fork */
			bufs[i].used = bufs[i].count = 0;
			__atomic_store_n(&bufs[i].tid, me, __ATOMIC_RELAXED);
			raise_high(i + 1);
			return mine = &bufs[i];
		}
		if (i < n && reclaim(&bufs[i], pid, me))
			return mine = &bufs[i];
	}
	return NULL;
}

/* Pack ev into the calling thread's open record, emitting it first when full. */
static void append(const cs_pev_t *ev)
{
	cs_evbuf_t *b = mine ? mine : claim();

	if (!b) {
		cs_counter_add(CS_CNT_EVENTS_DROPPED, 1);
		return;
	}
	spin(&b->busy);
	if (b->used + CS_PEV_MAX_BYTES > PACK_CAP)
		emit(b);
	if (!b->count) {
		b->seq0 = ev->seq - 1; /* the first event packs as "seq next" */
		cs_evenc_start(&b->enc, b->seq0);
	}
	b->used += (uint32_t)cs_evenc_put(&b->enc, b->data + ROOM + b->used, ev);
	b->count++;
	unspin(&b->busy);
}

/* An mmap-kind event: its own small EVPACK, at once (never dropped). */
static void put_single(const cs_pev_t *ev)
{
	uint8_t rec[ROOM + CS_PEV_MAX_BYTES + 8];
	cs_evenc_t e;
	size_t n;

	cs_evenc_start(&e, ev->seq - 1);
	n = cs_evenc_put(&e, rec + ROOM, ev);
	flush_stacks();
	put_pack(rec, n, CS_REC_EVPACK, gettid_raw(), ev->seq - 1, 1, 0);
}

/* A sampled malloc block: into the table, then its event, both under the lock. */
static void alloc_compacted(const cs_pev_t *ev)
{
	cs_live_t l = { .ptr = ev->ptr, .seq = ev->seq, .size = ev->len, .stack = ev->stack };

	spin(&lock);
	if (compact && cs_livetab_put(&tab, &l) < 0)
		compact_off("the live-block table is full: every event is written from here on");
	append(ev);
	unspin(&lock);
}

void cs_ev_alloc(const cs_pev_t *ev)
{
	if (ev->kind != CS_ALLOC_MALLOC)
		put_single(ev);
	else if (__atomic_load_n(&compact, __ATOMIC_ACQUIRE))
		alloc_compacted(ev);
	else
		append(ev);
}

/* A free, with compaction: written only if the table held its block. */
static void free_compacted(const cs_pev_t *ev)
{
	spin(&lock);
	if (!compact || cs_livetab_take(&tab, ev->ptr))
		append(ev);
	unspin(&lock);
}

void cs_ev_free(const cs_pev_t *ev)
{
	if (ev->kind != CS_FREE_FREE)
		put_single(ev);
	else if (__atomic_load_n(&compact, __ATOMIC_ACQUIRE))
		free_compacted(ev);
	else
		append(ev);
}

void cs_ev_record(const void *rec, size_t n)
{
	if (!sbuf || n > CS_EVBUF_BYTES)
		return;
	spin(&sbusy);
	if (sused + n > CS_EVBUF_BYTES)
		flush_stacks_held();
	memcpy(sbuf + sused, rec, n);
	sused += (uint32_t)n;
	unspin(&sbusy);
}

/* Bytes buffered in this epoch's buffers (racy without compaction: a guide only). */
static uint64_t buffered(uint32_t n)
{
	uint64_t sum = 0;

	for (uint32_t i = 0; i < n; i++)
		if (__atomic_load_n(&bufs[i].state, __ATOMIC_ACQUIRE) == epoch)
			sum += __atomic_load_n(&bufs[i].used, __ATOMIC_RELAXED);
	return sum;
}

static void write_all(uint32_t n)
{
	for (uint32_t i = 0; i < n; i++) {
		cs_evbuf_t *b = &bufs[i];

		if (__atomic_load_n(&b->state, __ATOMIC_ACQUIRE) != epoch || !try_hold(b))
			continue;
		write_buf(b);
		unspin(&b->busy);
	}
}

void cs_evbuf_flush_all(void)
{
	uint32_t n = __atomic_load_n(&high, __ATOMIC_ACQUIRE);

	if (!bufs)
		return;
	flush_stacks();
	note_off();
	if (!__atomic_load_n(&compact, __ATOMIC_ACQUIRE)) {
		write_all(n);
		return;
	}
	spin(&lock);
	if (compact && (dirty || written + buffered(n) >= budget()))
		checkpoint();
	else
		write_all(n);
	written = 0;
	unspin(&lock);
}

void cs_evbuf_reset_in_child(void)
{
	epoch++;
	sused = 0;
	sbusy = zbusy = 0;
	off_noted = 0; /* the child's trace gets its own note */
	dirty = 0;
	written = 0;
	if (__atomic_load_n(&lock, __ATOMIC_RELAXED)) {
		/* Another thread was changing the table at the fork: it cannot be trusted. */
		compact = 0;
		off_why = "the live-block table was being changed at the fork";
	}
	lock = 0;
	if (!mine)
		return;
	/* The forking thread keeps its buffer, emptied: one page written, not one per buffer. */
	mine->state = epoch;
	mine->busy = 0;
	mine->used = mine->count = 0;
	__atomic_store_n(&mine->tid, gettid_raw(), __ATOMIC_RELAXED);
}
