#!/usr/bin/env bash
# Stable-toolchain fuzzing: the proptest `fuzz_*` tests of tests/properties.rs (never panic on
# arbitrary input to the YAML reader, the kustomization parser, strategic merge and a whole build),
# for FUZZ_CASES cases each (default 1000). Coverage-guided fuzzing with nightly: fuzz/README.md.
set -euo pipefail
cd "$(dirname "$0")/.."
export FUZZ_CASES="${FUZZ_CASES:-1000}"
echo "fuzz: ${FUZZ_CASES} cases per target"
cargo test --locked --test properties -- fuzz_ --test-threads "${FUZZ_THREADS:-2}"
