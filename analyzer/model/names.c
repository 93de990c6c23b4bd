/* SPDX-License-Identifier: MIT */
/* Names the report gives to the model's enums, and command lines made printable. */
#include <string.h>
#include "model.h"

static const char *const ended_names[] = {
	[CS_ENDED_UNKNOWN] = "unknown", [CS_ENDED_EXIT] = "exit",     [CS_ENDED__EXIT] = "_exit",
	[CS_ENDED_EXEC] = "exec",       [CS_ENDED_SIGNAL] = "signal",
};

static const char *const kind_names[] = {
	[CS_MAP_HEAP] = "heap", [CS_MAP_STACK] = "stack",   [CS_MAP_ANON] = "anon",
	[CS_MAP_FILE] = "file", [CS_MAP_SHARED] = "shared", [CS_MAP_OTHER] = "other",
};

static const char *const note_names[] = {
	[CS_NOTE_BACKEND_FALLBACK] = "backend_fallback",
	[CS_NOTE_ARM_FAILED] = "arm_failed",
	[CS_NOTE_SCAN_FAILED] = "scan_failed",
	[CS_NOTE_OPTION] = "option",
	[CS_NOTE_TRACE] = "trace",
	[CS_NOTE_LIMIT] = "limit",
	[CS_NOTE_WRITE_LOST] = "records_lost",
	[CS_NOTE_BLIND] = "blind",
	[CS_NOTE_UNWIND_OFF] = "stacks_off",
	[CS_NOTE_ARM_SKIPPED] = "arm_skipped",
	[CS_NOTE_FD] = "descriptor",
	[CS_NOTE_WRITERS] = "writers",
	[CS_NOTE_EVENTS] = "events",
	[CS_NOTE_LABELS] = "labels",
	[CS_NOTE_COMPACT] = "compact",
};

#define NAMEOF(table, i, dflt) \
	((i) >= 0 && (size_t)(i) < sizeof(table) / sizeof(table[0]) && table[i] ? table[i] : (dflt))

const char *cs_ended_name(int ended)
{
	return NAMEOF(ended_names, ended, "unknown");
}

const char *cs_map_kind_name(int kind)
{
	return NAMEOF(kind_names, kind, "other");
}

const char *cs_note_code_name(uint32_t code)
{
	if (code == CS_NOTE_A_SYMBOLS)
		return "symbols";
	if (code == CS_NOTE_A_ALLOCS)
		return "allocations";
	if (code == CS_NOTE_A_WORDS)
		return "changed_words";
	if (code == CS_NOTE_A_NO_EXCL)
		return "parent_unshared";
	return code < sizeof(note_names) / sizeof(note_names[0]) && note_names[code]
		? note_names[code]
		: "other";
}

/* Whether an argument needs quotes to read back as one word: empty, or holding a space. */
static bool needs_quotes(const char *a, size_t n)
{
	if (!n)
		return true;
	for (size_t i = 0; i < n; i++)
		if (a[i] == ' ' || a[i] == '\t' || a[i] == '\n' || a[i] == '\'')
			return true;
	return false;
}

/* Append c to buf (n bytes used, size in all), keeping room for the NUL. */
static void put(char *buf, size_t *n, size_t size, char c)
{
	if (*n + 1 < size)
		buf[(*n)++] = c;
}

/* One argument, in single quotes when it needs them (a quote inside as '\''). */
static void put_arg(char *buf, size_t *n, size_t size, const char *a, size_t len)
{
	bool q = needs_quotes(a, len);

	if (q)
		put(buf, n, size, '\'');
	for (size_t i = 0; i < len; i++) {
		if (a[i] == '\'') {
			put(buf, n, size, '\'');
			put(buf, n, size, '\\');
			put(buf, n, size, '\'');
		}
		put(buf, n, size, a[i]);
	}
	if (q)
		put(buf, n, size, '\'');
}

char *cs_cmdline_str(const char *cmdline, size_t len, char *buf, size_t size)
{
	size_t n = 0, i = 0;

	if (!size)
		return buf;
	if (len && !cmdline[len - 1])
		len--; /* the NUL that ends the last argument */
	while (i <= len && len) {
		size_t k = strnlen(cmdline + i, len - i);

		if (i)
			put(buf, &n, size, ' ');
		put_arg(buf, &n, size, cmdline + i, k);
		i += k + 1;
	}
	buf[n] = 0;
	return buf;
}
