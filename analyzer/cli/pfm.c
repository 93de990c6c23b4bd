/* SPDX-License-Identifier: MIT */
/* libpfm4 in the CLI: event names checked before a run, and the events this machine can count (docs/events.md). */
#include <errno.h>
#include <linux/perf_event.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "pfm.h"
#ifdef CS_HAVE_PFM
#include <perfmon/pfmlib_perf_event.h>
#endif

/* The software names the shim encodes without libpfm4 (shim/perfcount.c). */
static const char *const builtin[] = {
	"perf::PERF_COUNT_SW_PAGE_FAULTS",
	"perf::PERF_COUNT_SW_PAGE_FAULTS_MIN",
	"perf::PERF_COUNT_SW_PAGE_FAULTS_MAJ",
	"perf::PERF_COUNT_SW_CONTEXT_SWITCHES",
	"perf::page-faults",
	"perf::minor-faults",
	"perf::major-faults",
	"perf::context-switches",
};

static bool is_builtin(const char *name)
{
	for (size_t i = 0; i < sizeof(builtin) / sizeof(builtin[0]); i++)
		if (strcasecmp(name, builtin[i]) == 0)
			return true;
	return false;
}

#ifdef CS_HAVE_PFM
static bool pfm_up(void)
{
	static int state; /* 0 not tried, 1 up, -1 failed */

	if (!state)
		state = pfm_initialize() == PFM_SUCCESS ? 1 : -1;
	return state > 0;
}

/* Encode name into attr; 0 or -ENOENT. */
static int encode(const char *name, struct perf_event_attr *attr)
{
	pfm_perf_encode_arg_t arg;

	memset(attr, 0, sizeof(*attr));
	memset(&arg, 0, sizeof(arg));
	arg.attr = attr;
	arg.size = sizeof(arg);
	if (!pfm_up())
		return -ENOTSUP;
	return pfm_get_os_event_encoding(name, PFM_PLM3, PFM_OS_PERF_EVENT, &arg) == PFM_SUCCESS
		? 0
		: -ENOENT;
}
#endif

int cs_pfm_check(const char *name)
{
	if (is_builtin(name))
		return 0;
#ifdef CS_HAVE_PFM
	struct perf_event_attr attr;

	return encode(name, &attr);
#else
	return -ENOTSUP;
#endif
}

int cs_pfm_check_list(const char *list, char *bad, size_t bad_size)
{
	const char *p = list;

	if (strcmp(list, "none") == 0)
		return 0;
	while (*p) {
		const char *end = strchr(p, ',');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		char name[256];
		int rc = -ENOENT;

		if (len > 0 && len < sizeof(name)) {
			memcpy(name, p, len);
			name[len] = 0;
			rc = cs_pfm_check(name);
		}
		if (rc) {
			snprintf(bad, bad_size, "%.*s", (int)len, p);
			return rc;
		}
		p += len + (end ? 1 : 0);
	}
	return 0;
}

#ifdef CS_HAVE_PFM
/* Whether perf_event_open takes attr on this process: 0 or -errno. Opened disabled, closed. */
static int try_open(struct perf_event_attr *attr)
{
	long fd;

	attr->size = sizeof(*attr);
	attr->disabled = 1;
	attr->exclude_kernel = 1;
	attr->exclude_hv = 1;
	fd = syscall(SYS_perf_event_open, attr, 0, -1, -1, PERF_FLAG_FD_CLOEXEC);
	if (fd < 0)
		return -errno;
	close((int)fd);
	return 0;
}

/* The first line of a description, at most 100 bytes. */
static int first_line(const char *desc)
{
	size_t n = desc ? strcspn(desc, "\n") : 0;

	return n > 100 ? 100 : (int)n;
}

static long list_pmu(FILE *f, const pfm_pmu_info_t *pinfo, bool all)
{
	long printed = 0;

	for (int i = pinfo->first_event; i != -1; i = pfm_get_event_next(i)) {
		pfm_event_info_t info = { .size = sizeof(info) };
		struct perf_event_attr attr;
		char name[512];
		int rc;

		if (pfm_get_event_info(i, PFM_OS_PERF_EVENT, &info) != PFM_SUCCESS)
			continue;
		snprintf(name, sizeof(name), "%s::%s", pinfo->name, info.name);
		rc = encode(name, &attr);
		if (!rc)
			rc = try_open(&attr);
		if (rc && !all)
			continue;
		fprintf(f, "%-44s %s%s%s%.*s\n", name, rc ? "[not here: " : "",
			rc ? strerror(-rc) : "", rc ? "] " : "", first_line(info.desc),
			info.desc ? info.desc : "");
		printed++;
	}
	return printed;
}
#endif

long cs_pfm_list(FILE *f, bool all)
{
#ifdef CS_HAVE_PFM
	long printed = 0;
	pfm_pmu_t p;

	if (!pfm_up())
		return -EIO;
	pfm_for_all_pmus(p)
	{
		pfm_pmu_info_t pinfo = { .size = sizeof(pinfo) };

		if (pfm_get_pmu_info(p, &pinfo) != PFM_SUCCESS || !pinfo.is_present)
			continue;
		printed += list_pmu(f, &pinfo, all);
	}
	return printed;
#else
	(void)f;
	(void)all;
	return -ENOTSUP;
#endif
}
