#!/usr/bin/env bash
# Builds the release archive of kubectl-dimtensor for one platform, reproducibly, then regenerates
# krew-manifest.yaml from every archive of this version found in dist/.
#
#   packaging/package.sh                  build (cargo --release), archive, regenerate the manifest
#   packaging/package.sh --manifest-only  only regenerate the manifest from the archives in dist/
#
# Reproducible: the same commit and binaries give the same archive, byte for byte. Entries are in
# sorted order with mtime SOURCE_DATE_EPOCH (default: the last commit's time), owner and group
# root (0), fixed modes, GNU tar format (no atime/ctime headers), and `gzip -n` (no name or time in
# the gzip header). The binary is built with source paths remapped, so it does not embed the
# checkout's location either.
#
# The manifest has one platform per archive present and nothing else, so no entry ever holds a
# placeholder hash. The release workflow (.github/workflows/release.yml) runs this script once per
# platform, collects every archive into one dist/, and runs it with --manifest-only to assemble
# the manifest of all platforms.
#
# Environment:
#   TARGET                  Rust target triple (default: the host's); names the archive's os/arch
#   DIMTENSOR_BIN           package this prebuilt kubectl-dimtensor instead of running cargo
#   DIMTENSOR_COMPLETE_BIN  prebuilt kubectl_complete-dimtensor (default: next to DIMTENSOR_BIN)
#   DIST_DIR                where archives are written and read (default: dist)
#   KREW_MANIFEST           the manifest to write (default: krew-manifest.yaml)
#   SOURCE_DATE_EPOCH       mtime of every entry (default: the last commit's time)
#   RELEASE_URL             download URL prefix (default: the GitHub release of this version)
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
DIST_DIR="${DIST_DIR:-$ROOT/dist}"
KREW_MANIFEST="${KREW_MANIFEST:-$ROOT/krew-manifest.yaml}"

die() { echo "package.sh: $*" >&2; exit 1; }

# A key of Cargo.toml's [package] table.
package_key() {
  awk -F'"' -v key="$1" '
    /^\[package\]/ { inside = 1; next }
    /^\[/ { inside = 0 }
    inside && $0 ~ "^" key " *=" { print $2; exit }
  ' "$ROOT/Cargo.toml"
}

VERSION="$(package_key version)"
REPOSITORY="$(package_key repository)"
HOMEPAGE="$(package_key homepage)"
[ -n "$VERSION" ] || die "no version in Cargo.toml"
RELEASE_URL="${RELEASE_URL:-$REPOSITORY/releases/download/v$VERSION}"
PREFIX="kubectl-dimtensor_v${VERSION}"

sha256() {
  if command -v sha256sum >/dev/null; then sha256sum "$1" | cut -d' ' -f1; else shasum -a 256 "$1" | cut -d' ' -f1; fi
}

# GNU tar is needed for --owner/--mtime/--format; macOS ships it as gtar.
gnu_tar() {
  local t
  for t in gtar tar; do
    if command -v "$t" >/dev/null && "$t" --version 2>/dev/null | grep -q 'GNU tar'; then echo "$t"; return; fi
  done
  die "GNU tar is required (macOS: brew install gnu-tar)"
}

build_archive() {
  local target os arch exe
  target="${TARGET:-$(rustc -vV | sed -n 's/^host: //p')}"
  case "$target" in
    x86_64-*) arch=amd64 ;;
    aarch64-* | arm64-*) arch=arm64 ;;
    *) die "unsupported target $target" ;;
  esac
  case "$target" in
    *-linux-*) os=linux ;;
    *-apple-darwin) os=darwin ;;
    *-windows-*) os=windows ;;
    *) die "unsupported target $target" ;;
  esac
  exe=""
  [ "$os" = windows ] && exe=".exe"

  local bin="${DIMTENSOR_BIN:-}" complete="${DIMTENSOR_COMPLETE_BIN:-}"
  if [ -z "$bin" ]; then
    local cargo_home="${CARGO_HOME:-$HOME/.cargo}"
    RUSTFLAGS="${RUSTFLAGS:-} --remap-path-prefix=$ROOT=/build --remap-path-prefix=$cargo_home=/cargo" \
      cargo build --manifest-path "$ROOT/Cargo.toml" --release --locked --target "$target" \
      --bin kubectl-dimtensor --bin kubectl_complete-dimtensor >&2
    local out="${CARGO_TARGET_DIR:-$ROOT/target}/$target/release"
    bin="$out/kubectl-dimtensor$exe"
    complete="$out/kubectl_complete-dimtensor$exe"
  fi
  complete="${complete:-$(dirname "$bin")/kubectl_complete-dimtensor$exe}"
  [ -f "$bin" ] || die "binary not found: $bin"
  [ -f "$complete" ] || die "binary not found: $complete"

  local epoch="${SOURCE_DATE_EPOCH:-$(git -C "$ROOT" log -1 --format=%ct 2>/dev/null || true)}"
  [ -n "$epoch" ] || die "set SOURCE_DATE_EPOCH (not in a git checkout)"

  local stage
  stage="$(mktemp -d)"
  trap 'rm -rf "$stage"' RETURN
  cp "$bin" "$stage/kubectl-dimtensor$exe"
  cp "$complete" "$stage/kubectl_complete-dimtensor$exe"
  cp "$ROOT/LICENSE" "$ROOT/README.md" "$stage/"
  chmod 0755 "$stage/kubectl-dimtensor$exe" "$stage/kubectl_complete-dimtensor$exe"
  chmod 0644 "$stage/LICENSE" "$stage/README.md"

  mkdir -p "$DIST_DIR"
  local archive="$DIST_DIR/${PREFIX}_${os}_${arch}.tar.gz" tar
  tar="$(gnu_tar)"
  (cd "$stage" && LC_ALL=C ls -A | LC_ALL=C sort) |
    "$tar" --create --file=- --directory="$stage" --no-recursion --format=gnu \
      --owner=root:0 --group=root:0 --numeric-owner --mtime="@$epoch" --files-from=- |
    gzip -n >"$archive.tmp"
  mv "$archive.tmp" "$archive"
  echo "$archive $(sha256 "$archive")" >&2
}

write_manifest() {
  local archives=() a
  while IFS= read -r a; do archives+=("$a"); done < <(
    find "$DIST_DIR" -maxdepth 1 -name "${PREFIX}_*_*.tar.gz" -print 2>/dev/null | LC_ALL=C sort
  )
  [ "${#archives[@]}" -gt 0 ] || die "no ${PREFIX}_<os>_<arch>.tar.gz in $DIST_DIR"

  local tmp="$KREW_MANIFEST.tmp"
  cat >"$tmp" <<YAML
# Generated by packaging/package.sh from the archives in dist/; do not edit by hand.
apiVersion: krew.googlecontainertools.github.com/v1alpha2
kind: Plugin
metadata:
  name: dimtensor
spec:
  version: v$VERSION
  homepage: $HOMEPAGE
  shortDescription: Render, lint and install dimtensor ML workloads
  description: |
    Deploys dimtensor (unit-aware tensors for physics ML) without Helm: renders the
    inference, training, batch and cronjob workloads from a base and Kustomize-compatible
    overlays, takes the chart's values (-f, --set), and lints the result against the
    chart's best practices. \`render\`, \`lint\` and \`overlays\` need no cluster.

    Cluster permissions: the commands that talk to a cluster read and write, in the
    target namespace, the workload kinds (Deployments, Jobs, CronJobs), Services,
    HorizontalPodAutoscalers, PersistentVolumeClaims, ConfigMaps, Secrets (release
    records are Secrets of type dimtensor.io/release.v1) and Leases (a release is
    locked while it changes), plus Ingresses, NetworkPolicies and
    PodDisruptionBudgets when the overlay renders them.
  caveats: |
    The plugin needs read and write access to Deployments, Jobs, CronJobs, Services,
    HorizontalPodAutoscalers, PersistentVolumeClaims, ConfigMaps, Secrets and Leases in
    the namespace you deploy to.

    For \`kubectl dimtensor <TAB>\` completion (kubectl >= 1.26), link the bundled
    completion helper next to the plugin:
      ln -sf "\$(dirname "\$(readlink -f "\$(command -v kubectl-dimtensor)")")/kubectl_complete-dimtensor" ~/.krew/bin/
  platforms:
YAML
  local name os arch exe
  for a in "${archives[@]}"; do
    name="$(basename "$a" .tar.gz)"
    arch="${name##*_}"
    os="${name%_*}"
    os="${os##*_}"
    exe=""
    [ "$os" = windows ] && exe=".exe"
    cat >>"$tmp" <<YAML
  - selector:
      matchLabels:
        os: $os
        arch: $arch
    uri: $RELEASE_URL/$name.tar.gz
    sha256: $(sha256 "$a")
    bin: kubectl-dimtensor$exe
    files:
    - from: kubectl-dimtensor$exe
      to: .
    - from: kubectl_complete-dimtensor$exe
      to: .
    - from: LICENSE
      to: .
YAML
  done
  mv "$tmp" "$KREW_MANIFEST"
  echo "wrote $KREW_MANIFEST (${#archives[@]} platform(s))" >&2
}

case "${1:-}" in
  "") build_archive; write_manifest ;;
  --manifest-only) write_manifest ;;
  *) die "usage: packaging/package.sh [--manifest-only]" ;;
esac
