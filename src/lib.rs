//! kubectl-dimtensor: renders, diffs and installs dimtensor workloads.
//!
//! The modules follow the pipeline: [`load`] manifests, build [`overlay`]s (patches and
//! transformers), apply [`values`], then print. [`cli`] and [`app`] are a thin layer on top;
//! [`report`] is the one place that turns errors into what the user reads.

pub mod action;
pub mod app;
pub mod apply;
pub mod builtin;
pub mod cli;
pub mod cluster;
pub mod completion;
pub mod diff;
pub mod doctor;
pub mod error;
pub mod gitops;
pub mod lint;
pub mod load;
pub mod logs;
pub mod model;
pub mod overlay;
pub mod parallel;
pub mod progress;
pub mod release;
pub mod render;
pub mod report;
pub mod suggest;
pub mod values;
pub mod yaml;

pub use error::Error;

/// The dimtensor release this tool deploys by default (the chart's appVersion).
pub const APP_VERSION: &str = "4.2.0";
