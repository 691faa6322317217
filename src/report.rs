//! The one place that turns an error (or a warning) into what the user reads: one paragraph
//! naming the file, field or resource, then a hint of what to do, and the exit code.

use crate::error::Error;
use crate::overlay::OverlayError;
use crate::render::RenderError;

/// Exit code for errors (kubectl diff's contract: 0 no changes, 1 changes, 2 errors).
pub const EXIT_ERROR: u8 = 2;

/// The message and optional hint for an error.
pub fn describe(err: &Error) -> (String, Option<String>) {
    let msg = err.to_string();
    let hint = match err {
        Error::Render(RenderError::UnknownOverlay { .. }) => {
            Some("run `kubectl dimtensor overlays` to see what is built in".to_string())
        }
        Error::Render(RenderError::Overlay(o)) | Error::Overlay(o) => overlay_hint(o),
        Error::Release(r) => release_hint(r),
        _ => None,
    };
    (msg, hint)
}

fn overlay_hint(e: &OverlayError) -> Option<String> {
    Some(
        match e {
            OverlayError::Yaml(crate::yaml::YamlError::Syntax { .. }) => "fix the YAML at the line shown (indent with spaces, one value per key)",
            OverlayError::NoKustomization { .. } => "point --overlay at a directory holding kustomization.yaml, or use a built-in name",
            OverlayError::Missing { .. } => "check the path: entries are relative to the kustomization's directory",
            OverlayError::OutsideRoot { .. } => "move the file under the kustomization's directory, or make its directory a base and list that instead",
            OverlayError::PatchTargetNotFound { .. } => "check the target's kind and name against `kubectl dimtensor render` of the base",
            OverlayError::Json6902 { .. } => "JSON 6902 paths must exist, and `add` creates one level only (add a missing parent map first); `kubectl dimtensor render` of the base shows the paths",
            OverlayError::Kustomization { .. } => "see https://kubectl.docs.kubernetes.io/references/kustomize/kustomization/ for the fields",
            OverlayError::Duplicate(_) => "each resource may be defined once: patch it instead of defining it again, and keep renamed objects (allowNameChange patches, prefixes) distinct",
            OverlayError::Cycle { .. } => "a kustomization must not include itself, directly or through its bases",
            _ => return None,
        }
        .to_string(),
    )
}

fn release_hint(e: &crate::release::ReleaseError) -> Option<String> {
    use crate::release::{lock::LockError, store::StoreError, ReleaseError};
    Some(
        match e {
            ReleaseError::Lock(LockError::Held { name, .. }) => format!("`kubectl dimtensor history {name}` shows what the running operation recorded"),
            ReleaseError::Failed { name, deployed: Some(rev), .. } => format!("`kubectl dimtensor history {name}` shows the revisions; fix the cause and upgrade again, or `kubectl dimtensor rollback {name}` (revision {rev} is still deployed)"),
            ReleaseError::Failed { name, deployed: None, .. } => format!("`kubectl dimtensor history {name}` shows the revisions; nothing of it is deployed: fix the cause and run `kubectl dimtensor install {name}` again (or `upgrade {name} --install`)"),
            ReleaseError::NotReady { name, .. } => format!("`kubectl dimtensor status {name}` shows what is not ready; nothing was changed"),
            ReleaseError::Store(StoreError::ReleaseNotFound { .. }) => "`kubectl dimtensor list -A` lists the releases in every namespace".to_string(),
            _ => return None,
        },
    )
}

/// Prints what the values leave to the cluster (node port range, server version) to stderr,
/// one `warning: ...` line each.
pub fn print_warnings(warnings: &[crate::values::rules::Warning]) {
    for w in warnings {
        eprintln!("{w}");
    }
}

/// Prints the error to stderr as `error: ...` and `hint: ...`.
pub fn print(err: &Error) {
    let (msg, hint) = describe(err);
    eprintln!("error: {msg}");
    if let Some(h) = hint {
        eprintln!("hint: {h}");
    }
}
