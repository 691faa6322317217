//! `TestServer`: binds 127.0.0.1, serves HTTP/1.1 with hyper, and offers the test controls.

use crate::config::{Config, ControllerConfig, Fault, ForbidRule};
use crate::faults::FaultState;
use crate::handlers::{self, Request};
use crate::http::{parse_query, Query, Reply, ReplyBody};
use crate::log::RequestRecord;
use crate::podlog::LogKey;
use crate::state::{Shared, State};
use crate::status::ApiError;
use crate::store::ObjKey;
use bytes::Bytes;
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use serde_json::Value;
use std::io;
use std::net::SocketAddr;
use std::path::Path;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{broadcast, watch};

/// The real server's request body limit.
const MAX_BODY: usize = 3 * 1024 * 1024;

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("cannot bind 127.0.0.1:{port}: {source}")]
    Bind { port: u16, source: io::Error },
    #[error("cannot start the server runtime: {0}")]
    Runtime(io::Error),
    #[error("bad seed object: {0}")]
    Seed(String),
    #[error("the server thread stopped before it was ready")]
    ThreadGone,
}

/// A running in-memory API server. Dropping it shuts it down.
pub struct TestServer {
    shared: Arc<Shared>,
    url: String,
    shutdown: watch::Sender<bool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl TestServer {
    /// Starts serving on the current tokio runtime.
    pub async fn start(config: Config) -> Result<TestServer, StartError> {
        let (shared, url, shutdown) = launch(config).await?;
        Ok(TestServer { shared, url, shutdown, thread: None })
    }

    /// Starts serving on a runtime of its own (for synchronous tests).
    pub fn start_blocking(config: Config) -> Result<TestServer, StartError> {
        let (tx, rx) = std::sync::mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("test-apiserver".into())
            .spawn(move || {
                let rt = match tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build() {
                    Ok(rt) => rt,
                    Err(e) => {
                        let _ = tx.send(Err(StartError::Runtime(e)));
                        return;
                    }
                };
                rt.block_on(async move {
                    match launch(config).await {
                        Ok(parts) => {
                            let mut done = parts.2.subscribe();
                            let _ = tx.send(Ok(parts));
                            while !*done.borrow_and_update() {
                                if done.changed().await.is_err() {
                                    break;
                                }
                            }
                        }
                        Err(e) => {
                            let _ = tx.send(Err(e));
                        }
                    }
                });
            })
            .map_err(StartError::Runtime)?;
        let (shared, url, shutdown) = rx.recv().map_err(|_| StartError::ThreadGone)??;
        Ok(TestServer { shared, url, shutdown, thread: Some(thread) })
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn addr(&self) -> SocketAddr {
        self.shared.addr
    }

    /// Writes a kubeconfig for this server with a bearer-token user and a default namespace.
    pub fn write_kubeconfig(&self, path: &Path, namespace: &str, token: &str) -> io::Result<()> {
        crate::kubeconfig::write(path, &self.url, namespace, token)
    }

    /// Every request answered so far, oldest first.
    pub fn requests(&self) -> Vec<RequestRecord> {
        self.shared.lock().log.clone()
    }

    pub fn clear_log(&self) {
        self.shared.lock().log.clear();
    }

    /// The stored object, for assertions (None if absent or the kind is not served).
    pub fn get_object(&self, api_version: &str, kind: &str, namespace: Option<&str>, name: &str) -> Option<Value> {
        let st = self.shared.lock();
        let info = st.registry.by_kind(api_version, kind)?;
        let ns = if info.namespaced { namespace.unwrap_or("default") } else { "" };
        let mut obj = st.store.get(&ObjKey::new(&info.group, &info.plural, ns, name)).cloned()?;
        info.at_version(&mut obj);
        Some(obj)
    }

    /// Stored objects of a kind, optionally in one namespace.
    pub fn list_objects(&self, api_version: &str, kind: &str, namespace: Option<&str>) -> Vec<Value> {
        let st = self.shared.lock();
        let Some(info) = st.registry.by_kind(api_version, kind) else { return Vec::new() };
        st.store
            .list(&info.group, &info.plural, namespace)
            .into_iter()
            .map(|o| {
                let mut o = o.clone();
                info.at_version(&mut o);
                o
            })
            .collect()
    }

    /// Stops serving a group version (`autoscaling/v2beta2`), as a newer Kubernetes that removed
    /// it: its objects stay, readable under the group's other versions.
    pub fn stop_serving(&self, api_version: &str) -> bool {
        let (group, version) = crate::resources::split_api_version(api_version);
        self.shared.lock().registry.stop_serving(group, version)
    }

    /// Stores an object directly, as a seed would be (watchers see it).
    pub fn insert_object(&self, obj: Value) -> Result<Value, StartError> {
        crate::seed::insert(&mut self.shared.lock(), obj).map_err(StartError::Seed)
    }

    /// Deletes an object directly, bypassing finalizers; returns whether it existed.
    pub fn remove_object(&self, api_version: &str, kind: &str, namespace: Option<&str>, name: &str) -> bool {
        let mut st = self.shared.lock();
        let Some(info) = st.registry.by_kind(api_version, kind).cloned() else { return false };
        let ns = if info.namespaced { namespace.unwrap_or("default") } else { "" };
        st.store.remove(&ObjKey::new(&info.group, &info.plural, ns, name)).is_some()
    }

    /// Appends lines to the current run of a container's log, stamped now (a follow stream
    /// sees them). The pod need not exist yet.
    pub fn append_log(&self, namespace: &str, pod: &str, container: &str, text: &str) {
        self.append_log_at(namespace, pod, container, std::time::SystemTime::now(), text);
    }

    /// Appends lines as if written at `at` (for `sinceSeconds`/`sinceTime`).
    pub fn append_log_at(&self, namespace: &str, pod: &str, container: &str, at: std::time::SystemTime, text: &str) {
        self.shared.lock().logs.append(LogKey::new(namespace, pod, container, false), text, at);
    }

    /// Sets the log of the container's previous run (what `previous=true` and a crash loop show).
    pub fn set_previous_log(&self, namespace: &str, pod: &str, container: &str, text: &str) {
        let key = LogKey::new(namespace, pod, container, true);
        self.shared.lock().logs.set(key, text, std::time::SystemTime::now());
    }

    /// The current global resourceVersion.
    pub fn resource_version(&self) -> u64 {
        self.shared.lock().store.current_rv()
    }

    /// Queues controllers' writes from now on (see `Config::hold_controllers`); `false` runs
    /// what is queued and stops queueing.
    pub fn hold_controllers(&self, on: bool) {
        let mut st = self.shared.lock();
        st.hold_controllers = on;
        if !on {
            crate::workers::release_held(&mut st);
        }
    }

    /// Runs the held controllers' writes now.
    pub fn run_held_controllers(&self) {
        crate::workers::release_held(&mut self.shared.lock());
    }

    /// Connections accepted so far.
    pub fn connections(&self) -> usize {
        self.shared.connections.load(Ordering::SeqCst)
    }

    /// What `/version` says from now on (a server upgraded under the client).
    pub fn set_git_version(&self, v: &str) {
        self.shared.lock().git_version = Some(v.to_string());
    }

    pub fn set_controller(&self, controller: ControllerConfig) {
        self.shared.lock().controller = controller;
    }

    pub fn add_forbid(&self, rule: ForbidRule) {
        self.shared.lock().forbid.push(rule);
    }

    pub fn clear_forbid(&self) {
        self.shared.lock().forbid.clear();
    }

    pub fn add_fault(&self, fault: Fault) {
        self.shared.lock().faults.push(FaultState::new(fault));
    }

    pub fn clear_faults(&self) {
        self.shared.lock().faults.clear();
    }

    /// Requests received and not yet answered (held by a delay fault, say).
    pub fn in_flight(&self) -> usize {
        self.shared.in_flight.load(Ordering::SeqCst)
    }

    /// How many requests an injected fault hit since the start (cleared faults included).
    pub fn faults_fired(&self) -> u64 {
        self.shared.lock().faults_fired
    }

    /// Each current fault as (method, path regex, how many requests it hit).
    pub fn fault_hits(&self) -> Vec<(String, String, u32)> {
        let st = self.shared.lock();
        st.faults
            .iter()
            .map(|f| (f.fault.method.clone().unwrap_or_else(|| "*".into()), f.fault.path.to_string(), f.fired))
            .collect()
    }

    pub fn set_anonymous_user(&self, user: Option<&str>) {
        self.shared.lock().anonymous_user = user.map(str::to_string);
    }

    pub fn set_token(&self, token: &str, user: &str) {
        self.shared.lock().tokens.insert(token.to_string(), user.to_string());
    }

    pub fn set_aggregated_discovery(&self, on: bool) {
        self.shared.lock().aggregated_discovery = on;
    }

    /// Sets the server's clock `secs` ahead of the real one (negative: behind): every timestamp
    /// it writes from now on, simulated lease holders' included.
    pub fn set_clock_offset(&self, secs: i64) {
        self.shared.lock().clock_offset = secs;
    }

    /// Starts a simulated client holding a Lease and renewing it every third of its duration
    /// with the server's clock; it dies (stops renewing) when the handle is dropped or told to.
    pub fn hold_lease(&self, holder: crate::lease::LeaseHolder) -> crate::lease::HeldLease {
        crate::lease::hold(&self.shared, holder)
    }

    /// Stops accepting, ends open connections and watches; waits for the own runtime, if any.
    pub fn shutdown(mut self) {
        self.stop();
    }

    fn stop(&mut self) {
        let _ = self.shutdown.send(true);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Binds, builds the state and spawns the accept loop on the current runtime.
async fn launch(config: Config) -> Result<(Arc<Shared>, String, watch::Sender<bool>), StartError> {
    let listener = TcpListener::bind(("127.0.0.1", config.port))
        .await
        .map_err(|source| StartError::Bind { port: config.port, source })?;
    let addr = listener.local_addr().map_err(|source| StartError::Bind { port: config.port, source })?;
    let (shutdown, shutdown_rx) = watch::channel(false);
    let shared = build(&config, addr, shutdown_rx.clone())?;
    tokio::spawn(accept_loop(listener, shared.clone(), shutdown_rx));
    Ok((shared, format!("http://{addr}"), shutdown))
}

fn build(config: &Config, addr: SocketAddr, shutdown: watch::Receiver<bool>) -> Result<Arc<Shared>, StartError> {
    let (events, _) = broadcast::channel(4096);
    let mut state = State::new(config, events);
    for ns in &config.namespaces {
        let obj = serde_json::json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}});
        crate::seed::insert(&mut state, obj).map_err(StartError::Seed)?;
    }
    for obj in &config.seed {
        crate::seed::insert(&mut state, obj.clone()).map_err(StartError::Seed)?;
    }
    for log in &config.logs {
        state.logs.append(log.key.clone(), &log.text, std::time::SystemTime::now());
    }
    Ok(Shared::new(state, addr, shutdown))
}

async fn accept_loop(listener: TcpListener, shared: Arc<Shared>, mut shutdown: watch::Receiver<bool>) {
    loop {
        tokio::select! {
            _ = shutdown.changed() => return,
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else { continue };
                let _ = stream.set_nodelay(true);
                tokio::spawn(serve_connection(stream, shared.clone(), shutdown.clone()));
            }
        }
    }
}

async fn serve_connection(stream: TcpStream, shared: Arc<Shared>, mut shutdown: watch::Receiver<bool>) {
    shared.connections.fetch_add(1, Ordering::SeqCst);
    // A new connection costs a round trip before its first request (the TCP handshake).
    let latency = shared.lock().latency;
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    let reset = Arc::new(AtomicBool::new(false));
    let io = TokioIo::new(ResetOnDrop { stream, reset: reset.clone() });
    let svc = service_fn(move |req| serve_one(shared.clone(), reset.clone(), req));
    let conn = http1::Builder::new().serve_connection(io, svc);
    tokio::select! {
        _ = conn => {}
        _ = shutdown.changed() => {}
    }
}

async fn serve_one(
    shared: Arc<Shared>,
    reset: Arc<AtomicBool>,
    req: hyper::Request<Incoming>,
) -> Result<hyper::Response<ReplyBody>, io::Error> {
    let _in_flight = InFlight::start(&shared);
    let (parts, body) = req.into_parts();
    let header = |name: &str| parts.headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_string);
    let raw_query = parts.uri.query().unwrap_or("").to_string();
    let body = Limited::new(body, MAX_BODY).collect().await.map(|c| c.to_bytes());
    let mut request = Request {
        method: parts.method.as_str().to_string(),
        path: parts.uri.path().to_string(),
        query: Query(parse_query(&raw_query)),
        raw_query,
        content_type: header("content-type"),
        accept: header("accept").unwrap_or_default(),
        authorization: header("authorization"),
        impersonate: header("impersonate-user"),
        user_agent: header("user-agent"),
        body: Bytes::new(),
    };
    let (latency, write_cpu) = {
        let st = shared.lock();
        (st.latency, st.write_cpu)
    };
    if !latency.is_zero() {
        tokio::time::sleep(latency / 2).await;
    }
    let outcome = match body {
        Ok(b) => {
            request.body = b;
            handlers::handle(&shared, &request).await
        }
        Err(_) => handlers::Outcome {
            reply: ApiError::too_large(&format!("Request entity too large: limit is {MAX_BODY}")).into(),
            user: None,
        },
    };
    record(&shared, &request, outcome.user, outcome.reply.status());
    if !write_cpu.is_zero() && matches!(request.method.as_str(), "POST" | "PUT" | "PATCH") {
        let _ = tokio::task::spawn_blocking(move || burn(write_cpu)).await;
    }
    if !latency.is_zero() {
        tokio::time::sleep(latency / 2).await;
    }
    let response = match outcome.reply {
        Reply::Reset => {
            reset.store(true, Ordering::SeqCst);
            return Err(io::Error::new(io::ErrorKind::ConnectionReset, "injected connection reset"));
        }
        Reply::Json { status, body, headers } => {
            let mut r = respond(status, "application/json", ReplyBody::Full(Some(Bytes::from(body.to_string()))));
            for (k, v) in headers {
                if let (Ok(k), Ok(v)) =
                    (hyper::header::HeaderName::try_from(k), hyper::header::HeaderValue::try_from(v))
                {
                    r.headers_mut().insert(k, v);
                }
            }
            r
        }
        Reply::Raw { status, content_type, body } => respond(status, &content_type, ReplyBody::Full(Some(body))),
        Reply::Stream(rx) => respond(200, "application/json", ReplyBody::Stream(rx)),
        Reply::TextStream(rx) => respond(200, "text/plain", ReplyBody::Stream(rx)),
    };
    Ok(response)
}

/// Keeps a core busy for `d`, as a real server's work on a write does.
fn burn(d: std::time::Duration) {
    let start = std::time::Instant::now();
    let mut x: u64 = 1;
    while start.elapsed() < d {
        for _ in 0..1000 {
            x = std::hint::black_box(x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407));
        }
    }
}

fn respond(status: u16, content_type: &str, body: ReplyBody) -> hyper::Response<ReplyBody> {
    let mut r = hyper::Response::new(body);
    *r.status_mut() = hyper::StatusCode::from_u16(status).unwrap_or(hyper::StatusCode::INTERNAL_SERVER_ERROR);
    if let Ok(v) = hyper::header::HeaderValue::from_str(content_type) {
        r.headers_mut().insert(hyper::header::CONTENT_TYPE, v);
    }
    r
}

fn record(shared: &Shared, req: &Request, user: Option<String>, status: u16) {
    let entry = RequestRecord {
        method: req.method.clone(),
        path: req.path.clone(),
        query: req.raw_query.clone(),
        dry_run: req.query.0.iter().any(|(k, v)| k == "dryRun" && v == "All"),
        field_manager: req.query.get("fieldManager").map(str::to_string),
        force: req.query.flag("force"),
        user,
        status,
        content_type: req.content_type.clone(),
        user_agent: req.user_agent.clone(),
        body: req.body.to_vec(),
    };
    let mut st = shared.lock();
    if st.log_to_stderr {
        eprintln!(
            "{} {} {} ct={} accept={:?} user={} ua={}",
            entry.status,
            entry.method,
            req.target(),
            entry.content_type.as_deref().unwrap_or("-"),
            req.accept,
            entry.user.as_deref().unwrap_or("-"),
            entry.user_agent.as_deref().unwrap_or("-")
        );
    }
    st.log.push(entry);
}

/// Counts a request as in flight until it is answered or dropped.
struct InFlight(Arc<Shared>);

impl InFlight {
    fn start(shared: &Arc<Shared>) -> InFlight {
        shared.in_flight.fetch_add(1, Ordering::SeqCst);
        InFlight(shared.clone())
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

/// A TCP stream that, when the handler asked for a reset, closes with RST instead of FIN.
struct ResetOnDrop {
    stream: TcpStream,
    reset: Arc<AtomicBool>,
}

impl Drop for ResetOnDrop {
    fn drop(&mut self) {
        if self.reset.load(Ordering::SeqCst) {
            let _ = self.stream.set_zero_linger();
        }
    }
}

impl AsyncRead for ResetOnDrop {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for ResetOnDrop {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().stream).poll_write(cx, buf)
    }
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_flush(cx)
    }
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_shutdown(cx)
    }
}
