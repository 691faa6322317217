//! What every operation on a release shares (as Helm's `action.Configuration`): the connection
//! and Ctrl-C, the records, the lock and the check that the history did not move while the
//! operation planned, repairing what a dead operation left, showing the plan and asking before
//! changing anything, and rendering the release's objects. Each operation (install, upgrade,
//! rollback, uninstall) has its own module that runs its sequence with these.

use super::act::{ActOptions, ClusterAct};
use super::inputs::Inputs;
use super::lifecycle::{self, Draft, Ledger};
use super::lock::{Lock, Sighting};
use super::prepare::{self, Prepared};
use super::record::{Release, Status};
use super::store::SecretStore;
use super::ReleaseError;
use crate::apply::Cancel;
use crate::cluster::{Cluster, ConnectOptions};
use crate::diff::output::{ColorChoice, Format};
use crate::error::Error;
use crate::model::ResId;
use crate::{diff, render};
use serde_json::Value;
use std::io::{IsTerminal, Write};
use std::sync::Arc;
use std::time::Duration;

/// `--lock-duration`'s default, and the duration of a lease that names none.
const DEFAULT_LOCK: Duration = Duration::from_secs(60);

/// How the plan is shown, and whether to go on after it.
#[derive(Debug, Clone, Copy)]
pub struct Show {
    /// Stop after the plan (exit 1 when something would change).
    pub dry_run: bool,
    /// Do not ask.
    pub yes: bool,
    pub format: Format,
    pub color: ColorChoice,
    /// `--context`: lines around each change.
    pub context: usize,
}

/// How a revision is recorded.
#[derive(Debug, Clone)]
pub struct Recording {
    pub history_max: usize,
    pub lock_duration: String,
    pub atomic: bool,
}

/// One operation on release `name` in the connection's namespace.
pub struct Session {
    pub cluster: Arc<Cluster>,
    pub cancel: Cancel,
    pub name: String,
    /// Another holder's lease as first watched (when it was seen dead): the lock is taken over
    /// from it without watching again.
    seen: std::sync::Mutex<Option<Sighting>>,
}

impl Session {
    /// Starts an operation on release `name`: a valid name, Ctrl-C handling, the connection,
    /// and (unless it only plans) a check that no other operation holds the release's lock,
    /// before any work is done (a lock held by a live operation fails it; one whose holder died
    /// is taken over later, when the operation locks).
    pub async fn open(conn: &ConnectOptions, name: &str, dry_run: bool) -> Result<Session, Error> {
        render::check_release_name(name)?;
        let cancel = Cancel::default();
        cancel.on_signals();
        let cluster = Arc::new(Cluster::connect(conn).await?);
        let seen = match dry_run {
            true => None,
            false => Lock::ensure_free(&cluster, &cluster.namespace, name, DEFAULT_LOCK, &cancel).await?,
        };
        Ok(Session { cluster, cancel, name: name.to_string(), seen: std::sync::Mutex::new(seen) })
    }

    pub fn namespace(&self) -> &str {
        &self.cluster.namespace
    }

    pub fn store(&self) -> SecretStore<'_> {
        SecretStore { cluster: &self.cluster, namespace: self.cluster.namespace.clone() }
    }

    pub fn ledger<'s>(&self, store: &'s SecretStore<'s>, history_max: usize) -> Ledger<'s, SecretStore<'s>> {
        Ledger { store, name: self.name.clone(), namespace: self.cluster.namespace.clone(), history_max }
    }

    /// The release's objects rendered from `inputs`, stamped as its own, placed in its namespace;
    /// and the values under the user's (recorded with the revision).
    pub async fn desired(&self, inputs: &Inputs) -> Result<(Vec<(ResId, Value)>, Value), Error> {
        let req = render::Request {
            overlay: inputs.overlay.clone(),
            release: Some(self.name.clone()),
            namespace: None,
            values: inputs.values.clone(),
            checksum_key: Some(inputs.checksum_key.clone()),
            defaults: inputs.defaults.clone(),
        };
        let rendered = render::render(&req)?;
        crate::report::print_warnings(&rendered.warnings);
        let defaults = rendered.defaults();
        let objects = rendered
            .resources
            .into_iter()
            .map(|r| {
                let mut body = r.into_body();
                super::stamp(&mut body, &self.name, &self.cluster.namespace);
                body
            })
            .collect();
        Ok((diff::place(&self.cluster, objects).await?, defaults))
    }

    /// Prints the plan; with `--dry-run` says the exit code to stop with.
    pub fn show(&self, p: &Prepared, show: &Show, out: &mut dyn Write) -> Result<Option<u8>, Error> {
        let view = diff::output::View {
            format: show.format,
            color: diff::output::use_color(show.color),
            context: show.context,
            objects: true,
        };
        prepare::print(p, &view, None, out)?;
        Ok(show.dry_run.then(|| u8::from(p.plan.has_changes())))
    }

    /// The lock, then the history must be what the plan was made from.
    pub async fn take_lock(
        &self,
        ledger: &Ledger<'_, SecretStore<'_>>,
        planned: &[Release],
        lock_duration: &str,
    ) -> Result<(Lock, Vec<Release>), Error> {
        let d = duration("--lock-duration", lock_duration, DEFAULT_LOCK.as_secs())?;
        let seen = self.seen.lock().ok().and_then(|mut s| s.take());
        let lock = Lock::acquire(self.cluster.clone(), &ledger.namespace, &ledger.name, d, &self.cancel, seen).await?;
        match ledger.load().await {
            Ok(h) if fingerprint(&h) == fingerprint(planned) => Ok((lock, h)),
            other => {
                let _ = lock.release().await;
                match other {
                    Err(e) => Err(e.into()),
                    Ok(_) => Err(ReleaseError::Changed { name: ledger.name.clone() }.into()),
                }
            }
        }
    }

    /// Install, upgrade and rollback once confirmed: under the lock, repair what a dead
    /// operation left, then record revision n+1 and act ([`lifecycle::perform`]).
    #[allow(clippy::too_many_arguments)] // the steps' inputs, each used once
    pub async fn deploy(
        &self,
        ledger: &Ledger<'_, SecretStore<'_>>,
        planned: &[Release],
        record: &Recording,
        draft: Draft,
        prepared: &Prepared,
        act: ActOptions,
        out: &mut dyn Write,
    ) -> Result<Release, Error> {
        if self.cancel.is_cancelled() {
            return Err(ReleaseError::Interrupted.into());
        }
        let (lock, mut history) = self.take_lock(ledger, planned, &record.lock_duration).await?;
        let result = async {
            repair(ledger, &mut history, out).await?;
            let mut act = ClusterAct::new(&self.cluster, prepared, act, &self.cancel, &lock, &mut *out);
            Ok(lifecycle::perform(ledger, &mut history, draft, &mut act, record.atomic).await?)
        }
        .await;
        unlock(lock, result).await
    }
}

fn fingerprint(history: &[Release]) -> Vec<(u32, Status)> {
    history.iter().map(|r| (r.revision, r.status)).collect()
}

/// Releases the lock on every path; a failure to release is only a warning (it expires).
pub async fn unlock<T>(lock: Lock, result: Result<T, Error>) -> Result<T, Error> {
    if let Err(e) = lock.release().await {
        eprintln!(
            "warning: {e}; the lock was not released and expires on its own (--lock-duration after its last renewal)"
        );
    }
    result
}

/// Under the lock: marks what a dead operation left (pending revisions failed, older deployed
/// ones superseded), saying so.
pub async fn repair(
    ledger: &Ledger<'_, SecretStore<'_>>,
    history: &mut [Release],
    out: &mut dyn Write,
) -> Result<(), Error> {
    for rev in ledger.repair(history).await? {
        if let Some(r) = history.iter().find(|r| r.revision == rev) {
            writeln!(out, "release {}: revision {rev} marked {} ({})", r.name, r.status, r.description).ok();
        }
    }
    Ok(())
}

/// Asks before changing anything: `--yes` skips the question; without a terminal we refuse.
pub fn confirm(yes: bool, question: &str) -> Result<bool, Error> {
    if yes {
        return Ok(true);
    }
    if !std::io::stdin().is_terminal() {
        return Err(Error::Refused(format!("{question} needs confirmation, and stdin is not a terminal: pass --yes to go ahead without asking (nothing was changed)")));
    }
    eprint!("{question} [y/N] ");
    let mut answer = String::new();
    std::io::stdin()
        .read_line(&mut answer)
        .map_err(|source| Error::Io { context: "reading the answer".into(), source })?;
    Ok(matches!(answer.trim(), "y" | "Y" | "yes"))
}

/// A duration flag (`5m`), or `default` seconds.
pub fn duration(flag: &str, s: &str, default: u64) -> Result<Duration, Error> {
    crate::cluster::parse_timeout(s)
        .map(|d| d.unwrap_or(Duration::from_secs(default)))
        .map_err(|m| Error::Usage(format!("{flag}: {m}")))
}
