//! `role`: create or converge the IAM role that TiDB Cloud assumes, and its policy.

use std::time::Duration;

use serde::Serialize;

use crate::apply::journal::Journal;
use crate::aws::iam;
use crate::aws::Clients;
use crate::error::Error;
use crate::facts::{Caller, Facts, Located, StackInfo};
use crate::find::{self, FoundRole};
use crate::inputs::{AccountId, ExternalId, RoleName, StackName, Timeout};
use crate::output::{counted, render_role_plan};
use crate::plan::saved::{Basis, RoleSetup};
use crate::plan::{self, Method, RolePlan, RoleState};
use crate::prompt::Prompter;
use crate::requests::{RoleRequest, SavedPlan};
use crate::{verify, wizard};

use super::setup::{SetupCommand, Surveyed};
use super::{Bucket, Granted};
use crate::{apply, Context};

mod gather;
mod many;
pub(crate) mod ready;
mod region;
mod stack;
mod text;

pub(crate) use gather::Gathered;
pub(crate) use many::{
    apply_planned, basis, checked, creates, plan_lines, plan_settled, plan_unasked, takes_away,
    RoleSurveyed,
};
pub(crate) use text::again;

use stack::apply_stack;

/// What `role` did, for stdout.
#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, Serialize)]
pub struct RoleOutcome {
    pub(crate) role_arn: String,
    /// The managed policy; `None` (null) for a stack, whose role carries an inline policy.
    #[serialize_always]
    pub(crate) policy_arn: Option<String>,
    pub(crate) role_name: RoleName,
    pub(crate) method: Method,
    pub(crate) tidb_account_id: AccountId,
    #[serialize_always]
    pub(crate) external_id: Option<ExternalId>,
    pub(crate) stack_name: Option<StackName>,
    /// Where the stack is: stacks are regional, roles global.
    pub(crate) stack_region: Option<String>,
    pub(crate) stack_id: Option<String>,
    /// Every external ID the role trusts now, this cluster's among them.
    pub(crate) external_ids: Vec<ExternalId>,
    /// Who lost access to the role in this run.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(crate) losing_access: Vec<String>,
    /// When this run wrote the role (UTC, RFC 3339), when it changed anything: IAM takes a
    /// moment to carry a change to every region, so TiDB Cloud may not see it at once.
    pub(crate) written_at: Option<String>,
    /// A minute after `written_at`, when the change can be expected everywhere
    /// ([`ready::READY_AFTER`]).
    pub(crate) ready_at: Option<String>,
    /// The moment of `written_at`.
    #[serde(skip)]
    pub(crate) written: Option<std::time::SystemTime>,
    /// `--wait-ready` waited until `ready_at`.
    #[serde(skip)]
    pub(crate) waited: bool,
    #[serde(flatten)]
    pub(crate) granted: Granted,
}

/// The result of `role`.
pub(crate) type RoleReport = super::Report<RolePlan, RoleOutcome>;

/// Runs `role` end to end: resolve, detect, plan, confirm, apply. With `--plan-out`, the plan
/// is saved and nothing changes; with `--plan`, a saved plan is applied.
pub async fn run(
    ctx: &Context,
    req: RoleRequest,
    prompter: &mut dyn Prompter,
) -> Result<RoleReport, Error> {
    let command = RoleCommand {
        given_timeout: req.timeout,
        wait_ready: req.wait_ready,
    };
    super::setup::drive(ctx, command, req, prompter).await
}

/// `role`'s parts of the setup skeleton; `--timeout` is the run's own, not the plan's.
pub(crate) struct RoleCommand {
    given_timeout: Option<Timeout>,
    /// `--wait-ready`: wait out IAM's propagation after a change.
    wait_ready: bool,
}

impl SetupCommand for RoleCommand {
    const COMMAND: &'static str = "role";
    type Request = RoleRequest;
    type Settled = RoleSetup;
    type Found = FoundRole;
    type State = Gathered;
    type Plan = RolePlan;
    type Outcome = RoleOutcome;

    fn saved(req: &RoleRequest) -> &SavedPlan {
        &req.saved
    }

    fn check(ctx: &Context, req: &RoleRequest) -> Result<(), Error> {
        wizard::check_role(ctx, req)
    }

    async fn fill(
        &mut self,
        ctx: &Context,
        req: RoleRequest,
        prompter: &mut dyn Prompter,
        clients: Option<&Clients>,
    ) -> Result<(RoleSetup, Located, Option<FoundRole>), Error> {
        let cluster_id = req.cluster_id.clone();
        let (method, inputs, located, found) = wizard::role(ctx, req, prompter, clients).await?;
        let stack_region = match (method, clients) {
            (Method::Cloudformation, Some(clients)) => {
                let bucket = inputs.location.bucket();
                region::stack_region(ctx, prompter, clients, bucket, &located, found.as_ref())
                    .await?
            }
            _ => None,
        };
        super::keep_answers(prompter.answered() > 0, || {
            again(ctx, method, &inputs, self.given_timeout)
        });
        let settled = RoleSetup {
            method,
            inputs,
            cluster_id,
            stack_region,
        };
        Ok((settled, located, found))
    }

    fn moved(settled: &RoleSetup, clients: &Clients) -> Option<Clients> {
        let region = settled.stack_region.as_ref()?.as_str();
        (region != clients.stacks_region()).then(|| clients.with_stacks_in(region))
    }

    async fn find(
        clients: &Clients,
        settled: &RoleSetup,
        located: &mut Located,
    ) -> Result<FoundRole, Error> {
        let inputs = &settled.inputs;
        let name = Some(&inputs.role_name);
        find::role(
            clients,
            &inputs.location,
            inputs.access,
            name,
            None,
            located,
        )
        .await
    }

    fn bucket(settled: &RoleSetup) -> Bucket<'_> {
        Bucket::of(
            &settled.inputs.location,
            settled.inputs.access,
            &settled.inputs.kms_keys,
        )
    }

    async fn gather(
        clients: &Clients,
        settled: &RoleSetup,
        found: FoundRole,
    ) -> Result<(Caller, Gathered), Error> {
        gather::gather(clients, settled.method, &settled.inputs, found).await
    }

    fn plan(settled: &RoleSetup, facts: &Facts, state: &Gathered) -> Result<RolePlan, Error> {
        plan::role(settled.method, &settled.inputs, facts, &state.state)
    }

    async fn check_plan(clients: Option<&Clients>, plan: &RolePlan) -> Result<(), Error> {
        check_trust_size(clients, plan).await
    }

    fn basis(facts: &Facts, state: &Gathered) -> Basis {
        Basis::role(facts, &state.state)
    }

    fn warn(ctx: &Context, settled: &RoleSetup) {
        if settled.inputs.external_id.is_none() {
            ctx.ui.warn(
                "--no-external-id: without an external ID, every cluster in the TiDB Cloud project can assume this role (the confused-deputy risk)",
            );
        }
    }

    /// Who loses access is said even when no one is asked.
    fn announced(plan: &RolePlan) -> (Vec<String>, Vec<String>) {
        let losing = plan
            .trust_change
            .losing_access
            .iter()
            .map(|who| format!("loses access to the role: {who}"))
            .collect();
        super::announced(&plan.grant, losing, plan.lines())
    }

    fn takes_away(plan: &RolePlan) -> bool {
        plan.trust_change.revokes() || plan.grant.takes_away()
    }

    fn render(ctx: &Context, plan: &RolePlan) -> String {
        render_role_plan(&ctx.ui, plan)
    }

    /// A stack is regional: the plan was made in this one.
    fn region(facts: &Facts) -> Option<&str> {
        facts.region.as_deref()
    }

    async fn finish(
        &self,
        ctx: &Context,
        clients: &Clients,
        surveyed: Surveyed<Self>,
    ) -> Result<RoleOutcome, Error> {
        let timeout = self
            .given_timeout
            .map_or(apply::wait::DEFAULT_TIMEOUT, Timeout::get);
        let mut outcome = finish(ctx, clients, surveyed, timeout).await?;
        if let (true, Some(written)) = (self.wait_ready, outcome.written) {
            outcome.waited = ready::wait(ctx, written, ready::Written::Role).await;
        }
        Ok(outcome)
    }
}

/// Applies the plan (undoing this run's creations if a step fails), then reads back and
/// checks what was made, and reports it.
async fn finish(
    ctx: &Context,
    clients: &Clients,
    surveyed: Surveyed<RoleCommand>,
    timeout: Duration,
) -> Result<RoleOutcome, Error> {
    let (mut outcome, read_back) = applied(ctx, clients, surveyed, timeout).await?;
    outcome.granted.verify = read_back.check(clients, None).await;
    told(ctx, &outcome);
    Ok(outcome)
}

/// Applies the plan (undoing this run's creations if a step fails): what the run did, and the
/// checks to make of it.
async fn applied(
    ctx: &Context,
    clients: &Clients,
    surveyed: Surveyed<RoleCommand>,
    timeout: Duration,
) -> Result<(RoleOutcome, verify::ReadBack), Error> {
    let Surveyed {
        settled,
        facts,
        state: Gathered { state, beside },
        plan,
    } = surveyed;
    let RoleSetup {
        inputs, cluster_id, ..
    } = &settled;
    let method = plan.method;
    let mut journal = Journal::default();
    ctx.stop.begin_changes();
    let applied = match method {
        Method::Iam => apply(clients, &plan, &mut journal, ctx)
            .await
            .map(Applied::Iam),
        Method::Cloudformation => apply_stack(
            clients,
            &plan,
            &mut journal,
            ctx,
            timeout,
            state.stack.as_ref(),
        )
        .await
        .map(Applied::Stack),
    };
    let (changed, stack, versions) = match applied {
        Ok(Applied::Stack(applied)) => (applied.changed, Some(applied.stack), Vec::new()),
        Ok(Applied::Iam(versions)) => (plan.changes(), None, versions),
        Err(err) => return Err(super::undo(ctx, clients, &mut journal, err).await),
    };
    let mut outcome = outcome(&plan, stack, changed);
    outcome.granted.next_command = crate::handoff::ticloud(
        plan.tier,
        plan.grant.access,
        &inputs.location,
        crate::handoff::Credential::RoleArn(&outcome.role_arn),
        cluster_id.as_ref(),
    );
    let subject = verify::Subject::role_named(outcome.role_arn.clone(), outcome.role_name.clone());
    let expectations = verify::Expectations {
        location: inputs.location.clone(),
        access: inputs.access,
        tidb_account: Some(inputs.tidb_account.clone()),
        external_id: inputs.external_id.clone(),
        bucket_location: inputs.tier.reads_bucket_location(),
    };
    let read_back = verify::ReadBack {
        known: known(&plan, &state, beside, changed, &versions),
        written: super::written(
            &plan.grant,
            outcome.role_arn.clone(),
            Some(plan.trust_policy.clone()),
        ),
        bucket: facts.bucket.clone(),
        subject,
        expectations,
    };
    Ok((outcome, read_back))
}

/// What the checks found, and that nothing changed if so.
fn told(ctx: &Context, outcome: &RoleOutcome) {
    verify::show_after_setup(
        ctx,
        &outcome.granted.verify,
        outcome.granted.access,
        outcome.granted.changed,
    );
    if !outcome.granted.changed {
        ctx.ui.info(unchanged(outcome));
    }
}

/// What the run did, from its plan and, for a stack, the stack as it settled.
fn outcome(plan: &RolePlan, stack: Option<StackInfo>, changed: bool) -> RoleOutcome {
    let written = changed.then(std::time::SystemTime::now);
    RoleOutcome {
        role_arn: stack
            .as_ref()
            .and_then(|s| s.outputs.get("RoleArn").cloned())
            .unwrap_or_else(|| plan.role_arn.clone()),
        policy_arn: plan.policy_arn.clone(),
        role_name: plan.role_name.clone(),
        method: plan.method,
        tidb_account_id: plan.tidb_account_id.clone(),
        external_id: plan.external_id.clone(),
        stack_name: plan.stack_name.clone(),
        stack_region: plan.stack_region.clone(),
        stack_id: stack.map(|s| s.id),
        external_ids: plan.trust_change.external_ids.clone(),
        losing_access: if changed {
            plan.trust_change.losing_access.clone()
        } else {
            Vec::new()
        },
        written_at: written.map(ready::rfc3339),
        ready_at: written.map(|at| ready::rfc3339(at + ready::READY_AFTER)),
        written,
        waited: false,
        granted: Granted::of(&plan.grant, plan.tier, changed, plan.lines()),
    }
}

/// The line for a run that changed nothing.
fn unchanged(outcome: &RoleOutcome) -> String {
    match &outcome.stack_name {
        Some(stack) => format!(
            "unchanged: stack {stack} and role {} already match",
            outcome.role_name
        ),
        None => format!(
            "unchanged: role {} and policy {} already match",
            outcome.role_name, outcome.granted.policy_name
        ),
    }
}

/// Refuses, before any change, a trust policy past the account's quota. A trust within
/// IAM's default quota asks nothing; a bigger one reads the account's own (it can be raised).
async fn check_trust_size(clients: Option<&Clients>, plan: &RolePlan) -> Result<(), Error> {
    if crate::policy::iam_size(&plan.trust_policy) <= crate::policy::TRUST_SIZE_DEFAULT {
        return Ok(());
    }
    let quota = match clients {
        Some(c) => iam::account_quota(&c.iam, "AssumeRolePolicySizeQuota").await?,
        None => None,
    };
    plan::check_trust_size(
        &plan.trust_policy,
        quota.unwrap_or(crate::policy::TRUST_SIZE_DEFAULT),
        plan.trust_change.external_ids.len(),
    )
}

/// What was applied: a stack, or IAM's changes with the policy versions they wrote.
enum Applied {
    Stack(stack::StackApplied),
    Iam(Vec<(String, String)>),
}

/// What the checks after the setup start from: the role as the survey read it, when nothing
/// changed; else what was written, to read back in one round.
fn known(
    plan: &RolePlan,
    state: &RoleState,
    beside: Option<verify::Beside>,
    changed: bool,
    versions: &[(String, String)],
) -> verify::Known {
    if let (false, Some(role), Some(beside)) = (changed, &state.role, beside) {
        let own = match (&plan.policy_arn, &state.policy_document) {
            (Some(arn), Some(doc)) if state.attached => Some((arn.clone(), doc.clone())),
            _ => None,
        };
        return verify::Known::Unchanged(Box::new(verify::unchanged_role(role, own, beside)));
    }
    let managed = plan
        .policy_arn
        .as_ref()
        .and_then(|arn| {
            let version = versions
                .iter()
                .find(|(a, _)| a == arn)
                .map(|(_, v)| v.clone())
                .or_else(|| state.policy.as_ref().map(|p| p.default_version.clone()))?;
            Some((arn.clone(), version))
        })
        .into_iter()
        .collect();
    let inline = match plan.method {
        Method::Cloudformation => vec![plan.grant.policy_name.to_string()],
        Method::Iam => Vec::new(),
    };
    verify::Known::Expected(verify::Expected { managed, inline })
}

/// Makes the plan's changes through IAM; each creation is journaled before it is requested.
/// Returns the policy versions written.
async fn apply(
    clients: &Clients,
    plan: &RolePlan,
    journal: &mut Journal,
    ctx: &Context,
) -> Result<Vec<(String, String)>, Error> {
    if !plan.changes() {
        return Ok(Vec::new());
    }
    let step = ctx.ui.step(format!("Applying to role {}", plan.role_name));
    let executed = apply::execute(clients, &plan.grant.actions, journal, &ctx.stop).await;
    let changes = plan.grant.actions.len();
    Ok(step
        .end(executed, |_| counted(changes, "change", "changes"))?
        .versions)
}

#[cfg(test)]
mod tests;
