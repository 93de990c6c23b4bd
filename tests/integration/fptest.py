#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Integration driver: COWSCOPE_UNWIND=fp names the same allocation sites as libunwind."""
import argparse
import glob
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile

from cstest import Failure, check, eq
from cstrace import Trace

REC_SAMPLING = 17
SAMPLINGF_FP_UNWIND = 2


def run(opts, unwind):
    """cowscope run the -fno-omit-frame-pointer fixture in exact mode: (report, flags, stderr)."""
    d = tempfile.mkdtemp(prefix="fptest.")
    out = os.path.join(d, "run")
    env = dict(os.environ)
    env.pop("COWSCOPE_UNWIND", None)
    if unwind is not None:
        env["COWSCOPE_UNWIND"] = unwind
    p = subprocess.run([opts.cowscope, "run", "-q", "-o", out, "--interval", "0",
                        "--sample-bytes", "1", "--", opts.fixture, "three-sites"],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, timeout=300)
    check(p.returncode == 0, f"run exited {p.returncode}: {p.stderr.decode()}")
    r = subprocess.run([opts.cowscope, "report", "--format", "json", "--top", "50", out],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=300)
    check(r.returncode == 0, f"report exited {r.returncode}: {r.stderr.decode()}")
    flags = set()
    for path in glob.glob(os.path.join(out, "*.cst")):
        if path.endswith(".samples.cst"):
            continue
        for b in Trace(path).of_type(REC_SAMPLING):
            flags.add(struct.unpack_from("<I", b, 20)[0])
    shutil.rmtree(d, ignore_errors=True)
    return json.loads(r.stdout), flags, p.stderr.decode()


def sites(rep):
    """Each child allocation site as its function names from the allocating one out to main
    (buckets, such as the stack's or the loader's pages, vary by a page from run to run)."""
    kids = [p for p in rep["processes"] if p["role"] == "child"]
    eq(len(kids), 1, "one child")
    got = []
    for s in kids[0]["sites"]:
        if not s["frames"]:
            continue
        names = [f.get("function") for f in s["frames"]]
        if "main" in names:
            names = names[:names.index("main") + 1]  # libc below main has no frame pointers
        got.append((tuple(names), s["child_copied_pages"]))
    return sorted(got)


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--cowscope", required=True)
    ap.add_argument("--fixture", required=True)
    opts = ap.parse_args()
    try:
        lib, lib_flags, _ = run(opts, None)
        fp, fp_flags, _ = run(opts, "fp")
        bad, bad_flags, err = run(opts, "frames")
        eq(lib_flags, {0}, "libunwind: no unwinder flag")
        eq(fp_flags, {SAMPLINGF_FP_UNWIND}, "fp: CS_SAMPLINGF_FP_UNWIND in every trace")
        eq(bad_flags, {0}, "a bad value falls back to libunwind")
        eq(err.count("COWSCOPE_UNWIND=frames"), 1, f"one warning: {err!r}")
        want = sites(lib)
        check(any("load_sessions" in names for names, _ in want),
              f"libunwind names load_sessions: {want}")
        eq(sites(fp), want, "fp sites (functions down to main, copied pages)")
        eq(sites(bad), want, "fallback sites")
    except Failure as e:
        print(f"FAIL fp: {e}")
        return 1
    print("ok fp")
    return 0


if __name__ == "__main__":
    sys.exit(main())
