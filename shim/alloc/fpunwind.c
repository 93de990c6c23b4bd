/* SPDX-License-Identifier: MIT */
/* The opt-in frame-pointer unwinder: the rbp chain, bounded by the current thread's stack. */
#include <fcntl.h>
#include <string.h>
#include "fpunwind.h"
#include "prim.h"

int cs_fp_walk(uintptr_t fp, uintptr_t lo, uintptr_t hi, void **out, int max)
{
	int n = 0;

	while (n < max && fp >= lo && fp % 8 == 0 && fp < hi && hi - fp >= 16) {
		const uintptr_t *rec = (const uintptr_t *)fp;

		if (!rec[1])
			break;
		out[n++] = (void *)rec[1];
		if (rec[0] <= fp)
			break; /* the chain must climb the stack: this also ends it at _start's 0 */
		fp = rec[0];
	}
	return n;
}

/* A hexadecimal number at *p, advancing *p past it. */
static uintptr_t hex(const char **p, const char *end)
{
	uintptr_t v = 0;

	for (; *p < end; (*p)++) {
		char c = **p;
		unsigned d = c >= '0' && c <= '9' ? (unsigned)(c - '0')
			: c >= 'a' && c <= 'f'    ? (unsigned)(c - 'a' + 10)
						  : 16u;

		if (d == 16u)
			break;
		v = v << 4 | d;
	}
	return v;
}

uintptr_t cs_fp_maps_end(const char *buf, size_t len, uintptr_t sp, size_t *used, uintptr_t *start)
{
	const char *p = buf, *end = buf + len;

	*used = 0;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		uintptr_t lo, hi;

		if (!nl)
			break;
		lo = hex(&p, nl);
		hi = p < nl && *p == '-' ? (p++, hex(&p, nl)) : 0;
		p = nl + 1;
		*used = (size_t)(p - buf);
		if (sp >= lo && sp < hi) {
			*start = lo;
			return hi;
		}
	}
	return 0;
}

/* This thread's stack mapping as last read: [stack_lo, stack_top). */
static __thread uintptr_t stack_lo __attribute__((tls_model("initial-exec")));
static __thread uintptr_t stack_top __attribute__((tls_model("initial-exec")));

/* Read /proc/self/maps in chunks until a line holds sp. */
static uintptr_t read_top(uintptr_t sp)
{
	char buf[2048];
	size_t have = 0, used;
	uintptr_t top = 0;
	long got;
	int fd = cs_prim_openat(AT_FDCWD, "/proc/self/maps", O_RDONLY | O_CLOEXEC, 0);

	if (fd < 0)
		return 0;
	while (!top && (got = cs_prim_read(fd, buf + have, sizeof(buf) - have)) > 0) {
		have += (size_t)got;
		top = cs_fp_maps_end(buf, have, sp, &used, &stack_lo);
		if (!used && have == sizeof(buf))
			used = have; /* a line longer than the buffer (a long path): drop it */
		memmove(buf, buf + used, have - used);
		have -= used;
	}
	cs_prim_close(fd);
	return top;
}

uintptr_t cs_fp_stack_top(uintptr_t sp)
{
	if (sp < stack_lo || sp >= stack_top) /* first use, or another stack (sigaltstack) */
		stack_top = read_top(sp);
	return stack_top;
}
