#!/usr/bin/env python3
"""Checks every case in cases.py against the reference tools and regenerates the case table in
src/overlay/strategic_merge_tests.rs plus DIFFERENCES.md.

  python3 harness/gen_tests.py            # verify all cases, rewrite the table and the report
  python3 harness/gen_tests.py --show N   # print one case (substring of its name) with both tools' output
"""
import json, os, re, sys
sys.path.insert(0, os.path.dirname(__file__))
from run import kustomize, kpatch, patch_body
from cases import CASES

HERE = os.path.dirname(os.path.abspath(__file__))


def find_tests_file():
    """The crate's src/overlay/strategic_merge_tests.rs, searched upwards from this script."""
    d = HERE
    while d != os.path.dirname(d):
        candidate = os.path.join(d, "src", "overlay", "strategic_merge_tests.rs")
        if os.path.exists(candidate):
            return candidate
        d = os.path.dirname(d)
    sys.exit("src/overlay/strategic_merge_tests.rs not found above " + HERE)


def full(kind, body):
    api, k = kind.split()
    obj = {"apiVersion": api, "kind": k}
    obj.update(json.loads(json.dumps(body)))
    meta = obj.get("metadata") or {}
    obj["metadata"] = dict({"name": "x"}, **meta)
    return obj


def strip(out):
    if not isinstance(out, dict):
        return out
    out = dict(out)
    out.pop("apiVersion", None), out.pop("kind", None)
    meta = dict(out.get("metadata") or {})
    meta.pop("name", None)
    if meta:
        out["metadata"] = meta
    else:
        out.pop("metadata", None)
    return out


def compact(v):
    return json.dumps(v, separators=(",", ":"))


def run_case(case):
    name, kind, oracle, base, patch, expect = case
    b, p = full(kind, base), full(kind, patch)
    k = strip(kustomize(b, p))
    kp = strip(kpatch(b, p)) if not kind.startswith("example.com") else "n/a (no schema for a CRD)"
    if oracle in ("K", "KP"):
        want = k
    elif oracle == "P":
        want = kp
    else:
        want = expect
    problems = []
    if oracle in ("K", "KP") and isinstance(k, str):
        problems.append("kustomize errored: " + k)
    if oracle in ("P", "KP") and kp != want:
        problems.append("kubectl patch gives %s" % compact(kp))
    if oracle == "D" and k == want and kp == want:
        problems.append("not a difference: both tools agree")
    return want, k, kp, problems


def show(sub):
    for case in CASES:
        if sub in case[0]:
            name, kind, oracle, base, patch, expect = case
            want, k, kp, _ = run_case(case)
            print("#", name, "(" + oracle + ")")
            print("base:     ", compact(full(kind, base)))
            print("patch:    ", compact(full(kind, patch)))
            print("kustomize:", compact(k))
            print("kpatch:   ", compact(kp))
            print("ours:     ", want if isinstance(want, str) else compact(want))


def main():
    if len(sys.argv) > 2 and sys.argv[1] == "--show":
        return show(sys.argv[2])
    rows, report, failed = [], [], 0
    for case in CASES:
        name, kind, oracle, base, patch, expect = case
        want, k, kp, problems = run_case(case)
        if problems:
            failed += 1
            print("FAIL", name, *problems, sep="\n  ")
        exp = want if isinstance(want, str) and want.startswith("!") else compact(want)
        rows.append('    ("%s", "%s", r#"%s"#, r#"%s"#, r#"%s"#),' % (name, kind, compact(base), compact(patch), exp))
        if oracle in ("D", "E") or (isinstance(kp, (dict, str)) and not str(kp).startswith("n/a") and k != kp):
            report.append("### %s [%s]\n- base: `%s`\n- patch: `%s`\n- kustomize: `%s`\n- kubectl patch: `%s`\n- ours: `%s`\n"
                          % (name, oracle, compact(full(kind, base)), compact(full(kind, patch)), compact(k), compact(kp), exp))
    tests = find_tests_file()
    text = open(tests).read()
    start, end = "// BEGIN GENERATED CASES (gen_tests.py)\n", "    // END GENERATED CASES\n"
    i, j = text.index(start) + len(start), text.index(end)
    open(tests, "w").write(text[:i] + "\n".join(rows) + "\n" + text[j:])
    with open(os.path.join(HERE, "DIFFERENCES.md"), "w") as f:
        f.write("# Cases where Kustomize and kubectl patch disagree, or where we differ (generated)\n\n"
                "Oracle: K = we match kustomize, P = we match kubectl patch, KP = both, D = deliberate difference, E = error.\n"
                "Re-run one: `python3 harness/gen_tests.py --show '<name substring>'`\n\n" + "\n".join(report))
    print("%d cases, %d failed" % (len(CASES), failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
