#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Integration driver: working figures (before a child began to exit), at-end figures, unmaps.

C scenarios run work_fixture under `cowscope run` with one backend and check exact page counts;
Python scenarios run Debian's CPython (skip 77 only if it is missing) under `cowscope run` (with
its sitecustomize helper) and under plain LD_PRELOAD, and a gc.freeze() diff of
tools/examples/py_server_freeze.py. docs/working-figures.md has the measured figures.
"""
import argparse
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile

from cstest import SKIP, Failure, check, eq

N = 256            # pages of the fixture's region
PAGE = os.sysconf("SC_PAGE_SIZE")
# Pages a child copies besides the fixture's region (stack, libc data, exit's own writes); as in
# cowtest.py. The region itself is checked exactly.
ALLOWANCE = 16
PY_OBJECTS = 300_000
# What py_reads.py's objects occupy (CPython 3.11, x86-64, pymalloc): a two-item list 64 bytes
# with its GC header, its str 96, its int 32: reading them copies every such page.
PY_OBJECT_PAGES = PY_OBJECTS * (64 + 96 + 32) // 4096
HERE = os.path.dirname(os.path.abspath(__file__))
PY_READS = os.path.join(HERE, "fixtures", "py_reads.py")


def within(got, lo, hi, what):
    check(got is not None and lo <= got <= hi, f"{what}: {got!r} not in [{lo}, {hi}]")


def run(cmd, env=None, ok=(0,)):
    p = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=500)
    if p.returncode == 4 and b"not usable" in p.stderr:
        print(p.stderr.decode().strip())
        sys.exit(SKIP)
    check(p.returncode in ok, f"{cmd[:6]}... exited {p.returncode}: {p.stderr.decode()[-2000:]}")
    return p.stdout.decode()


class Tmp:
    def __enter__(self):
        self.dir = tempfile.mkdtemp(prefix="worktest.")
        return self

    def __exit__(self, *a):
        shutil.rmtree(self.dir, ignore_errors=True)

    def path(self, name):
        return os.path.join(self.dir, name)


def record(opts, out, cmd, backend=None, extra=(), env=None):
    """`cowscope run` of cmd into out; returns cmd's stdout."""
    args = [opts.cowscope, "run", "-q", "-o", out, "--interval", "0"]
    args += ["--backend", backend] if backend else []
    return run(args + list(extra) + ["--"] + cmd, env=env)


def report(opts, out):
    return json.loads(run([opts.cowscope, "report", "--format", "json", out]))


def only_child(rep):
    kids = [p for p in rep["processes"] if p["role"] == "child" and p["gen"] == 0]
    eq(len(kids), 1, "children")
    return kids[0]


def region_of(proc, start):
    for m in proc["mappings"]:
        if int(m["start"]) == start:
            return m
    raise Failure(f"pid {proc['pid']}: no mapping at {start:#x}")


def split(opts):
    return opts.backend != "exclusive"


def metric(proc_or_map, opts):
    """Child-copied pages, or unshared where the backend cannot split."""
    return proc_or_map["child_copied_pages" if split(opts) else "unshared_pages"]


# ---- C: exact truth --------------------------------------------------------------------------

def snapshots(path):
    """A process trace's snapshots: {seq: (reason, {set: [runs]}, {page: pfn})}."""
    with open(path, "rb") as f:
        b = f.read()
    snaps, off = {}, 32
    while off + 8 <= len(b):
        rtype, _, size = struct.unpack_from("<HHI", b, off)
        if size < 8 or off + size > len(b):
            break
        if rtype == 3:  # SNAP_BEGIN: seq, reason
            seq, reason = struct.unpack_from("<IB", b, off + 8)
            snaps[seq] = (reason, {}, {})
        elif rtype == 5:  # PAGES: seq, set, runs
            seq, pset = struct.unpack_from("<IB", b, off + 8)
            runs = [struct.unpack_from("<QQ", b, o) for o in range(off + 16, off + size, 16)]
            snaps[seq][1].setdefault(pset, []).extend(runs)
        elif rtype == 6:  # PFNS: seq, count, first page, frame numbers
            seq, count, first = struct.unpack_from("<IIQ", b, off + 8)
            pfns = struct.unpack_from(f"<{count}Q", b, off + 24)
            snaps[seq][2].update((first + i, v) for i, v in enumerate(pfns))
        off += size
    return snaps


def region_copies(opts, path, reason, lo, hi):
    """Pages of [lo, hi) (page numbers) the child copied by snapshot `reason`, from the trace
    itself: written (uffd-wp, soft-dirty), frame changed since the fork (pfn), exclusive."""
    snaps = snapshots(path)
    fork = next(s for s in snaps.values() if s[0] == 1)
    snap = next(s for s in snaps.values() if s[0] == reason)
    if opts.backend == "pfn":
        return sum(1 for p in range(lo, hi) if snap[2].get(p) and fork[2].get(p) and
                   snap[2][p] != fork[2][p])
    pset = 3 if opts.backend == "exclusive" else 2
    return sum(max(0, min(hi, f + n) - max(lo, f)) for f, n in snap[1].get(pset, []))


def c_run(opts, tmp, args):
    info = tmp.path("info")
    env = dict(os.environ, COW_FIXTURE_INFO=info)
    out = record(opts, tmp.path("run"), [opts.fixture] + [str(a) for a in args], opts.backend,
                 env=env)
    with open(info) as f:
        start, end = (int(x, 16) for x in f.read().split())
    child = only_child(report(opts, tmp.path("run")))
    eq(child["ended"], "exit", "ended")
    child["trace"] = tmp.path(os.path.join("run", f"{child['pid']}.0.cst"))
    child["region_pages"] = (start // PAGE, end // PAGE)
    return out, child, region_of(child, start)


def expect_teardown(opts, child, k, k2, what):
    """Working K in the region; at end K + K2 there (exact, in the exit snapshot's own sets) and
    the process's at-end figure K2 above its working one (within the allowance for libc)."""
    w, e = metric(child, opts), metric(child["at_end"], opts)
    eq(child["figures_from"], "work", f"{what}: figures_from")
    eq(region_copies(opts, child["trace"], 2, *child["region_pages"]), k + k2,
       f"{what}: the region at the exit snapshot")
    within(w, k, k + ALLOWANCE, f"{what}: working child_copied")
    within(e - w, k2, k2 + ALLOWANCE, f"{what}: at_end minus working")
    check(child["peak_unshared_pages"] >= k + k2, f"{what}: peak {child['peak_unshared_pages']}")
    # One working snapshot and the exit snapshot: no other candidate (no samples: --interval 0).
    eq(len(child["timeline"]), 2, f"{what}: timeline points")


def scenario_c_atexit(opts):
    k, k2 = 37, 23
    with Tmp() as tmp:
        _, child, reg = c_run(opts, tmp, ["atexit", N, k, k2])
        eq(metric(reg, opts), k, "region: working copies, before the atexit handler")
        if split(opts):
            eq(reg["parent_unshared_pages"], 0, "region parent_unshared")
        expect_teardown(opts, child, k, k2, "atexit")


def scenario_c_exiting(opts):
    k, k2 = 30, 10
    with Tmp() as tmp:
        out, child, reg = c_run(opts, tmp, ["exiting", N, k, k2])
        check("cowscope_exiting: 0 then 0" in out, f"cowscope_exiting returns: {out!r}")
        eq(metric(reg, opts), k, "region: working copies, at cowscope_exiting()")
        expect_teardown(opts, child, k, k2, "exiting")


def scenario_c_unmap(opts):
    k = 20
    with Tmp() as tmp:
        _, child, reg = c_run(opts, tmp, ["unmap", N, k])
        eq(child["figures_from"], "work", "figures_from")
        # munmap of the first half and mremap shrinking the second: two snapshots; the child's
        # own mapping (created after the fork) took none.
        eq(child["unmap_snapshots"], 2, "unmap snapshots")
        eq(reg["shared_at_fork_pages"], N, "region shared at fork")
        eq(metric(reg, opts), 2 * k, "region: copies kept from the unmap snapshots")
        w = metric(child, opts)
        within(w, 2 * k, 2 * k + ALLOWANCE, "working child_copied")
        within(metric(child["at_end"], opts), 0, w - 2 * k + ALLOWANCE,
               "at end the region's copies are gone")
        check(child["peak_unshared_pages"] >= 2 * k, "peak")


# ---- CPython ---------------------------------------------------------------------------------

def need_python(opts):
    if not os.access(opts.python, os.X_OK):
        print(f"{opts.python} is missing")
        sys.exit(SKIP)


def py_child(opts, out, end):
    child = only_child(report(opts, out))
    eq(child["ended"], "exit" if end == "exit" else "_exit", f"{end}: ended")
    check(child["child_copied_pages"] is not None, f"{end}: figures known")
    return child


def mib(pages):
    return f"{pages * 4096 / 2**20:.1f} MiB"


def scenario_py_exit(opts):
    """Under cowscope run: sys.exit and os._exit children hold the same working copies."""
    need_python(opts)
    with Tmp() as tmp:
        kids = {}
        for end in ("exit", "_exit"):
            out = record(opts, tmp.path(end), [opts.python, PY_READS, str(PY_OBJECTS), end])
            eq(out.strip(), "child exited 0", f"{end}: fixture output")
            kids[end] = py_child(opts, tmp.path(end), end)
        a, b = kids["exit"], kids["_exit"]
        print(f"sys.exit: working {mib(a['child_copied_pages'])}, at end "
              f"{mib(a['at_end']['child_copied_pages'])}; os._exit: {mib(b['child_copied_pages'])}")
        eq(a["figures_from"], "work", "sys.exit: figures from the helper's atexit snapshot")
        eq(b["figures_from"], "_exit", "os._exit: figures from the _exit snapshot")
        eq(b["at_end"], None, "os._exit: nothing after the working snapshot")
        wa, wb = a["child_copied_pages"], b["child_copied_pages"]
        check(wb >= 0.8 * PY_OBJECT_PAGES, f"os._exit child copied {wb}, objects {PY_OBJECT_PAGES}")
        check(abs(wa - wb) <= 0.05 * max(wa, wb), f"working: sys.exit {wa} vs os._exit {wb}")
        check(a["at_end"]["child_copied_pages"] < 0.5 * wa,
              f"the teardown unmapped the arenas: at end {a['at_end']['child_copied_pages']}")
        check(a["peak_unshared_pages"] >= wa, "peak >= working")


def scenario_py_preload(opts):
    """Plain LD_PRELOAD, no helper: exit()'s working snapshot comes after Py_FinalizeEx, and the
    unmap snapshots taken while the interpreter freed its arenas keep the copies."""
    need_python(opts)
    with Tmp() as tmp:
        kids = {}
        for end in ("exit", "_exit"):
            env = dict(os.environ, LD_PRELOAD=opts.shim, COWSCOPE_OUT=tmp.path(end))
            env.pop("PYTHONPATH", None)
            out = run([opts.python, PY_READS, str(PY_OBJECTS), end], env=env)
            eq(out.strip(), "child exited 0", f"{end}: fixture output")
            kids[end] = py_child(opts, tmp.path(end), end)
        a, b = kids["exit"], kids["_exit"]
        wa, wb = a["child_copied_pages"], b["child_copied_pages"]
        print(f"sys.exit: working {mib(wa)} ({a['unmap_snapshots']} unmap snapshots), at end "
              f"{mib(a['at_end']['child_copied_pages'])}; os._exit: {mib(wb)}")
        eq(a["figures_from"], "work", "sys.exit: exit()'s working snapshot")
        check(a["unmap_snapshots"] >= PY_OBJECT_PAGES // 256 // 2,
              f"unmap snapshots of pymalloc's 1 MiB arenas: {a['unmap_snapshots']}")
        # The copies survive the teardown's unmaps; the teardown's own writes before each unmap
        # (deallocation decrefs every object and writes the list item arrays' pools) add ~10%.
        check(0.95 * wb <= wa <= 1.25 * wb, f"working: sys.exit {wa} vs os._exit {wb}")


def scenario_py_freeze_diff(opts):
    """py_server_freeze.py without and with gc.freeze(): the diff of working figures shows the
    reduction; the figures after teardown show the inversion they used to cause."""
    need_python(opts)
    with Tmp() as tmp:
        for name, extra in (("nofreeze", []), ("freeze", ["--freeze"])):
            out = record(opts, tmp.path(name), [opts.python, opts.example] + extra)
            eq(out.split(), ["worker", "0", "ok", "worker", "1", "ok", "worker", "2", "ok"],
               f"{name}: output")
        df = json.loads(run([opts.cowscope, "diff", "--format", "json", tmp.path("nofreeze"),
                             tmp.path("freeze")]))
        h, b, a = df["headline"], df["before"], df["after"]
        print(h["text"])
        print(f"at end: {mib(b['at_end']['child_copied_pages'])} -> "
              f"{mib(a['at_end']['child_copied_pages'])}")
        eq(h["figures"], "working", "headline figures")
        eq((b["children_measured"], a["children_measured"]), (3, 3), "measured workers")
        check(a["child_copied_pages"] < 0.8 * b["child_copied_pages"],
              f"freezing cut the working copies: {b['child_copied_pages']} -> "
              f"{a['child_copied_pages']}")
        check(h["change_percent"] < -20, f"headline not inverted: {h['text']}")
        for c in df["children"]:
            for side in ("before", "after"):
                eq(c[side]["figures_from"], "work", f"child {c['index']} {side}: figures_from")
        # Without freezing the final collection frees the cyclic objects and their arenas go;
        # frozen objects stay: after teardown the comparison inverts.
        check(b["at_end"]["child_copied_pages"] < a["at_end"]["child_copied_pages"],
              "at-end figures: the teardown effect")


def py_env_probe(opts, tmp, extra, pythonpath):
    code = ("import os, sys, sitecustomize; print(repr(os.environ.get('PYTHONPATH'))); "
            "print(sitecustomize.__file__, getattr(sitecustomize, 'MARK', None)); print(sys.path)")
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)
    if pythonpath:
        env["PYTHONPATH"] = pythonpath
    out = tmp.path(f"run{len(os.listdir(tmp.dir))}")
    got = record(opts, out, [opts.python, "-c", code], extra=extra, env=env).splitlines()
    plain = run([opts.python, "-c", code], env=env).splitlines()
    return got, plain


def scenario_py_env(opts):
    """The helper is first on PYTHONPATH, an existing one follows; the program sees the same
    sys.path and the sitecustomize it would have had; --no-python leaves PYTHONPATH alone."""
    need_python(opts)
    helper = os.path.join(os.path.dirname(os.path.realpath(opts.shim)), "python")
    with Tmp() as tmp:
        user = tmp.path("user")
        os.mkdir(user)
        with open(os.path.join(user, "sitecustomize.py"), "w") as f:
            f.write("MARK = 42\n")
        got, plain = py_env_probe(opts, tmp, [], user)
        eq(got[0], repr(f"{helper}:{user}"), "PYTHONPATH: the helper, then the user's")
        eq(got[1], f"{user}/sitecustomize.py 42", "the user's sitecustomize, chained")
        eq(got[1:], plain[1:], "what the program sees, with and without cowscope")
        got, plain = py_env_probe(opts, tmp, [], None)
        eq(got[0], repr(helper), "PYTHONPATH: the helper alone")
        eq(got[1:], plain[1:], "no user PYTHONPATH: the system's sitecustomize, same sys.path")
        got, plain = py_env_probe(opts, tmp, ["--no-python"], user)
        eq(got, plain, "--no-python: PYTHONPATH untouched")


SCENARIOS = {
    "c-atexit": scenario_c_atexit,
    "c-exiting": scenario_c_exiting,
    "c-unmap": scenario_c_unmap,
    "py-exit": scenario_py_exit,
    "py-preload": scenario_py_preload,
    "py-freeze-diff": scenario_py_freeze_diff,
    "py-env": scenario_py_env,
}


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--cowscope", required=True)
    ap.add_argument("--shim", required=True)
    ap.add_argument("--fixture", required=True)
    ap.add_argument("--backend", default=None)
    ap.add_argument("--python", default="/usr/bin/python3")
    ap.add_argument("--example", default=None)
    ap.add_argument("scenario", choices=sorted(SCENARIOS))
    opts = ap.parse_args()
    try:
        SCENARIOS[opts.scenario](opts)
    except Failure as e:
        print(f"FAIL {opts.scenario} [{opts.backend or 'auto'}]: {e}")
        return 1
    print(f"ok {opts.scenario} [{opts.backend or 'auto'}]")
    return 0


if __name__ == "__main__":
    sys.exit(main())
