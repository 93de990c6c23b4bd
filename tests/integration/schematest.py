#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Fresh runs under the shim (allocation sites, several children, phases, a killed child, the
exclusive backend, a run without parent-unshared): their reports and diffs validate against
docs/json-*.schema.json."""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile

from cstest import SKIP, Failure, check, eq

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "golden"))
from check_schema import cowscope_json, problems, validators  # noqa: E402


def run(opts, tmp, name, args, interval=0, extra=()):
    """`cowscope run -o TMP/NAME` the command; the run directory."""
    out = os.path.join(tmp, name)
    p = subprocess.run([opts.cowscope, "run", "-q", "-o", out, "--interval", str(interval)] +
                       list(extra) + ["--"] + args, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=300, check=False)
    check(p.returncode == 0, f"{name}: run exited {p.returncode}: {p.stderr.decode()}")
    return out


def kids(rep):
    return [p for p in rep["processes"] if p["role"] == "child"]


def copied_through(proc, function):
    """Child-copied pages of the sites whose stack passes through function."""
    return [s["child_copied_pages"] for s in proc["sites"]
            if function in [f["function"] for f in s["frames"]]]


def site_run(opts, tmp):
    """Exact-mode sites of site_fixture three-sites: symbolized frames (file, line)."""
    rep = cowscope_json(opts.cowscope, "report", [run(opts, tmp, "sites", [opts.site_fixture,
                        "three-sites"], extra=["--sample-bytes", "1"])])
    c = kids(rep)
    eq(len(c), 1, "sites: children")
    eq(copied_through(c[0], "load_sessions"), [64], "sites: load_sessions's copied pages")
    eq(rep["processes"][0]["sampling"]["mean_bytes"], 1, "sites: exact mode")
    return rep


def phase_run(opts, tmp):
    """phase_fixture 64 30 3 with default sampling: two workers in two phases, a sibling group
    each (children forked in different phases are not one group), each worker's copies at the
    site that mapped the region (map_region)."""
    d = run(opts, tmp, "phases", [opts.phase_fixture, "64", "30", "3"])
    rep = cowscope_json(opts.cowscope, "report", [d])
    c = kids(rep)
    eq(len(c), 2, "phases: children")
    eq([p["name"] for p in rep["phases"]], ["start", "frozen"], "phases")
    eq([g["children"] for g in rep["sibling_groups"]], [[p["pid"]] for p in c],
       "phases: one group per phase")
    eq([p["label"] for p in c], ["child 1 of 2", "child 2 of 2"], "phases: labels")
    eq([copied_through(p, "map_region") for p in c], [[30], [3]], "phases: map_region's copies")
    diff = cowscope_json(opts.cowscope, "diff", [d + ":start", d + ":frozen"])
    eq(len(diff["children"]), 1, "phases diff: children paired")
    check(any(s["frames"] for s in diff["sites"]), f"phases diff: a site with frames: {diff}")
    return rep, diff, d


def exclusive_run(opts, tmp):
    """cow_fixture concurrent 64 20 on the exclusive backend: three children, copies unknown
    (null), unshared pages known."""
    d = run(opts, tmp, "exclusive", [opts.cow_fixture, "concurrent", "64", "20"], interval=10,
            extra=["--backend", "exclusive"])
    rep = cowscope_json(opts.cowscope, "report", [d])
    c = kids(rep)
    eq(len(c), 3, "exclusive: children")
    eq([p["child_copied_pages"] for p in c], [None] * 3, "exclusive: child-copied unknown")
    check(all(p["unshared_pages"] >= 20 for p in c), f"exclusive: unshared {c}")
    return rep, d


def killed_run(opts, tmp):
    """cow_fixture child-writes 64 37 sigkill, sampled from outside: a child killed by SIGKILL."""
    d = run(opts, tmp, "killed", [opts.cow_fixture, "child-writes", "64", "37", "sigkill"],
            interval=20)
    rep = cowscope_json(opts.cowscope, "report", [d])
    c = kids(rep)
    eq([(p["ended"], p["signal"], p["complete"]) for p in c], [("signal", 9, False)],
       "killed: how the child ended")
    check(isinstance(c[0]["incomplete_reason"], str), f"killed: a reason {c[0]}")
    return rep, d


def unknown_run(opts, tmp):
    """cow_fixture child-writes 64 37 exit under --no-parent-unshared, every allocation recorded:
    parent-unshared null with its note, and exact mode's compaction note (format 1.7)."""
    d = run(opts, tmp, "no-parent-unshared", [opts.cow_fixture, "child-writes", "64", "37",
                                              "exit"],
            extra=["--no-parent-unshared", "--sample-bytes", "1"])
    rep = cowscope_json(opts.cowscope, "report", [d])
    c = kids(rep)
    eq([p["parent_unshared_pages"] for p in c], [None], "no-parent-unshared: parent-unshared")
    eq(max(m["child_copied_pages"] for m in c[0]["mappings"]), 37,
       "no-parent-unshared: the region's child-copied pages, exact")
    eq([(s["child_copied_pages"], s["parent_unshared_pages"]) for s in c[0]["sites"]
        if "map_region" in [f["function"] for f in s["frames"]]], [(37, None)],
       "no-parent-unshared: allocation sites still charged (map_region: 37 copied)")
    codes = [n["code"] for n in c[0]["notes"]]
    eq((codes.count("parent_unshared"), codes.count("compact")), (1, 1),
       f"no-parent-unshared: the two notes ({codes})")
    return rep


def main():
    ap = argparse.ArgumentParser()
    for a in ("--cowscope", "--schema-dir", "--site-fixture", "--phase-fixture", "--cow-fixture"):
        ap.add_argument(a, required=True)
    opts = ap.parse_args()
    v = validators(opts.schema_dir)
    if v is None:
        print("SKIP: python3 cannot import jsonschema (Debian: python3-jsonschema, tools/deps)")
        return SKIP
    report_v, diff_v = v
    tmp = tempfile.mkdtemp(prefix="schematest.")
    try:
        out = problems(report_v, site_run(opts, tmp), "sites report")
        rep, diff, phases = phase_run(opts, tmp)
        out += problems(report_v, rep, "phases report") + problems(diff_v, diff, "phases diff")
        rep, excl = exclusive_run(opts, tmp)
        out += problems(report_v, rep, "exclusive report")
        rep, killed = killed_run(opts, tmp)
        out += problems(report_v, rep, "killed report")
        out += problems(report_v, unknown_run(opts, tmp), "no-parent-unshared report")
        diff = cowscope_json(opts.cowscope, "diff", [excl, killed])
        eq(diff["headline"]["metric"], "unshared", "exclusive vs uffd-wp diff: metric")
        out += problems(diff_v, diff, "exclusive-killed diff")
        diff = cowscope_json(opts.cowscope, "diff", [phases, killed])
        out += problems(diff_v, diff, "phases-killed diff")
        for p in out:
            print("FAIL:", p)
        check(not out, f"{len(out)} validation errors")
    except (Failure, RuntimeError) as e:
        print("FAIL:", e)
        return 1
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print("ok: 5 fresh reports and 3 diffs validated")
    return 0


if __name__ == "__main__":
    sys.exit(main())
