/* SPDX-License-Identifier: MIT */
/* This process's trace file: owns the writer (created at boot and in each fork child). */
#include "cowscope/trace_format.h"
#include "harvest.h"
#include "boot.h"
#include "counters.h"
#include "trace.h"

/* The batch buffer: the harvest scratch's spare bytes (the page where it keeps its runs). */
#define BATCH_OFF CS_HARVEST_SPARE_OFF
#define BATCH_BYTES CS_HARVEST_SPARE_BYTES
_Static_assert(CS_HARVEST_SCRATCH <= CS_ARENA_BYTES, "the arena holds the batch buffer");

/* Written only here (and by the writer's own functions it is passed to). */
static cs_writer_t w = { .fd = -1 };

int cs_trace_open(int dfd, const char *dir, int pid)
{
	return cs_writer_create_in(&w, dfd, dir, CS_FILE_PROCESS, pid, CS_TRACE_SUFFIX);
}

void cs_trace_close(void)
{
	cs_writer_close(&w);
}

int cs_trace_put(const void *rec, size_t n)
{
	return cs_writer_put(&w, rec, n);
}

int cs_trace_putv(const struct iovec *iov, size_t n)
{
	return cs_writer_putv(&w, iov, n);
}

int cs_trace_put_counted(const void *rec, size_t n)
{
	int r = cs_writer_put(&w, rec, n);

	if (r < 0)
		cs_counter_add(CS_CNT_WRITE_FAIL, 1);
	return r;
}

uint32_t cs_trace_gen(void)
{
	return w.gen;
}

uint32_t cs_trace_reopens(void)
{
	return w.reopens;
}

cs_writer_t *cs_trace_writer(void)
{
	return &w;
}

int cs_trace_batch_begin(void)
{
	uint8_t *a = cs_proc()->arena;

	return a ? cs_writer_batch_begin(&w, a + BATCH_OFF, BATCH_BYTES) : 0;
}

int cs_trace_batch_end(int began)
{
	return cs_writer_batch_end(&w, began);
}
