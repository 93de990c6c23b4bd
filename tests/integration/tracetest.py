#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Integration driver: `report --format trace` (Chrome Trace Event JSON) and folded --by mapping|process."""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile

from cstest import Failure, Skip, check, eq, verdict

N = 256  # pages the fixture maps before forking
K = 20  # the three children write K, 2K and 3K of them
MIB = 1 << 20


def no_constant(name):
    raise Failure(f"the trace holds {name}, which is not JSON")


class Run:
    """One `cowscope run` of the fixture (three concurrent children by default), with its report."""

    def __init__(self, opts, args=("concurrent", N, K)):
        self.dir = tempfile.mkdtemp(prefix="tracetest.")
        self.opts = opts
        info = os.path.join(self.dir, "info")
        self.out = os.path.join(self.dir, "run")
        cmd = [opts.cowscope, "run", "-q", "-o", self.out, "--interval", "10", "--",
               opts.fixture] + [str(a) for a in args]
        p = subprocess.run(cmd, env=dict(os.environ, COW_FIXTURE_INFO=info),
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120)
        if p.returncode == 4 and b"not usable" in p.stderr:
            raise Skip(p.stderr.decode().strip())
        eq(p.returncode, 0, f"cowscope run's status ({p.stderr.decode()})")
        with open(info) as f:
            self.start = int(f.readline().split()[0], 16)
        self.report = json.loads(self.cowscope("--format", "json").stdout)

    def cowscope(self, *args, status=0):
        r = subprocess.run([self.opts.cowscope, "report", *args, self.out],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120)
        eq(r.returncode, status, f"report {' '.join(args)} status ({r.stderr.decode()})")
        return r

    def root(self):
        roots = [p for p in self.report["processes"] if p["role"] == "root"]
        eq(len(roots), 1, "one root")
        return roots[0]

    def children(self):
        kids = [p for p in self.report["processes"] if p["role"] == "child"]
        eq(len(kids), 3, "three children")
        return kids

    def cleanup(self):
        shutil.rmtree(self.dir, ignore_errors=True)


def weight(p):
    """What folded lines weigh for a child: copied pages, unshared where the backend cannot split."""
    return p["child_copied_pages"] if p["child_copied_pages"] is not None else p["unshared_pages"]


def load_trace(run):
    text = run.cowscope("--format", "trace").stdout.decode()
    doc = json.loads(text, parse_constant=no_constant)
    eq(sorted(doc), ["displayTimeUnit", "otherData", "traceEvents"], "top-level keys")
    eq(doc["displayTimeUnit"], "ms", "displayTimeUnit")
    return doc["traceEvents"]


def fork_order(run, evs):
    """The children's pids in fork order, from the fork instants in the root's track."""
    root = run.root()["pid"]
    forks = [e for e in evs if e["ph"] == "i" and e["name"] == "fork"]
    eq(sorted(e["args"]["child_pid"] for e in forks), sorted(c["pid"] for c in run.children()),
       "a fork instant per child")
    for e in forks:
        eq((e["pid"], e["s"]), (root, "p"), "fork instant in the parent's track")
    return [e["args"]["child_pid"] for e in sorted(forks, key=lambda e: e["ts"])]


def labels(evs, order):
    """The children's labels as the story gives them (model/story.c): when two of them ran at
    once they are workers in fork order, a worker forked after an earlier one had ended while
    another still ran is "respawned worker K", the others "worker K of N" (N: those not
    respawned); when each ended before the next was forked they are "child K of N". The
    fixture's children do not wait for one another, so either can happen."""
    ends = {e["pid"]: e["ts"] for e in evs if e["ph"] == "i" and e["name"] == "exit"}
    forks = {e["args"]["child_pid"]: e["ts"] for e in evs if e["ph"] == "i" and e["name"] == "fork"}
    alive = [[ends[q] > forks[pid] for q in order[:k]] for k, pid in enumerate(order)]
    if not any(any(a) for a in alive):
        return {pid: f"child {k + 1} of {len(order)}" for k, pid in enumerate(order)}
    respawned = [any(a) and not all(a) for a in alive]
    n = respawned.count(False)
    return {pid: f"respawned worker {k + 1}" if respawned[k] else f"worker {k + 1} of {n}"
            for k, pid in enumerate(order)}


def check_names(run, evs, order):
    names = {e["pid"]: e["args"]["name"] for e in evs
             if e["ph"] == "M" and e["name"] == "process_name"}
    root = run.root()["pid"]
    want = {root: f"master cow_fixture (pid {root})"}
    want.update({pid: f"{lbl} cow_fixture (pid {pid})" for pid, lbl in labels(evs, order).items()})
    eq(names, want, "process names")
    sort = {e["pid"]: e["args"]["sort_index"] for e in evs
            if e["ph"] == "M" and e["name"] == "process_sort_index"}
    eq(sort, {pid: k for k, pid in enumerate([root] + order)}, "process_sort_index")


def close(got, want, what):
    check(abs(got - want) <= 1e-6 * max(abs(want), 1e-9), f"{what}: got {got}, want {want}")


def check_counters(run, evs):
    keys = (("copied", "child_copied_pages"), ("parent-unshared", "parent_unshared_pages"),
            ("unshared", "unshared_pages"))
    for c in run.children():
        track = [e for e in evs if e["ph"] == "C" and e["pid"] == c["pid"]]
        check(track, f"a counter track for child {c['pid']}")
        ts = [e["ts"] for e in track]
        eq(ts, sorted(ts), f"timestamps of child {c['pid']}'s track non-decreasing")
        last = track[-1]
        eq(last["name"], "COW (MiB)", "counter name")
        for arg, key in keys:
            if c[key] is None:
                check(arg not in last["args"], f"{arg} left out where the report has null")
            else:
                close(last["args"][arg], c[key] * c["page_size"] / MIB,
                      f"child {c['pid']}'s last {arg}")
    check(weight(c) >= K, "the children copied at least K pages")


def check_ends(run, evs):
    for p in run.report["processes"]:
        ends = [e for e in evs if e["ph"] == "i" and e["pid"] == p["pid"] and e["name"] == "exit"]
        eq(len(ends), 1, f"an exit instant for {p['pid']}")
        eq(ends[0]["args"]["exit_status"], 0, "exit status")
        if p["role"] == "child":
            fork = [e["ts"] for e in evs if e["name"] == "fork"
                    and e["args"]["child_pid"] == p["pid"]][0]
            check(fork <= ends[0]["ts"], f"child {p['pid']} forked before it exited")


def scenario_trace(run):
    evs = load_trace(run)
    order = fork_order(run, evs)
    check_names(run, evs, order)
    check_counters(run, evs)
    check_ends(run, evs)


def folded(run, by):
    lines = run.cowscope("--format", "folded", "--by", by).stdout.decode().splitlines()
    out = []
    for line in lines:
        stack, _, n = line.rpartition(" ")
        out.append((stack.split(";"), int(n)))
    return out


def scenario_folded(run):
    kids = {f"(pid {c['pid']})": c for c in run.children()}
    sums, region = {}, {}
    for frames, n in folded(run, "mapping"):
        eq(len(frames), 2, "process;mapping")
        who = frames[0][frames[0].index("(pid "):]
        check(who in kids, f"{frames[0]} is a child")
        sums[who] = sums.get(who, 0) + n
        if frames[1] == f"[anon {run.start:#x}]":
            region[who] = n
    eq(sums, {w: weight(c) for w, c in kids.items()}, "per-child sums of --by mapping")
    for w, c in kids.items():
        m = [m for m in c["mappings"] if int(m["start"]) == run.start][0]
        want = m["child_copied_pages"] if c["child_copied_pages"] is not None \
            else m["unshared_pages"]
        eq(region.get(w), want, f"the fixture's mapping in {w}")
    eq(sorted(region.values()), [K, 2 * K, 3 * K], "the fixture's mapping per child")
    root = run.root()["pid"]
    byp = {c["pid"]: weight(c) for c in run.children()}
    got = sorted(f"{';'.join(f)} {n}" for f, n in folded(run, "process"))
    evs = load_trace(run)
    want = sorted(f"cow_fixture (pid {root});{lbl} (pid {pid}) {byp[pid]}"
                  for pid, lbl in labels(evs, fork_order(run, evs)).items())
    eq(got, want, "--by process: one line per child, its copied pages")


def scenario_usage(run):
    for fmt in ("text", "json", "trace"):
        for by in ("mapping", "process"):
            r = run.cowscope("--format", fmt, "--by", by, status=2)
            check(f"--by {by} applies to --format folded" in r.stderr.decode(),
                  f"usage message for --format {fmt} --by {by}")


def scenario_exec(run):
    """A child that writes K pages then execs true: one track, named after true, an exec instant."""
    evs = load_trace(run)
    procs = run.report["processes"]
    images = [p for p in procs if p["cmd"] == "true"]  # its trace begins as a root's
    eq(len(images), 1, "the exec'd image in the report")
    pid = images[0]["pid"]
    roots = [p["pid"] for p in procs if p["role"] == "root" and p["pid"] != pid]
    eq(len(roots), 1, "the parent")
    root = roots[0]
    names = {e["pid"]: e["args"] for e in evs if e["ph"] == "M" and e["name"] == "process_name"}
    eq(names[pid], {"name": f"child 1 of 1 true (pid {pid})", "cmd": "true"}, "the child's name")
    eq(names[root]["name"], f"parent cow_fixture (pid {root})", "the parent's name")
    eq(len([e for e in evs if e["ph"] == "i" and e["name"] == "exec" and e["pid"] == pid]), 1,
       "an exec instant in the child's track")
    eq([e["args"]["child_pid"] for e in evs if e["name"] == "fork"], [pid], "one fork instant")
    measured = [p for p in run.report["processes"] if p["pid"] == pid
                and p["child_copied_pages"] is not None]
    eq(len(measured), 1, "the image with figures")
    last = [e for e in evs if e["ph"] == "C" and e["pid"] == pid][-1]
    close(last["args"]["copied"], measured[0]["child_copied_pages"] * measured[0]["page_size"] / MIB,
          "the exec'd child's last copied")
    check(measured[0]["child_copied_pages"] >= K, "the child copied at least K pages")


SCENARIOS = {"trace": scenario_trace, "folded": scenario_folded, "usage": scenario_usage,
             "exec": scenario_exec}


def test(opts):
    run = Run(opts, ("child-writes", N, K, "exec") if opts.scenario == "exec" else
              ("concurrent", N, K))
    try:
        SCENARIOS[opts.scenario](run)
    finally:
        run.cleanup()


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--cowscope", required=True)
    ap.add_argument("--fixture", required=True)
    ap.add_argument("scenario", choices=sorted(SCENARIOS))
    opts = ap.parse_args()
    return verdict(f"trace {opts.scenario}", test, opts)


if __name__ == "__main__":
    sys.exit(main())
