# SPDX-License-Identifier: MIT
"""What every integration driver shares: the skip status and the assertions (exact where known)."""

SKIP = 77  # meson's "skipped": the machine lacks a feature or a privilege


class Failure(Exception):
    """A check failed; the driver prints it and exits 1."""


class Skip(Exception):
    """The test cannot run here; the driver prints why and exits SKIP."""


def verdict(name, test, *args):
    """Run test(*args) and turn its outcome into the driver's exit status, printing it."""
    try:
        test(*args)
    except Skip as e:
        print(f"SKIP {name}: {e}")
        return SKIP
    except Failure as e:
        print(f"FAIL {name}: {e}")
        return 1
    print(f"ok {name}")
    return 0


def check(cond, what):
    if not cond:
        raise Failure(what)


def eq(got, want, what):
    check(got == want, f"{what}: got {got!r}, want {want!r}")


def free_port():
    """A loopback TCP port nobody listens on now (servers under test bind 127.0.0.1 only)."""
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(cond, what, timeout=60):
    """Poll cond() (a condition, never a duration) until it is true; its value, or a Failure."""
    import time
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        v = cond()
        if v:
            return v
        time.sleep(0.02)
    raise Failure(f"timed out waiting for {what}")


def children(pid):
    """pid's child processes (/proc/PID/task/PID/children), [] once it is gone."""
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(x) for x in f.read().split()]
    except OSError:
        return []
