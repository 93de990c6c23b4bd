/* SPDX-License-Identifier: MIT */
/* The public API of include/cowscope.h, implemented in the shim. */
#include <errno.h>
#include <string.h>
#define COWSCOPE_BUILDING_SHIM 1
#include "cowscope.h"
#include "cowscope/trace_format.h"
#include "prim.h"
#include "record.h"
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

__attribute__((visibility("default"))) int cowscope_mark(const char *label)
{
	uint8_t buf[sizeof(cs_rec_mark_t) + 256];
	cs_recbuf_t b = {.buf = buf, .cap = sizeof(buf)};
	cs_rec_mark_t *r;
	int child, err = 0;

	if (!cs_traced_here())
		return -ENOTSUP;
	child = cs_st.role == CS_ROLE_CHILD && cs_st.backend != CS_BACKEND_NONE;
	r = cs_rec_begin(&b, CS_REC_MARK, sizeof(*r));
	r->t_ns = cs_prim_now_ns();
	r->seq = __atomic_fetch_add(&cs_st.mark_seq, 1, __ATOMIC_RELAXED);
	r->snap_seq = child ? cs_st.snap_seq : UINT32_MAX;
	cs_rec_put_str(&b, label ? label : "", label ? strnlen(label, 200) : 0);
	if (cs_writer_put(&cs_st.w, buf, cs_rec_finish(&b)) < 0)
		err = -EIO;
	if (child)
		err = cs_snapshot(CS_SNAP_MARK);
	return err;
}

__attribute__((visibility("default"))) int cowscope_exiting(void)
{
	int r;

	if (!cs_traced_here())
		return -ENOTSUP;
	if (cs_tls_guard)
		return -EBUSY; /* reached from inside the shim */
	cs_tls_guard = 1;
	r = cs_snapshot_work();
	cs_tls_guard = 0;
	return r;
}
