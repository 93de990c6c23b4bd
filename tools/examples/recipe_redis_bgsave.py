#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Recipe example: a Redis BGSAVE under `cowscope run`, next to Redis's own "Fork CoW" figure.

Starts Debian's redis-server (loopback only, --save '', log level verbose) under
`cowscope run -o RUN`, loads KEYS values of VALUE bytes, starts a BGSAVE and stops the save child
(SIGSTOP) while the parent overwrites every value, the way a busy server keeps writing during a
save. While the child is still stopped, it reads the child's Private_Dirty from
/proc/PID/smaps_rollup; then it lets the child finish, shuts Redis down and prints:

  - Redis's own copy-on-write lines from its log file ("Fork CoW for RDB: ..." and
    "RDB: N MB of memory used by copy-on-write"),
  - the child's Private_Dirty as read while it was stopped,
  - cowscope's figures for the save child (JSON report): child-copied, parent-unshared.

Usage: recipe_redis_bgsave.py -o RUN [--no-writes] [--cowscope PATH] [--redis PATH] [--keys N] [--value BYTES]
Then `cowscope report RUN` prints the text report.
"""
import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time

DEADLINE_S = 60


class Resp:
    """A minimal RESP client: enough for SET, CONFIG, BGSAVE, INFO, SHUTDOWN."""

    def __init__(self, port):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=DEADLINE_S)
        self.buf = b""

    @staticmethod
    def encode(*args):
        out = [b"*%d\r\n" % len(args)]
        for a in args:
            a = a if isinstance(a, bytes) else str(a).encode()
            out.append(b"$%d\r\n%s\r\n" % (len(a), a))
        return b"".join(out)

    def line(self):
        while b"\r\n" not in self.buf:
            chunk = self.s.recv(65536)
            if not chunk:
                raise ConnectionError("redis closed the connection")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def reply(self):
        line = self.line()
        kind, rest = line[:1], line[1:]
        if kind == b"-":
            raise RuntimeError(f"redis error: {rest.decode()}")
        if kind == b"$":
            n = int(rest)
            if n < 0:
                return None
            while len(self.buf) < n + 2:
                self.buf += self.s.recv(65536)
            data, self.buf = self.buf[:n], self.buf[n + 2:]
            return data
        if kind == b"*":
            return [self.reply() for _ in range(int(rest))]
        return rest

    def call(self, *args):
        self.s.sendall(self.encode(*args))
        return self.reply()

    def pipeline(self, cmds, batch=500):
        for i in range(0, len(cmds), batch):
            part = cmds[i:i + batch]
            self.s.sendall(b"".join(self.encode(*c) for c in part))
            for _ in part:
                self.reply()


def wait_until(cond, what, timeout=DEADLINE_S):
    """Poll cond() until it is true (a condition, never a duration); its value."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        v = cond()
        if v:
            return v
        time.sleep(0.02)
    raise TimeoutError(f"timed out waiting for {what}")


def children(pid):
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(x) for x in f.read().split()]
    except OSError:
        return []


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def private_dirty_kib(pid):
    with open(f"/proc/{pid}/smaps_rollup") as f:
        for line in f:
            if line.startswith("Private_Dirty:"):
                return int(line.split()[1])
    raise RuntimeError(f"no Private_Dirty for {pid}")


def connect(port, server):
    def attempt():
        if server.poll() is not None:
            raise RuntimeError(f"cowscope run exited early ({server.returncode})")
        try:
            r = Resp(port)
            return r if r.call("PING") == b"PONG" else None
        except OSError:
            return None
    return wait_until(attempt, "redis-server to answer PING")


def bgsave(r, rpid, a):
    """Load, BGSAVE, rewrite everything while the save child is stopped; the child's dirty KiB."""
    r.pipeline([("SET", f"key:{i}", b"v" * a.value) for i in range(a.keys)])
    r.call("CONFIG", "SET", "rdb-key-save-delay", "20")  # µs per key: a save that lasts
    r.call("BGSAVE")
    child = wait_until(lambda: (children(rpid) or [None])[0], "the BGSAVE child")
    os.kill(child, signal.SIGSTOP)
    if not a.no_writes:
        r.pipeline([("SET", f"key:{i}", b"w" * a.value) for i in range(a.keys)])
    dirty = private_dirty_kib(child)
    os.kill(child, signal.SIGCONT)
    wait_until(lambda: b"rdb_bgsave_in_progress:0" in r.call("INFO", "persistence"),
               "the BGSAVE to finish")
    if b"rdb_last_bgsave_status:ok" not in r.call("INFO", "persistence"):
        raise RuntimeError("BGSAVE failed")
    return child, dirty


def serve(a, data):
    port, log = free_port(), os.path.join(data, "redis.log")
    cmd = [a.cowscope, "run", "-q", "-o", a.out, "--", a.redis, "--port", str(port), "--bind",
           "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", data, "--daemonize", "no",
           "--loglevel", "verbose", "--logfile", log]
    server = subprocess.Popen(cmd, stdin=subprocess.DEVNULL)
    try:
        r = connect(port, server)
        rpid = wait_until(lambda: (children(server.pid) or [None])[0], "redis-server")
        child, dirty = bgsave(r, rpid, a)
        try:
            r.call("SHUTDOWN", "NOSAVE")
        except (ConnectionError, OSError):
            pass  # the server closes the connection as it shuts down
        server.wait(timeout=DEADLINE_S)
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
    with open(log, errors="replace") as f:
        cow = [ln.rstrip() for ln in f if "copy-on-write" in ln or "Fork CoW" in ln]
    return child, dirty, cow


def main(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("-o", dest="out", required=True, help="cowscope run directory (new)")
    p.add_argument("--cowscope", default="cowscope")
    p.add_argument("--redis", default="/usr/bin/redis-server")
    p.add_argument("--keys", type=int, default=100_000)
    p.add_argument("--value", type=int, default=2000,
                   help="value bytes (<= half a page: Redis 7's save child releases the pages "
                        "of larger values once written)")
    p.add_argument("--no-writes", action="store_true",
                   help="leave the parent idle during the save (the comparison)")
    a = p.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="recipe-redis.") as data:
        child, dirty, cow = serve(a, data)
    rep = subprocess.run([a.cowscope, "report", "--format", "json", a.out], check=True,
                         stdout=subprocess.PIPE)
    c = next(x for x in json.loads(rep.stdout)["processes"] if x["pid"] == child)
    mib = lambda pages: pages * c["page_size"] / 2**20  # noqa: E731
    for line in cow:
        print(f"redis log: {line}")
    print(f"save child {child}: Private_Dirty while stopped {dirty / 1024:.1f} MiB")
    print(f"cowscope: shared at fork {mib(c['shared_at_fork_pages']):.1f} MiB, child-copied "
          f"{mib(c['child_copied_pages']):.1f} MiB, parent-unshared "
          f"{mib(c['parent_unshared_pages']):.1f} MiB, child-new {mib(c['child_new_pages']):.1f} "
          f"MiB")
    print(json.dumps({"child": child, "private_dirty_kib": dirty, "redis_log": cow}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
