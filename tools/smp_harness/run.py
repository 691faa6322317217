#!/usr/bin/env python3
"""Runs one base+patch through the reference tools (/tmp/kvenv/bin/kubectl, Kustomize v5.8.1).

kustomize(base, patch): `kubectl kustomize` on a kustomization with `resources: [base]` and
`patches: [{path: patch}]`. kpatch(base, patch): `kubectl patch --local -f base --type strategic
-p PATCH -o json` (PATCH = patch without apiVersion/kind/metadata.name). Both return the parsed
object, None when the resource was deleted, or "ERROR: ..." text.
"""
import json, os, subprocess, tempfile
import yaml

K = os.environ.get("DIMTENSOR_KUBECTL", "/tmp/kvenv/bin/kubectl")


def kustomize(base, patch):
    with tempfile.TemporaryDirectory() as d:
        open(os.path.join(d, "base.yaml"), "w").write(json.dumps(base))
        open(os.path.join(d, "patch.yaml"), "w").write(json.dumps(patch))
        open(os.path.join(d, "kustomization.yaml"), "w").write(
            "resources:\n- base.yaml\npatches:\n- path: patch.yaml\n")
        r = subprocess.run([K, "kustomize", d], capture_output=True, text=True)
        if r.returncode:
            return "ERROR: " + r.stderr.strip().splitlines()[0]
        return yaml.safe_load(r.stdout)


def patch_body(patch):
    p = {k: v for k, v in patch.items() if k not in ("apiVersion", "kind")}
    if isinstance(p.get("metadata"), dict):
        p["metadata"] = {k: v for k, v in p["metadata"].items() if k != "name"}
        if not p["metadata"]:
            del p["metadata"]
    return p


def kpatch(base, patch):
    with tempfile.TemporaryDirectory() as d:
        open(os.path.join(d, "base.json"), "w").write(json.dumps(base))
        r = subprocess.run([K, "patch", "--local", "-f", os.path.join(d, "base.json"), "--type", "strategic",
                            "-p", json.dumps(patch_body(patch)), "-o", "json"], capture_output=True, text=True)
        if r.returncode:
            return "ERROR: " + (r.stderr.strip().splitlines() or ["?"])[0]
        return json.loads(r.stdout)
