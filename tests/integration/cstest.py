# SPDX-License-Identifier: MIT
"""What every integration driver shares: the skip status and the assertions (exact where known)."""

SKIP = 77  # meson's "skipped": the machine lacks a feature or a privilege


class Failure(Exception):
    """A check failed; the driver prints it and exits 1."""


class Skip(Exception):
    """The test cannot run here; the driver prints why and exits SKIP."""


def check(cond, what):
    if not cond:
        raise Failure(what)


def eq(got, want, what):
    check(got == want, f"{what}: got {got!r}, want {want!r}")
