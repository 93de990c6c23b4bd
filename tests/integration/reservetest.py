#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Arming costs what the program uses: a child of a parent with a huge MAP_NORESERVE mapping
(few pages touched) gets no uffd-wp markers in the holes, no page tables for the reservation,
and exact copies on the pages it wrote; sanitizer-built programs run under `cowscope run`."""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile

from cstest import SKIP, Failure, check, eq

TOUCH, WRITES = 16, 8
PTE_SLACK_KB = 1024          # the shim's own page tables in the child, and more
UFFD_WP, SWAPPED = 1 << 57, 1 << 62


def read_info(path):
    info = {}
    with open(path) as f:
        for line in f:
            w = line.split()
            info[w[0]] = [int(x, 16) for x in w[1:]] if w[0] in ("region", "hole") \
                else int(w[1])
    return info


def run(opts, argv, tmp, shim):
    """The fixture with or without the shim: (stdout, info, report or None)."""
    info = os.path.join(tmp, "info.shim" if shim else "info.plain")
    out = os.path.join(tmp, "run")
    cmd = argv + [info]
    if shim:
        cmd = [opts.cowscope, "run", "-q", "-o", out, "--backend", "uffd-wp", "--"] + cmd
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120)
    if p.returncode == 4 and b"not usable" in p.stderr:
        print(p.stderr.decode().strip())
        sys.exit(SKIP)
    eq(p.returncode, 0, f"status{' under cowscope run' if shim else ''} ({p.stderr.decode()[-600:]})")
    if not shim:
        return p.stdout, read_info(info), None
    r = subprocess.run([opts.cowscope, "report", "--format", "json", out],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120)
    eq(r.returncode, 0, f"report status ({r.stderr.decode()[-400:]})")
    return p.stdout, read_info(info), json.loads(r.stdout)


def the_child(report):
    kids = [p for p in report["processes"] if p["role"] == "child"]
    eq(len(kids), 1, "children")
    return kids[0]


def the_region(child, start):
    m = [m for m in child["mappings"] if int(m["start"]) == start]
    eq(len(m), 1, "the reservation's mapping in the report")
    return m[0]


def compare(plain, shim, what):
    """Same output; the child's page tables within the slack of the plain run's; no markers."""
    eq(shim[0], plain[0], what + ": output under the shim")
    pi, si = plain[1], shim[1]
    for key in ("child_vmpte", "child_vmpte_end"):
        check(si[key] - pi[key] < PTE_SLACK_KB,
              f"{what}: {key} {si[key]} kB under the shim vs {pi[key]} kB without")
    eq(si["hole"][0] & (UFFD_WP | SWAPPED), 0, what + ": a hole's pagemap bits 57/62")


def scenario_reserve(opts, gib):
    tmp = tempfile.mkdtemp(prefix="reservetest.")
    try:
        argv = [opts.fixture, str(gib), str(TOUCH), str(WRITES)]
        plain, shim = run(opts, argv, tmp, False), run(opts, argv, tmp, True)
        compare(plain, shim, f"{gib} GiB")
        child = the_child(shim[2])
        reg = the_region(child, shim[1]["region"][0])
        skipped = [n for n in child["notes"] if n["code"] == "arm_skipped"]
        if gib <= 64:
            eq(reg["shared_at_fork_pages"], TOUCH, "region shared_at_fork")
            eq(reg["child_copied_pages"], WRITES, "region child_copied")
            eq(reg["parent_unshared_pages"], 0, "region parent_unshared")
            eq(skipped, [], "arm_skipped notes")
        else:
            eq(len(skipped), 1, "an arm_skipped note")
            check(skipped[0]["text"].startswith("cowscope: 1 mapping"), "the note's count")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def scenario_asan(opts):
    """An ASan-built fixture with a 1 GiB reservation: runs, same output, exact, shadow skipped."""
    if not opts.asan_fixture:
        print("no AddressSanitizer-built fixture (gcc without -fsanitize=address)")
        sys.exit(SKIP)
    tmp = tempfile.mkdtemp(prefix="reservetest.")
    try:
        argv = [opts.asan_fixture, "1", str(TOUCH), str(WRITES)]
        plain, shim = run(opts, argv, tmp, False), run(opts, argv, tmp, True)
        compare(plain, shim, "ASan, 1 GiB")
        child = the_child(shim[2])
        eq(child["ended"], "exit", "the child's end")
        reg = the_region(child, shim[1]["region"][0])
        eq(reg["shared_at_fork_pages"], TOUCH, "region shared_at_fork")
        eq(reg["child_copied_pages"], WRITES, "region child_copied")
        huge = [m for m in child["mappings"] if m["size_pages"] << 12 > 1 << 40]
        check(len(huge) >= 1, "ASan's shadow (over 1 TiB) is among the mappings")
        eq([m["shared_at_fork_pages"] for m in huge], [0] * len(huge), "the shadow not walked")
        skipped = [n for n in child["notes"] if n["code"] == "arm_skipped"]
        eq(len(skipped), 1, "an arm_skipped note (the shadow)")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--cowscope", required=True)
    ap.add_argument("--fixture", required=True)
    ap.add_argument("--asan-fixture", default=None)
    ap.add_argument("scenario", choices=["reserve-64g", "reserve-256g", "asan"])
    opts = ap.parse_args()
    try:
        if opts.scenario == "asan":
            scenario_asan(opts)
        else:
            scenario_reserve(opts, int(opts.scenario.split("-")[1][:-1]))
    except Failure as e:
        print(f"FAIL: {e}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
