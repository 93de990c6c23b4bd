#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Integration driver: `cowscope report --max-memory`. The test writes a ~50 MB synthetic trace
(a root that records 1.25 M sampled allocations, then forks a child that copies pages) and reads
it with a 16 MiB cap: the report must succeed and say exactly how many events the cap skipped;
with a cap above the trace's needs nothing is skipped."""
import argparse
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile

PER_REC = 1000            # events per ALLOCS record
RECS = 1250               # 1.25 M events, 40 bytes each in the file: 50 MB
AEV_BYTES = 48            # sizeof(cs_aev_t) in the analyzer: what one kept event costs
CAP_MIB = 16


def header(kind, pid, gen):
    return b"COWSCOPE" + struct.pack("<HHIIIII", 1, 3, 32, 0x01020304, kind, pid, gen)


def rec(rtype, body):
    size = (8 + len(body) + 7) & ~7
    return struct.pack("<HHI", rtype, 0, size) + body + b"\0" * (size - 8 - len(body))


def s(text):
    b = text.encode()
    return struct.pack("<H", len(b)) + b


def proc(pid, ppid, role, start):
    return rec(1, struct.pack("<IIIBBHIIQQ", pid, ppid, 0, role, 1, 0, 4096, 0, start, 0) +
               s("big\0") + s("/bin/big") + s(""))


def snap(seq, reason, t, written):
    out = rec(3, struct.pack("<IBBHQQQ", seq, reason, 1, 0, t, 0, 0))
    out += rec(4, struct.pack("<QQQIBBH", 0x10000 * 4096, 0x10100 * 4096, 0, seq, 3, 3, 1) + s(""))
    out += rec(5, struct.pack("<IB3x", seq, 1) + struct.pack("<QQ", 0x10000, 0x100))
    if written:
        out += rec(5, struct.pack("<IB3x", seq, 2) + struct.pack("<QQ", 0x10000, written))
    return out + rec(7, struct.pack("<IIQ", seq, 0, 0))


def write_run(d):
    with open(os.path.join(d, "100.0.cst"), "wb") as f:
        f.write(header(1, 100, 0) + proc(100, 1, 0, 0) + rec(17, struct.pack("<QII", 1, 64, 0)))
        f.write(rec(19, struct.pack("<II", 1, 1) + struct.pack("<Q", 0x401000)))
        ev = struct.Struct("<QQQQIB3x")
        for r in range(RECS):
            body = b"".join(ev.pack(r * PER_REC + i + 1, 0x10000000 + (r * PER_REC + i) * 64,
                                    64, 64, 1, 1) for i in range(PER_REC))
            f.write(rec(20, struct.pack("<II", PER_REC, 100) + body))
        f.write(rec(8, struct.pack("<IB3xQQ", 101, 1, 0, 1000)))
        f.write(rec(10, struct.pack("<B3xiQ", 1, 0, 9000)))
    with open(os.path.join(d, "101.0.cst"), "wb") as f:
        f.write(header(1, 101, 0) + proc(101, 100, 1, 1000) +
                rec(17, struct.pack("<QII", 1, 64, 0)) +
                rec(22, struct.pack("<QII", RECS * PER_REC + 1, 2, 0)) +
                snap(0, 1, 1000, 0) + snap(1, 2, 2000, 7) + rec(10, struct.pack("<B3xiQ", 1, 0, 3000)))


def report(cowscope, d, mib):
    r = subprocess.run([cowscope, "report", "--format", "json", "--max-memory", str(mib), d],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=False)
    if r.returncode != 0:
        raise SystemExit(f"FAIL: report --max-memory {mib} exited {r.returncode}: "
                         f"{r.stderr.decode()}")
    return json.loads(r.stdout)


def cap_notes(doc):
    return [n["text"] for p in doc["processes"] for n in p["notes"] if "memory cap" in n["text"]]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cowscope", required=True)
    a = ap.parse_args()
    d = tempfile.mkdtemp(prefix="cs-cap-")
    problems = []
    try:
        write_run(d)
        doc = report(a.cowscope, d, CAP_MIB)
        kept = (CAP_MIB << 20) // 2 // AEV_BYTES // PER_REC * PER_REC
        skipped = RECS * PER_REC - kept
        want = (f"allocation sites: {skipped} events past the {CAP_MIB} MiB memory cap "
                f"(--max-memory) skipped; sites are from the first")
        notes = cap_notes(doc)
        if len(notes) != 1 or not notes[0].startswith(want):
            problems.append(f"cap notes {notes!r}, want one starting {want!r}")
        child = [p for p in doc["processes"] if p["role"] == "child"]
        if len(child) != 1 or child[0]["child_copied_pages"] != 7:
            problems.append("the child's figures are not read past the cap")
        if cap_notes(report(a.cowscope, d, 1024)):
            problems.append("events skipped under a 1 GiB cap")
    finally:
        shutil.rmtree(d, ignore_errors=True)
    for p in problems:
        print("FAIL:", p)
    print("ok" if not problems else f"{len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
