/* SPDX-License-Identifier: MIT */
/* libFuzzer harness: one process trace file ("100.0.cst", the input as is), read and reported. */
#include <stddef.h>
#include <stdint.h>
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *d = fz_dir();

	fz_write(d, "100.0.cst", data, size);
	fz_load_and_render(d);
	return 0;
}
