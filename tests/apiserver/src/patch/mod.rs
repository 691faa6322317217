//! The three classic PATCH formats, each implemented here from its specification.

pub mod json_patch;
pub mod merge_patch;
pub mod strategic;

/// Why a patch could not be applied.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PatchError {
    /// The patch document itself is malformed (answered 400).
    #[error("malformed patch: {0}")]
    Malformed(String),
    /// The patch is well formed but does not apply (answered 422).
    #[error("patch does not apply: {0}")]
    Failed(String),
}
