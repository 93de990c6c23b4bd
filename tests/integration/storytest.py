#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Integration driver: the text report tells the run's story (docs/reading-the-report.md).

chain    a pyenv-style chain of shell scripts, each spawning short helpers, execs the fixture,
         which forks one child: the child shows early, the helpers fold into one exact line
workers  four identical workers write 256, 512, 768 and 1024 pages: roles in fork order,
         one group row set (min/median/max), one summed site table
bgsave   the parent rewrites what it shared while its child lives: ranked by parent-unshared
"""
import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

from cstest import SKIP, Failure, Skip, check, eq, verdict

WIDTH = 100  # columns of the default report
ALLOWANCE = 16  # pages a child copies besides the fixture's writes (stack, libc data; cowtest.py)
MIB = 1024 * 1024


def fmt_mib(nbytes):
    """MiB as the report prints them (cs_fmt_mib)."""
    mib = nbytes / MIB
    if mib <= 0:
        return "0"
    if mib < 0.05:
        return "<0.1"
    s = f"{mib:.1f}" if mib < 9.95 else f"{mib:.0f}"
    return s[:-2] if s.endswith(".0") else s


class Run:
    """One `cowscope run` of cmd, with its JSON report."""

    def __init__(self, opts, cmd, env=None):
        self.dir = tempfile.mkdtemp(prefix="storytest.")
        self.out = os.path.join(self.dir, "run")
        self.info = os.path.join(self.dir, "info")
        self.cowscope = opts.cowscope
        e = dict(os.environ, STORY_INFO=self.info, **(env or {}))
        p = subprocess.run([opts.cowscope, "run", "-q", "-o", self.out, "--"] + cmd, env=e,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120)
        if p.returncode == 4 and b"not usable" in p.stderr:
            raise Skip(p.stderr.decode().strip())
        eq(p.returncode, 0, f"cowscope run ({p.stderr.decode().strip()})")
        self.json = json.loads(self.report("--format", "json"))

    def report(self, *args):
        p = subprocess.run([self.cowscope, "report", *args, self.out], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=120)
        eq(p.returncode, 0, f"cowscope report {' '.join(args)} ({p.stderr.decode().strip()})")
        return p.stdout.decode()

    def fork_order(self):
        with open(self.info) as f:
            return [int(x) for x in f.read().split()]

    def children(self):
        return [p for p in self.json["processes"] if p["role"] == "child"]

    def cleanup(self):
        shutil.rmtree(self.dir, ignore_errors=True)


def check_width(text, what):
    for n, line in enumerate(text.splitlines(), 1):
        check(len(line) <= WIDTH, f"{what}: line {n} has {len(line)} columns: {line!r}")


def folded_count(children):
    """Children the story folds: below max(1 MiB, 1% of the largest) shared-at-fork and new."""
    def weight(p):
        if p["shared_at_fork_pages"] is None or p["child_new_pages"] is None:
            return None
        return max(p["shared_at_fork_pages"], p["child_new_pages"]) * p["page_size"]

    ws = [weight(p) for p in children]
    largest = max([w for w in ws if w is not None] or [0])
    threshold = 0 if largest < MIB else max(MIB, largest / 100)
    if not threshold:
        return 0
    return sum(1 for w in ws if w is None or w < threshold)


def t_chain(opts):
    """Three scripts exec into each other, spawning helpers; the real child shows early."""
    d = tempfile.mkdtemp(prefix="storychain.")
    scripts = {
        "a.sh": f'v=$(basename "$0")\nexec sh {d}/b.sh "$@"\n',
        "b.sh": f'n=$(basename "$0")\nr=$(readlink -f "$0")\nv=$(basename "$r")\n'
                f'exec sh {d}/c.sh "$@"\n',
        "c.sh": f'x=$(basename "$0")\ny=$(readlink -f "$0")\nz=$(dirname "$y")\n'
                f'exec {opts.fixture} one\n',
    }
    for name, body in scripts.items():
        with open(os.path.join(d, name), "w") as f:
            f.write("#!/bin/sh\n" + body)
    run = Run(opts, ["sh", os.path.join(d, "a.sh")])
    try:
        kids = run.children()
        real = [p for p in kids if p["cmd"] and "story_fixture one" in p["cmd"]]
        eq(len(real), 1, "the fixture's one child in the JSON report")
        eq(run.fork_order(), [real[0]["pid"]], "the fixture's child pid")
        text = run.report()
        head = text.splitlines()[:30]
        check(any(re.search(rf"\b{real[0]['pid']} child 1 of 1\b", line) for line in head),
              f"child {real[0]['pid']} and its role within the first 30 lines:\n" +
              "\n".join(head))
        n = folded_count(kids)
        check(n >= 5, f"the helpers folded: {n} (want at least basename and readlink)")
        check(f"\n  {n} more process{'es' if n > 1 else ''} (" in text,
              f"the fold line names {n} processes:\n{text}")
        check("via 3 execs (sh" in text, f"the exec chain collapsed to its last image:\n{text}")
        check_width(text, "default report")
        full = run.report("--all")
        for p in run.json["processes"]:
            check(re.search(rf"\b{p['pid']}\b", full), f"--all shows pid {p['pid']}")
        check(" more processes (" not in full, "--all folds nothing")
        check(re.search(r"\n\d+ more parents? of folded processes only", text),
              "the bill folds the parents of folded helpers")
        check("of folded processes only" not in full, "--all bills every parent")
    finally:
        run.cleanup()
        shutil.rmtree(d, ignore_errors=True)


def group_row(text, what):
    rows = [line.split() for line in text.splitlines() if line.startswith(f"    {what} ")]
    eq(len(rows), 1, f"one '{what}' row")
    return rows[0]


def t_workers(opts):
    """Four identical workers: one group in the tables, roles in fork order, exact spreads."""
    run = Run(opts, [opts.fixture, "workers"])
    try:
        order = run.fork_order()
        eq(len(order), 4, "workers forked")
        kids = {p["pid"]: p for p in run.children()}
        eq(sorted(kids), sorted(order), "the workers in the JSON report")
        copied = []
        for k, pid in enumerate(order, 1):
            c = kids[pid]["child_copied_pages"]
            check(256 * k <= c <= 256 * k + ALLOWANCE,
                  f"worker {k} copied {c} pages (want {256 * k} + at most {ALLOWANCE})")
            copied.append(c)
        text = run.report()
        for k, pid in enumerate(order, 1):
            check(re.search(rf"\n +{pid} worker {k} of 4 ", text), f"pid {pid} is worker {k} of 4")
        ps = kids[order[0]]["page_size"]
        for what, exact, got in (("min", 256, min(copied)), ("median", 640, sorted(copied)[1:3]),
                                 ("max", 1024, max(copied))):
            got = sum(got) / 2 if isinstance(got, list) else got
            row = group_row(text, what)
            eq(row[2], fmt_mib(got * ps), f"the group's {what} copied (MiB)")
            eq(row[2], fmt_mib(exact * ps), f"the group's {what} copied: {exact} pages")
        heads = [line for line in text.splitlines() if "allocation sites by" in line]
        eq(len(heads), 1, "site-table headers in the default report")
        check("summed over the 4 workers of" in heads[0], f"the one table is the group's: {heads}")
        check(not re.search(r"\n  pid \d+ \(worker \d of 4\):\n", text), "no site table per worker")
        check_width(text, "default report")
        per = run.report("--per-process")
        tables = re.findall(r"\n  pid (\d+) \(worker (\d) of 4\):\n", per)
        eq(sorted(int(p) for p, _ in tables), sorted(order), "--per-process: a site table each")
    finally:
        run.cleanup()


def first_site(text, what):
    """The first site table's header and its first row's innermost frame."""
    lines = text.splitlines()
    at = [i for i, line in enumerate(lines) if "allocation sites by" in line]
    check(at, f"{what}: a site table")
    for i in range(at[0], len(lines) - 1):
        col = lines[i].find("ALLOCATION SITE")
        if col >= 0:
            return lines[at[0]], lines[i + 1][col:]
    raise Failure(f"{what}: no site row")


def t_bgsave(opts):
    """The parent unshares what it shared: the report ranks by parent-unshared by default."""
    run = Run(opts, [opts.fixture, "bgsave"])
    try:
        (kid,) = run.children()
        ps = kid["page_size"]
        check(kid["parent_unshared_pages"] * ps >= 15 * MIB, "the parent rewrote its dataset")
        check(64 <= kid["child_copied_pages"] <= 64 + ALLOWANCE, "the child wrote 64 pages")
        text = run.report()
        check("children (MiB, ranked by parent-unshared;" in text, "children ranked by parent-unshared")
        check("top 5 mappings by parent-unshared pages" in text, "mappings ranked by parent-unshared")
        head, frame = first_site(text, "default")
        check("by parent-unshared MiB" in head, f"sites ranked by parent-unshared: {head}")
        check(frame.startswith("load_dataset "), f"first site is the parent-written one: {frame}")
        check(f"the parent unshared {fmt_mib(kid['parent_unshared_pages'] * ps)} MiB while the "
              "child lived" in " ".join(text.split()), "the verdict says what dominates")
        check_width(text, "default report")
        text = run.report("--sort", "copied")
        head, frame = first_site(text, "--sort copied")
        check("by copied MiB" in head, f"--sort copied: {head}")
        check(frame.startswith("load_buffers "), f"--sort copied: first site {frame}")
    finally:
        run.cleanup()


TESTS = {"chain": t_chain, "workers": t_workers, "bgsave": t_bgsave}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cowscope", required=True)
    ap.add_argument("--fixture", required=True)
    ap.add_argument("test", choices=sorted(TESTS))
    a = ap.parse_args()
    a.cowscope, a.fixture = os.path.abspath(a.cowscope), os.path.abspath(a.fixture)
    return verdict(a.test, TESTS[a.test], a)


if __name__ == "__main__":
    sys.exit(main())
