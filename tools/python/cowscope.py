# SPDX-License-Identifier: MIT
"""cowscope from Python: cowscope_mark(), cowscope_snapshot() and cowscope_label_ranges() through
ctypes; no-ops without the shim.

Under `cowscope run` (or LD_PRELOAD=libcowscope.so) the shim is already loaded into the
interpreter; this module finds its functions by a symbol lookup in the process's global scope
(ctypes.CDLL(None), i.e. dlopen(NULL) + dlsym, which searches preloaded libraries) and never
loads the shim itself. Without the shim every call returns NOT_LOADED and does nothing.

    import cowscope
    cowscope.mark("frozen")   # children forked from now on are in phase "frozen"
    cowscope.snapshot()       # in a forked child: record what it has copied so far
    cowscope.label_ranges("python-type", ["dict", "str"], buf, n)  # docs/labels.md

Return values are the C functions' (include/cowscope.h): 0, NOT_LOADED (-1000) without the shim,
or a negative errno (-errno.ENOTSUP if this process is not traced, -errno.EBUSY if another thread
is taking a snapshot). No exceptions for those: measuring must never break the program.
"""
import ctypes
import errno

__all__ = ["NOT_LOADED", "RANGE_BYTES", "label_ranges", "loaded", "mark", "snapshot"]

NOT_LOADED = -1000  # COWSCOPE_NOT_LOADED
_LABEL_MAX = 200    # bytes of a label the shim keeps
RANGE_BYTES = 32    # one struct cowscope_range: "<QQQII" (addr, len, weight, label, flags)


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
_label_ranges = _lookup("cowscope_label_ranges",
                        [ctypes.c_char_p, ctypes.POINTER(ctypes.c_char_p), ctypes.c_size_t,
                         ctypes.c_void_p, ctypes.c_size_t])


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


def _utf8(s):
    return s.encode("utf-8", "replace") if isinstance(s, str) else bytes(s)


def _address(buf, nbytes):
    """The address of buf's first nbytes (a C-contiguous buffer), and an object that keeps it."""
    mv = memoryview(buf).cast("B")
    if mv.nbytes < nbytes:
        return None, None
    if mv.readonly:  # bytes: ctypes cannot point into it without a copy
        keep = ctypes.create_string_buffer(mv.tobytes()[:nbytes], max(nbytes, 1))
    else:
        keep = (ctypes.c_char * mv.nbytes).from_buffer(mv)
    return ctypes.addressof(keep), keep


def label_ranges(kind, names, ranges_buffer, n):
    """Record one labelling of `kind` (str, 1 to 64 bytes in UTF-8): children forked after it
    have their copied pages charged to the labels `names` (a sequence of str or bytes, each cut
    to 1024 bytes) of the ranges that cover them (docs/labels.md).

    ranges_buffer holds n ranges packed as struct cowscope_range, "<QQQII" (addr, len, weight,
    label, flags = 0), RANGE_BYTES each: e.g. an array('Q') of 4n u64, [addr, len, weight,
    label] per range (the last u64 is label | flags << 32, flags 0). A writable buffer
    (array, bytearray) is passed without a copy; a read-only one (bytes) is copied once.
    Returns the C return code (0, -errno.EINVAL, -errno.E2BIG, -errno.EIO, ...; -errno.EINVAL
    too when the buffer is shorter than n ranges or an argument has the wrong type), or
    NOT_LOADED. Never raises."""
    if _label_ranges is None:
        return NOT_LOADED
    try:
        enc = [_utf8(x) for x in names]
        arr = (ctypes.c_char_p * max(len(enc), 1))(*enc)
        addr, keep = _address(ranges_buffer, int(n) * RANGE_BYTES)
        if keep is None:
            return -errno.EINVAL
        r = _label_ranges(_utf8(kind), arr, len(enc), addr, int(n))
        del keep
        return r
    except (TypeError, ValueError, BufferError, OverflowError):
        return -errno.EINVAL
