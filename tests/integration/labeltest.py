#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Integration driver for labelled ranges (docs/labels.md): runs label_fixture under `cowscope run`
and reads the parent's trace with cstrace.py: every labelling exactly as the fixture made it."""
import argparse
import json
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile

import cstrace as ct
from cstest import Failure, Skip, check, eq, verdict

REC_FORK, REC_NOTE = 8, 13
NOTE_LABELS = 14
EINVAL = 22
NOT_LOADED = -1000
RANGE_SIZE = 32
# Ranges in one CS_REC_LRANGES record at most: (16 MiB - 16) / 32.
LRANGES_MAX = ((16 << 20) - 16) // RANGE_SIZE
MANY = 600000


class Run:
    """One `cowscope run` of the fixture: its output, the parent's and the child's traces."""

    def __init__(self, opts, scenario, out=None):
        self.dir = tempfile.mkdtemp(prefix="labeltest.")
        out = out or os.path.join(self.dir, "run")
        p = subprocess.run([opts.cowscope, "run", "-q", "-o", out, "--interval", "0",
                            "--sample-bytes", "0", "--", opts.fixture, scenario],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120)
        self.stdout = p.stdout.decode()
        check(p.returncode == 0, f"run exited {p.returncode}: {p.stderr.decode()}")
        r = subprocess.run([opts.cowscope, "report", "--format", "json", out],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120)
        check(r.returncode == 0, f"report failed ({r.returncode}): {r.stderr.decode()}")
        procs = json.loads(r.stdout)["processes"]
        eq(sorted(p["role"] for p in procs), ["child", "root"], "processes")
        pid = {p["role"]: p["pid"] for p in procs}
        self.parent = ct.Trace(os.path.join(out, f"{pid['root']}.0.cst"))
        self.child = ct.Trace(os.path.join(out, f"{pid['child']}.0.cst"))
        self.info = parse(self.stdout)

    def cleanup(self):
        shutil.rmtree(self.dir, ignore_errors=True)


def parse(stdout):
    """The fixture's figures: page size, object size, pages per array, array addresses, codes."""
    info = {}
    for line in stdout.splitlines():
        m = re.match(r"page (\d+) object (\d+) pages (\d+)$", line)
        if m:
            info["page"], info["obj"], info["pages"] = map(int, m.groups())
        m = re.match(r"array (\w) ([0-9a-f]+)", line)
        if m:
            info[m.group(1)] = int(m.group(2), 16)
        m = re.match(r"([\w -]+): (-?\d+)$", line)
        if m:
            info[m.group(1)] = int(m.group(2))
    return info


def notes(trace, code):
    return [b for b in trace.of_type(REC_NOTE) if struct.unpack_from("<I", b, 8)[0] == code]


def lranges_records(trace, s):
    return [b for b in trace.of_type(ct.REC_LRANGES) if struct.unpack_from("<I", b, 8)[0] == s]


def type_ranges(i, every):
    """test-type's ranges over arrays A and B: each object (or every 4th, weight 4x)."""
    per = i["pages"] * i["page"] // i["obj"]
    return [(i[arr] + k * i["obj"], i["obj"], i["obj"] * every, label)
            for label, arr in enumerate("AB") for k in range(0, per, every)]


def line_ranges(i):
    n = i["pages"] * i["page"]
    return [(i["A"], n, n, 0), (i["B"], n, n, 1)]


def expect_labelling(lab, s, kind, names, ranges, flags, records):
    what = f"labelling {s} ({kind})"
    eq(lab.set, s, what + " set")
    eq(lab.kind, kind, what + " kind")
    eq(lab.names, names, what + " names")
    eq(lab.nranges, len(ranges), what + " nranges")
    eq(lab.bytes, sum(r[2] for r in ranges), what + " bytes")
    eq(lab.flags, flags, what + " flags")
    check(lab.ranges == ranges, f"{what}: ranges differ from the fixture's (got "
          f"{len(lab.ranges)}, first {lab.ranges[:2]}, want first {ranges[:2]})")
    check(lab.complete, what + " is complete")
    eq(records, len(lab_records_expected(len(ranges))), what + " LRANGES records")


def lab_records_expected(n):
    return [min(LRANGES_MAX, n - k) for k in range(0, max(n, 1), LRANGES_MAX)]


def expect_run(run, first, first_flags):
    """Two labellings (test-type as first, test-line), written before the fork; none in the child."""
    i, p = run.info, run.parent
    eq(i.get("test-type"), 0, "test-type return code")
    eq(i.get("test-line"), 0, "test-line return code")
    labs = p.labellings()
    eq(len(labs), 2, "labellings in the parent")
    expect_labelling(labs[0], 1, "test-type", first[0], first[1], first_flags,
                     len(lranges_records(p, 1)))
    expect_labelling(labs[1], 2, "test-line", ["alloc_a", "alloc_b"], line_ranges(i), 0,
                     len(lranges_records(p, 2)))
    forks = p.of_type(REC_FORK)
    eq(len(forks), 1, "FORK records in the parent")
    fork_t = struct.unpack_from("<Q", forks[0], 24)[0]
    check(labs[0].t_ns <= labs[1].t_ns < fork_t, "labellings precede the fork, in order")
    eq(len(notes(p, NOTE_LABELS)), 0, "CS_NOTE_LABELS notes in the parent")
    eq(run.child.labellings(), [], "labellings in the child's trace")
    eq(len(run.child.of_type(ct.REC_LSET) + run.child.of_type(ct.REC_LRANGES)), 0,
       "LSET/LRANGES records in the child")
    check(f"child wrote {i['pages']} pages of B" in run.stdout, "the child ran")


def scenario(opts, name, fn):
    run = Run(opts, name)
    try:
        fn(run)
    finally:
        run.cleanup()


def t_labels(opts):
    scenario(opts, "labels", lambda r: expect_run(r, (["A", "B"], type_ranges(r.info, 1)), 0))


def t_sampled(opts):
    scenario(opts, "sampled", lambda r: expect_run(r, (["A", "B"], type_ranges(r.info, 4)), 1))


def many_ranges(i):
    return [(i["M"] + 8 * k, 8, 8, k % 2) for k in range(MANY)]


def t_many(opts):
    def check_many(r):
        expect_run(r, (["even", "odd"], many_ranges(r.info)), 0)
        recs = lranges_records(r.parent, 1)
        eq([struct.unpack_from("<I", b, 12)[0] for b in recs], [LRANGES_MAX, MANY - LRANGES_MAX],
           "ranges per LRANGES record of the 600,000")
        check(len(recs) >= 2, "600,000 ranges span two records")
    scenario(opts, "many", check_many)


INVALID = ["bad label index", "empty kind", "NULL kind", "long kind", "NULL ranges",
           "NULL names", "no names"]


def t_invalid(opts):
    def check_invalid(r):
        for what in INVALID:
            eq(r.info.get(what), -EINVAL, what + " return code")
        eq(r.info.get("EINVAL"), -EINVAL, "the fixture's EINVAL")
        check("trace unchanged: yes" in r.stdout, "the parent's trace did not grow: "
              + r.stdout)
        eq(r.parent.of_type(ct.REC_LSET), [], "LSET records after invalid calls")
        eq(r.parent.of_type(ct.REC_LRANGES), [], "LRANGES records after invalid calls")
        eq(notes(r.parent, NOTE_LABELS), [], "CS_NOTE_LABELS notes after invalid calls")
    scenario(opts, "invalid", check_invalid)


def masked(stdout):
    """Output with what differs between runs (addresses, return codes) masked."""
    s = re.sub(r"(array \w) [0-9a-f]+", r"\1 ADDR", stdout)
    return re.sub(r": -?\d+$", ": RC", s, flags=re.M)


def t_no_shim(opts):
    """Without the shim every call returns COWSCOPE_NOT_LOADED; the output is otherwise the same."""
    for s in ["labels", "invalid", "many"]:
        env = {k: v for k, v in os.environ.items()
               if k != "LD_PRELOAD" and not k.startswith("COWSCOPE_")}
        p = subprocess.run([opts.fixture, s], env=env, stdout=subprocess.PIPE, timeout=120)
        eq(p.returncode, 0, s + " exit status without the shim")
        bare = p.stdout.decode()
        codes = {k: v for k, v in parse(bare).items()
                 if k in ["test-type", "test-line"] + INVALID}
        check(codes and all(v == NOT_LOADED for v in codes.values()),
              f"{s}: every call returns COWSCOPE_NOT_LOADED without the shim: {codes}")
        run = Run(opts, s)
        try:
            eq(masked(bare), masked(run.stdout), s + ": output with and without the shim")
        finally:
            run.cleanup()


def t_full(opts):
    """A disk that holds the LSET but not the 16 MiB LRANGES record: -EIO, a CS_NOTE_LABELS note
    saying how far it got, no partial record; the next labelling is whole."""
    if os.geteuid() != 0:
        raise Skip("mounting a small tmpfs needs root")
    mnt = tempfile.mkdtemp(prefix="labeltest-mnt.")
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8m,mode=0700", "tmpfs", mnt],
                      stderr=subprocess.DEVNULL).returncode:
        os.rmdir(mnt)
        raise Skip("cannot mount a tmpfs here")
    try:
        run = Run(opts, "many", os.path.join(mnt, "run"))
        p = run.parent
        eq(run.info.get("test-type"), -5, "test-type return code on a full disk (-EIO)")
        eq(run.info.get("test-line"), 0, "test-line return code")
        labs = p.labellings()
        eq([(x.set, x.kind, x.nranges, len(x.ranges), x.complete) for x in labs],
           [(1, "test-type", MANY, 0, False), (2, "test-line", 2, 2, True)], "labellings")
        got = [(struct.unpack_from("<i", b, 12)[0], b[18:18 + struct.unpack_from("<H", b, 16)[0]])
               for b in notes(p, NOTE_LABELS)]
        eq(got, [(28, b"cowscope: labelling 1 of test-type cut short after 0 of 600000 ranges")],
           "CS_NOTE_LABELS notes (err ENOSPC)")
        eq(sum(len(b) for _, b in p.records) + 32, os.path.getsize(p.path),
           "the trace is whole records to its end")
        run.cleanup()
    finally:
        subprocess.run(["umount", "-l", mnt])
        os.rmdir(mnt)


PY_SCRIPT = r"""
import array, ctypes, cowscope
buf = bytearray(8192)
base = ctypes.addressof((ctypes.c_char * len(buf)).from_buffer(buf))
a = array.array("Q", [base, 100, 100, 0, base + 4096, 50, 200, 1])
print("base", hex(base))
print("array:", cowscope.label_ranges("py-test", ["x", "y"], a, 2))
print("bytes:", cowscope.label_ranges("py-bytes", [b"z"], a.tobytes()[:32], 1))
print("short:", cowscope.label_ranges("py-test", ["x", "y"], a, 3))
print("bad label:", cowscope.label_ranges("py-test", ["x"], a, 2))
"""


def t_python(opts):
    """tools/python/cowscope.py label_ranges(): an array('Q') and bytes, as the C API records them."""
    if not os.path.exists("/usr/bin/python3"):
        raise Skip("no /usr/bin/python3")
    d = tempfile.mkdtemp(prefix="labeltest.")
    try:
        out = os.path.join(d, "run")
        p = subprocess.run([opts.cowscope, "run", "-q", "-o", out, "--interval", "0",
                            "--sample-bytes", "0", "--", "/usr/bin/python3", "-c", PY_SCRIPT],
                           env=dict(os.environ, PYTHONPATH=opts.pythonpath),
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120)
        check(p.returncode == 0, f"run exited {p.returncode}: {p.stderr.decode()}")
        text = p.stdout.decode()
        i = parse(text)
        base = int(re.search(r"base 0x([0-9a-f]+)", text).group(1), 16)
        eq([i.get(k) for k in ("array", "bytes", "short", "bad label")], [0, 0, -EINVAL, -EINVAL],
           "return codes")
        traces = [ct.Trace(os.path.join(out, f)) for f in os.listdir(out)
                  if f.endswith(".cst") and f != "run.cst"]
        labs = [x for t in traces for x in t.labellings()]
        eq([(x.set, x.kind, x.names, x.nranges, x.bytes, x.flags, x.ranges, x.complete)
            for x in labs],
           [(1, "py-test", ["x", "y"], 2, 300, 1,
             [(base, 100, 100, 0), (base + 4096, 50, 200, 1)], True),
            (2, "py-bytes", ["z"], 1, 100, 0, [(base, 100, 100, 0)], True)], "labellings")
    finally:
        shutil.rmtree(d, ignore_errors=True)


TESTS = {"labels": t_labels, "sampled": t_sampled, "many": t_many, "invalid": t_invalid,
         "no-shim": t_no_shim, "full": t_full,
         "python": t_python}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cowscope", required=True)
    ap.add_argument("--fixture", required=True)
    ap.add_argument("--pythonpath", default="")
    ap.add_argument("test", choices=sorted(TESTS))
    opts = ap.parse_args()
    try:
        return verdict("labels: " + opts.test, TESTS[opts.test], opts)
    except Failure as e:
        print(f"FAIL {opts.test}: {e}")
        return 1


if __name__ == "__main__":
    sys.exit(main())
