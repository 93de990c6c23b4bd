#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Integration: a Redis BGSAVE under `cowscope run` (Debian's redis-server, loopback only, bounded).

The server loads KEYS values of VALUE bytes, starts a BGSAVE, and the test stops the save child
(SIGSTOP) while it overwrites every value through the server, then lets the child finish. So the
parent writes its whole dataset while the child lives, the child only reads it: Redis must run
unchanged, the child must be measured, most of the unsharing must be the parent's, and uffd-wp's
share retained must be within 2 points of the pfn oracle's on the same workload.
"""
import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile

from cstest import SKIP, Failure, check, children, free_port, wait_until

# The RESP client of the Redis recipe (docs/recipes/redis-bgsave.md), one copy for both.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                                "tools", "examples"))
from recipe_redis_bgsave import Resp  # noqa: E402

KEYS = 30000
# Values up to half a page: a Redis 7 save child releases (MADV_DONTNEED) each larger value's pages
# once it has written them out ("dismissMemory"), and a page the child no longer maps is neither
# copied nor unshared in it (JSON released_pages).
VALUE = 2000
DEADLINE_S = 60


def connect(port, server):
    def attempt():
        if server.poll() is not None:
            raise Failure(f"redis-server exited early ({server.returncode})")
        try:
            r = Resp(port)
            return r if r.call("PING") == b"PONG" else None
        except OSError:
            return None
    return wait_until(attempt, "redis-server to answer PING")


def bgsave_run(opts, backend, work):
    out = os.path.join(work, f"run-{backend}")
    data = os.path.join(work, f"data-{backend}")
    os.mkdir(data)
    port = free_port()
    cmd = [opts.cowscope, "run", "-q", "-o", out, "--backend", backend, "--", opts.redis,
           "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
           "--dir", data, "--daemonize", "no", "--logfile", os.path.join(data, "log")]
    server = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE)
    try:
        r = connect(port, server)
        rpid = wait_until(lambda: (children(server.pid) or [None])[0], "redis-server to start")
        value = b"v" * VALUE
        r.pipeline([("SET", f"key:{i}", value) for i in range(KEYS)])
        r.call("CONFIG", "SET", "rdb-key-save-delay", "50")  # µs per key: the child lives 1.5 s
        r.call("BGSAVE")
        # the server forks nothing else while it saves
        child = wait_until(lambda: (children(rpid) or [None])[0], "the BGSAVE child")
        os.kill(child, signal.SIGSTOP)
        new = b"w" * VALUE
        r.pipeline([("SET", f"key:{i}", new) for i in range(KEYS)])
        os.kill(child, signal.SIGCONT)
        wait_until(lambda: b"rdb_bgsave_in_progress:0" in r.call("INFO", "persistence"),
                   "the BGSAVE to finish")
        info = r.call("INFO", "persistence")
        check(b"rdb_last_bgsave_status:ok" in info, "BGSAVE succeeded")
        try:
            r.call("SHUTDOWN", "NOSAVE")
        except ConnectionError:
            pass  # the server closes the connection as it shuts down
        _, err = server.communicate(timeout=DEADLINE_S)
        check(server.returncode == 0, f"cowscope run exit status {server.returncode}: {err!r}")
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
    rep = subprocess.run([opts.cowscope, "report", "--format", "json", out],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120)
    check(rep.returncode == 0, f"report: {rep.stderr.decode()}")
    return json.loads(rep.stdout), child


def child_of(report, pid):
    for p in report["processes"]:
        if p["pid"] == pid and p["role"] == "child":
            return p
    raise Failure(f"the BGSAVE child {pid} is not in the report")


def check_child(c, backend):
    shared = c["shared_at_fork_pages"]
    mib = 4096 * shared / 2**20
    check(shared and mib >= KEYS * VALUE / 2**20 * 0.9,
          f"[{backend}] shared at fork {mib:.1f} MiB covers the dataset")
    check(c["child_copied_pages"] is not None, f"[{backend}] the child is measured")
    pu, cc = c["parent_unshared_pages"], c["child_copied_pages"]
    check(pu > 4 * cc, f"[{backend}] most unsharing is the parent's: {pu} vs {cc} child-copied")
    check(pu * 4096 >= KEYS * VALUE * 0.9,
          f"[{backend}] the parent unshared its rewritten dataset: {pu} pages")
    check((c.get("allocator") or {}).get("name") == "jemalloc",
          f"[{backend}] the report names Redis's allocator: {c.get('allocator')}")
    print(f"[{backend}] shared {shared} child-copied {cc} parent-unshared {pu} "
          f"retained {c['share_retained']:.4f}")
    if backend == "uffd-wp":
        # Changed words (docs/amplification.md): the parent rewrote every value, "v" * VALUE
        # to "w" * VALUE, so its copies changed the values' bytes and little else (sds
        # headers, dict entries). Measured: 60,486,568 bytes for 60,000,000 of values, 1.05x.
        # Pages the save child wrote too (it may start saving before it is stopped, more so
        # on a loaded machine) are its copies, not the parent's: the values on them are not
        # in the parent's figure, hence the lower bound scaled by the parent's share.
        pc = c["parent_changed_bytes"]
        low = 0.9 * KEYS * VALUE * pu / (pu + cc)
        check(pc is not None and low <= pc <= 1.05 * KEYS * VALUE,
              f"[{backend}] the parent's copies changed the rewritten values' bytes: {pc}, "
              f"want {low:.0f} to {1.05 * KEYS * VALUE:.0f}")
        check(c["parent_amplification"] is not None and c["parent_amplification"] < 1.2,
              f"[{backend}] parent amplification {c['parent_amplification']}")
        print(f"[{backend}] parent changed {pc} bytes (values {KEYS * VALUE}), "
              f"amplification {c['parent_amplification']}x; child changed "
              f"{c['changed_bytes']} bytes")
    return c["share_retained"]


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--cowscope", required=True)
    ap.add_argument("--redis", default="/usr/bin/redis-server")
    opts = ap.parse_args()
    if not os.access(opts.redis, os.X_OK):
        print(f"{opts.redis} is not installed")
        return SKIP
    if os.geteuid() != 0:
        print("the pfn oracle needs CAP_SYS_ADMIN (run as root)")
        return SKIP
    work = tempfile.mkdtemp(prefix="redistest.")
    try:
        retained = {}
        for backend in ("uffd-wp", "pfn"):
            report, child = bgsave_run(opts, backend, work)
            retained[backend] = check_child(child_of(report, child), backend)
        gap = abs(retained["uffd-wp"] - retained["pfn"]) * 100
        check(gap <= 2, f"uffd-wp retained within 2 points of pfn: {retained}")
    except Failure as e:
        print(f"FAIL redis bgsave: {e}")
        return 1
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print("ok redis bgsave")
    return 0


if __name__ == "__main__":
    sys.exit(main())
