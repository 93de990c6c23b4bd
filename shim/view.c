/* SPDX-License-Identifier: MIT */
/* The parent's view for changed words: its memory and pagemap descriptors, its self-tracking, its live children. */
#include <errno.h>
#include <fcntl.h>
#include "cowscope/trace_format.h"
#include "prim.h"
#include "words.h"
#include "boot.h"
#include "counters.h"
#include "fork.h"
#include "track.h"
#include "view.h"

#define LIVE_SLOTS 64u /* forked children remembered until reaped; past that, never re-arm */

/* One kept descriptor and its identity. */
typedef struct kept {
	int fd;
	cs_fd_id_t id;
} kept_t;

/* Written only here. A fork child inherits it all and cs_view_child sorts it out. */
static struct {
	kept_t own_mem, own_pm;   /* this process's, opened at its first fork */
	kept_t view_mem, view_pm; /* the parent's, inherited */
	uint8_t tracked;          /* this process's written set covers its children's lives */
	uint8_t armed_at_fork;    /* tracked since its own fork (a uffd-wp child): never re-arm */
	uint8_t parent_tracked;   /* in a child: the parent tracked its writes at the fork */
	uint8_t overflow;         /* more live children than slots: never re-arm */
	int inflight;             /* forks between prepare and return */
	int busy;                 /* cs_view_prepare running in some thread */
	int live[LIVE_SLOTS];     /* pids forked and not yet reaped */
} vw = { .own_mem = { -1, { 0, 0 } },
	 .own_pm = { -1, { 0, 0 } },
	 .view_mem = { -1, { 0, 0 } },
	 .view_pm = { -1, { 0, 0 } } };

/* Keep k open on path: reopen (high, close-on-exec) unless it is still ours. 0 or -errno. */
static int keep(kept_t *k, const char *path)
{
	int fd, r;

	if (k->fd >= 0 && cs_prim_fd_same(k->fd, &k->id))
		return 0;
	k->fd = -1; /* not ours any more: leave the program's descriptor alone */
	fd = cs_prim_openat(AT_FDCWD, path, O_RDONLY | O_CLOEXEC, 0);
	if (fd < 0)
		return fd;
	if ((r = cs_prim_fd_id(fd, &k->id)) < 0) {
		cs_prim_close(fd);
		return r;
	}
	fd = cs_prim_fd_high(fd);
	if (fd < 0)
		return fd;
	k->fd = fd;
	return 0;
}

static int nlive(void)
{
	int n = 0;

	for (unsigned i = 0; i < LIVE_SLOTS; i++)
		n += __atomic_load_n(&vw.live[i], __ATOMIC_RELAXED) != 0;
	return n;
}

/*
 * Arm self-tracking when nothing forked earlier can still be compared
 * against this process: at the first fork, or when every earlier child was
 * reaped (re-arming clears the written state those children rely on).
 */
static void maybe_arm(void)
{
	uint8_t b = cs_track_backend();
	uint64_t t0;

	if (vw.armed_at_fork || !cs_track_uffd_usable() || cs_proc()->opt.diff == CS_DIFF_OFF ||
	    (b != CS_BACKEND_UFFD_WP && b != CS_BACKEND_SOFT_DIRTY))
		return; /* no child of this process compares: nothing to arm for */
	if (vw.overflow || nlive() > 0 || __atomic_load_n(&vw.inflight, __ATOMIC_ACQUIRE) > 0)
		return; /* written since an earlier arming: a superset, still conservative */
	t0 = cs_prim_now_ns();
	vw.tracked = 0; /* a fork racing the arming must not take a half-armed view */
	if (cs_fork_self_arm() == 0) {
		vw.tracked = 1;
		cs_counter_add(CS_CNT_SELF_TRACK, 1);
	}
	cs_counter_add(CS_CNT_SELF_TRACK_NS, cs_prim_now_ns() - t0);
}

void cs_view_prepare(void)
{
	if (__atomic_exchange_n(&vw.busy, 1, __ATOMIC_ACQUIRE)) {
		__atomic_add_fetch(&vw.inflight, 1, __ATOMIC_ACQ_REL);
		return; /* another thread is preparing: its state serves this fork too */
	}
	/* Without both descriptors the children have no view (cs_view_child): no need to arm. */
	if (keep(&vw.own_mem, "/proc/self/mem") == 0 && keep(&vw.own_pm, "/proc/self/pagemap") == 0)
		maybe_arm();
	__atomic_add_fetch(&vw.inflight, 1, __ATOMIC_ACQ_REL);
	__atomic_store_n(&vw.busy, 0, __ATOMIC_RELEASE);
}

void cs_view_forked(int pid)
{
	__atomic_sub_fetch(&vw.inflight, 1, __ATOMIC_ACQ_REL);
	if (pid <= 0)
		return;
	for (unsigned i = 0; i < LIVE_SLOTS; i++) {
		int zero = 0;

		if (__atomic_compare_exchange_n(&vw.live[i], &zero, pid, 0, __ATOMIC_ACQ_REL,
						__ATOMIC_RELAXED))
			return;
	}
	vw.overflow = 1;
}

void cs_view_reaped(int pid)
{
	for (unsigned i = 0; pid > 0 && i < LIVE_SLOTS; i++) {
		int want = pid;

		if (__atomic_compare_exchange_n(&vw.live[i], &want, 0, 0, __ATOMIC_ACQ_REL,
						__ATOMIC_RELAXED))
			return;
	}
}

void cs_view_child(void)
{
	int ok = vw.tracked && vw.own_mem.fd >= 0 && vw.own_pm.fd >= 0;

	cs_prim_fd_drop(&vw.view_mem.fd, &vw.view_mem.id); /* the grandparent's view */
	cs_prim_fd_drop(&vw.view_pm.fd, &vw.view_pm.id);
	vw.view_mem = vw.own_mem;
	vw.view_pm = vw.own_pm;
	vw.own_mem.fd = vw.own_pm.fd = -1;
	vw.parent_tracked = (uint8_t)ok;
	vw.tracked = vw.armed_at_fork = vw.overflow = 0;
	vw.inflight = vw.busy = 0;
	for (unsigned i = 0; i < LIVE_SLOTS; i++)
		vw.live[i] = 0;
}

void cs_view_set_tracked(int on)
{
	vw.tracked = vw.armed_at_fork = (uint8_t)(on != 0);
}

int cs_view_get(int *mem, int *pm)
{
	*mem = *pm = -1;
	if (!vw.parent_tracked || !cs_prim_fd_same(vw.view_mem.fd, &vw.view_mem.id) ||
	    !cs_prim_fd_same(vw.view_pm.fd, &vw.view_pm.id))
		return 0;
	*mem = vw.view_mem.fd;
	*pm = vw.view_pm.fd;
	return 1;
}
