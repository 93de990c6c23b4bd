#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Unit check of tools/check-layers: the real tree passes; a tree with an upward include, an
ambiguous header name, an export outside the API files, or a shim importing stdio fails, each
named. Usage: check_layers_test.py SOURCE_ROOT SHIM_SO"""
import os
import shutil
import subprocess
import sys
import tempfile


def run(checker, *args):
    p = subprocess.run([sys.executable, checker, *args], capture_output=True, text=True)
    return p.returncode, p.stdout


def write(root, rel, text):
    path = os.path.join(root, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)


def fake_tree(root):
    """A tiny tree with one violation of each kind (and clean files beside them)."""
    write(root, "include/cowscope.h", "")
    write(root, "common/prim.h", "")
    write(root, "common/ok.c", '#include "prim.h"\n#include "cowscope.h"\n')
    write(root, "shim/state.h", "")
    write(root, "common/up.c", '#include "prim.h"\n#include "state.h"\n')
    write(root, "analyzer/util/vec.h", "")
    write(root, "analyzer/model/model.h", '#include "vec.h"\n')
    write(root, "analyzer/render/render.h", '#include "model.h"\n')
    write(root, "analyzer/model/figures.c", '#include "model.h"\n#include "render.h"\n')
    write(root, "analyzer/cli/prim.h", "")
    write(root, "shim/boot.c", 'int x __attribute__((visibility("default")));\n')
    write(root, "shim/api.c", 'int y __attribute__((visibility("default")));\n')


def expect(cond, what, out):
    if not cond:
        print(f"FAIL: {what}\n--- output:\n{out}")
        sys.exit(1)


def main():
    src, shim = sys.argv[1], sys.argv[2]
    checker = os.path.join(src, "tools", "check-layers")
    rc, out = run(checker, "--root", src, "--shim", shim)
    expect(rc == 0 and out == "", "the real tree and libcowscope.so pass", out)

    tmp = tempfile.mkdtemp()
    try:
        fake_tree(tmp)
        rc, out = run(checker, "--root", tmp)
        expect(rc == 1, "a tree with violations exits 1", out)
        expect('common/up.c:2: common/ includes "state.h" from shim/' in out,
               "common/ including a shim header is named", out)
        expect('analyzer/model/figures.c:2: analyzer/model/ includes "render.h" from '
               'analyzer/render/' in out, "model/ including render/ is named", out)
        expect("analyzer/cli/prim.h: header name also used by common/prim.h" in out
               or "common/prim.h: header name also used by analyzer/cli/prim.h" in out,
               "an ambiguous header name is named", out)
        expect("shim/boot.c:1: exports a symbol" in out, "an export outside the API is named", out)
        named = [line.split(":")[0] for line in out.splitlines()]
        expect(not {"shim/api.c", "common/ok.c", "analyzer/render/render.h"} & set(named),
               "allowed files are not named", out)
        expect(len(out.splitlines()) == 4, "exactly the four violations", out)

        write(tmp, "bad.c", '#include <stdio.h>\nint f(const char *s) { int v; '
                            'return sscanf(s, "%d", &v); }\n')
        so = os.path.join(tmp, "libbad.so")
        cc = subprocess.run(["cc", "-shared", "-fPIC", "-o", so, os.path.join(tmp, "bad.c")],
                            capture_output=True, text=True)
        if cc.returncode != 0:
            print(f"SKIP import case: cc failed: {cc.stderr.strip()}")
            return 0
        rc, out = run(checker, "--root", src, "--shim", so)
        expect(rc == 1 and ("imports __isoc99_sscanf" in out or "imports sscanf" in out),
               "a shim importing sscanf fails, naming it", out)
    finally:
        shutil.rmtree(tmp)
    print("check-layers: all cases behave")
    return 0


if __name__ == "__main__":
    sys.exit(main())
