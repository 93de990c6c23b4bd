#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Write the fuzz seed corpus (from tests/golden) and the regression corpus (hand-made shapes).

Run from anywhere: python3 tests/fuzz/make_seeds.py. Inputs for fuzz_trace are one trace file;
inputs for fuzz_run are files packed as u8 name index, u32 length, bytes (fuzz_run.c)."""
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
GOLDEN = os.path.join(HERE, "..", "golden")
# fuzz_run.c's names
NAMES = ["100.0.cst", "101.0.cst", "101.1.cst", "102.0.cst", "101.0.samples.cst",
         "102.0.samples.cst", "run.cst", "101.2.cst"]


def pack(files):
    return b"".join(struct.pack("<BI", NAMES.index(n), len(b)) + b for n, b in files)


def header(kind, pid, gen, minor=3):
    return b"COWSCOPE" + struct.pack("<HHIIIII", 1, minor, 32, 0x01020304, kind, pid, gen)


def rec(rtype, body):
    size = (8 + len(body) + 7) & ~7
    return struct.pack("<HHI", rtype, 0, size) + body + b"\0" * (size - 8 - len(body))


def s(text):
    b = text.encode()
    return struct.pack("<H", len(b)) + b


def proc(pid, ppid, gen, role, start):
    return rec(1, struct.pack("<IIIBBHIIQQ", pid, ppid, gen, role, 1, 0, 4096, 0, start, 0) +
               s("prog\0") + s("/bin/x") + s(""))


def snap(seq, reason, t, frm, to, written):
    out = rec(3, struct.pack("<IBBHQQQ", seq, reason, 1, 0, t, 0, 0))
    out += rec(4, struct.pack("<QQQIBBH", frm * 4096, to * 4096, 0, seq, 3, 3, 1) + s(""))
    out += rec(5, struct.pack("<IB3x", seq, 1) + struct.pack("<QQ", frm, to - frm))
    if written:
        out += rec(5, struct.pack("<IB3x", seq, 2) + struct.pack("<QQ", frm, written))
    return out + rec(7, struct.pack("<IIQ", seq, 0, 0))


def frees_with_empty_liveset():
    """A child that frees while its parent had nothing live: bsearch saw a NULL array (UBSan)."""
    root = header(1, 100, 0) + proc(100, 1, 0, 0, 0) + rec(17, struct.pack("<QII", 1, 64, 0))
    root += rec(8, struct.pack("<IB3xQQ", 101, 1, 0, 1000))
    child = header(1, 101, 0) + proc(101, 100, 0, 1, 1000)
    child += rec(17, struct.pack("<QII", 1, 64, 0))
    child += rec(22, struct.pack("<QII", 10, 1, 0))
    child += snap(0, 1, 1000, 16, 32, 0)
    child += rec(21, struct.pack("<II", 2, 1) + struct.pack("<QQQB7x", 11, 0x2000, 0, 1) +
                 struct.pack("<QQQB7x", 12, 0x11000, 0, 1))
    child += snap(1, 2, 2000, 16, 32, 3)
    child += rec(10, struct.pack("<B3xiQ", 1, 0, 3000))
    return [("100.0.cst", root), ("101.0.cst", child)]


def reused_pid():
    """Pid 101 forked twice: the second is gen 1 but no exec."""
    root = header(1, 100, 0) + proc(100, 1, 0, 0, 0)
    root += rec(8, struct.pack("<IB3xQQ", 101, 1, 0, 1000))
    root += rec(9, struct.pack("<IiQ", 101, 0, 3000))
    root += rec(8, struct.pack("<IB3xQQ", 101, 1, 1, 5000))
    a = header(1, 101, 0) + proc(101, 100, 0, 1, 1000) + snap(0, 1, 1000, 16, 32, 0)
    a += snap(1, 2, 2000, 16, 32, 2) + rec(10, struct.pack("<B3xiQ", 1, 0, 2500))
    b = header(1, 101, 1) + proc(101, 100, 1, 1, 5000) + snap(0, 1, 5000, 16, 32, 0)
    return [("100.0.cst", root), ("101.0.cst", a), ("101.1.cst", b)]


def put(sub, name, data):
    d = os.path.join(HERE, sub)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def golden_dirs():
    for root, _, files in os.walk(GOLDEN):
        cst = sorted(f for f in files if f.endswith(".cst"))
        if cst:
            yield root, cst


def main():
    for root, cst in golden_dirs():
        tag = os.path.relpath(root, GOLDEN).replace("/", "-")
        files = []
        for i, f in enumerate(cst):
            with open(os.path.join(root, f), "rb") as fh:
                data = fh.read()
            put("corpus/trace", f"{tag}-{f}", data)
            files.append((NAMES[6] if f == "run.cst" else NAMES[min(i, 1)], data))
        put("corpus/run", tag, pack(files))
    for name, files in [("frees-empty-liveset", frees_with_empty_liveset()),
                        ("reused-pid", reused_pid())]:
        put("regression/run", name, pack(files))
        put("regression/trace", name, files[1][1])


if __name__ == "__main__":
    main()
