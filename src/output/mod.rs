//! Everything the user sees. Results go to stdout; progress, plans and advice go to stderr.
//! It renders what it is given: it never calls AWS and changes nothing.

use std::io::{IsTerminal, Write};
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use serde::Serialize;

use crate::error::Error;

mod fit;
mod many;
mod plan;

pub(crate) use fit::wrap_words;
pub(crate) use fit::{fit_lines, terminal_width};
pub(crate) use many::Many;
pub(crate) use plan::{
    diff, guardrail_lines, guardrails, render_policy_plan, render_role_plan, revision_lines, Shown,
};

/// `--output`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Format {
    #[default]
    Text,
    Json,
}

/// The terminal conventions of one run: verbosity, colour, spinners.
#[derive(Debug, Clone)]
pub struct Ui {
    pub(crate) quiet: bool,
    color: bool,
    spinners: bool,
    /// Plans print the whole policy documents (`--show-policies`, `-v`, `--dry-run`), not
    /// only what they grant.
    pub(crate) documents: bool,
    /// Whose warnings these are, where many setups run at once: `role[2]`.
    label: Option<std::sync::Arc<str>>,
}

impl Ui {
    /// Colour and spinners only on a terminal, and no colour under `NO_COLOR`.
    pub fn detect(quiet: bool) -> Ui {
        let tty = std::io::stderr().is_terminal();
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        Ui {
            quiet,
            color: tty && !no_color,
            spinners: tty && !quiet,
            documents: false,
            label: None,
        }
    }

    /// Draws nothing but warnings: for work beside a prompt, which owns the screen.
    pub(crate) fn silent(&self) -> Ui {
        Ui {
            quiet: true,
            spinners: false,
            ..self.clone()
        }
    }

    /// Warnings said as `label`'s: one of many setups running at once.
    pub(crate) fn labelled(&self, label: &str) -> Ui {
        Ui {
            label: Some(label.into()),
            ..self.clone()
        }
    }

    /// With the whole documents in plans, or only what they grant.
    pub fn with_documents(mut self, documents: bool) -> Ui {
        self.documents = documents;
        self
    }

    #[cfg(test)]
    /// A plain UI, for tests.
    pub(crate) fn plain() -> Ui {
        Ui {
            quiet: false,
            color: false,
            spinners: false,
            documents: true,
            label: None,
        }
    }

    pub(crate) fn bold(&self, s: &str) -> String {
        self.paint("1", s)
    }

    pub(crate) fn green(&self, s: &str) -> String {
        self.paint("32", s)
    }

    pub(crate) fn yellow(&self, s: &str) -> String {
        self.paint("33", s)
    }

    pub(crate) fn red(&self, s: &str) -> String {
        self.paint("31", s)
    }

    pub(crate) fn dim(&self, s: &str) -> String {
        self.paint("2", s)
    }

    fn paint(&self, code: &str, s: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{s}\x1b[0m")
        } else {
            s.to_string()
        }
    }

    /// A line of progress or advice on stderr; silent under `-q`.
    pub fn info(&self, msg: impl AsRef<str>) {
        if !self.quiet {
            said_more();
            say(&self.fit(msg.as_ref()));
        }
    }

    /// An error the run recovers from (an answer asked again): said as an error, on stderr.
    pub(crate) fn error(&self, msg: impl AsRef<str>) {
        said_more();
        say(&self.fit(&format!("{} {}", self.red("error:"), msg.as_ref())));
    }

    /// A warning on stderr, shown even under `-q`.
    pub(crate) fn warn(&self, msg: impl AsRef<str>) {
        said_more();
        let whose = self
            .label
            .as_deref()
            .map(|label| format!("{label}: "))
            .unwrap_or_default();
        say(&self.fit(&format!(
            "{} {whose}{}",
            self.yellow("warning:"),
            msg.as_ref()
        )));
    }

    /// Text for stderr, fitted to the terminal: a long line wraps at word boundaries with a
    /// continuation indent; a long command goes on with ` \` continuations, so that it can
    /// still be copied into a shell. Away from a terminal (logs, CI) lines stay whole.
    pub(crate) fn fit(&self, text: &str) -> String {
        match self.width() {
            Some(width) => fit_lines(text, width),
            None => text.to_string(),
        }
    }

    /// The terminal's width, when stderr is one.
    fn width(&self) -> Option<usize> {
        self.spinners.then(terminal_width)
    }

    /// A step in progress: a spinner on a terminal, a plain line otherwise.
    pub(crate) fn step(&self, msg: impl Into<String>) -> Step {
        said_more();
        let msg = msg.into();
        if self.spinners {
            let bar = spinning(screen().add(ProgressBar::new_spinner()), &msg);
            Step {
                bar: Some(bar),
                msg,
                ui: self.clone(),
            }
        } else {
            self.info(format!("{msg} …"));
            Step {
                bar: None,
                msg,
                ui: self.clone(),
            }
        }
    }
}

/// A step shown by [`Ui::step`]; finish it with [`Step::done`] or [`Step::fail`].
pub(crate) struct Step {
    bar: Option<ProgressBar>,
    msg: String,
    ui: Ui,
}

/// A step left without an end (an error passed up with `?`) takes its spinner off the screen.
impl Drop for Step {
    fn drop(&mut self) {
        if let Some(bar) = &self.bar {
            wipe(bar);
        }
    }
}

impl Step {
    pub(crate) fn set(&self, msg: impl Into<String>) {
        match &self.bar {
            Some(bar) => bar.set_message(msg.into()),
            None => self.ui.info(format!("  {}", msg.into())),
        }
    }

    /// A line said while the step runs: above the spinner, which then goes on, so that no
    /// frame of it is left behind (as every line said through a [`Ui`] is).
    pub(crate) fn info(&self, msg: impl AsRef<str>) {
        self.ui.info(msg);
    }

    pub(crate) fn done(self, outcome: &str) {
        if let Some(bar) = &self.bar {
            wipe(bar);
        }
        self.ui
            .info(format!("{} {}: {outcome}", self.ui.green("✓"), self.msg));
    }

    pub(crate) fn fail(self) {
        if let Some(bar) = &self.bar {
            wipe(bar);
        }
        self.ui.info(format!("{} {}", self.ui.red("✗"), self.msg));
    }

    /// Ends the step as `result` did: done, saying `outcome` of its value, or failed. The
    /// result passes through, for `?`.
    pub(crate) fn end<T, E>(
        self,
        result: Result<T, E>,
        outcome: impl FnOnce(&T) -> String,
    ) -> Result<T, E> {
        match &result {
            Ok(value) => self.done(&outcome(value)),
            Err(_) => self.fail(),
        }
        result
    }
}

impl crate::aws::Person for Ui {
    fn waiting(&self, what: String) -> Box<dyn FnOnce(bool) + '_> {
        let step = self.step(what);
        Box::new(move |came| {
            if came {
                step.done("ready")
            } else {
                step.fail()
            }
        })
    }

    fn ask(
        &self,
        prompt: &str,
        validate: &dyn Fn(&str) -> Result<(), String>,
    ) -> Result<String, Error> {
        // dialoguer's own input, on stderr: the wizard's line reader (`prompt`) sits beside
        // this layer, not below it, and an MFA code needs no Esc.
        dialoguer::Input::<String>::with_theme(&dialoguer::theme::ColorfulTheme::default())
            .with_prompt(prompt)
            .validate_with(|answer: &String| validate(answer.trim()))
            .interact_text_on(&console::Term::stderr())
            .map(|answer| answer.trim().to_string())
            .map_err(|e| match e {
                dialoguer::Error::IO(e) if e.kind() == std::io::ErrorKind::Interrupted => {
                    Error::Interrupted(" by Ctrl-C; nothing was changed".into())
                }
                dialoguer::Error::IO(e) => Error::Other(anyhow::anyhow!("reading the answer: {e}")),
            })
    }
}

/// A command's result: `Serialize` gives its JSON, this its text. [`report`] writes it.
pub trait Render: Serialize {
    /// The result for stdout in text mode.
    fn text(&self, ctx: &crate::Context) -> String;

    /// On stderr after the result, in every mode: what must not be missed.
    fn warnings(&self, _ctx: &crate::Context) {}

    /// On stderr after the result, in text mode: where to paste it, what to do next.
    fn next_steps(&self, _ctx: &crate::Context) {}
}

/// Every spinner line drawn at the terminal, of one step or of many setups at once: one set of
/// lines, redrawn together. A line said meanwhile goes above them ([`say`]); written beside
/// them, it would be drawn over, and a frame of a spinner left behind.
fn screen() -> &'static MultiProgress {
    static SCREEN: std::sync::OnceLock<MultiProgress> = std::sync::OnceLock::new();
    SCREEN.get_or_init(MultiProgress::new)
}

/// A line on stderr, above the spinner lines being drawn, if any.
pub(crate) fn say(line: &str) {
    screen().suspend(|| eprintln!("{line}"));
}

/// Takes the spinners off the screen for good, before the last lines of a process that ends
/// at once (a stop before any change, a second Ctrl-C): nothing draws them again.
pub(crate) fn end_drawing() {
    let screen = screen();
    let _ = screen.clear();
    screen.set_draw_target(indicatif::ProgressDrawTarget::hidden());
}

/// `bar`, a spinner saying `msg`.
fn spinning(bar: ProgressBar, msg: &str) -> ProgressBar {
    bar.set_style(
        ProgressStyle::with_template("{spinner} {msg}")
            .expect("a valid template")
            .tick_chars("⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏ "),
    );
    bar.enable_steady_tick(Duration::from_millis(80));
    bar.set_message(msg.to_string());
    bar
}

/// A spinner line taken off the screen.
fn wipe(bar: &ProgressBar) {
    bar.finish_and_clear();
    screen().remove(bar);
}

/// How many times the run has said something on stderr through a [`Ui`]: a prompt takes its
/// own lines back (Esc) only when nothing was said after them.
static SAID: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

fn said_more() {
    SAID.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
}

pub(crate) fn said() -> usize {
    SAID.load(std::sync::atomic::Ordering::SeqCst)
}

/// Writes a command's result: JSON or text on stdout, then its warnings and, at a person's
/// request for text, its next steps on stderr.
pub fn report<T: Render>(ctx: &crate::Context, result: &T) {
    emit(ctx.format, result, || result.text(ctx));
    result.warnings(ctx);
    if ctx.format == Format::Text {
        result.next_steps(ctx);
    }
}

/// Writes a result to stdout: JSON, or the text form.
pub(crate) fn emit<T: Serialize>(format: Format, value: &T, text: impl FnOnce() -> String) {
    let out = match format {
        Format::Json => serde_json::to_string_pretty(value).expect("results serialise"),
        Format::Text => text(),
    };
    // Nothing to say (an empty list) is no line at all, so that `| wc -l` counts what is.
    if out.is_empty() {
        return;
    }
    let mut stdout = std::io::stdout().lock();
    // A closed pipe (`| head`) is not worth a panic.
    let _ = writeln!(stdout, "{out}");
    let _ = stdout.flush();
}

/// Writes an error to stderr, as JSON in JSON mode.
pub fn emit_error(format: Format, ui: &Ui, err: &Error) {
    match format {
        Format::Json => emit_json_error(err.kind(), &err.to_string(), err.exit_code()),
        // Stopping when asked to (a declined plan, Ctrl-C) is not a failure of the tool: said
        // alike at every prompt, without `error:`.
        Format::Text if matches!(err, Error::Cancelled | Error::Interrupted(_) | Error::Back) => {
            eprintln!("{err}")
        }
        Format::Text => eprintln!("{} {err}", ui.red("error:")),
    }
}

/// `1 change`, `2 changes`.
pub(crate) fn counted(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// A deletion's plan, under `heading`: a line a step.
pub(crate) fn deletion_plan(ui: &Ui, heading: &str, steps: &[String]) -> String {
    std::iter::once(ui.bold(heading))
        .chain(steps.iter().map(|step| format!("  - {step}")))
        .collect::<Vec<_>>()
        .join("\n")
}

/// What a deletion did, one line each, for stdout; for `--dry-run`, what it would do.
pub(crate) fn deleted(ui: &Ui, planned: &[String], what: &[String]) -> String {
    if !planned.is_empty() {
        return deletion_plan(ui, "Plan (dry run: nothing was deleted)", planned);
    }
    if what.is_empty() {
        "nothing deleted".to_string()
    } else {
        what.iter()
            .map(|d| format!("deleted {d}"))
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// An error as `-o json` reports it, on stderr: `{"error": {"kind", "message", "exit_code"}}`.
pub fn emit_json_error(kind: &str, message: &str, exit_code: i32) {
    let body = serde_json::json!({
        "error": {
            "kind": kind,
            "message": message,
            "exit_code": exit_code,
        }
    });
    eprintln!(
        "{}",
        serde_json::to_string_pretty(&body).expect("errors serialise")
    );
}

/// `--profile`/`--region` as given, for a command line that repeats this run.
/// `region` is pinned even when it was not given, where it matters (a stack's region).
pub(crate) fn connection_flags(conn: &crate::aws::Connection, region: Option<&str>) -> Vec<String> {
    let mut words = Vec::new();
    if let Some(p) = &conn.profile {
        words.extend(["--profile".to_string(), p.clone()]);
    }
    if let Some(r) = conn.region.as_deref().or(region) {
        words.extend(["--region".to_string(), r.to_string()]);
    }
    words
}

/// Quotes a word for a POSIX shell, only when it needs it.
pub(crate) fn shell_word(word: &str) -> String {
    let plain = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:=,@+%".contains(c));
    if plain {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

/// A command line from words, quoted for a shell.
pub(crate) fn command_line<'a>(words: impl IntoIterator<Item = &'a str>) -> String {
    words
        .into_iter()
        .map(shell_word)
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests;
