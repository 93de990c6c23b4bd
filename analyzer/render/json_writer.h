/* SPDX-License-Identifier: MIT */
/* A small streaming JSON writer: indented output, escaped strings, null for unknown values. */
#ifndef CS_JSON_H
#define CS_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define CS_JSON_MAX_DEPTH 32

typedef struct cs_json {
	FILE *f;
	int depth;
	bool has_items[CS_JSON_MAX_DEPTH]; /* the container at each depth has an item */
} cs_json_t;

/* Start writing to f. */
void cs_json_init(cs_json_t *j, FILE *f);

/*
 * Open an object or array. key names it inside an object; pass NULL inside an
 * array or at the top. Every value writer below takes the same key rule.
 */
void cs_json_obj(cs_json_t *j, const char *key);
void cs_json_arr(cs_json_t *j, const char *key);

/* Close the innermost object or array. */
void cs_json_end_obj(cs_json_t *j);
void cs_json_end_arr(cs_json_t *j);

/*
 * A string, escaped: quotes, backslashes and control characters as JSON
 * escapes; bytes that are not valid UTF-8 as U+FFFD. NULL writes null.
 */
void cs_json_str(cs_json_t *j, const char *key, const char *s);
void cs_json_strn(cs_json_t *j, const char *key, const char *s, size_t n);

void cs_json_int(cs_json_t *j, const char *key, int64_t v);
void cs_json_uint(cs_json_t *j, const char *key, uint64_t v);

/* v, or null when v < 0 (CS_UNKNOWN). */
void cs_json_opt(cs_json_t *j, const char *key, int64_t v);

/* v with `decimals` digits after the point, or null when v is NaN or infinite. */
void cs_json_num(cs_json_t *j, const char *key, double v, int decimals);

void cs_json_bool(cs_json_t *j, const char *key, bool v);
void cs_json_null(cs_json_t *j, const char *key);

/* End the document with a newline. Returns 0, or -EIO if the stream has failed. */
int cs_json_finish(cs_json_t *j);

#endif
