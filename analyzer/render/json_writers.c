/* SPDX-License-Identifier: MIT */
/* JSON of the writers (format 1.5): call chains, pages their writes copied, the owners of those pages. */
#include "json_writer.h"
#include "render.h"

static void frames(cs_json_t *j, const cs_frame_t *f, size_t n)
{
	cs_json_arr(j, "frames");
	for (size_t i = 0; i < n; i++)
		cs_json_frame(j, &f[i]);
	cs_json_end_arr(j);
}

static void owner(cs_json_t *j, const cs_site_t *s)
{
	cs_json_obj(j, NULL);
	frames(j, s->frames, s->nframes);
	cs_json_str(j, "bucket", s->bucket);
	cs_json_pages(j, "pages", s->child_copied);
	cs_json_end_obj(j);
}

static void writer(cs_json_t *j, const cs_wstack_t *w)
{
	cs_json_obj(j, NULL);
	frames(j, w->frames, w->nframes);
	cs_json_str(j, "bucket", w->bucket);
	cs_json_pages(j, "child_copied_pages", w->child_copied);
	cs_json_arr(j, "owner_sites");
	for (size_t i = 0; i < w->nowners; i++)
		owner(j, &w->owners[i]);
	cs_json_end_arr(j);
	cs_json_end_obj(j);
}

bool cs_json_v15(const cs_model_t *m)
{
	for (size_t i = 0; i < m->nprocs; i++)
		if (m->procs[i].has_file && m->procs[i].fmt_minor >= 5)
			return true;
	return false;
}

void cs_json_writers(struct cs_json *j, const cs_wstack_t *v, size_t n, bool v15, bool known,
		     uint64_t samples, uint64_t lost)
{
	cs_json_arr(j, "writers");
	for (size_t i = 0; i < n; i++)
		writer(j, &v[i]);
	cs_json_end_arr(j);
	if (!v15)
		return;
	if (!known) {
		cs_json_null(j, "writer_samples");
		cs_json_null(j, "writer_samples_lost");
		return;
	}
	cs_json_uint(j, "writer_samples", samples);
	cs_json_uint(j, "writer_samples_lost", lost);
}
