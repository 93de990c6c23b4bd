#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Integration: Debian's gunicorn with --preload under `cowscope run` (loopback only, bounded).

The master loads ~100 MiB of Python objects and forks 2 workers; requests make the workers read
every object and collect. Just before the master is stopped, the test reads each worker's
Private_Dirty from /proc/PID/smaps_rollup: an independent measure of what the worker holds
privately. cowscope's working figures (child-copied + parent-unshared + child-new, plus its own
pages) must agree with it within 5% + 2 MiB; they come from the worker's working snapshot (the
Python helper's atexit), not from after the interpreter's teardown.
"""
import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile

import urllib.request

from cstest import SKIP, Failure, check, children, free_port, wait_until

DEADLINE_S = 60
APP = '''
import gc
DATA = [{"id": i, "name": "user%d" % i, "tags": ["a", "b", str(i)]} for i in range(300000)]

def app(environ, start_response):
    n = sum(d["id"] for d in DATA)
    gc.collect()
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"%d\\n" % n]
'''


def get(port):
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=DEADLINE_S) as r:
            return r.status == 200
    except OSError:
        return False


def private_dirty_kib(pid):
    with open(f"/proc/{pid}/smaps_rollup") as f:
        for line in f:
            if line.startswith("Private_Dirty:"):
                return int(line.split()[1])
    raise Failure(f"no Private_Dirty for {pid}")


def serve(opts, work):
    out, port = os.path.join(work, "run"), free_port()
    with open(os.path.join(work, "app.py"), "w") as f:
        f.write(APP)
    cmd = [opts.cowscope, "run", "-q", "-o", out, "--", opts.gunicorn, "--preload", "-w", "2",
           "-b", f"127.0.0.1:{port}", "--chdir", work, "app:app"]
    sup = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE)
    try:
        master = wait_until(lambda: (children(sup.pid) or [None])[0], "the gunicorn master")
        wait_until(lambda: len(children(master)) == 2, "two workers")
        wait_until(lambda: get(port), "the server to answer")
        for _ in range(8):
            check(get(port), "a request succeeded")
        dirty = {w: private_dirty_kib(w) for w in children(master)}
        os.kill(master, signal.SIGTERM)
        _, err = sup.communicate(timeout=DEADLINE_S)
        check(sup.returncode == 0, f"cowscope run exit status {sup.returncode}: {err!r}")
    finally:
        if sup.poll() is None:
            sup.kill()
            sup.wait()
    rep = subprocess.run([opts.cowscope, "report", "--format", "json", out],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120)
    check(rep.returncode == 0, f"report: {rep.stderr.decode()}")
    return json.loads(rep.stdout), dirty


def check_worker(p, dirty_kib):
    check(p["figures_from"] == "work", f"worker {p['pid']}: figures from {p['figures_from']}")
    pages = sum(p[k] for k in ("child_copied_pages", "parent_unshared_pages", "child_new_pages",
                               "shim_pages"))
    ours, theirs = pages * 4, dirty_kib
    print(f"worker {p['pid']}: cowscope {ours / 1024:.1f} MiB private "
          f"(copied {p['child_copied_pages'] * 4 / 1024:.1f}), Private_Dirty {theirs / 1024:.1f} "
          f"MiB; after teardown {p['at_end']['child_copied_pages'] * 4 / 1024:.1f} MiB copied")
    check(abs(ours - theirs) <= 0.05 * theirs + 2048,
          f"worker {p['pid']}: {ours} KiB against Private_Dirty {theirs} KiB")


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--cowscope", required=True)
    ap.add_argument("--gunicorn", default="/usr/bin/gunicorn")
    opts = ap.parse_args()
    if not os.access(opts.gunicorn, os.X_OK):
        print(f"{opts.gunicorn} is not installed")
        return SKIP
    work = tempfile.mkdtemp(prefix="gunicorntest.")
    try:
        report, dirty = serve(opts, work)
        workers = [p for p in report["processes"] if p["role"] == "child" and p["pid"] in dirty]
        check(len(workers) == 2, f"both workers in the report: {sorted(dirty)}")
        for p in workers:
            check_worker(p, dirty[p["pid"]])
        check(max(p["child_copied_pages"] for p in workers) * 4096 > 50 << 20,
              "a worker that read every object copied most of them")
    except Failure as e:
        print(f"FAIL gunicorn: {e}")
        return 1
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print("ok gunicorn")
    return 0


if __name__ == "__main__":
    sys.exit(main())
