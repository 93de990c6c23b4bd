#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Integration driver: the program's allocator is the program's, under `cowscope run`."""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile

from cstest import Skip, check, eq, verdict

K = 1024  # pages the fixture's child writes: one per page-aligned one-page object


def system_lib(name):
    """The path ld.so would load for a bare library name (ldconfig's cache), or None."""
    try:
        out = subprocess.run(["ldconfig", "-p"], stdout=subprocess.PIPE, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    found = []
    for line in out.decode().splitlines():
        left, sep, path = line.partition("=>")
        fields = left.split()
        if sep and fields and fields[0] == name:
            found.append((not any(w in left for w in ("x86-64", "AArch64", "64bit")),
                          path.strip()))
    return sorted(found)[0][1] if found else None


def need(path, what):
    if not path or not os.path.exists(path):
        raise Skip(f"{what} is missing (install the packages tools/deps lists)")
    return path


def plain_run(fixture, args, env):
    p = subprocess.run([fixture] + args, env=env, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=120)
    eq(p.returncode, 0, f"{os.path.basename(fixture)} without the shim: exit status "
                        f"({p.stderr.decode().strip()})")
    return p.stdout.decode()


def traced_run(opts, fixture, args, env):
    """cowscope run (exact mode, uffd-wp); returns (stdout, JSON report)."""
    d = tempfile.mkdtemp(prefix="alloctest.")
    out = os.path.join(d, "run")
    try:
        p = subprocess.run([opts.cowscope, "run", "-q", "-o", out, "--interval", "0",
                            "--sample-bytes", "1", "--backend", "uffd-wp", "--", fixture] + args,
                           env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=300)
        if p.returncode == 4 and b"not usable" in p.stderr:
            raise Skip(p.stderr.decode().strip())
        eq(p.returncode, 0, f"under cowscope run: exit status ({p.stderr.decode().strip()})")
        r = subprocess.run([opts.cowscope, "report", "--format", "json", out],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=300)
        eq(r.returncode, 0, f"report ({r.stderr.decode().strip()})")
        return p.stdout.decode(), json.loads(r.stdout)
    finally:
        shutil.rmtree(d, ignore_errors=True)


def functions(site):
    return [f.get("function") for f in site["frames"]]


def check_report(rep, name, preloaded, path=None):
    """Every process names the allocator; the child's objects are load_objects', exactly K."""
    procs = rep["processes"]
    eq(len(procs), 2, "processes (root and child)")
    for p in procs:
        a = p["allocator"]
        check(a is not None, f"pid {p['pid']}: an allocator record")
        eq(a["name"], name, f"pid {p['pid']}: allocator name")
        eq(a["preloaded"], preloaded, f"pid {p['pid']}: allocator preloaded")
        if path:
            eq(a["path"], os.path.realpath(path), f"pid {p['pid']}: allocator path")
    child = [p for p in procs if p["role"] == "child"][0]
    eq(child["backend"], "uffd-wp", "child backend")
    through = [s for s in child["sites"] if "load_objects" in functions(s)]
    got = sum(s["child_copied_pages"] for s in through)
    eq(got, K, "child_copied_pages of the sites through load_objects")
    top = max((s for s in child["sites"] if not s.get("bucket")),
              key=lambda s: s["child_copied_pages"])
    eq(functions(top)[:1], ["load_objects"], "the top site starts in load_objects")
    return child


def fixture_case(opts, fixture, name, preloaded, preload=None, usable=None, heap=None):
    env = dict(os.environ)
    env.pop("LD_PRELOAD", None)
    if preload:
        env["LD_PRELOAD"] = preload
    want = plain_run(fixture, [], env)
    got, rep = traced_run(opts, fixture, [], env)
    eq(got, want, "stdout under the shim")
    lines = dict(l.split(": ", 1) for l in want.splitlines())
    eq(lines.get("child exited"), "0", "child status")
    if usable is not None:
        eq(lines.get("usable 4000"), str(usable), "malloc_usable_size(4000-byte block)")
    if heap is not None:
        eq(lines.get("objects in heap"), f"{heap} of {K}", "objects in [heap]")
    check_report(rep, name, preloaded, preload)
    print(want.strip())


def test_jemalloc(opts):
    """Linked with jemalloc: its size classes answer, its mappings hold the objects."""
    fixture_case(opts, need(opts.jemalloc_fixture, "the jemalloc-linked fixture"), "jemalloc",
                 False, usable=4096, heap=0)


def test_tcmalloc(opts):
    fixture_case(opts, need(opts.tcmalloc_fixture, "the tcmalloc-linked fixture"), "tcmalloc",
                 False)


def test_jemalloc_preloaded(opts):
    """Plain fixture, LD_PRELOAD=libjemalloc.so.2 kept after the shim: jemalloc, preloaded."""
    lib = need(system_lib("libjemalloc.so.2"), "libjemalloc.so.2")
    fixture_case(opts, opts.fixture, "jemalloc", True, preload=lib, usable=4096, heap=0)


def test_mimalloc_preloaded(opts):
    lib = need(system_lib("libmimalloc.so.2"), "libmimalloc.so.2")
    fixture_case(opts, opts.fixture, "mimalloc", True, preload=lib, heap=0)


def test_tcmalloc_preloaded(opts):
    """Plain fixture, LD_PRELOAD=libtcmalloc_minimal.so.4: tcmalloc, preloaded (it grows the
    [heap] with sbrk like glibc, so where the objects lie tells nothing: the record does)."""
    lib = need(system_lib("libtcmalloc_minimal.so.4"), "libtcmalloc_minimal.so.4")
    fixture_case(opts, opts.fixture, "tcmalloc", True, preload=lib)


def test_glibc(opts):
    """No allocator linked: glibc's malloc, its chunk sizes, the objects in [heap]."""
    fixture_case(opts, opts.fixture, "glibc", False, usable=4008, heap=K)


def test_mix(opts):
    """An allocator lacking posix_memalign & co: the shim's stand-ins use its memalign."""
    env = dict(os.environ, LD_PRELOAD=need(opts.testalloc, "the test allocator"))
    got, rep = traced_run(opts, opts.fixture, ["mix"], env)
    eq(got.strip(), "owned by the test allocator: 6 of 6", "stdout")
    alloc = rep["processes"][0]["allocator"]
    check(alloc is not None, "an allocator record")
    eq(alloc["name"], "libtestalloc.so", "allocator named by its file")
    eq(alloc["preloaded"], True, "allocator preloaded")


def test_boot(opts):
    """Allocations from the preinit array (before the shim's constructor) and its threads."""
    env = dict(os.environ)
    env.pop("LD_PRELOAD", None)
    want = plain_run(opts.boot_fixture, [], env)
    got, rep = traced_run(opts, opts.boot_fixture, [], env)
    eq(want.strip(), "early ok", "without the shim")
    eq(got.strip(), "early ok", "under the shim")
    alloc = rep["processes"][0]["allocator"]
    check(alloc is not None, "an allocator record")
    eq(alloc["name"], "glibc", "allocator")


TESTS = {
    "jemalloc": test_jemalloc,
    "tcmalloc": test_tcmalloc,
    "jemalloc-preloaded": test_jemalloc_preloaded,
    "mimalloc-preloaded": test_mimalloc_preloaded,
    "tcmalloc-preloaded": test_tcmalloc_preloaded,
    "glibc": test_glibc,
    "mix": test_mix,
    "boot": test_boot,
}


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    for a in ("--cowscope", "--fixture", "--boot-fixture", "--testalloc"):
        ap.add_argument(a, required=True)
    ap.add_argument("--jemalloc-fixture", default="")
    ap.add_argument("--tcmalloc-fixture", default="")
    ap.add_argument("test", choices=sorted(TESTS))
    opts = ap.parse_args()
    return verdict(opts.test, TESTS[opts.test], opts)


if __name__ == "__main__":
    sys.exit(main())
