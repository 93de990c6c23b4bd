/* SPDX-License-Identifier: MIT */
/* COWSCOPE_* option table: parse, default, one warning per bad value. */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#define COWSCOPE_BUILDING_SHIM 1
#include "cowscope.h"
#include "backend.h"
#include "words.h"
#include "options.h"

typedef struct option_def {
	const char *name;
	const char *accepts;
	int (*parse)(cs_options_t *o, const char *v);
} option_def_t;

static int parse_out(cs_options_t *o, const char *v)
{
	size_t n = strlen(v);

	if (n == 0 || n >= sizeof(o->out))
		return -EINVAL;
	memcpy(o->out, v, n + 1);
	return 0;
}

static int parse_backend(cs_options_t *o, const char *v)
{
	return cs_backend_parse(v, &o->backend);
}

static int parse_verbose(cs_options_t *o, const char *v)
{
	if (v[0] < '0' || v[0] > '2' || v[1] != 0)
		return -EINVAL;
	o->verbose = (uint8_t)(v[0] - '0');
	return 0;
}

/* A decimal number in [lo, hi], with an optional k/K or m/M suffix (KiB, MiB). */
static int parse_num(const char *v, uint64_t lo, uint64_t hi, uint64_t *out)
{
	uint64_t n = 0, mult = 1;
	const char *p = v;

	for (; *p >= '0' && *p <= '9'; p++) {
		if (n > (UINT64_MAX - 9) / 10)
			return -EINVAL;
		n = n * 10 + (uint64_t)(*p - '0');
	}
	if (p == v)
		return -EINVAL;
	if (*p == 'k' || *p == 'K')
		mult = 1024, p++;
	else if (*p == 'm' || *p == 'M')
		mult = 1024 * 1024, p++;
	if (*p || n > hi / mult || n * mult < lo)
		return -EINVAL;
	*out = n * mult;
	return 0;
}

static int parse_sample_bytes(cs_options_t *o, const char *v)
{
	return parse_num(v, 0, 1ull << 40, &o->sample_bytes);
}

static int parse_stack_depth(cs_options_t *o, const char *v)
{
	uint64_t d;
	int r = parse_num(v, 1, 64, &d);

	if (r == 0)
		o->stack_depth = (uint32_t)d;
	return r;
}

static int parse_unwind(cs_options_t *o, const char *v)
{
	if (!strcmp(v, "libunwind"))
		o->unwind = CS_UNWIND_LIBUNWIND;
	else if (!strcmp(v, "fp"))
		o->unwind = CS_UNWIND_FP;
	else
		return -EINVAL;
	return 0;
}

static int parse_obj_layout(cs_options_t *o, const char *v)
{
	if (strcmp(v, "inline") == 0)
		o->obj_layout = COWSCOPE_LAYOUT_INLINE;
	else if (strcmp(v, "outofline") == 0 || strcmp(v, "out-of-line") == 0)
		o->obj_layout = COWSCOPE_LAYOUT_OUTOFLINE;
	else
		return -EINVAL;
	return 0;
}

static int parse_obj_immortal(cs_options_t *o, const char *v)
{
	if ((v[0] != '0' && v[0] != '1') || v[1] != 0)
		return -EINVAL;
	o->obj_immortal = (uint8_t)(v[0] - '0');
	return 0;
}

static int parse_allow_shared_dir(cs_options_t *o, const char *v)
{
	if ((v[0] != '0' && v[0] != '1') || v[1] != 0)
		return -EINVAL;
	o->allow_shared_dir = (uint8_t)(v[0] - '0');
	return 0;
}

static int parse_obj_capacity(cs_options_t *o, const char *v)
{
	uint64_t n;
	int r = parse_num(v, 1024, 1u << 28, &n);

	if (r == 0)
		o->obj_capacity = (uint32_t)n;
	return r;
}

static int parse_compact(cs_options_t *o, const char *v)
{
	if (strcmp(v, "on") != 0 && strcmp(v, "off") != 0)
		return -EINVAL;
	o->compact_off = v[1] == 'f';
	return 0;
}

static int parse_diff(cs_options_t *o, const char *v)
{
	static const char *const names[] = {
		[CS_DIFF_AUTO] = "auto", [CS_DIFF_ALL] = "all", [CS_DIFF_OFF] = "off"
	};

	for (uint8_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (strcmp(v, names[i]) == 0) {
			o->diff = i;
			return 0;
		}
	}
	return -EINVAL;
}

static int parse_diff_budget(cs_options_t *o, const char *v)
{
	uint64_t n;
	int r = parse_num(v, 1, UINT32_MAX, &n);

	if (r == 0)
		o->diff_budget = (uint32_t)n;
	return r;
}

static int parse_writers(cs_options_t *o, const char *v)
{
	if ((v[0] != '0' && v[0] != '1') || v[1] != 0)
		return -EINVAL;
	o->writers = (uint8_t)(v[0] - '0');
	return 0;
}

/* A power of two from 8 KiB to 256 MiB: the kernel's ring is 2^n pages. */
static int parse_writers_buffer(cs_options_t *o, const char *v)
{
	uint64_t n;
	int r = parse_num(v, 8192, 256u << 20, &n);

	if (r == 0 && (n & (n - 1)))
		r = -EINVAL;
	if (r == 0)
		o->writers_buffer = n;
	return r;
}

/* on (the default) or off: off skips pagemap bit 56 in every snapshot. */
static int parse_parent_unshared(cs_options_t *o, const char *v)
{
	if (strcmp(v, "on") != 0 && strcmp(v, "off") != 0)
		return -EINVAL;
	o->no_parent_unshared = v[1] == 'f';
	return 0;
}

/* Names only: the shim encodes them at init (docs/events.md), where a bad one becomes a note. */
static int parse_events(cs_options_t *o, const char *v)
{
	static char names[1024]; /* read once, at init */
	size_t n = strlen(v);

	if (n == 0 || n >= sizeof(names))
		return -EINVAL;
	memcpy(names, v, n + 1);
	o->events = names;
	return 0;
}

static const option_def_t table[] = {
	{ "COWSCOPE_OUT", "a directory path shorter than 1024 bytes", parse_out },
	{ "COWSCOPE_BACKEND", "auto, uffd-wp, soft-dirty, pfn or exclusive", parse_backend },
	{ "COWSCOPE_VERBOSE", "0, 1 or 2", parse_verbose },
	{ "COWSCOPE_SAMPLE_BYTES",
	  "a byte count (k and M suffixes allowed): 1 records every "
	  "allocation, 0 turns allocation tracking off",
	  parse_sample_bytes },
	{ "COWSCOPE_STACK_DEPTH", "a frame count from 1 to 64", parse_stack_depth },
	{ "COWSCOPE_UNWIND", "libunwind or fp", parse_unwind },
	{ "COWSCOPE_OBJ_LAYOUT", "inline or outofline", parse_obj_layout },
	{ "COWSCOPE_OBJ_IMMORTAL", "0 or 1", parse_obj_immortal },
	{ "COWSCOPE_ALLOW_SHARED_DIR", "0 or 1", parse_allow_shared_dir },
	{ "COWSCOPE_OBJ_CAPACITY", "an object count from 1k to 256M (k and M suffixes allowed)",
	  parse_obj_capacity },
	{ "COWSCOPE_DIFF", "auto, all or off", parse_diff },
	{ "COWSCOPE_DIFF_BUDGET",
	  "a page count from 1 to 4294967295 (k and M suffixes allowed), "
	  "compared per side and snapshot in auto mode",
	  parse_diff_budget },
	{ "COWSCOPE_WRITERS", "0 or 1", parse_writers },
	{ "COWSCOPE_COMPACT", "on or off", parse_compact },
	{ "COWSCOPE_WRITERS_BUFFER",
	  "a power of two from 8k to 256M bytes (k and M suffixes allowed), per CPU",
	  parse_writers_buffer },
	{ "COWSCOPE_PARENT_UNSHARED", "on or off", parse_parent_unshared },
	{ "COWSCOPE_EVENTS",
	  "perf event names as libpfm4 spells them, comma-separated, shorter than 1024 bytes "
	  "(none: no events)",
	  parse_events },
};

static void warn_bad(cs_warn_fn warn, const option_def_t *d, const char *v)
{
	char msg[512];
	size_t n = 0;
	const char *parts[] = { "cowscope: ignoring ", d->name, "=", v, ": expected ", d->accepts,
				"; using the default" };

	for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
		size_t l = strlen(parts[i]);

		if (l > sizeof(msg) - 1 - n)
			l = sizeof(msg) - 1 - n;
		memcpy(msg + n, parts[i], l);
		n += l;
	}
	msg[n] = 0;
	warn(msg, n);
}

int cs_options_load(cs_options_t *o, cs_getenv_fn get, cs_warn_fn warn)
{
	int warnings = 0;

	memset(o, 0, sizeof(*o));
	o->sample_bytes = CS_DEFAULT_SAMPLE_BYTES;
	o->stack_depth = CS_DEFAULT_STACK_DEPTH;
	o->writers_buffer = CS_DEFAULT_WRITERS_BUFFER;
	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
		const char *v = get(table[i].name);
		cs_options_t saved = *o;

		if (!v)
			continue;
		if (table[i].parse(o, v) < 0) {
			*o = saved;
			warn_bad(warn, &table[i], v);
			warnings++;
		}
	}
	return warnings;
}

int cs_option_check(const char *name, const char *value, const char **accepts)
{
	cs_options_t scratch;

	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
		if (strcmp(table[i].name, name) != 0)
			continue;
		if (accepts)
			*accepts = table[i].accepts;
		memset(&scratch, 0, sizeof(scratch));
		return table[i].parse(&scratch, value);
	}
	return -ENOENT;
}
