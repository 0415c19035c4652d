//! The report for people.

use std::io::IsTerminal;

use crate::inputs::Access;
use crate::verify::{Check, Report, Status};
use crate::Context;

/// On stderr after a setup: one line when all is well, else each finding with its fix.
pub(crate) fn show_after_setup(ctx: &Context, report: &Report, access: Access, changed: bool) {
    // Object Ownership matters where objects cross accounts, as when TiDB Cloud writes (an
    // export); the setting is advised by the run that makes or changes the setup, not on every
    // rerun. A setting that could not be read (no fix to give) is always said. `verify` and the
    // JSON report always carry it. What the sampling of an import's folder warns of, the plan
    // of this same run has said.
    let shown: Vec<&Check> = report
        .checks
        .iter()
        .filter(|c| c.status != Status::Pass)
        .filter(|c| {
            !(c.name == "object-ownership"
                && c.status == Status::Warn
                && c.fix.is_some()
                && (access == Access::Import || !changed))
        })
        .filter(|c| !(c.name == "objects" && c.status == Status::Warn))
        .collect();
    let warned = report.checks.iter().any(|c| c.status == Status::Warn);
    // "verified" only for what was read back from AWS, and only without a failed check.
    if report.read_back && report.ok {
        let where_ = match (warned, shown.is_empty()) {
            (false, _) => "",
            (true, false) => " (below)",
            (true, true) => " (`verify` shows it)",
        };
        ctx.ui.info(format!(
            "{} verified: read back from AWS: {}{where_}",
            ctx.ui.green("✓"),
            summary(report)
        ));
    }
    for c in shown {
        let line = format!("check {}: {}", c.name, c.finding);
        let fix = c
            .fix
            .as_ref()
            .map(|f| format!("\n  fix: {f}"))
            .unwrap_or_default();
        // Archived objects are refused to everyone, with InvalidObjectState.
        let until = match c.name {
            "objects" => "An import fails on them until this is fixed.",
            _ => "TiDB Cloud will get AccessDenied until this is fixed.",
        };
        match c.status {
            Status::Fail => ctx.ui.warn(format!("{line}{fix}\n  {until}")),
            _ => ctx
                .ui
                .info(format!("{} {line}{fix}", ctx.ui.yellow("note:"))),
        }
    }
}

/// The text form: one line a check, with its fix under it.
impl crate::output::Render for Report {
    fn text(&self, ctx: &Context) -> String {
        render_text(ctx, self)
    }
}

fn render_text(ctx: &Context, report: &Report) -> String {
    let ui = &ctx.ui;
    // At a terminal, a long finding wraps under its own column, not back to column 0; in a
    // pipe or a file each stays one line.
    let width = std::io::stdout()
        .is_terminal()
        .then(|| console::Term::stdout().size_checked())
        .flatten()
        .map(|(_, cols)| usize::from(cols).max(40));
    let column = " ".repeat(6 + 2 + 18 + 1);
    let row = |first: String, body: &str| -> Vec<String> {
        match width {
            Some(width) => {
                let body = split_long_words(body, width - column.len());
                // A row without a mark (a fix) starts in the column itself.
                let first = if first.trim().is_empty() {
                    column.clone()
                } else {
                    first
                };
                crate::output::wrap_words(&first, &column, &body, width)
            }
            None => vec![format!("{first} {body}")],
        }
    };
    let mut lines = Vec::new();
    for c in &report.checks {
        let mark = match c.status {
            Status::Pass => ui.green("✓ pass"),
            Status::Warn => ui.yellow("! warn"),
            Status::Fail => ui.red("✗ FAIL"),
        };
        lines.extend(row(format!("{mark}  {:<18}", c.name), &c.finding));
        if let Some(fix) = &c.fix {
            if c.status != Status::Pass {
                lines.extend(row(format!("        {:<18}", ""), &format!("fix: {fix}")));
            }
        }
    }
    lines.push(summary(report));
    lines.join("\n")
}

/// Words longer than `room` (an ARN) cut into pieces of `room` characters, so that they too
/// stay in their column instead of the terminal wrapping them back to column 0.
fn split_long_words(body: &str, room: usize) -> String {
    let room = room.max(1);
    body.split(' ')
        .map(|word| {
            let chars: Vec<char> = word.chars().collect();
            chars
                .chunks(room)
                .map(|piece| piece.iter().collect::<String>())
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// What a report comes to, said alike after a setup and by `verify`: `all checks passed`,
/// `all checks passed, 1 warning: object-ownership`, `2 of 7 checks failed: trust, kms`.
pub(crate) fn summary(report: &Report) -> String {
    let named = |status: Status| -> Vec<&str> {
        report
            .checks
            .iter()
            .filter(|c| c.status == status)
            .map(|c| c.name)
            .collect()
    };
    let (failed, warned) = (named(Status::Fail), named(Status::Warn));
    let warnings = match warned.as_slice() {
        [] => String::new(),
        [one] => format!("1 warning: {one}"),
        many => format!("{} warnings: {}", many.len(), many.join(", ")),
    };
    let (result, sep) = match failed.len() {
        0 => ("all checks passed".to_string(), ", "),
        n => (
            format!(
                "{n} of {} checks failed: {}",
                report.checks.len(),
                failed.join(", ")
            ),
            "; ",
        ),
    };
    if warnings.is_empty() {
        result
    } else {
        format!("{result}{sep}{warnings}")
    }
}

#[cfg(test)]
mod tests {
    use super::summary;
    use crate::verify::{Check, Report};

    #[test]
    fn a_report_is_summed_up_with_its_warnings_and_failures_named() {
        let pass = || Check::pass("permissions", "ok");
        let warn = |name| Check::warn(name, "maybe", None);
        let fail = |name| Check::fail(name, "no", "fix it");
        let said = |checks| summary(&Report::new(checks));
        assert_eq!(said(vec![pass(), pass()]), "all checks passed");
        assert_eq!(
            said(vec![pass(), warn("object-ownership")]),
            "all checks passed, 1 warning: object-ownership"
        );
        assert_eq!(
            said(vec![
                fail("trust"),
                warn("kms"),
                fail("permissions"),
                warn("bucket-policy")
            ]),
            "2 of 4 checks failed: trust, permissions; 2 warnings: kms, bucket-policy"
        );
    }
}
