/* SPDX-License-Identifier: MIT */
/* Page-fault sampling in a fork child: per-CPU perf rings, drained into CS_REC_WSAMPLES at snapshots. */
#include <errno.h>
#include <fcntl.h>
#include <linux/perf_event.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include "cowscope/trace_format.h"
#include "prim.h"
#include "boot.h"
#include "events.h"
#include "trace.h"
#include "writers.h"

/* Writers state, written only here. */
static uint32_t ncpus;                      /* from cs_writers_init */
static uint8_t *rings[CS_WRITERS_MAX_CPUS]; /* mapped rings (NULL: none on that CPU) */
static uint64_t ring_bytes;                 /* data area of each ring */
static uint64_t lost;                       /* PERF_RECORD_LOST counts so far */
static uint64_t lost_written;               /* lost as the last record said */
static int on;                              /* rings mapped in this process */
static uint8_t full[CS_WRITERS_MAX_CPUS];   /* ring found full, no LOST record read since */
static uint8_t *poke;                       /* a page of ours to fault on (flush_lost) */
static int drain_busy;                      /* the drain's try-lock */

/* Samples batched per record (the buffer is the drain's, under its try-lock). */
#define BATCH_BYTES 16384u
static uint8_t batch[BATCH_BYTES];
static uint32_t batch_used, batch_count;

/* "0-3,5" → 6: one past the highest CPU number listed. */
static uint32_t parse_cpus(const char *s)
{
	uint32_t n = 0, max = 0;

	for (; *s; s++) {
		if (*s >= '0' && *s <= '9') {
			n = n * 10 + (uint32_t)(*s - '0');
			max = n + 1 > max ? n + 1 : max;
		} else {
			n = 0;
		}
	}
	return max;
}

void cs_writers_init(void)
{
	char buf[256];
	int fd = cs_prim_openat(AT_FDCWD, "/sys/devices/system/cpu/possible", O_RDONLY | O_CLOEXEC,
				0);
	long n = fd >= 0 ? cs_prim_read(fd, buf, sizeof(buf) - 1) : -1;

	if (fd >= 0)
		cs_prim_close(fd);
	buf[n > 0 ? n : 0] = 0;
	ncpus = parse_cpus(buf);
	if (ncpus == 0)
		ncpus = 1;
	if (ncpus > CS_WRITERS_MAX_CPUS)
		ncpus = CS_WRITERS_MAX_CPUS;
}

int cs_writers_on(void)
{
	return on;
}

void cs_writers_reset_in_child(void)
{
	/*
	 * Writers off: nothing was ever written here, and writing zeros would copy
	 * these pages into every child (the shim's footprint, docs/performance.md).
	 */
	if (!cs_proc()->opt.writers)
		return;
	/* The parent's rings are VM_DONTCOPY: not mapped here. Forget them, never unmap. */
	memset(rings, 0, sizeof(rings));
	memset(full, 0, sizeof(full));
	poke = NULL; /* the parent's; a private mapping the child may keep, unused */
	on = 0;
	lost = lost_written = 0;
	batch_used = batch_count = 0;
	drain_busy = 0;
}

static void attr_init(struct perf_event_attr *a)
{
	memset(a, 0, sizeof(*a));
	a->size = sizeof(*a);
	a->type = PERF_TYPE_SOFTWARE;
	a->config = PERF_COUNT_SW_PAGE_FAULTS_MIN;
	a->sample_period = 1;
	a->sample_type = PERF_SAMPLE_IP | PERF_SAMPLE_TID | PERF_SAMPLE_ADDR |
		PERF_SAMPLE_CALLCHAIN;
	a->inherit = 1;
	a->inherit_thread = 1; /* threads yes; a forked child opens its own (Linux 5.13) */
	a->exclude_kernel = 1;
	a->exclude_hv = 1;
	a->exclude_callchain_kernel = 1;
	a->sample_max_stack = CS_WRITERS_DEPTH;
	a->wakeup_events = 0;
}

/* Open the event on cpu and map its ring; the descriptor is closed either way. 0 or -errno. */
static int open_ring(uint32_t cpu, const struct perf_event_attr *a)
{
	size_t len = ring_bytes + (1ull << cs_proc()->page_shift);
	long fd = cs_prim_syscall6(SYS_perf_event_open, (long)a, 0, (long)cpu, -1,
				   PERF_FLAG_FD_CLOEXEC, 0);
	long p;

	if (fd < 0)
		return (int)fd;
	p = cs_prim_syscall6(SYS_mmap, 0, (long)len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	cs_prim_close((int)fd); /* the mapping holds the event */
	if (p < 0 && p > -4096)
		return (int)p;
	rings[cpu] = (uint8_t *)p;
	return 0;
}

static void put_range(const uint8_t *ring)
{
	uint64_t start = (uint64_t)(uintptr_t)ring;
	cs_rec_shim_range_t r = { .h = { CS_REC_SHIM_RANGE, 0, sizeof(r) },
				  .start = start,
				  .end = start + ring_bytes + (1ull << cs_proc()->page_shift) };

	cs_trace_put(&r, sizeof(r));
}

static void unmap_all(void)
{
	size_t len = ring_bytes + (1ull << cs_proc()->page_shift);

	for (uint32_t i = 0; i < ncpus; i++) {
		if (rings[i])
			cs_prim_munmap(rings[i], len);
		rings[i] = NULL;
	}
}

/* One CS_NOTE_WRITERS: "cowscope: writer sampling off: <why> (errno N)" without stdio. */
static void note_off(int err, const char *why)
{
	char text[400] = "cowscope: writer sampling is off in this child: ";
	size_t at = strlen(text), n = strlen(why);

	memcpy(text + at, why, n);
	text[at + n] = 0;
	cs_rec_note(CS_NOTE_WRITERS, err, text);
}

static const char *why_of(int err)
{
	if (err == -EACCES || err == -EPERM)
		return "perf_event_open or its ring was refused (perf_event_paranoid, seccomp, "
		       "or the perf_event_mlock_kb / RLIMIT_MEMLOCK limit on ring memory)";
	if (err == -ENOENT || err == -ENOSYS || err == -EOPNOTSUPP)
		return "this kernel has no page-fault sampling (perf events missing)";
	if (err == -ENOMEM)
		return "no memory for the sampling rings (COWSCOPE_WRITERS_BUFFER)";
	return "perf_event_open failed";
}

void cs_writers_child_start(void)
{
	struct perf_event_attr a;
	uint32_t opened = 0;
	int r = 0;

	if (!cs_proc()->opt.writers || ncpus == 0)
		return;
	ring_bytes = cs_proc()->opt.writers_buffer;
	attr_init(&a);
	for (uint32_t i = 0; i < ncpus && r >= 0; i++) {
		r = open_ring(i, &a);
		if (r == -ENODEV || r == -EINVAL) /* an offline CPU */
			r = 0;
		else if (r == 0)
			opened++;
	}
	if (r < 0 || opened == 0) {
		unmap_all();
		note_off(-r, why_of(r < 0 ? r : -ENODEV));
		return;
	}
	for (uint32_t i = 0; i < ncpus; i++)
		if (rings[i])
			put_range(rings[i]);
	poke = cs_prim_mmap_anon(1ull << cs_proc()->page_shift);
	on = 1;
}

/* ---- draining ---- */

#define SAMPLE_MAX (sizeof(cs_wsample_t) + CS_WRITERS_DEPTH * 8u)

/* Rings that filled up with no LOST record read since: at least one sample lost each. */
static uint64_t lost_floor(void)
{
	uint64_t n = 0;

	for (uint32_t i = 0; i < ncpus; i++)
		n += full[i];
	return n;
}

static void batch_flush(void)
{
	cs_rec_wsamples_t *r = (cs_rec_wsamples_t *)batch;

	if (!batch_count && lost + lost_floor() == lost_written)
		return;
	batch_used = batch_count ? batch_used : (uint32_t)sizeof(*r);
	lost_written = lost + lost_floor();
	*r = (cs_rec_wsamples_t){ .h = { CS_REC_WSAMPLES, 0, batch_used },
				  .count = batch_count,
				  .lost = lost + lost_floor() };
	cs_trace_put_counted(batch, batch_used);
	batch_used = batch_count = 0;
}

/* Copy n bytes at offset off of a ring's data area (which wraps) to out. */
static void ring_copy(const uint8_t *data, uint64_t off, void *out, size_t n)
{
	uint64_t at = off & (ring_bytes - 1);
	size_t first = n < ring_bytes - at ? n : (size_t)(ring_bytes - at);

	memcpy(out, data + at, first);
	memcpy((uint8_t *)out + first, data, n - first);
}

/* A PERF_RECORD_SAMPLE body: ip, pid, tid, addr, nr, ips[nr] (perf_event_open(2) order). */
static void add_sample(const uint64_t *b, size_t words)
{
	cs_wsample_t s = { 0 };
	uint64_t nr, *out;

	if (words < 4)
		return;
	if (batch_used == 0)
		batch_used = sizeof(cs_rec_wsamples_t);
	if (batch_used + SAMPLE_MAX > BATCH_BYTES)
		batch_flush(), batch_used = sizeof(cs_rec_wsamples_t);
	s.ip = b[0];
	s.tid = (uint32_t)(b[1] >> 32);
	s.addr = b[2];
	nr = b[3] < words - 4 ? b[3] : words - 4;
	out = (uint64_t *)(batch + batch_used + sizeof(s));
	for (uint64_t i = 0; i < nr && s.depth < CS_WRITERS_DEPTH; i++) {
		uint64_t ra = b[4 + i];

		if (ra >= (uint64_t)PERF_CONTEXT_MAX || ra == 0 ||
		    (s.depth == 0 && ra == s.ip && i < 2))
			continue; /* context markers, and the ip itself (the first entry) */
		out[s.depth++] = ra;
	}
	memcpy(batch + batch_used, &s, sizeof(s));
	batch_used += (uint32_t)(sizeof(s) + s.depth * 8u);
	batch_count++;
}

/* Drain one ring from tail to head, then give the space back. */
static void drain_ring(uint32_t cpu)
{
	uint8_t *ring = rings[cpu];
	struct perf_event_mmap_page *pg = (struct perf_event_mmap_page *)ring;
	const uint8_t *data = ring + (1ull << cs_proc()->page_shift);
	uint64_t head = __atomic_load_n(&pg->data_head, __ATOMIC_ACQUIRE);
	uint64_t tail = pg->data_tail;
	uint64_t rec[2 + 4 + CS_WRITERS_DEPTH + 8];

	if (head - tail + SAMPLE_MAX + 64 > ring_bytes)
		full[cpu] = 1; /* the kernel says how many only with its next record here */
	while (tail < head) {
		struct perf_event_header h;

		ring_copy(data, tail, &h, sizeof(h));
		if (h.size < sizeof(h))
			break; /* never: the kernel writes whole records */
		if (h.size <= sizeof(rec)) {
			ring_copy(data, tail, rec, h.size);
			if (h.type == PERF_RECORD_SAMPLE)
				add_sample(rec + 1, (h.size - sizeof(h)) / 8);
			else if (h.type == PERF_RECORD_LOST && h.size >= 24)
				lost += rec[2], full[cpu] = 0;
		} else {
			lost++; /* a sample longer than any this event makes: never */
		}
		tail += h.size;
	}
	__atomic_store_n(&pg->data_tail, head, __ATOMIC_RELEASE);
}

static void drain_all(void)
{
	for (uint32_t i = 0; i < ncpus; i++)
		if (rings[i])
			drain_ring(i);
}

/* Fault on our poke page, so this CPU's ring gets the LOST record it owes. */
static void poke_here(void)
{
	if (cs_prim_madvise(poke, 1ull << cs_proc()->page_shift, MADV_DONTNEED) == 0)
		*(volatile uint8_t *)poke = 1;
}

/* Run on CPU cpu only (sched_setaffinity migrates the caller before it returns): 0 or -errno. */
static long pin_to(uint32_t cpu)
{
	uint64_t one[CS_WRITERS_MAX_CPUS / 64] = { 0 };

	one[cpu / 64] = 1ull << (cpu % 64);
	return cs_prim_syscall6(SYS_sched_setaffinity, 0, sizeof(one), (long)one, 0, 0, 0);
}

/*
 * The kernel writes a ring's PERF_RECORD_LOST only before its next sample
 * there. So for each full ring, take one user-space fault on a page of ours
 * (its sample lies outside every figure) on that ring's CPU, moving the
 * thread there for the moment (a child that migrated after its ring filled
 * would otherwise leave that ring's losses unsaid: they would count as one),
 * then put the thread's CPU mask back and drain again. A CPU the thread may
 * not run on keeps counting as one lost sample until its next sample.
 */
static void flush_lost(void)
{
	uint64_t mask[CS_WRITERS_MAX_CPUS / 64];
	long n;

	if (!poke || !lost_floor())
		return;
	n = cs_prim_syscall6(SYS_sched_getaffinity, 0, sizeof(mask), (long)mask, 0, 0, 0);
	if (n > 0)
		for (uint32_t i = 0; i < ncpus; i++)
			if (full[i] && pin_to(i) == 0)
				poke_here();
	if (n > 0)
		cs_prim_syscall6(SYS_sched_setaffinity, 0, n, (long)mask, 0, 0, 0);
	poke_here();
	drain_all();
}

void cs_writers_drain(void)
{
	if (!on || __atomic_exchange_n(&drain_busy, 1, __ATOMIC_ACQUIRE))
		return;
	drain_all();
	flush_lost();
	batch_flush();
	__atomic_store_n(&drain_busy, 0, __ATOMIC_RELEASE);
}
