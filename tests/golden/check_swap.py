#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The golden runs catch a swapped field: swap two fields of every record of one type in a copy
of a golden run directory, and the golden comparison must fail on a named figure.

Usage: check_swap.py COWSCOPE TRACE_FORMAT_H GOLDEN_DIR

Offsets come from the pinned layout in trace_format.h (its CS_PIN_FIELD lines), so this test
swaps what the format says is there. Each case first checks the unmodified copy passes.
"""
import os
import re
import shutil
import struct
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from check_golden import compare  # noqa: E402  (the comparison the golden tests run)

HDR_BYTES = 8   # cs_rec_hdr_t
EVENTS_BYTES = 16  # cs_rec_events_t, before the events of ALLOCS and FREES

# (name, golden run, expected, check_golden options, record type, struct, field a, field b,
#  events?, swaps, a substring one failure line must hold)
CASES = [
    ("1.1 ALLOCS: ptr <-> size", "v1.1/three-sites", "v1.1/three-sites.expected.json",
     dict(region_start="55586541c000", copied="64", raw=True,
          sites=["64,262144,64,0", "64,262144,0,0", "64,262144,0,0"]),
     20, "cs_alloc_ev_t", "ptr", "size", True, 193, "allocation sites ("),
    ("1.1 ALLOCS: stack <-> kind", "v1.1/three-sites", "v1.1/three-sites.expected.json",
     dict(region_start="55586541c000", copied="64", raw=True,
          sites=["64,262144,64,0", "64,262144,0,0", "64,262144,0,0"]),
     20, "cs_alloc_ev_t", "stack", "kind", True, 193, "unknown allocation kind"),
    ("1.1 ALLOCS: seq <-> weight_bytes", "v1.1/three-sites", "v1.1/three-sites.expected.json",
     dict(region_start="55586541c000", copied="64", raw=True,
          sites=["64,262144,64,0", "64,262144,0,0", "64,262144,0,0"]),
     20, "cs_alloc_ev_t", "seq", "weight_bytes", True, 193, "allocation sites ("),
    ("1.1 FREES: seq <-> ptr", "v1.1/frees", "v1.1/frees.expected.json",
     dict(region_start="565194a41000", copied="34", raw=True, sites=["400,400000,33.568,33.568"]),
     21, "cs_free_ev_t", "seq", "ptr", True, 400, "freed_in_child_pages"),
    ("1.0 SNAP_BEGIN: minflt <-> majflt", "v1/child-writes", "v1/child-writes.expected.json",
     dict(region_start="7f1300a61000", copied="5"),
     3, "cs_rec_snap_t", "minflt", "majflt", False, 2, "minor_faults"),
    ("1.2 MARK: t_ns <-> seq+snap_seq", "v1.2-diff/phases", "v1.2-diff/phases.report.expected.json",
     dict(region_start="7f3304777000", copied="30"),
     23, "cs_rec_mark_t", "t_ns", "seq", False, 2, "phase"),
    ("1.4 WORDS: count <-> pad2", "v1.4/incdec", "v1.4/incdec.expected.json",
     dict(region_start="7fc29d13d000", copied="32"),
     26, "cs_rec_words_t", "count", "pad2", False, 4, "changed_bytes"),
    ("1.7 LIVESET: seq <-> raw_bytes+codec+flags", "v1.7/churn", "v1.7/churn.expected.json",
     dict(region_start="55bc8ba14000", copied="128", raw=True, sites=["128,2097152,128,0"]),
     33, "cs_rec_evpack_t", "seq", "raw_bytes", False, 1, "raw_bytes does not match"),
    ("1.7 EVPACK: count <-> tid", "v1.7/churn", "v1.7/churn.expected.json",
     dict(region_start="55bc8ba14000", copied="128", raw=True, sites=["128,2097152,128,0"]),
     32, "cs_rec_evpack_t", "count", "tid", False, 19, "event count does not match"),
]


def pinned(header):
    """(struct, field) -> (offset, size) from the CS_PIN_FIELD lines of trace_format.h."""
    with open(header) as f:
        text = f.read()
    pins = re.findall(r"^CS_PIN_FIELD\((\w+), (\w+), (\d+), (\d+)\);", text, re.M)
    if not pins:
        raise SystemExit(f"no CS_PIN_FIELD lines in {header}")
    return {(t, f): (int(o), int(s)) for t, f, o, s in pins}


def swap_bytes(buf, base, a, b):
    """Swap the byte ranges a and b ((offset, size) from base); a 4-byte field next to a 4-byte
    one (MARK's seq and snap_seq) is swapped together with it as one 8-byte range."""
    (oa, sa), (ob, sb) = a, b
    n = max(sa, sb)
    x, y = bytes(buf[base + oa:base + oa + n]), bytes(buf[base + ob:base + ob + n])
    buf[base + oa:base + oa + n], buf[base + ob:base + ob + n] = y, x


def swap_file(path, rtype, a, b, ev_size, events):
    """Swap fields a and b in every record of type rtype (or every event of it); the count."""
    with open(path, "rb") as f:
        buf = bytearray(f.read())
    off = struct.unpack_from("<I", buf, 12)[0]
    n = 0
    while off + HDR_BYTES <= len(buf):
        t, _, size = struct.unpack_from("<HHI", buf, off)
        if t == rtype and events:
            count = struct.unpack_from("<I", buf, off + HDR_BYTES)[0]
            for i in range(count):
                swap_bytes(buf, off + EVENTS_BYTES + i * ev_size, a, b)
            n += count
        elif t == rtype:
            swap_bytes(buf, off, a, b)
            n += 1
        off += size
    with open(path, "wb") as f:
        f.write(buf)
    return n


def run_case(cowscope, pins, golden, case, tmp):
    name, run, expected, opts, rtype, st, fa, fb, events, want_swaps, named = case
    a, b = pins[(st, fa)], pins[(st, fb)]
    ev_size = max(o + s for (t, _), (o, s) in pins.items() if t == st)
    d = os.path.join(tmp, re.sub(r"\W+", "_", name))
    shutil.copytree(os.path.join(golden, run), d)
    exp = os.path.join(golden, expected)
    clean = compare(cowscope, d, exp, **opts)
    if clean:
        return [f"{name}: the unmodified copy fails: {clean}"]
    swaps = sum(swap_file(os.path.join(d, f), rtype, a, b, ev_size, events)
                for f in sorted(os.listdir(d)))
    if swaps != want_swaps:
        return [f"{name}: swapped {swaps} times, want {want_swaps}"]
    problems = compare(cowscope, d, exp, **opts)
    print(f"{name}: {swaps} swapped, {len(problems)} differences, e.g. {problems[:2]}")
    if not any(named in p for p in problems):
        return [f"{name}: no difference names {named!r}: {problems}"]
    return []


def main():
    cowscope, header, golden = sys.argv[1:4]
    pins = pinned(header)
    tmp = tempfile.mkdtemp(prefix="cs-swap.")
    try:
        failures = [f for c in CASES for f in run_case(cowscope, pins, golden, c, tmp)]
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    for f in failures:
        print("FAIL:", f)
    print("ok" if not failures else f"{len(failures)} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
