//! Everything the user sees. Results go to stdout; progress, plans and advice go to stderr.

use std::io::{IsTerminal, Write};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;

use crate::error::Error;
use crate::inputs::{AccountId, Partition};
use crate::plan::RolePlan;
use crate::policy;

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
    pub quiet: bool,
    color: bool,
    spinners: bool,
    /// Plans print the whole policy documents (`--show-policies`, `-v`, `--dry-run`), not
    /// only what they grant.
    pub documents: bool,
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
        }
    }

    /// Draws nothing but warnings: for work beside a prompt, which owns the screen.
    pub fn silent(&self) -> Ui {
        Ui {
            quiet: true,
            spinners: false,
            ..self.clone()
        }
    }

    /// With the whole documents in plans, or only what they grant.
    pub fn with_documents(mut self, documents: bool) -> Ui {
        self.documents = documents;
        self
    }

    /// A plain UI, for tests.
    pub fn plain() -> Ui {
        Ui {
            quiet: false,
            color: false,
            spinners: false,
            documents: true,
        }
    }

    pub fn bold(&self, s: &str) -> String {
        self.paint("1", s)
    }

    pub fn green(&self, s: &str) -> String {
        self.paint("32", s)
    }

    pub fn yellow(&self, s: &str) -> String {
        self.paint("33", s)
    }

    pub fn red(&self, s: &str) -> String {
        self.paint("31", s)
    }

    pub fn dim(&self, s: &str) -> String {
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
            eprintln!("{}", self.fit(msg.as_ref()));
        }
    }

    /// A warning on stderr, shown even under `-q`.
    pub fn warn(&self, msg: impl AsRef<str>) {
        eprintln!(
            "{}",
            self.fit(&format!("{} {}", self.yellow("warning:"), msg.as_ref()))
        );
    }

    /// Text for stderr, fitted to the terminal: a long line wraps at word boundaries with a
    /// continuation indent; a long command goes on with ` \` continuations, so that it can
    /// still be copied into a shell. Away from a terminal (logs, CI) lines stay whole.
    pub fn fit(&self, text: &str) -> String {
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
    pub fn step(&self, msg: impl Into<String>) -> Step {
        let msg = msg.into();
        if self.spinners {
            let bar = ProgressBar::new_spinner();
            bar.set_style(
                ProgressStyle::with_template("{spinner} {msg}")
                    .expect("a valid template")
                    .tick_chars("⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏ "),
            );
            bar.enable_steady_tick(Duration::from_millis(80));
            bar.set_message(msg.clone());
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
pub struct Step {
    bar: Option<ProgressBar>,
    msg: String,
    ui: Ui,
}

impl Step {
    pub fn set(&self, msg: impl Into<String>) {
        match &self.bar {
            Some(bar) => bar.set_message(msg.into()),
            None => self.ui.info(format!("  {}", msg.into())),
        }
    }

    pub fn done(self, outcome: &str) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
        self.ui
            .info(format!("{} {}: {outcome}", self.ui.green("✓"), self.msg));
    }

    pub fn fail(self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
        self.ui.info(format!("{} {}", self.ui.red("✗"), self.msg));
    }
}

impl crate::aws::Patience for Ui {
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
}

/// Writes a result to stdout: JSON, or the text form.
pub fn emit<T: Serialize>(format: Format, value: &T, text: impl FnOnce() -> String) {
    let out = match format {
        Format::Json => serde_json::to_string_pretty(value).expect("results serialise"),
        Format::Text => text(),
    };
    let mut stdout = std::io::stdout().lock();
    // A closed pipe (`| head`) is not worth a panic.
    let _ = writeln!(stdout, "{out}");
    let _ = stdout.flush();
}

/// Writes an error to stderr, as JSON in JSON mode.
pub fn emit_error(format: Format, ui: &Ui, err: &Error) {
    match format {
        Format::Json => {
            let body = serde_json::json!({
                "error": {
                    "kind": err.kind(),
                    "message": err.to_string(),
                    "exit_code": err.exit_code(),
                }
            });
            eprintln!(
                "{}",
                serde_json::to_string_pretty(&body).expect("errors serialise")
            );
        }
        Format::Text => eprintln!("{} {err}", ui.red("error:")),
    }
}

/// The role plan as a person reads it: what was found, what will change, and both documents.
pub fn render_role_plan(ui: &Ui, plan: &RolePlan) -> String {
    let mut summary = vec![
        format!(
            "give TiDB Cloud ({}) {} access to {}",
            plan.tidb_account_id,
            plan.access,
            uri(&plan.bucket, &plan.prefix)
        ),
        format!("role:   {} ({})", plan.role_name, plan.role_arn),
    ];
    match (&plan.stack_name, &plan.policy_arn) {
        (Some(stack), _) => {
            summary.push(format!(
                "policy: {} (inline, in the role)",
                plan.policy_name
            ));
            summary.push(format!(
                "stack:  {stack} in {} (CloudFormation, template `serverless-s3-setup template`)",
                plan.stack_region.as_deref().unwrap_or("the default region")
            ));
        }
        (None, Some(arn)) => summary.push(format!("policy: {} ({arn})", plan.policy_name)),
        (None, None) => {}
    }
    summary.push(format!(
        "for:    {} ({})",
        plan.tier.product(),
        match plan.tier.reads_bucket_location() {
            true => "also reads the bucket's location",
            false => "lists the bucket",
        }
    ));
    summary.push(format!(
        "trust:  TiDB Cloud account {}",
        plan.tidb_account_id
    ));
    for line in &plan.trust_change.lines {
        summary.push(
            match line.starts_with("loses access") || plan.trust_change.external_ids.is_empty() {
                true => format!("  {} {line}", ui.red("-")),
                false => format!("  {line}"),
            },
        );
    }
    let actions: Vec<String> = plan.actions.iter().map(|a| plan.describe(a)).collect();
    let drift = plan.actions.iter().find_map(|a| match a {
        crate::plan::Action::RestoreRole { drift } => Some(drift),
        _ => None,
    });
    // Drift has its own diff, against the template; the update diff is for what this run's
    // inputs change.
    let (trust_now, permissions_now) = match drift {
        Some(_) => (None, None),
        None => (
            plan.current_trust.as_ref(),
            plan.current_permissions.as_ref(),
        ),
    };
    let mut text = render_policy_plan(
        ui,
        plan.account_id.as_ref(),
        plan.partition,
        &plan.detected,
        &plan.warnings,
        &summary,
        &actions,
        &[
            Shown {
                title: "Trust policy",
                now: trust_now,
                planned: &plan.trust_policy,
                grants: false,
            },
            Shown {
                title: "Permissions policy",
                now: permissions_now,
                planned: &plan.permissions_policy,
                grants: true,
            },
        ],
    );
    if let Some(drift) = drift {
        text.push('\n');
        text.push_str(&render_drift(ui, &plan.role_name.to_string(), drift));
    }
    text
}

/// What changed outside CloudFormation, as diffs: `-` as the role holds it, `+` as the
/// template has it and this run writes back.
fn render_drift(ui: &Ui, role: &str, drift: &[crate::plan::Drift]) -> String {
    let mut lines = vec![
        String::new(),
        ui.bold(&format!(
            "Changed outside CloudFormation on role {role} (- as it is now, + as the template has it)"
        )),
    ];
    for d in drift {
        match d.documents() {
            Some((live, template)) => {
                lines.push(format!("  {}:", d.describe()));
                lines.extend(
                    diff(ui, live, template)
                        .into_iter()
                        .map(|l| format!("  {l}")),
                );
            }
            None => {
                lines.push(format!("  {}:", d.describe()));
                let (before, after): (Vec<String>, Vec<String>) = match d {
                    crate::plan::Drift::Boundary { live, template } => (
                        vec![live.clone().unwrap_or_else(|| "(no boundary)".into())],
                        vec![template.clone().unwrap_or_else(|| "(no boundary)".into())],
                    ),
                    crate::plan::Drift::Tags { missing } => (
                        Vec::new(),
                        missing.iter().map(ToString::to_string).collect(),
                    ),
                    _ => (Vec::new(), Vec::new()),
                };
                lines.extend(
                    before
                        .iter()
                        .map(|l| format!("  {}", ui.red(&format!("- {l}")))),
                );
                lines.extend(
                    after
                        .iter()
                        .map(|l| format!("  {}", ui.green(&format!("+ {l}")))),
                );
            }
        }
    }
    lines.join("\n")
}

/// A line diff of two policy documents, printed alike; `None` is a deleted document.
pub fn diff(ui: &Ui, before: Option<&serde_json::Value>, after: &serde_json::Value) -> Vec<String> {
    let before = before
        .map(|b| pretty(&aligned(b, after)))
        .unwrap_or_default();
    let after = pretty(after);
    let diff = similar::TextDiff::from_lines(&before, &after);
    let mut lines = Vec::new();
    // The changed lines with three lines of context; "…" where unchanged lines are left out.
    for (n, group) in diff.grouped_ops(3).iter().enumerate() {
        if n > 0 {
            lines.push(ui.dim("  …"));
        }
        for op in group {
            for change in diff.iter_changes(op) {
                let line = change.value().trim_end_matches('\n');
                lines.push(match change.tag() {
                    similar::ChangeTag::Delete => ui.red(&format!("- {line}")),
                    similar::ChangeTag::Insert => ui.green(&format!("+ {line}")),
                    similar::ChangeTag::Equal => format!("  {line}"),
                });
            }
        }
    }
    lines
}

/// `doc` with its keys in `like`'s order where they share them, so a diff shows what differs
/// and not how AWS ordered the keys.
fn aligned(doc: &serde_json::Value, like: &serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    match (doc, like) {
        (Value::Object(map), Value::Object(order)) => {
            let mut out = serde_json::Map::new();
            for (key, other) in order {
                if let Some(v) = map.get(key) {
                    out.insert(key.clone(), aligned(v, other));
                }
            }
            for (key, v) in map {
                if !out.contains_key(key) {
                    out.insert(key.clone(), v.clone());
                }
            }
            Value::Object(out)
        }
        (Value::Array(items), Value::Array(order)) => Value::Array(
            items
                .iter()
                .enumerate()
                .map(|(i, v)| order.get(i).map_or_else(|| v.clone(), |o| aligned(v, o)))
                .collect(),
        ),
        _ => doc.clone(),
    }
}

/// `s3://bucket/dir/`.
pub fn uri(bucket: &str, prefix: &str) -> String {
    if prefix.is_empty() {
        format!("s3://{bucket}/")
    } else {
        format!("s3://{bucket}/{prefix}/")
    }
}

/// A policy document in a plan: as it is now (for an update) and as the run leaves it.
pub struct Shown<'a> {
    pub title: &'a str,
    pub now: Option<&'a serde_json::Value>,
    pub planned: &'a serde_json::Value,
    /// Summarised in the "What it grants" table when the documents are not shown whole.
    pub grants: bool,
}

/// A plan as a person reads it: what was detected, what it is for, the changes, what it grants
/// (or the whole documents), and for an update what changes in them.
#[allow(clippy::too_many_arguments)]
pub fn render_policy_plan(
    ui: &Ui,
    account: Option<&AccountId>,
    partition: Partition,
    detected: &[String],
    warnings: &[String],
    summary: &[String],
    actions: &[String],
    documents: &[Shown],
) -> String {
    let mut lines = vec![ui.bold("Detected")];
    lines.push(match account {
        Some(account) => format!("  AWS account: {account} ({partition})"),
        None => "  AWS account: not detected (no credentials); shown as <your-account-id>".into(),
    });
    lines.extend(detected.iter().map(|f| format!("  {f}")));
    lines.extend(
        warnings
            .iter()
            .map(|w| format!("  {} {w}", ui.yellow("warning:"))),
    );
    lines.push(String::new());
    lines.push(ui.bold("Plan"));
    lines.extend(summary.iter().map(|s| format!("  {s}")));
    if actions.is_empty() {
        lines.push("  nothing to change: everything already matches".into());
    }
    lines.extend(actions.iter().map(|a| format!("  {} {a}", ui.green("+"))));
    if ui.documents {
        for doc in documents {
            lines.push(String::new());
            lines.push(ui.bold(doc.title));
            lines.push(indent(&pretty(doc.planned)));
        }
    } else {
        lines.push(String::new());
        lines.push(ui.bold("What it grants"));
        for doc in documents.iter().filter(|d| d.grants) {
            lines.extend(grants(doc.planned));
        }
        lines.push(ui.dim("  (the whole policy documents: --show-policies)"));
    }
    for doc in documents {
        if let Some(now) = doc.now.filter(|now| !policy::same(now, doc.planned)) {
            lines.push(String::new());
            lines.push(ui.bold(&format!("{} changes (- now, + after this run)", doc.title)));
            lines.extend(
                diff(ui, Some(now), doc.planned)
                    .into_iter()
                    .map(|l| format!("  {l}")),
            );
        }
    }
    lines.join("\n")
}

/// One line per statement: what it allows (or denies), on what.
fn grants(doc: &serde_json::Value) -> Vec<String> {
    let words = |v: &serde_json::Value| -> String {
        match v {
            serde_json::Value::String(s) => s.clone(),
            serde_json::Value::Array(items) => items
                .iter()
                .filter_map(|i| i.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            _ => String::new(),
        }
    };
    let statements: Vec<&serde_json::Value> = match &doc["Statement"] {
        serde_json::Value::Array(items) => items.iter().collect(),
        one @ serde_json::Value::Object(_) => vec![one],
        _ => Vec::new(),
    };
    let rows: Vec<(String, String)> = statements
        .iter()
        .map(|s| {
            let deny = match s["Effect"].as_str() {
                Some("Deny") => "deny ",
                _ => "",
            };
            (
                format!("{deny}{}", words(&s["Action"])),
                words(&s["Resource"]),
            )
        })
        .collect();
    let width = rows
        .iter()
        .map(|(a, _)| a.chars().count())
        .max()
        .unwrap_or(0);
    rows.into_iter()
        .map(|(actions, resources)| format!("  {actions:<width$}  on {resources}"))
        .collect()
}

fn pretty(doc: &serde_json::Value) -> String {
    serde_json::to_string_pretty(doc).unwrap_or_else(|_| policy::to_wire(doc))
}

fn indent(s: &str) -> String {
    s.lines()
        .map(|l| format!("  {l}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The width of the terminal on stderr in columns (80 when it cannot be told).
pub fn terminal_width() -> usize {
    match console::Term::stderr().size_checked() {
        Some((_, cols)) if cols > 0 => cols as usize,
        _ => 80,
    }
}

/// Each line of `text` within `width` columns; see [`Ui::fit`].
pub fn fit_lines(text: &str, width: usize) -> String {
    text.split('\n')
        .flat_map(|line| fit_line(line, width.max(20)))
        .collect::<Vec<_>>()
        .join("\n")
}

fn fit_line(line: &str, width: usize) -> Vec<String> {
    if console::measure_text_width(line) <= width {
        return vec![line.to_string()];
    }
    let indent: String = line.chars().take_while(|c| *c == ' ').collect();
    let body = &line[indent.len()..];
    let command = ["serverless-s3-setup ", "aws ", "ticloud "]
        .iter()
        .any(|c| body.starts_with(c) || body.starts_with(&format!("fix: {c}")));
    match command {
        true => continue_command(&indent, body, width),
        false => wrap_words(&indent, &format!("{indent}  "), body, width),
    }
}

/// Words in lines of `width` columns, the first line indented by `first`, the rest by `rest`
/// (a word wider than that stands on its own line).
pub(crate) fn wrap_words(first: &str, rest: &str, body: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = first.to_string();
    let more = rest.to_string();
    for word in body.split(' ') {
        let fresh = line.trim().is_empty();
        if !fresh
            && console::measure_text_width(&line) + 1 + console::measure_text_width(word) > width
        {
            lines.push(std::mem::replace(&mut line, more.clone()));
        } else if !fresh {
            line.push(' ');
        }
        line.push_str(word);
    }
    lines.push(line);
    lines
}

/// A command broken before its `--` options, each line but the last ending in ` \`.
fn continue_command(indent: &str, body: &str, width: usize) -> Vec<String> {
    let mut parts = body.split(" --");
    let mut lines = vec![format!("{indent}{}", parts.next().unwrap_or_default())];
    let more = format!("{indent}    ");
    for part in parts {
        let option = format!("--{part}");
        let last = lines.last_mut().expect("one line at least");
        // Room for " OPTION \".
        if console::measure_text_width(last) + 1 + console::measure_text_width(&option) + 2 > width
        {
            last.push_str(" \\");
            lines.push(format!("{more}{option}"));
        } else {
            last.push(' ');
            last.push_str(&option);
        }
    }
    lines
}

/// `--profile`/`--region` as given, for a command line that repeats this run.
/// `region` is pinned even when it was not given, where it matters (a stack's region).
pub fn connection_flags(conn: &crate::aws::Connection, region: Option<&str>) -> Vec<String> {
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
pub fn shell_word(word: &str) -> String {
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
pub fn command_line<'a>(words: impl IntoIterator<Item = &'a str>) -> String {
    words
        .into_iter()
        .map(shell_word)
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_lines_wrap_and_long_commands_continue_with_backslashes() {
        let text = "Next: in the TiDB Cloud console, on your TiDB Cloud Starter (Data → Import → Import from S3 (File URI)), choose AWS Role ARN and paste the Role ARN.";
        let fitted = fit_lines(text, 60);
        assert!(fitted.lines().count() > 2, "{fitted}");
        for line in fitted.lines() {
            assert!(console::measure_text_width(line) <= 60, "{line:?}");
        }
        assert!(
            fitted.lines().skip(1).all(|l| l.starts_with("  ")),
            "{fitted}"
        );
        assert_eq!(
            fitted.replace("\n  ", " "),
            text,
            "only wrapped, nothing lost"
        );

        let command = "  serverless-s3-setup role --method iam --uri s3://my-bucket/data/ --access import --tidb-account-id 380838443567 --external-id abc --yes";
        let fitted = fit_lines(command, 60);
        let lines: Vec<&str> = fitted.lines().collect();
        assert!(lines.len() > 1, "{fitted}");
        for line in &lines[..lines.len() - 1] {
            assert!(line.ends_with(" \\"), "{line:?}");
        }
        for line in &lines {
            assert!(console::measure_text_width(line) <= 60, "{line:?}");
        }
        // The shell reads the continued lines as the one command.
        let joined: String = fitted
            .replace(" \\\n", " ")
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        assert_eq!(joined, command.trim());
        assert_eq!(fit_lines("short", 60), "short");
    }

    #[test]
    fn shell_words_are_quoted_only_when_needed() {
        assert_eq!(shell_word("s3://b/dir/"), "s3://b/dir/");
        assert_eq!(shell_word("s3://b/my dir/"), "'s3://b/my dir/'");
        assert_eq!(shell_word("it's"), r"'it'\''s'");
        assert_eq!(shell_word(""), "''");
        assert_eq!(command_line(["a", "b c"]), "a 'b c'");
    }
}
