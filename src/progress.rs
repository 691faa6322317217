//! Status of long work (apply, wait for rollout, delete), one line per item, on stderr.
//!
//! On a terminal the lines are redrawn in place as items change, so a user watching ten
//! resources roll out sees ten lines, not a scrolling log. When stderr is a pipe or a file (CI
//! logs), only each item's final line is printed, once; with `--quiet` nothing is. stdout is never
//! touched: it carries the command's real output.

use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

/// How the reporter writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Redraw every line on each change (a terminal).
    Live,
    /// One final line per finished item (logs, pipes).
    Plain,
    /// Nothing.
    Quiet,
}

/// Where one item stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    Pending,
    Running(String),
    Done(String),
    Failed(String),
}

impl Status {
    fn finished(&self) -> bool {
        matches!(self, Status::Done(_) | Status::Failed(_))
    }

    fn word(&self) -> &'static str {
        match self {
            Status::Pending => "pending",
            Status::Running(_) => "running",
            Status::Done(_) => "done",
            Status::Failed(_) => "failed",
        }
    }

    fn detail(&self) -> &str {
        match self {
            Status::Pending => "",
            Status::Running(d) | Status::Done(d) | Status::Failed(d) => d,
        }
    }
}

struct Item {
    name: String,
    status: Status,
    started: Instant,
    elapsed: Option<Duration>,
    printed: bool,
}

/// Per-item status lines. Write errors are ignored: progress is a courtesy, and losing stderr
/// must never fail the work it describes.
pub struct Progress<W: Write> {
    out: W,
    mode: Mode,
    items: Vec<Item>,
    /// Lines drawn by the last live redraw, to move the cursor back over them.
    drawn: usize,
}

impl Progress<std::io::Stderr> {
    /// The reporter for stderr: live on a terminal, plain otherwise, silent with `quiet`.
    pub fn stderr(quiet: bool) -> Self {
        let err = std::io::stderr();
        let mode = match (quiet, err.is_terminal()) {
            (true, _) => Mode::Quiet,
            (false, true) => Mode::Live,
            (false, false) => Mode::Plain,
        };
        Progress::new(err, mode)
    }
}

impl<W: Write> Progress<W> {
    pub fn new(out: W, mode: Mode) -> Self {
        Progress { out, mode, items: Vec::new(), drawn: 0 }
    }

    /// Adds an item (pending) and returns its index for [`Progress::set`].
    pub fn add(&mut self, name: impl Into<String>) -> usize {
        let item =
            Item { name: name.into(), status: Status::Pending, started: Instant::now(), elapsed: None, printed: false };
        self.items.push(item);
        self.redraw();
        self.items.len() - 1
    }

    /// Moves an item to a new status; unknown indexes are ignored.
    pub fn set(&mut self, index: usize, status: Status) {
        let Some(item) = self.items.get_mut(index) else { return };
        if matches!(item.status, Status::Pending) && !matches!(status, Status::Pending) {
            item.started = Instant::now();
        }
        if status.finished() && item.elapsed.is_none() {
            item.elapsed = Some(item.started.elapsed());
        }
        item.status = status;
        match self.mode {
            Mode::Live => self.redraw(),
            Mode::Plain => self.print_finished(),
            Mode::Quiet => {}
        }
    }

    /// True when every item has finished and none failed.
    pub fn all_done(&self) -> bool {
        self.items.iter().all(|i| matches!(i.status, Status::Done(_)))
    }

    /// Ends the display: on a terminal the lines stay as they were last drawn; in plain mode
    /// items that never finished get their last status printed, so a log shows every item.
    pub fn finish(mut self) -> W {
        if self.mode == Mode::Plain {
            for i in 0..self.items.len() {
                if !self.items[i].printed {
                    let line = self.line(i, false);
                    let _ = writeln!(self.out, "{line}");
                    self.items[i].printed = true;
                }
            }
        }
        let _ = self.out.flush();
        self.out
    }

    fn print_finished(&mut self) {
        for i in 0..self.items.len() {
            if self.items[i].status.finished() && !self.items[i].printed {
                let line = self.line(i, false);
                let _ = writeln!(self.out, "{line}");
                self.items[i].printed = true;
            }
        }
        let _ = self.out.flush();
    }

    fn redraw(&mut self) {
        if self.mode != Mode::Live {
            return;
        }
        let mut text = String::new();
        if self.drawn > 0 {
            // Cursor up over the previous drawing, then rewrite each line from column 0.
            text.push_str(&format!("\x1b[{}A", self.drawn));
        }
        for i in 0..self.items.len() {
            text.push_str("\r\x1b[2K");
            text.push_str(&self.line(i, true));
            text.push('\n');
        }
        self.drawn = self.items.len();
        let _ = self.out.write_all(text.as_bytes());
        let _ = self.out.flush();
    }

    fn line(&self, index: usize, live: bool) -> String {
        let item = &self.items[index];
        // Names line up only when the lines are drawn together.
        let width = if live { self.items.iter().map(|i| i.name.len()).max().unwrap_or(0) } else { 0 };
        let mark = match (live, &item.status) {
            (true, Status::Pending) => "  ",
            (true, Status::Running(_)) => "..",
            (true, Status::Done(_)) => "ok",
            (true, Status::Failed(_)) => "!!",
            (false, s) => s.word(),
        };
        let mut line = format!("{mark:<7} {:<width$}", item.name);
        let detail = item.status.detail();
        if !detail.is_empty() {
            line.push_str("  ");
            line.push_str(detail);
        }
        if let Some(e) = item.elapsed.filter(|_| live) {
            line.push_str(&format!(" ({:.1}s)", e.as_secs_f64()));
        }
        line.trim_end().to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(bytes: &[u8]) -> String {
        String::from_utf8_lossy(bytes).into_owned()
    }

    #[test]
    fn quiet_writes_nothing() {
        let mut p = Progress::new(Vec::new(), Mode::Quiet);
        let a = p.add("Deployment/ml/dimtensor");
        p.set(a, Status::Done("3/3 ready".into()));
        assert!(p.finish().is_empty());
    }

    #[test]
    fn plain_prints_each_final_line_once_in_finishing_order() {
        let mut p = Progress::new(Vec::new(), Mode::Plain);
        let deploy = p.add("Deployment/dimtensor");
        let svc = p.add("Service/dimtensor");
        p.set(deploy, Status::Running("1/3 ready".into()));
        p.set(svc, Status::Done("created".into()));
        p.set(svc, Status::Done("created".into()));
        p.set(deploy, Status::Failed("timed out".into()));
        let out = text(&p.finish());
        assert_eq!(out, "done    Service/dimtensor  created\nfailed  Deployment/dimtensor  timed out\n");
        assert!(!out.contains('\x1b'), "no escape codes in logs");
    }

    #[test]
    fn plain_finish_reports_unfinished_items() {
        let mut p = Progress::new(Vec::new(), Mode::Plain);
        let a = p.add("Job/train");
        p.set(a, Status::Running("0/1 complete".into()));
        assert_eq!(text(&p.finish()), "running Job/train  0/1 complete\n");
    }

    #[test]
    fn live_redraws_in_place() {
        let mut p = Progress::new(Vec::new(), Mode::Live);
        let a = p.add("Deployment/dimtensor");
        let b = p.add("HorizontalPodAutoscaler/dimtensor");
        p.set(a, Status::Running("1/3 ready".into()));
        p.set(b, Status::Done("configured".into()));
        assert!(!p.all_done());
        p.set(a, Status::Done("3/3 ready".into()));
        assert!(p.all_done());
        let out = text(&p.finish());
        // Each redraw after the first moves up over the lines already drawn.
        assert!(out.contains("\x1b[1A") && out.contains("\x1b[2A"), "{out:?}");
        let last = out.rsplit("\x1b[2A").next().unwrap_or_default();
        assert!(last.contains("ok      Deployment/dimtensor") && last.contains("3/3 ready"), "{last:?}");
        assert!(last.contains("ok      HorizontalPodAutoscaler/dimtensor  configured"), "{last:?}");
    }

    #[test]
    fn unknown_index_is_ignored() {
        let mut p = Progress::new(Vec::new(), Mode::Plain);
        p.set(7, Status::Done(String::new()));
        assert!(p.finish().is_empty());
    }
}
