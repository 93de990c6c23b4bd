/* SPDX-License-Identifier: MIT */
/* libFuzzer harness helpers: a scratch run directory per process, files written from the input. */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "analyze.h"
#include "fuzz_common.h"
#include "model.h"
#include "render.h"

static char dir[4096];

static void empty(const char *d)
{
	DIR *dp = opendir(d);
	struct dirent *e;

	while (dp && (e = readdir(dp)))
		if (e->d_name[0] != '.')
			unlinkat(dirfd(dp), e->d_name, 0);
	if (dp)
		closedir(dp);
}

const char *fz_dir(void)
{
	const char *tmp = getenv("TMPDIR");

	if (!dir[0]) {
		snprintf(dir, sizeof(dir), "%s/cs-fuzz-XXXXXX", tmp && *tmp ? tmp : "/tmp");
		if (!mkdtemp(dir))
			abort();
	}
	empty(dir);
	return dir;
}

void fz_write(const char *d, const char *name, const uint8_t *p, size_t n)
{
	char path[4200];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", d, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		abort();
	if (n && write(fd, p, n) != (ssize_t)n)
		abort();
	close(fd);
}

static void render(const cs_model_t *m,
		   int (*fn)(FILE *, const cs_model_t *, const cs_render_opts_t *))
{
	cs_render_opts_t o = { .top = 5 };
	FILE *f = fopen("/dev/null", "w");

	if (!f)
		abort();
	fn(f, m, &o);
	fclose(f);
}

void fz_load_and_render(const char *d)
{
	cs_diag_t diag = { "" };
	cs_model_t m;

	if (cs_model_load(&m, d, &diag))
		return;
	render(&m, cs_render_json);
	render(&m, cs_render_text);
	render(&m, cs_render_folded);
	render(&m, cs_render_pprof);
	cs_model_free(&m);
}
