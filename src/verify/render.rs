//! The report for people.

use crate::inputs::Access;
use crate::verify::{Check, Report, Status};
use crate::Context;

/// On stderr after a setup: one line when all is well, else each finding with its fix.
pub(crate) fn show_after_setup(ctx: &Context, report: &Report, access: Access, changed: bool) {
    // Object Ownership matters where objects cross accounts, as when TiDB Cloud writes (an
    // export); the setting is advised by the run that makes or changes the setup, not on every
    // rerun. A setting that could not be read (no fix to give) is always said. `verify` and the
    // JSON report always carry it.
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
        .collect();
    let pass = report
        .checks
        .iter()
        .filter(|c| c.status == Status::Pass)
        .count();
    // "verified" only for what was read back from AWS, and only without a failed check.
    if report.read_back && report.ok {
        let all = report.checks.len();
        let notes = match (pass == all, shown.is_empty()) {
            (true, _) => format!("all {all} checks"),
            (false, false) => format!("{pass} of {all} checks (notes below)"),
            (false, true) => format!("{pass} of {all} checks (`verify` lists the rest)"),
        };
        ctx.ui.info(format!(
            "{} verified: read back from AWS, it passes {notes}",
            ctx.ui.green("✓")
        ));
    }
    for c in shown {
        let line = format!("check {}: {}", c.name, c.finding);
        let fix = c
            .fix
            .as_ref()
            .map(|f| format!("\n  fix: {f}"))
            .unwrap_or_default();
        match c.status {
            Status::Fail => ctx.ui.warn(format!(
                "{line}{fix}\n  TiDB Cloud will get AccessDenied until this is fixed."
            )),
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
    let mut lines = Vec::new();
    for c in &report.checks {
        let mark = match c.status {
            Status::Pass => ui.green("✓ pass"),
            Status::Warn => ui.yellow("! warn"),
            Status::Fail => ui.red("✗ FAIL"),
        };
        lines.push(format!("{mark}  {:<18} {}", c.name, c.finding));
        if let Some(fix) = &c.fix {
            if c.status != Status::Pass {
                lines.push(format!("        {:<18} fix: {fix}", ""));
            }
        }
    }
    let fails = report
        .checks
        .iter()
        .filter(|c| c.status == Status::Fail)
        .count();
    lines.push(match fails {
        0 => "all checks passed".to_string(),
        n => format!("{n} check(s) failed"),
    });
    lines.join("\n")
}
