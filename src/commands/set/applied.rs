//! What `apply -f` does once the plan is confirmed: every entry with changes applied,
//! `--parallel` at a time, each as `role --yes` would; the set's roles the file no longer
//! lists deleted with `--prune`; then what was made read back and checked, from one read of
//! the account.

use std::path::PathBuf;
use std::time::SystemTime;

use serde::Serialize;

use crate::aws::{iam, Clients};
use crate::error::Error;
use crate::inputs::SetName;
use crate::{verify, Context};

use super::super::role::ready::{self, Written};
use super::super::role::{self, RoleOutcome, RoleSurveyed};
use super::prune::{Pruned, NOT_LISTED};
use super::{each, prune, text, unasked, Member, Planned, SetRequest, Status};

/// What became of one entry.
#[serde_with::skip_serializing_none]
#[derive(Debug, Serialize)]
pub struct EntryOutcome {
    pub(crate) entry: String,
    pub(crate) role_name: String,
    /// `created`, `updated`, `unchanged` or `failed`.
    pub(crate) status: &'static str,
    pub(crate) role_arn: Option<String>,
    pub(crate) error: Option<String>,
    /// The checks of what the entry made or changed, as a single setup makes them.
    pub(crate) checks: Option<EntryChecks>,
    /// For a role this run wrote, a minute after it was written, as `role` says it.
    pub(crate) ready_at: Option<String>,
    #[serde(skip)]
    written: Option<SystemTime>,
}

/// What the checks after an entry was applied found.
#[derive(Debug, Serialize)]
pub struct EntryChecks {
    /// No check failed.
    pub(crate) ok: bool,
    /// Whether they judged what AWS holds, read back; `false` when IAM did not show it in
    /// time, and they judged the documents the run wrote.
    pub(crate) read_back: bool,
    /// `all checks passed`, `2 of 7 checks failed: trust, kms`, ….
    pub(crate) summary: String,
}

impl EntryChecks {
    fn of(report: &verify::Report) -> EntryChecks {
        EntryChecks {
            ok: report.ok,
            read_back: report.read_back,
            summary: verify::summary(report),
        }
    }
}

/// What `apply -f` did.
#[serde_with::skip_serializing_none]
#[derive(Debug, Serialize)]
pub struct SetApplied {
    pub(crate) set: SetName,
    pub(crate) file: PathBuf,
    pub(crate) entries: Vec<EntryOutcome>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(crate) pruned: Vec<Pruned>,
    /// The roles of the set that the file no longer lists, left in place (no `--prune`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(crate) not_in_file: Vec<Member>,
    pub(crate) summary: AppliedSummary,
    /// The signal that stopped the run (Ctrl-C, SIGTERM): each running entry undid what it
    /// made, and those not started were not applied.
    pub interrupted: Option<&'static str>,
    /// `--dry-run`: nothing was applied; each entry says what applying would do.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub(crate) dry_run: bool,
    /// When the last role this run wrote was written, and a minute after: when IAM can be
    /// expected to have carried every change to every region.
    pub(crate) written_at: Option<String>,
    pub(crate) ready_at: Option<String>,
    /// `--wait-ready` waited until `ready_at`.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub(crate) waited: bool,
}

impl SetApplied {
    pub fn failed(&self) -> bool {
        self.summary.failed > 0
    }
}

/// How many entries each outcome has.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct AppliedSummary {
    pub(crate) created: usize,
    pub(crate) updated: usize,
    pub(crate) unchanged: usize,
    pub(crate) deleted: usize,
    pub(crate) failed: usize,
}

/// Applies every entry with changes, `parallel` at a time, then prunes; each entry's failure
/// is its own (its run undid what it made), and said as it happens.
pub(super) async fn apply_planned(ctx: &Context, req: &SetRequest, planned: Planned) -> SetApplied {
    let Planned {
        file,
        clients,
        surveyed,
        report,
    } = planned;
    clients.forget_account();
    let unasked = unasked(ctx);
    let prunes = if req.prune {
        report.not_in_file.len()
    } else {
        0
    };
    let progress = ctx.ui.many(
        format!("Applying {}", req.file.display()),
        report.entries.len() + prunes,
    );
    let labels: Vec<(String, String)> = report
        .entries
        .iter()
        .map(|e| (e.entry.clone(), e.role_name.clone()))
        .collect();
    let applied: Vec<(EntryOutcome, Option<Made>)> = each(
        surveyed.into_iter().zip(labels),
        req.parallel,
        |(planned, (entry, role_name))| {
            let (unasked, clients, progress) = (&unasked, &clients, &progress);
            async move {
                let going = progress.begin(&format!("{entry} role {role_name}"));
                let applied = apply_entry(unasked, clients, planned, entry, role_name).await;
                progress.end(going, &text::applied_line(&applied.0));
                applied
            }
        },
    )
    .await;
    let (pruned, not_in_file) = if req.prune {
        let members = &report.not_in_file;
        let how = (NOT_LISTED, req.parallel);
        let pruned = prune::delete_all(&unasked, &clients, &progress, members, how).await;
        (pruned, Vec::new())
    } else {
        (Vec::new(), report.not_in_file)
    };
    progress.finish("done");
    let entries = checked(ctx, &unasked, &clients, applied, req.parallel).await;
    let summary = applied_summary(&entries, &pruned);
    let written = entries.iter().filter_map(|e| e.written).max();
    let interrupted = ctx.stop.requested();
    let waited = match written {
        Some(at) if req.wait_ready && interrupted.is_none() => {
            ready::wait(ctx, at, Written::Roles).await
        }
        _ => false,
    };
    SetApplied {
        set: file.name,
        file: file.path,
        entries,
        pruned,
        not_in_file,
        summary,
        interrupted,
        dry_run: false,
        written_at: written.map(ready::rfc3339),
        ready_at: written.map(|at| ready::rfc3339(at + ready::READY_AFTER)),
        waited,
    }
}

/// Applies one entry's plan, as `role --yes` would, under the entry's label; an entry with
/// nothing to change, or not started before a stop, is left as it is.
async fn apply_entry(
    unasked: &Context,
    clients: &Clients,
    planned: Result<RoleSurveyed, Error>,
    entry: String,
    role_name: String,
) -> (EntryOutcome, Option<Made>) {
    let (outcome, made) = match planned {
        Ok(s) if !s.plan.changes() => (Ok((s.plan.role_arn, false, false)), None),
        Ok(_) if unasked.stop.requested().is_some() => (
            Err(Error::Interrupted(
                ": not applied, the run was stopped first".into(),
            )),
            None,
        ),
        Ok(s) => {
            let creates = role::creates(&s);
            let ctx = Context {
                ui: unasked.ui.labelled(&entry),
                ..unasked.clone()
            };
            match role::apply_planned(&ctx, clients, s).await {
                Ok(made) => (Ok((made.0.role_arn.clone(), true, creates)), Some(made)),
                Err(e) => (Err(e), None),
            }
        }
        Err(e) => (Err(e), None),
    };
    let mut outcome = entry_outcome(entry, role_name, outcome);
    if let Some((role, _)) = &made {
        outcome.written = role.written;
        outcome.ready_at.clone_from(&role.ready_at);
    }
    (outcome, made)
}

/// A role that an entry made or changed, with the checks to make of it.
type Made = (RoleOutcome, verify::ReadBack);

/// Each applied entry with the checks of what it made, as a single setup reads them back and
/// checks them: on the account read once for all (GetAccountAuthorizationDetails), and read
/// role by role for any that it does not show yet (or when it may not be read).
async fn checked(
    ctx: &Context,
    unasked: &Context,
    clients: &Clients,
    applied: Vec<(EntryOutcome, Option<Made>)>,
    parallel: usize,
) -> Vec<EntryOutcome> {
    if applied.iter().all(|(_, made)| made.is_none()) {
        return applied.into_iter().map(|(outcome, _)| outcome).collect();
    }
    let step = ctx.ui.step("Reading back what was applied");
    let details = iam::authorization_details(&clients.iam).await.ok();
    let entries = each(applied, parallel, |(mut outcome, made)| {
        let details = details.as_ref();
        async move {
            if let Some((role, read_back)) = made {
                let role = role::checked(unasked, clients, role, read_back, details).await;
                outcome.checks = Some(EntryChecks::of(&role.granted.verify));
            }
            outcome
        }
    })
    .await;
    let failed = entries
        .iter()
        .filter(|e| e.checks.as_ref().is_some_and(|c| !c.ok))
        .count();
    match failed {
        0 => step.done("verified"),
        n => step.done(&format!("{n} with failed checks")),
    }
    entries
}

/// A run that changed nothing: each entry as it is.
/// A run that applied nothing: everything was in sync, or `--dry-run` only planned (each
/// entry then says what applying would do).
pub(super) fn nothing_applied(planned: Planned, dry_run: bool) -> SetApplied {
    let Planned { file, report, .. } = planned;
    let entries: Vec<EntryOutcome> = report
        .entries
        .into_iter()
        .map(|e| {
            let arn = e.plan.as_ref().map(|p| p.role_arn.clone());
            let mut outcome = match (e.error, arn) {
                (Some(error), _) => {
                    entry_outcome(e.entry, e.role_name, Err(Error::Conflict(error)))
                }
                (None, arn) => entry_outcome(
                    e.entry,
                    e.role_name,
                    Ok((arn.unwrap_or_default(), false, false)),
                ),
            };
            if dry_run {
                match e.status {
                    Status::Create => outcome.status = "to create",
                    Status::Update => outcome.status = "to update",
                    Status::Unchanged | Status::Error => {}
                }
            }
            outcome
        })
        .collect();
    let summary = applied_summary(&entries, &[]);
    SetApplied {
        set: file.name,
        file: file.path,
        entries,
        pruned: Vec::new(),
        not_in_file: report.not_in_file,
        summary,
        interrupted: None,
        dry_run,
        written_at: None,
        ready_at: None,
        waited: false,
    }
}

/// An entry's outcome: its role's ARN, whether it changed and whether it was made; or why
/// it failed.
fn entry_outcome(
    entry: String,
    role_name: String,
    outcome: Result<(String, bool, bool), Error>,
) -> EntryOutcome {
    let (status, role_arn, error) = match outcome {
        Ok((arn, false, _)) => ("unchanged", Some(arn), None),
        Ok((arn, true, true)) => ("created", Some(arn), None),
        Ok((arn, true, false)) => ("updated", Some(arn), None),
        Err(e) => ("failed", None, Some(e.to_string())),
    };
    EntryOutcome {
        entry,
        role_name,
        status,
        role_arn,
        error,
        checks: None,
        ready_at: None,
        written: None,
    }
}

fn applied_summary(entries: &[EntryOutcome], pruned: &[Pruned]) -> AppliedSummary {
    let mut s = AppliedSummary::default();
    for e in entries {
        match e.status {
            "created" => s.created += 1,
            "updated" => s.updated += 1,
            "unchanged" => s.unchanged += 1,
            "failed" => s.failed += 1,
            _ => {}
        }
    }
    for p in pruned {
        match p.error {
            None => s.deleted += 1,
            Some(_) => s.failed += 1,
        }
    }
    s
}
