#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Golden traces: each released format version's run directory must still read the same."""
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


def main():
    cowscope, run_dir, expected, region_start, copied = sys.argv[1:6]
    r = subprocess.run([cowscope, "report", "--format", "json", run_dir],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=False)
    if r.returncode != 0:
        print(f"FAIL: report exited {r.returncode}: {r.stderr.decode()}")
        return 1
    got = json.loads(r.stdout)
    with open(expected) as f:
        want = json.load(f)
    problems = diff(got, want)
    # The fact the golden run was made to show: the child copied exactly this many pages there.
    child = [p for p in got["processes"] if p["role"] == "child"][0]
    region = [m for m in child["mappings"] if m["start"] == int(region_start, 16)]
    if len(region) != 1 or region[0]["child_copied_pages"] != int(copied):
        problems.append(f"fixture region: {region}")
    for p in problems:
        print("FAIL:", p)
    print("ok" if not problems else f"{len(problems)} differences")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
