//! `plan -f FILE` and `apply -f FILE`: every role a file of setups describes, planned together
//! and applied under one confirmation, each entry as `role --yes` would do it alone (the same
//! check, survey, plan, undo and read-back), `--parallel` at a time; and the roles of the
//! file's set that it no longer lists, deleted with `--prune`. One entry's failure stops no
//! other: the summary and the exit code say it.

use std::path::PathBuf;

use futures_util::stream::{self, StreamExt};
use serde::{Deserialize, Serialize};

use crate::aws::{iam, Clients};
use crate::error::Error;
use crate::inputs::SetName;
use crate::plan::RolePlan;
use crate::prompt::Prompter;
use crate::set_file::{self, SetFile};
use crate::{wizard, Context};

use super::role::{self, RoleOutcome, RoleSurveyed};
use super::teardown::TeardownOutcome;

mod check;
mod prune;
mod saved;
mod text;

pub use check::{verify, SetVerified};
pub use prune::Member;
pub use saved::apply_saved;

/// `plan -f` and `apply -f`, as given.
#[derive(Debug, Clone)]
pub struct SetRequest {
    pub file: PathBuf,
    /// Delete the roles of the file's set that it no longer lists.
    pub prune: bool,
    /// How many entries are planned, or applied, at once.
    pub parallel: usize,
    /// `plan --plan-out FILE`: where to save the plan.
    pub plan_out: Option<PathBuf>,
}

/// How many entries are planned or applied at once, unless `--parallel` says otherwise: IAM's
/// control plane takes this many without throttling a run.
pub const DEFAULT_PARALLEL: usize = 8;

/// What the plan does to an entry's role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Create,
    Update,
    Unchanged,
    /// The entry could not be planned (its error says why).
    Error,
}

/// One entry's plan.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EntryPlan {
    pub(crate) entry: String,
    pub(crate) uri: String,
    pub(crate) role_name: String,
    pub(crate) status: Status,
    /// The plan's warnings.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) warnings: Vec<String>,
    /// One line per change.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) changes: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) error: Option<String>,
    /// The whole plan, as `role --dry-run -o json` gives it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) plan: Option<RolePlan>,
    /// What the plan was made from, in a saved plan (`--plan-out`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) basis: Option<crate::plan::saved::Basis>,
}

/// How many entries each plan has.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    pub(crate) create: usize,
    pub(crate) update: usize,
    pub(crate) unchanged: usize,
    pub(crate) delete: usize,
    pub(crate) errors: usize,
}

/// The plan of a whole file: what `plan -f` reports, and what `--plan-out` saves.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SetPlan {
    pub(crate) set: SetName,
    pub(crate) file: PathBuf,
    pub(crate) entries: Vec<EntryPlan>,
    /// The roles of the set that the file no longer lists: deleted with `--prune`, else only
    /// listed.
    pub(crate) not_in_file: Vec<Member>,
    pub(crate) prune: bool,
    pub(crate) summary: Summary,
}

impl SetPlan {
    /// Whether applying would change anything.
    pub fn pending(&self) -> bool {
        let s = self.summary;
        s.create + s.update + s.delete > 0
    }

    /// Whether some entry could not be planned.
    pub fn failed(&self) -> bool {
        self.summary.errors > 0
    }
}

/// What became of one entry.
#[derive(Debug, Serialize)]
pub struct EntryOutcome {
    pub(crate) entry: String,
    pub(crate) role_name: String,
    /// `created`, `updated`, `unchanged` or `failed`.
    pub(crate) status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) role_arn: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) error: Option<String>,
}

/// A role of the set that `--prune` deleted, or failed to.
#[derive(Debug, Serialize)]
pub struct Pruned {
    pub(crate) role_name: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(crate) deleted: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) error: Option<String>,
}

/// What `apply -f` did.
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
    #[serde(skip_serializing_if = "Option::is_none")]
    pub interrupted: Option<&'static str>,
    /// `--dry-run`: nothing was applied; each entry says what applying would do.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub(crate) dry_run: bool,
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

/// The file planned: what each entry needs, with what `apply` carries out.
struct Planned {
    file: SetFile,
    clients: Clients,
    /// Each entry's plan, in the file's order.
    surveyed: Vec<Result<RoleSurveyed, Error>>,
    report: SetPlan,
}

/// `plan -f FILE`: every entry's plan, and what the set holds that the file no longer lists.
pub async fn plan(ctx: &Context, req: SetRequest) -> Result<SetPlan, Error> {
    let planned = plan_all(ctx, &req).await?;
    let Some(path) = &req.plan_out else {
        return Ok(planned.report);
    };
    let report = saved::save(path, planned.report, &planned.surveyed)?;
    ctx.ui.info(format!(
        "Saved the plan to {}. Review it, then apply exactly this plan (it is refused if anything it was made from changes first):\n  {}",
        path.display(),
        saved::apply_line(path)
    ));
    Ok(report)
}

/// `apply -f FILE`: the plan, confirmed once, then every entry applied (and, with `--prune`,
/// what the set holds that the file no longer lists deleted).
pub async fn apply(
    ctx: &Context,
    req: SetRequest,
    prompter: &mut dyn Prompter,
) -> Result<SetApplied, Error> {
    // Without a terminal to confirm on, --yes is needed: said before anything is read.
    wizard::require_flags(ctx, Vec::new(), wizard::Intent::Apply)?;
    let planned = plan_all(ctx, &req).await?;
    let report = &planned.report;
    if ctx.dry_run || !report.pending() {
        if !report.pending() {
            ctx.ui.info(format!(
                "nothing to change: the {} roles of {} match the file",
                report.summary.unchanged,
                report.file.display()
            ));
        }
        if ctx.dry_run {
            eprintln!("{}", text::plan(ctx, report));
        }
        return Ok(nothing_applied(planned, ctx.dry_run));
    }
    let (warnings, changes) = text::announced(report);
    let takes_away = report
        .entries
        .iter()
        .any(|e| e.plan.as_ref().is_some_and(role::takes_away))
        || report.summary.delete > 0;
    wizard::present_plan(ctx, prompter, &warnings, changes, takes_away, || {
        text::plan(ctx, report)
    })?;
    Ok(apply_planned(ctx, &req, planned).await)
}

/// Plans every entry, `parallel` at a time, beside the read of the set's roles.
async fn plan_all(ctx: &Context, req: &SetRequest) -> Result<Planned, Error> {
    let file = set_file::read(&req.file)?;
    let clients = connect(ctx).await?;
    let unasked = unasked(ctx);
    let progress = ctx.ui.many(
        format!("Reading the setups of {}", req.file.display()),
        file.entries.len(),
    );
    // The account's roles first: each setup then reads only the names that exist, and the
    // set's roles beyond the file are found among them.
    let roles = iam::list_roles(&clients.iam).await?;
    clients.know_roles(roles.iter().map(|(name, _)| name.clone()));
    let planning = stream::iter(&file.entries)
        .map(|entry| {
            let (unasked, clients, progress) = (&unasked, &clients, &progress);
            async move {
                let uri = entry
                    .request
                    .location
                    .as_ref()
                    .map(ToString::to_string)
                    .unwrap_or_default();
                let going = progress.begin(&format!("{} {uri}", entry.label));
                let planned = role::plan_unasked(unasked, entry.request.clone(), clients).await;
                let read = match &planned {
                    Ok(s) if !s.plan.changes() => "unchanged",
                    Ok(s) if role::creates(s) => "to create",
                    Ok(_) => "to update",
                    Err(_) => "could not be planned",
                };
                progress.end(going, &format!("{} {uri}: {read}", entry.label));
                planned
            }
        })
        .buffered(req.parallel)
        .collect::<Vec<_>>();
    let listed: Vec<String> = file
        .entries
        .iter()
        .map(|e| e.role_name().as_str().to_lowercase())
        .collect();
    let (surveyed, members) = tokio::join!(
        planning,
        prune::members(&clients, &roles, &file.name, &listed, req.parallel)
    );
    progress.finish("read");
    let members = members?;
    let report = report(&file, &surveyed, &members, req.prune);
    Ok(Planned {
        file,
        clients,
        surveyed,
        report,
    })
}

/// The clients of a run of many setups: retried in the adaptive mode, which slows the whole
/// run when IAM throttles.
pub(super) async fn connect(ctx: &Context) -> Result<Clients, Error> {
    let conn = crate::aws::Connection {
        many: true,
        ..ctx.conn.clone()
    };
    Clients::connect(&conn, &ctx.ui).await
}

/// A context for an entry: nothing is asked, and only warnings are drawn (the file's run
/// draws the progress).
pub(super) fn unasked(ctx: &Context) -> Context {
    Context {
        yes: true,
        no_input: true,
        can_prompt: false,
        dry_run: false,
        ui: ctx.ui.silent(),
        ..ctx.clone()
    }
}

/// The file's plan, for a person or a program.
fn report(
    file: &SetFile,
    surveyed: &[Result<RoleSurveyed, Error>],
    members: &[Member],
    prune: bool,
) -> SetPlan {
    let mut summary = Summary::default();
    let entries: Vec<EntryPlan> = file
        .entries
        .iter()
        .zip(surveyed)
        .map(|(entry, planned)| {
            let uri = entry
                .request
                .location
                .as_ref()
                .map(ToString::to_string)
                .unwrap_or_default();
            match planned {
                Ok(s) => {
                    let (warnings, mut changes) = role::plan_lines(&s.plan);
                    changes.extend(details(&s.plan));
                    let status = match (s.plan.changes(), role::creates(s)) {
                        (false, _) => Status::Unchanged,
                        (true, true) => Status::Create,
                        (true, false) => Status::Update,
                    };
                    EntryPlan {
                        entry: entry.label.clone(),
                        uri,
                        role_name: s.plan.role_name.to_string(),
                        status,
                        warnings,
                        changes,
                        error: None,
                        plan: Some(s.plan.clone()),
                        basis: None,
                    }
                }
                Err(e) => EntryPlan {
                    entry: entry.label.clone(),
                    uri,
                    role_name: entry.role_name().to_string(),
                    status: Status::Error,
                    warnings: Vec::new(),
                    changes: Vec::new(),
                    error: Some(e.to_string()),
                    plan: None,
                    basis: None,
                },
            }
        })
        .inspect(|e| match e.status {
            Status::Create => summary.create += 1,
            Status::Update => summary.update += 1,
            Status::Unchanged => summary.unchanged += 1,
            Status::Error => summary.errors += 1,
        })
        .collect();
    // IAM's names ignore case.
    let listed: Vec<String> = entries.iter().map(|e| e.role_name.to_lowercase()).collect();
    let not_in_file: Vec<Member> = members
        .iter()
        .filter(|m| !listed.contains(&m.role_name.as_str().to_lowercase()))
        .cloned()
        .collect();
    if prune {
        summary.delete = not_in_file.len();
    }
    SetPlan {
        set: file.name.clone(),
        file: file.path.clone(),
        entries,
        not_in_file,
        prune,
        summary,
    }
}

/// What a changed entry's lines alone leave unsaid: who gains or loses access to the role,
/// and what it has that the run replaces or takes away.
fn details(plan: &RolePlan) -> Vec<String> {
    if !plan.changes() {
        return Vec::new();
    }
    let trust = plan
        .trust_change
        .lines
        .iter()
        .filter(|l| !l.ends_with(" access") || l.starts_with("loses access"))
        .map(|l| format!("trust: {l}"));
    let revisions = plan.grant.revisions.iter().map(|r| r.describe());
    trust.chain(revisions).collect()
}

/// Applies every entry with changes, `parallel` at a time, then prunes; each entry's failure
/// is its own (its run undid what it made), and said as it happens.
async fn apply_planned(ctx: &Context, req: &SetRequest, planned: Planned) -> SetApplied {
    let Planned {
        file,
        clients,
        surveyed,
        report,
    } = planned;
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
    let entries: Vec<EntryOutcome> = stream::iter(surveyed.into_iter().zip(labels))
        .map(|(planned, (entry, role_name))| {
            let (unasked, clients, progress) = (&unasked, &clients, &progress);
            async move {
                let going = progress.begin(&format!("{entry} role {role_name}"));
                let outcome = match planned {
                    Ok(s) if !s.plan.changes() => Ok((s.plan.role_arn, false, false)),
                    Ok(_) if unasked.stop.requested().is_some() => Err(Error::Interrupted(
                        ": not applied, the run was stopped first".into(),
                    )),
                    Ok(s) => {
                        let creates = role::creates(&s);
                        role::apply_planned(unasked, clients, s)
                            .await
                            .map(|o: RoleOutcome| (o.role_arn, true, creates))
                    }
                    Err(e) => Err(e),
                };
                let outcome = entry_outcome(entry, role_name, outcome);
                progress.end(going, &text::applied_line(&outcome));
                outcome
            }
        })
        .buffered(req.parallel)
        .collect()
        .await;
    let mut pruned = Vec::new();
    let not_in_file = if req.prune {
        for member in &report.not_in_file {
            if unasked.stop.requested().is_some() {
                break;
            }
            let going = progress.begin(&format!("not in the file: role {}", member.role_name));
            let deleted = prune::delete(&unasked, &clients, member).await;
            let p = pruned_outcome(member, deleted);
            progress.end(going, &text::pruned_line(&p));
            pruned.push(p);
        }
        Vec::new()
    } else {
        report.not_in_file
    };
    progress.finish("done");
    let summary = applied_summary(&entries, &pruned);
    SetApplied {
        set: file.name,
        file: file.path,
        entries,
        pruned,
        not_in_file,
        summary,
        interrupted: ctx.stop.requested(),
        dry_run: false,
    }
}

/// A run that changed nothing: each entry as it is.
/// A run that applied nothing: everything was in sync, or `--dry-run` only planned (each
/// entry then says what applying would do).
fn nothing_applied(planned: Planned, dry_run: bool) -> SetApplied {
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
    }
}

fn pruned_outcome(member: &Member, deleted: Result<TeardownOutcome, Error>) -> Pruned {
    match deleted {
        Ok(outcome) => Pruned {
            role_name: member.role_name.to_string(),
            deleted: outcome.deleted,
            error: None,
        },
        Err(e) => Pruned {
            role_name: member.role_name.to_string(),
            deleted: Vec::new(),
            error: Some(e.to_string()),
        },
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
