#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Changed words (docs/amplification.md): amp_fixture under `cowscope run`, the child's trace read
with cstrace.py, every truth checked exactly in the fixture's region."""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile

import cstrace as ct
from cstest import Failure, Skip, check, eq, verdict

PAGE_SHIFT = 12


class Run:
    """One `cowscope run` of amp_fixture: the info file, the run directory, the traces."""

    def __init__(self, opts, args, env=None, run_opts=()):
        self.dir = tempfile.mkdtemp(prefix="amptest.")
        self.out = os.path.join(self.dir, "run")
        info = os.path.join(self.dir, "info")
        e = dict(os.environ, AMP_FIXTURE_INFO=info, **(env or {}))
        for k in ("COWSCOPE_DIFF", "COWSCOPE_DIFF_BUDGET"):
            if k not in (env or {}):
                e.pop(k, None)
        cmd = [opts.cowscope, "run", "-q", "-o", self.out, "--backend", opts.backend,
               *run_opts, "--", opts.fixture] + [str(a) for a in args]
        self.cowscope = opts.cowscope
        p = subprocess.run(cmd, env=e, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=120)
        if p.returncode == 4 and b"not usable" in p.stderr:
            raise Skip(p.stderr.decode().strip())
        eq(p.returncode, 0, f"cowscope run status ({p.stderr.decode().strip()})")
        self.pids, self.region, self.array = {}, None, None
        with open(info) as f:
            for line in f:
                key, a, b = line.split()
                if key == "pid":
                    self.pids[chr(int(b, 16))] = int(a, 16)
                elif key == "region":
                    self.region = (int(a, 16) >> PAGE_SHIFT, int(b, 16) >> PAGE_SHIFT)
                elif key == "array":
                    self.array = (int(a, 16), int(b, 16))

    def report(self, fmt="json"):
        p = subprocess.run([self.cowscope, "report", "--format", fmt, self.out],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120)
        eq(p.returncode, 0, f"cowscope report ({p.stderr.decode().strip()})")
        return json.loads(p.stdout) if fmt == "json" else p.stdout.decode()

    def process(self, role):
        doc = self.report()
        for proc in doc["processes"]:
            if proc["pid"] == self.pids[role]:
                return proc
        raise Failure(f"no process {self.pids[role]} ({role}) in the report")

    def trace(self, role):
        return ct.trace_of(self.out, self.pids[role])

    def page(self, i):
        return self.region[0] + i

    def cleanup(self):
        shutil.rmtree(self.dir, ignore_errors=True)


def in_region(run, pages):
    lo, hi = run.region
    return sorted(p - lo for p in pages if lo <= p < hi)


def words_in_region(run, snap, side):
    lo, hi = run.region
    return {p - lo: snap.changed_words(side, p) for p in snap.words.get(side, {}) if lo <= p < hi}


def consistent(snap, what):
    """DIFF counts equal the per-page records, for both sides; each page in one record only."""
    for side, noop, unk in ((ct.SIDE_CHILD, ct.SET_NOOP, ct.SET_UNKNOWN),
                            (ct.SIDE_PARENT, ct.SET_PNOOP, ct.SET_PUNKNOWN)):
        d = snap.diff.get(side)
        check(d is not None, f"{what}: no DIFF record for side {side}")
        words = snap.words.get(side, {})
        nbits = sum(bin(w).count("1") for bm in words.values() for w in bm)
        eq(d.word_bytes, 8, f"{what} side {side} word_bytes")
        eq(d.compared, len(words) + len(snap.pages(noop)), f"{what} side {side} compared")
        eq(d.changed_pages, len(words), f"{what} side {side} changed_pages")
        eq(d.changed_words, nbits, f"{what} side {side} changed_words")
        eq(sum(d.unknown.values()), len(snap.pages(unk)), f"{what} side {side} unknown")
        check(not (snap.pages(noop) & snap.pages(unk)) and not (set(words) & snap.pages(noop)),
              f"{what} side {side}: a page in two records")
        selected = -(-d.considered // d.stride)
        eq(d.compared + sum(d.unknown.values()), selected, f"{what} side {side} pages chosen")


def child_snap(run, role="c", reason=ct.SNAP_WORK):
    t = run.trace(role)
    s = t.snapshot(reason)
    check(s is not None, f"pid {t.pid}: no complete snapshot of reason {reason}")
    consistent(s, f"pid {t.pid} snapshot {s.seq}")
    return s


def t_incdec(opts):
    k, m = 20, 12
    run = Run(opts, ["incdec", k, m])
    for reason in (ct.SNAP_WORK, ct.SNAP_EXIT):
        s = child_snap(run, reason=reason)
        eq(in_region(run, s.pages(ct.SET_NOOP)), list(range(k)), "no-op copies")
        eq(words_in_region(run, s, ct.SIDE_CHILD),
           {k + j: [(7 * j) % 512] for j in range(m)}, "changed words")
        eq(in_region(run, s.pages(ct.SET_UNKNOWN)), [], "child side unknown in the region")
        eq(s.diff[ct.SIDE_CHILD].stride, 1, "stride")
        eq(s.diff[ct.SIDE_CHILD].flags, 0, "flags (auto)")
    root = run.trace("p").counters()
    eq(root.get("self_tracking_armed"), 1, "the parent armed its self-tracking once")
    check(root.get("self_tracking_ns", 0) > 0, "self-tracking cost recorded")
    run.cleanup()


def t_struct(opts):
    n = 4096
    run = Run(opts, ["struct", n])
    s = child_snap(run)
    a0, a1 = run.array
    pages = range(a0 >> PAGE_SHIFT, (a1 + 4095) >> PAGE_SHIFT)
    words = s.words.get(ct.SIDE_CHILD, {})
    for p in pages:
        w = s.changed_words(ct.SIDE_CHILD, p)
        check(w is not None, f"array page {p:#x}: no WORDS entry")
        offs = {((p << PAGE_SHIFT) + 8 * i - a0) % 64 for i in w}
        eq(offs, {16}, f"array page {p:#x}: offsets of changed words in the objects")
        eq(len(w), 4096 // 64, f"array page {p:#x}: changed words")
    eq(len([p for p in words if p in pages]), len(pages), "array pages with changed words")
    run.cleanup()


def t_parent_writes(opts):
    p, b, c = 16, 6, 10
    run = Run(opts, ["parent-writes", p, b, c])
    s = child_snap(run)
    eq(in_region(run, s.pages(ct.SET_UNKNOWN)), list(range(p, p + b)), "both wrote: unknown")
    check(s.diff[ct.SIDE_CHILD].unknown["changed"] >= b, "unknown for 'changed' counts them")
    eq(words_in_region(run, s, ct.SIDE_CHILD), {i: [9] for i in range(p + b, p + b + c)},
       "child-only pages: one changed word each")
    eq(in_region(run, s.pages(ct.SET_NOOP)), [], "no no-op copy in the region")
    eq(words_in_region(run, s, ct.SIDE_PARENT), {i: [3] for i in range(p)},
       "parent side: the P pages, one changed word each")
    eq(in_region(run, s.pages(ct.SET_PNOOP)), [], "parent side no-op pages")
    eq(in_region(run, s.pages(ct.SET_PUNKNOWN)), [], "parent side unknown")
    run.cleanup()


def t_parent_exits(opts):
    k = 16
    run = Run(opts, ["parent-exits", k])
    s = child_snap(run)
    eq(in_region(run, s.pages(ct.SET_UNKNOWN)), list(range(k)), "copies: unknown")
    d = s.diff[ct.SIDE_CHILD]
    eq(d.compared, 0, "nothing compared once the parent is gone")
    eq(d.unknown["gone"], d.considered, "every page gone")
    check(d.considered >= k, "the copies considered")
    run.cleanup()


def t_dontneed(opts):
    k = 16
    run = Run(opts, ["dontneed", k])
    s = child_snap(run)
    eq(in_region(run, s.pages(ct.SET_UNKNOWN)), list(range(k)), "freed by the parent: unknown")
    check(s.diff[ct.SIDE_CHILD].unknown["absent"] >= k, "unknown for 'absent' counts them")
    eq(words_in_region(run, s, ct.SIDE_CHILD), {}, "nothing compared in the region")
    run.cleanup()


def t_nested(opts):
    a, x, g = 20, 5, 12
    run = Run(opts, ["nested", a, x, g])
    s = child_snap(run, "g")
    eq(in_region(run, s.pages(ct.SET_UNKNOWN)), list(range(a - x, a)),
       "grandchild: pages the child wrote since its fork are unknown")
    eq(words_in_region(run, s, ct.SIDE_CHILD), {i: [2] for i in range(a, a + g)},
       "grandchild: pages the child did not write, exact")
    c = child_snap(run, "c")
    eq(words_in_region(run, c, ct.SIDE_CHILD), {i: [1] for i in range(a)}, "child: exact")
    run.cleanup()


def t_nested_dontneed(opts):
    """The grandchild compares pages the child dropped: it must not read them through its view,
    which would fault them back into the child (present and written: child-copied)."""
    a, d = 20, 8
    run = Run(opts, ["nested-dontneed", a, d])
    g = child_snap(run, "g")
    eq(in_region(run, g.pages(ct.SET_UNKNOWN)), list(range(a, a + d)),
       "grandchild: the pages the child dropped are unknown")
    check(g.diff[ct.SIDE_CHILD].unknown["absent"] >= d, "grandchild: dropped pages absent")
    c = child_snap(run, "c")
    eq(in_region(run, c.pages(ct.SET_WRITTEN) & c.pages(ct.SET_PRESENT)), list(range(a)),
       "child: its copies are its own writes only (dropped pages report written, never present)")
    eq(in_region(run, c.pages(ct.SET_PRESENT)), list(range(a)) + list(range(a + d, a + d + 4)),
       "child: the pages it dropped stay absent (reading through the view must not fault them in)")
    eq(words_in_region(run, c, ct.SIDE_CHILD), {i: [1] for i in range(a)}, "child: exact")
    run.cleanup()


def t_off(opts):
    run = Run(opts, ["incdec", 20, 12], env={"COWSCOPE_DIFF": "off"})
    for role in ("p", "c"):
        t = run.trace(role)
        eq(len(t.of_type(ct.REC_DIFF)) + len(t.of_type(ct.REC_WORDS)), 0,
           f"{role}: DIFF/WORDS records with COWSCOPE_DIFF=off")
        for snap in t.snaps:
            eq([x for x in snap.sets if x >= ct.SET_NOOP], [], f"{role}: 1.4 sets with off")
    check(run.trace("c").snapshot(ct.SNAP_WORK) is not None, "the snapshots are still taken")
    run.cleanup()


def t_all(opts):
    run = Run(opts, ["incdec", 20, 12], env={"COWSCOPE_DIFF": "all"})
    s = child_snap(run)
    for side in (ct.SIDE_CHILD, ct.SIDE_PARENT):
        eq(s.diff[side].flags, 1, f"side {side}: CS_DIFFF_ALL")
        eq(s.diff[side].stride, 1, f"side {side}: stride")
    eq(in_region(run, s.pages(ct.SET_NOOP)), list(range(20)), "no-op copies")
    run.cleanup()


def t_budget(opts):
    budget = 7
    run = Run(opts, ["incdec", 40, 24], env={"COWSCOPE_DIFF_BUDGET": str(budget)})
    s = child_snap(run)
    d = s.diff[ct.SIDE_CHILD]
    check(d.considered >= 64, f"considered {d.considered}: the region's 64 copies at least")
    eq(d.stride, -(-d.considered // budget), "stride = ceil(considered / budget)")
    check(d.stride > 1, "a stride over the budget")
    chosen = d.compared + sum(d.unknown.values())
    eq(chosen, -(-d.considered // d.stride), "pages chosen")
    check(chosen <= budget, f"{chosen} pages chosen, budget {budget}")
    run.cleanup()


def site_of(proc, function):
    """The allocation site of proc whose innermost frames name function."""
    for site in proc["sites"]:
        if any(f.get("function") == function for f in site["frames"][:3]):
            return site
    raise Failure(f"pid {proc['pid']}: no site with {function} among {len(proc['sites'])}")


def t_report_incdec(opts, diff_mode):
    """The report's figures for the region's allocation site: K no-op + M one-word copies."""
    k, m = 20, 12
    run = Run(opts, ["incdec", k, m], run_opts=("--sample-bytes", "1", "--diff", diff_mode))
    c = run.process("c")
    site = site_of(c, "region")
    eq(site["compared_pages"], k + m, "region site: compared copies")
    eq(site["noop_copied_pages"], k, "region site: no-op copies")
    eq(site["changed_bytes"], 8 * m, "region site: changed bytes")
    eq(site["amplification"], round(4096 * (k + m) / (8 * m), 3),
       "region site: amplification (JSON keeps 3 decimals)")
    check(c["changed_bytes"] >= 8 * m and c["noop_copied_pages"] >= k,
          "the child's totals hold the region's")
    eq(c["copied_diff"]["estimated"], False, "no budget reached: exact")
    text = " ".join(run.report("text").split())  # the report wraps long lines at 100 columns
    check("AMPLIF" in text and "copied to change" in text and "for no net change" in text,
          "the text report's amplification column and per-child line")
    run.cleanup()


def t_report_objects(opts):
    """Field view: every changed word of make_objects' 64-byte objects is at offset 16-23."""
    n = 2048
    run = Run(opts, ["objects", n], run_opts=("--sample-bytes", "1"))
    site = site_of(run.process("c"), "make_objects")
    eq(site["changed_bytes"], 8 * n, "make_objects: changed bytes")
    bins = site["fields"]["bins"]
    eq([(b["offset_from"], b["offset_to"], b["words"]) for b in bins], [(16, 23, n)],
       "make_objects: changed words by offset in the object")
    eq(bins[0]["share"], 1, "make_objects: 100% of changed words at 16-23")
    run.cleanup()


TESTS = {
    "incdec": t_incdec, "struct": t_struct, "parent-writes": t_parent_writes,
    "parent-exits": t_parent_exits, "dontneed": t_dontneed, "nested": t_nested,
    "nested-dontneed": t_nested_dontneed,
    "off": t_off, "all": t_all, "budget": t_budget,
    "report-incdec": lambda o: t_report_incdec(o, "auto"),
    "report-incdec-all": lambda o: t_report_incdec(o, "all"), "report-objects": t_report_objects,
}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cowscope", required=True)
    ap.add_argument("--fixture", required=True)
    ap.add_argument("--backend", default="uffd-wp")
    ap.add_argument("test", choices=sorted(TESTS))
    opts = ap.parse_args()
    return verdict(f"{opts.test} [{opts.backend}]", TESTS[opts.test], opts)


if __name__ == "__main__":
    sys.exit(main())
