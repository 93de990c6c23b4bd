#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The JSON schemas in docs/ hold for every golden report and diff, and reject broken ones."""
import copy
import glob
import json
import os
import subprocess
import sys
import tempfile

SKIP = 77  # meson's "skipped"
SCHEMAS = ("json-report.schema.json", "json-diff.schema.json")


def validators(schema_dir):
    """(report validator, diff validator) from docs/, each schema checked against its
    metaschema (draft 2020-12); None without python3-jsonschema."""
    try:
        import jsonschema
    except ImportError:
        return None
    out = []
    for name in SCHEMAS:
        with open(os.path.join(schema_dir, name)) as f:
            schema = json.load(f)
        jsonschema.Draft202012Validator.check_schema(schema)
        out.append(jsonschema.Draft202012Validator(schema))
    return tuple(out)


def problems(validator, doc, what):
    """doc's validation errors, one line each naming what was validated and where."""
    return [f"{what}: at /{'/'.join(map(str, e.absolute_path))}: {e.message[:300]}"
            for e in validator.iter_errors(doc)]


def error_paths(validator, doc):
    """The paths of every error, the nested ones of anyOf/if-then included."""
    out, todo = [], list(validator.iter_errors(doc))
    while todo:
        e = todo.pop()
        out.append(list(e.absolute_path))
        todo += e.context or []
    return out


def cowscope_json(cowscope, command, args, cwd=None):
    """`cowscope COMMAND --format json ARGS...` parsed; a RuntimeError if it fails."""
    r = subprocess.run([os.path.abspath(cowscope), command, "--format", "json"] + args, cwd=cwd,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=False, timeout=300)
    if r.returncode != 0:
        raise RuntimeError(f"{command} {' '.join(args)} exited {r.returncode}: {r.stderr.decode()}")
    return json.loads(r.stdout)


def run_dirs(golden):
    """Every golden run directory (one holding a run.cst), in path order."""
    return sorted(os.path.dirname(p) for p in glob.glob(os.path.join(golden, "**", "run.cst"),
                                                        recursive=True))


def diff_args(expected):
    """The BEFORE and AFTER arguments a golden diff was made with, from its sides' dir and
    phase (run from the directory of the expected file, as tests/golden/README.md says)."""
    def arg(side):
        name = os.path.basename(side["dir"])
        return f"{name}:{side['phase']}" if side["phase"] else name
    return [arg(expected["before"]), arg(expected["after"])]


def mutants(rep):
    """(what, mutated copy of a valid report, path where the schema must object)."""
    out = []
    ci = next(i for i, p in enumerate(rep["processes"]) if p["role"] == "child")

    def mutant(what, path, change):
        m = copy.deepcopy(rep)
        change(m)
        out.append((what, m, path))

    def rename(d, old, new):
        d[new] = d.pop(old)

    mutant("a process key renamed", ["processes", ci],
           lambda m: rename(m["processes"][ci], "child_copied_pages", "child_copied"))
    mutant("a string where a count belongs", ["totals", "children"],
           lambda m: m["totals"].__setitem__("children", str(m["totals"]["children"])))
    mutant("a negative page count", ["processes", ci, "mappings", 0, "child_copied_pages"],
           lambda m: m["processes"][ci]["mappings"][0].__setitem__("child_copied_pages", -1))
    mutant("a role outside its enum", ["processes", ci, "role"],
           lambda m: m["processes"][ci].__setitem__("role", "parent"))
    mutant("a key the report never writes", ["run"],
           lambda m: m["run"].__setitem__("interval", 0))
    mutant("a required key missing", ["totals_at_end"],
           lambda m: m["totals_at_end"].pop("share_retained"))
    mutant("per-process phase without the top-level phases", ["processes", 0],
           lambda m: m.pop("phases"))
    return out


def diff_mutants(d):
    out = []

    def mutant(what, path, change):
        m = copy.deepcopy(d)
        change(m)
        out.append((what, m, path))

    mutant("a headline key renamed", ["headline"],
           lambda m: m["headline"].__setitem__("metrics", m["headline"].pop("metric")))
    mutant("a string where a count belongs", ["children", 0, "before", "child_copied_pages"],
           lambda m: m["children"][0]["before"].__setitem__("child_copied_pages", "52"))
    mutant("a metric outside its enum", ["headline", "metric"],
           lambda m: m["headline"].__setitem__("metric", "copied"))
    return out


def synthetic_runs(mk_amp_run, tmp):
    """The synthetic 1.4 runs (changed words) tests/unit/mk_amp_run writes: the figures run
    and the sites run (field views), as directories under tmp."""
    out = []
    for name, env in (("amp", {}), ("amp-sites", {"AMP_SITES": "1"})):
        d = os.path.join(tmp, name)
        subprocess.run([os.path.abspath(mk_amp_run), d], check=True, timeout=60,
                       env=dict(os.environ, **env))
        out.append(d)
    return out


def amp_mutants(rep):
    """Broken copies of a 1.4 report with changed words."""
    out = []
    ci = next(i for i, p in enumerate(rep["processes"]) if p.get("copied_diff"))

    def mutant(what, path, change):
        m = copy.deepcopy(rep)
        change(m)
        out.append((what, m, path))

    mutant("a negative amplification", ["processes", ci, "amplification"],
           lambda m: m["processes"][ci].__setitem__("amplification", -3))
    mutant("a side's key renamed", ["processes", ci, "copied_diff"],
           lambda m: m["processes"][ci]["copied_diff"].__setitem__(
               "noop", m["processes"][ci]["copied_diff"].pop("noop_pages")))
    mutant("a reason the trace never names", ["processes", ci, "copied_diff"],
           lambda m: m["processes"][ci]["copied_diff"]["unknown_by_reason"].__setitem__(
               "cosmic_ray", 1))
    return out


def check_synthetic(cowscope, mk_amp_run, report_v, diff_v):
    """The 1.4 keys: the synthetic runs' reports and their diff validate; broken ones do not."""
    out = []
    with tempfile.TemporaryDirectory() as tmp:
        dirs = synthetic_runs(mk_amp_run, tmp)
        reps = [cowscope_json(cowscope, "report", [d]) for d in dirs]
        for d, r in zip(dirs, reps):
            out += problems(report_v, r, f"synthetic 1.4 run {os.path.basename(d)}")
        if "field_view" not in reps[1]["processes"][-1]:
            out.append("synthetic 1.4 sites run: no field_view")
        out += check_mutants(report_v, amp_mutants(reps[0]), "1.4 report")
        d = cowscope_json(cowscope, "diff", dirs)
        out += problems(diff_v, d, "synthetic 1.4 diff")
        if d["headline"].get("amplification_before") is None:
            out.append(f"synthetic 1.4 diff: no amplification in {d['headline']}")
    return out


def check_labels(cowscope, test_labels, report_v, diff_v):
    """The 1.6 keys: a labelled run's report (labels per process and group) and its diff with
    itself validate; a report with a label row's key renamed does not."""
    out = []
    with tempfile.TemporaryDirectory() as tmp:
        d = os.path.join(tmp, "labels")
        subprocess.run([os.path.abspath(test_labels), "--write-run", d], check=True, timeout=60)
        rep = cowscope_json(cowscope, "report", [d])
        out += problems(report_v, rep, "synthetic 1.6 run")
        ci = next((i for i, p in enumerate(rep["processes"]) if p["labels"]), None)
        if ci is None or not rep["sibling_groups"][0]["labels"]:
            return out + ["synthetic 1.6 run: no labels"]
        m = copy.deepcopy(rep)
        row = m["processes"][ci]["labels"][0]["rows"][0]
        row["copied"] = row.pop("child_copied_pages")
        out += check_mutants(report_v, [("a label row's key renamed", m,
                                         ["processes", ci, "labels", 0, "rows", 0])],
                             "1.6 report")
        diff = cowscope_json(cowscope, "diff", [d, d])
        out += problems(diff_v, diff, "synthetic 1.6 diff")
        if not diff["labels"]:
            out.append("synthetic 1.6 diff: no labels")
    return out


def check_mutants(validator, cases, what):
    """Each mutant must fail, with an error at (or under) the place that was broken."""
    out = []
    for name, doc, path in cases:
        paths = error_paths(validator, doc)
        if not paths:
            out.append(f"{what}: {name}: the schema accepted it")
        elif not any(p[:len(path)] == path for p in paths):
            out.append(f"{what}: {name}: errors at {paths}, none at {path}")
    return out


def main():
    cowscope, golden, schema_dir = sys.argv[1:4]
    mk_amp_run = sys.argv[4] if len(sys.argv) > 4 else None
    test_labels = sys.argv[5] if len(sys.argv) > 5 else None
    v = validators(schema_dir)
    if v is None:
        print("SKIP: python3 cannot import jsonschema (Debian: python3-jsonschema, tools/deps)")
        return SKIP
    report_v, diff_v = v
    out, reports = [], {}
    dirs = run_dirs(golden)
    if len(dirs) < 5:
        out.append(f"golden run directories: {dirs}")
    for d in dirs:
        reports[d] = cowscope_json(cowscope, "report", [d])
        out += problems(report_v, reports[d], os.path.relpath(d, golden))
    ndiffs = 0
    for path in sorted(glob.glob(os.path.join(golden, "**", "*.expected.json"), recursive=True)):
        with open(path) as f:
            want = json.load(f)
        name = os.path.relpath(path, golden)
        if "headline" in want:
            ndiffs += 1
            out += problems(diff_v, want, name)
            got = cowscope_json(cowscope, "diff", diff_args(want), cwd=os.path.dirname(path))
            out += problems(diff_v, got, f"{name} as the built analyzer makes it")
        else:
            out += problems(report_v, want, name)
    if ndiffs < 2:
        out.append(f"{ndiffs} golden diffs, want at least 2")
    # The schema bites: a v1.2+ report (phases, sites) and a diff, each broken several ways.
    base = next(r for r in reports.values() if "phases" in r)
    out += problems(report_v, base, "mutation base")
    out += check_mutants(report_v, mutants(base), "report")
    with open(os.path.join(golden, "v1.2-diff", "dirs.expected.json")) as f:
        out += check_mutants(diff_v, diff_mutants(json.load(f)), "diff")
    if mk_amp_run:
        out += check_synthetic(cowscope, mk_amp_run, report_v, diff_v)
    if test_labels:
        out += check_labels(cowscope, test_labels, report_v, diff_v)
    for p in out:
        print("FAIL:", p)
    print(f"{len(dirs)} golden reports, {ndiffs} golden diffs validated" if not out
          else f"{len(out)} problems")
    return 1 if out else 0


if __name__ == "__main__":
    sys.exit(main())
