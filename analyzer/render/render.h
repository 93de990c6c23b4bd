/* SPDX-License-Identifier: MIT */
/* Renderers of a loaded run model and the formatting helpers they share. */
#ifndef CS_RENDER_H
#define CS_RENDER_H

#include <stdbool.h>
#include <stdio.h>
#include "diff.h"
#include "model.h"
#include "totals.h"

struct cs_json;

/* What folded stacks (and pprof samples) are made of: `report --by`. */
enum cs_fold_by {
	CS_BY_SITE = 0, /* allocation sites that own the copied pages */
	CS_BY_WRITER,   /* the code that wrote them (format 1.5) */
	CS_BY_MAPPING,  /* the mapping that holds them */
	CS_BY_PROCESS,  /* the process (role and pid) that copied them */
	CS_BY_LABEL,    /* format 1.6: the labels of one kind (label_kind) that cover them */
};

typedef struct cs_render_opts {
	unsigned top; /* mappings and allocation sites listed per child or group in the text report */
	int by;       /* enum cs_fold_by */
	const char *label_kind; /* CS_BY_LABEL: the kind ("python-type", "python-line") */
	int sort; /* enum cs_sort (story.h): what tables rank by; AUTO: the run's dominant figure */
	bool all; /* text: every process, none folded as not significant */
	bool per_process; /* text: each member of a sibling group in detail, not only the group */
} cs_render_opts_t;

/*
 * Write the report as JSON (schema_version 1, see DESIGN.md) to f. Returns 0,
 * -ENOMEM, or -EIO if writing failed.
 */
int cs_render_json(FILE *f, const cs_model_t *m, const cs_render_opts_t *o);

/* Pages for JSON: a whole number as an integer, a fraction with 3 decimals, NaN as null. */
void cs_json_pages(struct cs_json *j, const char *key, double v);

/* A stack frame as a JSON object (module, function, file, line, offset, inlined). */
void cs_json_frame(struct cs_json *j, const cs_frame_t *f);

/*
 * "writers" (v[0..n): frames, bucket, child_copied_pages, owner_sites), then
 * with v15 "writer_samples" and "writer_samples_lost" (null unless known: samples
 * were recorded), so reports of older runs stay as they were.
 */
void cs_json_writers(struct cs_json *j, const cs_wstack_t *v, size_t n, bool v15, bool known,
		     uint64_t samples, uint64_t lost);

/* Whether some process file of m is format 1.5 or newer (the writers' keys appear). */
bool cs_json_v15(const cs_model_t *m);

/* Write the report as text for a person to f. Returns 0, -ENOMEM or -EIO. */
int cs_render_text(FILE *f, const cs_model_t *m, const cs_render_opts_t *o);

/*
 * The text report's allocation-site sections: the top o->top sites of each
 * child by copied MiB, with their stacks, then the same per sibling group of
 * two or more children. Nothing for a run without format 1.1 traces.
 * Returns 0 or -ENOMEM.
 */
int cs_render_text_sites(FILE *f, const cs_model_t *m, const cs_render_opts_t *o);

/*
 * The text report's label tables (format 1.6, docs/reading-the-report.md "Copied by
 * label"): per kind, the top o->top labels by copied MiB (unshared where not split) of
 * each listed child not told through its group, then of each sibling group of two or
 * more, with a "rest (N rows)" row, a "not labelled" row and a footnote for a sampled
 * labelling; python-line labels print their frames' basenames, innermost first, at most
 * 4. Returns 0 or -EIO.
 */
int cs_render_text_labels(FILE *f, const cs_model_t *m, const cs_render_opts_t *o);

/*
 * The text report's writer sections (format 1.5, docs/writers.md): the top
 * o->top writers of each child with samples by pages copied, each with its
 * call chain and the allocation sites owning those pages, then the same per
 * sibling group of two or more children. Returns 0.
 */
int cs_render_text_writers(FILE *f, const cs_model_t *m, const cs_render_opts_t *o);

/*
 * The text report's changed words (format 1.4; nothing when no snapshot compared pages):
 * a line per child ("16 MiB copied to change 128 KiB (128×); 3,900 pages copied for no
 * net change", the pages not comparable and why, the parent's side), then the field view
 * of each child's top o->top sites. Returns 0 or -EIO.
 */
int cs_render_text_amp(FILE *f, const cs_model_t *m, const cs_render_opts_t *o);

/* Bytes for a person: "32 B", "56 KiB", "1.5 MiB". Returns buf. */
char *cs_fmt_bytes(double bytes, char *buf, size_t size);

/* A count with thousands separators: "3,900". Returns buf. */
char *cs_fmt_count(double v, char *buf, size_t size);

/*
 * An amplification for a table: "128×", "≈128×" when estimated, "∞" when pages were
 * compared and none changed, "-" when unknown or nothing was compared. Returns buf.
 */
char *cs_fmt_amp(double amp, bool known, bool compared, bool estimated, char *buf, size_t size);

/*
 * A child's minor faults per child-copied page, "%.2f" into buf, or "-" when either is
 * unknown or nothing was copied: from the minor-fault perf event when counted (format
 * 1.5), else its snapshot's getrusage count (docs/events.md). Returns buf.
 */
char *cs_text_faults_per_copy(const cs_proc_t *p, char *buf, size_t size);

/*
 * Whether some process counted perf events (format 1.5, COWSCOPE_EVENTS not "none"):
 * then the children table has FLT/COPY (reports of older traces keep their layout).
 */
bool cs_text_has_events(const cs_model_t *m);

/*
 * The "events" section: each listed process's perf counts, a group of identical workers
 * summed on one line unless o->per_process (format 1.5 only). 0 or -EIO.
 */
int cs_render_text_events(FILE *f, const cs_model_t *m, const cs_render_opts_t *o);

/* s right-aligned in width terminal columns (UTF-8 aware). */
void cs_fprint_right(FILE *f, const char *s, int width);

/*
 * Write folded stacks (flamegraph.pl, inferno, speedscope) to f: one line per
 * stack, frames outermost first joined by ';', a space, and the child-copied
 * pages of all children on it (unshared pages where the backend cannot split),
 * rounded; lines that round to 0 are left out. Labels are the function name
 * (as perf's folded stacks: no module), module+0xOFFSET without symbols,
 * "[unknown]" outside every module, "[bucket name]" for a bucket; ';' and
 * control characters in names are replaced. Lines sorted; lines of the same
 * text (sites that differ only by file:line) summed. Returns 0, -ENOMEM or
 * -EIO.
 */
int cs_render_folded(FILE *f, const cs_model_t *m, const cs_render_opts_t *o);

/*
 * Write a gzip-compressed pprof profile (profile.proto; docs/pprof.md) to f: one sample
 * per measured child and allocation site (bucket: one pseudo-frame) with its child-copied,
 * unshared and parent-unshared pages (and changed bytes with changed words), each rounded
 * to a whole number; labels pid, role, program (and phase). With o->by CS_BY_WRITER one
 * sample per child and writer, child-copied pages only. Samples that round to 0 in every
 * value are left out. Returns 0, -ENOMEM or -EIO.
 */
int cs_render_pprof(FILE *f, const cs_model_t *m, const cs_render_opts_t *o);

/*
 * Write the run as Chrome Trace Event JSON (the JSON Object Format, for the
 * Perfetto UI and chrome://tracing; docs/chrome-trace.md) to f: a named track
 * per process in fork order, a "COW (MiB)" counter per measured child (its
 * timeline up to the working snapshot, ending on the working figures), and
 * instants for forks (in the parent's track), execs, ends and marks; ts in
 * microseconds since the run's start. Needs the model's story. Returns 0,
 * -ENOMEM, -EINVAL without a story, or -EIO if writing failed.
 */
int cs_render_trace(FILE *f, const cs_model_t *m, const cs_render_opts_t *o);

/*
 * Copy len bytes of s to buf (size bytes) made safe for a terminal: NUL
 * becomes a space, other control characters '?', trailing spaces dropped.
 * Returns buf.
 */
char *cs_clean_text(const char *s, size_t len, char *buf, size_t size);

/*
 * Format a byte count as MiB: "0", "<0.1", one decimal below 10 (without a
 * trailing ".0"), else a whole number. Returns buf.
 */
char *cs_fmt_mib(double bytes, char *buf, size_t size);

/*
 * A frame for a person, in buf: "function file:line", with " [module]"
 * outside the main program and " (inlined)"; "function [module]" without
 * lines; "module+0xoff" without symbols. Made safe for a terminal. Returns buf.
 */
char *cs_frame_label(const cs_frame_t *f, char *buf, size_t size);

/* Terminal columns a printed stack line keeps within (its indent included). */
#define CS_STACK_COLUMNS 100

/*
 * Print a site's stack for a person (render/stackview.c, docs/allocation-sites.md), one
 * line each, the first where the cursor is and the others indented to column indent:
 * the allocator's leading frames hidden (cs_sym_alloc_frames; sites come without them
 * already), then the first max_frames named frames, each run of two or more unnamed
 * frames before one folded into a line "… 3 frames without symbols in python3.11", and
 * "… N more frames" for the rest; a stack with no named frame prints its first
 * max_frames frames. Lines are cut to CS_STACK_COLUMNS ("…" last). A bucket prints as
 * its "[name]". O(frames).
 */
void cs_print_site_stack(FILE *f, const cs_site_t *s, size_t max_frames, int indent);

/*
 * Whether site s prints (cs_print_site_stack, max_frames) the same as another site of
 * rows[0..nrows) (s may be one of them); if so *via is the frame of s that tells it
 * apart from all of them: the furthest of the first frames where it differs from each
 * (its depth if it is a prefix of one). O(nrows × frames).
 */
bool cs_site_display_via(const cs_site_t *s, const cs_site_t *rows, size_t nrows, size_t max_frames,
			 size_t *via);

/*
 * cs_print_site_stack, then, when another site of the table rows[0..nrows) prints the
 * same, a line "(via python3.11+0x4fb706, frame 7)" (cs_site_display_via) so the two
 * read differently. A table calls it with all its sites. O(nrows × frames).
 */
void cs_print_site_stack_among(FILE *f, const cs_site_t *s, const cs_site_t *rows, size_t nrows,
			       size_t max_frames, int indent);

/*
 * Whether p's note i is about symbols (a module's "no symbols" or "symbols unavailable")
 * and an earlier process of m has the same note: the text report says each once.
 * O(notes of the processes before p).
 */
bool cs_note_said_before(const cs_model_t *m, const cs_proc_t *p, size_t i);

/*
 * Print a writer's call chain, one frame a line (the first where the cursor
 * is, the others indented to column 16), at most max_frames; a bucket prints
 * as its "[name]".
 */
void cs_print_writer_chain(FILE *f, const cs_wstack_t *w, size_t max_frames);

/* Format a percentage with one decimal ("<0.1" for a tiny nonzero one). Returns buf. */
char *cs_fmt_pct(double pct, char *buf, size_t size);

/*
 * The line a person reads first, into buf (UTF-8), e.g.
 * "from start to frozen: 61.2% → 3.1% of shared pages copied (−94.9%)".
 * "unshared" replaces "copied" when a side cannot split; "(no change)",
 * "(none before)" when the change is undefined; a side without measured
 * children is named as such. Returns buf.
 */
char *cs_diff_headline(const cs_diff_t *df, char *buf, size_t size);

/* Write the diff for a person; top: sites listed. Returns 0 or -EIO. */
int cs_render_diff_text(FILE *f, const cs_diff_t *df, unsigned top);

/*
 * The diff's label tables (format 1.6): per kind, the top labels by |change| of the diff's
 * metric (child-copied, or unshared), BEFORE and AFTER in MiB (page sizes psb and psa).
 * Returns 0 or -EIO.
 */
int cs_render_diff_labels(FILE *f, const cs_diff_t *df, unsigned top, double psb, double psa);

/* Write the diff as JSON (schema_version 1, docs/diff.md); every site. Returns 0 or -EIO. */
int cs_render_diff_json(FILE *f, const cs_diff_t *df);

#endif
