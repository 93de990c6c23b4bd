#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Integration driver: `cowscope check` limits, scopes, selections, exit codes and CI outputs."""
import argparse
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET

from cstest import SKIP, Failure, Skip, check, eq, verdict

MIB = 1048576.0
LIMITS = ["max-copied-pct", "max-copied-mib", "min-share-retained", "max-amplification",
          "max-parent-unshared-pct"]


class Ctx:
    def __init__(self, opts):
        self.o = opts
        self.tmp = tempfile.mkdtemp(prefix="checktest.")

    def record(self, name, cmd, *run_args, env=None):
        """`cowscope run -o DIR [run_args] -- cmd`: the run directory and its JSON report."""
        out = os.path.join(self.tmp, name)
        p = subprocess.run([self.o.cowscope, "run", "-q", "-o", out, "--interval", "0"] +
                           list(run_args) + ["--"] + cmd, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=300, env=env)
        if p.returncode == 4 and b"not usable" in p.stderr:
            raise Skip(p.stderr.decode().strip())
        check(p.returncode == 0, f"run {cmd[0]} exited {p.returncode}: {p.stderr.decode()}")
        r = subprocess.run([self.o.cowscope, "report", "--format", "json", out],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=300)
        check(r.returncode == 0, f"report failed: {r.stderr.decode()}")
        return out, json.loads(r.stdout)

    def check(self, *args, env=None):
        e = dict(os.environ, **(env or {}))
        for k in ("GITHUB_ACTIONS", "GITHUB_STEP_SUMMARY"):
            if not env or k not in env:
                e.pop(k, None)
        p = subprocess.run([self.o.cowscope, "check"] + [str(a) for a in args],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=300, env=e)
        return p.returncode, p.stdout.decode(), p.stderr.decode()

    def concurrent(self):
        """Three children at once copying 20, 40 and 60 of 256 pages."""
        env = dict(os.environ, COW_FIXTURE_INFO=os.path.join(self.tmp, "info"))
        return self.record("concurrent", [self.o.fixture, "concurrent", "256", "20"], env=env)


def kids(report):
    return [p for p in report["processes"] if p["role"] == "child" and p["gen"] == 0]


def amp(p):
    d = p["copied_diff"]
    return d["comparable_pages"] * p["page_size"] / d["changed_bytes"]


# The figure of each limit for one child, as the analyzer computes it (same IEEE operations).
CHILD = {
    "max-copied-pct": lambda p: p["child_copied_pages"] / p["shared_at_fork_pages"] * 100.0,
    "max-copied-mib": lambda p: p["child_copied_pages"] * p["page_size"] / MIB,
    "min-share-retained": lambda p: 100.0 * (1.0 - p["unshared_pages"] / p["shared_at_fork_pages"]),
    "max-amplification": amp,
    "max-parent-unshared-pct":
        lambda p: p["parent_unshared_pages"] / p["shared_at_fork_pages"] * 100.0,
}


def worst(report, lim):
    ks = [p for p in kids(report) if p["shared_at_fork_pages"] is not None]
    pick = min if lim == "min-share-retained" else max
    return pick(ks, key=CHILD[lim])


def tree_value(report, lim):
    t, ks = report["totals"], kids(report)
    ps = t["page_size"]
    if lim == "max-copied-pct":
        return t["child_copied_pages"] / t["shared_at_fork_pages"] * 100.0
    if lim == "max-copied-mib":
        return sum(p["child_copied_pages"] * ps for p in ks) / MIB
    if lim == "min-share-retained":
        return 100.0 * (1.0 - sum(p["unshared_pages"] * ps for p in ks) /
                        sum(p["shared_at_fork_pages"] * ps for p in ks))
    if lim == "max-parent-unshared-pct":
        return t["parent_unshared_pages"] / t["shared_at_fork_pages"] * 100.0
    return sum(p["copied_diff"]["comparable_pages"] * ps for p in ks) / \
        sum(p["copied_diff"]["changed_bytes"] for p in ks)


def edges(c, run, lim, value, scope):
    """At the limit: pass; one ulp on the wrong side: fail (exit 1, the sites named)."""
    worse = math.nextafter(value, math.inf if lim == "min-share-retained" else 0.0)
    rc, out, err = c.check(f"--{lim}", repr(value), "--scope", scope, run)
    eq(rc, 0, f"{lim} {value!r} ({scope}) at the limit: {out}{err}")
    check(": PASS\n" in out and "check PASS: 1 check passed" in out, f"{lim}: {out}")
    rc, out, err = c.check(f"--{lim}", repr(worse), "--scope", scope, run)
    eq(rc, 1, f"{lim} {worse!r} ({scope}) past the limit: {out}{err}")
    check(": FAIL\n" in out and "check FAIL: 1 of 1 checks failed" in out, f"{lim}: {out}")
    return out


def test_limits(c):
    """Every limit in both scopes: exactly at the limit passes, one ulp past fails."""
    run, rep = c.concurrent()
    eq(len(kids(rep)), 3, "children")
    for lim in LIMITS[:-1]:
        w = worst(rep, lim)
        out = edges(c, run, lim, CHILD[lim](w), "child")
        check(f"child pid {w['pid']} `cow_fixture`)" in out, f"{lim}: worst child named: {out}")
        if lim in ("max-copied-pct", "max-copied-mib"):
            # the child's 60 copied pages of the fixture's region: its top site is map_region
            check("child-copied" in out and "map_region" in out, f"{lim}: sites: {out}")
        out = edges(c, run, lim, tree_value(rep, lim), "tree")
        check("(tree: 3 children)" in out, f"{lim} tree: {out}")
    # parent-unshared: the parent writes 30 pages while its child waits
    env = dict(os.environ, COW_FIXTURE_INFO=os.path.join(c.tmp, "info-p"))
    prun, prep = c.record("pwrites", [c.o.fixture, "parent-writes", "256", "30"], env=env)
    lim = "max-parent-unshared-pct"
    w = worst(prep, lim)
    check(w["parent_unshared_pages"] >= 30, f"parent unshared: {w}")
    edges(c, prun, lim, CHILD[lim](w), "child")
    edges(c, prun, lim, tree_value(prep, lim), "tree")
    # the worst child copies 60 + a few pages, the tree 120 + a few: 0.3 MiB passes child only
    rc, out, _ = c.check("--max-copied-mib", "0.3", run)
    eq(rc, 0, f"child 0.3 MiB: {out}")
    rc, out, _ = c.check("--max-copied-mib", "0.3", "--scope", "tree", run)
    eq(rc, 1, f"tree 0.3 MiB: {out}")
    # several limits: one line each, the verdict counts the failures
    rc, out, _ = c.check("--max-copied-pct", "100", "--min-share-retained", "99.9",
                         "--max-copied-mib", "0", run)
    eq(rc, 1, f"two of three fail: {out}")
    check("check FAIL: 2 of 3 checks failed (child scope, 3 children)" in out, out)


def test_usage(c):
    """No limit, a bad number, an unknown phase: usage errors (2); no run: 3."""
    run, _ = c.concurrent()
    for args in ([run], ["--max-copied-pct", "x", run], ["--max-copied-pct", "-1", run],
                 ["--max-copied-pct", "5", "--scope", "forest", run],
                 ["--max-copied-pct", "5", "--phase", "nope", run]):
        rc, out, err = c.check(*args)
        eq(rc, 2, f"{args}: {out}{err}")
    rc, out, err = c.check("--max-copied-pct", "5", run, run)
    eq(rc, 2, f"two runs: {err}")
    rc, out, err = c.check("--max-copied-pct", "5", os.path.join(c.tmp, "nothing"))
    eq(rc, 3, f"no run: {err}")
    check("nothing" in err, f"names the run: {err}")


def test_only(c):
    """--only NAME: sh's forked child (before its exec) or cow_fixture's."""
    env = dict(os.environ, COW_FIXTURE_INFO=os.path.join(c.tmp, "info-only"))
    run, rep = c.record("only", ["/bin/sh", "-c", f"{c.o.fixture} child-writes 256 100 exit; "
                                 "exit 0"], env=env)
    fix = [p for p in kids(rep) if os.path.basename(p["exe"] or "") == "cow_fixture"]
    eq(len(fix), 1, "cow_fixture's child")
    v = CHILD["max-copied-pct"](fix[0])
    check(fix[0]["child_copied_pages"] >= 100, f"it copied its 100 pages: {fix[0]}")
    rc, out, _ = c.check("--only", "cow_fixture", "--max-copied-pct", repr(v), run)
    eq(rc, 0, f"only cow_fixture at its value: {out}")
    check(f"one child pid {fix[0]['pid']} `cow_fixture`" in out, out)
    rc, out, _ = c.check("--only", "sh", "--max-copied-pct", "30", run)
    check(rc in (0, 3) and "cow_fixture" not in out.split("check")[0], f"only sh: {out}")
    rc, out, err = c.check("--only", "nosuch", "--max-copied-pct", "30", run)
    eq(rc, 3, f"nothing selected: {out}{err}")
    check("no child it covers has figures" in out, out)


def test_phase(c):
    """--phase: the worker before the mark copies 100 pages, the one after 10."""
    run, rep = c.record("phase", [c.o.phase_fixture, "256", "100", "10"])
    by = {p["phase"]: p for p in kids(rep)}
    eq(sorted(by), ["frozen", "start"], "phases")
    for ph, pages in (("start", 100), ("frozen", 10)):
        v = CHILD["max-copied-pct"](by[ph])
        check(pages <= by[ph]["child_copied_pages"] <= pages + 16, f"{ph}: {by[ph]}")
        rc, out, _ = c.check("--phase", ph, "--max-copied-pct", repr(v), run)
        eq(rc, 0, f"{ph} at its value: {out}")
        check(f"pid {by[ph]['pid']}" in out, out)
    rc, out, _ = c.check("--phase", "frozen", "--max-copied-pct", "20", run)
    eq(rc, 0, f"frozen under 20%: {out}")
    rc, out, _ = c.check("--max-copied-pct", "20", run)
    eq(rc, 1, f"the whole run over 20%: {out}")


def test_exclusive(c):
    """The exclusive backend cannot split copies: exit 3 with the reason, never a pass."""
    env = dict(os.environ, COW_FIXTURE_INFO=os.path.join(c.tmp, "info-x"))
    run, _ = c.record("exclusive", [c.o.fixture, "child-writes", "256", "20", "exit"],
                      "--backend", "exclusive", env=env)
    for lim in ("max-copied-pct", "max-copied-mib", "max-parent-unshared-pct"):
        for scope in ("child", "tree"):
            rc, out, err = c.check(f"--{lim}", "100", "--scope", scope, run)
            eq(rc, 3, f"{lim} {scope} on exclusive: {out}{err}")
            check(f"cannot check --{lim}: the backend `exclusive` cannot tell" in err, err)
    rc, out, _ = c.check("--min-share-retained", "50", run)
    eq(rc, 0, f"share retained is known on exclusive: {out}")


def test_diff_off(c):
    """Amplification on a run without changed words: exit 3 naming why."""
    env = dict(os.environ, COW_FIXTURE_INFO=os.path.join(c.tmp, "info-d"))
    run, _ = c.record("diffoff", [c.o.fixture, "child-writes", "256", "20", "exit"],
                      "--diff", "off", env=env)
    for scope in ("child", "tree"):
        rc, out, err = c.check("--max-amplification", "1000", "--scope", scope, run)
        eq(rc, 3, f"{scope}: {out}{err}")
        check("cannot check --max-amplification: the run has no changed-word figures "
              "(format < 1.4 or --diff off)" in err, err)


def test_junit(c):
    """--junit: valid XML (xmllint), one testcase per limit, failures with messages."""
    if not shutil.which("xmllint"):
        raise Skip("no xmllint (libxml2-utils)")
    run, _ = c.concurrent()
    j = os.path.join(c.tmp, "junit.xml")
    rc, out, _ = c.check("--junit", j, "--max-copied-pct", "100", "--max-copied-mib", "0",
                         "--min-share-retained", "99.99", "--scope", "tree", run)
    eq(rc, 1, out)
    x = subprocess.run(["xmllint", "--noout", j], stderr=subprocess.PIPE)
    eq(x.returncode, 0, f"xmllint: {x.stderr.decode()}")
    root = ET.parse(j).getroot()
    suites = root.findall("testsuite")
    eq(len(suites), 1, "testsuites")
    s = suites[0]
    eq(s.get("name"), "cowscope check", "suite name")
    eq((s.get("tests"), s.get("failures"), s.get("errors")), ("3", "2", "0"), "counts")
    cases = s.findall("testcase")
    eq([t.get("name") for t in cases],
       ["max-copied-pct 100 (tree scope)", "max-copied-mib 0 (tree scope)",
        "min-share-retained 99.99 (tree scope)"], "testcases")
    eq([len(t.findall("failure")) for t in cases], [0, 1, 1], "failures")
    m = cases[1].find("failure").get("message")
    check(m.startswith("copied ") and "(tree: 3 children) \u2264 0 MiB" in m, m)


def test_github(c):
    """GITHUB_ACTIONS=true: ::error annotations at the top site's line, a summary table."""
    run, _ = c.concurrent()
    summ = os.path.join(c.tmp, "summary.md")
    with open(summ, "w") as f:
        f.write("before\n")
    env = {"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": summ}
    rc, out, _ = c.check("--max-copied-pct", "1", "--min-share-retained", "0", run, env=env)
    eq(rc, 1, out)
    ann = [l for l in out.splitlines() if l.startswith("::")]
    eq(len(ann), 1, f"one annotation: {out}")
    check(ann[0].startswith("::error file=") and "cow_fixture.c,line=" in ann[0] and
          ann[0].endswith("\u2264 1%25: FAIL") and "::copied " in ann[0], ann[0])
    with open(summ) as f:
        md = f.read()
    check(md.startswith("before\n### cowscope check"), md)
    check("| check | result |\n|---|---|\n" in md, md)
    rows = [l for l in md.splitlines() if l.startswith("| ") and "result" not in l]
    eq(len(rows), 2, f"rows: {md}")
    check(rows[0].endswith("| FAIL |") and rows[1].endswith("| PASS |"), md)
    check("**check FAIL: 1 of 2 checks failed" in md, md)
    rc, out, _ = c.check("--max-copied-pct", "1", run)
    check(not any(l.startswith("::") for l in out.splitlines()), f"no annotations: {out}")


def test_bmf(c):
    """--bmf: one entry per parent and "tree", with the totals' figures."""
    run, rep = c.concurrent()
    b = os.path.join(c.tmp, "bmf.json")
    rc, out, _ = c.check("--bmf", b, "--max-copied-pct", "100", run)
    eq(rc, 0, out)
    with open(b) as f:
        bmf = json.load(f)
    root = [p for p in rep["processes"] if p["role"] == "root"][0]
    name = f"cow_fixture (parent pid {root['pid']})"
    eq(sorted(bmf), sorted([name, "tree"]), "groups")
    t, ks = rep["totals"], kids(rep)
    for k in (name, "tree"):
        e = bmf[k]
        eq(sorted(e), ["amplification", "copied_mib", "share_retained"], f"{k} keys")
        check(abs(e["copied_mib"]["value"] - t["child_copied_pages"] * 4096 / MIB) < 1e-6, k)
        check(abs(e["share_retained"]["value"] - 100 * t["share_retained"]) < 1e-3, k)
        check(abs(e["amplification"]["value"] - tree_value(rep, "max-amplification")) < 1e-3, k)


def test_prefork_sim(c):
    """The project's own gate: prefork-sim out-of-line + freeze keeps >= 95% shared."""
    run, _ = c.record("sim", [c.o.sim, "-n", "100000", "-w", "2", "-r", "300", "--reads", "100",
                              "--gc-every", "100", "--layout", "outofline", "--freeze"])
    rc, out, err = c.check("--min-share-retained", "95", run)
    eq(rc, 0, f"prefork-sim outofline+freeze: {out}{err}")
    rc, out, err = c.check("--min-share-retained", "95", "--scope", "tree", run)
    eq(rc, 0, f"prefork-sim outofline+freeze, tree: {out}{err}")


def test_python(c):
    """The CPython example: a gc.collect() worker after gc.freeze() keeps >= 95% shared."""
    if not os.access(c.o.python, os.X_OK):
        raise Skip(f"no {c.o.python}")
    env = dict(os.environ, PYTHONPATH=c.o.pythonpath)
    run, _ = c.record("py", [c.o.python, c.o.example, "--objects", "200000", "--tasks", "collect",
                              "--freeze"],
                      env=env)
    rc, out, err = c.check("--min-share-retained", "95", "--only", "python3", run)
    eq(rc, 0, f"python --freeze: {out}{err}")


TESTS = {
    "limits": test_limits, "usage": test_usage, "only": test_only, "phase": test_phase,
    "exclusive": test_exclusive, "diff-off": test_diff_off, "junit": test_junit,
    "github": test_github, "bmf": test_bmf, "prefork-sim": test_prefork_sim,
    "python": test_python,
}


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    for a in ("cowscope", "fixture", "phase-fixture", "sim", "python", "example", "pythonpath"):
        ap.add_argument("--" + a, required=True)
    ap.add_argument("test", choices=sorted(TESTS))
    opts = ap.parse_args()
    c = Ctx(opts)
    try:
        return verdict(opts.test, TESTS[opts.test], c)
    finally:
        shutil.rmtree(c.tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
