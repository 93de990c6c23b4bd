/* SPDX-License-Identifier: MIT */
/* The shim's allocation-tracking region and its Bloom filter of sampled pointers. */
#include <errno.h>
#include <string.h>
#include "prim.h"
#include "shimmem.h"
#include "cowscope/trace_format.h"

#define STACK_TABLE_BYTES ((size_t)CS_STACK_SLOTS * 16u)
#define BLOOM_BYTES ((size_t)CS_BLOOM_BITS / 8u)

/*
 * Event buffers get what is left: 64 MiB (1024 threads' worth), or less if
 * memory is tight; the live-block table a third of what is left (evbuf.c uses at most what
 * a LIVESET record can hold), the checkpoint scratch 16 MiB.
 */
static const size_t tries[] = { 136u << 20, 40u << 20, 24u << 20 };

int cs_shimmem_init(cs_shimmem_t *m)
{
	size_t fixed = BLOOM_BYTES + STACK_TABLE_BYTES + CS_MODULES_BYTES + CS_ZSTD_BYTES +
		CS_REC_MAX_BYTES;

	memset(m, 0, sizeof(*m));
	for (size_t i = 0; i < sizeof(tries) / sizeof(tries[0]) && !m->base; i++) {
		m->base = cs_prim_mmap_reserve(tries[i]);
		m->bytes = tries[i];
	}
	if (!m->base)
		return -ENOMEM;
	m->bloom = (uint64_t *)m->base;
	m->stacks = m->base + BLOOM_BYTES;
	m->modules = m->stacks + STACK_TABLE_BYTES;
	m->zstd = m->modules + CS_MODULES_BYTES;
	m->ckpt = m->zstd + CS_ZSTD_BYTES;
	m->livetab = m->ckpt + CS_REC_MAX_BYTES;
	m->livetab_bytes = (m->bytes - fixed) / 3;
	m->evbufs = m->livetab + m->livetab_bytes;
	m->evbufs_bytes = m->bytes - fixed - m->livetab_bytes;
	return 0;
}

/*
 * The filter's bit (cs_bloom_bit) is one per 16-byte address granule, modulo
 * 16 MiB of address space, not a hash: neighbouring blocks share filter words,
 * so a free() probes a line that the heap's own locality keeps in cache. (A
 * hashed index missed cache on every free and cost 11% of a malloc-heavy run.)
 * False positives, addresses 16 MiB apart, only make the shim write a free the
 * analyzer ignores.
 */

void cs_bloom_add(const cs_shimmem_t *m, const void *p)
{
	uint32_t b = cs_bloom_bit(p);

	if (!(__atomic_load_n(&m->bloom[b / 64], __ATOMIC_RELAXED) >> (b % 64) & 1))
		__atomic_fetch_or(&m->bloom[b / 64], 1ull << (b % 64), __ATOMIC_RELAXED);
}

void cs_bloom_remove(const cs_shimmem_t *m, const void *p)
{
	uint32_t b = cs_bloom_bit(p);

	__atomic_fetch_and(&m->bloom[b / 64], ~(1ull << (b % 64)), __ATOMIC_RELAXED);
}
