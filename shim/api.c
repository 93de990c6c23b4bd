/* SPDX-License-Identifier: MIT */
/* The public API of include/cowscope.h, implemented in the shim. */
#include <errno.h>
#define COWSCOPE_BUILDING_SHIM 1
#include "cowscope.h"
#include "cowscope/trace_format.h"
#include "state.h"

__attribute__((visibility("default"))) int cowscope_snapshot(void)
{
	if (!cs_traced_here())
		return -ENOTSUP;
	cs_modules_refresh();
	if (cs_st.role != CS_ROLE_CHILD || cs_st.backend == CS_BACKEND_NONE)
		return 0; /* nothing was shared with this process at a fork: nothing to measure */
	return cs_snapshot(CS_SNAP_API);
}
