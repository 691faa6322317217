//! A whole build from memory: the input up to the first NUL byte is `kustomization.yaml`, the rest
//! is `patch.yaml`, beside a fixed `dep.yaml`. Reaches loading, patches of both kinds, generators,
//! name references and sorting. Errors are fine; a panic, a hang or an out-of-memory is a finding.
#![no_main]

use dimtensor::load::MemFs;
use libfuzzer_sys::fuzz_target;
use std::path::Path;

const DEPLOYMENT: &str = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: app\nspec:\n  selector:\n    matchLabels: {app: app}\n  template:\n    metadata:\n      labels: {app: app}\n    spec:\n      containers:\n      - name: app\n        image: nginx\n";

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let (kustomization, patch) = text.split_once('\0').unwrap_or((text, ""));
    let mut fs = MemFs::new();
    fs.insert("/k/kustomization.yaml", kustomization);
    fs.insert("/k/patch.yaml", patch);
    fs.insert("/k/dep.yaml", DEPLOYMENT);
    let _ = dimtensor::overlay::build(&fs, Path::new("/k"));
});
