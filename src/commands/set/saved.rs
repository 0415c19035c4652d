//! A file's plan saved (`plan -f FILE --plan-out PLAN`) and applied as it is (`apply --plan
//! PLAN`), by Terraform's rule: only when every entry's role is still as the plan found it, the
//! same request still plans the same, and the set holds the same roles beyond the file.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::Error;
use crate::plan::saved::{Basis, RoleSetup, Saved};
use crate::set_file::{Entry, SetFile};
use crate::Context;

use super::super::role::{self, RoleSurveyed};
use super::super::saved as files;
use super::{connect, prune, unasked, Planned, SetApplied, SetPlan, SetRequest};

/// The command a saved file plan is applied with.
const COMMAND: &str = "apply";

/// Each entry's request, settled, in the file's order: what a saved plan is planned again from.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SetSetup {
    entries: Vec<RoleSetup>,
}

/// Writes the file's plan, with each entry's settled request and what its plan was made from.
/// A plan with an entry that could not be planned is not saved: it could not be applied.
pub(super) fn save(
    path: &Path,
    mut report: SetPlan,
    surveyed: &[Result<RoleSurveyed, Error>],
) -> Result<SetPlan, Error> {
    if let Some(e) = report.entries.iter().find(|e| e.error.is_some()) {
        return Err(Error::Conflict(format!(
            "the plan is not saved: {} could not be planned ({}); fix it, then plan again",
            e.entry,
            e.error.as_deref().unwrap_or_default()
        )));
    }
    let mut entries = Vec::new();
    for (entry, planned) in report.entries.iter_mut().zip(surveyed) {
        let s = planned.as_ref().expect("every entry was planned");
        entry.basis = Some(role::basis(s));
        entries.push(s.settled.clone());
    }
    files::write(
        path,
        COMMAND,
        SetSetup { entries },
        Default::default(),
        &report,
    )?;
    for entry in &mut report.entries {
        entry.basis = None;
    }
    Ok(report)
}

/// `apply --plan PLAN`: every entry planned again from its saved request, held against the
/// saved plan, and the saved plan applied when nothing changed since.
pub async fn apply_saved(
    ctx: &Context,
    path: &Path,
    parallel: usize,
    wait_ready: bool,
) -> Result<SetApplied, Error> {
    let saved: Saved<SetSetup, SetPlan> = files::read(path, COMMAND)?;
    let Saved {
        setup: SetSetup { entries: setups },
        plan: report,
        ..
    } = saved;
    let clients = connect(ctx).await?;
    let unasked = unasked(ctx);
    let roles = clients.survey_account().await?;
    let step = ctx.ui.step(format!(
        "Reading again what {} was made from",
        path.display()
    ));
    let listed: Vec<String> = report
        .entries
        .iter()
        .map(|e| e.role_name.to_lowercase())
        .collect();
    let planning = super::each(setups, parallel, |setup| {
        role::plan_settled(&unasked, &clients, setup)
    });
    let (now, members) = tokio::join!(
        planning,
        prune::members(&clients, &roles, &report.set, &listed, parallel)
    );
    step.done("read");
    let (surveyed, mut changes) = held_against(path, &report, now);
    if report.prune && members? != report.not_in_file {
        changes.push(
            "the set's roles that the file does not list are not those the plan deletes".into(),
        );
    }
    if !changes.is_empty() {
        return Err(Error::StalePlan {
            file: path.display().to_string(),
            why: "what it was made from has changed since".into(),
            changes,
        });
    }
    let req = SetRequest {
        file: report.file.clone(),
        prune: report.prune,
        parallel,
        plan_out: None,
        wait_ready,
    };
    let file = SetFile {
        path: report.file.clone(),
        name: report.set.clone(),
        entries: report
            .entries
            .iter()
            .map(|e| Entry {
                label: e.entry.clone(),
                request: Default::default(),
            })
            .collect(),
    };
    let (warnings, lines) = super::text::announced(&report);
    crate::wizard::announce(ctx, &warnings, lines);
    let planned = Planned {
        file,
        clients,
        surveyed,
        report,
    };
    if ctx.dry_run {
        eprintln!("{}", super::text::plan(ctx, &planned.report));
        return Ok(super::nothing_applied(planned, true));
    }
    Ok(super::apply_planned(ctx, &req, planned).await)
}

/// Each entry as planned now, carrying its saved plan to apply; and what changed since the
/// plan was saved, entry by entry.
fn held_against(
    path: &Path,
    report: &SetPlan,
    now: Vec<Result<(RoleSurveyed, Basis), Error>>,
) -> (Vec<Result<RoleSurveyed, Error>>, Vec<String>) {
    let mut changes = Vec::new();
    let mut surveyed = Vec::new();
    for (entry, now) in report.entries.iter().zip(now) {
        match now {
            Ok((mut s, basis)) => {
                changes.extend(stale(path, entry, &s, &basis));
                if let Some(plan) = &entry.plan {
                    s.plan = plan.clone();
                }
                surveyed.push(Ok(s));
            }
            Err(e) => changes.push(format!("{}: cannot be planned now: {e}", entry.entry)),
        }
    }
    (surveyed, changes)
}

/// What changed for one entry since its plan was saved: what it was made from, or what the
/// same request plans now.
fn stale(path: &Path, entry: &super::EntryPlan, now: &RoleSurveyed, basis: &Basis) -> Vec<String> {
    let (Some(saved_basis), Some(saved_plan)) = (&entry.basis, &entry.plan) else {
        return vec![format!(
            "{}: the saved plan holds no plan for it",
            entry.entry
        )];
    };
    match files::check_current(path, (saved_basis, saved_plan), (basis, &now.plan)) {
        Ok(()) => Vec::new(),
        Err(Error::StalePlan { why, changes, .. }) if changes.is_empty() => {
            vec![format!("{}: {why}", entry.entry)]
        }
        Err(Error::StalePlan { changes, .. }) => changes
            .into_iter()
            .map(|c| format!("{}: {c}", entry.entry))
            .collect(),
        Err(e) => vec![format!("{}: {e}", entry.entry)],
    }
}

/// The path a saved plan applies, for the line that says how.
pub(super) fn apply_line(plan: &Path) -> String {
    crate::output::command_line([
        "serverless-s3-setup",
        "apply",
        "--plan",
        &plan.display().to_string(),
    ])
}
