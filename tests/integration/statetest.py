#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Integration driver for the shim's state (issue 9): counters updated from many threads at once
are exact, ended threads' event buffers are reclaimed (no pthread key), and the public API called
from a signal handler that interrupted a hook is refused instead of recursing."""
import argparse
import glob
import json
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile

import cstrace
from cstest import check, eq, verdict

REC_MARK = 23


def run(opts, args, sample_bytes=None):
    """cowscope run the fixture; returns (run dir, stdout, report). The caller removes the dir."""
    d = tempfile.mkdtemp(prefix="statetest.")
    out = os.path.join(d, "run")
    extra = ["--sample-bytes", str(sample_bytes)] if sample_bytes is not None else []
    p = subprocess.run([opts.cowscope, "run", "-q", "-o", out, "--interval", "0"] + extra +
                       ["--", opts.fixture] + args, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=300)
    check(p.returncode == 0, f"{args}: run exited {p.returncode}: {p.stderr.decode()}")
    r = subprocess.run([opts.cowscope, "report", "--format", "json", out],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=300)
    check(r.returncode == 0, f"report exited {r.returncode}: {r.stderr.decode()}")
    return d, out, p.stdout.decode(), json.loads(r.stdout)


def records(path):
    """(type, body) of every whole record of one trace file."""
    with open(path, "rb") as f:
        data = f.read()
    off = 32
    while off + 8 <= len(data):
        typ, _, size = struct.unpack_from("<HHI", data, off)
        if size < 8 or off + size > len(data):
            break
        yield typ, data[off:off + size]
        off += size


def root_trace(out, pid):
    files = glob.glob(os.path.join(out, f"{pid}.*.cst"))
    eq(len(files), 1, f"trace files of the root {pid}")
    return files[0]


def root(rep):
    roots = [p for p in rep["processes"] if p["role"] == "root"]
    eq(len(roots), 1, "one root process")
    return roots[0]


def test_forks(opts):
    """8 threads fork 25 children each at once: the forks counter is exactly 200."""
    d, out, stdout, rep = run(opts, ["forks"])
    try:
        eq(stdout.strip(), "forks=200", "fixture output")
        r = root(rep)
        eq(r["counters"].get("forks"), 200, "root's forks counter (cs_counter_add from 8 threads)")
        kids = [p for p in rep["processes"] if p["role"] == "child"]
        eq(len(kids), 200, "children in the report")
        eq(sum(1 for k in kids if k["ended"] == "_exit"), 200, "children that ended by _exit")
    finally:
        shutil.rmtree(d, ignore_errors=True)


def test_threads(opts):
    """1,500 short-lived threads, one recorded allocation each, more threads than event buffers:
    every thread gets a buffer (an ended thread's is reclaimed) and no event is dropped."""
    n = 1500
    d, out, stdout, rep = run(opts, ["threads", str(n)], sample_bytes=1)
    try:
        eq(stdout.strip(), f"threads={n}", "fixture output")
        r = root(rep)
        eq(r["counters"].get("alloc_events_dropped", 0), 0, "allocation events dropped")
        pid, got = r["pid"], 0
        for p in cstrace.Trace(root_trace(out, pid)).packs():  # format 1.7: EVPACK records
            if p.type != cstrace.REC_EVPACK or p.tid == pid:
                continue
            got += sum(1 for e in p.events if e.what == cstrace.PEV_ALLOC and e.len == 100)
        eq(got, n, "100-byte allocations recorded from the short-lived threads")
    finally:
        shutil.rmtree(d, ignore_errors=True)


def marks(path):
    labels = []
    for typ, body in records(path):
        if typ == REC_MARK:
            (n,) = struct.unpack_from("<H", body, 24)
            labels.append(body[26:26 + n].decode())
    return labels


def test_api_signal(opts):
    """cowscope_mark from a SIGPROF handler: -EBUSY (nothing written) when it interrupted a hook,
    0 and a mark otherwise; from an atexit handler it works."""
    d, out, stdout, rep = run(opts, ["api-signal"], sample_bytes=1)
    try:
        m = re.fullmatch(r"busy=(\d+) ok=(\d+) other=(\d+)", stdout.strip())
        check(m, f"fixture output {stdout!r}")
        busy, ok, other = (int(x) for x in m.groups())
        eq(other, 0, "marks that failed otherwise")
        check(busy >= 3, f"marks refused inside a hook: {busy}, want at least 3")
        check(ok >= 3, f"marks taken outside the shim: {ok}, want at least 3")
        labels = marks(root_trace(out, root(rep)["pid"]))
        eq(labels.count("sig"), ok, "'sig' marks in the trace (refused ones write nothing)")
        eq(labels.count("atexit"), 1, "the mark from the atexit handler")
        eq(root(rep)["ended"], "exit", "the root ended by exit")
    finally:
        shutil.rmtree(d, ignore_errors=True)


TESTS = {"forks": test_forks, "threads": test_threads, "api-signal": test_api_signal}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cowscope", required=True)
    ap.add_argument("--fixture", required=True)
    ap.add_argument("test", choices=sorted(TESTS))
    opts = ap.parse_args()
    return verdict(opts.test, TESTS[opts.test], opts)


if __name__ == "__main__":
    sys.exit(main())
