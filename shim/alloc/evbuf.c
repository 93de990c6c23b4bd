/* SPDX-License-Identifier: MIT */
/* Per-thread event buffers with batched records, flushed when full, at snapshots and at thread exit. */
#include <errno.h>
#include <pthread.h>
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
	uint32_t tid;
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
static uint32_t high;           /* buffers [0, high) have been claimed at some point */
static pthread_key_t exit_key;
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

static void on_thread_exit(void *arg)
{
	cs_evbuf_t *b = arg;

	if (__atomic_load_n(&b->state, __ATOMIC_ACQUIRE) != epoch)
		return; /* a buffer inherited across fork: not ours to flush */
	hold(b);
	flush_held(b);
	mine = NULL;
	__atomic_store_n(&b->state, 0, __ATOMIC_RELEASE);
	release(b);
}

int cs_evbuf_init(const cs_shimmem_t *m)
{
	bufs = (cs_evbuf_t *)m->evbufs;
	nbufs = (uint32_t)(m->evbufs_bytes / sizeof(cs_evbuf_t));
	return -pthread_key_create(&exit_key, on_thread_exit);
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

	while (h < n && !__atomic_compare_exchange_n(&high, &h, n, 1, __ATOMIC_RELEASE,
						     __ATOMIC_RELAXED))
		;
}

/* Take a free buffer for this thread. pthread_setspecific may allocate: the hook guard covers it. */
static cs_evbuf_t *claim(void)
{
	for (uint32_t i = 0; i < nbufs; i++) {
		if (!take(i))
			continue;
		bufs[i].busy = 0; /* an inherited buffer may have been held at the fork */
		bufs[i].used = bufs[i].open = 0;
		bufs[i].tid = (uint32_t)cs_prim_syscall6(SYS_gettid, 0, 0, 0, 0, 0, 0);
		raise_high(i + 1);
		pthread_setspecific(exit_key, &bufs[i]);
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
			*batch = (cs_rec_events_t){.h = {type, 0, sizeof(*batch)}, .tid = b->tid};
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
		int spins = 0;

		if (__atomic_load_n(&b->state, __ATOMIC_ACQUIRE) != epoch)
			continue;
		while (__atomic_exchange_n(&b->busy, 1, __ATOMIC_ACQUIRE))
			if (++spins > 100000)
				break;
		if (spins > 100000)
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
	mine->tid = (uint32_t)cs_prim_syscall6(SYS_gettid, 0, 0, 0, 0, 0, 0);
}
