# SPDX-License-Identifier: MIT
"""Recipe example: a WSGI app that loads ~300,000 dicts and lists at import (gunicorn --preload).

At import (in the gunicorn master, with --preload) it builds RECIPE_RECORDS records (default
100,000), each a dict holding a list: 200,000 GC-tracked containers plus their ints and strs,
about 300,000 objects that are not small cached ones. Every request reads one slice of 1,000
records (what a lookup touches) and then runs gc.collect(), as a long-lived worker's collector
eventually does. The reply is the worker's pid and the slice's sum.

    gunicorn --preload -w 2 -b 127.0.0.1:8000 recipe_gunicorn_app:app
    gunicorn --preload -w 2 -b 127.0.0.1:8000 -c recipe_gunicorn_conf.py recipe_gunicorn_app:app
"""
import gc
import os

RECORDS = int(os.environ.get("RECIPE_RECORDS", "100000"))
SLICE = 1000
DATA = [{"id": i, "name": "user%08d" % i, "tags": [i * 7, "t%d" % i]} for i in range(RECORDS)]


def app(environ, start_response):
    try:
        lo = int(environ.get("QUERY_STRING") or 0) % RECORDS
    except ValueError:
        lo = 0
    n = sum(d["id"] + len(d["tags"]) for d in DATA[lo:lo + SLICE])
    gc.collect()
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"%d %d\n" % (os.getpid(), n)]
