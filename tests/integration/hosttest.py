#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Integration driver for issue 8 (never harm the host): descriptors, files, run directories."""
import argparse
import json
import os
import pwd
import resource
import shutil
import stat
import struct
import subprocess
import sys
import tempfile

from cstest import SKIP, Failure, Skip, check, eq

K = 16  # pages the fixture's child writes
HDR = 32  # cs_file_hdr_t


def low_nofile():
    resource.setrlimit(resource.RLIMIT_NOFILE, (32, 32))


class Host:
    def __init__(self, opts):
        self.o = opts
        self.tmp = tempfile.mkdtemp(prefix="hosttest.")
        os.chmod(self.tmp, 0o700)

    def path(self, *parts):
        return os.path.join(self.tmp, *parts)

    def plain(self, args, env=None, preexec=None, cwd=None):
        e = dict(os.environ)
        for k in [k for k in e if k.startswith("COWSCOPE_") or k == "LD_PRELOAD"]:
            del e[k]
        e.update(env or {})
        return subprocess.run([self.o.fixture] + args, env=e, cwd=cwd or self.tmp,
                              preexec_fn=preexec, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, timeout=120)

    def preload(self, args, env=None, preexec=None, cwd=None):
        e = {"LD_PRELOAD": self.o.shim}
        e.update(env or {})
        return self.plain(args, e, preexec, cwd)

    def run(self, args, out, extra=(), preexec=None, want_rc=0):
        p = subprocess.run([self.o.cowscope, "run", "-q", "-o", out, "--interval", "0"] +
                           list(extra) + ["--", self.o.fixture] + args, preexec_fn=preexec,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120,
                           cwd=self.tmp)
        eq(p.returncode, want_rc, f"cowscope run {args} exit ({p.stderr.decode()})")
        return p

    def report(self, out, want_rc=0):
        r = subprocess.run([self.o.cowscope, "report", "--format", "json", "--top", "20", out],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120)
        eq(r.returncode, want_rc, f"report exit ({r.stderr.decode()})")
        return json.loads(r.stdout) if want_rc == 0 else None

    def child_copied(self, out):
        rep = self.report(out)
        kids = [p for p in rep["processes"] if p["role"] == "child"]
        eq(len(kids), 1, "one child in the report")
        return kids[0]

    def same_output(self, args, out, extra=(), preexec=None):
        a = self.plain(args, preexec=preexec)
        b = self.run(args, out, extra, preexec, want_rc=a.returncode)
        eq(b.stdout, a.stdout, f"{args} stdout under cowscope run")
        return a


def traces(d):
    return sorted(f for f in os.listdir(d) if f.endswith(".cst") and f != "run.cst")


def test_first_fd(h):
    """A program's first open() returns 3 under the shim (libunwind's pipe sits high)."""
    eq(h.plain(["first-fd"]).stdout, b"3\n", "plain")
    eq(h.preload(["first-fd"], {"COWSCOPE_OUT": h.path("pre")}).stdout, b"3\n", "preloaded")
    check(traces(h.path("pre")), "a trace was written")
    h.same_output(["first-fd"], h.path("run"))


def test_closerange(h):
    """close_range then 730 files: the child's and parent's writes land in the program's files."""
    os.mkdir(h.path("files"))
    a = h.plain(["closerange", h.path("files")])
    eq(a.returncode, 0, f"plain run: {a.stdout!r}")
    check(b"child ok, files right" in a.stdout, f"plain output {a.stdout!r}")
    b = h.run(["closerange", h.path("files")], h.path("run"))
    eq(b.stdout, a.stdout, "stdout under cowscope run")
    got = h.child_copied(h.path("run"))["child_copied_pages"]
    check(got >= K, f"the child's {K} pages are among its {got} child_copied_pages")


def rlimit_case(h, mode, preexec):
    a = h.plain([mode], preexec=preexec)
    check(a.stdout.startswith(b"child ok, opened "), f"plain output {a.stdout!r}")
    b = h.preload([mode], {"COWSCOPE_OUT": h.path("pre")}, preexec=preexec)
    eq(b.stdout, a.stdout, "stdout preloaded")
    eq(len(traces(h.path("pre"))), 2, "parent and child traces (preloaded)")
    h.same_output([mode], h.path("run"), preexec=preexec)
    got = h.child_copied(h.path("run"))["child_copied_pages"]
    check(got >= K, f"the child's {K} pages are among its {got} child_copied_pages")


def test_rlimit(h):
    """ulimit -n 32: the program gets the same descriptors, and its child is measured."""
    rlimit_case(h, "rlimit", low_nofile)


def test_rlimit_self(h):
    """The program lowers its own limit after the shim started: the same."""
    rlimit_case(h, "rlimit-self", None)


def test_unwind_pipe(h):
    """A frame without unwind info: libunwind's validation never touches the program's 3 and 4."""
    with open(h.path("input"), "w") as f:
        f.write("abcdefgh\n")
    a = h.plain(["unwind-pipe", h.tmp])
    eq(a.stdout, b"in 3 out 4 read 9 abcdefgh\n", "plain output")
    h.run(["unwind-pipe", h.tmp], h.path("run"), ["--sample-bytes", "1"])
    b = h.run(["unwind-pipe", h.tmp], h.path("run2"), ["--sample-bytes", "1"])
    eq(b.stdout, a.stdout, "stdout under cowscope run")
    with open(h.path("output"), "rb") as f:
        eq(f.read(), b"mine\n", "the program's output file")


def test_realloc_fail(h):
    """A failed realloc leaves the block live: the child's copies belong to its site."""
    out = h.path("run")
    b = h.run(["realloc-fail"], out, ["--sample-bytes", "1"])
    eq(b.stdout, b"realloc failed\n", "fixture output")
    kid = h.child_copied(out)
    sites = [s for s in kid["sites"]
             if "load_block" in [f.get("function") for f in s["frames"]]]
    eq(len(sites), 1, "one site through load_block")
    # 16 pages written, the block's edges share two pages with its neighbours
    got = sites[0]["child_copied_pages"]
    check(K - 0.5 < got <= K, f"load_block's child_copied_pages: {got}, want about {K}")


def refused(h, d, reason):
    p = h.run(["first-fd"], d, want_rc=4)
    err = p.stderr.decode()
    check(d in err and reason in err, f"the message names {d} and '{reason}': {err!r}")
    eq(p.stdout, b"", "the command did not run")


def shim_refuses(h, d, allowed=True):
    before = set(os.listdir(d)) if os.path.isdir(d) else set()
    eq(h.preload(["first-fd"], {"COWSCOPE_OUT": d}).stdout, b"3\n", "preloaded output")
    eq(set(os.listdir(d)), before, f"no trace in {d} (preloaded)")
    if allowed:
        h.preload(["first-fd"], {"COWSCOPE_OUT": d, "COWSCOPE_ALLOW_SHARED_DIR": "1"})
        eq(len(traces(d)), 1, f"a trace in {d} with COWSCOPE_ALLOW_SHARED_DIR=1")


def test_dir_shared(h):
    """A world-writable run directory is refused, and accepted with the flag."""
    d = h.path("shared")
    os.mkdir(d)
    os.chmod(d, 0o777)
    refused(h, d, "writable by group or others")
    shim_refuses(h, d)
    os.mkdir(h.path("shared2"))
    os.chmod(h.path("shared2"), 0o777)
    h.run(["first-fd"], h.path("shared2"), ["--allow-shared-dir"])
    eq(len(traces(h.path("shared2"))), 1, "a trace with --allow-shared-dir")


def need_root():
    if os.geteuid() != 0:
        raise Skip("needs root (chown, mount)")


def test_dir_foreign(h):
    """A run directory owned by another user is refused."""
    need_root()
    d = h.path("foreign")
    os.mkdir(d, 0o700)
    os.chown(d, pwd.getpwnam("nobody").pw_uid, -1)
    refused(h, d, "not owned by you")
    shim_refuses(h, d, allowed=False)


def test_dir_symlink(h):
    """A run directory that is a symlink is refused (by the CLI and the shim)."""
    os.mkdir(h.path("target"), 0o700)
    os.symlink(h.path("target"), h.path("link"))
    refused(h, h.path("link"), "symbolic link")
    shim_refuses(h, h.path("link"))


def default_case(h):
    tmpdir, cwd = h.path("tmpdir"), h.path("cwd")
    p = h.preload(["first-fd"], {"TMPDIR": tmpdir}, cwd=cwd)
    eq(p.stdout, b"3\n", "preloaded output")
    eq(os.listdir(cwd), [], "nothing in the working directory")
    return tmpdir, os.path.join(tmpdir, f"cowscope-{os.geteuid()}")


def test_default_dir(h):
    """COWSCOPE_OUT unset: ${TMPDIR}/cowscope-<uid>/<program>.<pid>, private."""
    os.mkdir(h.path("tmpdir"), 0o700)
    os.mkdir(h.path("cwd"), 0o700)
    tmpdir, parent = default_case(h)
    st = os.lstat(parent)
    check(stat.S_ISDIR(st.st_mode), "the per-user parent is a directory")
    eq(stat.S_IMODE(st.st_mode), 0o700, "its mode")
    runs = os.listdir(parent)
    eq(len(runs), 1, "one run directory")
    check(runs[0].startswith("host_fixture."), f"named after the program: {runs[0]}")
    eq(stat.S_IMODE(os.stat(os.path.join(parent, runs[0])).st_mode), 0o700, "run dir mode")
    eq(len(traces(os.path.join(parent, runs[0]))), 1, "its trace")


def test_default_planted(h):
    """A symlink planted at ${TMPDIR}/cowscope-<uid> (to another user's directory) is refused."""
    tmpdir = h.path("tmpdir")
    os.mkdir(tmpdir, 0o700)
    os.mkdir(h.path("cwd"), 0o700)
    victim = h.path("victim")
    os.mkdir(victim, 0o777)
    if os.geteuid() == 0:
        os.chown(victim, pwd.getpwnam("nobody").pw_uid, -1)
    os.symlink(victim, os.path.join(tmpdir, f"cowscope-{os.geteuid()}"))
    default_case(h)
    eq(os.listdir(victim), [], "nothing written through the planted link")


def walk(path):
    """Record (type, size, payload) of a trace, checking every size up to the end."""
    with open(path, "rb") as f:
        data = f.read()
    check(len(data) >= HDR, f"{path}: a header")
    off, recs = HDR, []
    while off < len(data):
        check(len(data) - off >= 8, f"{path}: a whole record header at {off}")
        typ, _, size = struct.unpack_from("<HHI", data, off)
        check(size >= 8 and size % 8 == 0 and off + size <= len(data),
              f"{path}: record at {off} of size {size} (file {len(data)})")
        recs.append((typ, size, data[off + 8:off + size]))
        off += size
    return recs


def test_enospc(h):
    """A small disk: no partial record, a CS_NOTE_WRITE_LOST note, the trace reads to its end."""
    need_root()
    mnt = h.path("mnt")
    os.mkdir(mnt, 0o700)
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m,mode=0700", "tmpfs", mnt],
                      stderr=subprocess.DEVNULL).returncode:
        raise Skip("cannot mount a tmpfs here")
    try:
        out = os.path.join(mnt, "run")
        p = h.run(["fill"], out, ["--sample-bytes", "1"])
        eq(p.stdout, b"done\n", "the program's output")
        lost = 0
        for t in traces(out):
            for typ, _, payload in walk(os.path.join(out, t)):
                if typ == 13 and struct.unpack_from("<I", payload)[0] == 7:
                    lost += 1
        check(lost >= 1, "a CS_NOTE_WRITE_LOST note")
        rep = h.report(out)  # reads to the end (a partial record would be exit 3, "bad size")
        hit = [p for p in rep["processes"] if "disk full" in (p.get("incomplete_reason") or "")]
        check(hit, "a process says it is incomplete because the disk was full: "
              f"{[(p['pid'], p.get('incomplete_reason')) for p in rep['processes']]}")
        check(all(not p["complete"] for p in hit), "those processes are not complete")
        eq(rep["run"]["complete"], False, "the run is not complete")
    finally:
        subprocess.run(["umount", "-l", mnt])


TESTS = {n[5:].replace("_", "-"): f for n, f in globals().items() if n.startswith("test_")}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cowscope", required=True)
    ap.add_argument("--shim", required=True)
    ap.add_argument("--fixture", required=True)
    ap.add_argument("test", choices=sorted(TESTS))
    opts = ap.parse_args()
    opts.shim = os.path.abspath(opts.shim)
    opts.fixture = os.path.abspath(opts.fixture)
    opts.cowscope = os.path.abspath(opts.cowscope)
    h = Host(opts)
    try:
        TESTS[opts.test](h)
    except Skip as e:
        print(f"SKIP: {e}")
        return SKIP
    except Failure as e:
        print(f"FAIL: {e}")
        return 1
    finally:
        subprocess.run(["rm", "-rf", h.tmp])
    print("ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
