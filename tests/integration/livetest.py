#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Integration: a report of a run whose process is still alive says so (issue 13).

A shell traced with plain LD_PRELOAD waits on a pipe the test holds. Its report, made while it
runs, has running_at_report true and an incomplete_reason saying it was still running; after the
test closes the pipe and the shell exits, the same directory reports it ended by exit, not
running.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

from cstest import check, eq, verdict, wait_until


def report(opts, d, may_fail=False):
    """The JSON report of d; None if it failed and may_fail (no trace written yet)."""
    r = subprocess.run([opts.cowscope, "report", "--format", "json", d], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=120)
    if r.returncode and may_fail:
        return None
    check(r.returncode == 0, f"report exited {r.returncode}: {r.stderr.decode()}")
    return json.loads(r.stdout)


def started(opts, d):
    """The report once the shell's process record is in its trace, else None."""
    rep = report(opts, d, may_fail=True)
    return rep if rep and rep["processes"] and rep["processes"][0]["cmd"] else None


def test_live(opts):
    with tempfile.TemporaryDirectory(prefix="livetest.") as tmp:
        d = os.path.join(tmp, "run")
        os.mkdir(d, 0o700)
        env = dict(os.environ, LD_PRELOAD=os.path.abspath(opts.shim), COWSCOPE_OUT=d)
        sh = subprocess.Popen(["/bin/sh", "-c", "read line"], stdin=subprocess.PIPE, env=env)
        try:
            # the shell's trace holds its process record once the shim has started
            rep = wait_until(lambda: started(opts, d), "the shell's process record")
            p = rep["processes"][0]
            eq(p["pid"], sh.pid, "the traced pid")
            eq(p["running_at_report"], True, "running at report time")
            eq(p["incomplete_reason"], "no end record: still running when this report was made",
               "the reason")
            eq(p["still_running"], False, "no `cowscope run` stopped waiting for it")
        finally:
            sh.stdin.write(b"done\n")
            sh.stdin.close()
            sh.wait(timeout=60)
        eq(sh.returncode, 0, "the shell's exit status")
        p = report(opts, d)["processes"][0]
        eq((p["running_at_report"], p["exit_status"]), (False, 0), "after it exited")
        check(p["ended"] in ("exit", "_exit"), f"it ended by exit (dash uses _exit): {p}")
        eq(p["incomplete_reason"], None, "complete once it ended")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cowscope", required=True)
    ap.add_argument("--shim", required=True)
    opts = ap.parse_args()
    return verdict("live: running at report time", test_live, opts)


if __name__ == "__main__":
    sys.exit(main())
