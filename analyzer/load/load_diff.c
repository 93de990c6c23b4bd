/* SPDX-License-Identifier: MIT */
/* Loading CS_REC_DIFF and CS_REC_WORDS (format 1.4): what each side of a child changed. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "load_diff.h"
#include "vec.h"

int cs_load_diff(cs_loader_t *l, const cs_rec_t *r, const cs_fixed_t *f, cs_cur_t *c)
{
	const cs_rec_diff_t *rec = &f->diff;
	cs_snap_t *s;
	cs_sdiff_t *sd;

	(void)c;
	if (rec->side >= CS_NSIDES)
		return cs_load_bad(l, r, "bad diff side");
	if (rec->word_bytes != 8)
		return cs_load_bad(l, r, "bad diff word size");
	if (rec->stride == 0)
		return cs_load_bad(l, r, "bad diff stride");
	s = cs_load_open_snap(l, rec->seq);
	if (!s)
		return 0;
	sd = &s->diff[rec->side];
	sd->has = true;
	sd->word_bytes = rec->word_bytes;
	sd->stride = rec->stride;
	sd->flags = rec->flags;
	sd->considered = rec->considered;
	sd->compared = rec->compared;
	sd->changed_pages = rec->changed_pages;
	sd->changed_words = rec->changed_words;
	memcpy(sd->unknown, rec->unknown, sizeof(sd->unknown));
	sd->cost_ns = rec->cost_ns;
	return 0;
}

/* Room for n more entries of 1 + bw u64 each. 0 or -ENOMEM. */
static int words_reserve(cs_sdiff_t *sd, size_t n, uint16_t bw)
{
	return cs_vec_reserve((void **)&sd->ent, &sd->capent, sd->nwords * (1 + (size_t)bw),
			      n * (1 + (size_t)bw), sizeof(uint64_t));
}

/* How many of n entries the cap lets p keep. */
static size_t words_allowed(cs_proc_t *p, size_t n)
{
	uint64_t left;

	if (!p->max_word_pages)
		return n;
	left = p->max_word_pages > p->word_pages ? p->max_word_pages - p->word_pages : 0;
	return n < left ? n : (size_t)left;
}

/* Copy n entries of a checked record into sd (the same layout: page, then the bitmap). */
static void words_take(cs_sdiff_t *sd, cs_cur_t *c, size_t n, uint16_t bw)
{
	size_t bytes = n * (1 + (size_t)bw) * 8;
	const void *q;

	cs_cur_bytes(c, bytes, &q);
	memcpy(&sd->ent[sd->nwords * (1 + (size_t)bw)], q, bytes);
	sd->nwords += n;
}

int cs_load_words(cs_loader_t *l, const cs_rec_t *r, const cs_fixed_t *f, cs_cur_t *c)
{
	const cs_rec_words_t *rec = &f->words;
	uint16_t bw = rec->bitmap_words;
	cs_sdiff_t *sd;
	cs_snap_t *s;
	size_t keep;

	if (rec->side >= CS_NSIDES)
		return cs_load_bad(l, r, "bad words side");
	if (!l->p->page_size || bw == 0 || bw != l->p->page_size / 8 / 64)
		return cs_load_bad(l, r, "bad words bitmap size");
	if (rec->count > cs_cur_left(c) / (8 + (size_t)bw * 8))
		return cs_load_bad(l, r, "bad words count");
	s = cs_load_open_snap(l, rec->seq);
	if (!s || !rec->count)
		return 0;
	sd = &s->diff[rec->side];
	if (sd->bitmap_words && sd->bitmap_words != bw)
		return cs_load_bad(l, r, "bad words bitmap size");
	sd->bitmap_words = bw;
	keep = words_allowed(l->p, rec->count);
	sd->capped += rec->count - keep;
	if (!keep)
		return 0;
	if (words_reserve(sd, keep, bw))
		return cs_load_nomem(l);
	words_take(sd, c, keep, bw);
	l->p->word_pages += keep;
	return 0;
}

static int cmp_entry(const void *a, const void *b)
{
	uint64_t x, y;

	memcpy(&x, a, 8);
	memcpy(&y, b, 8);
	return (x > y) - (x < y);
}

static void sort_side(cs_sdiff_t *sd)
{
	size_t n = 1 + (size_t)sd->bitmap_words;

	for (size_t i = 1; i < sd->nwords; i++) {
		if (sd->ent[i * n] < sd->ent[(i - 1) * n]) {
			qsort(sd->ent, sd->nwords, n * 8, cmp_entry);
			return;
		}
	}
}

void cs_load_diff_finish(cs_proc_t *p)
{
	for (size_t i = 0; i < p->nsnaps; i++)
		for (size_t k = 0; k < CS_NSIDES; k++)
			sort_side(&p->snaps[i].diff[k]);
}
