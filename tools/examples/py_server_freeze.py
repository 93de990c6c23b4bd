#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""A gunicorn-style pre-fork server in miniature: does gc.freeze() before forking pay off?

The master builds N application objects (default 300,000: small lists, each holding an int, a
str of its own and a reference to itself, so that only the cycle collector can free them, as
with most objects of a real application), then forks W workers (default 3) at once. Each worker
serves "requests" that read the first fraction of the objects (default a quarter), runs
gc.collect() as the interpreter does now and then, and ends with sys.exit(0), as gunicorn's
workers do: the interpreter's teardown runs.

--freeze does what the gc docs advise for pre-fork servers: gc.disable() first thing in the
master, gc.freeze() right before forking, gc.enable() in the workers. Their collections then
skip the frozen objects and write none of their GC headers; reads still write the refcounts.

    cowscope run -o run.nofreeze -- /usr/bin/python3 py_server_freeze.py
    cowscope run -o run.freeze -- /usr/bin/python3 py_server_freeze.py --freeze
    cowscope diff run.nofreeze run.freeze

The diff compares working figures (each worker's last snapshot before it began to exit,
docs/working-figures.md). A worker's teardown changes its pages a lot: without freezing, the
final collection frees the cyclic objects and pymalloc unmaps their arenas, so little of what
the worker copied is still mapped at its very end; frozen objects are never collected, and
their copied pages stay. Figures taken after the teardown make freezing look harmful.

Output: one line per worker, in fork order: "worker <i> ok".
"""
import argparse
import gc
import os
import sys


def build(n):
    """n GC-tracked lists [int, str, itself]: each one a reference cycle of its own."""
    data = []
    for i in range(n):
        item = [i + 1000, "item-%035d" % i, None]
        item[2] = item
        data.append(item)
    return data


def serve(data, fraction):
    """Read the first fraction of the objects (a refcount write each), then collect."""
    seen = 0
    for i in range(int(len(data) * fraction)):
        for x in data[i]:
            seen += 1 if x is not None else 0
    gc.collect()
    return seen


def worker(data, fraction, frozen):
    """Body of one worker process: never returns."""
    if frozen:
        gc.enable()
    if serve(data, fraction) != 3 * int(len(data) * fraction):
        sys.exit(1)
    sys.exit(0)  # teardown runs, as in gunicorn


def run_workers(data, args):
    pids = []
    for _ in range(args.workers):
        sys.stdout.flush()
        pid = os.fork()
        if pid == 0:
            worker(data, args.read, args.freeze)
        pids.append(pid)
    failed = 0
    for i, pid in enumerate(pids):
        _, status = os.waitpid(pid, 0)
        ok = os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0
        failed += not ok
        print(f"worker {i} {'ok' if ok else 'failed'}", flush=True)
    return failed


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--objects", type=int, default=300_000, help="objects (default 300000)")
    p.add_argument("--workers", type=int, default=3, help="workers (default 3)")
    p.add_argument("--read", type=float, default=0.25,
                   help="fraction of the objects each worker reads (default 0.25)")
    p.add_argument("--freeze", action="store_true",
                   help="gc.disable() first, gc.freeze() before forking")
    a = p.parse_args(argv)
    if a.objects < 1 or a.workers < 1 or not 0 <= a.read <= 1:
        p.error("--objects and --workers must be >= 1, --read within [0, 1]")
    return a


# The application's state lives in a module global, as an app module's does: it outlives the
# worker's stack (a local of main() would be freed as sys.exit() unwinds, before atexit).
DATA = []


def main(argv):
    global DATA
    a = parse_args(argv)
    if a.freeze:
        gc.disable()
    DATA = build(a.objects)
    if a.freeze:
        gc.freeze()
    return 1 if run_workers(DATA, a) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
