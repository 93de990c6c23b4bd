/* SPDX-License-Identifier: MIT */
/* JSON of labelled ranges (format 1.6): a child's or a sibling group's pages by label. */
#ifndef CS_JSON_LABELS_H
#define CS_JSON_LABELS_H

#include "json_writer.h"
#include "labels.h"

/*
 * "labels": one object per kind of v[0..n) (kind, set, parent_pid, sampled, ranges, bytes,
 * rows [{label, child_copied_pages, parent_unshared_pages, unshared_pages}],
 * not_labelled {...}); pages with 9 decimals (whole numbers as integers) so that rows
 * and not_labelled add up to the child's figures; child-copied and parent-unshared null
 * when the backend cannot split (docs/json-report.md).
 */
void cs_json_labels(cs_json_t *j, const cs_ltab_t *v, size_t n);

/*
 * The diff's "labels": per kind {kind, rows [{label, before, after, delta}]}, pages of
 * the diff's metric (child-copied, or unshared where a side cannot split).
 */
void cs_json_ldiffs(cs_json_t *j, const cs_ldiff_t *v, size_t n);

#endif
