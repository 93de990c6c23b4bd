# SPDX-License-Identifier: MIT
"""Recipe example: a gunicorn config file that freezes the preloaded app's objects before forking.

gunicorn executes this file in the master before it loads the app, so gc.disable() here runs
before recipe_gunicorn_app builds its data: no collection during the load frees objects and leaves
holes in pages that later allocations fill. pre_fork runs in the master before each worker is
forked, after --preload has imported the app: gc.freeze() moves every tracked object to the
permanent generation, which collections never examine, so a worker's gc.collect() no longer writes
the GC headers of the preloaded objects. post_fork runs in the new worker: collect as usual.
"""
import gc

gc.disable()


def pre_fork(server, worker):
    gc.freeze()


def post_fork(server, worker):
    gc.enable()
