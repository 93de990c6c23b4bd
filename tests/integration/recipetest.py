#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Integration: the recipes' examples (docs/recipes/) at small sizes, asserting their directions.

  c          tools/examples/recipe_prefork_counters: moving the per-request counters out of the
             shared table (MAP_SHARED) lowers the workers' copies by >= 90%, and `cowscope diff`
             says so in its totals;
  mp         tools/examples/recipe_mp_loader.py: the Pool workers reading a list of floats copy
             most of the floats' pages; with the same numbers in an array('d') or a bytes buffer
             they copy < 10% of that (both net of what a Pool worker copies with no data);
  gunicorn   Debian's gunicorn --preload with tools/examples/recipe_gunicorn_app.py: the config
             file with gc.freeze() in pre_fork lowers the workers' copies by >= 50%;
  redis      tools/examples/recipe_redis_bgsave.py: the save child copies little, the parent's
             writes unshare most (parent-unshared dominates), Redis logs its "Fork CoW" line,
             and the child's Private_Dirty read while it is stopped is what cowscope calls
             unshared (child-copied + parent-unshared), within 5% + 2 MiB.
Skips (77) when gunicorn or redis-server is missing.
"""
import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import urllib.request

from cstest import SKIP, Failure, Skip, check, children, free_port, verdict, wait_until

PY = "/usr/bin/python3"
TIMEOUT_S = 120


def run(cmd, **kw):
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=TIMEOUT_S,
                       **kw)
    check(p.returncode == 0, f"{cmd[:5]}... exited {p.returncode}: {p.stderr.decode()[-2000:]}")
    return p.stdout.decode()


class Ctx:
    def __init__(self, opts):
        self.o = opts
        self.tmp = tempfile.mkdtemp(prefix="recipetest.")
        self.examples = opts.examples

    def record(self, name, *cmd):
        out = os.path.join(self.tmp, name)
        run([self.o.cowscope, "run", "-q", "-o", out, "--"] + list(cmd))
        return out

    def report(self, d):
        return json.loads(run([self.o.cowscope, "report", "--format", "json", d]))

    def workers_copied(self, d):
        """Each child's child-copied pages, in pid order."""
        kids = sorted((p for p in self.report(d)["processes"] if p["role"] == "child"),
                      key=lambda p: p["pid"])
        check(all(p["child_copied_pages"] is not None for p in kids), f"{d}: unmeasured child")
        return [p["child_copied_pages"] for p in kids]


def test_c(c):
    exe = c.o.prefork
    args = ["--records", "65536", "--workers", "4", "--requests", "100000"]
    before = c.record("c-inline", exe, *args)
    after = c.record("c-fix", exe, "--fix", *args)
    b, a = c.workers_copied(before), c.workers_copied(after)
    print(f"c: inline copies {b}, out-of-line {a} (pages; table 1024 pages)")
    check(len(b) == 4 and len(a) == 4, f"4 workers each: {b} {a}")
    # 100,000 random requests over 1,024 pages of records hit every page: each worker copies all
    check(all(x >= 1024 for x in b), f"inline: every worker copies the whole table: {b}")
    check(sum(a) <= 0.1 * sum(b), f"the fix lowers copies by >= 90%: {sum(b)} -> {sum(a)}")
    df = json.loads(run([c.o.cowscope, "diff", "--format", "json", before, after]))
    check(df["before"]["child_copied_pages"] == sum(b) and
          df["after"]["child_copied_pages"] == sum(a), f"diff totals: {df['before']}")
    check(df["headline"]["change_percent"] <= -90, f"diff headline: {df['headline']}")


def mp_copied(c, store, samples):
    d = c.record(f"mp-{store}-{samples}", PY, os.path.join(c.examples, "recipe_mp_loader.py"),
                 "--store", store, "--samples", str(samples))
    return sum(c.workers_copied(d))


def test_mp(c):
    n = 1_000_000
    base = mp_copied(c, "array", 1000)
    got = {s: mp_copied(c, s, n) - base for s in ("list", "array", "bytes")}
    print(f"mp: copies net of an empty Pool's {base} pages: {got}")
    floats = n * 24 // 4096  # a float is 24 bytes in pymalloc's 24-byte class
    check(got["list"] >= 0.8 * floats, f"the list workers copy the floats' pages: {got}")
    for s in ("array", "bytes"):
        check(got[s] < 0.1 * got["list"], f"{s} copies < 10% of the list's: {got}")


def gunicorn_get(port, query=""):
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/?{query}", timeout=30) as r:
            return int(r.read().split()[0]) if r.status == 200 else None
    except OSError:
        return None


def gunicorn_serve(c, name, *conf):
    out, port = os.path.join(c.tmp, name), free_port()
    cmd = [c.o.cowscope, "run", "-q", "-o", out, "--", c.o.gunicorn, "--preload", "-w", "2", "-b",
           f"127.0.0.1:{port}", "--chdir", c.examples] + list(conf) + ["recipe_gunicorn_app:app"]
    sup = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                           stderr=subprocess.PIPE, env=dict(os.environ, RECIPE_RECORDS="60000"))
    try:
        master = wait_until(lambda: (children(sup.pid) or [None])[0], "the gunicorn master")
        workers = set(wait_until(lambda: len(children(master)) == 2 and children(master),
                                 "two workers"))
        seen, q = set(), 0
        while seen != workers:  # every worker must serve: bounded by the 60 s wait below
            pid = wait_until(lambda: gunicorn_get(port, q), "a reply")
            seen.add(pid)
            q += 1000
            check(q < 1_000_000, f"requests reached only {seen} of {workers}")
        os.kill(master, signal.SIGTERM)
        _, err = sup.communicate(timeout=TIMEOUT_S)
        check(sup.returncode == 0, f"cowscope run exit status {sup.returncode}: {err!r}")
    finally:
        if sup.poll() is None:
            sup.kill()
            sup.wait()
    return out


def test_gunicorn(c):
    if not os.access(c.o.gunicorn, os.X_OK):
        raise Skip(f"{c.o.gunicorn} is not installed")
    plain = c.workers_copied(gunicorn_serve(c, "gu-plain"))
    conf = os.path.join(c.examples, "recipe_gunicorn_conf.py")
    frozen = c.workers_copied(gunicorn_serve(c, "gu-freeze", "-c", conf))
    print(f"gunicorn: workers copy {plain} pages, with gc.freeze() {frozen}")
    check(len(plain) == 2 and len(frozen) == 2, f"two workers each: {plain} {frozen}")
    check(sum(frozen) <= 0.5 * sum(plain), f"freeze lowers copies by >= 50%: {plain} {frozen}")


def test_redis(c):
    if not os.access(c.o.redis, os.X_OK):
        raise Skip(f"{c.o.redis} is not installed")
    out = os.path.join(c.tmp, "redis")
    lines = run([PY, os.path.join(c.examples, "recipe_redis_bgsave.py"), "-o", out,
                 "--cowscope", c.o.cowscope, "--redis", c.o.redis, "--keys", "20000"])
    print(lines)
    got = json.loads(lines.strip().splitlines()[-1])
    ch = next(p for p in c.report(out)["processes"] if p["pid"] == got["child"])
    cc, pu = ch["child_copied_pages"], ch["parent_unshared_pages"]
    check(pu * 4096 >= 0.9 * 20000 * 2000, f"the parent unshared its rewritten values: {pu}")
    check(pu > 10 * cc, f"parent-unshared dominates: {pu} vs child-copied {cc}")
    text = run([c.o.cowscope, "report", out])
    check("ranked by parent-unshared" in text, "the text report ranks by parent-unshared")
    check(any(re.search(r"Fork CoW for RDB: current \d+ MB", ln) for ln in got["redis_log"]),
          f"Redis logged its Fork CoW line: {got['redis_log']}")
    ours = (cc + pu) * 4
    check(abs(ours - got["private_dirty_kib"]) <= 0.05 * got["private_dirty_kib"] + 2048,
          f"Private_Dirty {got['private_dirty_kib']} KiB is unshared {ours} KiB")


TESTS = {"c": test_c, "mp": test_mp, "gunicorn": test_gunicorn, "redis": test_redis}


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--cowscope", required=True)
    ap.add_argument("--prefork", required=True, help="the built recipe_prefork_counters")
    ap.add_argument("--examples", required=True, help="tools/examples in the source tree")
    ap.add_argument("--gunicorn", default="/usr/bin/gunicorn")
    ap.add_argument("--redis", default="/usr/bin/redis-server")
    ap.add_argument("test", choices=sorted(TESTS))
    opts = ap.parse_args()
    if not os.access(PY, os.X_OK):
        print(f"{PY} is not installed")
        return SKIP
    c = Ctx(opts)
    try:
        return verdict(f"recipe {opts.test}", TESTS[opts.test], c)
    finally:
        shutil.rmtree(c.tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
