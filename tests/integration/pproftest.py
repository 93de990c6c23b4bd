#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Integration driver for `report --format pprof`, read back by a real consumer: go tool pprof."""
import argparse
import json
import math
import os
import pty
import re
import shutil
import subprocess
import sys
import tempfile

from cstest import SKIP, Failure, Skip, check, eq, verdict

TMP = tempfile.mkdtemp(prefix="pproftest.")


def go_env():
    """go works with no home: HOME, GOCACHE and GOPATH in the test's own directory."""
    e = dict(os.environ)
    for k in ("HOME", "GOCACHE", "GOPATH"):
        e[k] = os.path.join(TMP, "go-" + k.lower())
        os.makedirs(e[k], exist_ok=True)
    return e


def pprof(opts, *args):
    """go tool pprof ARGS: its standard output as text."""
    p = subprocess.run([opts.go, "tool", "pprof", *args], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=300, env=go_env())
    check(p.returncode == 0, f"go tool pprof {' '.join(args)} exited {p.returncode}: "
          f"{p.stderr.decode()}")
    return p.stdout.decode()


def cowscope_run(opts, name, cmd, *run_opts):
    out = os.path.join(TMP, name)
    p = subprocess.run([opts.cowscope, "run", "-q", "-o", out, "--interval", "0", *run_opts,
                        "--", *cmd], stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=300)
    check(p.returncode == 0, f"{name}: run exited {p.returncode}: {p.stderr.decode()}")
    return out


def report(opts, run, fmt, *extra):
    """report --format fmt: JSON decoded, pprof written to RUN.pb.gz (its path returned)."""
    path = run + ".pb.gz"
    with open(path, "wb") if fmt == "pprof" else open(os.devnull, "wb") as sink:
        r = subprocess.run([opts.cowscope, "report", "--format", fmt, *extra, run],
                           stdout=sink if fmt == "pprof" else subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=300)
    check(r.returncode == 0, f"report --format {fmt} exited {r.returncode}: {r.stderr.decode()}")
    return path if fmt == "pprof" else json.loads(r.stdout)


LOC = re.compile(r"^\s+(\d+): 0x([0-9a-f]+)(?: M=(\d+))?\s?(.*)$")
LINE = re.compile(r"^(?:(.*) )?(\S*):(-?\d+) s=\d+(?:\((.*)\))?$")


def line_function(text):
    """The function of a -raw location line: the full (system) name when pprof shortened it;
    None for a line with a file but no function name."""
    m = LINE.match(text.strip())
    check(m, f"a location line: {text!r}")
    return m.group(4) or m.group(1) or None


def parse_raw(text):
    """go tool pprof -raw: (sample types, samples as (values, labels, location ids), locations
    as id -> list of functions innermost first, None for a location without lines)."""
    lines = text.splitlines()
    i = lines.index("Samples:") + 1
    types = lines[i].replace("[dflt]", "").split()
    samples, locs = [], {}
    i += 1
    while not lines[i].startswith("Locations"):
        vals, ids = lines[i].split(":")
        s = ([int(v) for v in vals.split()], {}, [int(x) for x in ids.split()])
        i += 1
        while i < len(lines) and re.match(r"^\s+\w+:\[", lines[i]):
            for k, v in re.findall(r"(\w+):\[([^\]]*)\]", lines[i]):
                s[1][k] = v
            i += 1
        samples.append(s)
    i += 1
    cur = None
    while i < len(lines) and not lines[i].startswith("Mappings"):
        m = LOC.match(lines[i])
        if m:
            cur = int(m.group(1))
            locs[cur] = [line_function(m.group(4))] if m.group(4).strip() else []
        else:
            locs[cur].append(line_function(lines[i]))
        i += 1
    return types, samples, locs


def stack_key(sample, locs):
    """The functions of a sample's stack, innermost first (None for a location without lines)."""
    return tuple(f for lid in sample[2] for f in (locs[lid] or [None]))


def json_key(site):
    if site["bucket"] is not None:
        return ("[" + site["bucket"] + "]",)
    return tuple(f["function"] for f in site["frames"])


def whole(v):
    """llround for the non-negative page figures: half away from zero (not Python's round)."""
    return 0 if v is None else int(math.floor(v + 0.5))


def by_pid_stack(raw_samples, locs, col):
    got = {}
    for s in raw_samples:
        k = (int(s[1]["pid"]), stack_key(s, locs))
        got[k] = got.get(k, 0) + s[0][col]
    return got


def json_by_pid_stack(rep, key="child_copied_pages"):
    want = {}
    for p in rep["processes"]:
        for s in p["sites"]:
            k = (p["pid"], json_key(s))
            want[k] = want.get(k, 0) + whole(s[key])
    return want


def nonzero(d):
    return {k: v for k, v in d.items() if v}


def compare_sites(opts, run):
    """Every (pid, stack)'s pprof values are the JSON report's rounded site figures."""
    rep, pb = report(opts, run, "json"), report(opts, run, "pprof")
    types, samples, locs = parse_raw(pprof(opts, "-raw", pb))
    want_types = ["copied/pages", "unshared/pages", "parent_unshared/pages"]
    if rep["processes"] and "changed_bytes" in rep["totals"] and any(
            s.get("changed_bytes") is not None for p in rep["processes"] for s in p["sites"]):
        want_types.append("changed/bytes")
    eq(types, want_types, "sample types")
    check(samples, "some samples")
    for s in samples:
        check("pid" in s[1] and "role" in s[1] and "program" in s[1], f"labels: {s[1]}")
    roles = {p["pid"]: p for p in rep["processes"]}
    for s in samples:
        check(int(s[1]["pid"]) in roles, f"pid {s[1]['pid']} in the JSON report")
    for col, key in enumerate(["child_copied_pages", "unshared_pages", "parent_unshared_pages"]):
        got, want = by_pid_stack(samples, locs, col), json_by_pid_stack(rep, key)
        eq(nonzero(got), nonzero(want), f"{key} per (pid, stack)")
    total = sum(s[0][0] for s in samples)
    eq(total, sum(json_by_pid_stack(rep).values()), "total copied pages")
    return rep, pb, total


def test_sites(opts):
    """three-sites: load_sessions' 64 pages copied, and every site as the JSON report has it."""
    run = cowscope_run(opts, "sites", [opts.site_fixture, "three-sites"])
    rep, pb, total = compare_sites(opts, run)
    top = pprof(opts, "-top", pb)
    check("Type: copied" in top, f"default sample type copied:\n{top}")
    check(re.search(rf"accounting for {total}pages, 100% of {total}pages total", top),
          f"-top's total is {total} pages:\n{top}")
    check(re.search(r"^\s+64pages\s.*\sblock$", top, re.M), f"block's 64 pages in -top:\n{top}")
    raw = pprof(opts, "-raw", pb)
    check("role:[child 1 of 1]" in raw and "program:[site_fixture]" in raw, f"labels:\n{raw}")
    check(re.search(r"^\d+: 0x[0-9a-f]+/0x[0-9a-f]+/0x[0-9a-f]+ \S*site_fixture [0-9a-f]{40}",
                    raw, re.M), f"the fixture's mapping with its build-id:\n{raw}")


def diff_top_site(opts, before, after):
    """(innermost function, child-copied delta) of `cowscope diff`'s top allocation site."""
    p = subprocess.run([opts.cowscope, "diff", "--format", "json", before, after],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=300)
    check(p.returncode == 0, f"diff exited {p.returncode}: {p.stderr.decode()}")
    sites = [s for s in json.loads(p.stdout)["sites"] if s["bucket"] is None]
    check(sites, "diff lists an allocation site")
    return sites[0]["frames"][0]["function"], sites[0]["delta"]["child_copied_pages"]


def test_diff_base(opts):
    """Workers writing 4 pages, then 16: -diff_base shows the diff's delta for the top site."""
    before = cowscope_run(opts, "before", [opts.phase_fixture, "64", "4", "4"])
    after = cowscope_run(opts, "after", [opts.phase_fixture, "64", "16", "16"])
    fn, delta = diff_top_site(opts, before, after)
    eq((fn, delta), ("map_region", 24), "diff's top site and its delta (2 workers x 12 pages)")
    top = pprof(opts, "-top", "-diff_base", report(opts, before, "pprof"),
                report(opts, after, "pprof"))
    m = re.search(rf"^\s+(-?\d+)pages\s.*\s{fn}(?: \(inline\))?$", top, re.M)
    check(m, f"{fn} in -top -diff_base:\n{top}")
    eq(int(m.group(1)), delta, f"{fn}'s difference in pages")


def test_no_sites(opts):
    """--sample-bytes 0: buckets only, still a valid profile that pprof reads, values as JSON."""
    run = cowscope_run(opts, "nosites", [opts.site_fixture, "three-sites"], "--sample-bytes", "0")
    rep, pb, total = compare_sites(opts, run)
    _, samples, locs = parse_raw(pprof(opts, "-raw", pb))
    for s in samples:
        k = stack_key(s, locs)
        check(len(k) == 1 and k[0].startswith("["), f"a bucket's single frame: {k}")
    heap = [s[0][0] for s in samples if stack_key(s, locs) == ("[heap (allocation tracking off)]",)]
    eq(heap, [64], "the heap bucket's copied pages")
    check(total >= 64, f"total {total}")


def test_tty(opts):
    """A terminal as standard output: refused with exit 2, nothing binary written to it."""
    run = cowscope_run(opts, "tty", [opts.site_fixture, "three-sites"])
    master, slave = pty.openpty()
    try:
        p = subprocess.run([opts.cowscope, "report", "--format", "pprof", run], stdout=slave,
                           stderr=subprocess.PIPE, timeout=300)
    finally:
        os.close(slave)
        os.close(master)
    eq(p.returncode, 2, "exit status on a terminal")
    check("pprof output is binary: redirect it to a file" in p.stderr.decode(),
          f"message: {p.stderr.decode()}")


def test_writers(opts):
    """--by writer: one sample type, each (pid, writer stack) as the JSON report's writers."""
    run = cowscope_run(opts, "writers", [opts.writer_fixture, "two-writers"], "--writers")
    rep = report(opts, run, "json")
    kids = [p for p in rep["processes"] if p.get("writers")]
    if not kids:
        raise Skip("no writer samples (perf page-fault sampling unavailable here)")
    pb = report(opts, run, "pprof", "--by", "writer")
    types, samples, locs = parse_raw(pprof(opts, "-raw", pb))
    eq(types, ["copied/pages"], "sample types")
    want = {}
    for p in kids:
        for w in p["writers"]:
            k = (p["pid"], json_key(w))
            want[k] = want.get(k, 0) + whole(w["child_copied_pages"])
    eq(nonzero(by_pid_stack(samples, locs, 0)), nonzero(want), "copied pages per writer")
    top = pprof(opts, "-top", pb)
    check(re.search(r"^\s+40pages\s.*\swrite_even$", top, re.M), f"write_even's 40:\n{top}")


TESTS = {"sites": test_sites, "diff-base": test_diff_base, "no-sites": test_no_sites,
         "tty": test_tty, "writers": test_writers}


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--cowscope", required=True)
    ap.add_argument("--site-fixture", required=True)
    ap.add_argument("--phase-fixture", required=True)
    ap.add_argument("--writer-fixture", required=True)
    ap.add_argument("--go", default=shutil.which("go") or "/usr/lib/go-1.19/bin/go")
    ap.add_argument("test", choices=sorted(TESTS))
    opts = ap.parse_args()
    if opts.test != "tty" and not os.access(opts.go, os.X_OK):
        print(f"SKIP {opts.test}: go not found (tools/deps installs golang-go)")
        return SKIP
    try:
        return verdict(opts.test, TESTS[opts.test], opts)
    finally:
        shutil.rmtree(TMP, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
