#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Integration driver: `cowscope check --baseline` passes the run its baseline came from and fails one with more copies."""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile

from cstest import SKIP, Failure, Skip, check, eq, verdict


def run(cowscope, fixture, out, copies):
    """cow_fixture child-writes 64 COPIES exit under `cowscope run -o OUT`."""
    p = subprocess.run([cowscope, "run", "-q", "-o", out, "--", fixture, "child-writes", "64",
                        str(copies), "exit"],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120)
    if p.returncode == 4 and b"not usable" in p.stderr:
        raise Skip(p.stderr.decode().strip())
    check(p.returncode == 0, f"run failed ({p.returncode}): {p.stderr.decode()}")


def check_cmd(cowscope, *args):
    p = subprocess.run([cowscope, "check", *args], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=120)
    return p.returncode, (p.stdout + p.stderr).decode()


def test(opts):
    if subprocess.run([opts.cowscope, "help", "check"], stdout=subprocess.DEVNULL,
                      stderr=subprocess.DEVNULL).returncode != 0:
        raise Skip("this cowscope has no check command")
    tmp = tempfile.mkdtemp(prefix="baselinetest.")
    try:
        good, bad = os.path.join(tmp, "good"), os.path.join(tmp, "bad")
        base = os.path.join(tmp, "baseline.json")
        run(opts.cowscope, opts.fixture, good, 5)
        with open(base, "wb") as f:
            r = subprocess.run([opts.cowscope, "report", "--format", "json", good], stdout=f,
                               stderr=subprocess.PIPE, timeout=120)
        check(r.returncode == 0, f"report failed: {r.stderr.decode()}")
        rc, out = check_cmd(opts.cowscope, "--baseline", base, good)
        check(rc == 0, f"the baseline's own run: exit {rc}, expected 0:\n{out}")
        run(opts.cowscope, opts.fixture, bad, 40)
        rc, out = check_cmd(opts.cowscope, "--baseline", base, "--tolerance", "10", bad)
        check(rc == 1, f"40 copies against a 5-copy baseline: exit {rc}, expected 1:\n{out}")
        check("child-copied" in out, f"the regression is not named:\n{out}")
        rc, out = check_cmd(opts.cowscope, "--baseline", os.path.join(tmp, "none.json"), good)
        check(rc == 3 and "none.json" in out, f"missing baseline: exit {rc}, expected 3:\n{out}")
        with open(os.path.join(tmp, "bad.json"), "w") as f:
            f.write("{\"schema_version\": 1,\n")
        rc, out = check_cmd(opts.cowscope, "--baseline", os.path.join(tmp, "bad.json"), good)
        check(rc == 3 and "bad.json" in out, f"corrupt baseline: exit {rc}, expected 3:\n{out}")
        # A newer schema and a document of another kind (a diff): exit 3, naming the file.
        with open(base) as f:
            doc = json.load(f)
        doc["schema_version"] = 2
        newer = os.path.join(tmp, "newer.json")
        with open(newer, "w") as f:
            json.dump(doc, f)
        rc, out = check_cmd(opts.cowscope, "--baseline", newer, good)
        check(rc == 3 and "newer.json" in out and "newer" in out,
              f"newer-schema baseline: exit {rc}, expected 3:\n{out}")
        other = os.path.join(tmp, "diff.json")
        with open(other, "wb") as f:
            subprocess.run([opts.cowscope, "diff", "--format", "json", good, bad], stdout=f,
                           timeout=120, check=True)
        rc, out = check_cmd(opts.cowscope, "--baseline", other, good)
        check(rc == 3 and "diff.json" in out, f"a diff as baseline: exit {rc}, expected 3:\n{out}")
        # --write-baseline writes what report --format json writes (the run dir aside).
        written = os.path.join(tmp, "written.json")
        rc, out = check_cmd(opts.cowscope, "--write-baseline", written, good)
        check(rc == 0, f"--write-baseline: exit {rc}:\n{out}")
        with open(written) as f:
            w = json.load(f)
        eq(w["totals"], json.load(open(base))["totals"], "--write-baseline's totals")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cowscope", required=True)
    ap.add_argument("--fixture", required=True)
    opts = ap.parse_args()
    opts.cowscope = os.path.abspath(opts.cowscope)
    return verdict("baseline", test, opts)


if __name__ == "__main__":
    sys.exit(main())
