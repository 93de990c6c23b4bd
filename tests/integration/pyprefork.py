#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Integration driver: tools/examples/py_prefork.py on real CPython under `cowscope run`, and diff.

Checks the directions the example exists to show (numbers vary a little between machines):
a gc.collect() in a forked child copies the pages of the objects the collector tracks; gc.freeze()
before the fork removes that part; reading every object (refcounts) still copies their pages.
Also checks tools/python/cowscope.py: a no-op without the shim, working under it.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile

from cstest import SKIP, Failure, check

N = 500_000
# What the example's objects occupy (CPython 3.11, x86-64, pymalloc): a list 64 bytes (with its
# GC header), its str 96, its int 32. The collector tracks the lists only.
PAGE = 4096
LIST_PAGES = N * 64 // PAGE          # about 7800 pages, 30 MiB
ALL_PAGES = N * (64 + 96 + 32) // PAGE


def run(cmd, **kw):
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=300, **kw)
    check(p.returncode == 0, f"{cmd[:4]}... exited {p.returncode}: {p.stderr.decode()[-2000:]}")
    return p.stdout.decode()


def copied(fig):
    """Child-copied pages, or unshared where the backend cannot split."""
    v = fig["child_copied_pages"]
    return v if v is not None else fig["unshared_pages"]


class Ctx:
    def __init__(self, opts):
        self.o = opts
        self.tmp = tempfile.mkdtemp(prefix="pyprefork.")

    def record(self, name, *args):
        out = os.path.join(self.tmp, name)
        run([self.o.cowscope, "run", "-q", "-o", out, "--interval", "0", "--", self.o.python,
             self.o.example, "--objects", str(N)] + list(args))
        return out

    def diff(self, before, after):
        return json.loads(run([self.o.cowscope, "diff", "--format", "json", before, after]))

    def report(self, d):
        return json.loads(run([self.o.cowscope, "report", "--format", "json", d]))


def helper_is_noop_without_shim(c):
    env = dict(os.environ, PYTHONPATH=c.o.pythonpath)
    env.pop("LD_PRELOAD", None)
    out = run([c.o.python, "-c", "import cowscope; print(cowscope.loaded(), cowscope.mark('x'), "
               "cowscope.snapshot())"], env=env)
    check(out.split() == ["False", "-1000", "-1000"], f"without the shim: {out!r}")
    d = os.path.join(c.tmp, "helper")
    out = run([c.o.cowscope, "run", "-q", "-o", d, "--interval", "0", "--", c.o.python, "-c",
               "import cowscope; print(cowscope.loaded(), cowscope.mark('x'), "
               "cowscope.snapshot())"], env=env)
    check(out.split() == ["True", "0", "0"], f"under the shim: {out!r}")


def phases_in_one_run(c):
    """idle, read, collect workers before and after gc.freeze(), diffed by phase."""
    d = c.record("phases", "--tasks", "idle,read,collect", "--phases")
    rep = c.report(d)
    names = [p["name"] for p in rep["phases"]]
    check(names == ["start", "frozen"], f"phases: {names}")
    check([len(p["children"]) for p in rep["phases"]] == [3, 3], f"phases: {rep['phases']}")
    df = c.diff(d + ":start", d + ":frozen")
    pairs = df["children"]
    check(len(pairs) == 3, f"{len(pairs)} pairs")
    before = [copied(p["before"]) for p in pairs]
    after = [copied(p["after"]) for p in pairs]
    idle, read, coll = zip(before, after)
    print(f"pages copied (before freeze, after): idle {idle}, read {read}, collect {coll}; "
          f"lists {LIST_PAGES}, all objects {ALL_PAGES}")
    # A collection copies the tracked objects' pages ...
    check(coll[0] - idle[0] >= 0.8 * LIST_PAGES,
          f"collect copied {coll[0]} pages, want >= idle + 80% of the lists' {LIST_PAGES}")
    # ... gc.freeze() removes that part ...
    check(coll[1] - idle[1] <= 0.05 * LIST_PAGES,
          f"collect after freeze copied {coll[1]} pages, want about idle's {idle[1]}")
    # ... and reading (refcounts) still copies every object's pages, frozen or not.
    check(read[0] >= 0.8 * ALL_PAGES, f"read copied {read[0]}, want >= 80% of {ALL_PAGES}")
    check(read[1] >= 0.9 * read[0], f"read after freeze copied {read[1]}, before {read[0]}")
    check(df["headline"]["change_percent"] < 0, f"headline: {df['headline']}")
    # Changed words (docs/amplification.md): a read worker's copies are refcounts going up and
    # back down, so nearly all of them change nothing. Measured: 23,540 of 23,644 no-op,
    # 5 KB changed, amplification ~19,000x; the headline gives both sides' amplification.
    rd = pairs[1]["before"]
    print(f"read worker: {rd['child_copied_pages']} pages copied, {rd['noop_copied_pages']} "
          f"no-op, {rd['changed_bytes']} bytes changed, amplification {rd['amplification']}x")
    check(rd["noop_copied_pages"] >= 0.9 * rd["child_copied_pages"],
          f"read worker: most copies change nothing: {rd}")
    check(rd["amplification"] is not None and rd["amplification"] >= 512,
          f"read worker: under one changed word per copied page: {rd['amplification']}")
    check("amplification" in df["headline"]["text"], f"headline: {df['headline']['text']}")
    check(pairs[2]["delta"]["child_copied_pages"] <= -0.8 * LIST_PAGES,
          f"collect pair delta: {pairs[2]['delta']}")
    # Sites match by stack across the phases, and their changes add up to the totals' change.
    both = [s for s in df["sites"] if s["before"] and s["after"]]
    check(both, "no site matched across the phases")
    total = sum(s["delta"]["child_copied_pages"] for s in df["sites"])
    want = df["delta"]["child_copied_pages"]
    check(abs(total - want) <= 0.02 * abs(want) + 2, f"sites' deltas sum {total}, totals {want}")
    print(df["headline"]["text"])


def separate_runs(c):
    """The same with two runs: collect without and with --freeze."""
    a = c.record("nofreeze", "--tasks", "collect")
    b = c.record("freeze", "--tasks", "collect", "--freeze")
    df = c.diff(a, b)
    check(df["headline"]["change_percent"] <= -90, f"headline: {df['headline']}")
    check(df["before"]["phase"] is None and df["after"]["children"] == 1, f"sides: {df['after']}")
    print(df["headline"]["text"])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cowscope", required=True)
    ap.add_argument("--python", default="/usr/bin/python3")
    ap.add_argument("--example", required=True)
    ap.add_argument("--pythonpath", required=True, help="where tools/python/cowscope.py is")
    o = ap.parse_args()
    if not shutil.which(o.python):
        print(f"{o.python} not found: the CPython example needs it")
        return SKIP
    c = Ctx(o)
    try:
        helper_is_noop_without_shim(c)
        phases_in_one_run(c)
        separate_runs(c)
    except Failure as e:
        print(f"FAIL: {e}")
        return 1
    finally:
        shutil.rmtree(c.tmp, ignore_errors=True)
    print("ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
