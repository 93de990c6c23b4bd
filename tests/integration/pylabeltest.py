#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Integration driver: the CPython helper's labels (docs/python.md, issue 14).

Scenarios:
  inert      plain python3 with the helper on PYTHONPATH and no shim: 100 forks exit with known
             statuses, the output is the same as without the helper, a sitecustomize it hides runs
  recorder   the helper against a stand-in cowscope_label_ranges that writes its calls down: one
             "python-type" call, exactly 200,000 ranges of __main__.A and of __main__.B, the first
             B's range at its address minus its headers, gc left enabled
  recorder-lines  the same with COWSCOPE_PYTHON_LINES=8: a "python-line" call whose label for the
             fixture's B line covers the 200,000 B objects
  records    `cowscope run`: the parent's trace holds one complete "python-type" labelling with
             >= 200,000 B ranges (skips while the shim has no cowscope_label_ranges)
  report     the child's copies charged >= 90% to __main__.B, <= 5% to __main__.A
  lines      --python-lines: >= 90% of the copies charged to the fixture's B line
  freeze     a child's gc.collect() copies GC-tracked objects' pages, less after gc.freeze()
(report, lines, freeze skip while the report has no "labels" key.)
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile

from cstest import SKIP, Failure, Skip, check, eq, verdict
from cstrace import trace_of

N = 200_000
# CPython 3.11, x86-64: an instance of a plain class sits behind its managed-dict pointers
# (2 words) and its GC header (2 words); __basicsize__ 24 (object header + __weakref__).
PRE_311 = 32


def run(cmd, ok=(0,), **kw):
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=300, **kw)
    check(p.returncode in ok, f"{cmd[:5]}... exited {p.returncode}: {p.stderr.decode()[-2000:]}")
    return p.stdout.decode()


class Ctx:
    def __init__(self, o):
        self.o = o
        self.tmp = tempfile.mkdtemp(prefix="pylabel.")
        self.helper = os.path.join(o.build_shim, "python")

    def env(self, **kw):
        e = dict(os.environ)
        for k in ("LD_PRELOAD", "PYTHONPATH", "COWSCOPE_PYTHON_LINES"):
            e.pop(k, None)
        e.update(kw)
        return e

    def fixture(self, *args, env):
        out = run([self.o.python, self.o.fixture] + list(args), env=env)
        return parse_fixture(out)

    def cowscope_run(self, name, *args, opts=()):
        d = os.path.join(self.tmp, name)
        out = run([self.o.cowscope, "run", "-q", "-o", d, "--interval", "0"] + list(opts) +
                  ["--", self.o.python, self.o.fixture] + list(args), env=self.env())
        return d, parse_fixture(out)

    def report(self, d):
        return json.loads(run([self.o.cowscope, "report", "--format", "json", d]))


def parse_fixture(out):
    lines = out.split("\n")
    check(lines[0].startswith("ids ") and "child 0" in lines, f"fixture said {out!r}")
    pid, a0, a1, b0, b1 = map(int, lines[0].split()[1:])
    return {"pid": pid, "a": (a0, a1), "b": (b0, b1)}


def b_line(o):
    """The fixture's line that builds the B objects."""
    with open(o.fixture) as f:
        for i, line in enumerate(f, 1):
            if "# the B line" in line:
                return i
    raise Failure("no B line in the fixture")


# ---- inert -----------------------------------------------------------------------------------

FORKER = r"""
import gc, os, sys
st = []
for i in range(100):
    pid = os.fork()
    if pid == 0:
        os._exit(i % 7 + 1)
    st.append(os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]))
print(st == [i % 7 + 1 for i in range(100)], gc.isenabled(), "tracemalloc" in sys.modules,
      sum(st))
"""


def inert(c):
    hidden = os.path.join(c.tmp, "hidden")
    os.mkdir(hidden)
    marker = os.path.join(c.tmp, "marker")
    with open(os.path.join(hidden, "sitecustomize.py"), "w") as f:
        f.write(f"open({marker!r}, 'w').write('hidden ran')\n")
    plain = run([c.o.python, "-c", FORKER], env=c.env(PYTHONPATH=hidden))
    os.unlink(marker)
    helped = run([c.o.python, "-c", FORKER],
                 env=c.env(PYTHONPATH=c.helper + os.pathsep + hidden))
    eq(helped, plain, "output with the helper and without")
    eq(plain.split(), ["True", "True", "False", str(sum(i % 7 + 1 for i in range(100)))],
       "the forks' statuses")
    with open(marker) as f:
        eq(f.read(), "hidden ran", "the hidden sitecustomize's marker")


# ---- against a stand-in for the shim -------------------------------------------------------------

def recorded(path):
    """[(kind, names, [(addr, len, weight, label)])] from the stand-in's file."""
    calls = []
    with open(path) as f:
        for line in f:
            head, _, rest = line.rstrip("\n").partition(" ")
            if head == "call":
                kind, nn, n = rest.split()
                calls.append((kind, [], [], int(nn), int(n)))
            elif head == "name":
                calls[-1][1].append(rest.partition(" ")[2])
            elif head == "range":
                a, ln, w, lab, fl = map(int, rest.split())
                check(fl == 0, f"range flags {fl}")
                calls[-1][2].append((a, ln, w, lab))
    for kind, names, ranges, nn, n in calls:
        eq((len(names), len(ranges)), (nn, n), f"{kind}: names and ranges written")
    return [(k, names, ranges) for k, names, ranges, _, _ in calls]


def by_label(names, ranges, name):
    check(name in names, f"{name} not among the labels {names[:20]}...")
    lab = names.index(name)
    return [r for r in ranges if r[3] == lab]


def recorder(c, lines=False):
    if sys.version_info[:2] != (3, 11) and "3.11" not in run([c.o.python, "--version"]):
        raise Skip("the exact layout checked is CPython 3.11's")
    path = os.path.join(c.tmp, "calls")
    kw = {"COWSCOPE_PYTHON_LINES": "8"} if lines else {}
    f = c.fixture(env=c.env(LD_PRELOAD=c.o.recorder, PYTHONPATH=c.helper,
                            COWSCOPE_LABEL_RECORD=path, **kw))
    calls = recorded(path)
    eq([k for k, _, _ in calls], ["python-type"] + (["python-line"] if lines else []), "calls")
    _, names, ranges = calls[0]
    a = by_label(names, ranges, "__main__.A")
    b = by_label(names, ranges, "__main__.B")
    eq((len(a), len(b)), (N, N), "A and B ranges")
    # the pre-header (32) and the object (24: its header and weakref slot) in a 16-byte
    # aligned pymalloc block: 64 bytes
    size = (PRE_311 + 24 + 15) & -16
    check(all(r[1] == size and r[2] == size for r in a + b), "A/B ranges of 64 bytes, weight 64")
    addrs = {r[0] for r in b}
    check(f["b"][0] - PRE_311 in addrs and f["b"][1] - PRE_311 in addrs,
          f"the first and last B at their id - {PRE_311}")
    check(f["a"][0] - PRE_311 in {r[0] for r in a}, "the first A at its id - 32")
    check(len({r[0] for r in ranges}) == len(ranges), "every object once")
    for t in ("dict", "str", "int", "type", "module"):
        check(t in names, f"type {t} labelled")
    print(f"python-type: {len(ranges)} ranges, {len(names)} types, "
          f"{sum(r[1] for r in ranges)} bytes")
    if not lines:
        return
    _, lnames, lranges = calls[1]
    want = f"{c.o.fixture}:{b_line(c.o)}"
    hits = [n for n in lnames if n.endswith(want)]
    check(hits, f"no python-line label ends with {want}")
    on_b = [r for r in lranges if lnames[r[3]] == hits[0]]
    b_at = {r[0] for r in on_b}
    check(sum(1 for r in b if r[0] in b_at) == N, "every B on the B line's label")
    outer = hits[0].split(";")
    check(len(outer) >= 2 and outer[-1] == want and outer[0].endswith(":" + str(main_line(c.o))),
          f"outermost first: {hits[0]}")


def main_line(o):
    """The fixture's line calling main() (outermost frame of everything it builds)."""
    with open(o.fixture) as f:
        for i, line in enumerate(f, 1):
            if line.strip() == "sys.exit(main())":
                return i
    raise Failure("no main call in the fixture")


# ---- under cowscope run ---------------------------------------------------------------------------

def has_label_api(c):
    out = run(["nm", "-D", "--defined-only", c.o.shim], ok=(0, 1))
    return " cowscope_label_ranges" in out


def records(c):
    if not has_label_api(c):
        raise Skip("the shim has no cowscope_label_ranges yet (task labshim)")
    d, f = c.cowscope_run("records")
    labs = [x for x in trace_of(d, f["pid"]).labellings() if x.kind == "python-type"]
    eq(len(labs), 1, "python-type labellings in the parent's trace")
    lab = labs[0]
    check(lab.complete, f"labelling complete: {len(lab.ranges)} of {lab.nranges}")
    b = by_label(lab.names, lab.ranges, "__main__.B")
    check("__main__.A" in lab.names, "__main__.A labelled")
    bbytes = N * ((PRE_311 + 24 + 15) & -16)
    check(len(b) >= N or sum(r[2] for r in b) >= bbytes, f"{len(b)} B ranges")
    lo, hi = min(r[0] for r in b), max(r[0] + r[1] for r in b)
    check(lo <= f["b"][0] - PRE_311 < hi, "B ranges around the first B")
    print(f"{len(lab.ranges)} ranges, {len(lab.names)} labels, {lab.bytes} bytes, B {len(b)}")


def labels_of(rep, kind):
    """The child's labels table of that kind (skips while the report has none)."""
    kids = [p for p in rep["processes"] if p["role"] == "child"]
    eq(len(kids), 1, "children in the report")
    if "labels" not in kids[0]:
        raise Skip("the report has no \"labels\" yet (task labanalyzer)")
    ks = [x for x in kids[0]["labels"] if x["kind"] == kind]
    eq(len(ks), 1, f"{kind} tables of the child")
    return kids[0], ks[0]


def copied(fig):
    v = fig.get("child_copied_pages")
    return v if v is not None else fig["unshared_pages"]


def shares(c, name, opts=(), kind="python-type"):
    if not has_label_api(c):
        raise Skip("the shim has no cowscope_label_ranges yet (task labshim)")
    d, _ = c.cowscope_run(name, opts=opts)
    kid, t = labels_of(c.report(d), kind)
    total = copied(kid)
    rows = {r["label"]: copied(r) for r in t["rows"]}
    s = sum(rows.values()) + copied(t["not_labelled"])
    check(abs(s - total) <= 1e-6 * max(1, total), f"rows + not labelled {s}, child {total}")
    return total, rows


def report(c):
    total, rows = shares(c, "report")
    b, a = rows.get("__main__.B", 0), rows.get("__main__.A", 0)
    print(f"child copied {total} pages: B {b}, A {a}")
    check(b >= 0.9 * total, f"B's share {b} of {total}")
    check(a <= 0.05 * total, f"A's share {a} of {total}")


def lines(c):
    """--python-lines: the copies charged to a line are the B line's. Under tracemalloc the child
    also copies a few hundred pages of tracemalloc's own tables (its after-fork allocations are
    traced), which no object covers: "not labelled". So: the B line holds >= 95% of what lines
    hold, and >= 85% of all the child copied (90-94% measured)."""
    total, rows = shares(c, "lines", opts=["--python-lines"], kind="python-line")
    want = f"{c.o.fixture}:{b_line(c.o)}"
    on = sum(v for k, v in rows.items() if k.split(";")[-1] == want)
    labelled = sum(rows.values())
    print(f"child copied {total} pages, {labelled} charged to lines, {on} on {want}")
    check(on >= 0.95 * labelled, f"the B line's share {on} of the {labelled} charged to lines")
    check(on >= 0.85 * total, f"the B line's share {on} of {total}")


def diff_rows(c, before, after):
    """`cowscope diff --format json BEFORE AFTER`'s python-type rows: {label: (before, after)}."""
    df = json.loads(run([c.o.cowscope, "diff", "--format", "json", before, after]))
    kinds = [k for k in df["labels"] if k["kind"] == "python-type"]
    eq(len(kinds), 1, "python-type in the diff's labels")
    return {r["label"]: (r["before"] or 0, r["after"] or 0) for r in kinds[0]["rows"]}


def freeze(c):
    """gc.freeze() before the fork: a collection in the child no longer writes the tracked
    objects' GC headers (A, B and the lists holding them: their copies go), while reading the
    Bs still writes their reference counts (B's copies stay)."""
    if not has_label_api(c):
        raise Skip("the shim has no cowscope_label_ranges yet (task labshim)")
    runs = {name: c.cowscope_run(name, *args)[0] for name, args in (
        ("collect", ["--collect"]), ("collect-frozen", ["--collect", "--freeze"]),
        ("read", []), ("read-frozen", ["--freeze"]))}
    got = {}
    for name in ("collect", "collect-frozen"):
        _, t = labels_of(c.report(runs[name]), "python-type")
        got[name] = {r["label"]: copied(r) for r in t["rows"]}
    tracked = ("__main__.A", "__main__.B", "list")
    before = sum(got["collect"].get(k, 0) for k in tracked)
    after = sum(got["collect-frozen"].get(k, 0) for k in tracked)
    print(f"GC-tracked types' copies: {before} pages without gc.freeze(), {after} with")
    check(before >= 0.8 * 2 * N * 64 / 4096, f"collect copied only {before} pages of A and B")
    check(after <= 0.1 * before, f"after freeze {after}, before {before}")
    # the same through cowscope diff: the GC-header copies gone ...
    rows = diff_rows(c, runs["collect"], runs["collect-frozen"])
    for k in ("__main__.A", "__main__.B"):
        b, a = rows.get(k, (0, 0))
        print(f"diff, collect: {k} {b} -> {a}")
        check(b >= 0.8 * N * 64 / 4096 and a <= 0.1 * b, f"diff collect {k}: {b} -> {a}")
    # ... the reference-count copies of reading the Bs unchanged (within 10%)
    rows = diff_rows(c, runs["read"], runs["read-frozen"])
    b, a = rows.get("__main__.B", (0, 0))
    print(f"diff, read: __main__.B {b} -> {a}")
    check(b >= 0.8 * N * 64 / 4096 and abs(a - b) <= 0.1 * b, f"diff read B: {b} -> {a}")


def off(c):
    """`cowscope run --no-python-labels`: no labelling in the parent's trace, none in the report,
    the child still measured (the fixture's child leaves with os._exit: its last snapshot)."""
    if not has_label_api(c):
        raise Skip("the shim has no cowscope_label_ranges yet (task labshim)")
    d, f = c.cowscope_run("off", opts=["--no-python-labels"])
    eq(trace_of(d, f["pid"]).labellings(), [], "labellings in the parent's trace")
    kids = [p for p in c.report(d)["processes"] if p["role"] == "child"]
    eq([(k["labels"], k["figures_from"]) for k in kids], [([], "_exit")],
       "the child: no labels, figures from its _exit snapshot")
    check(kids[0]["child_copied_pages"] >= 0.8 * N * 64 / 4096,
          f"the child copied the Bs' pages: {kids[0]['child_copied_pages']}")


TESTS = {"inert": inert, "off": off, "recorder": recorder,
         "recorder-lines": lambda c: recorder(c, lines=True),
         "records": records, "report": report, "lines": lines, "freeze": freeze}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cowscope", required=True)
    ap.add_argument("--shim", required=True)
    ap.add_argument("--build-shim", required=True, help="the build tree's shim directory")
    ap.add_argument("--recorder", required=True, help="the stand-in for the shim's function")
    ap.add_argument("--python", default="/usr/bin/python3")
    ap.add_argument("--fixture", required=True)
    ap.add_argument("test", choices=sorted(TESTS))
    o = ap.parse_args()
    if not shutil.which(o.python):
        print(f"SKIP: {o.python} not found")
        return SKIP
    c = Ctx(o)
    try:
        return verdict(o.test, TESTS[o.test], c)
    finally:
        shutil.rmtree(c.tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
