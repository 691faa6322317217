//! `KUBECTL_EXTERNAL_DIFF`, as kubectl does it: every object of the plan is written as YAML into
//! two directories, `LIVE-*` (as the cluster has it) and `MERGED-*` (as it would be), one file
//! per object named `group.version.kind.namespace.name` (no group for the core group), Secret
//! values masked as in the built-in diff; the program (with its flags, split on spaces) is run
//! on the two directories, and its output is the diff.

use super::Plan;
use crate::error::Error;
use crate::model::ResId;
use std::path::{Path, PathBuf};

/// kubectl's file name for an object.
pub fn file_name(id: &ResId) -> String {
    let group = if id.gvk.group.is_empty() { String::new() } else { format!("{}.", id.gvk.group) };
    format!("{group}{}.{}.{}.{}", id.gvk.version, id.gvk.kind, id.namespace, id.name)
}

fn io(context: String) -> impl FnOnce(std::io::Error) -> Error {
    move |source| Error::Io { context, source }
}

fn fresh_dir(prefix: &str) -> Result<PathBuf, Error> {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
    let dir = std::env::temp_dir().join(format!("{prefix}-{}{nanos}", std::process::id()));
    std::fs::create_dir(&dir).map_err(io(format!("creating {}", dir.display())))?;
    Ok(dir)
}

fn write_all(dir: &Path, plan: &Plan, live: bool) -> Result<(), Error> {
    for c in &plan.changes {
        let side = if live { &c.before } else { &c.after };
        if let Some(v) = side {
            let path = dir.join(file_name(&c.id));
            std::fs::write(&path, crate::yaml::to_yaml(v)).map_err(io(format!("writing {}", path.display())))?;
        }
    }
    Ok(())
}

/// Runs `command` on LIVE and MERGED directories of `plan`; true when it found differences
/// (exit 1), false when none (0). Any other exit is an error, as in kubectl.
pub fn run(command: &str, plan: &Plan) -> Result<bool, Error> {
    let words: Vec<&str> = command.split_whitespace().collect();
    let Some((program, flags)) = words.split_first() else {
        return Err(Error::Usage("KUBECTL_EXTERNAL_DIFF is set but names no program".into()));
    };
    let live = fresh_dir("LIVE")?;
    let merged = fresh_dir("MERGED");
    let result = merged.and_then(|merged| {
        let ran = write_all(&live, plan, true).and_then(|_| write_all(&merged, plan, false)).and_then(|_| {
            std::process::Command::new(program)
                .args(flags)
                .arg(&live)
                .arg(&merged)
                .status()
                .map_err(io(format!("running KUBECTL_EXTERNAL_DIFF program `{program}`")))
        });
        let _ = std::fs::remove_dir_all(&merged);
        ran
    });
    let _ = std::fs::remove_dir_all(&live);
    match result?.code() {
        Some(0) => Ok(false),
        Some(1) => Ok(true),
        other => Err(Error::Refused(format!(
            "KUBECTL_EXTERNAL_DIFF program `{program}` failed ({})",
            other.map_or("killed by a signal".to_string(), |c| format!("exit status {c}"))
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Gvk;

    #[test]
    fn files_are_named_as_kubectl_names_them() {
        let d = ResId::new(Gvk::from_api_version("apps/v1", "Deployment"), "ml", "web");
        assert_eq!(file_name(&d), "apps.v1.Deployment.ml.web");
        let s = ResId::new(Gvk::from_api_version("v1", "Service"), "ml", "web");
        assert_eq!(file_name(&s), "v1.Service.ml.web");
    }
}
