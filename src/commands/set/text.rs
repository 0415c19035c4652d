//! The text of a file's plan and of what applying it did: a block per entry, then a summary.

use crate::output::{counted, diff, Render};
use crate::plan::RolePlan;
use crate::Context;

use super::super::role::ready::Written;
use super::{EntryOutcome, Pruned, SetApplied, SetPlan, Status};

impl Render for SetPlan {
    fn text(&self, ctx: &Context) -> String {
        plan(ctx, self)
    }
}

impl Render for SetApplied {
    /// One line per entry: what became of it, and its Role ARN.
    fn text(&self, _ctx: &Context) -> String {
        let width = self
            .entries
            .iter()
            .map(|e| e.entry.len())
            .max()
            .unwrap_or(0);
        let mut lines: Vec<String> = self
            .entries
            .iter()
            .map(|e| {
                let what = e.role_arn.as_deref().or(e.error.as_deref()).unwrap_or("");
                format!("{:width$}  {:9}  {what}", e.entry, e.status)
            })
            .collect();
        lines.extend(self.pruned.iter().map(|p| match &p.error {
            None => format!("{:width$}  {:9}  {}", "-", "deleted", p.what()),
            Some(e) => format!("{:width$}  {:9}  {}: {e}", "-", "failed", p.what()),
        }));
        lines.join("\n")
    }

    fn warnings(&self, ctx: &Context) {
        for e in &self.entries {
            let Some(c) = e.checks.as_ref().filter(|c| !c.ok || !c.read_back) else {
                continue;
            };
            let how = if c.read_back {
                ""
            } else {
                " (judged on the documents this run wrote: IAM did not show them in time)"
            };
            ctx.ui.warn(format!(
                "{} role {}: {}{how}; `serverless-s3-setup verify -f {}` says why",
                e.entry,
                e.role_name,
                c.summary,
                self.file.display()
            ));
        }
        if !self.not_in_file.is_empty() {
            ctx.ui.warn(format!(
                "{} roles of the set {} are not in the file, and were left in place (apply --prune deletes them): {}",
                self.not_in_file.len(),
                self.set,
                self.not_in_file
                    .iter()
                    .map(|m| m.role_name.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
    }

    fn next_steps(&self, ctx: &Context) {
        let s = self.summary;
        if self.dry_run {
            ctx.ui.info(format!(
                "Nothing was applied (--dry-run): {} would be applied as listed.",
                self.file.display()
            ));
            return;
        }
        let verified = self
            .entries
            .iter()
            .filter(|e| e.checks.as_ref().is_some_and(|c| c.ok && c.read_back))
            .count();
        let verified = match verified {
            0 => String::new(),
            n => format!("; {n} read back from AWS and verified"),
        };
        ctx.ui.info(format!(
            "Applied {}: {} created, {} updated, {} unchanged, {} deleted, {} failed{verified}.",
            self.file.display(),
            s.created,
            s.updated,
            s.unchanged,
            s.deleted,
            s.failed
        ));
        let advice = Written::Roles.advice(
            self.written_at.as_deref(),
            self.ready_at.as_deref(),
            self.waited,
        );
        if let Some(advice) = advice {
            ctx.ui.info(advice);
        }
    }
}

/// The plan of a whole file: a block per entry with its changes, what the set holds that the
/// file no longer lists, and a summary line.
pub(super) fn plan(ctx: &Context, report: &SetPlan) -> String {
    let ui = &ctx.ui;
    let mut out = vec![ui.bold(&format!(
        "Plan for {} (set {})",
        report.file.display(),
        report.set
    ))];
    for e in &report.entries {
        let (mark, said) = match e.status {
            Status::Create => (ui.green("+"), ui.green("create")),
            Status::Update => (ui.yellow("~"), ui.yellow("update")),
            Status::Unchanged => (" ".to_string(), "unchanged".to_string()),
            Status::Error => (ui.red("!"), ui.red("error")),
        };
        out.push(format!(
            "\n{} {} → role {}: {said}",
            e.entry, e.uri, e.role_name
        ));
        out.extend(e.changes.iter().map(|c| format!("  {mark} {c}")));
        if let (Status::Update, Some(plan)) = (e.status, &e.plan) {
            out.extend(documents_changed(ctx, plan));
        }
        out.extend(
            e.warnings
                .iter()
                .map(|w| format!("  {} {w}", ui.yellow("warning:"))),
        );
        out.extend(e.error.iter().map(|err| {
            let err = err.replace('\n', "\n    ");
            format!("  {} {err}", ui.red("error:"))
        }));
    }
    if !report.not_in_file.is_empty() {
        out.push(String::new());
        out.push(if report.prune {
            format!(
                "Not in the file, of the set {} (deleted, --prune):",
                report.set
            )
        } else {
            format!(
                "Not in the file, of the set {} (left in place; apply --prune deletes them):",
                report.set
            )
        });
        let mark = if report.prune {
            ui.red("-")
        } else {
            " ".to_string()
        };
        out.extend(
            report
                .not_in_file
                .iter()
                .map(|m| format!("  {mark} {}", m.describe())),
        );
    }
    out.push(format!("\n{}", summary(report)));
    ui.fit(&out.join("\n"))
}

/// What changes in an existing role's documents (a hand edit undone shows here), as the
/// `role` plan shows it.
fn documents_changed(ctx: &Context, plan: &RolePlan) -> Vec<String> {
    let documents = [
        (
            "trust policy",
            plan.current_trust.as_ref(),
            &plan.trust_policy,
        ),
        (
            "permissions policy",
            plan.grant.current_permissions.as_ref(),
            &plan.grant.permissions_policy,
        ),
    ];
    let mut lines = Vec::new();
    for (title, now, planned) in documents {
        let Some(now) = now.filter(|now| *now != planned) else {
            continue;
        };
        lines.push(format!("    {title}, as it is → as the file has it:"));
        lines.extend(
            diff(&ctx.ui, Some(now), planned)
                .into_iter()
                .map(|l| format!("      {l}")),
        );
    }
    lines
}

/// `2 to create, 1 to update, 5 unchanged, 1 to delete`, and the errors.
pub(super) fn summary(report: &SetPlan) -> String {
    let s = report.summary;
    let mut parts = vec![
        format!("{} to create", s.create),
        format!("{} to update", s.update),
        format!("{} unchanged", s.unchanged),
    ];
    if report.prune || s.delete > 0 {
        parts.push(format!("{} to delete", s.delete));
    }
    if s.errors > 0 {
        parts.push(format!(
            "{} could not be planned",
            counted(s.errors, "entry", "entries")
        ));
    }
    format!("Plan: {}.", parts.join(", "))
}

/// The plan's warnings and one line per change, for a run that is not asked (`--yes`).
pub(super) fn announced(report: &SetPlan) -> (Vec<String>, Vec<String>) {
    let mut warnings = Vec::new();
    let mut changes = Vec::new();
    for e in &report.entries {
        warnings.extend(e.warnings.iter().map(|w| format!("{}: {w}", e.entry)));
        warnings.extend(e.error.iter().map(|err| {
            format!(
                "{}: cannot be planned, and is left as it is: {err}",
                e.entry
            )
        }));
        changes.extend(e.changes.iter().map(|c| format!("{}: {c}", e.entry)));
    }
    if report.prune {
        changes.extend(
            report
                .not_in_file
                .iter()
                .map(|m| format!("not in the file: delete {}", m.describe())),
        );
    }
    (warnings, changes)
}

/// A line for an entry as it finishes.
pub(super) fn applied_line(o: &EntryOutcome) -> String {
    match &o.error {
        Some(e) => format!("{} role {}: failed: {e}", o.entry, o.role_name),
        None => format!("{} role {}: {}", o.entry, o.role_name, o.status),
    }
}

/// A line for a role of the set deleted, or not, led by `label` (`not in the file`).
pub(super) fn pruned_line(p: &Pruned, label: &str) -> String {
    match &p.error {
        Some(e) => format!("{label}: {}: failed: {e}", p.what()),
        None => format!("{label}: {}: deleted", p.what()),
    }
}
