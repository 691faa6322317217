//! One function per subcommand, wiring the stages together. Nothing here knows YAML syntax or
//! Kustomize rules; it calls the stages and prints.

use crate::cli::{Cli, Command, Output, RenderArgs, ShowWhat};
use crate::error::Error;
use crate::{builtin, render, values, yaml};
use serde_json::Value;
use std::io::Write;

/// Runs a parsed command line; returns the process exit code on success.
pub fn run(cli: Cli, out: &mut dyn Write) -> Result<u8, Error> {
    if let Some(ns) = cli.command.namespace() {
        check_namespace(ns)?;
    }
    match cli.command {
        Command::Render(args) => render_cmd(&args, args.ns.namespace.as_deref(), out),
        Command::Diff(args) => crate::action::diff_cmd(&args, &args.common.conn, out),
        Command::Install(args) => crate::action::install_cmd(&args, &args.common.conn, out),
        Command::Upgrade(args) => crate::action::upgrade_cmd(&args, &args.common.conn, out),
        Command::Uninstall(args) => crate::action::uninstall_cmd(&args, &args.conn, out),
        Command::Handover(args) => crate::action::handover_cmd(&args, &args.conn, out),
        Command::Rollback(args) => crate::action::rollback_cmd(&args, &args.conn, out),
        Command::History(args) => crate::action::history_cmd(&args, &args.conn, out),
        Command::Status(args) => crate::action::status_cmd(&args, &args.conn, out),
        Command::List(args) => crate::action::list_cmd(&args, &args.conn, out),
        Command::Get { what } => crate::action::get_cmd(&what, what.conn(), out),
        Command::Doctor(args) => crate::action::doctor_cmd(&args, &args.conn, out),
        Command::Logs(args) => crate::action::logs_cmd(&args, &args.conn, out),
        Command::Overlays => overlays(out),
        Command::Init(args) => init(&args, args.ns.namespace.as_deref(), out),
        Command::Show { what } => show(what, out),
        Command::Version => {
            writeln!(out, "kubectl-dimtensor {} (deploys dimtensor {})", env!("CARGO_PKG_VERSION"), crate::APP_VERSION)
                .map_err(io("writing output"))?;
            Ok(0)
        }
        Command::Lint(args) => lint_cmd(&args, args.ns.namespace.as_deref(), out),
        Command::Completion { shell } => {
            crate::completion::write_script(shell, out);
            Ok(0)
        }
    }
}

/// Renders like `render` and reports what breaks the chart's best practices.
fn lint_cmd(args: &crate::cli::LintArgs, namespace: Option<&str>, out: &mut dyn Write) -> Result<u8, Error> {
    let req = render::Request {
        overlay: args.overlay.clone(),
        release: None,
        namespace: namespace.map(str::to_string),
        values: values::load(&args.values.input(), &mut std::io::stdin())?,
        ..Default::default()
    };
    let rendered = render::render(&req)?;
    crate::report::print_warnings(&rendered.warnings);
    let findings = crate::lint::lint(rendered.resources.as_slice());
    let text = match args.output {
        crate::cli::LintOutput::Text => crate::lint::to_text(&findings),
        crate::cli::LintOutput::Json => {
            serde_json::to_string_pretty(&crate::lint::to_json(&findings)).unwrap_or_default() + "\n"
        }
    };
    out.write_all(text.as_bytes()).map_err(io("writing output"))?;
    Ok(crate::lint::exit_code(&findings, args.strict))
}

/// `-n` must be a name the API server accepts (a DNS-1123 label); refused before anything renders
/// or connects, rather than rendering objects no cluster takes.
fn check_namespace(ns: &str) -> Result<(), Error> {
    let ok = !ns.is_empty()
        && ns.len() <= 63
        && ns.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !ns.starts_with('-')
        && !ns.ends_with('-');
    match ok {
        true => Ok(()),
        false => Err(Error::Usage(format!(
            "invalid namespace `-n {ns}`: a namespace must be a DNS-1123 label: at most 63 lowercase letters, digits and '-', starting and ending with a letter or digit"
        ))),
    }
}

fn io(context: &str) -> impl Fn(std::io::Error) -> Error + '_ {
    move |source| Error::Io { context: context.to_string(), source }
}

fn render_cmd(args: &RenderArgs, namespace: Option<&str>, out: &mut dyn Write) -> Result<u8, Error> {
    if args.argocd {
        return argocd_render(args, namespace, out);
    }
    let user = values::load(&args.values.input(), &mut std::io::stdin())?;
    let req = render::Request {
        overlay: args.overlay.clone(),
        release: args.name.clone(),
        namespace: namespace.map(str::to_string),
        values: user,
        checksum_key: values::checksum::Key::offline(args.checksum_key_file.as_deref())?,
        defaults: None,
    };
    let rendered = render::render(&req)?;
    crate::report::print_warnings(&rendered.warnings);
    if rendered.resources.is_empty() {
        // Kustomize prints nothing and succeeds here; an empty render is almost always a
        // kustomization that forgot its resources, so say so (stdout stays what Kustomize prints).
        eprintln!(
            "warning: {} renders nothing: no resource, generator or component in it makes an object",
            args.overlay.as_deref().unwrap_or("the base")
        );
    }
    let bodies = || rendered.resources.iter().map(|r| r.body());
    let written = if args.show_values {
        out.write_all(show_values(&rendered, &req.values).as_bytes())
    } else if args.explain {
        out.write_all(explain(&rendered, &req.values).as_bytes())
    } else {
        match args.output {
            Output::Yaml => yaml::write_yaml_stream(out, bodies()),
            Output::Json => {
                let items: Vec<&Value> = bodies().collect();
                let list = serde_json::json!({"apiVersion": "v1", "kind": "List", "items": items});
                out.write_all((serde_json::to_string_pretty(&list).unwrap_or_default() + "\n").as_bytes())
            }
        }
    };
    written.map_err(io("writing output"))?;
    // The process ends next: freeing thousands of trees one node at a time would only delay it.
    std::mem::forget(rendered);
    Ok(0)
}

/// `render --argocd`: the inputs from Argo CD's environment, then an ordinary render.
fn argocd_render(args: &RenderArgs, namespace: Option<&str>, out: &mut dyn Write) -> Result<u8, Error> {
    if namespace.is_some() {
        return Err(Error::Usage(
            "render --argocd takes the namespace from ARGOCD_APP_NAMESPACE (the Application's destination); drop -n"
                .into(),
        ));
    }
    let env: std::collections::BTreeMap<String, String> =
        std::env::vars_os().filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?))).collect();
    let cwd = std::env::current_dir().map_err(io("reading the working directory (the Application's path)"))?;
    let inputs = crate::gitops::argocd::inputs(&env, &cwd)?;
    if let Some(ns) = &inputs.namespace {
        check_namespace(ns).map_err(|e| Error::Usage(format!("ARGOCD_APP_NAMESPACE: {e}")))?;
    }
    let values = crate::cli::ValuesArgs {
        files: inputs.values.files,
        set: inputs.values.set,
        set_string: inputs.values.set_string,
        set_file: Vec::new(),
    };
    let plain =
        RenderArgs { name: Some(inputs.release), overlay: inputs.overlay, values, argocd: false, ..args.clone() };
    render_cmd(&plain, inputs.namespace.as_deref(), out)
}

/// Every parameter, its effective value and where it came from.
fn show_values(rendered: &render::Rendered, user: &values::UserValues) -> String {
    let rows = values::provenance(rendered.preset.as_deref(), &rendered.preset_values, user);
    let width = rows.iter().map(|(k, _, _)| k.len()).max().unwrap_or(0);
    let mut text = format!("{:<width$}  {:<40}  SOURCE\n", "KEY", "VALUE");
    for (key, value, source) in rows {
        let shown = match &value {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        text.push_str(&format!("{key:<width$}  {shown:<40}  {source}\n"));
    }
    text
}

/// For each key the user set: its source and the patch it produced.
fn explain(rendered: &render::Rendered, user: &values::UserValues) -> String {
    if user.is_empty() {
        return "no values were set: the output is the overlay as it is\n".to_string();
    }
    let mut text = String::new();
    for (key, source) in &user.sources {
        text.push_str(&format!("{key}  (from {source})\n"));
        let hits: Vec<&values::layers::Effect> = rendered.effects.iter().filter(|e| e.keys.contains(key)).collect();
        if hits.is_empty() {
            text.push_str("  no effect on this workload kind (the chart ignores it here too)\n");
        }
        for e in hits {
            let patch = mask_patch(&e.patch);
            text.push_str(&format!("  patches {}:\n", e.resource));
            for line in yaml::to_yaml(&patch).lines() {
                text.push_str(&format!("    {line}\n"));
            }
        }
    }
    text
}

/// Secret data in an explanation is shown as `***`.
fn mask_patch(patch: &Value) -> Value {
    let mut p = patch.clone();
    if p["kind"] == "Secret" {
        for field in ["data", "stringData"] {
            if let Some(Value::Object(m)) = p.get_mut(field) {
                for (k, v) in m.iter_mut() {
                    if k != "$patch" {
                        *v = Value::String("***".into());
                    }
                }
            }
        }
    }
    p
}

fn show(what: ShowWhat, out: &mut dyn Write) -> Result<u8, Error> {
    let text = match what {
        ShowWhat::Schema => serde_json::to_string_pretty(&values::schema::json_schema()).unwrap_or_default() + "\n",
        ShowWhat::Values => values::schema::commented_defaults(),
    };
    out.write_all(text.as_bytes()).map_err(io("writing output"))?;
    Ok(0)
}

fn overlays(out: &mut dyn Write) -> Result<u8, Error> {
    let mut text = String::from("VARIANTS (--overlay NAME)\n");
    for v in builtin::variants() {
        text.push_str(&format!("  {v:<24}{}\n", builtin::describe(&format!("overlays/{v}"))));
    }
    text.push_str("\nCOMPONENTS (overlays/components, switched on by values)\n");
    for c in builtin::components() {
        text.push_str(&format!("  {c:<24}{}\n", builtin::describe(&format!("overlays/components/{c}"))));
    }
    out.write_all(text.as_bytes()).map_err(io("writing output"))?;
    Ok(0)
}

fn init(args: &crate::cli::InitArgs, namespace: Option<&str>, out: &mut dyn Write) -> Result<u8, Error> {
    let dir = args.dir.as_path();
    if args.ejects() {
        return eject(args, namespace, out);
    }
    if dir.exists() && !dir.is_dir() {
        return Err(Error::Usage(format!(
            "cannot init into {}: it is a file, not a directory; give a new or existing directory",
            dir.display()
        )));
    }
    let context = format!("writing the built-in manifests to {}", dir.display());
    let written = builtin::write_to(dir).map_err(io(&context))?;
    writeln!(
        out,
        "wrote {} files to {}; try: kubectl dimtensor render --overlay {}",
        written.len(),
        dir.display(),
        dir.join("overlays/inference").display()
    )
    .map_err(io("writing output"))?;
    Ok(0)
}

/// `init DIR` with render's inputs: renders them, then writes the layers as a Kustomize tree.
fn eject(args: &crate::cli::InitArgs, namespace: Option<&str>, out: &mut dyn Write) -> Result<u8, Error> {
    let req = render::Request {
        overlay: args.overlay.clone(),
        release: args.release.clone(),
        namespace: namespace.map(str::to_string),
        values: values::load(&args.values.input(), &mut std::io::stdin())?,
        checksum_key: values::checksum::Key::offline(args.checksum_key_file.as_deref())?,
        defaults: None,
    };
    let rendered = render::render(&req)?;
    crate::report::print_warnings(&rendered.warnings);
    let written = crate::gitops::eject::eject(&rendered, &args.dir, args.secrets_file.as_deref())?;
    let dir = args.dir.display();
    let mut text = format!(
        "wrote {} files to {dir}: `kubectl kustomize {dir}` renders what `kubectl dimtensor render` prints for these inputs\n",
        written.files.len()
    );
    if let Some(secrets) = &written.secrets {
        text.push_str(&format!(
            "Secret values are in {}, listed in the .gitignore beside it: keep it out of git (for Argo CD or Flux, encrypt it with SOPS or create the Secret another way)\n",
            secrets.display()
        ));
    }
    out.write_all(text.as_bytes()).map_err(io("writing output"))?;
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn namespaces_must_be_dns_labels() {
        for ok in ["ml", "team-a", "a1", &"a".repeat(63)] {
            assert!(check_namespace(ok).is_ok(), "{ok}");
        }
        for bad in ["My_Namespace", "", "-a", "a-", "a.b", &"a".repeat(64)] {
            let err = check_namespace(bad).unwrap_err().to_string();
            assert!(err.contains(&format!("`-n {bad}`")) && err.contains("DNS-1123"), "{err}");
        }
    }
}
