#!/usr/bin/env bash
# Renders many random kustomization trees with kubectl-dimtensor and with the pinned reference
# `kubectl kustomize` (Kustomize v5.8.1) and fails on any difference that is not a listed
# deliberate one. CI runs 300 trees (seeds 1..300) inside `cargo test`; this runs a larger batch.
#
# Usage: scripts/differential-trees.sh [--trees N] [--seed FIRST] [--keep DIR]
#   --trees N      how many trees (default 5000)
#   --seed FIRST   first seed (default 1): seeds FIRST..FIRST+N run, so a reported seed reruns
#                  alone with `--seed SEED --trees 1`
#   --keep DIR     write each diverging tree to DIR/<seed>/ (render DIR/<seed>/overlay)
#   --verbose      print why each tree that both tools refuse is refused
#
# The reference kubectl is $DIMTENSOR_KUBECTL, else the one `bash .ci/run` installs
# (~/.cache/kubectl-dimtensor/venv-1.37.1/bin/kubectl). About 9 trees a second on two cores.
set -euo pipefail
cd "$(dirname "$0")/.."

trees=5000
seed=1
keep=""
while [ "$#" -gt 0 ]; do
  case "$1" in
    --trees) trees="$2"; shift 2 ;;
    --seed) seed="$2"; shift 2 ;;
    --keep) keep="$2"; shift 2 ;;
    --verbose) export DIMTENSOR_TREES_VERBOSE=1; shift ;;
    -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
    *) echo "differential-trees.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done

export DIMTENSOR_KUBECTL="${DIMTENSOR_KUBECTL:-$HOME/.cache/kubectl-dimtensor/venv-1.37.1/bin/kubectl}"
if [ ! -x "$DIMTENSOR_KUBECTL" ]; then
  echo "differential-trees.sh: no reference kubectl at $DIMTENSOR_KUBECTL; run 'bash .ci/run' once or set DIMTENSOR_KUBECTL" >&2
  exit 2
fi
export DIMTENSOR_TREES="$trees" DIMTENSOR_TREES_SEED="$seed"
if [ -n "$keep" ]; then
  mkdir -p "$keep"
  DIMTENSOR_TREES_KEEP="$(cd "$keep" && pwd)"
  export DIMTENSOR_TREES_KEEP
fi
exec cargo test --locked --test differential random_trees_render_like_kustomize -- --nocapture
