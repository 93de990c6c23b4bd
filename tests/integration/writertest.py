#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Integration driver for writers: which code wrote the copied pages (docs/writers.md)."""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile

from cstest import Failure, Skip, check, eq, verdict

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "golden"))
from check_schema import problems, validators  # noqa: E402

BUCKET = ("copies no user-space sample saw (kernel writes such as read() into a buffer, "
          "or before tracking started)")


def run(opts, scenario, *args, env=None, fmt=None, run_opts=()):
    """cowscope run --writers the fixture; (report, other format's output or None)."""
    d = tempfile.mkdtemp(prefix="writertest.")
    out = os.path.join(d, "run")
    e = dict(os.environ, **(env or {}))
    try:
        p = subprocess.run([opts.cowscope, "run", "-q", "--writers", "-o", out, "--interval",
                            "0", *run_opts, "--", opts.fixture, scenario] + list(args),
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=300, env=e)
        check(p.returncode == 0, f"{scenario}: run exited {p.returncode}: {p.stderr.decode()}")
        rep = report(opts, out, "json")
        return rep, (report(opts, out, fmt) if fmt else None)
    finally:
        shutil.rmtree(d, ignore_errors=True)


def report(opts, out, fmt, *extra):
    r = subprocess.run([opts.cowscope, "report", "--format", fmt, "--top", "20"] + list(extra) +
                       [out], stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=300)
    check(r.returncode == 0, f"report --format {fmt} exited {r.returncode}: {r.stderr.decode()}")
    return json.loads(r.stdout) if fmt == "json" else r.stdout.decode()


def child(rep):
    """The one child, or Skip when its writer sampling was refused (the note says why)."""
    kids = [p for p in rep["processes"] if p["role"] == "child"]
    eq(len(kids), 1, "one child")
    c = kids[0]
    if c["writer_samples"] is None:
        why = [n["text"] for n in c["notes"] if n["code"] == "writers"]
        raise Skip(why[0] if why else "no writer samples recorded")
    return c


def writer(proc, function):
    """The writer whose innermost frame is `function` (exactly one), or None."""
    got = [w for w in proc["writers"] if w["frames"] and w["frames"][0]["function"] == function]
    check(len(got) <= 1, f"one writer at {function}: {len(got)}")
    return got[0] if got else None


def owner_functions(w):
    return {f["function"] for o in w["owner_sites"] for f in o["frames"][:1] if o["pages"] > 0}


def adds_up(c):
    total = sum(w["child_copied_pages"] for w in c["writers"])
    eq(total, c["child_copied_pages"], "writers and the bucket add up to child_copied_pages")


def test_two_writers(opts):
    """write_even copied exactly pages 0..39 and write_odd 40..69, both of make_region's region."""
    rep, _ = run(opts, "two-writers")
    c = child(rep)
    even, odd = writer(c, "write_even"), writer(c, "write_odd")
    check(even and odd, f"both writers: {[w['frames'][:1] for w in c['writers']]}")
    eq(even["child_copied_pages"], 40, "write_even pages")
    eq(odd["child_copied_pages"], 30, "write_odd pages")
    for w in (even, odd):
        eq(len(w["owner_sites"]), 1, "one owner site")
        eq(w["owner_sites"][0]["frames"][0]["function"], "make_region", "owner")
        eq(w["owner_sites"][0]["pages"], w["child_copied_pages"], "owner pages")
    eq(c["writer_samples_lost"], 0, "no samples lost")
    adds_up(c)
    g = rep["sibling_groups"][0]
    eq([w["child_copied_pages"] for w in g["writers"]], [w["child_copied_pages"] for w in
                                                        c["writers"]], "the group's writers")
    v = validators(opts.schema_dir)
    if v:  # python3-jsonschema is in tools/deps; without it the exact checks above still ran
        out = problems(v[0], rep, "writers report")
        check(not out, "\n".join(out))


def test_read_buffer(opts):
    """read() into 24 shared pages: the kernel's bucket, not user code; write_even's 10 stay its."""
    d = tempfile.mkdtemp(prefix="writertest.")
    try:
        path = os.path.join(d, "data")
        with open(path, "wb") as f:
            f.write(b"x" * (os.sysconf("SC_PAGE_SIZE") * 24))
        rep, _ = run(opts, "read-buffer", path)
    finally:
        shutil.rmtree(d, ignore_errors=True)
    c = child(rep)
    even = writer(c, "write_even")
    check(even is not None, "a writer at write_even")
    eq(even["child_copied_pages"], 10, "write_even pages")
    b = [w for w in c["writers"] if w["bucket"] == BUCKET]
    eq(len(b), 1, "one kernel-write bucket")
    region = sum(o["pages"] for o in b[0]["owner_sites"]
                 if o["frames"] and o["frames"][0]["function"] == "make_region")
    eq(region, 24, "make_region's pages in the bucket (the read() buffer)")
    for w in c["writers"]:
        if w["bucket"] is None and w is not even:
            check("make_region" not in owner_functions(w), f"no other code wrote the region: {w}")
    adds_up(c)


def test_thread(opts):
    """A thread created after the fork wrote 50 pages: attributed to write_odd."""
    rep, _ = run(opts, "thread")
    c = child(rep)
    odd = writer(c, "write_odd")
    check(odd is not None, "a writer at write_odd")
    eq(odd["child_copied_pages"], 50, "write_odd pages (from the new thread)")
    eq(owner_functions(odd), {"make_region"}, "owner")
    adds_up(c)


def test_lost(opts):
    """An 8 KiB ring and 4096 first touches before a snapshot drains it: samples lost, counted."""
    rep, _ = run(opts, "many", env={"COWSCOPE_WRITERS_BUFFER": "8k"})
    c = child(rep)
    check(c["writer_samples_lost"] > 0, f"samples lost: {c['writer_samples_lost']}")
    check(c["writer_samples"] + c["writer_samples_lost"] >= 4096 + 96,
          f"samples + lost cover the faults: {c['writer_samples']} + {c['writer_samples_lost']}")
    adds_up(c)


def test_text(opts):
    """The text report names the writers with the allocation sites owning their pages."""
    rep, text = run(opts, "two-writers", fmt="text")
    child(rep)
    check("writers by pages copied" in text, "a writers section")
    check("write_even wrote into objects allocated at make_region: 40 pages" in text,
          f"write_even's line:\n{text}")


def record(opts, d, scenario):
    """cowscope run --writers the fixture into d/scenario; the run directory."""
    out = os.path.join(d, scenario)
    p = subprocess.run([opts.cowscope, "run", "-q", "--writers", "-o", out, "--interval", "0",
                        "--", opts.fixture, scenario], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=300)
    check(p.returncode == 0, f"{scenario}: run exited {p.returncode}: {p.stderr.decode()}")
    child(report(opts, out, "json"))
    return out


def test_folded_and_diff(opts):
    """--format folded --by writer weighs write_even 40 and write_odd 30; a diff against the
    thread scenario (write_odd 50 from a new thread, no write_even) gives +20 and -40."""
    d = tempfile.mkdtemp(prefix="writertest.")
    try:
        before, after = record(opts, d, "two-writers"), record(opts, d, "thread")
        folded = report(opts, before, "folded", "--by", "writer")
        leaf = {}
        for line in folded.splitlines():
            stack, n = line.rsplit(" ", 1)
            leaf[stack.split(";")[-1]] = leaf.get(stack.split(";")[-1], 0) + int(n)
        eq((leaf.get("write_even"), leaf.get("write_odd")), (40, 30), "folded by writer")
        p = subprocess.run([opts.cowscope, "diff", "--format", "json", before, after],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=300)
        check(p.returncode == 0, f"diff exited {p.returncode}: {p.stderr.decode()}")
        df = json.loads(p.stdout)
        # Writers match by their whole symbolized chain: write_odd called from main and from
        # the new thread's start routine are two writers, whose changes add up per function.
        delta, later = {}, {}
        for w in df["writers"]:
            if w["frames"]:
                f = w["frames"][0]["function"]
                delta[f] = delta.get(f, 0) + w["delta"]["child_copied_pages"]
                later[f] = later.get(f, 0) + (w["after"] or {}).get("child_copied_pages", 0)
        eq(delta.get("write_odd"), 20, "write_odd: 30 -> 50")
        eq(delta.get("write_even"), -40, "write_even: 40 -> none")
        eq(later.get("write_even"), 0, "write_even only before")
        v = validators(opts.schema_dir)
        if v:
            out = problems(v[1], df, "writers diff")
            check(not out, "\n".join(out))
        text = subprocess.run([opts.cowscope, "diff", before, after], stdout=subprocess.PIPE,
                              timeout=300).stdout.decode()
        check("writers by change in copied MiB" in text, f"the diff's writers table:\n{text}")
    finally:
        shutil.rmtree(d, ignore_errors=True)


def test_dlopen(opts):
    """A library dlopened after start-up, allocation sampling off: its writer is still named
    (the module list is rescanned at dlopen whenever writers need it)."""
    rep, _ = run(opts, "dlopen", os.path.abspath(opts.plugin), run_opts=("--sample-bytes", "0"))
    c = child(rep)
    w = writer(c, "plugin_write")
    check(w is not None, f"a writer named plugin_write: {[x['frames'][:1] for x in c['writers']]}")
    eq(w["child_copied_pages"], 25, "plugin_write pages")
    check("writer_plugin" in w["frames"][0]["module"], f"its module: {w['frames'][0]}")
    adds_up(c)


TESTS = {
    "two-writers": test_two_writers,
    "read-buffer": test_read_buffer,
    "thread": test_thread,
    "lost": test_lost,
    "text": test_text,
    "folded-diff": test_folded_and_diff,
    "dlopen": test_dlopen,
}


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--plugin", default="")
    for a in ("--cowscope", "--fixture", "--schema-dir"):
        ap.add_argument(a, required=True)
    ap.add_argument("test", choices=sorted(TESTS))
    opts = ap.parse_args()
    return verdict(opts.test, TESTS[opts.test], opts)


if __name__ == "__main__":
    sys.exit(main())
