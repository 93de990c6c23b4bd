/* SPDX-License-Identifier: MIT */
/* Write the synthetic 1.4 run of amp_run.c into a new directory (the JSON schema test's 1.4 case). */
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include "amp_run.h"

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: mk_amp_run NEW_DIR\n");
		return 2;
	}
	if (mkdir(argv[1], 0700)) {
		perror(argv[1]);
		return 1;
	}
	amp_use_dir(argv[1]);
	if (getenv("AMP_SITES"))
		amp_write_sites_run();
	else
		amp_write_run();
	return 0;
}
