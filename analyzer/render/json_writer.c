/* SPDX-License-Identifier: MIT */
/* A small streaming JSON writer, with strict string escaping for untrusted bytes. */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <string.h>
#include "json_writer.h"

void cs_json_init(cs_json_t *j, FILE *f)
{
	*j = (cs_json_t){ .f = f };
}

static void indent(cs_json_t *j, int depth)
{
	for (int i = 0; i < depth; i++)
		fputs("  ", j->f);
}

/* Length of a valid UTF-8 sequence at s (n bytes left), or 0 if invalid. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	unsigned char c = s[0], lo = 0x80, hi = 0xbf;
	size_t len;

	if (c >= 0xc2 && c <= 0xdf)
		len = 2;
	else if (c >= 0xe0 && c <= 0xef)
		len = 3;
	else if (c >= 0xf0 && c <= 0xf4)
		len = 4;
	else
		return 0;
	if (c == 0xe0)
		lo = 0xa0; /* overlong */
	else if (c == 0xed)
		hi = 0x9f; /* surrogates */
	else if (c == 0xf0)
		lo = 0x90; /* overlong */
	else if (c == 0xf4)
		hi = 0x8f; /* past U+10FFFF */
	if (n < len || s[1] < lo || s[1] > hi)
		return 0;
	for (size_t i = 2; i < len; i++)
		if (s[i] < 0x80 || s[i] > 0xbf)
			return 0;
	return len;
}

static void put_escape(FILE *f, unsigned char c)
{
	static const char short_esc[] = {
		['\b'] = 'b', ['\f'] = 'f', ['\n'] = 'n', ['\r'] = 'r', ['\t'] = 't'
	};

	if (c < sizeof(short_esc) && short_esc[c])
		fprintf(f, "\\%c", short_esc[c]);
	else
		fprintf(f, "\\u%04x", c);
}

static void put_string(FILE *f, const char *str, size_t n)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0, len;

	fputc('"', f);
	while (i < n) {
		if (s[i] == '"' || s[i] == '\\') {
			fputc('\\', f);
			fputc(s[i++], f);
		} else if (s[i] < 0x20 || s[i] == 0x7f) {
			put_escape(f, s[i++]);
		} else if (s[i] < 0x80) {
			fputc(s[i++], f);
		} else if ((len = utf8_len(s + i, n - i))) {
			fwrite(s + i, 1, len, f);
			i += len;
		} else {
			fputs("\\ufffd", f);
			i++;
		}
	}
	fputc('"', f);
}

/* Separator, indentation and key before a value. */
static void item(cs_json_t *j, const char *key)
{
	int d = j->depth < CS_JSON_MAX_DEPTH ? j->depth : CS_JSON_MAX_DEPTH - 1;

	if (j->depth > 0) {
		fputs(j->has_items[d] ? ",\n" : "\n", j->f);
		j->has_items[d] = true;
		indent(j, j->depth);
	}
	if (key) {
		put_string(j->f, key, strlen(key));
		fputs(": ", j->f);
	}
}

static void open_container(cs_json_t *j, const char *key, char c)
{
	item(j, key);
	fputc(c, j->f);
	j->depth++;
	if (j->depth < CS_JSON_MAX_DEPTH)
		j->has_items[j->depth] = false;
}

static void close_container(cs_json_t *j, char c)
{
	bool had = j->depth < CS_JSON_MAX_DEPTH && j->has_items[j->depth];

	if (j->depth > 0)
		j->depth--;
	if (had) {
		fputc('\n', j->f);
		indent(j, j->depth);
	}
	fputc(c, j->f);
}

void cs_json_obj(cs_json_t *j, const char *key)
{
	open_container(j, key, '{');
}

void cs_json_arr(cs_json_t *j, const char *key)
{
	open_container(j, key, '[');
}

void cs_json_end_obj(cs_json_t *j)
{
	close_container(j, '}');
}

void cs_json_end_arr(cs_json_t *j)
{
	close_container(j, ']');
}

void cs_json_strn(cs_json_t *j, const char *key, const char *s, size_t n)
{
	item(j, key);
	if (s)
		put_string(j->f, s, n);
	else
		fputs("null", j->f);
}

void cs_json_str(cs_json_t *j, const char *key, const char *s)
{
	cs_json_strn(j, key, s, s ? strlen(s) : 0);
}

void cs_json_int(cs_json_t *j, const char *key, int64_t v)
{
	item(j, key);
	fprintf(j->f, "%" PRId64, v);
}

void cs_json_uint(cs_json_t *j, const char *key, uint64_t v)
{
	item(j, key);
	fprintf(j->f, "%" PRIu64, v);
}

void cs_json_opt(cs_json_t *j, const char *key, int64_t v)
{
	if (v < 0)
		cs_json_null(j, key);
	else
		cs_json_int(j, key, v);
}

void cs_json_num(cs_json_t *j, const char *key, double v, int decimals)
{
	if (!isfinite(v)) {
		cs_json_null(j, key);
		return;
	}
	item(j, key);
	fprintf(j->f, "%.*f", decimals, v);
}

void cs_json_bool(cs_json_t *j, const char *key, bool v)
{
	item(j, key);
	fputs(v ? "true" : "false", j->f);
}

void cs_json_null(cs_json_t *j, const char *key)
{
	item(j, key);
	fputs("null", j->f);
}

int cs_json_finish(cs_json_t *j)
{
	fputc('\n', j->f);
	return ferror(j->f) ? -EIO : 0;
}
