#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Integration driver: a CPython multiprocessing.Pool under `cowscope run`, ended by terminate().

`with multiprocessing.Pool(4) as p: p.map(f, ...)` ends with terminate(): the workers still alive
get SIGTERM and write no end snapshot, so their figures can only come from outside samples. Every
worker must have figures (sampled as soon as its fork snapshot is whole, however busy the
machine), and the totals must be a memory bill that never blames the backend for what is missing.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile

from cstest import SKIP, Failure, check

WORKERS = 4
TASKS = 8

# The parent builds about 40 MiB of objects; each task reads all of them PASSES times (every read
# bumps a refcount, so the worker copies their pages), a few hundred ms in all: the workers live
# long enough to be sampled, and not longer.
PROGRAM = r"""
import multiprocessing as mp
import sys

mp.set_start_method("fork")
DATA = [list(range(i, i + 50)) for i in range(20000)]
PASSES = 10


def f(k):
    s = 0
    for _ in range(PASSES):
        for item in DATA:
            s += sum(item)
    return s + k


if __name__ == "__main__":
    with mp.Pool(%d) as p:
        print(len(p.map(f, range(%d))))
""" % (WORKERS, TASKS)


def totals_text(report):
    """The memory bill: the unindented lines of the text report's last block (notes are indented)."""
    block = report.rstrip("\n").split("\n\n")[-1]
    return "\n".join(line for line in block.split("\n") if line and not line.startswith(" "))


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--cowscope", required=True)
    ap.add_argument("--python", required=True)
    opts = ap.parse_args()
    if not os.access(opts.python, os.X_OK):
        print(f"{opts.python} is missing")
        return SKIP
    tmp = tempfile.mkdtemp(prefix="pypool.")
    try:
        prog = os.path.join(tmp, "pool.py")
        with open(prog, "w") as f:
            f.write(PROGRAM)
        out = os.path.join(tmp, "run")
        p = subprocess.run([opts.cowscope, "run", "-o", out, "--", opts.python, prog],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=300)
        check(p.returncode == 0, f"cowscope run exited {p.returncode}: {p.stderr.decode()[-3000:]}")
        check(p.stdout.decode().split() == [str(TASKS)], f"the program's output: {p.stdout!r}")
        r = subprocess.run([opts.cowscope, "report", "--format", "json", out],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120)
        check(r.returncode == 0, f"report exited {r.returncode}: {r.stderr.decode()}")
        rep = json.loads(r.stdout)
        root = [x for x in rep["processes"] if x["role"] == "root"][0]
        kids = [x for x in rep["processes"] if x["role"] == "child"]
        check(len(kids) == WORKERS, f"{len(kids)} workers, want {WORKERS}")
        for k in kids:
            what = f"worker {k['pid']} ({k['ended']})"
            check(k["ppid"] == root["pid"], f"{what}: forked by the program")
            check(k["shared_at_fork_pages"] and k["shared_at_fork_pages"] > 0,
                  f"{what}: shared at fork {k['shared_at_fork_pages']}")
            check(k["child_copied_pages"] is not None, f"{what}: no child-copied figure")
            # it lives a few hundred ms: sampled at its start and every 100 ms after
            check(k["samples"] >= 2 and not k["few_samples"], f"{what}: {k['samples']} samples")
        t = rep["totals"]
        check(t["children_measured"] == WORKERS and t["children_without_samples"] == 0,
              f"totals: {t['children_measured']} measured, {t['children_without_samples']} "
              "without samples")
        check(len(t["groups"]) == 1 and t["groups"][0]["parent_pid"] == root["pid"],
              f"one parent in the bill: {t['groups']}")
        g = t["groups"][0]
        check(t["shared_at_fork_pages"] == g["shared_at_fork_pages"] ==
              max(k["shared_at_fork_pages"] for k in kids),
              "the parent's shared memory counted once: "
              f"{t['shared_at_fork_pages']} vs {[k['shared_at_fork_pages'] for k in kids]}")
        check(t["private_copies_pages"] == sum(k["child_copied_pages"] for k in kids),
              "the workers' copies summed")
        bill = totals_text(p.stderr.decode())
        check("backend" not in bill and "no figures" not in bill,
              f"the totals blame nothing on the backend and miss nothing:\n{bill}")
        check(f"{WORKERS} children share" in bill, f"the bill names the workers:\n{bill}")
        killed = sum(k["ended"] == "signal" for k in kids)
        print(f"ok: {WORKERS} workers with figures ({killed} killed by terminate()), "
              f"{sum(k['samples'] for k in kids)} samples, achieved interval "
              f"{rep['run']['achieved_interval_ms']} ms")
        return 0
    except Failure as e:
        print(f"FAIL python pool: {e}")
        return 1
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
