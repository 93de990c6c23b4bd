#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Perf event counters (docs/events.md): fixtures under `cowscope run` and plain LD_PRELOAD, checked
in the JSON report: counts, names, notes when a name or perf itself is refused, `cowscope events`."""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile

from cstest import Failure, check, eq, verdict

N, K = 256, 200  # pages the cow fixture maps; pages its child writes
DEFAULT = ["perf::PERF_COUNT_SW_PAGE_FAULTS", "perf::PERF_COUNT_SW_PAGE_FAULTS_MIN",
           "perf::PERF_COUNT_SW_PAGE_FAULTS_MAJ", "perf::PERF_COUNT_SW_CONTEXT_SWITCHES"]
MINFLT = "perf::PERF_COUNT_SW_PAGE_FAULTS_MIN"
CPU_CLOCK = "perf::PERF_COUNT_SW_CPU_CLOCK"


def report(opts, out):
    r = subprocess.run([opts.cowscope, "report", "--format", "json", out],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120)
    check(r.returncode == 0, f"report failed ({r.returncode}): {r.stderr.decode()}")
    return json.loads(r.stdout)


def run(opts, tmp, args, extra=(), launcher=()):
    """`cowscope run` of the cow fixture; (exit status, stderr, report)."""
    out = os.path.join(tmp, "run")
    p = subprocess.run([opts.cowscope, "run", "-q", "-o", out, "--interval", "0"] + list(extra) +
                       ["--"] + list(launcher) + [opts.fixture] + [str(a) for a in args],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120)
    return p.returncode, p.stderr.decode(), report(opts, out) if os.path.isdir(out) else None


def child(rep):
    kids = [p for p in rep["processes"] if p["role"] == "child"]
    eq(len(kids), 1, "children")
    return kids[0]


def test_minflt(opts, tmp):
    """The default events, counted and non-null in root and child; the child's minor faults
    cover its K writes; totals and the parent's group sum them."""
    status, err, rep = run(opts, tmp, ["child-writes", N, K, "exit"])
    eq(status, 0, "exit status")
    for p in rep["processes"]:
        eq(sorted(p["events"]), sorted(DEFAULT), f"pid {p['pid']}: events counted")
        for name in DEFAULT:
            ev = p["events"][name]
            check(ev["count"] is not None, f"pid {p['pid']}: {name} counted: {ev}")
            eq(ev["error"], None, f"pid {p['pid']}: {name} error")
    c = child(rep)
    flt = c["events"][MINFLT]["count"]
    check(flt >= K, f"child's minor faults {flt} >= {K} pages written")
    eq(c["events"]["perf::PERF_COUNT_SW_PAGE_FAULTS_MAJ"]["count"], 0, "no major faults")
    eq(c["counters"][MINFLT], flt, "counters maps the event name to its count (DESIGN.md)")
    eq(rep["totals"]["events"][MINFLT], flt, "totals: the one child's count")
    eq(rep["totals"]["groups"][0]["events"][MINFLT], flt, "its parent's group")
    text = subprocess.run([opts.cowscope, "report", os.path.join(tmp, "run")],
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=120).stdout
    check(b"FLT/COPY" in text and b"\nevents (" in text, "text: FLT/COPY column, events section")


def test_cpu_clock(opts, tmp):
    """--events with a name only libpfm4 encodes: counted alone, in every process."""
    status, err, rep = run(opts, tmp, ["child-writes", N, 20, "exit"], ["--events", CPU_CLOCK])
    eq(status, 0, "exit status")
    for p in rep["processes"]:
        eq(list(p["events"]), [CPU_CLOCK], f"pid {p['pid']}: events")
        ev = p["events"][CPU_CLOCK]
        check(ev["count"] is not None and ev["count"] > 0 and ev["error"] is None,
              f"pid {p['pid']}: cpu clock counted: {ev}")


def test_bogus(opts, tmp):
    """A bad name is a usage error naming it, before anything runs."""
    out = os.path.join(tmp, "run")
    p = subprocess.run([opts.cowscope, "run", "-q", "-o", out, "--events",
                        f"{MINFLT},bogus::thing", "--", opts.fixture, "idle", "8"],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120)
    eq(p.returncode, 2, "exit status")
    check("unknown event 'bogus::thing' (cowscope events lists them)" in p.stderr.decode(),
          f"message names it: {p.stderr.decode()!r}")
    check(not os.path.exists(out), "no run directory made")


def plain(opts, out, events):
    env = dict(os.environ)
    env.pop("LD_PRELOAD", None)
    if out:
        env.update(LD_PRELOAD=opts.shim, COWSCOPE_OUT=out, COWSCOPE_EVENTS=events)
    p = subprocess.run([opts.fixture, "child-writes", "64", "5", "exit"], env=env,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120)
    return p.returncode, p.stdout, p.stderr


def test_preload_bad_name(opts, tmp):
    """Plain LD_PRELOAD with a bad name: the program unchanged, a note naming it, the rest counted."""
    out = os.path.join(tmp, "run")
    eq(plain(opts, out, f"bogus::thing,{MINFLT}"), plain(opts, None, None),
       "(status, stdout, stderr) with the shim")
    rep = report(opts, out)
    for p in rep["processes"]:
        bad = p["events"]["bogus::thing"]
        eq((bad["count"], bad["error"] is not None), (None, True), f"pid {p['pid']}: bogus")
        check(p["events"][MINFLT]["count"] is not None, f"pid {p['pid']}: minor faults counted")
        notes = [n for n in p["notes"] if n["code"] == "events"]
        eq(len(notes), 1, f"pid {p['pid']}: one events note")
        check("bogus::thing" in notes[0]["text"], f"the note names it: {notes[0]}")


def test_denied(opts, tmp):
    """perf_event_open refused (seccomp, EACCES): every count null, the report says why, and
    the exit status is the fixture's."""
    want = subprocess.run([opts.noperf, opts.fixture, "child-writes", str(N), "20", "exit"],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120)
    status, err, rep = run(opts, tmp, ["child-writes", N, 20, "exit"], launcher=[opts.noperf])
    eq(status, want.returncode, "exit status, as without cowscope")
    fixture = [p for p in rep["processes"] if p["role"] == "child" or p["gen"] == 1]
    eq(len(fixture), 2, "the fixture's image and its child")
    for p in fixture:
        for name in DEFAULT:
            eq(p["events"][name]["count"], None, f"pid {p['pid']}.{p['gen']}: {name}")
            eq(p["events"][name]["error"], 13, f"pid {p['pid']}.{p['gen']}: {name} EACCES")
        notes = [n for n in p["notes"] if n["code"] == "events"]
        eq(len(notes), 1, f"pid {p['pid']}.{p['gen']}: one events note for all")
        check("not permitted" in notes[0]["text"], f"it says why: {notes[0]['text']}")
    text = subprocess.run([opts.cowscope, "report", os.path.join(tmp, "run")],
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=120).stdout
    check(b"perf events are not permitted here" in text, "the text report says why")


def test_list(opts, tmp):
    """`cowscope events` lists at least the software fault events, and exits 0."""
    p = subprocess.run([opts.cowscope, "events"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=120)
    eq(p.returncode, 0, "exit status")
    names = {line.split()[0] for line in p.stdout.decode().splitlines() if line.strip()}
    for name in ("perf::PERF_COUNT_SW_PAGE_FAULTS", "perf::PERF_COUNT_SW_PAGE_FAULTS_MIN",
                 "perf::PERF_COUNT_SW_PAGE_FAULTS_MAJ"):
        check(name in names, f"{name} listed")


PERF_FDS = """
import os, sys
def link(path):
    try:
        return os.readlink(path)
    except OSError:
        return ""  # listdir's own descriptor, closed since
def perf(pid):
    d = f"/proc/{pid}/fd"
    return sum(1 for f in os.listdir(d) if link(f"{d}/{f}") == "anon_inode:[perf_event]")
print(perf(os.getppid()), perf(os.getpid()))
"""


def test_held(opts, tmp):
    """`cowscope run` holds the 4 default software events open on itself (docs/events.md): the
    traced root sees exactly 4 perf descriptors in its parent, cowscope, and only its own 4 (none
    inherited); with --events none, none at all; the counts of test_minflt still hold."""
    for extra, want in (([], "4 4"), (["--events", "none"], "0 0")):
        out = os.path.join(tmp, "held" + str(len(extra)))
        p = subprocess.run([opts.cowscope, "run", "-q", "-o", out, "--interval", "0", "--no-python"]
                           + extra + ["--", sys.executable, "-c", PERF_FDS],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120)
        eq(p.returncode, 0, f"exit status {extra}: {p.stderr.decode()}")
        eq(p.stdout.decode().strip(), want, f"perf descriptors of cowscope, of CMD {extra}")
    test_minflt(opts, tmp)


TESTS = {"held": test_held, "minflt": test_minflt, "cpu-clock": test_cpu_clock, "bogus": test_bogus,
         "preload-bad-name": test_preload_bad_name, "denied": test_denied, "list": test_list}


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--cowscope", required=True)
    ap.add_argument("--shim", required=True)
    ap.add_argument("--fixture", required=True)
    ap.add_argument("--noperf", required=True)
    ap.add_argument("test", choices=sorted(TESTS))
    opts = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="evtest.")
    try:
        return verdict(opts.test, TESTS[opts.test], opts, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
