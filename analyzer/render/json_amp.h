/* SPDX-License-Identifier: MIT */
/* JSON of the changed-word figures (format 1.4), shared by the report and the diff (render/). */
#ifndef CS_JSON_AMP_H
#define CS_JSON_AMP_H

#include "json_writer.h"
#include "model.h"

/*
 * "changed_bytes", "noop_copied_pages" (or "noop_pages" when noop_key says so) and
 * "amplification" of a side, each null when the side was not compared (and
 * amplification null when nothing was compared or nothing changed).
 */
void cs_json_amp_flat(cs_json_t *j, const cs_amp_t *a, const char *changed_key,
		      const char *noop_key, const char *amp_key);

/* The whole side as an object under key (docs/json-report.md, "changed words"), or null. */
void cs_json_amp(cs_json_t *j, const char *key, const cs_amp_t *a);

/* Sums of a side over children as an object under key, or null when no child has it. */
void cs_json_ampsum(cs_json_t *j, const char *key, const cs_ampsum_t *s);

/* The flat keys of a sum (as cs_json_amp_flat). */
void cs_json_ampsum_flat(cs_json_t *j, const cs_ampsum_t *s, const char *changed_key,
			 const char *noop_key, const char *amp_key);

/*
 * A field view under key: {"words": total, "bins": [{"offset_from", "offset_to", "words",
 * "share"}]} with only the bins that hold words; null when unknown.
 */
void cs_json_fields(cs_json_t *j, const char *key, const double *fields);

/* A site's changed-word keys: changed_bytes, noop_copied_pages, amplification, fields. */
void cs_json_site_amp(cs_json_t *j, const cs_site_t *s, uint64_t page_size);

#endif
