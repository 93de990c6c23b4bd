/* SPDX-License-Identifier: MIT */
/* Reading /proc/PID/maps without allocating: a line parser and a streaming reader. */
#ifndef CS_MAPS_H
#define CS_MAPS_H

#include <stddef.h>
#include <stdint.h>

#define CS_VMA_NAME_MAX 256

typedef struct cs_vma {
	uint64_t start;
	uint64_t end;
	uint64_t offset;
	uint32_t prot;  /* PROT_READ | PROT_WRITE | PROT_EXEC */
	uint8_t shared; /* 's' in the flags column */
	uint16_t name_len;
	char name[CS_VMA_NAME_MAX]; /* NUL-terminated, cut at CS_VMA_NAME_MAX - 1 */
} cs_vma_t;

/*
 * Parse one maps line (without its newline) into *v. Returns 0 or -EINVAL.
 * hook-safe, pure.
 */
int cs_maps_parse_line(const char *line, size_t n, cs_vma_t *v);

typedef struct cs_maps_reader {
	int fd;
	char *buf;
	size_t cap;
	size_t len;
	size_t pos;
} cs_maps_reader_t;

/*
 * Open "maps" under proc_fd (an open /proc/<pid> directory; -1 for
 * /proc/self) reading through the caller's buffer (>= 4 KiB; lines longer than
 * the buffer are cut). 0 or -errno. fork-child-safe.
 */
int cs_maps_open(cs_maps_reader_t *r, int proc_fd, char *buf, size_t cap);

/* Next mapping: 1 and *v, 0 at the end, or -errno. fork-child-safe. */
int cs_maps_next(cs_maps_reader_t *r, cs_vma_t *v);

void cs_maps_close(cs_maps_reader_t *r);

/* Write "/proc/<pid>/<leaf>" (pid 0: "self") into out (>= 40 bytes). hook-safe. */
void cs_proc_path(char *out, int pid, const char *leaf);

/* Decimal of v into out, NUL-terminated; returns its length. hook-safe. */
size_t cs_utoa(char *out, uint64_t v);

#endif
