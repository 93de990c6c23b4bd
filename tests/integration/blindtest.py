#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Integration driver: a blind sampler. A child makes itself non-dumpable, copies K pages and is
killed; `cowscope run` runs as user nobody, so it cannot read the child's /proc files. The report
must give the copied figure as unknown (null) with a "blind" note, never 0. Needs root (to become
nobody) and setpriv; skips 77 otherwise."""
import argparse
import json
import os
import pwd
import shutil
import subprocess
import sys
import tempfile

from cstest import SKIP


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cowscope", required=True)
    ap.add_argument("--fixture", required=True)
    ap.add_argument("--shim", required=True)
    a = ap.parse_args()
    setpriv = shutil.which("setpriv")
    if os.geteuid() != 0 or not setpriv:
        print("skip: needs root and setpriv to run cowscope as another user")
        return SKIP
    try:
        nobody = pwd.getpwnam("nobody")
    except KeyError:
        print("skip: no user nobody")
        return SKIP
    top = tempfile.mkdtemp(prefix="cs-blind-")
    try:
        os.chmod(top, 0o755)
        os.chown(top, nobody.pw_uid, nobody.pw_gid)
        out = os.path.join(top, "run")
        # The build tree may sit below a directory nobody cannot enter (a 0700 checkout):
        # nobody runs copies of the three programs from a directory it can read.
        bins = os.path.join(top, "bin")
        os.mkdir(bins, 0o755)
        prog, shim, fixture = (shutil.copy(f, bins) for f in (a.cowscope, a.shim, a.fixture))
        env = dict(os.environ, COWSCOPE_SHIM=shim)
        cmd = [setpriv, "--reuid", str(nobody.pw_uid), "--regid", str(nobody.pw_gid),
               "--clear-groups", prog, "run", "--no-python", "-o", out, "--interval", "10",
               "--", fixture, "64", "10"]
        r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=False,
                           env=env)
        if r.returncode != 0:
            print(f"FAIL: cowscope run exited {r.returncode}: {r.stderr.decode()}")
            return 1
        if not os.access(a.fixture, os.X_OK) or not os.path.isdir(out):
            print("FAIL: no run directory")
            return 1
        rep = subprocess.run([a.cowscope, "report", "--format", "json", out],
                             stdout=subprocess.PIPE, check=True)
        doc = json.loads(rep.stdout)
        kids = [p for p in doc["processes"] if p["role"] == "child"]
        problems = []
        if len(kids) != 1:
            problems.append(f"{len(kids)} children, want 1")
        else:
            c = kids[0]
            blind = [n for n in c["notes"] if n["code"] == "blind"]
            if c["child_copied_pages"] is not None:
                problems.append(f"child_copied_pages {c['child_copied_pages']!r}, want null")
            if c["complete"]:
                problems.append("child reported complete")
            if c["incomplete_reason"] != "killed by SIGKILL":
                problems.append(f"incomplete_reason {c['incomplete_reason']!r}")
            if len(blind) != 1 or blind[0]["errno"] != 13 or "pid" not in blind[0]["text"]:
                problems.append(f"blind note: {c['notes']!r}")
            if not c["shared_at_fork_pages"] or c["shared_at_fork_pages"] < 64:
                problems.append(f"shared_at_fork_pages {c['shared_at_fork_pages']!r}")
        for p in problems:
            print("FAIL:", p)
        print("ok" if not problems else f"{len(problems)} problems")
        return 1 if problems else 0
    finally:
        shutil.rmtree(top, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
