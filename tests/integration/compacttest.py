#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Integration driver for live-set compaction (format 1.7): a churning root's trace is bounded by
its live set, not its run time; compaction changes no allocation site of the child; an exact-mode
trace decodes (EVPACK, zstd included) to exactly the fixture's allocations."""
import argparse
import glob
import json
import os
import shutil
import subprocess
import sys
import tempfile

import cstrace
from cstest import check, eq, verdict

ROUNDS = 500           # rounds of 2,000 churned 64-byte blocks: past the 256 KiB write budget
SAMPLE_BYTES = 64      # nearly every churned block is sampled
KEEP_PAGES = 128 * 4   # keep_blocks: 128 blocks of 4 pages, live to the end
WRITTEN_PAGES = 32 * 4  # the child writes every page of 32 of them


def run(opts, args, sample_bytes, compact="on"):
    """cowscope run the fixture: (tmp dir, run dir, stdout)."""
    d = tempfile.mkdtemp(prefix="compacttest.")
    out = os.path.join(d, "run")
    env = dict(os.environ, COWSCOPE_COMPACT=compact)
    p = subprocess.run([opts.cowscope, "run", "-q", "-o", out, "--interval", "0",
                        "--sample-bytes", str(sample_bytes), "--", opts.fixture] + args,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, timeout=280)
    check(p.returncode == 0, f"{args}: run exited {p.returncode}: {p.stderr.decode()}")
    return d, out, p.stdout.decode()


def report(opts, out):
    r = subprocess.run([opts.cowscope, "report", "--format", "json", "--top", "20", out],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=280)
    check(r.returncode == 0, f"report exited {r.returncode}: {r.stderr.decode()}")
    return json.loads(r.stdout)


def root_trace(out):
    """The root's trace: the process file whose pid is not a child's (the lowest pid)."""
    paths = [p for p in glob.glob(os.path.join(out, "*.cst"))
             if not p.endswith(".samples.cst") and not p.endswith("run.cst")]
    traces = [cstrace.Trace(p) for p in paths]
    check(len(traces) == 2, f"two process traces: {len(traces)}")
    return min(traces, key=lambda t: t.pid)


def notes(trace):
    """(code, text) of every CS_REC_NOTE."""
    out = []
    for b in trace.of_type(13):
        code = int.from_bytes(b[8:12], "little")
        n = int.from_bytes(b[16:18], "little")
        out.append((code, b[18:18 + n].decode()))
    return out


def test_bounded(opts):
    """ROUNDS and 10 x ROUNDS rounds: the root's trace grows < 1.5x (not 10x), holds a LIVESET
    whose blocks include the 128 kept ones, and no CS_NOTE_COMPACT (compaction stayed on)."""
    sizes = {}
    for rounds in (ROUNDS, 10 * ROUNDS):
        d, out, stdout = run(opts, ["churn", str(rounds)], SAMPLE_BYTES)
        try:
            eq(stdout.strip(), f"rounds={rounds}", "fixture output")
            t = root_trace(out)
            sizes[rounds] = os.path.getsize(t.path)
            sets = [p for p in t.packs() if p.type == cstrace.REC_LIVESET]
            check(len(sets) >= 1, f"{rounds} rounds: a LIVESET in the root's trace")
            big = [e for e in sets[-1].events if e.len == 4 * 4096]
            eq(len(big), 128, f"{rounds} rounds: kept 4-page blocks in the last LIVESET")
            eq([c for c, _ in notes(t) if c == 15], [], "CS_NOTE_COMPACT in the root")
            live = t.live_malloc()
            eq(sum(1 for e in live.values() if e.len == 64), 0,
               f"{rounds} rounds: churned blocks live at the end")
        finally:
            shutil.rmtree(d, ignore_errors=True)
    ratio = sizes[10 * ROUNDS] / sizes[ROUNDS]
    print(f"root trace: {sizes[ROUNDS]} bytes ({ROUNDS} rounds), "
          f"{sizes[10 * ROUNDS]} bytes ({10 * ROUNDS} rounds): {ratio:.2f}x")
    check(ratio < 1.5, f"10x the rounds made the trace {ratio:.2f}x larger (< 1.5x)")


def child_sites(opts, compact):
    d, out, stdout = run(opts, ["churn", str(ROUNDS)], SAMPLE_BYTES, compact)
    try:
        rep = report(opts, out)
        kids = [p for p in rep["processes"] if p["role"] == "child"]
        eq(len(kids), 1, "one child")
        sites = {tuple(f.get("function") for f in s["frames"]):
                 (s["child_copied_pages"], s["samples"], s["estimated_bytes"])
                 for s in kids[0]["sites"] if s["bucket"] is None}  # buckets: stack, anon...
        return sites, notes(root_trace(out))
    finally:
        shutil.rmtree(d, ignore_errors=True)


def test_sites(opts):
    """The child's allocation sites (copied pages, live samples at the fork, bytes) with
    compaction on are exactly those with it off, and keep_blocks owns the 128 pages the child
    wrote."""
    on, notes_on = child_sites(opts, "on")
    off, notes_off = child_sites(opts, "off")
    eq([t for c, t in notes_off if c == 15], ["COWSCOPE_COMPACT=off"], "note with it off")
    eq([c for c, _ in notes_on if c == 15], [], "no compaction note with it on")
    eq(on, off, "child allocation sites (frames -> copied pages, samples, bytes), on vs off")
    keep = sum(v[0] for k, v in on.items() if "keep_blocks" in k)
    eq(keep, WRITTEN_PAGES, "pages charged to keep_blocks")


def test_exact_known(opts):
    """Exact mode: the trace decodes to exactly the fixture's 100 allocations (sizes, pointers),
    the 50 even ones freed and the 50 odd ones live; and it notes that it compacts nothing."""
    d, out, stdout = run(opts, ["known"], 1)
    try:
        truth = [line.split() for line in stdout.strip().splitlines()]
        eq(len(truth), 100, "fixture lines")
        paths = [p for p in glob.glob(os.path.join(out, "*.cst"))
                 if not p.endswith(".samples.cst") and not p.endswith("run.cst")]
        eq(len(paths), 1, "one process trace")
        t = cstrace.Trace(paths[0])
        evs = t.events()
        allocs = {e.ptr: e for e in evs if e.what == cstrace.PEV_ALLOC and 1000 <= e.len < 1100}
        frees = {e.ptr for e in evs if e.what == cstrace.PEV_FREE}
        live = t.live_malloc()
        for ptr_s, size_s, live_s in truth:
            ptr, size = int(ptr_s, 16), int(size_s)
            check(ptr in allocs and allocs[ptr].len == size, f"allocation {ptr:#x} of {size}")
            eq(allocs[ptr].kind, cstrace.ALLOC_MALLOC, f"{ptr:#x}: kind")
            check(allocs[ptr].stack != 0, f"{ptr:#x}: a stack")
            if live_s == "1":
                check(ptr in live and live[ptr].len == size, f"{ptr:#x} live at the end")
            else:
                check(ptr in frees and ptr not in live, f"{ptr:#x} freed")
        eq(len(allocs), 100, "allocations of 1000..1099 bytes")
        eq(sum(1 for e in live.values() if 1000 <= e.len < 1100), 50, "live ones")
        eq([p for p in t.packs() if p.type == cstrace.REC_LIVESET], [], "LIVESET records")
        eq([x for c, x in notes(t) if c == 15], ["exact mode records every event"],
           "CS_NOTE_COMPACT")
    finally:
        shutil.rmtree(d, ignore_errors=True)


TESTS = {"bounded": test_bounded, "sites": test_sites, "exact-known": test_exact_known}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cowscope", required=True)
    ap.add_argument("--fixture", required=True)
    ap.add_argument("test", choices=sorted(TESTS))
    opts = ap.parse_args()
    return verdict(opts.test, TESTS[opts.test], opts)


if __name__ == "__main__":
    sys.exit(main())
