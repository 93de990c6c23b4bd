# SPDX-License-Identifier: MIT
"""cowscope from Python: cowscope_mark() and cowscope_snapshot() through ctypes; no-ops without the shim.

Under `cowscope run` (or LD_PRELOAD=libcowscope.so) the shim is already loaded into the
interpreter; this module finds its functions by a symbol lookup in the process's global scope
(ctypes.CDLL(None), i.e. dlopen(NULL) + dlsym, which searches preloaded libraries) and never
loads the shim itself. Without the shim every call returns NOT_LOADED and does nothing.

    import cowscope
    cowscope.mark("frozen")   # children forked from now on are in phase "frozen"
    cowscope.snapshot()       # in a forked child: record what it has copied so far

Return values are the C functions' (include/cowscope.h): 0, NOT_LOADED (-1000) without the shim,
or a negative errno (-errno.ENOTSUP if this process is not traced, -errno.EBUSY if another thread
is taking a snapshot). No exceptions for those: measuring must never break the program.
"""
import ctypes

__all__ = ["NOT_LOADED", "loaded", "mark", "snapshot"]

NOT_LOADED = -1000  # COWSCOPE_NOT_LOADED
_LABEL_MAX = 200    # bytes of a label the shim keeps


def _lookup(name, argtypes):
    """The shim's function `name` if some loaded object exports it, else None."""
    try:
        fn = getattr(ctypes.CDLL(None), name)
    except (AttributeError, OSError):
        return None
    fn.restype = ctypes.c_int
    fn.argtypes = argtypes
    return fn


# Looked up once: a preloaded shim is there from the start and never appears later.
_mark = _lookup("cowscope_mark", [ctypes.c_char_p])
_snapshot = _lookup("cowscope_snapshot", [])


def loaded():
    """Whether the shim is loaded in this process (the calls below do something)."""
    return _mark is not None and _snapshot is not None


def mark(label):
    """Start a phase called `label` (str or bytes, up to 200 bytes in UTF-8, longer is cut):
    children forked after it belong to it, and `cowscope diff RUN:start RUN:label` compares
    them with the earlier ones. In a forked child it also takes a snapshot. Returns the C
    return code, or NOT_LOADED."""
    if _mark is None:
        return NOT_LOADED
    if isinstance(label, str):
        label = label.encode("utf-8", "replace")
    return _mark(bytes(label)[:_LABEL_MAX])


def snapshot():
    """Record this process's page state now (in a forked child: what it has copied so far).
    Returns the C return code, or NOT_LOADED."""
    if _snapshot is None:
        return NOT_LOADED
    return _snapshot()
