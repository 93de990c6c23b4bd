#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Unit check: the PAGEMAP_SCAN ioctl is made only by cs_prim_pagemap_scan (common/prim.c), which
refuses vec_len 0; standalone programs (tools/, tests/) that make it themselves pass a vector
of at least one entry ("fs/proc: check p->vec_buf for NULL", Linux 6.7 until 2025-09)."""
import os
import re
import sys

CALL = re.compile(r"ioctl\s*\([^;]*PAGEMAP_SCAN\s*,")
VEC_LEN = re.compile(r"\.vec_len\s*=\s*([^,}\s]+)")


def sources(root):
    for top in ("common", "shim", "objrt", "analyzer", "tools", "tests"):
        for d, _, files in os.walk(os.path.join(root, top)):
            for f in files:
                if f.endswith((".c", ".h")):
                    yield os.path.join(d, f)


def main():
    root = sys.argv[1]
    bad = []
    for path in sources(root):
        rel = os.path.relpath(path, root)
        with open(path, errors="replace") as f:
            lines = f.read().split("\n")
        for i, line in enumerate(lines):
            if not CALL.search(line) or rel == os.path.join("common", "prim.c"):
                continue
            if rel.startswith(tuple(d + os.sep for d in ("common", "shim", "objrt", "analyzer"))):
                bad.append(f"{rel}:{i + 1}: PAGEMAP_SCAN outside cs_prim_pagemap_scan")
                continue
            window = "\n".join(lines[max(0, i - 25):i + 1])
            lens = VEC_LEN.findall(window)
            if not lens or any(v in ("0", "0u", "0ul") for v in lens):
                bad.append(f"{rel}:{i + 1}: PAGEMAP_SCAN without a non-empty vector nearby")
    for b in bad:
        print(b)
    print(f"{len(bad)} bad PAGEMAP_SCAN call site(s)")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
