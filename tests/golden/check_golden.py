#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Golden traces: each released format version's run directory must still read the same.

Usage: check_golden.py COWSCOPE RUN_DIR EXPECTED REGION_START COPIED [--raw-frames] [--site S,B,C,F]...

The report of RUN_DIR is compared with EXPECTED field by field (all but run.dir), and the
child's mapping starting at REGION_START (hex) must have COPIED child-copied pages ('-' '-'
skips that check).

--raw-frames  for runs with allocation sites: compare frames by module and offset only, as the
              trace holds them. Function, file and line come from the binaries at the traced
              paths, which a rebuild or another machine changes (the fixture's build is gone, the
              system libc differs), and so do the "symbols" notes, the inlined frames symbols
              add and the report order of sites that tie (their key holds the symbols).
--site S,B,C,F the child's allocation sites (those with frames) are exactly these: S samples,
              B estimated bytes, C child-copied pages, F pages freed in the child. Repeat per site.
"""
import argparse
import json
import subprocess
import sys


def diff(got, want, path=""):
    """List the differences between two JSON values, ignoring run.dir (where it was read from)."""
    if path == ".run.dir":
        return []
    if isinstance(want, dict) and isinstance(got, dict):
        out = [f"{path}.{k}: missing" for k in want if k not in got]
        out += [f"{path}.{k}: unexpected" for k in got if k not in want]
        for k in want:
            if k in got:
                out += diff(got[k], want[k], f"{path}.{k}")
        return out
    if isinstance(want, list) and isinstance(got, list):
        if len(got) != len(want):
            return [f"{path}: {len(got)} items, want {len(want)}"]
        return [d for i, (g, w) in enumerate(zip(got, want)) for d in diff(g, w, f"{path}[{i}]")]
    return [] if got == want else [f"{path}: got {got!r}, want {want!r}"]


def raw_frames(frames):
    """Frames as the trace holds them: module and offset, one per return address (the inlined
    frames symbolization adds share their caller's address)."""
    out = []
    for f in frames:
        raw = {"module": f["module"], "offset": f["offset"]}
        if not out or out[-1] != raw:
            out.append(raw)
    return out


def site_order(site):
    """A total order of sites that does not depend on symbols."""
    return json.dumps(site, sort_keys=True)


def without_symbols(v):
    """The report with nothing that depends on the binaries found at the traced paths: every
    site's or writer's frames (processes, sibling groups, ...) raw, lists of them in a fixed
    order, no "symbols" notes."""
    if isinstance(v, list):
        v = [without_symbols(x) for x in v]
        if v and all(isinstance(x, dict) and "frames" in x for x in v):
            v.sort(key=site_order)
        return v
    if not isinstance(v, dict):
        return v
    v = {k: without_symbols(x) for k, x in v.items()}
    if isinstance(v.get("frames"), list):
        v["frames"] = raw_frames(v["frames"])
    if isinstance(v.get("notes"), list):
        v["notes"] = [n for n in v["notes"] if not (isinstance(n, dict) and n.get("code") == "symbols")]
    return v


def child_of(report):
    return [p for p in report["processes"] if p["role"] == "child"][0]


def region_problems(report, region_start, copied):
    """The fact the golden run was made to show: the child copied exactly this many pages there."""
    if region_start == "-":
        return []
    region = [m for m in child_of(report)["mappings"] if m["start"] == int(region_start, 16)]
    if len(region) != 1 or region[0]["child_copied_pages"] != float(copied):
        return [f"fixture region: {region}"]
    return []


def site_problems(report, sites):
    """The allocation events read: per site, how many, how many bytes, and what they own."""
    if not sites:
        return []
    want = sorted(tuple(float(x) for x in s.split(",")) for s in sites)
    got = sorted((s["samples"], s["estimated_bytes"], s["child_copied_pages"],
                  s["freed_in_child_pages"]) for s in child_of(report)["sites"] if s["frames"])
    if got != want:
        return [f"allocation sites (samples, estimated_bytes, child_copied_pages, "
                f"freed_in_child_pages): got {got}, want {want}"]
    return []


def compare(cowscope, run_dir, expected, region_start="-", copied="-", raw=False, sites=()):
    """Every difference between RUN_DIR's report and the golden one, as lines; [] if none."""
    r = subprocess.run([cowscope, "report", "--format", "json", run_dir],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=False)
    if r.returncode != 0:
        return [f"report exited {r.returncode}: {r.stderr.decode()}"]
    got = json.loads(r.stdout)
    with open(expected) as f:
        want = json.load(f)
    if raw:
        got, want = without_symbols(got), without_symbols(want)
    return diff(got, want) + region_problems(got, region_start, copied) + site_problems(got, sites)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("cowscope")
    ap.add_argument("run_dir")
    ap.add_argument("expected")
    ap.add_argument("region_start")
    ap.add_argument("copied")
    ap.add_argument("--raw-frames", action="store_true")
    ap.add_argument("--site", action="append", default=[])
    a = ap.parse_args()
    problems = compare(a.cowscope, a.run_dir, a.expected, a.region_start, a.copied,
                       a.raw_frames, a.site)
    for p in problems:
        print("FAIL:", p)
    print("ok" if not problems else f"{len(problems)} differences")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
