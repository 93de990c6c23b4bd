#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Golden diffs: `cowscope diff --format json` of golden run directories, compared field by field."""
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from check_golden import diff  # noqa: E402  (one field-by-field comparison for every golden)

BUCKET = "anonymous memory (allocation tracking off)"


def without_dirs(d):
    """The diff without the sides' absolute directories (where the golden was read from)."""
    for side in ("before", "after"):
        d[side].pop("dir", None)
    return d


def main():
    cowscope, golden_dir, before, after, expected, copied_before, copied_after = sys.argv[1:8]
    r = subprocess.run([os.path.abspath(cowscope), "diff", "--format", "json", before, after], cwd=golden_dir,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=False)
    if r.returncode != 0:
        print(f"FAIL: diff exited {r.returncode}: {r.stderr.decode()}")
        return 1
    got = without_dirs(json.loads(r.stdout))
    with open(expected) as f:
        want = without_dirs(json.load(f))
    problems = diff(got, want)
    # The fact the golden runs were made to show: the fixture's region (anonymous memory, as
    # allocation tracking was off) went from copied_before to copied_after copied pages.
    anon = [s for s in got["sites"] if s["bucket"] == BUCKET]
    want_delta = int(copied_after) - int(copied_before)
    if len(anon) != 1 or anon[0]["delta"]["child_copied_pages"] != want_delta:
        problems.append(f"fixture region delta: want {want_delta}, got {anon}")
    if got["headline"]["metric"] != "child_copied" or not got["headline"]["change_percent"] < 0:
        problems.append(f"headline: {got['headline']}")
    for p in problems:
        print("FAIL:", p)
    print("ok" if not problems else f"{len(problems)} differences")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
