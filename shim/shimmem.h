/* SPDX-License-Identifier: MIT */
/* The shim's own region for allocation tracking: event buffers, the stack table, the Bloom filter. */
#ifndef CS_SHIMMEM_H
#define CS_SHIMMEM_H

#include <stddef.h>
#include <stdint.h>

/*
 * One reservation (MAP_NORESERVE; pages cost memory only once touched),
 * carved at init into fixed parts, reported in every trace as a
 * CS_REC_SHIM_RANGE so no figure counts it. Not wiped at fork: a child keeps
 * the stack table (ids stay valid) and the Bloom filter (it must still see the
 * frees of inherited sampled allocations).
 */
typedef struct cs_shimmem {
	uint8_t *base;
	size_t bytes;
	uint64_t *bloom;  /* CS_BLOOM_BITS bits */
	uint8_t *stacks;  /* the stack table */
	uint8_t *modules; /* encoded CS_REC_MODULE records */
	uint8_t *zstd;    /* CS_ZSTD_BYTES: the compression context and its output */
	uint8_t *ckpt;    /* CS_REC_MAX_BYTES: a LIVESET record being packed */
	uint8_t *livetab; /* the live sampled blocks (livetab.c) */
	size_t livetab_bytes;
	uint8_t *evbufs; /* per-thread event buffers */
	size_t evbufs_bytes;
} cs_shimmem_t;

#define CS_BLOOM_BITS (1u << 20) /* 128 KiB, one probe per free */
#define CS_STACK_SLOTS (1u << 18)
#define CS_MODULES_BYTES (256u * 1024u)
#define CS_ZSTD_BYTES (512u * 1024u)

/* Reserve and carve; 0 or -ENOMEM. init-only. */
int cs_shimmem_init(cs_shimmem_t *m);

/*
 * Filter of live sampled pointers: add one, test "maybe live", and take one
 * out when its free is recorded. A bit stands for one 16-byte granule modulo
 * 16 MiB, so taking out is exact unless two live sampled blocks lie a multiple
 * of 16 MiB apart (then the second one's free can be missed). hook-safe,
 * lock-free.
 */
void cs_bloom_add(const cs_shimmem_t *m, const void *p);
void cs_bloom_remove(const cs_shimmem_t *m, const void *p);

/*
 * The filter bit of p: one bit per 16-byte address granule, modulo 16 MiB of
 * address space, not a hash (see shimmem.c). hook-safe.
 */
static inline uint32_t cs_bloom_bit(const void *p)
{
	return (uint32_t)((uintptr_t)p >> 4) & (CS_BLOOM_BITS - 1);
}

/* Whether p may be a live sampled pointer: inline, since every free() asks. hook-safe. */
static inline int cs_bloom_maybe(const cs_shimmem_t *m, const void *p)
{
	uint32_t b = cs_bloom_bit(p);

	return (int)(__atomic_load_n(&m->bloom[b / 64], __ATOMIC_RELAXED) >> (b % 64) & 1);
}

#endif
