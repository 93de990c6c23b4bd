#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Recipe example: multiprocessing workers reading a big list of Python objects, or an array.

The parent loads a data set (N samples, default 2,000,000 floats) the way a data loader does
before starting its workers, then a Pool of 4 workers (fork start method) computes over every
sample, one slice per task. Nothing writes the data, yet:

  --store list   a list of N float objects: every read takes and drops a reference, which
                 writes ob_refcnt in each object's header, so each worker copies the pages of
                 the floats it read (the "copy-on-read leak": workers' memory grows until it
                 holds the whole data set, once per worker);
  --store array  the same numbers in one array('d') buffer (8 bytes each, no object headers):
                 reading creates temporary floats in the worker's own memory and writes nothing
                 shared, so the buffer stays shared.
  --store bytes  the same numbers packed in a bytes object (read with memoryview.cast('d')).

Usage: recipe_mp_loader.py [--store list|array|bytes] [--samples N] [--workers W]
Prints the total (the same for every store) and one line per store.
"""
import argparse
import array
import multiprocessing as mp
import sys

DATA = None  # set before the Pool forks: workers inherit it


def build(store, n):
    values = (i * 0.5 for i in range(n))
    if store == "list":
        return [float(v) for v in values]
    buf = array.array("d", values)
    return buf if store == "array" else buf.tobytes()


def view():
    """The data as a sequence of floats, without copying it."""
    return memoryview(DATA).cast("d") if isinstance(DATA, bytes) else DATA


def task(bounds):
    lo, hi = bounds
    data, total = view(), 0.0
    for i in range(lo, hi):
        total += data[i]
    return total


def main(argv):
    global DATA
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--store", choices=("list", "array", "bytes"), default="list")
    p.add_argument("--samples", type=int, default=2_000_000)
    p.add_argument("--workers", type=int, default=4)
    a = p.parse_args(argv)
    DATA = build(a.store, a.samples)
    step = max(1, a.samples // (a.workers * 8))
    slices = [(lo, min(lo + step, a.samples)) for lo in range(0, a.samples, step)]
    with mp.get_context("fork").Pool(a.workers) as pool:
        total = sum(pool.map(task, slices, chunksize=1))
        pool.close()
        pool.join()
    print(f"{a.store}: {a.samples} samples, {a.workers} workers, total {total:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
