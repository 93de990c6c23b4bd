#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Integration driver for stacks a person reads (docs/allocation-sites.md, "Reading a stack")."""
import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

from cstest import Failure, Skip, check, eq, verdict

ROW = re.compile(r"^ +[0-9.<-]+ +[0-9.<-]+ ")  # a site's row (its figures), not a frame line


def run(opts, fixture):
    """cowscope run the fixture (exact sampling), then (JSON report, text report)."""
    d = tempfile.mkdtemp(prefix="stacktest.")
    out = os.path.join(d, "run")
    try:
        p = subprocess.run([opts.cowscope, "run", "-q", "-o", out, "--interval", "0",
                            "--sample-bytes", "1", "--", fixture], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=300)
        check(p.returncode == 0, f"run exited {p.returncode}: {p.stderr.decode()}")
        reps = []
        for fmt in ("json", "text"):
            # --per-process: each child's site table too, besides the group's
            r = subprocess.run([opts.cowscope, "report", "--format", fmt, "--per-process", out],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=300)
            check(r.returncode == 0, f"report --format {fmt}: {r.stderr.decode()}")
            reps.append(r.stdout.decode())
        return json.loads(reps[0]), reps[1]
    finally:
        shutil.rmtree(d, ignore_errors=True)


def site_sections(text):
    """The lines of the text report's allocation-site sections."""
    lines = text.splitlines()
    start = next((i for i, l in enumerate(lines) if l.startswith("top ") and
                  "allocation sites" in l), None)
    check(start is not None, "an allocation-site section")
    end = next((i for i in range(start + 1, len(lines)) if lines[i] and lines[i][0] != " "
                and "allocation sites" not in lines[i]), len(lines))
    return lines[start:end]


def test_stripped(opts):
    """Two sites alike but for static frames print differently; the no-symbols note once."""
    rep, text = run(opts, opts.fixture)
    mod = os.path.basename(opts.fixture)
    kids = [p for p in rep["processes"] if p["role"] == "child"]
    eq(len(kids), 2, "two children")
    for k in kids:
        check(k["child_copied_pages"] >= 256, f"pid {k['pid']}: the child wrote 256 pages")
        sites = [s for s in k["sites"] if any(f.get("function") == "alloc_block"
                                              for f in s["frames"])]
        eq(sorted(s["child_copied_pages"] for s in sites), [128, 128],
           f"pid {k['pid']}: two sites through alloc_block")
    sec = site_sections(text)
    print("\n".join(sec))
    folded = [l.strip() for l in sec if l.strip().startswith("\u2026 2 frames without symbols in")]
    check(folded, f"the static pair folded into one line: {sec}")
    vias = [l.strip() for l in sec if l.strip().startswith("(via ")]
    # two per table: each child's, and the group's
    eq(len(vias), 6, "a via line for each of the two look-alike sites of each table")
    eq(len(set(vias)), 2, f"the two sites told apart the same way in each table: {vias}")
    for v in vias:
        check(re.fullmatch(r"\(via " + re.escape(mod) + r"\+0x[0-9a-f]+, frame \d+\)", v),
              f"via names the differing unnamed frame: {v}")
    stack_lines = [l for l in sec if ROW.match(l) or l.startswith(" " * 20)]
    check(len(stack_lines) >= 42, f"rows and frame lines: {len(stack_lines)}")
    long = [l for l in stack_lines if len(l) > 100]
    check(not long, f"site lines within 100 columns: {long}")
    # prose lines wrap at 100 columns with a hanging indent: join them back
    prose = re.sub(r"\n {6}(?=\S)", " ", text)
    notes = [l for l in prose.splitlines() if f"{mod}: exported names only (stripped" in l]
    eq(len(notes), 1, f"the no-symbols note once: {notes}")
    check("install the debug symbols package for " + mod in notes[0] and "build with -g" in
          notes[0], f"the note names what would help: {notes[0]}")
    jnotes = [n for k in kids for n in k.get("notes", []) if n.get("code") == "symbols" and
              n.get("text", "").startswith(mod + ": exported names only")]
    eq(len(jnotes), 2, "JSON: each child's notes carry the module's note")


def test_jemalloc(opts):
    """Linked with jemalloc: no site's first printed frame is jemalloc's."""
    if not opts.jemalloc_fixture:
        raise Skip("no jemalloc-linked fixture (libjemalloc-dev missing at build time)")
    rep, text = run(opts, opts.jemalloc_fixture)
    check(any(p["role"] == "child" for p in rep["processes"]), "a child")
    # a row's last column (after two spaces or more) is its first printed frame
    firsts = [re.split(r" {2,}", l.strip())[-1] for l in site_sections(text) if ROW.match(l)]
    print("\n".join(firsts))
    check(firsts, "site rows in the text report")
    for f in firsts:
        check(not re.search(r"\bje_|libjemalloc|\bmalloc \[|libcowscope", f),
              f"a site starts inside the allocator: {f}")
    check(any(f.startswith("load_objects") for f in firsts), f"load_objects starts a site: {firsts}")


TESTS = {"stripped": test_stripped, "jemalloc": test_jemalloc}


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--cowscope", required=True)
    ap.add_argument("--fixture", required=True)
    ap.add_argument("--jemalloc-fixture", default="")
    ap.add_argument("test", choices=sorted(TESTS))
    opts = ap.parse_args()
    return verdict(opts.test, TESTS[opts.test], opts)


if __name__ == "__main__":
    sys.exit(main())
