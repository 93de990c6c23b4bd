#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Unit check of the shim's state rules (issue 9):
1. every entry point of libcowscope.so takes or checks the recursion guard (cs_guard_enter or
   cs_guard_held, directly or through a static function of its file): interposers (CS_HOOK),
   the public API (CS_API / visibility default), constructors, destructors, atfork handlers and
   after_exec; the exceptions are listed below with their reason;
2. each module's state has one writer file: cs_proc_st only in boot.c, cs_sampling_st only in
   alloc/sampling.c, cs_tls_guard only in guard.h (and its definition in boot.c), and the
   counters array only in counters.c (everyone else calls cs_counter_add);
3. with the built library given: `nm -D --undefined-only` lists no pthread TLS-key function
   (no pthread_setspecific on the allocation path)."""
import os
import re
import subprocess
import sys

EXPORT = re.compile(r"^(?:CS_HOOK|CS_API|__attribute__\(\(visibility\(\"default\"\)\)\))\s+[^;{]*?"
                    r"\b(\w+)\s*\(", re.M)
CTOR = re.compile(r"^__attribute__\(\((?:constructor|destructor)[^)]*\)*\s+static\s+[^;{(]*?"
                  r"\b(\w+)\s*\(", re.M)
ATFORK = re.compile(r"pthread_atfork\(\s*(\w+)\s*,\s*(\w+)\s*,\s*(\w+)\s*\)")
STATIC_DEF = re.compile(r"^static\s+[^;=]*?\b(\w+)\s*\([^;]*?\)\s*\{", re.M)
GUARD = re.compile(r"\bcs_guard_(?:enter|held)\s*\(")
ALSO = {"hooks.c": ["after_exec"]}

# Entry points that take no guard, and why.
EXEMPT = {
    # Pure forwarder: records nothing and touches no shim state.
    ("hooks_alloc.c", "malloc_usable_size"),
    # mmap64 calls the mmap hook, which checks the guard.
    ("hooks_alloc.c", "cs_hook_mmap64"),
}
# Files whose entry points deliberately take no guard (the reason is in the file's header).
EXEMPT_FILES = {"objapi.c": "Recursion guard: these entry points deliberately take none"}


def body_at(src, start):
    """The text of the brace block that starts at or after start."""
    i = src.index("{", start)
    depth = 0
    for k in range(i, len(src)):
        depth += {"{": 1, "}": -1}.get(src[k], 0)
        if depth == 0:
            return src[i:k + 1]
    return src[i:]


def bodies(src):
    """Every function definition's body by name (the last definition wins)."""
    out = {}
    for m in re.finditer(r"^(?:__attribute__\(\(\w+(?:\(\d+\))?\)\)\s+)?[A-Za-z_][^;{}()]*?"
                         r"\b(\w+)\s*\([^;{}]*?\)\s*(?:__asm__\([^)]*\))?\s*\{", src, re.M):
        out[m.group(1)] = body_at(src, m.start())
    return out


def guarded(name, funcs, seen=None):
    seen = seen if seen is not None else set()
    if name in seen or name not in funcs:
        return False
    seen.add(name)
    body = funcs[name]
    if GUARD.search(body):
        return True
    return any(guarded(c, funcs, seen) for c in re.findall(r"\b(\w+)\s*\(", body) if c != name)


def entry_points(src, base):
    names = set(EXPORT.findall(src)) | set(CTOR.findall(src)) | set(ALSO.get(base, []))
    for m in ATFORK.finditer(src):
        names.update(n for n in m.groups() if n != "NULL")
    return names


def check_guards(root, bad):
    shim = os.path.join(root, "shim")
    for d, _, files in os.walk(shim):
        if os.path.basename(d) == "python":
            continue
        for f in sorted(files):
            if not f.endswith(".c"):
                continue
            path = os.path.join(d, f)
            src = open(path).read()
            rel = os.path.relpath(path, shim)
            names = entry_points(src, rel)
            if rel in EXEMPT_FILES:
                if names and EXEMPT_FILES[rel] not in src:
                    bad.append(f"shim/{rel}: exempt from the guard but does not say why")
                continue
            funcs = bodies(src)
            for n in sorted(names):
                if (rel, n) in EXEMPT:
                    continue
                if n not in funcs:
                    bad.append(f"shim/{rel}: entry point {n}: no definition found")
                elif not guarded(n, funcs):
                    bad.append(f"shim/{rel}: entry point {n} takes no recursion guard")
            yield rel, len(names)


OWNERS = {
    r"\bcs_proc_st\b": {"boot.c", "boot.h"},
    r"\bcs_sampling_st\b": {"alloc/sampling.c", "alloc/sampling.h"},
    r"\bcs_tls_guard\b": {"guard.h", "boot.c"},
    r"\bcounters\s*\[": {"counters.c"},
    r"\bcs_st\b": set(),
}


def check_owners(root, bad):
    shim = os.path.join(root, "shim")
    for d, _, files in os.walk(shim):
        for f in files:
            if not f.endswith((".c", ".h")):
                continue
            rel = os.path.relpath(os.path.join(d, f), shim)
            src = open(os.path.join(d, f)).read()
            for pat, owners in OWNERS.items():
                if rel not in owners and re.search(pat, src):
                    bad.append(f"shim/{rel}: uses {pat} (owned by {sorted(owners) or 'nobody'})")


def check_imports(lib, bad):
    out = subprocess.run(["nm", "-D", "--undefined-only", lib], stdout=subprocess.PIPE,
                         check=True).stdout.decode()
    for sym in ("pthread_setspecific", "pthread_key_create", "pthread_getspecific"):
        if re.search(rf"\b{sym}\b", out):
            bad.append(f"{lib} imports {sym}")


def main():
    root = sys.argv[1]
    bad = []
    n = sum(k for _, k in check_guards(root, bad))
    check_owners(root, bad)
    if len(sys.argv) > 2:
        check_imports(sys.argv[2], bad)
    for b in bad:
        print(b)
    print(f"{n} entry points checked; {len(bad)} problem(s)")
    return 1 if bad or n < 40 else 0


if __name__ == "__main__":
    sys.exit(main())
