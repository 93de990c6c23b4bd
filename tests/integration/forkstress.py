#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Fork-safety stress: threads unwinding from fresh call sites while the main thread forks 300
children (a quarter SIGKILLed at once), under `cowscope run` in exact mode. Every child must end
and appear in the report with how it ended; a watchdog names stuck children instead of hanging."""
import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

from cstest import SKIP, Failure, check, eq

NFORKS = 300
NTHREADS = 3
CHILD_WRITES = 8   # pages of the region each child writes (forkstress.c)
STALL_S = 40       # no progress line for this long: something is stuck (a hang detector only)


def read_progress(path):
    """region (start, end), {i: pid} forked, {i: status} reaped."""
    region, forked, reaped = None, {}, {}
    try:
        with open(path) as f:
            for line in f:
                w = line.split()
                if len(w) == 3 and w[0] == "region":
                    region = (int(w[1], 16), int(w[2], 16))
                elif len(w) == 3 and w[0] == "fork":
                    forked[int(w[1])] = int(w[2])
                elif len(w) == 4 and w[0] == "reaped":
                    reaped[int(w[1])] = int(w[3])
    except FileNotFoundError:
        pass
    return region, forked, reaped


def proc_file(pid, name):
    try:
        with open(f"/proc/{pid}/{name}") as f:
            return f.read().strip()
    except OSError as e:
        return f"({e.strerror})"


def describe_stuck(progress):
    """Every forked child not reaped yet, with its state, wchan, syscall and kernel stack."""
    _, forked, reaped = read_progress(progress)
    lines = []
    for i, pid in sorted(forked.items()):
        if i in reaped:
            continue
        stat = proc_file(pid, "stat").rsplit(")", 1)[-1].split()[:1]
        lines.append(f"  child {i} pid {pid}: state {stat} wchan {proc_file(pid, 'wchan')} "
                     f"syscall {proc_file(pid, 'syscall')}\n    stack: "
                     + proc_file(pid, "stack").replace("\n", "\n    "))
    return "\n".join(lines) or "  (no child pending: the parent itself is stuck)"


def run_watched(cmd, progress):
    """Run cmd in its own session; fail (killing the tree) when the progress file stalls."""
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         start_new_session=True)
    last, last_t = -1, time.monotonic()
    while p.poll() is None:
        try:
            size = os.path.getsize(progress)
        except OSError:
            size = 0
        if size != last:
            last, last_t = size, time.monotonic()
        elif time.monotonic() - last_t > STALL_S:
            info = describe_stuck(progress)
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()
            raise Failure(f"no progress for {STALL_S} s: stuck\n{info}")
        time.sleep(0.1)
    out, err = p.communicate()
    return p.returncode, out, err


def expect_end(i, c, status):
    """Child i's ending in the report against what waitpid() told its parent."""
    what = f"child {i} (pid {c['pid']})"
    if os.WIFSIGNALED(status):
        eq(i % 4, 0, what + ": killed, but not by its parent")
        eq(c["ended"], "signal", what + " ended")
        eq(c["signal"], os.WTERMSIG(status), what + " signal")
        eq(c["signal"], signal.SIGKILL, what + " signal")
        return False
    # A child to be killed may have ended first: then it exited as the others do.
    eq(c["ended"], "_exit" if i % 4 == 3 else "exit", what + " ended")
    eq(c["exit_status"], i % 7 + 1 if i % 4 == 3 else 0, what + " exit_status")
    eq(os.WEXITSTATUS(status), c["exit_status"], what + " waitpid")
    eq(c["complete"], True, what + " complete")
    return True


def expect_measured(i, c, region):
    """A child that ran to its end: its writes to the region are exact, stacks on or said off."""
    what = f"child {i} (pid {c['pid']})"
    m = [m for m in c["mappings"] if int(m["start"]) == region[0]]
    eq(len(m), 1, what + " region mapping")
    eq(m[0]["child_copied_pages"], CHILD_WRITES, what + " region child_copied")
    off = any(n["code"] == "stacks_off" for n in c["notes"])
    check(len(c["sites"]) > 0, what + ": its allocations are recorded")
    # With stacks off, the child's own allocations are recorded with no stack.
    check(not off or any(not s["frames"] for s in c["sites"]),
          what + ": stacks off, yet no allocation without a stack")
    return off


def scenario(opts):
    tmp = tempfile.mkdtemp(prefix="forkstress.")
    try:
        progress, out = os.path.join(tmp, "progress"), os.path.join(tmp, "run")
        cmd = [opts.cowscope, "run", "-q", "-o", out, "--sample-bytes", "1", "--backend",
               "uffd-wp", "--", opts.fixture, str(NFORKS), str(NTHREADS), progress]
        rc, stdout, stderr = run_watched(cmd, progress)
        if rc == 4 and b"not usable" in stderr:
            print(stderr.decode().strip())
            sys.exit(SKIP)
        eq(rc, 0, f"cowscope run status ({stderr.decode()[-400:]})")
        eq(stdout, f"forkstress: {NFORKS} children\n".encode(), "the fixture's output")
        region, forked, reaped = read_progress(progress)
        eq(len(reaped), NFORKS, "children reaped")
        r = subprocess.run([opts.cowscope, "report", "--format", "json", out],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120)
        eq(r.returncode, 0, f"report status ({r.stderr.decode()[-400:]})")
        procs = json.loads(r.stdout)["processes"]
        roots = [p for p in procs if p["role"] == "root"]
        eq(len(roots), 1, "one root")
        kids = {p["pid"]: p for p in procs if p["role"] == "child" and p["ppid"] == roots[0]["pid"]}
        eq(len(kids), NFORKS, "children in the report")
        off = 0
        for i, pid in sorted(forked.items()):
            check(pid in kids, f"child {i} (pid {pid}) missing from the report")
            if expect_end(i, kids[pid], reaped[i]):
                off += expect_measured(i, kids[pid], region)
        print(f"forkstress: {NFORKS} children, all ended and reported; "
              f"{off} ran with stacks off (a thread was unwinding)")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--cowscope", required=True)
    ap.add_argument("--fixture", required=True)
    opts = ap.parse_args()
    try:
        scenario(opts)
    except Failure as e:
        print(f"FAIL: {e}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
