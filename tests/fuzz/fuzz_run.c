/* SPDX-License-Identifier: MIT */
/* libFuzzer harness: a whole run directory split from the input, loaded and reported. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The names a file of the input can take (a pid reused, an exec, samples, the run). */
static const char *const names[] = {
	"100.0.cst",         "101.0.cst",         "101.1.cst", "102.0.cst",
	"101.0.samples.cst", "102.0.samples.cst", "run.cst",   "101.2.cst",
};

/*
 * The input is a list of files, each: u8 name index (mod 8), u32 length
 * (little-endian, cut to what is left), then that many bytes. A later file of
 * the same name replaces the earlier one.
 */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *d = fz_dir();
	size_t off = 0;

	while (off + 5 <= size) {
		uint8_t which = data[off];
		uint32_t len;

		memcpy(&len, data + off + 1, 4);
		off += 5;
		if (len > size - off)
			len = (uint32_t)(size - off);
		fz_write(d, names[which % (sizeof(names) / sizeof(names[0]))], data + off, len);
		off += len;
	}
	fz_load_and_render(d);
	return 0;
}
