/* SPDX-License-Identifier: MIT */
/* The public API of include/cowscope.h, implemented in the shim: each call enters the recursion guard. */
#include <errno.h>
#include <string.h>
#define COWSCOPE_BUILDING_SHIM 1
#include "cowscope.h"
#include "cowscope/trace_format.h"
#include "boot.h"
#include "events.h"
#include "guard.h"
#include "labelling.h"
#include "track.h"

#define CS_API __attribute__((visibility("default")))

/*
 * Every call: -ENOTSUP when this process is not traced, -EBUSY when reached
 * from inside the shim (a signal handler that interrupted a hook, an
 * allocator the shim called): then nothing is recorded and nothing recurses.
 */
static int api_enter(void)
{
	if (!cs_traced_here())
		return -ENOTSUP;
	return cs_guard_enter() ? 0 : -EBUSY;
}

CS_API int cowscope_snapshot(void)
{
	int r = api_enter();

	if (r < 0)
		return r;
	cs_modules_refresh();
	if (cs_proc()->role == CS_ROLE_CHILD && cs_track_backend() != CS_BACKEND_NONE)
		r = cs_snapshot(CS_SNAP_API);
	/* else nothing was shared with this process at a fork: nothing to measure */
	cs_guard_leave();
	return r;
}

CS_API int cowscope_mark(const char *label)
{
	int r = api_enter();

	if (r < 0)
		return r;
	r = cs_mark(label);
	cs_guard_leave();
	return r;
}

CS_API int cowscope_exiting(void)
{
	int r = api_enter();

	if (r < 0)
		return r;
	r = cs_snapshot_work();
	cs_guard_leave();
	return r;
}

CS_API int cowscope_label_ranges(const char *kind, const char *const *names, size_t nnames,
				 const struct cowscope_range *ranges, size_t n)
{
	int r = api_enter();

	if (r < 0)
		return r;
	r = cs_labels_record(kind, names, nnames, ranges, n);
	cs_guard_leave();
	return r;
}
