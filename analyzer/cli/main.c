/* SPDX-License-Identifier: MIT */
/* The cowscope executable: the command table's driver, and a checked stdout at exit. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "cli.h"

/* Anything the command printed must have reached stdout. */
static int check_stdout(int rc)
{
	if (fflush(stdout) == 0 && !ferror(stdout))
		return rc;
	fprintf(stderr, "cowscope: error writing output: %s\n", strerror(errno));
	return CS_EXIT_SYSTEM;
}

int main(int argc, char **argv)
{
	return check_stdout(cs_cli_main(&cs_cli_commands, argc, argv));
}
