//! An in-memory Kubernetes API server for kubectl-dimtensor's integration tests.
//!
//! It answers the REST API closely enough for kube-rs and the real kubectl, shaped after
//! kube-apiserver v1.24 answers captured in `tests/captures/`: discovery, CRUD, the four PATCH
//! types, server-side apply with field ownership, dry run, watch, access reviews, plus test
//! controls (seed objects, forbid rules, tokens, fault injection, a simulated controller).
//! It shares no code with the product on purpose: the two must disagree loudly, not quietly.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use dimtensor_test_apiserver::{Config, ControllerConfig, TestServer};
//! let server = TestServer::start(Config::new().controller(ControllerConfig::ready())).await?;
//! server.write_kubeconfig(std::path::Path::new("/tmp/kc"), "default", "any-token")?;
//! println!("{}", server.url());
//! # Ok(()) }
//! ```

pub mod apply;
pub mod auth;
pub mod config;
pub mod controller;
pub mod defaults;
pub mod discovery;
pub mod faults;
pub mod handlers;
pub mod http;
pub mod kubeconfig;
pub mod lease;
pub mod log;
pub mod patch;
pub mod podlog;
pub mod proto;
pub mod resources;
pub mod router;
pub mod seed;
pub mod selectors;
pub mod server;
pub mod state;
pub mod status;
pub mod store;
pub mod strategy;
pub mod table;
pub mod util;
pub mod validation;
pub mod workers;
pub mod yaml;

pub use config::{
    Config, ControllerConfig, DeploymentBehaviour, Fault, FaultAction, ForbidRule, JobBehaviour, VolumeBehaviour,
};
pub use lease::{HeldLease, LeaseHolder};
pub use log::RequestRecord;
pub use resources::CustomResource;
pub use server::{StartError, TestServer};
