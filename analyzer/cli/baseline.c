/* SPDX-License-Identifier: MIT */
/* Baselines: a stored JSON report read with libjansson, its figures and sites compared with a run's. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <jansson.h>
#include "baseline.h"
#include "render.h"
#include "vec.h"

#define REPORT_SCHEMA 1 /* the schema_version of the reports read (render/json.c) */
#define MIB (1024.0 * 1024.0)
#define TOP_SITES 5
/* Reports carry integers up to 2^64 (offsets): read every number as a double. */
#define LOAD_FLAGS (JSON_DECODE_INT_AS_REAL | JSON_REJECT_DUPLICATES)

/* The strings comparisons hand out, kept until cs_baseline_free. */
typedef struct strpool {
	char **v;
	size_t n, cap;
} strpool_t;

struct cs_baseline {
	json_t *root;
	char *path;
	strpool_t *pool; /* its own allocation: a comparison of a const baseline adds to it */
};

/* The compared figures, in the order the regressions list them. */
enum { F_COPIED_PCT, F_COPIED_MIB, F_SHARE, F_PUNSHARED_PCT, F_AMP, F__N };

static const struct {
	const char *what;
	int worse; /* +1: higher is worse; -1: lower is worse */
} figtab[F__N] = {
	[F_COPIED_PCT] = { "child-copied % of shared pages", 1 },
	[F_COPIED_MIB] = { "child-copied MiB", 1 },
	[F_SHARE] = { "share retained %", -1 },
	[F_PUNSHARED_PCT] = { "parent-unshared % of shared pages", 1 },
	[F_AMP] = { "COW amplification", 1 },
};

/* A site's key and pages (summed over children). */
typedef struct skey {
	char *key;
	double pages;
} skey_t;

typedef struct sites {
	skey_t *v;
	size_t n, cap;
} sites_t;

/* ---- validation: the fields the comparison reads have the types schema 1 gives them ---- */

enum { T_NUM = 1, T_STR = 2, T_NULL = 4, T_ARR = 8, T_OBJ = 16, T_ABSENT = 32, T_BOOL = 64 };
#define T_OPTNUM (T_NUM | T_NULL | T_ABSENT)
#define T_OPTSTR (T_STR | T_NULL | T_ABSENT)

typedef struct field {
	const char *key;
	unsigned ok;
} field_t;

static const field_t proc_fields[] = {
	{ "role", T_STR },
	{ "page_size", T_OPTNUM },
	{ "shared_at_fork_pages", T_OPTNUM },
	{ "child_copied_pages", T_OPTNUM },
	{ "parent_unshared_pages", T_OPTNUM },
	{ "share_retained", T_OPTNUM },
	{ "amplification", T_OPTNUM },
	{ "sites", T_ARR | T_ABSENT },
	{ NULL, 0 },
};

static const field_t totals_fields[] = {
	{ "page_size", T_OPTNUM },
	{ "shared_at_fork_pages", T_OPTNUM },
	{ "child_copied_pages", T_OPTNUM },
	{ "parent_unshared_pages", T_OPTNUM },
	{ "share_retained", T_OPTNUM },
	{ "amplification", T_OPTNUM },
	{ NULL, 0 },
};

static const field_t site_fields[] = {
	{ "frames", T_ARR | T_ABSENT },
	{ "bucket", T_OPTSTR },
	{ "child_copied_pages", T_OPTNUM },
	{ "unshared_pages", T_OPTNUM },
	{ NULL, 0 },
};

static const field_t frame_fields[] = {
	{ "module", T_OPTSTR }, { "function", T_OPTSTR },       { "file", T_OPTSTR },
	{ "line", T_OPTNUM },   { "offset", T_NUM | T_ABSENT }, { NULL, 0 },
};

static unsigned type_bit(const json_t *v)
{
	if (!v)
		return T_ABSENT;
	switch (json_typeof(v)) {
	case JSON_INTEGER:
	case JSON_REAL:
		return T_NUM;
	case JSON_STRING:
		return T_STR;
	case JSON_NULL:
		return T_NULL;
	case JSON_ARRAY:
		return T_ARR;
	case JSON_OBJECT:
		return T_OBJ;
	default:
		return T_BOOL;
	}
}

static int bad_field(cs_diag_t *d, const char *path, const char *where, const char *key)
{
	cs_diag_set(d, "%s: not a cowscope report (schema_version %d): %s%s%s has the wrong type",
		    path, REPORT_SCHEMA, where, *where ? "." : "", key);
	return -EBADMSG;
}

/* Whether every field of table in object o has a type it allows. */
static int check_fields(const json_t *o, const field_t *t, const char *path, const char *where,
			cs_diag_t *d)
{
	if (!json_is_object(o)) {
		cs_diag_set(d, "%s: not a cowscope report (schema_version %d): %s is not an object",
			    path, REPORT_SCHEMA, where);
		return -EBADMSG;
	}
	for (; t->key; t++)
		if (!(type_bit(json_object_get(o, t->key)) & t->ok))
			return bad_field(d, path, where, t->key);
	return 0;
}

static int check_site(const json_t *s, const char *path, const char *where, cs_diag_t *d)
{
	char fw[160];
	const json_t *fr = json_object_get(s, "frames");
	int err = check_fields(s, site_fields, path, where, d);

	for (size_t i = 0; !err && i < json_array_size(fr); i++) {
		snprintf(fw, sizeof(fw), "%s.frames[%zu]", where, i);
		err = check_fields(json_array_get(fr, i), frame_fields, path, fw, d);
	}
	return err;
}

static int check_proc(const json_t *p, size_t k, const char *path, cs_diag_t *d)
{
	char where[128];
	const json_t *sites;
	int err;

	snprintf(where, sizeof(where), "processes[%zu]", k);
	err = check_fields(p, proc_fields, path, where, d);
	sites = err ? NULL : json_object_get(p, "sites");
	for (size_t i = 0; !err && i < json_array_size(sites); i++) {
		snprintf(where, sizeof(where), "processes[%zu].sites[%zu]", k, i);
		err = check_site(json_array_get(sites, i), path, where, d);
	}
	return err;
}

/* Whether root is a report of a schema this version reads, with the fields it needs. */
static int check_report(const json_t *root, const char *path, cs_diag_t *d)
{
	const json_t *v = json_object_get(root, "schema_version");
	const json_t *procs = json_object_get(root, "processes");
	double sv = json_number_value(v);
	int err = 0;

	if (!json_is_object(root) || !json_is_number(v) || sv != floor(sv) || sv < 1) {
		cs_diag_set(d, "%s: not a cowscope report (no schema_version)", path);
		return -EBADMSG;
	}
	if (json_object_get(root, "headline") && !procs) {
		cs_diag_set(d,
			    "%s: a `cowscope diff` document, not a report "
			    "(store `cowscope report --format json RUN`)",
			    path);
		return -EBADMSG;
	}
	if (sv > REPORT_SCHEMA) {
		cs_diag_set(d,
			    "%s: report schema_version %.0f is newer than this cowscope reads (%d)",
			    path, sv, REPORT_SCHEMA);
		return -EBADMSG;
	}
	if (!json_is_array(procs)) {
		cs_diag_set(d, "%s: not a cowscope report (no \"processes\" array)", path);
		return -EBADMSG;
	}
	for (size_t i = 0; !err && i < json_array_size(procs); i++)
		err = check_proc(json_array_get(procs, i), i, path, d);
	return err
		? err
		: check_fields(json_object_get(root, "totals"), totals_fields, path, "totals", d);
}

/* ---- loading ---- */

static int parse_error(const json_error_t *je, const char *path, cs_diag_t *d)
{
	if (json_error_code(je) == json_error_out_of_memory) {
		cs_diag_set(d, "%s: out of memory reading the baseline", path);
		return -ENOMEM;
	}
	cs_diag_set(d, "%s: not valid JSON: line %d, column %d: %s", path, je->line, je->column,
		    je->text);
	return -EBADMSG;
}

/* Open path for reading as a regular file. Returns the stream or NULL with *err set. */
static FILE *open_regular(const char *path, int *err, cs_diag_t *d)
{
	struct stat st;
	FILE *f = fopen(path, "re");

	if (!f) {
		*err = -errno;
		cs_diag_set(d, "%s: cannot read the baseline: %s", path, strerror(errno));
		return NULL;
	}
	if (fstat(fileno(f), &st) == 0 && !S_ISREG(st.st_mode)) {
		*err = -EBADMSG;
		cs_diag_set(d, "%s: not a cowscope report (not a regular file)", path);
		fclose(f);
		return NULL;
	}
	return f;
}

static int parse_file(const char *path, json_t **root, cs_diag_t *d)
{
	json_error_t je;
	int err = 0;
	FILE *f = open_regular(path, &err, d);

	if (!f)
		return err;
	*root = json_loadf(f, LOAD_FLAGS, &je);
	if (!*root)
		err = ferror(f) ? -EIO : parse_error(&je, path, d);
	if (err == -EIO)
		cs_diag_set(d, "%s: cannot read the baseline: read error", path);
	fclose(f);
	return err;
}

int cs_baseline_load(const char *path, cs_baseline_t **out, cs_diag_t *d)
{
	cs_baseline_t *b = calloc(1, sizeof(*b));
	int err = b ? 0 : -ENOMEM;

	*out = NULL;
	if (!err) {
		b->path = strdup(path);
		b->pool = calloc(1, sizeof(*b->pool));
		err = b->path && b->pool ? 0 : -ENOMEM;
	}
	if (err)
		cs_diag_set(d, "%s: out of memory reading the baseline", path);
	if (!err)
		err = parse_file(path, &b->root, d);
	if (!err)
		err = check_report(b->root, path, d);
	if (err)
		goto out;
	*out = b;
	return 0;
out:
	cs_baseline_free(b);
	return err;
}

void cs_baseline_free(cs_baseline_t *b)
{
	if (!b)
		return;
	for (size_t i = 0; b->pool && i < b->pool->n; i++)
		free(b->pool->v[i]);
	if (b->pool)
		free(b->pool->v);
	free(b->pool);
	json_decref(b->root);
	free(b->path);
	free(b);
}

/* ---- figures ---- */

/* A number of object o, NaN when absent or null. */
static double num(const json_t *o, const char *key)
{
	const json_t *v = json_object_get(o, key);

	return json_is_number(v) ? json_number_value(v) : NAN;
}

/* The figures of a process or of the totals (the same keys). */
static void obj_figs(const json_t *o, double *f)
{
	double s = num(o, "shared_at_fork_pages");

	f[F_COPIED_PCT] = s > 0 ? 100.0 * num(o, "child_copied_pages") / s : NAN;
	f[F_COPIED_MIB] = num(o, "child_copied_pages") * num(o, "page_size") / MIB;
	f[F_SHARE] = 100.0 * num(o, "share_retained");
	f[F_PUNSHARED_PCT] = s > 0 ? 100.0 * num(o, "parent_unshared_pages") / s : NAN;
	f[F_AMP] = num(o, "amplification");
}

static bool is_child(const json_t *p)
{
	const char *role = json_string_value(json_object_get(p, "role"));

	return role && !strcmp(role, "child");
}

/* Of a and b, the worse for figure i; a known value beats an unknown one. */
static double worst(int i, double a, double b)
{
	if (isnan(a))
		return b;
	if (isnan(b))
		return a;
	return figtab[i].worse > 0 ? fmax(a, b) : fmin(a, b);
}

/* The figures of a report: its totals, or each the worst over its children. */
static void report_figs(const json_t *root, int scope_tree, double *f)
{
	const json_t *procs = json_object_get(root, "processes");
	double pf[F__N];

	if (scope_tree) {
		obj_figs(json_object_get(root, "totals"), f);
		return;
	}
	for (int i = 0; i < F__N; i++)
		f[i] = NAN;
	for (size_t k = 0; k < json_array_size(procs); k++) {
		if (!is_child(json_array_get(procs, k)))
			continue;
		obj_figs(json_array_get(procs, k), pf);
		for (int i = 0; i < F__N; i++)
			f[i] = worst(i, f[i], pf[i]);
	}
}

/*
 * Whether after is worse than before by more than tol_pct percent of before, in direction
 * `worse`. A relative slack of 1e-9 keeps a value exactly at the tolerance passing despite
 * rounding (10 → 11 at 10%).
 */
static bool regressed(int worse, double before, double after, double tol_pct)
{
	double grow = worse > 0 ? after - before : before - after;
	double slack = 1e-9 * fmax(1.0, fabs(before));

	if (isnan(before) || isnan(after))
		return false;
	return grow > fabs(before) * tol_pct / 100.0 + slack;
}

/* ---- sites ---- */

static const char *str(const json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

/* A frame's key as analyzer/sites/sites.c key_frame writes it. */
static void frame_key(FILE *f, const json_t *fr)
{
	const char *mod = str(fr, "module"), *fn = str(fr, "function"), *file = str(fr, "file");
	double line = num(fr, "line"), off = num(fr, "offset");

	fputs(mod ? mod : "?", f);
	if (!fn) {
		fprintf(f, "+0x%" PRIx64, off >= 0 && off < 0x1p64 ? (uint64_t)off : 0);
		return;
	}
	fprintf(f, "!%s", fn);
	if (file)
		fprintf(f, " %s:%" PRId64, file, isnan(line) ? (int64_t)CS_UNKNOWN : (int64_t)line);
}

/* A site's key (sites.c build_key: frames joined by '\n'; a bucket "\1" + its name), malloc'd. */
static char *site_key(const json_t *s)
{
	const json_t *frames = json_object_get(s, "frames");
	const char *bucket = str(s, "bucket");
	char *key = NULL;
	size_t len;
	FILE *f = open_memstream(&key, &len);

	if (!f)
		return NULL;
	if (bucket)
		fprintf(f, "\1%s", bucket);
	for (size_t i = 0; !bucket && i < json_array_size(frames); i++) {
		if (i)
			fputc('\n', f);
		frame_key(f, json_array_get(frames, i));
	}
	if (fclose(f)) {
		free(key);
		return NULL;
	}
	return key;
}

/* A site's pages: child-copied, or unshared where the backend cannot split. */
static double site_pages(const json_t *s)
{
	double c = num(s, "child_copied_pages");

	return isnan(c) ? num(s, "unshared_pages") : c;
}

static int sites_add(sites_t *v, const json_t *s)
{
	double pages = site_pages(s);
	char *key;

	if (isnan(pages))
		return 0;
	key = site_key(s);
	if (!key || CS_VEC_GROW(v->v, v->n, v->cap)) {
		free(key);
		return -ENOMEM;
	}
	v->v[v->n++] = (skey_t){ key, pages };
	return 0;
}

static int by_key(const void *a, const void *b)
{
	return strcmp(((const skey_t *)a)->key, ((const skey_t *)b)->key);
}

/* Sort by key and sum the pages of equal keys into one entry. */
static void sites_merge(sites_t *v)
{
	size_t o = 0;

	if (v->n)
		qsort(v->v, v->n, sizeof(*v->v), by_key);
	for (size_t i = 0; i < v->n; i++) {
		if (o && !strcmp(v->v[o - 1].key, v->v[i].key)) {
			v->v[o - 1].pages += v->v[i].pages;
			free(v->v[i].key);
		} else {
			v->v[o++] = v->v[i];
		}
	}
	v->n = o;
}

/* Every child's sites of a report, one entry per key, sorted by key. */
static int report_sites(const json_t *root, sites_t *v)
{
	const json_t *procs = json_object_get(root, "processes");
	int err = 0;

	for (size_t k = 0; !err && k < json_array_size(procs); k++) {
		const json_t *p = json_array_get(procs, k);
		const json_t *s = json_object_get(p, "sites");

		for (size_t i = 0; !err && is_child(p) && i < json_array_size(s); i++)
			err = sites_add(v, json_array_get(s, i));
	}
	sites_merge(v);
	return err;
}

static void sites_free(sites_t *v)
{
	for (size_t i = 0; i < v->n; i++)
		free(v->v[i].key);
	free(v->v);
	*v = (sites_t){ 0 };
}

/* ---- the comparison ---- */

typedef struct cmp {
	const cs_baseline_t *b;
	double tol_pct;
	cs_regression_t *regs;
	size_t n, cap;
	size_t first_site; /* regs[first_site..n): sites */
} cmp_t;

static int push(cmp_t *c, const char *what, double before, double after)
{
	if (CS_VEC_GROW(c->regs, c->n, c->cap))
		return -ENOMEM;
	c->regs[c->n++] = (cs_regression_t){ what, before, after };
	return 0;
}

/* Keep s (malloc'd, NULL: out of memory) in the baseline's pool. */
static const char *pool_keep(const cs_baseline_t *b, char *s)
{
	strpool_t *p = b->pool;

	if (!s || CS_VEC_GROW(p->v, p->n, p->cap)) {
		free(s);
		return NULL;
	}
	p->v[p->n++] = s;
	return s;
}

/* "site " and the innermost frame of a key ("[name]" for a bucket), kept in the pool. */
static const char *site_what(const cs_baseline_t *b, const char *key)
{
	size_t len = strcspn(key, "\n");
	char *s = NULL;

	if (key[0] == 1 && asprintf(&s, "site [%s]", key + 1) < 0)
		return NULL;
	if (key[0] != 1 && asprintf(&s, "site %.*s", (int)len, key) < 0)
		return NULL;
	return pool_keep(b, s);
}

static int grown_site(cmp_t *c, const char *key, double before, double after)
{
	const char *what;

	if (!regressed(1, before, after, c->tol_pct))
		return 0;
	what = site_what(c->b, key);
	return what ? push(c, what, before, after) : -ENOMEM;
}

/* Walk both sorted key lists; absent on a side counts as 0 pages. */
static int grown_sites(cmp_t *c, const sites_t *sb, const sites_t *sa)
{
	size_t i = 0, j = 0;
	int err = 0;

	while (!err && (i < sb->n || j < sa->n)) {
		int o = i == sb->n ? 1 : j == sa->n ? -1 : strcmp(sb->v[i].key, sa->v[j].key);

		if (o < 0) {
			i++; /* gone: did not grow */
			continue;
		}
		err = grown_site(c, sa->v[j].key, o ? 0 : sb->v[i].pages, sa->v[j].pages);
		i += !o;
		j++;
	}
	return err;
}

static int by_growth(const void *a, const void *b)
{
	const cs_regression_t *x = a, *y = b;
	double gx = x->after - x->before, gy = y->after - y->before;

	if (gx != gy)
		return gx > gy ? -1 : 1;
	return strcmp(x->what, y->what);
}

/* The sites that grew most, after the figures: up to TOP_SITES, largest growth first. */
static int top_sites(cmp_t *c, const json_t *before, const json_t *after)
{
	sites_t sb = { 0 }, sa = { 0 };
	int err = report_sites(before, &sb);

	if (!err)
		err = report_sites(after, &sa);
	c->first_site = c->n;
	if (!err)
		err = grown_sites(c, &sb, &sa);
	if (!err && c->n > c->first_site)
		qsort(c->regs + c->first_site, c->n - c->first_site, sizeof(*c->regs), by_growth);
	if (c->n > c->first_site + TOP_SITES)
		c->n = c->first_site + TOP_SITES;
	sites_free(&sb);
	sites_free(&sa);
	return err;
}

/* The run's JSON report, parsed (what a stored baseline holds). */
static int run_report(const cs_model_t *m, json_t **root, cs_diag_t *d)
{
	cs_render_opts_t o = { .top = 5 };
	json_error_t je;
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	int err = f ? cs_render_json(f, m, &o) : -ENOMEM;

	if (f && fclose(f) && !err)
		err = -ENOMEM;
	*root = err ? NULL : json_loadb(buf, len, LOAD_FLAGS, &je);
	if (!err && !*root)
		err = json_error_code(&je) == json_error_out_of_memory ? -ENOMEM : -EIO;
	if (err)
		cs_diag_set(d, "%s: cannot compare with the baseline: the run's report: %s",
			    m->dir ? m->dir : "run", strerror(-err));
	free(buf);
	return err;
}

static int compare_figs(cmp_t *c, const json_t *before, const json_t *after, int scope_tree)
{
	double fb[F__N], fa[F__N];
	int err = 0;

	report_figs(before, scope_tree, fb);
	report_figs(after, scope_tree, fa);
	for (int i = 0; !err && i < F__N; i++)
		if (regressed(figtab[i].worse, fb[i], fa[i], c->tol_pct))
			err = push(c, figtab[i].what, fb[i], fa[i]);
	return err;
}

int cs_baseline_compare(const cs_baseline_t *b, const cs_model_t *m, int scope_tree, double tol_pct,
			cs_regression_t **regs, size_t *nregs, cs_diag_t *d)
{
	cmp_t c = { .b = b, .tol_pct = tol_pct };
	json_t *run = NULL;
	int err = run_report(m, &run, d);

	*regs = NULL;
	*nregs = 0;
	if (!err)
		err = compare_figs(&c, b->root, run, scope_tree);
	if (!err && c.n)
		err = top_sites(&c, b->root, run);
	if (err == -ENOMEM)
		cs_diag_set(d, "%s: out of memory comparing with the baseline", b->path);
	json_decref(run);
	if (err || !c.n) {
		free(c.regs);
		return err;
	}
	*regs = c.regs;
	*nregs = c.n;
	return 1;
}

/* ---- writing ---- */

static int write_report(int fd, const cs_model_t *m)
{
	cs_render_opts_t o = { .top = 5 };
	FILE *f = fdopen(fd, "w");
	int err;
	mode_t mask = umask(0);

	umask(mask);
	if (!f) {
		err = -errno;
		close(fd);
		return err;
	}
	err = fchmod(fd, 0666 & ~mask) ? -errno : 0;
	if (!err)
		err = cs_render_json(f, m, &o);
	if (!err && (fflush(f) || fsync(fd)))
		err = -errno;
	if (fclose(f) && !err)
		err = -errno;
	return err;
}

int cs_baseline_write(const cs_model_t *m, const char *path, cs_diag_t *d)
{
	char *tmp = NULL;
	int fd, err = 0;

	if (asprintf(&tmp, "%s.XXXXXX", path) < 0) {
		cs_diag_set(d, "%s: out of memory writing the baseline", path);
		return -ENOMEM;
	}
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0)
		err = -errno;
	if (!err)
		err = write_report(fd, m);
	if (!err && rename(tmp, path))
		err = -errno;
	if (err && fd >= 0)
		unlink(tmp);
	if (err)
		cs_diag_set(d, "%s: cannot write the baseline: %s", path, strerror(-err));
	free(tmp);
	return err;
}
