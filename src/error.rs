//! The top-level error: every stage's error lifted into one type. No logic lives here; turning
//! an error into words for the user is `report`'s job.

use crate::overlay::OverlayError;
use crate::render::RenderError;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Render(#[from] RenderError),
    #[error(transparent)]
    Overlay(#[from] OverlayError),
    #[error(transparent)]
    Values(#[from] crate::values::ValuesError),
    #[error("{context}: {source}")]
    Io { context: String, source: std::io::Error },
}
