# SPDX-License-Identifier: MIT
"""cowscope's CPython helper: a forked child's working snapshot, before the interpreter's teardown.

`cowscope run` puts this file's directory first on PYTHONPATH (unless --no-python), so `site`
imports it as `sitecustomize` when a Python program starts. It does three things, nothing else:

- it imports the sitecustomize module that would have been imported without it (Debian's
  /usr/lib/python3.X/sitecustomize.py, a virtualenv's, one on the user's PYTHONPATH), as
  `sitecustomize`, and takes its own directory off sys.path: the program sees no difference;
- it registers an atexit handler that calls the shim's cowscope_exiting() in forked children.
  CPython runs atexit handlers at the start of Py_FinalizeEx, before it tears down modules and
  frees pymalloc's arenas, so that snapshot holds what the child held while it worked
  (docs/working-figures.md);
- before each os.fork(), in the parent, it looks cowscope_exiting up (ctypes, once) and moves
  its handler to the end of the atexit list (handlers run last-registered first): a child then
  imports nothing at exit (an import there would copy about 1 MiB of shared pages before the
  snapshot) and its handler runs before those its parent registered.

It never raises into the program. Without the shim the handler does nothing; in the process
that started (not a forked child) it does nothing either.
"""
import atexit
import os
import sys

_HERE = os.path.dirname(os.path.abspath(__file__))
_UNKNOWN = object()
_exiting = _UNKNOWN   # the shim's cowscope_exiting, None without the shim
_started = os.getpid()


def _lookup():
    """The shim's cowscope_exiting() through ctypes, or None."""
    try:
        import ctypes
        fn = ctypes.CDLL(None).cowscope_exiting
        fn.restype = ctypes.c_int
        fn.argtypes = []
        return fn
    except Exception:
        return None


def _before_fork():
    global _exiting
    try:
        if _exiting is _UNKNOWN:
            _exiting = _lookup()
        atexit.unregister(_at_exit)
        atexit.register(_at_exit)
    except Exception:
        pass


def _at_exit():
    try:
        if os.getpid() == _started:
            return  # not a forked child: nothing was shared with it
        fn = _lookup() if _exiting is _UNKNOWN else _exiting  # forked without os.fork()
        if fn is not None:
            fn()
    except Exception:
        pass


def _chain():
    """Import the sitecustomize this one hides, as `sitecustomize`; errors go to `site`."""
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != _HERE]
    finder = next((f for f in sys.meta_path if getattr(f, "__name__", "") == "PathFinder"), None)
    bootstrap = sys.modules.get("_frozen_importlib")
    spec = finder.find_spec("sitecustomize", sys.path) if finder else None
    if spec is None or spec.loader is None or bootstrap is None:
        return
    module = bootstrap.module_from_spec(spec)
    sys.modules["sitecustomize"] = module
    spec.loader.exec_module(module)


atexit.register(_at_exit)
if hasattr(os, "register_at_fork"):
    os.register_at_fork(before=_before_fork)
_chain()
