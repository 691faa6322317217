//! Printing a plan: one unified diff per resource under a `Kind/namespace/name (action)` header,
//! then the summary. Colour is decided once, by the caller.

use super::{Action, Plan};
use serde_json::{json, Value};
use similar::TextDiff;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Simple,
    Json,
    Markdown,
}

const RED: &str = "\x1b[31m";
const GREEN: &str = "\x1b[32m";
const CYAN: &str = "\x1b[36m";
const BOLD: &str = "\x1b[1m";
const YELLOW: &str = "\x1b[33m";
const RESET: &str = "\x1b[0m";

fn yaml_of(v: &Option<Value>) -> String {
    v.as_ref().map(crate::yaml::to_yaml).unwrap_or_default()
}

/// How a plan is shown: format, colour (simple format only), lines of context (`--context`),
/// and whether each object's diff is printed (not when an external program shows them).
#[derive(Debug, Clone, Copy)]
pub struct View {
    pub format: Format,
    pub color: bool,
    pub context: usize,
    pub objects: bool,
}

impl View {
    pub fn plain(format: Format) -> View {
        View { format, color: false, context: 3, objects: true }
    }
}

/// The unified diff of one change, plain text, with `context` lines around each change.
pub fn unified(before: &Option<Value>, after: &Option<Value>, id: &str, context: usize) -> String {
    let (a, b) = (yaml_of(before), yaml_of(after));
    TextDiff::from_lines(&a, &b)
        .unified_diff()
        .context_radius(context)
        .header(&format!("live/{id}"), &format!("merged/{id}"))
        .to_string()
}

/// Renders the plan as `view` says.
pub fn render(plan: &Plan, view: &View) -> String {
    match view.format {
        Format::Simple if !view.objects => format!("{}\n", paint(&plan.summary(), BOLD, view.color)),
        Format::Simple => simple(plan, view.color, view.context),
        Format::Markdown => markdown(plan, view.context),
        Format::Json => json_out(plan, view.context),
    }
}

fn paint(text: &str, code: &str, color: bool) -> String {
    if color {
        format!("{code}{text}{RESET}")
    } else {
        text.to_string()
    }
}

fn simple(plan: &Plan, color: bool, context: usize) -> String {
    let mut out = String::new();
    for c in plan.changes.iter().filter(|c| c.action != Action::Unchanged) {
        let header = format!("{} ({})", c.id, c.action.word());
        let code = match c.action {
            Action::Create => GREEN,
            Action::Delete => RED,
            _ => YELLOW,
        };
        out.push_str(&paint(&header, &format!("{BOLD}{code}"), color));
        out.push('\n');
        match &c.action {
            Action::Replace { reason } => {
                let how = "--force replaces it (deletes it and creates it again)";
                out.push_str(&format!("  the server refuses an in-place update: {reason}; {how}\n"))
            }
            Action::Terminating { finalizers } => out.push_str(&format!("  {}\n", terminating_note(finalizers))),
            _ => {}
        }
        for line in unified(&c.before, &c.after, &c.id.to_string(), context).lines() {
            let styled = if line.starts_with("+++") || line.starts_with("---") {
                paint(line, BOLD, color)
            } else if line.starts_with('+') {
                paint(line, GREEN, color)
            } else if line.starts_with('-') {
                paint(line, RED, color)
            } else if line.starts_with("@@") {
                paint(line, CYAN, color)
            } else {
                line.to_string()
            };
            out.push_str(&styled);
            out.push('\n');
        }
        out.push('\n');
    }
    out.push_str(&paint(&plan.summary(), BOLD, color));
    out.push('\n');
    out
}

/// Why a terminating object is listed, and what install and upgrade do about it.
pub fn terminating_note(finalizers: &[String]) -> String {
    let held = match finalizers {
        [] => "being deleted".to_string(),
        f => format!("being deleted, held by finalizers {}", f.join(", ")),
    };
    format!("{held}: install and upgrade wait (up to --timeout) for it to go, then create it")
}

fn markdown(plan: &Plan, context: usize) -> String {
    let mut out = String::from("## kubectl dimtensor plan\n\n");
    for c in plan.changes.iter().filter(|c| c.action != Action::Unchanged) {
        out.push_str(&format!(
            "### `{}` ({})\n\n```diff\n{}```\n\n",
            c.id,
            c.action.word(),
            unified(&c.before, &c.after, &c.id.to_string(), context)
        ));
    }
    out.push_str(&format!("**{}**\n", plan.summary()));
    out
}

fn json_out(plan: &Plan, context: usize) -> String {
    let items: Vec<Value> = plan
        .changes
        .iter()
        .map(|c| json!({"resource": c.id.to_string(), "kind": c.id.gvk.kind, "namespace": c.id.namespace, "name": c.id.name, "action": c.action.word(), "diff": unified(&c.before, &c.after, &c.id.to_string(), context)}))
        .collect();
    let doc = json!({"changes": items, "summary": {"add": plan.count("create"), "change": plan.count("update"), "replace": plan.count("replace"), "terminating": plan.count("terminating"), "delete": plan.count("delete"), "unchanged": plan.count("unchanged")}});
    serde_json::to_string_pretty(&doc).unwrap_or_default() + "\n"
}

/// `--color auto|always|never`, honouring NO_COLOR and whether stdout is a terminal.
pub fn use_color(choice: ColorChoice) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
                && std::io::IsTerminal::is_terminal(&std::io::stdout())
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum ColorChoice {
    #[default]
    Auto,
    Always,
    Never,
}

#[cfg(test)]
mod tests {
    use super::super::{Change, Plan};
    use super::*;
    use crate::model::{Gvk, ResId};

    fn plan() -> Plan {
        let id = ResId::new(Gvk::from_api_version("apps/v1", "Deployment"), "ml", "dimtensor");
        Plan {
            changes: vec![Change {
                id,
                action: Action::Update,
                before: Some(json!({"spec": {"image": "a:1"}})),
                after: Some(json!({"spec": {"image": "a:2"}})),
                body: None,
                uid: None,
                skipped: false,
            }],
        }
    }

    #[test]
    fn simple_output_has_header_diff_and_summary() {
        let text = render(&plan(), &View::plain(Format::Simple));
        assert!(text.contains("Deployment/ml/dimtensor (update)"), "{text}");
        assert!(text.contains("-  image: a:1") && text.contains("+  image: a:2"), "{text}");
        assert!(text.ends_with("Plan: 0 to add, 1 to change, 0 to delete, 0 unchanged\n"), "{text}");
        assert!(!text.contains('\x1b'));
    }

    #[test]
    fn color_marks_added_and_removed_lines() {
        let text = render(&plan(), &View { color: true, ..View::plain(Format::Simple) });
        assert!(text.contains("\x1b[32m+  image: a:2\x1b[0m"), "{text:?}");
        assert!(text.contains("\x1b[31m-  image: a:1\x1b[0m"), "{text:?}");
    }

    #[test]
    fn context_is_the_number_of_lines_around_a_change() {
        let many = |image: &str| Some(json!({"a": 1, "b": 2, "c": 3, "d": 4, "e": image, "f": 5, "g": 6, "h": 7}));
        let lines = |n| unified(&many("x"), &many("y"), "X", n).lines().filter(|l| l.starts_with(' ')).count();
        assert_eq!((lines(0), lines(1), lines(3)), (0, 2, 6));
    }

    #[test]
    fn markdown_and_json() {
        assert!(render(&plan(), &View::plain(Format::Markdown)).contains("```diff"));
        let v: Value = serde_json::from_str(&render(&plan(), &View::plain(Format::Json))).unwrap();
        assert_eq!(v["changes"][0]["action"], "update");
        assert_eq!(v["summary"]["change"], 1);
    }
}
