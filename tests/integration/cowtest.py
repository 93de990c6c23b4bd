#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Integration driver: runs a fixture under `cowscope run` and checks the JSON report exactly."""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile

from cstest import SKIP, Failure, check, eq

N = 256  # pages the fixture maps and writes before forking
# Pages a child copies besides the fixture's region: its stack top, libc/ld.so
# data (stdio, locks reset after fork, errno/TLS), the fixture's .data/.bss and
# heap pages touched at exit. Measured 3-9 on this machine; 16 leaves room for
# other libc builds without hiding a miscount of the region (K >= 20 here).
ALLOWANCE = 16


class Run:
    """One `cowscope run` of the fixture, with its report."""

    def __init__(self, opts, args, interval=100, env=None, flags=()):
        self.dir = tempfile.mkdtemp(prefix="cowtest.")
        self.info = os.path.join(self.dir, "info")
        self.out = os.path.join(self.dir, "run")
        e = dict(os.environ, COW_FIXTURE_INFO=self.info, **(env or {}))
        cmd = [opts.cowscope, "run", "-q", "-o", self.out, "--interval", str(interval),
               "--backend", opts.backend, *flags, "--", opts.fixture] + [str(a) for a in args]
        p = subprocess.run(cmd, env=e, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=120)
        self.status, self.stdout, self.stderr = p.returncode, p.stdout, p.stderr
        if p.returncode == 4 and b"not usable" in p.stderr:
            print(p.stderr.decode().strip())
            sys.exit(SKIP)
        with open(self.info) as f:
            lines = [[int(x, 16) for x in line.split()] for line in f if line.strip()]
        (self.start, self.end), self.extra = lines[0], lines[1:]
        r = subprocess.run([opts.cowscope, "report", "--format", "json", self.out],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120)
        check(r.returncode == 0, f"report failed ({r.returncode}): {r.stderr.decode()}")
        self.report = json.loads(r.stdout)

    def cleanup(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def procs(self, role=None):
        return [p for p in self.report["processes"] if role is None or p["role"] == role]

    def children(self):
        return sorted(self.procs("child"), key=lambda p: p["pid"])

    def region(self, proc, start=None):
        """The fixture's mapping (or the one at start) in proc's report."""
        start = self.start if start is None else start
        for m in proc["mappings"]:
            if int(m["start"]) == start:
                return m
        raise Failure(f"pid {proc['pid']}: no mapping at {start:#x}")


def exclusive(opts):
    return opts.backend == "exclusive"


def expect_copied(opts, proc, region, k, what):
    """Region copied exactly k by the child; the process within the allowance."""
    if exclusive(opts):
        eq(region["child_copied_pages"], None, what + " region child_copied (unknowable)")
        eq(region.get("unshared_pages"), k, what + " region unshared")
        return
    eq(region["child_copied_pages"], k, what + " region child_copied")
    eq(region["parent_unshared_pages"], 0, what + " region parent_unshared")
    c = proc["child_copied_pages"]
    check(k <= c <= k + ALLOWANCE, f"{what}: process child_copied {c} not in [{k}, {k + ALLOWANCE}]")


# Ends whose figures can only come from outside samples, and the interval each runs with.
SAMPLED_ENDS = {"sigkill": 20, "parent-sigkill": 10}


def scenario_child_writes(opts, end):
    k = 37
    run = Run(opts, ["child-writes", N, k, end], interval=SAMPLED_ENDS.get(end, 0))
    try:
        kids = run.children()
        eq(len(kids), 1, "children")
        c = kids[0]
        want_end = {"return": "exit", "sigkill": "signal", "api-sigkill": "signal",
                    "parent-sigkill": "signal", "execlp": "exec", "execle": "exec"}.get(end, end)
        eq(c["ended"], want_end, "ended")
        eq(c["complete"], end not in ("sigkill", "api-sigkill", "parent-sigkill"), "complete")
        reg = run.region(c)
        eq(reg["shared_at_fork_pages"], N, "region shared_at_fork")
        expect_copied(opts, c, reg, k, f"child-writes/{end}")
        check(c["shared_at_fork_pages"] >= N, "process shared_at_fork >= N")
        if end in SAMPLED_ENDS:
            check(len(c["timeline"]) >= 2, "a time series of samples")
            check(c["samples"] >= 2 and c["few_samples"] is False,
                  f"sampled at least twice after the writes: {c['samples']}")
            eq(run.report["totals"]["children_measured"], 1, "totals: the child has figures")
            eq(run.report["run"]["interval_ms"], SAMPLED_ENDS[end], "run: interval asked")
            check(run.report["run"]["achieved_interval_ms"] is not None,
                  "run: an interval achieved (the child was sampled twice)")
        if end.startswith("exec"):
            img = [p for p in run.procs() if p["pid"] == c["pid"] and p["gen"] == 1]
            eq(len(img), 1, "the exec'd image appears as gen 1")
            eq(img[0]["ended"], "exit", "exec'd image ended")
        eq(run.status, 0, "cowscope run exit status (the fixture's)")
    finally:
        run.cleanup()


def scenario_parent_writes(opts):
    p = 20
    run = Run(opts, ["parent-writes", N, p], interval=0)
    try:
        c = run.children()[0]
        reg = run.region(c)
        eq(reg["shared_at_fork_pages"], N, "region shared_at_fork")
        if exclusive(opts):
            eq(reg["parent_unshared_pages"], None, "parent_unshared (unknowable)")
            eq(reg["unshared_pages"], p, "region unshared")
        else:
            eq(reg["parent_unshared_pages"], p, "region parent_unshared")
            eq(reg["child_copied_pages"], 0, "region child_copied")
            check(c["child_copied_pages"] <= ALLOWANCE, "process child_copied within allowance")
    finally:
        run.cleanup()


def scenario_no_parent_unshared(opts):
    """--no-parent-unshared: the child's copies exact, the parent's unknown (uffd-wp only)."""
    k, p = 37, 20
    for flags in ((), ("--no-parent-unshared",)):
        off = bool(flags) and opts.backend == "uffd-wp"  # other backends read bit 56 anyway
        run = Run(opts, ["child-writes", N, k, "exit"], interval=0, flags=flags)
        try:
            c = run.children()[0]
            reg = run.region(c)
            eq(reg["shared_at_fork_pages"], N, f"{flags}: region shared_at_fork")
            if off:
                eq(reg["child_copied_pages"], k, f"{flags}: region child_copied")
                eq(reg["parent_unshared_pages"], None, f"{flags}: region parent_unshared")
                eq(c["parent_unshared_pages"], None, "process parent_unshared")
                eq(c["unshared_pages"], None, "process unshared")
                eq(c["share_retained"], None, "process share_retained")
                notes = [n for n in c["notes"] if n["code"] == "parent_unshared"]
                eq(len(notes), 1, f"one note saying why: {c['notes']}")
                check("COWSCOPE_PARENT_UNSHARED=off" in notes[0]["text"], "the note's reason")
                r = subprocess.run([opts.cowscope, "report", run.out], stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, timeout=120)
                text = " ".join(r.stdout.decode().split())  # wrapped at any width
                check("parent_unshared: parent-unshared, unshared and share retained unknown: "
                      "snapshots did not read pagemap bit 56" in text,
                      f"the text report says why: {text}")
            else:
                expect_copied(opts, c, reg, k, f"{flags}child-writes")
        finally:
            run.cleanup()
        run = Run(opts, ["parent-writes", N, p], interval=0, flags=flags)
        try:
            c = run.children()[0]
            reg = run.region(c)
            if off:
                eq(reg["child_copied_pages"], 0, "parent-writes, off: region child_copied")
                eq(reg["parent_unshared_pages"], None, "parent-writes, off: parent_unshared")
                eq(reg["unshared_pages"], None, "parent-writes, off: unshared")
            elif exclusive(opts):
                eq(reg["unshared_pages"], p, f"{flags}: region unshared")
            else:
                eq(reg["parent_unshared_pages"], p, f"{flags}: region parent_unshared")
                eq(reg["child_copied_pages"], 0, f"{flags}: region child_copied")
        finally:
            run.cleanup()


def scenario_child_new(opts):
    m = 50
    run = Run(opts, ["child-new", N, m], interval=0)
    try:
        c = run.children()[0]
        reg = run.region(c)
        eq(reg["child_new_pages"], 0, "region child_new")
        if not exclusive(opts):
            eq(reg["child_copied_pages"], 0, "region child_copied")
        new = [x for x in c["mappings"] if x["child_new_pages"] == m]
        check(len(new) == 1, f"one mapping with exactly {m} child-new pages: {c['mappings']}")
        eq(new[0]["shared_at_fork_pages"], 0, "the new mapping was not shared")
        n = c["child_new_pages"]
        check(m <= n <= m + ALLOWANCE, f"process child_new {n} not in [{m}, {m + ALLOWANCE}]")
    finally:
        run.cleanup()


def scenario_shared(opts):
    run = Run(opts, ["shared", 64, 10, "exit"], interval=0)
    try:
        c = run.children()[0]
        reg = run.region(c)
        eq(reg["kind"], "shared", "region kind")
        eq(reg["shared_at_fork_pages"], 0, "MAP_SHARED pages are not COW-shared")
        eq(reg["child_copied_pages"], 0, "MAP_SHARED never copied")
        if not exclusive(opts):
            check(c["child_copied_pages"] <= ALLOWANCE, "process child_copied within allowance")
    finally:
        run.cleanup()


def scenario_grandchild(opts):
    k = 25
    run = Run(opts, ["grandchild", N, k], interval=0)
    try:
        kids = run.children()
        eq(len(kids), 2, "child and grandchild")
        root = run.procs("root")[0]
        mid = [p for p in kids if p["ppid"] == root["pid"]]
        grand = [p for p in kids if p["ppid"] != root["pid"]]
        eq((len(mid), len(grand)), (1, 1), "tree shape")
        eq(grand[0]["ppid"], mid[0]["pid"], "grandchild's parent")
        expect_copied(opts, grand[0], run.region(grand[0]), k, "grandchild")
        if not exclusive(opts):
            eq(run.region(mid[0])["child_copied_pages"], 0, "middle child copied nothing")
    finally:
        run.cleanup()


def scenario_concurrent(opts):
    k = 20
    run = Run(opts, ["concurrent", N, k], interval=10)
    try:
        kids = run.children()
        eq(len(kids), 3, "three children")
        got = sorted(run.region(c)["child_copied_pages" if not exclusive(opts) else "unshared_pages"]
                     for c in kids)
        eq(got, [k, 2 * k, 3 * k], "each child's copies")
        for c in kids:
            eq(c["ended"], "exit", "ended")
            eq(c["complete"], True, "complete")
    finally:
        run.cleanup()


def scenario_threads(opts):
    k = 20
    run = Run(opts, ["threads", N, k], interval=0)
    try:
        kids = run.children()
        eq(len(kids), 20, "twenty children forked while threads allocate")
        for c in kids:
            if not exclusive(opts):
                eq(run.region(c)["child_copied_pages"], k, "each child's copies")
            eq(c["complete"], True, "complete")
        eq(run.stdout.count(b"child exited 0"), 20, "all children exited 0")
    finally:
        run.cleanup()


def scenario_huge(opts):
    """A MADV_HUGEPAGE region is flagged approximate; its fork-time set is still whole."""
    with open("/sys/kernel/mm/transparent_hugepage/enabled") as f:
        if "[never]" in f.read():
            print("transparent huge pages are disabled here ([never])")
            sys.exit(SKIP)
    n, k = 2048, 37
    run = Run(opts, ["huge", n, k, "exit"], interval=0)
    try:
        c = run.children()[0]
        reg = run.region(c)
        eq(reg["approximate"], True, "huge-page region approximate")
        eq(reg["shared_at_fork_pages"], n, "region shared_at_fork")
        got = reg["unshared_pages"]
        check(k <= got <= n, f"region unshared {got} not in [{k}, {n}]")
    finally:
        run.cleanup()


def scenario_fallback(opts):
    """Under plain LD_PRELOAD, an unusable COWSCOPE_BACKEND falls back and the trace says so."""
    probe = subprocess.run([opts.cowscope, "run", "-q", "-o", tempfile.mkdtemp(prefix="cowtest."),
                            "--interval", "0", "--backend", opts.backend, "--", "true"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
    if probe.returncode == 0:
        print(f"backend {opts.backend} is usable here: nothing falls back")
        sys.exit(SKIP)
    d = tempfile.mkdtemp(prefix="cowtest.")
    try:
        env = dict(os.environ, LD_PRELOAD=opts.shim, COWSCOPE_OUT=os.path.join(d, "run"),
                   COWSCOPE_BACKEND=opts.backend)
        p = subprocess.run([opts.fixture, "child-writes", "64", "20", "exit"], env=env,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
        eq(p.returncode, 0, "fixture status")
        eq(p.stderr, b"", "nothing printed by the shim")
        r = subprocess.run([opts.cowscope, "report", "--format", "json", os.path.join(d, "run")],
                           stdout=subprocess.PIPE, timeout=60)
        rep = json.loads(r.stdout)
        for proc in rep["processes"]:
            check(proc["backend"] != opts.backend, f"pid {proc['pid']} did not use {opts.backend}")
            codes = [n["code"] for n in proc["notes"]]
            check("backend_fallback" in codes, f"pid {proc['pid']}: fallback noted ({codes})")
        kid = [x for x in rep["processes"] if x["role"] == "child"][0]
        check(kid["unshared_pages"] >= 20, "the fallback backend still measured the child")
    finally:
        shutil.rmtree(d, ignore_errors=True)


def scenario_underscore_fork(opts):
    k = 30
    run = Run(opts, ["underscore-fork", N, k], interval=0)
    try:
        c = run.children()[0]
        expect_copied(opts, c, run.region(c), k, "_Fork child")
        eq(c["ended"], "_exit", "ended")
    finally:
        run.cleanup()


def plain(opts, args, preload):
    env = dict(os.environ)
    env.pop("LD_PRELOAD", None)
    d = tempfile.mkdtemp(prefix="cowtest.")
    if preload:
        env.update(LD_PRELOAD=opts.shim, COWSCOPE_OUT=os.path.join(d, "run"),
                   COWSCOPE_BACKEND=opts.backend)
    try:
        p = subprocess.run([opts.fixture] + args, env=env, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=120)
        files = os.listdir(os.path.join(d, "run")) if preload else []
        return p.returncode, p.stdout, p.stderr, files
    finally:
        shutil.rmtree(d, ignore_errors=True)


def scenario_identical(opts):
    """stdout, stderr and exit status byte-identical with and without the shim."""
    for args in (["spawn"], ["child-writes", "64", "5", "exit"], ["child-writes", "64", "5", "exec"],
                 ["concurrent", "64", "3"], ["bogus"]):
        a = plain(opts, args, False)
        b = plain(opts, args, True)
        eq(b[:3], a[:3], f"{args}: (status, stdout, stderr) with the shim")
        check(len(b[3]) >= 1, f"{args}: the shim wrote traces")
    a = plain(opts, ["spawn"], False)
    check(b"from-system" in a[1] and b"from-vfork" in a[1] and b"from-popen" in a[1],
          "spawn fixture ran all its children")


def scenario_spawn(opts):
    """posix_spawn/system/popen/vfork children are not tracked as fork children, and work."""
    run = Run(opts, ["spawn"], interval=0)
    try:
        eq(len(run.children()), 0, "no COW-tracked children (no fork happened)")
        for s in (b"spawned", b"from-system", b"system returned 4", b"popen read from-popen",
                  b"pclose 0", b"from-vfork", b"child exited 5"):
            check(s in run.stdout, f"fixture output has {s!r}")
        eq(run.status, 0, "exit status")
    finally:
        run.cleanup()


def scenario_sparse(opts):
    """Shared at fork is what was present, whatever the mapping's size; first touches are new."""
    run = Run(opts, ["sparse", 8, 1], interval=0)
    try:
        c = run.children()[0]
        eq(len(run.extra), 5, "sparse mappings listed")
        for start, end in run.extra:
            n = (end - start) // os.sysconf("SC_PAGE_SIZE")
            reg = run.region(c, start)
            eq(reg["shared_at_fork_pages"], n // 16, f"{n}-page mapping shared_at_fork")
            written = n == 1024
            eq(reg["child_new_pages"], 960 if written else 0, f"{n}-page mapping child_new")
            if exclusive(opts):
                eq(reg["unshared_pages"], 64 if written else 0, f"{n}-page mapping unshared")
            else:
                eq(reg["child_copied_pages"], 64 if written else 0,
                   f"{n}-page mapping child_copied")
                eq(reg["parent_unshared_pages"], 0, f"{n}-page mapping parent_unshared")
    finally:
        run.cleanup()


def scenario_parent_writes_now(opts):
    """A parent writing everything right after fork() unshares it all; the child copied none."""
    n = 131072  # 512 MiB, so the writes overlap the child's fork snapshot
    run = Run(opts, ["parent-writes-now", n], interval=0)
    try:
        c = run.children()[0]
        reg = run.region(c)
        eq(reg["shared_at_fork_pages"], n, "region shared_at_fork")
        if exclusive(opts):
            eq(reg["unshared_pages"], n, "region unshared")
        else:
            eq(reg["child_copied_pages"], 0, "region child_copied")
            eq(reg["parent_unshared_pages"], n, "region parent_unshared")
    finally:
        run.cleanup()


def idle_private(opts, sample_bytes):
    """An idle child's private pages, the program's and the shim's, at --sample-bytes N."""
    run = Run(opts, ["idle", 8], interval=0, env={"COWSCOPE_SAMPLE_BYTES": str(sample_bytes)})
    try:
        c = run.children()[0]
        check(c["shim_pages"] is not None, "the shim's footprint is reported")
        own = c["child_copied_pages"] if c["child_copied_pages"] is not None else c["unshared_pages"]
        return own + c["child_new_pages"] + c["shim_pages"], c["shim_pages"]
    finally:
        run.cleanup()


def scenario_idle(opts):
    """Allocation sampling costs an idle child at most 16 pages, and the shim says how many."""
    off, shim_off = idle_private(opts, 0)
    on, shim_on = idle_private(opts, 65536)
    check(on - off <= 16, f"sampling dirtied {on - off} more pages in an idle child "
          f"({on} vs {off}; shim {shim_on} vs {shim_off})")
    check(shim_on <= 16, f"the shim's own pages in an idle child: {shim_on}")
    # the fork snapshot itself writes the shim's scratch arena: never nothing
    check(shim_off >= 1 and shim_on >= 1, f"the shim's own pages measured: {shim_off}, {shim_on}")


def scenario_child_releases(opts):
    """Pages the child discards are released: neither copied nor unshared, and counted."""
    k = 40
    run = Run(opts, ["child-releases", N, k], interval=0)
    try:
        c = run.children()[0]
        reg = run.region(c)
        eq(reg["shared_at_fork_pages"], N, "region shared_at_fork")
        eq(reg["unshared_pages"], 0, "released pages are not unshared")
        if not exclusive(opts):
            eq(reg["child_copied_pages"], 0, "released pages are not copies")
        r = c["released_pages"]
        check(k <= r <= k + ALLOWANCE, f"released_pages {r} not in [{k}, {k + ALLOWANCE}]")
    finally:
        run.cleanup()


SCENARIOS = {
    "no-parent-unshared": scenario_no_parent_unshared,
    "child-writes-exit": lambda o: scenario_child_writes(o, "exit"),
    "child-writes-_exit": lambda o: scenario_child_writes(o, "_exit"),
    "child-writes-exec": lambda o: scenario_child_writes(o, "exec"),
    "child-writes-execlp": lambda o: scenario_child_writes(o, "execlp"),
    "child-writes-execle": lambda o: scenario_child_writes(o, "execle"),
    "child-writes-return": lambda o: scenario_child_writes(o, "return"),
    "child-writes-sigkill": lambda o: scenario_child_writes(o, "sigkill"),
    "child-writes-api": lambda o: scenario_child_writes(o, "api-sigkill"),
    "child-writes-parent-sigkill": lambda o: scenario_child_writes(o, "parent-sigkill"),
    "parent-writes": scenario_parent_writes,
    "child-new": scenario_child_new,
    "shared": scenario_shared,
    "grandchild": scenario_grandchild,
    "concurrent": scenario_concurrent,
    "threads": scenario_threads,
    "underscore-fork": scenario_underscore_fork,
    "huge": scenario_huge,
    "fallback": scenario_fallback,
    "identical-output": scenario_identical,
    "spawn": scenario_spawn,
    "sparse": scenario_sparse,
    "parent-writes-now": scenario_parent_writes_now,
    "idle": scenario_idle,
    "child-releases": scenario_child_releases,
}


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--cowscope", required=True)
    ap.add_argument("--shim", required=True)
    ap.add_argument("--fixture", required=True)
    ap.add_argument("--backend", required=True)
    ap.add_argument("scenario", choices=sorted(SCENARIOS))
    opts = ap.parse_args()
    try:
        SCENARIOS[opts.scenario](opts)
    except Failure as e:
        print(f"FAIL {opts.scenario} [{opts.backend}]: {e}")
        return 1
    print(f"ok {opts.scenario} [{opts.backend}]")
    return 0


if __name__ == "__main__":
    sys.exit(main())
