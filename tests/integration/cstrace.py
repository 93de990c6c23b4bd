# SPDX-License-Identifier: MIT
"""A small reader of cowscope process traces for tests: records by type, snapshots, page sets,
changed words (CS_REC_DIFF / CS_REC_WORDS), labellings (CS_REC_LSET / CS_REC_LRANGES), packed
allocation events (CS_REC_EVPACK, zstd frames through the zstd program) and live-set checkpoints
(CS_REC_LIVESET). Offsets follow include/cowscope/trace_format.h."""
import glob
import os
import struct
import subprocess

REC_SNAP_BEGIN, REC_PAGES, REC_SNAP_END, REC_COUNTERS = 3, 5, 7, 12
REC_DIFF, REC_WORDS = 25, 26
REC_LSET, REC_LRANGES = 30, 31
REC_EVPACK, REC_LIVESET = 32, 33
PEV_ALLOC, PEV_FREE, PEV_SEQ_NEXT = 1, 2, 0x20
ALLOC_MALLOC, ALLOC_MMAP = 1, 2
FREE_FREE, FREE_MUNMAP, FREE_MREMAP = 1, 2, 3
CODEC_RAW, CODEC_ZSTD = 0, 1
SET_PRESENT, SET_WRITTEN, SET_EXCL, SET_HUGE = 1, 2, 3, 4
SET_NOOP, SET_UNKNOWN, SET_PNOOP, SET_PUNKNOWN = 5, 6, 7, 8
SIDE_CHILD, SIDE_PARENT = 0, 1
WHY = {1: "no_view", 2: "gone", 3: "changed", 4: "absent"}
SNAP_FORK, SNAP_EXIT, SNAP_WORK = 1, 2, 8
COUNTERS = ["trace_reopened", "trace_write_failed", "arm_failed_mappings", "armed_mappings",
            "snapshots_skipped_busy", "snapshots_failed", "mappings_skipped", "forks", None,
            "alloc_events_dropped", "stack_table_full", "self_tracking_armed",
            "self_tracking_ns"]


class Diff:
    """One CS_REC_DIFF, decoded (cs_rec_diff_t, 96 bytes)."""

    def __init__(self, b):
        (self.seq, self.side, self.word_bytes, self.stride, self.flags, self.considered,
         self.compared, self.changed_pages, self.changed_words) = struct.unpack_from(
            "<IBxHIIQQQQ", b, 8)
        u = struct.unpack_from("<4Q", b, 56)
        self.unknown = {WHY[i + 1]: u[i] for i in range(4)}
        self.cost_ns = struct.unpack_from("<Q", b, 88)[0]


def _strs(b, off, n):
    """n length-prefixed strings from offset off: (list of str, offset after them)."""
    out = []
    for _ in range(n):
        k = struct.unpack_from("<H", b, off)[0]
        out.append(b[off + 2:off + 2 + k].decode("utf-8", "replace"))
        off += 2 + k
    return out, off


class Labelling:
    """One CS_REC_LSET and the ranges of its CS_REC_LRANGES records (format 1.6)."""

    def __init__(self, b):
        (self.set, nnames, self.nranges, self.t_ns, self.bytes,
         self.flags) = struct.unpack_from("<IIQQQI", b, 8)
        (kind,), off = _strs(b, 48, 1)
        self.kind = kind
        self.names, _ = _strs(b, off, nnames)
        self.ranges = []  # (addr, len, weight, label)

    def add(self, b):
        count = struct.unpack_from("<I", b, 12)[0]
        if len(b) < 16 + 32 * count:
            raise ValueError("LRANGES record shorter than its ranges")
        for k in range(count):
            addr, ln, w, label, _fl = struct.unpack_from("<QQQII", b, 16 + 32 * k)
            self.ranges.append((addr, ln, w, label))

    @property
    def complete(self):
        return len(self.ranges) == self.nranges


class Event:
    """One packed event (format 1.7): what (PEV_ALLOC/PEV_FREE), kind, seq, ptr, len (ALLOC:
    size; FREE: munmap/mremap bytes), stack (ALLOC)."""
    __slots__ = ("what", "kind", "seq", "ptr", "len", "stack")

    def __init__(self, what, kind, seq, ptr, ln, stack):
        self.what, self.kind, self.seq, self.ptr, self.len, self.stack = \
            what, kind, seq, ptr, ln, stack

    def __repr__(self):
        w = "alloc" if self.what == PEV_ALLOC else "free"
        return f"<{w} kind={self.kind} seq={self.seq} ptr={self.ptr:#x} len={self.len}>"


class Pack:
    """One CS_REC_EVPACK or CS_REC_LIVESET, decoded (cs_rec_evpack_t, 32 bytes)."""

    def __init__(self, rtype, b):
        (self.count, self.tid, self.seq, self.raw_bytes, self.codec,
         self.flags) = struct.unpack_from("<IIQIHH", b, 8)
        self.type, self.stored = rtype, len(b)
        body = b[32:]
        if self.codec == CODEC_ZSTD:
            body = _unzstd(body, self.raw_bytes)
        elif self.codec != CODEC_RAW:
            raise ValueError(f"unknown codec {self.codec}")
        if len(body) < self.raw_bytes:
            raise ValueError("packed events shorter than raw_bytes")
        self.events = _unpack(body[:self.raw_bytes], self.seq)
        if len(self.events) != self.count:
            raise ValueError(f"{len(self.events)} events packed, header says {self.count}")


def _unzstd(frame, raw_bytes):
    """Decompress one zstd frame followed by zero padding (the zstd program stops at the frame's
    end only with trailing zero bytes cut: find the frame's length by trying shorter tails)."""
    for cut in range(0, 8):
        data = frame[:len(frame) - cut] if cut else frame
        r = subprocess.run(["zstd", "-d", "-q", "-c"], input=data, capture_output=True)
        if r.returncode == 0 and len(r.stdout) == raw_bytes:
            return r.stdout
    raise ValueError("zstd frame does not decompress to raw_bytes")


def _varint(b, off):
    x, shift = 0, 0
    while True:
        if off >= len(b) or shift >= 70:
            raise ValueError("bad varint")
        c = b[off]
        off += 1
        x |= (c & 0x7f) << shift
        shift += 7
        if not c & 0x80:
            return x, off


def _unzz(z):
    return (z >> 1) ^ -(z & 1)


def _unpack(b, seq0):
    """Packed events of one record, as Event objects (seq and ptr as unsigned 64-bit)."""
    out, off, seq, ptr, m = [], 0, seq0, 0, (1 << 64) - 1
    while off < len(b):
        tag = b[off]
        off += 1
        what, kind = tag & 3, (tag >> 2) & 7
        if tag & 0xc0 or what not in (PEV_ALLOC, PEV_FREE):
            raise ValueError(f"bad tag {tag:#x}")
        if tag & PEV_SEQ_NEXT:
            seq = (seq + 1) & m
        else:
            d, off = _varint(b, off)
            seq = (seq + _unzz(d)) & m
        d, off = _varint(b, off)
        ptr = (ptr + _unzz(d)) & m
        ln, off = _varint(b, off)
        stack = 0
        if what == PEV_ALLOC:
            stack, off = _varint(b, off)
        out.append(Event(what, kind, seq, ptr, ln, stack))
    return out


class Snapshot:
    def __init__(self, seq, reason):
        self.seq, self.reason, self.complete = seq, reason, False
        self.sets = {}   # set -> [(first_page, npages)]
        self.diff = {}   # side -> Diff
        self.words = {}  # side -> {page: [bitmap u64...]}

    def pages(self, s):
        """The set's pages, as a Python set."""
        out = set()
        for first, n in self.sets.get(s, []):
            out.update(range(first, first + n))
        return out

    def changed_words(self, side, page):
        """Word indexes changed on page (a WORDS entry), or None."""
        bm = self.words.get(side, {}).get(page)
        if bm is None:
            return None
        return [64 * j + i for j, w in enumerate(bm) for i in range(64) if w >> i & 1]


class Trace:
    def __init__(self, path):
        with open(path, "rb") as f:
            data = f.read()
        if data[:8] != b"COWSCOPE":
            raise ValueError(f"{path}: not a cowscope trace")
        self.path = path
        self.pid = struct.unpack_from("<I", data, 24)[0]
        self.records = []  # (type, bytes)
        off = struct.unpack_from("<I", data, 12)[0]
        while off + 8 <= len(data):
            t, _flags, size = struct.unpack_from("<HHI", data, off)
            if size < 8 or off + size > len(data):
                break
            self.records.append((t, data[off:off + size]))
            off += size
        self._snapshots()

    def of_type(self, t):
        return [b for rt, b in self.records if rt == t]

    def _snapshots(self):
        self.snaps, cur = [], None
        for t, b in self.records:
            if t == REC_SNAP_BEGIN:
                seq, reason = struct.unpack_from("<IB", b, 8)
                cur = Snapshot(seq, reason)
                self.snaps.append(cur)
            elif cur is None:
                continue
            elif t == REC_PAGES:
                s = b[12]
                runs = [struct.unpack_from("<QQ", b, o) for o in range(16, len(b), 16)]
                cur.sets.setdefault(s, []).extend(runs)
            elif t == REC_DIFF:
                d = Diff(b)
                if d.side in cur.diff:
                    raise ValueError(f"snapshot {cur.seq}: two DIFF records for side {d.side}")
                cur.diff[d.side] = d
            elif t == REC_WORDS:
                side, bw, count = b[12], struct.unpack_from("<H", b, 14)[0], \
                    struct.unpack_from("<I", b, 16)[0]
                if len(b) < 24 + count * (8 + 8 * bw):
                    raise ValueError("WORDS record shorter than its entries")
                ws = cur.words.setdefault(side, {})
                for k in range(count):
                    o = 24 + k * (8 + 8 * bw)
                    page = struct.unpack_from("<Q", b, o)[0]
                    if page in ws:
                        raise ValueError(f"page {page:#x} twice in WORDS")
                    ws[page] = list(struct.unpack_from(f"<{bw}Q", b, o + 8))
            elif t == REC_SNAP_END:
                cur.complete = True
                cur = None

    def labellings(self):
        """The process's labellings (format 1.6) in record order, each with its ranges."""
        out, by_set = [], {}
        for t, b in self.records:
            if t == REC_LSET:
                lab = Labelling(b)
                by_set[lab.set] = lab
                out.append(lab)
            elif t == REC_LRANGES:
                lab = by_set.get(struct.unpack_from("<I", b, 8)[0])
                if lab is None:
                    raise ValueError("LRANGES of a set with no LSET before it")
                lab.add(b)
        return out

    def packs(self):
        """Every CS_REC_EVPACK and CS_REC_LIVESET in file order, decoded (Pack objects)."""
        return [Pack(t, b) for t, b in self.records if t in (REC_EVPACK, REC_LIVESET)]

    def events(self):
        """Every packed event of the EVPACK records, in file order."""
        return [e for p in self.packs() if p.type == REC_EVPACK for e in p.events]

    def live_malloc(self):
        """The malloc blocks live at the end as {ptr: Event}: the last LIVESET (if any), then
        the malloc-kind events after it in the file, by seq (format 1.7 replay)."""
        live, after = {}, []
        for p in self.packs():
            if p.type == REC_LIVESET:
                live, after = {e.ptr: e for e in p.events}, []
            else:
                after.extend(p.events)
        for e in sorted(after, key=lambda e: e.seq):
            if e.what == PEV_ALLOC and e.kind == ALLOC_MALLOC:
                live[e.ptr] = e
            elif e.what == PEV_FREE and e.kind == FREE_FREE:
                live.pop(e.ptr, None)
        return live

    def snapshot(self, reason):
        """The last complete snapshot of that reason, or None."""
        s = [x for x in self.snaps if x.reason == reason and x.complete]
        return s[-1] if s else None

    def counters(self):
        """The last CS_REC_COUNTERS as {name: value}."""
        recs = self.of_type(REC_COUNTERS)
        if not recs:
            return {}
        b = recs[-1]
        n = struct.unpack_from("<I", b, 8)[0]
        vals = struct.unpack_from(f"<{n}Q", b, 16)
        return {COUNTERS[i] if i < len(COUNTERS) else f"#{i}": v
                for i, v in enumerate(vals) if i >= len(COUNTERS) or COUNTERS[i]}


def trace_of(run_dir, pid):
    """The process trace of pid (its first exec generation) in a run directory."""
    paths = sorted(glob.glob(os.path.join(run_dir, f"{pid}.*.cst")))
    paths = [p for p in paths if not p.endswith(".samples.cst")]
    if not paths:
        raise FileNotFoundError(f"no trace for pid {pid} in {run_dir}")
    return Trace(paths[0])
