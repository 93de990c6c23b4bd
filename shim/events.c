/* SPDX-License-Identifier: MIT */
/* Event records, snapshots and the final records of a process. */
#include <errno.h>
#include <string.h>
#include <sys/resource.h>
#include "cowscope/trace_format.h"
#include "harvest.h"
#include "prim.h"
#include "record.h"
#include "state.h"
#include "evbuf.h"
#include "modules.h"

__thread int cs_tls_guard __attribute__((tls_model("initial-exec")));

int cs_traced_here(void)
{
	return cs_st.ready && cs_prim_getpid() == cs_st.pid;
}

void cs_say(const char *msg)
{
	cs_prim_write_all(2, msg, strlen(msg));
	cs_prim_write_all(2, "\n", 1);
}

static void put(const void *rec, size_t n)
{
	if (cs_writer_put(&cs_st.w, rec, n) < 0)
		__atomic_add_fetch(&cs_st.counters[CS_CNT_WRITE_FAIL], 1, __ATOMIC_RELAXED);
}

void cs_rec_fork(int child_pid, uint8_t via, uint64_t seq)
{
	cs_rec_fork_t r = {.h = {CS_REC_FORK, 0, sizeof(r)}, .child_pid = (uint32_t)child_pid,
			   .via = via, .seq = seq, .t_ns = cs_prim_now_ns()};

	__atomic_add_fetch(&cs_st.counters[CS_CNT_FORKS], 1, __ATOMIC_RELAXED);
	put(&r, sizeof(r));
}

void cs_rec_child_exit(int pid, int status)
{
	cs_rec_child_exit_t r = {.h = {CS_REC_CHILD_EXIT, 0, sizeof(r)}, .pid = (uint32_t)pid,
				 .status = status, .t_ns = cs_prim_now_ns()};

	put(&r, sizeof(r));
}

void cs_rec_resume(int err)
{
	cs_rec_resume_t r = {.h = {CS_REC_RESUME, 0, sizeof(r)}, .err = err,
			     .t_ns = cs_prim_now_ns()};

	put(&r, sizeof(r));
}

void cs_rec_note(uint32_t code, int err, const char *text)
{
	uint8_t buf[512];
	cs_recbuf_t b = {.buf = buf, .cap = sizeof(buf)};
	cs_rec_note_t *r = cs_rec_begin(&b, CS_REC_NOTE, sizeof(*r));

	r->code = code;
	r->err = err;
	cs_rec_put_str(&b, text, strnlen(text, 400));
	put(buf, cs_rec_finish(&b));
	if (cs_st.opt.verbose)
		cs_say(text);
}

int cs_snapshot(uint8_t reason)
{
	return cs_snapshot_arm(reason, NULL);
}

int cs_snapshot_arm(uint8_t reason, int (*arm)(void *arg, const cs_vma_t *v))
{
	struct rusage ru;
	cs_harvest_t h = {
		.proc_fd = -1,
		.pagemap_fd = cs_st.pagemap_fd,
		.backend = cs_st.backend,
		.scan = cs_st.probe.scan,
		.thp = cs_st.thp,
		.reason = reason,
		.page_shift = cs_st.page_shift,
		.shim_path = cs_st.shim_path,
		.own = {{(uint64_t)(uintptr_t)cs_st.arena, (uint64_t)(uintptr_t)cs_st.arena + CS_ARENA_BYTES},
			{(uint64_t)(uintptr_t)cs_st.mem.base,
			 (uint64_t)(uintptr_t)cs_st.mem.base + cs_st.mem.bytes}},
		.arm = arm,
		.w = &cs_st.w,
		.scratch = cs_st.arena,
	};
	int r;

	if (__atomic_exchange_n(&cs_st.snap_busy, 1, __ATOMIC_ACQUIRE)) {
		__atomic_add_fetch(&cs_st.counters[CS_CNT_SNAP_BUSY], 1, __ATOMIC_RELAXED);
		return -EBUSY;
	}
	h.seq = cs_st.snap_seq++;
	if (cs_st.alloc_on)
		cs_evbuf_flush_all(); /* the analyzer needs the allocations up to this snapshot */
	memset(&ru, 0, sizeof(ru));
	cs_prim_getrusage_self(&ru);
	r = cs_harvest_run(&h, (uint64_t)ru.ru_minflt, (uint64_t)ru.ru_majflt);
	cs_st.counters[CS_CNT_MAPS_SKIPPED] += h.skipped;
	if (r < 0)
		cs_st.counters[CS_CNT_SNAP_FAIL]++;
	__atomic_store_n(&cs_st.snap_busy, 0, __ATOMIC_RELEASE);
	return r;
}

void cs_modules_refresh(void)
{
	if (!cs_st.alloc_on)
		return;
	cs_tls_guard = 1;
	cs_modules_scan(&cs_st.mem, cs_st.exe);
	cs_tls_guard = 0;
}

static void put_counters(void)
{
	uint8_t buf[sizeof(cs_rec_counters_t) + CS_CNT__COUNT * 8];
	cs_rec_counters_t *c = (cs_rec_counters_t *)buf;

	memset(buf, 0, sizeof(buf));
	c->h.type = CS_REC_COUNTERS;
	c->h.size = sizeof(buf);
	c->count = CS_CNT__COUNT;
	cs_st.counters[CS_CNT_TRACE_REOPEN] = cs_st.w.reopens;
	memcpy(buf + sizeof(*c), cs_st.counters, sizeof(cs_st.counters));
	put(buf, sizeof(buf));
}

void cs_finish(uint8_t how, int status)
{
	static const uint8_t reason_of[] = {
		[CS_END_EXIT] = CS_SNAP_EXIT,
		[CS_END__EXIT] = CS_SNAP__EXIT,
		[CS_END_EXEC] = CS_SNAP_EXEC,
	};
	cs_rec_end_t e = {.h = {CS_REC_END, 0, sizeof(e)}, .how = how, .status = status};

	if (cs_st.role == CS_ROLE_CHILD && cs_st.backend != CS_BACKEND_NONE &&
	    how < sizeof(reason_of) && reason_of[how])
		cs_snapshot(reason_of[how]);
	else if (cs_st.alloc_on)
		cs_evbuf_flush_all();
	put_counters();
	e.t_ns = cs_prim_now_ns();
	put(&e, sizeof(e));
}
