//! One function per subcommand, wiring the stages together. Nothing here knows YAML syntax or
//! Kustomize rules; it calls the stages and prints.

use crate::cli::{Cli, Command, Output, RenderArgs};
use crate::error::Error;
use crate::{builtin, render, yaml};
use std::io::Write;

/// Runs a parsed command line; returns the process exit code on success.
pub fn run(cli: Cli, out: &mut dyn Write) -> Result<u8, Error> {
    match cli.command {
        Command::Render(args) => render_cmd(&args, cli.global.namespace.as_deref(), out),
        Command::Overlays => overlays(out),
        Command::Init { dir } => init(&dir, out),
        Command::Version => {
            writeln!(out, "kubectl-dimtensor {} (deploys dimtensor {})", env!("CARGO_PKG_VERSION"), crate::APP_VERSION)
                .map_err(io("writing output"))?;
            Ok(0)
        }
    }
}

fn io(context: &str) -> impl Fn(std::io::Error) -> Error + '_ {
    move |source| Error::Io { context: context.to_string(), source }
}

fn render_cmd(args: &RenderArgs, namespace: Option<&str>, out: &mut dyn Write) -> Result<u8, Error> {
    let req = render::Request {
        overlay: args.overlay.clone(),
        release: args.name.clone(),
        namespace: namespace.map(str::to_string),
    };
    let set = render::render(&req)?;
    let text = match args.output {
        Output::Yaml => yaml::to_yaml_stream(set.iter().map(|r| r.body())),
        Output::Json => {
            let items: Vec<&serde_json::Value> = set.iter().map(|r| r.body()).collect();
            let list = serde_json::json!({"apiVersion": "v1", "kind": "List", "items": items});
            serde_json::to_string_pretty(&list).unwrap_or_default() + "\n"
        }
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

fn init(dir: &std::path::Path, out: &mut dyn Write) -> Result<u8, Error> {
    let written = builtin::write_to(dir).map_err(io("writing the built-in manifests"))?;
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
