#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""A pre-fork server in miniature on real CPython: what reads and gc.collect() cost in forked workers.

The parent builds N objects (default 500,000 small lists, each holding an int and a str) and
forks workers that each do one task, then leave with os._exit (no interpreter shutdown):

  idle     nothing (the baseline: what any forked child copies)
  read     read every object: each access increments and decrements the object's reference
           count, which lives in the object's header, so every page holding objects is copied
  collect  gc.collect(): a full collection writes gc_refs into the GC header (PyGC_Head) of every
           object the collector tracks (the lists, not the ints and strs), so their pages are
           copied
  both     read, then collect

--freeze does what the gc docs recommend for pre-fork servers: gc.disable() first thing in the
parent (no collection frees objects and leaves holes that later allocations fill), then
gc.freeze() right before forking: every tracked object moves to the permanent generation, which
collections never examine; workers gc.enable() again. A collection in the child then writes none of those headers; reads
still do (CPython 3.11 has no immortal objects: PEP 683 arrived in 3.12).

--phases runs both in one process: gc.disable() first, the tasks' workers forked in phase
"start", then gc.freeze(), cowscope_mark("frozen") and the same workers forked again, so that
    cowscope diff RUN:start RUN:frozen
compares them. Without the shim (plain python3) everything runs and the marks are no-ops.

    cowscope run -o run.nofreeze -- /usr/bin/python3 py_prefork.py --tasks collect
    cowscope run -o run.freeze -- /usr/bin/python3 py_prefork.py --tasks collect --freeze
    cowscope diff run.nofreeze run.freeze
    cowscope run -o run.phases -- /usr/bin/python3 py_prefork.py --tasks read,collect --phases
    cowscope diff run.phases:start run.phases:frozen

Output is one line per worker, in fork order: "<phase> <task> ok".
"""
import argparse
import gc
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "python"))
import cowscope  # noqa: E402  (tools/python/cowscope.py: no-ops without the shim)

TASKS = ("idle", "read", "collect", "both")


def build(n):
    """n GC-tracked lists, each holding an int and a str of its own (3n objects in all).

    In CPython 3.11 on x86-64 a two-item list is 56 bytes with its PyGC_Head, served from
    pymalloc's 64-byte size class; the 40-character str (89 bytes) comes from the 96-byte class
    and the int (28 bytes, not a cached small int) from the 32-byte class. Different size
    classes live in different pools (pages), so a collection, which writes only the lists'
    headers, copies the lists' pages alone, while a read copies all three kinds.
    """
    return [[i + 1000, "item-%035d" % i] for i in range(n)]


def read_all(data):
    """Touch every object: the loop takes and drops a reference to each list, int and str."""
    total = 0
    for item in data:
        for x in item:
            total += 1 if x else 0
    return total


def work(task, data):
    if task in ("read", "both"):
        if read_all(data) != 2 * len(data):
            raise SystemExit("read_all: wrong count")
    if task in ("collect", "both"):
        gc.collect()


def worker(task, data, phase):
    """Fork one worker for task and wait for it; returns its exit status."""
    sys.stdout.flush()
    pid = os.fork()
    if pid == 0:
        status = 0
        try:
            gc.enable()  # as the gc docs advise: children collect as usual
            work(task, data)
        except BaseException:  # noqa: B902  (a worker never returns into the parent's code)
            status = 1
        os._exit(status)
    _, status = os.waitpid(pid, 0)
    ok = os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0
    print(f"{phase} {task} {'ok' if ok else 'failed'}", flush=True)
    return 0 if ok else 1


def fork_all(tasks, workers, data, phase):
    return sum(worker(t, data, phase) for t in tasks for _ in range(workers))


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--objects", type=int, default=500_000, help="lists to build (default 500000)")
    p.add_argument("--tasks", default="read,collect",
                   help="comma-separated worker tasks, forked in this order: "
                        + ", ".join(TASKS) + " (default read,collect)")
    p.add_argument("--workers", type=int, default=1, help="workers per task (default 1)")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--freeze", action="store_true",
                      help="gc.disable() first, gc.freeze() before forking")
    mode.add_argument("--phases", action="store_true",
                      help='gc.disable() first; fork the workers, gc.freeze(), mark "frozen", '
                           "fork them again")
    a = p.parse_args(argv)
    a.tasks = a.tasks.split(",")
    bad = [t for t in a.tasks if t not in TASKS]
    if bad or a.objects < 1 or a.workers < 1:
        p.error(f"bad task {bad[0]!r}" if bad else "--objects and --workers must be >= 1")
    return a


def main(argv):
    a = parse_args(argv)
    if a.freeze or a.phases:
        gc.disable()
    data = build(a.objects)
    failed = 0
    if a.phases:
        failed += fork_all(a.tasks, a.workers, data, "start")
    if a.freeze or a.phases:
        gc.freeze()
    if a.phases:
        cowscope.mark("frozen")
    failed += fork_all(a.tasks, a.workers, data, "frozen" if (a.freeze or a.phases) else "start")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
