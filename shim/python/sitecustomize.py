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
  snapshot) and its handler runs before those its parent registered;
- in the same hook, when the shim has cowscope_label_ranges, it labels the parent's live objects
  by type ("python-type"), and by the Python line that allocated them ("python-line") when
  `cowscope run --python-lines` set COWSCOPE_PYTHON_LINES (tracemalloc, started here):
  docs/python.md.

It never raises into the program and never prints. Without the shim the handler and the hook do
nothing; in the process that started (not a forked child) the handler does nothing either.
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
    _label_objects()


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


# ---- Labelling the parent's objects before a fork (docs/python.md) ----

_HAVE_GC = 1 << 14           # Py_TPFLAGS_HAVE_GC: a PyGC_Head sits in front of the object
_MANAGED_DICT = 1 << 4       # 3.11+: the dict/values pointers in front of the GC header
_MANAGED_WEAKREF = 1 << 3    # 3.12+: the weakref list pointer in front too
_INLINE = frozenset((str, bytes, tuple, int))  # items inline: sys.getsizeof is the object
_BATCH = 65536               # objects whose referents are listed at once
_label_fn = _UNKNOWN         # the shim's cowscope_label_ranges, None without it
_last = None                 # (monotonic ns, allocated blocks) of the last labelling
_lines = 0                   # frames per traceback under --python-lines, 0 without


def _env_int(name, default, lo, hi):
    try:
        v = int(os.environ.get(name, ""))
    except ValueError:
        return default
    return v if lo <= v <= hi else default


def _layout():
    """(GC header bytes, whether MANAGED_DICT adds a pre-header, whether MANAGED_WEAKREF does),
    or None where the layout is not known.

    CPython 3.8 to 3.13 on a 64-bit build: PyGC_Head is two words; 3.11 put an instance's dict
    pointers (2 words) in front of it, 3.12 its weakref list too (the same 2 words)."""
    v = sys.version_info[:2]
    if sys.maxsize <= 2**32 or not (3, 8) <= v <= (3, 13) or sys.implementation.name != "cpython":
        return None
    return 16, v >= (3, 11), v >= (3, 12)


def _lookup_label():
    """The shim's cowscope_label_ranges() through ctypes, or None."""
    try:
        import ctypes
        fn = ctypes.CDLL(None).cowscope_label_ranges
        fn.restype = ctypes.c_int
        fn.argtypes = [ctypes.c_char_p, ctypes.c_void_p, ctypes.c_size_t, ctypes.c_void_p,
                       ctypes.c_size_t]
        return fn
    except Exception:
        return None


def _traceback_at():
    """CPython's _PyTraceMalloc_GetTraceback(domain, address) through ctypes, or None."""
    try:
        import ctypes
        fn = ctypes.pythonapi._PyTraceMalloc_GetTraceback
        fn.restype = ctypes.py_object
        fn.argtypes = [ctypes.c_uint, ctypes.c_size_t]
        return fn
    except Exception:
        return None


# The allocator's alignment: pymalloc (and glibc's malloc) hand out blocks in multiples of 16
# bytes on 64-bit builds (CPython 3.8+: ALIGNMENT 16), so an object's block is its size rounded
# up to 16. Labelling the whole block charges a page of objects to them, not partly to padding.
_ALIGN = 16


def _block(size):
    """The bytes of the block an object of `size` bytes occupies."""
    return (size + _ALIGN - 1) & -_ALIGN


def _type_name(t):
    mod = getattr(t, "__module__", None)
    qual = getattr(t, "__qualname__", None) or getattr(t, "__name__", "?")
    if not isinstance(mod, str) or not isinstance(qual, str):
        return "?"
    return qual if mod == "builtins" else mod + "." + qual


class _Walk:
    """One labelling: every reachable object's range, its type's label, its line's label.

    Per object, only C-level maps run (id, type, dict lookups, sys.getsizeof of str, bytes, int
    and tuple objects): a Python loop per object would cost about 1 s per million objects."""

    def __init__(self, layout):
        import array
        self.gc_head, self.pre_dict, self.pre_weak = layout
        self.addr, self.len = array.array("Q"), array.array("Q")
        self.tlab, self.llab = array.array("I"), array.array("i")
        self.lab, self.pre, self.fixed = {}, {}, {}  # type -> label, bytes in front, len or 0
        self.tnames, self.tlabels = [], {}           # two types may share a name, and a label
        self.lines, self.lnames = {None: -1}, []     # raw traceback -> label
        self.tb = self.tb_at = None
        if _lines:
            import tracemalloc
            if tracemalloc.is_tracing():
                self.tb = getattr(tracemalloc, "_get_object_traceback", None)
                self.tb_at = _traceback_at() if self.pre_dict and not self.pre_weak else None

    def type_entry(self, t):
        pre, flags = 0, t.__flags__
        if flags & _HAVE_GC:
            pre = self.gc_head
        if flags & _MANAGED_DICT and self.pre_dict or flags & _MANAGED_WEAKREF and self.pre_weak:
            pre += 16  # _PyType_PreHeaderSize(): two words, either flag
        name = _type_name(t)
        lab = self.tlabels.get(name)
        if lab is None:
            lab = self.tlabels[name] = len(self.tnames)
            self.tnames.append(name)
        self.lab[t], self.pre[t] = lab, pre
        self.fixed[t] = 0 if t in _INLINE else _block(pre + t.__basicsize__)

    def managed(self, t):
        return bool(t.__flags__ & _MANAGED_DICT)

    def add(self, objs):
        """Fixed-size objects first, then str, bytes, int and tuple ones (sys.getsizeof: their
        header, pre-header included, and their inline items)."""
        import itertools
        import operator
        types = list(map(type, objs))
        for t in set(types).difference(self.lab):
            self.type_entry(t)
        fixed = list(map(self.fixed.__getitem__, types))
        mask = list(map(bool, fixed))
        inline = list(map(operator.not_, mask))
        objs = list(itertools.chain(itertools.compress(objs, mask),
                                    itertools.compress(objs, inline)))
        types = list(itertools.chain(itertools.compress(types, mask),
                                     itertools.compress(types, inline)))
        self.addr.extend(map(operator.sub, map(id, objs), map(self.pre.__getitem__, types)))
        sizes = map(sys.getsizeof, itertools.compress(objs, inline))
        self.len.extend(itertools.chain(itertools.compress(fixed, mask),
                                         map(operator.and_, map(operator.add, sizes,
                                                                itertools.repeat(_ALIGN - 1)),
                                             itertools.repeat(-_ALIGN))))
        self.tlab.extend(map(self.lab.__getitem__, types))
        if self.tb is not None:
            self.add_lines(objs, types, len(self.addr) - len(objs))

    def add_lines(self, objs, types, first):
        """tracemalloc's raw traceback (most recent frame first) of each object, as a label.

        CPython 3.11's tracemalloc looks an instance with a managed dict up at the wrong address
        (it skips the GC header, not the pre-header; 3.12 fixed it) and finds nothing: those are
        looked up by their block's address (self.addr), through _PyTraceMalloc_GetTraceback."""
        import itertools
        raws = list(map(self.tb, objs))
        if self.tb_at is not None:
            for i in itertools.compress(range(len(objs)), map(self.managed, types)):
                raws[i] = self.tb_at(0, self.addr[first + i])
        for raw in set(raws).difference(self.lines):
            self.lines[raw] = len(self.lnames)
            self.lnames.append(";".join("%s:%d" % f for f in reversed(raw)))
        self.llab.extend(map(self.lines.__getitem__, raws))


def _frame_locals():
    """The local variables of every thread's frames but the helper's own. A running frame's
    locals are not its referents for the collector (3.11 traverses only frames it owns), so they
    are read through f_locals, as a debugger reads them."""
    out = []
    for f in sys._current_frames().values():
        while f is not None:
            if f.f_globals is not globals():
                out.extend(f.f_locals.values())
            f = f.f_back
    return out


def _walk(layout):
    """Every object reachable from the collector's lists and sys.modules, each once, in a _Walk.

    gc.get_objects() lists the tracked objects of the three generations, each once, but not those
    gc.freeze() moved to the permanent one: after a freeze the walk also starts from the modules
    and every thread's frames. Untracked objects (str, int, float, bytes, tuples of
    them) and, after a freeze, the frozen ones are found as the referents of what is listed,
    breadth first, by batches; without a freeze only untracked referents are new. The list is
    taken first, so the walk's own objects are not in it."""
    import gc
    import itertools
    import operator
    todo = gc.get_objects()
    frozen = gc.get_freeze_count() > 0
    seen = set(map(id, todo)) if frozen else set()
    if frozen:
        # the roots of what gc.freeze() hid: the modules, and every thread's frames (a
        # function's locals, e.g. main()'s list of the objects it built, reach no module)
        for root in [sys.modules] + _frame_locals():
            if id(root) not in seen:
                seen.add(id(root))
                todo.append(root)
    w = _Walk(layout)
    while todo:
        found = {}
        for k in range(0, len(todo), _BATCH):
            batch = todo[k:k + _BATCH]
            w.add(batch)
            refs = gc.get_referents(*batch)
            if not frozen:
                refs = list(itertools.compress(refs, map(operator.not_, map(gc.is_tracked, refs))))
            byid = dict(zip(map(id, refs), refs))
            new = byid.keys() - seen
            seen.update(new)
            found.update(zip(new, map(byid.__getitem__, new)))
            batch = refs = byid = new = None
        todo = list(found.values())
        found = None
    return w


def _sample(addr, ln, labs, budget):
    """Keep each range with probability min(1, len / t), t = total / budget; a kept range
    stands for max(len, t) bytes (unbiased: its expected weight is its len)."""
    import array
    import random
    rnd = random.Random(len(addr)).random
    thresh = -(-sum(ln) // budget)
    a, n, wt, lb = array.array("Q"), array.array("Q"), array.array("Q"), array.array("Q")
    for i in range(len(addr)):
        size = ln[i]
        if size < thresh and rnd() * thresh >= size:
            continue
        a.append(addr[i])
        n.append(size)
        wt.append(max(size, thresh))
        lb.append(labs[i])
    return a, n, wt, lb


def _pack(w, labs, budget):
    """One kind's ranges as an array of struct cowscope_range (addr, len, weight, label | 0 << 32),
    objects without a label (-1) left out, sampled past budget ranges."""
    import array
    import itertools
    addr, ln = w.addr, w.len
    if labs and min(labs) < 0:
        keep = [lab >= 0 for lab in labs]
        addr = array.array("Q", itertools.compress(addr, keep))
        ln = array.array("Q", itertools.compress(ln, keep))
        labs = itertools.compress(labs, keep)
    labs, weight = array.array("Q", labs), ln
    if len(addr) > budget:
        addr, ln, weight, labs = _sample(addr, ln, labs, budget)
    out = array.array("Q", bytes(32 * len(addr)))
    out[0::4], out[1::4], out[2::4], out[3::4] = addr, ln, weight, labs
    return out


def _call(kind, names, ranges):
    import ctypes
    arr = (ctypes.c_char_p * max(1, len(names)))(
        *[n.encode("utf-8", "replace") for n in names])
    n = len(ranges) // 4
    ptr = ranges.buffer_info()[0] if n else None
    return _label_fn(kind.encode(), arr, len(names), ptr, n)


def _fresh():
    """Is the last labelling young enough (COWSCOPE_PYTHON_LABEL_INTERVAL_MS, default 1000) and
    the heap about the same (allocated blocks within 1%)? Then the shim's still stands."""
    import time
    now, blocks = time.monotonic_ns(), sys.getallocatedblocks()
    last = _last
    ivl = _env_int("COWSCOPE_PYTHON_LABEL_INTERVAL_MS", 1000, 0, 86_400_000) * 1_000_000
    if last and now - last[0] < ivl and abs(blocks - last[1]) <= last[1] // 100:
        return True
    return False


def _label_objects():
    """Before a fork: label the live objects by type (and line), once per interval. Never raises."""
    global _label_fn, _last
    import gc
    was = gc.isenabled()
    try:
        if os.environ.get("COWSCOPE_PYTHON_LABELS") == "0":  # cowscope run --no-python-labels
            return
        if _label_fn is _UNKNOWN:
            _label_fn = _lookup_label()
        layout = _layout()
        if _label_fn is None or layout is None or _fresh():
            return
        gc.disable()
        w = _walk(layout)
        budget = _env_int("COWSCOPE_PYTHON_LABEL_BUDGET", 1_000_000, 1, 2**40)
        _call("python-type", w.tnames, _pack(w, w.tlab, budget))
        if w.tb is not None:
            _call("python-line", w.lnames, _pack(w, w.llab, budget))
        w = None
        import time
        _last = (time.monotonic_ns(), sys.getallocatedblocks())
    except Exception:
        pass
    finally:
        if was:
            gc.enable()


def _start_lines():
    """Under --python-lines: trace allocations with N frames from here on (tracemalloc)."""
    global _lines
    n = _env_int("COWSCOPE_PYTHON_LINES", 0, 1, 1000)
    if not n:
        return
    try:
        import tracemalloc
        if not tracemalloc.is_tracing():
            tracemalloc.start(n)
        _lines = n
    except Exception:
        pass


atexit.register(_at_exit)
_start_lines()
if hasattr(os, "register_at_fork"):
    os.register_at_fork(before=_before_fork)
_chain()
