/* SPDX-License-Identifier: MIT */
/*
 * Per-thread event buffers with batched records, flushed when full and at
 * snapshots, forks and exit; an ended thread's buffer is flushed and reused
 * by the next thread that needs one.
 */
#include <errno.h>
#include <string.h>
#include <sys/syscall.h>
#include "evbuf.h"
#include "counters.h"
#include "prim.h"
#include "trace.h"

typedef struct cs_evbuf {
	uint32_t state; /* 0 free, else the epoch of the process whose thread owns it */
	int busy;       /* held while appending or flushing */
	uint32_t used;  /* bytes of whole records in data */
	uint32_t open;  /* offset + 1 of the batch record still being filled, 0 if none */
	uint32_t tid;   /* the owning thread (atomic: another thread may reclaim the buffer) */
	uint32_t pad;
	uint8_t data[CS_EVBUF_BYTES - 24];
} cs_evbuf_t;

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

static void hold(cs_evbuf_t *b)
{
	while (__atomic_exchange_n(&b->busy, 1, __ATOMIC_ACQUIRE))
		cs_prim_relax();
}

static void release(cs_evbuf_t *b)
{
	__atomic_store_n(&b->busy, 0, __ATOMIC_RELEASE);
}

/* Write the buffer out; the caller holds it. */
static void flush_held(cs_evbuf_t *b)
{
	if (b->used)
		cs_trace_put_counted(b->data, b->used);
	b->used = 0;
	b->open = 0;
}

/* Hold b unless another thread keeps it for long (a flush under way): 1 if held. */
static int try_hold(cs_evbuf_t *b)
{
	for (int spins = 0; __atomic_exchange_n(&b->busy, 1, __ATOMIC_ACQUIRE); spins++)
		if (spins > 100000)
			return 0;
	return 1;
}

int cs_evbuf_init(const cs_shimmem_t *m)
{
	bufs = (cs_evbuf_t *)m->evbufs;
	nbufs = (uint32_t)(m->evbufs_bytes / sizeof(cs_evbuf_t));
	return 0;
}

static uint32_t gettid_raw(void)
{
	return (uint32_t)cs_prim_syscall6(SYS_gettid, 0, 0, 0, 0, 0, 0);
}

/* Thread tid of process pid has ended (tgkill with signal 0: nothing is sent). */
static int thread_gone(int pid, uint32_t tid)
{
	return tid && cs_prim_syscall6(SYS_tgkill, pid, (long)tid, 0, 0, 0, 0) == -ESRCH;
}

/*
 * Take this epoch's buffer b over from a thread that ended: write its events
 * out, then give it to the caller. No thread-exit hook does this (it needs
 * pthread_setspecific, pthread TLS-key code on the allocation path): the next
 * thread that needs a buffer does, one tgkill(tid, 0) per claimed buffer.
 * A tid reused since keeps its old buffer claimed until it ends too.
 */
static int reclaim(cs_evbuf_t *b, int pid, uint32_t me)
{
	uint32_t tid = __atomic_load_n(&b->tid, __ATOMIC_RELAXED);

	if (!thread_gone(pid, tid) || !try_hold(b))
		return 0;
	if (__atomic_load_n(&b->tid, __ATOMIC_RELAXED) != tid ||
	    __atomic_load_n(&b->state, __ATOMIC_ACQUIRE) != epoch) {
		release(b); /* another thread took it first */
		return 0;
	}
	flush_held(b);
	__atomic_store_n(&b->tid, me, __ATOMIC_RELAXED);
	release(b);
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
			bufs[i].used = bufs[i].open = 0;
			__atomic_store_n(&bufs[i].tid, me, __ATOMIC_RELAXED);
			raise_high(i + 1);
			return mine = &bufs[i];
		}
		if (i < n && reclaim(&bufs[i], pid, me))
			return mine = &bufs[i];
	}
	return NULL;
}

/* Room for n more bytes, flushing first if needed. The caller holds b. */
static int make_room(cs_evbuf_t *b, size_t n)
{
	if (b->used + n > sizeof(b->data))
		flush_held(b);
	return b->used + n <= sizeof(b->data);
}

/* Add one event to the open batch of `type`, or start a new batch. */
static void append_event(uint16_t type, const void *ev, size_t n)
{
	cs_evbuf_t *b = mine ? mine : claim();
	cs_rec_events_t *batch;

	if (!b) {
		cs_counter_add(CS_CNT_EVENTS_DROPPED, 1);
		return;
	}
	hold(b);
	batch = b->open ? (cs_rec_events_t *)(b->data + b->open - 1) : NULL;
	if (!batch || batch->h.type != type || b->used + n > sizeof(b->data)) {
		if (make_room(b, sizeof(*batch) + n)) {
			batch = (cs_rec_events_t *)(b->data + b->used);
			*batch = (cs_rec_events_t){ .h = { type, 0, sizeof(*batch) },
						    .tid = b->tid };
			b->open = b->used + 1;
			b->used += sizeof(*batch);
		} else
			batch = NULL;
	}
	if (batch) {
		memcpy(b->data + b->used, ev, n);
		b->used += (uint32_t)n;
		batch->h.size += (uint32_t)n;
		batch->count++;
	}
	release(b);
}

void cs_ev_alloc(const cs_alloc_ev_t *e)
{
	append_event(CS_REC_ALLOCS, e, sizeof(*e));
}

void cs_ev_free(const cs_free_ev_t *e)
{
	append_event(CS_REC_FREES, e, sizeof(*e));
}

void cs_ev_record(const void *rec, size_t n)
{
	cs_evbuf_t *b = mine ? mine : claim();

	if (!b)
		return;
	hold(b);
	if (make_room(b, n)) {
		memcpy(b->data + b->used, rec, n);
		b->used += (uint32_t)n;
		b->open = 0;
	}
	release(b);
}

void cs_evbuf_flush_all(void)
{
	uint32_t n = __atomic_load_n(&high, __ATOMIC_ACQUIRE);

	for (uint32_t i = 0; i < n; i++) {
		cs_evbuf_t *b = &bufs[i];

		if (__atomic_load_n(&b->state, __ATOMIC_ACQUIRE) != epoch || !try_hold(b))
			continue;
		flush_held(b);
		release(b);
	}
}

void cs_evbuf_reset_in_child(void)
{
	epoch++;
	if (!mine)
		return;
	/* The forking thread keeps its buffer, emptied: one page written, not one per buffer. */
	mine->state = epoch;
	mine->busy = 0;
	mine->used = mine->open = 0;
	__atomic_store_n(&mine->tid, gettid_raw(), __ATOMIC_RELAXED);
}
