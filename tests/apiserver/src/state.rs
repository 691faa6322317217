//! The server's mutable state behind one lock, and how it is built from a Config.

use crate::config::{Config, ControllerConfig, ForbidRule};
use crate::faults::FaultState;
use crate::log::RequestRecord;
use crate::podlog::Logs;
use crate::resources::{Registry, ResourceInfo};
use crate::store::{ObjKey, Store, WatchEvent};
use crate::strategy::Allocator;
use serde_json::Value;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::AtomicUsize;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::sync::{broadcast, watch};

/// Everything requests read and change. Held only for short, non-async sections.
pub struct State {
    pub registry: Registry,
    pub store: Store,
    pub alloc: Allocator,
    pub log: Vec<RequestRecord>,
    pub tokens: HashMap<String, String>,
    pub anonymous_user: Option<String>,
    pub forbid: Vec<ForbidRule>,
    pub faults: Vec<FaultState>,
    /// Faults fired since the start, also those cleared since.
    pub faults_fired: u64,
    pub controller: ControllerConfig,
    pub aggregated_discovery: bool,
    pub prune_unknown_fields: bool,
    pub finalizer_delay: Duration,
    pub log_to_stderr: bool,
    /// Deployment uid → (revision, template) for the revision annotation.
    pub revisions: HashMap<String, (u64, Value)>,
    /// Server flags validation depends on.
    pub validation: crate::validation::Options,
    /// Seconds this server's clock is off from the real one (every timestamp it writes).
    pub clock_offset: i64,
    /// Container logs (`pods/log`).
    pub logs: Logs,
    pub hold_controllers: bool,
    /// Writes whose controllers are held (see `Config::hold_controllers`).
    pub held: Vec<(ResourceInfo, ObjKey)>,
    pub latency: Duration,
    pub write_cpu: Duration,
    pub git_version: Option<String>,
}

impl State {
    pub fn new(config: &Config, events: broadcast::Sender<Arc<WatchEvent>>) -> State {
        State {
            registry: Registry::new(&config.custom_resources),
            store: Store::new(events),
            alloc: Allocator::default(),
            log: Vec::new(),
            tokens: config.tokens.clone(),
            anonymous_user: config.anonymous_user.clone(),
            forbid: config.forbid.clone(),
            faults: config.faults.iter().cloned().map(FaultState::new).collect(),
            faults_fired: 0,
            controller: config.controller,
            aggregated_discovery: config.aggregated_discovery,
            prune_unknown_fields: config.prune_unknown_fields,
            finalizer_delay: config.finalizer_delay,
            log_to_stderr: config.log_to_stderr,
            revisions: HashMap::new(),
            validation: crate::validation::Options { node_ports: config.node_port_range },
            clock_offset: config.clock_offset,
            logs: Logs::default(),
            hold_controllers: config.hold_controllers,
            held: Vec::new(),
            latency: config.latency,
            write_cpu: config.write_cpu,
            git_version: config.git_version.clone(),
        }
    }

    /// Seconds since the epoch by this server's clock.
    pub fn unix_now(&self) -> i64 {
        crate::util::unix_now() + self.clock_offset
    }

    /// Now by this server's clock, as `metav1.Time`.
    pub fn now(&self) -> String {
        crate::util::rfc3339(self.unix_now())
    }

    /// Now by this server's clock, as `metav1.MicroTime`.
    pub fn micro_now(&self) -> String {
        let sub = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.subsec_micros());
        crate::util::micro_time(self.unix_now(), sub)
    }
}

/// What every connection task holds.
pub struct Shared {
    state: Mutex<State>,
    pub addr: SocketAddr,
    pub shutdown: watch::Receiver<bool>,
    /// Requests received and not answered yet (a delay fault holds them).
    pub in_flight: AtomicUsize,
    /// The runtime the server runs on (test controls spawn simulated clients there).
    pub runtime: tokio::runtime::Handle,
    /// Connections accepted since the start (HTTP/1.1: one per request in flight; over TLS, each
    /// is a handshake).
    pub connections: AtomicUsize,
}

impl Shared {
    pub fn new(state: State, addr: SocketAddr, shutdown: watch::Receiver<bool>) -> Arc<Shared> {
        let runtime = tokio::runtime::Handle::current();
        Arc::new(Shared {
            state: Mutex::new(state),
            addr,
            shutdown,
            in_flight: AtomicUsize::new(0),
            runtime,
            connections: AtomicUsize::new(0),
        })
    }

    /// The state; a panic in another holder does not make it unusable for tests.
    pub fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}
