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
    #[error(transparent)]
    ChecksumKey(#[from] crate::values::checksum::KeyError),
    #[error("{context}: {source}")]
    Io { context: String, source: std::io::Error },
    #[error(transparent)]
    Cluster(#[from] crate::cluster::ClusterError),
    #[error(transparent)]
    Plan(#[from] crate::diff::PlanError),
    #[error(transparent)]
    Apply(#[from] crate::apply::ApplyError),
    #[error(transparent)]
    Wait(#[from] crate::apply::wait::WaitError),
    #[error(transparent)]
    Release(#[from] crate::release::ReleaseError),
    #[error(transparent)]
    ArgoCd(#[from] crate::gitops::argocd::ArgoCdError),
    #[error(transparent)]
    Eject(#[from] crate::gitops::eject::EjectError),
    /// A command line that parses but cannot be meant.
    #[error("{0}")]
    Usage(String),
    /// We stop rather than guess (no confirmation possible, release missing or present).
    #[error("{0}")]
    Refused(String),
}
