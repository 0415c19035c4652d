//! `plan -f FILE` and `apply -f FILE`: every role a file of setups describes, planned together
//! and applied under one confirmation, each entry as `role --yes` would do it alone (the same
//! check, survey, plan, undo and read-back), `--parallel` at a time; and the roles of the
//! file's set that it no longer lists, deleted with `--prune`; and `teardown -f FILE`, every
//! role of the set deleted. One entry's failure stops no other: the summary and the exit code
//! say it.

use std::collections::BTreeMap;
use std::future::Future;
use std::path::PathBuf;

use futures_util::future::join_all;
use futures_util::stream::{self, StreamExt};
use serde::{Deserialize, Serialize};

use crate::aws::Clients;
use crate::error::Error;
use crate::inputs::{Access, SetName};
use crate::output;
use crate::plan::RolePlan;
use crate::prompt::Prompter;
use crate::requests::RoleRequest;
use crate::set_file::{self, SetFile};
use crate::{wizard, Context};

use super::role::{self, RoleSurveyed};

mod applied;
mod check;
mod prune;
mod saved;
mod teardown;
mod text;

use applied::{apply_planned, nothing_applied};
pub use applied::{AppliedSummary, EntryChecks, EntryOutcome, SetApplied};
pub use check::{verify, SetVerified};
pub use prune::{Member, Pruned};
pub use saved::apply_saved;
pub use teardown::{teardown, SetOf, SetTornDown, WholeSet};

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
    /// `apply --wait-ready`: after a change, wait until a minute after the last role was
    /// written, for IAM to carry it to every region.
    pub wait_ready: bool,
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
#[serde_with::skip_serializing_none]
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
    pub(crate) error: Option<String>,
    /// The whole plan, as `role --dry-run -o json` gives it.
    pub(crate) plan: Option<RolePlan>,
    /// What the plan was made from, in a saved plan (`--plan-out`).
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
    let listed: Vec<String> = file
        .entries
        .iter()
        .map(|e| e.role_name().as_str().to_lowercase())
        .collect();
    let planning = async {
        // The account first: each setup then plans from it, reading only what it does not
        // hold, and the set's roles beyond the file are found among its roles.
        let roles = clients.survey_account().await?;
        let entries = each(&file.entries, req.parallel, |entry| {
            let (unasked, clients, progress) = (&unasked, &clients, &progress);
            async move {
                let uri = entry.uri();
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
        });
        let members = prune::members(&clients, &roles, &file.name, &listed, req.parallel);
        Ok::<_, Error>(tokio::join!(entries, members))
    };
    // What the entries share is read beside the account, and goes on while they are planned:
    // an entry that needs a read in flight waits for it.
    let (planned, ()) = tokio::join!(
        planning,
        read_ahead(&clients, file.entries.iter().map(|e| &e.request))
    );
    let (surveyed, members) = planned?;
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

/// How many of S3's reads [`read_ahead`] sends at once for one bucket.
const READ_AHEAD: usize = 32;

/// What the entries read first, all of it sent from the start, beside the account's survey:
/// who the caller is; each bucket's region, default encryption, policy and Object Ownership;
/// and whether each import's folder holds anything. Each is read once for the run (see
/// `aws/shared.rs`): an entry that needs one waits for it, and one that makes a role sends no
/// request of its own before it applies. These are
/// STS's and S3's reads, not IAM's control plane, so they go out together rather than
/// `--parallel` at a time: S3 serves thousands of reads a second per prefix ("Best practices
/// design patterns: optimizing Amazon S3 performance", S3 User Guide). A read that fails here
/// is made again, and its failure said, by the entry that needs it.
async fn read_ahead<'a>(clients: &Clients, requests: impl Iterator<Item = &'a RoleRequest>) {
    let mut folders: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for req in requests {
        let Some(location) = &req.location else {
            continue;
        };
        let imports = folders.entry(location.bucket()).or_default();
        // What reads (import or both) lists its folder, as its own setup would.
        if req.access.is_some_and(Access::reads) {
            imports.push(location.prefix());
        }
    }
    let buckets = folders.into_iter().map(|(bucket, prefixes)| async move {
        let Ok(region) = clients.bucket_region(bucket).await else {
            return;
        };
        let s3 = clients.s3_in(&region);
        let s3 = &s3;
        let listed = stream::iter(prefixes)
            .map(|prefix| clients.objects(s3, bucket, prefix))
            .buffer_unordered(READ_AHEAD)
            .collect::<Vec<_>>();
        let _ = tokio::join!(
            clients.bucket_encryption(s3, bucket),
            clients.bucket_policy(s3, bucket),
            clients.object_ownership(s3, bucket),
            listed
        );
    });
    let _ = tokio::join!(clients.caller(), join_all(buckets));
}

/// `work` on each item, `parallel` at a time, its results in the items' order. Unlike
/// `buffered`, which holds a finished item's place until every item before it is done, a
/// slow item keeps no other from starting.
pub(crate) async fn each<I, F, Fut>(items: I, parallel: usize, mut work: F) -> Vec<Fut::Output>
where
    I: IntoIterator,
    F: FnMut(I::Item) -> Fut,
    Fut: Future,
{
    let mut done: Vec<(usize, Fut::Output)> = stream::iter(items.into_iter().enumerate())
        .map(|(i, item)| {
            let work = work(item);
            async move { (i, work.await) }
        })
        .buffer_unordered(parallel.max(1))
        .collect()
        .await;
    done.sort_by_key(|(i, _)| *i);
    done.into_iter().map(|(_, out)| out).collect()
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
            let uri = entry.uri();
            match planned {
                Ok(s) => {
                    let (warnings, mut changes) = role::plan_lines(&s.plan);
                    changes.extend(details(&s.plan));
                    let status = match (s.plan.changes(), role::creates(s)) {
                        (false, _) => Status::Unchanged,
                        (true, true) => Status::Create,
                        (true, false) => Status::Update,
                    };
                    // An update's tag and boundary changes are lines of their own.
                    if status == Status::Create {
                        let guard = output::guardrails(&s.plan.grant.guardrails);
                        changes.extend(guard.into_iter().map(|(l, v)| format!("{l} {v}")));
                    }
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
