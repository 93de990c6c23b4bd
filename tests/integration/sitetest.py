#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Integration driver for allocation sites: which allocations own the copied pages."""
import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

from cstest import SKIP, Failure, check, eq


def run(opts, fixture, scenario, sample_bytes=None, fmt="json"):
    """cowscope run the fixture, then return (report, text or folded output)."""
    d = tempfile.mkdtemp(prefix="sitetest.")
    out = os.path.join(d, "run")
    extra = ["--sample-bytes", str(sample_bytes)] if sample_bytes is not None else []
    p = subprocess.run([opts.cowscope, "run", "-q", "-o", out, "--interval", "0"] + extra +
                       ["--", fixture, scenario], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=300)
    check(p.returncode == 0, f"{scenario}: run exited {p.returncode}: {p.stderr.decode()}")
    rep = report(opts, out, "json")
    other = report(opts, out, fmt) if fmt != "json" else None
    shutil.rmtree(d, ignore_errors=True)
    return rep, other


def report(opts, out, fmt):
    r = subprocess.run([opts.cowscope, "report", "--format", fmt, "--top", "20", out],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=300)
    check(r.returncode == 0, f"report --format {fmt} exited {r.returncode}: {r.stderr.decode()}")
    return json.loads(r.stdout) if fmt == "json" else r.stdout.decode()


def child(rep):
    kids = [p for p in rep["processes"] if p["role"] == "child"]
    eq(len(kids), 1, "one child")
    return kids[0]


def functions(site):
    return [f.get("function") for f in site["frames"]]


def site_of(proc, function):
    """The site whose stack has `function` in it (exactly one)."""
    got = [s for s in proc["sites"] if function in functions(s)]
    check(len(got) <= 1, f"one site through {function}: {len(got)}")
    return got[0] if got else None


def pages_through(proc, function):
    """Child-copied pages of every site whose stack passes through `function`."""
    return sum(s["child_copied_pages"] for s in proc["sites"] if function in functions(s))


def test_three_sites(opts):
    """Exact mode: only the sessions' 64 pages were written, and only load_sessions owns copies."""
    rep, _ = run(opts, opts.fixture, "three-sites", sample_bytes=1)
    c = child(rep)
    s = site_of(c, "load_sessions")
    check(s is not None, "a site through load_sessions")
    eq(s["child_copied_pages"], 64, "load_sessions child_copied_pages")
    for other in ("load_config", "load_cache"):
        o = site_of(c, other)
        check(o is None or o["child_copied_pages"] == 0, f"{other} owns no copies: {o}")
    eq(s["samples"], 64, "every block recorded in exact mode")


def test_frees(opts):
    """The child frees 400 inherited 1000-byte objects: their pages go to their site, from free."""
    rep, text = run(opts, opts.fixture, "frees", sample_bytes=1, fmt="text")
    c = child(rep)
    s = site_of(c, "load_objects")
    check(s is not None, "a site through load_objects")
    got = s["child_copied_pages"]
    # 400 x 1016 bytes span about 100 pages. glibc puts 7 in its tcache and merges the rest
    # into one growing free chunk, writing its header and footer as it goes: about a third of
    # the pages (33.6 here). The point: they are the objects' pages, charged to their site.
    check(20 <= got <= 101, f"free() copied the objects' pages: {got}")
    top = max((x for x in c["sites"] if not x.get("bucket")), key=lambda x: x["child_copied_pages"])
    check(top is s, "load_objects is the top site")
    check(abs(s["freed_in_child_pages"] - got) < 1e-6, f"all of them freed in the child: {s}")
    check("load_objects" in text and "freed in the child" in text,
          "the text report says the copies come from free")


def test_five_sites(opts):
    """Default sampling on 320 MiB in five sites: each estimate within 10% of the exact figure."""
    exact, _ = run(opts, opts.fixture, "five-sites", sample_bytes=1)
    sampled, _ = run(opts, opts.fixture, "five-sites")
    names = ["site_tiny", "site_small", "site_medium", "site_large", "site_mixed"]
    e, s = child(exact), child(sampled)
    check(s["sampling"]["mean_bytes"] > 1, "the second run sampled")
    for n in names:
        truth, est = pages_through(e, n), pages_through(s, n)
        check(truth > 10000, f"{n}: exact run charged it {truth} pages")
        err = est / truth - 1
        print(f"{n}: exact {truth:.0f} pages, sampled {est:.0f} ({err:+.1%})")
        check(abs(err) <= 0.10, f"{n}: estimate off by {err:+.1%}")


def test_arena(opts):
    """An anonymous mmap arena from make_arena: the 100 pages the child wrote are its."""
    rep, _ = run(opts, opts.fixture, "arena")
    s = site_of(child(rep), "make_arena")
    check(s is not None, "a site through make_arena")
    eq(round(s["child_copied_pages"], 6), 100, "make_arena child_copied_pages")


def test_symbols(opts):
    """-g build: function names and file:line; the caller of posix_memalign is block()."""
    rep, folded = run(opts, opts.fixture, "three-sites", sample_bytes=1, fmt="folded")
    s = site_of(child(rep), "load_sessions")
    src = open(opts.source).read().splitlines()
    line = 1 + next(i for i, t in enumerate(src) if "posix_memalign(&p" in t)
    inner = [f for f in s["frames"] if f.get("function") == "block"]
    check(inner, f"a frame in block(): {s['frames']}")
    check((inner[0].get("file") or "").endswith("site_fixture.c"), f"file of block(): {inner[0]}")
    eq(inner[0].get("line"), line, "line of the posix_memalign call")
    lines = [l for l in folded.splitlines() if "load_sessions" in l]
    eq(len(lines), 1, "one folded line through load_sessions")
    check(re.match(r"^[^ ]+ 64$", lines[0]) is not None, f"folded line: {lines[0]!r}")
    check(lines[0].split(" ")[0].split(";").index("load_sessions") <
          lines[0].split(" ")[0].split(";").index("block"), "folded frames outermost first")


def test_stripped(opts):
    """Stripped binary: no function names from it, module and offset instead."""
    rep, _ = run(opts, opts.stripped, "three-sites", sample_bytes=1)
    c = child(rep)
    mod = os.path.basename(opts.stripped)
    top = [s for s in c["sites"] if s["child_copied_pages"] == 64]
    eq(len(top), 1, "one site with the 64 copied pages")
    own = [f for f in top[0]["frames"] if f.get("module") == mod]
    check(own, f"frames in {mod}: {top[0]['frames']}")
    for f in own:
        eq(f.get("function"), None, "no function name in a stripped module")
        check(isinstance(f.get("offset"), int) and f["offset"] > 0, f"offset given: {f}")


TESTS = {
    "three-sites": test_three_sites,
    "frees": test_frees,
    "five-sites": test_five_sites,
    "arena": test_arena,
    "symbols": test_symbols,
    "stripped": test_stripped,
}


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    for a in ("--cowscope", "--fixture", "--stripped", "--source"):
        ap.add_argument(a, required=True)
    ap.add_argument("test", choices=sorted(TESTS))
    opts = ap.parse_args()
    try:
        TESTS[opts.test](opts)
    except Failure as e:
        print(f"FAIL {opts.test}: {e}")
        return 1
    print(f"ok {opts.test}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
