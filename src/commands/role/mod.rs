//! `role`: create or converge the IAM role that TiDB Cloud assumes, and its policy.

use serde::Serialize;

use crate::aws::cloudformation;
use crate::aws::iam;
use crate::aws::{sts, Clients};
use crate::error::Error;
use crate::facts::{BucketFacts, Caller, Facts};
use crate::inputs::{
    Access, AccountId, ExternalId, Guardrails, KmsKeyArn, PolicyName, RoleName, StackName, Tier,
};
use crate::journal::Journal;
use crate::output::render_role_plan;
use crate::plan::{self, Method, RoleInputs, RolePlan, RoleState};
use crate::prompt::Prompter;
use crate::requests::RoleRequest;
use crate::wizard;
use crate::{apply, detect, Context};

mod stack;
mod text;

pub use text::{ci_command, next_steps, render_text};

use stack::apply_stack;

/// What `role` did, for stdout.
#[derive(Debug, Clone, Serialize)]
pub struct RoleOutcome {
    pub role_arn: String,
    /// The managed policy; `None` for a stack, whose role carries an inline policy.
    pub policy_arn: Option<String>,
    pub role_name: RoleName,
    pub policy_name: PolicyName,
    pub bucket: String,
    pub prefix: String,
    pub access: Access,
    pub kms_keys: Vec<KmsKeyArn>,
    pub changed: bool,
    pub method: Method,
    pub account_id: Option<AccountId>,
    pub bucket_region: Option<String>,
    pub tidb_account_id: AccountId,
    pub external_id: Option<ExternalId>,
    /// What this run did, in order; empty when nothing changed.
    pub actions: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stack_name: Option<StackName>,
    /// Where the stack is: stacks are regional, roles global.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stack_region: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stack_id: Option<String>,
    /// The checks run on what was made (see `verify`).
    pub verify: crate::verify::Report,
    #[serde(flatten)]
    pub guardrails: Guardrails,
    pub tier: Tier,
    /// Every external ID the role trusts now, this cluster's among them.
    pub external_ids: Vec<ExternalId>,
    /// Who lost access to the role in this run.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub losing_access: Vec<String>,
    /// The `ticloud` commands that start the import or export with this role (none for the
    /// tiers `ticloud serverless` does not serve).
    pub next_command: Vec<String>,
}

/// The result of `role`: the plan alone under `--dry-run`, otherwise what was done.
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum RoleReport {
    Plan { dry_run: bool, plan: Box<RolePlan> },
    Done(Box<RoleOutcome>),
}

/// Runs `role` end to end: resolve, detect, plan, confirm, apply.
pub async fn run(
    ctx: &Context,
    req: RoleRequest,
    prompter: &mut dyn Prompter,
) -> Result<RoleReport, Error> {
    let timeout = req.timeout.unwrap_or(crate::wait::DEFAULT_TIMEOUT);
    wizard::check_role(ctx, &req)?;
    let cluster_id = req.cluster_id.clone();
    let clients = super::connect_or_plan_offline(ctx).await?;
    let (method, inputs, located) = wizard::role(ctx, req, prompter, clients.as_ref()).await?;
    if inputs.external_id.is_none() {
        ctx.ui.warn(
            "--no-external-id: without an external ID, every cluster in the TiDB Cloud project can assume this role (the confused-deputy risk)",
        );
    }
    let region = located.region.clone();
    let (mut facts, state): (Facts, RoleState) = super::survey(ctx, clients.as_ref(), |c| {
        gather(c, method, &inputs, region, ctx.dry_run)
    })
    .await?;
    located.into_facts(&mut facts);
    let plan = plan::role(method, &inputs, &facts, &state)?;
    if ctx.dry_run {
        return Ok(RoleReport::Plan {
            dry_run: true,
            plan: Box::new(plan),
        });
    }
    let clients = clients.expect("connected unless dry run");
    let actions = plan.actions.iter().map(|a| plan.describe(a)).collect();
    // Who loses access is said even when no one is asked.
    let mut warnings = plan.warnings.clone();
    warnings.extend(
        plan.trust_change
            .losing_access
            .iter()
            .map(|who| format!("loses access to the role: {who}")),
    );
    wizard::present_plan(
        ctx,
        prompter,
        &warnings,
        actions,
        plan.trust_change.revokes(),
        || render_role_plan(&ctx.ui, &plan),
    )?;

    let mut journal = Journal::default();
    ctx.stop.begin_changes();
    let applied = match method {
        Method::Iam => apply(&clients, &plan, &mut journal, ctx)
            .await
            .map(|()| None),
        Method::Cloudformation => apply_stack(
            &clients,
            &plan,
            &mut journal,
            ctx,
            timeout,
            state.stack.as_ref(),
        )
        .await
        .map(Some),
    };
    let (changed, stack) = match applied {
        Ok(Some(applied)) => (applied.changed, Some(applied.stack)),
        Ok(None) => (plan.changes(), None),
        Err(err) => return Err(super::undo(ctx, &clients, &mut journal, err).await),
    };
    let outcome = RoleOutcome {
        role_arn: stack
            .as_ref()
            .and_then(|s| s.outputs.get("RoleArn").cloned())
            .unwrap_or_else(|| plan.role_arn.clone()),
        policy_arn: plan.policy_arn.clone(),
        role_name: plan.role_name.clone(),
        policy_name: plan.policy_name.clone(),
        bucket: plan.bucket.clone(),
        prefix: plan.prefix.clone(),
        access: plan.access,
        kms_keys: plan.kms_keys.clone(),
        changed,
        method,
        account_id: plan.account_id.clone(),
        bucket_region: plan.bucket_region.clone(),
        tidb_account_id: plan.tidb_account_id.clone(),
        external_id: plan.external_id.clone(),
        actions: match changed {
            true => plan.actions.iter().map(|a| plan.describe(a)).collect(),
            false => Vec::new(),
        },
        stack_name: plan.stack_name.clone(),
        stack_region: plan.stack_region.clone(),
        stack_id: stack.map(|s| s.id),
        verify: crate::verify::Report::pending(),
        guardrails: plan.guardrails.clone(),
        tier: plan.tier,
        external_ids: plan.trust_change.external_ids.clone(),
        losing_access: match changed {
            true => plan.trust_change.losing_access.clone(),
            false => Vec::new(),
        },
        next_command: Vec::new(),
    };
    let next_command = crate::handoff::ticloud(
        plan.tier,
        plan.access,
        &inputs.location,
        crate::handoff::Credential::RoleArn(&outcome.role_arn),
        cluster_id.as_ref(),
    );
    let outcome = RoleOutcome {
        next_command,
        ..outcome
    };
    let subject = crate::verify::Subject::Role {
        arn: outcome.role_arn.clone(),
        name: outcome.role_name.to_string(),
    };
    let expectations = crate::verify::Expectations {
        location: inputs.location.clone(),
        access: inputs.access,
        tidb_account: Some(inputs.tidb_account.clone()),
        external_id: inputs.external_id.clone(),
        bucket_location: inputs.tier.reads_bucket_location(),
    };
    let outcome = RoleOutcome {
        verify: crate::verify::after_setup(
            &clients,
            &subject,
            &expectations,
            crate::verify::Written {
                partition: plan.partition,
                principal_arn: outcome.role_arn.clone(),
                trust: Some(plan.trust_policy.clone()),
                permissions: plan.permissions_policy.clone(),
                boundary: plan
                    .guardrails
                    .permissions_boundary
                    .as_ref()
                    .map(|b| b.to_string()),
            },
            facts.bucket.clone().unwrap_or_default(),
        )
        .await,
        ..outcome
    };
    crate::verify::show_after_setup(ctx, &outcome.verify, outcome.access, outcome.changed);
    if !outcome.changed {
        ctx.ui.info(match &outcome.stack_name {
            Some(stack) => format!(
                "unchanged: stack {stack} and role {} already match",
                outcome.role_name
            ),
            None => format!(
                "unchanged: role {} and policy {} already match",
                outcome.role_name, outcome.policy_name
            ),
        });
    }
    Ok(RoleReport::Done(Box::new(outcome)))
}

/// Reads the caller, the bucket and the current role and policy, with independent requests
/// in flight together.
async fn gather(
    clients: &Clients,
    method: Method,
    inputs: &RoleInputs,
    region: Option<String>,
    dry_run: bool,
) -> Result<(Facts, RoleState), Error> {
    let bucket = detect::bucket(
        clients,
        &inputs.location,
        region,
        &inputs.kms_keys,
        !dry_run,
    );
    if method == Method::Cloudformation {
        let state = async {
            let stack_name = inputs.stack_name.as_ref().expect("resolved").as_str();
            let (caller, role, stack) = tokio::join!(
                sts::caller_identity(&clients.sts),
                iam::get_role(&clients.iam, inputs.role_name.as_str()),
                cloudformation::describe_stack(&clients.cfn, stack_name)
            );
            let (caller, mut role, stack) = (caller?, role?, stack?);
            // A stack without its role may be one another run is making right now: the role
            // is read again, after the stack, so that "deleted" is not a race between reads.
            if let (Some(_), None) = (&stack, &role) {
                role = iam::get_role(&clients.iam, inputs.role_name.as_str()).await?;
            }
            // A rerun compares the live role with the template, its inline policy included.
            let inline = match (&role, &stack) {
                (Some(_), Some(_)) => Some(
                    iam::inline_policies(
                        &clients.iam,
                        iam::PrincipalKind::Role,
                        inputs.role_name.as_str(),
                    )
                    .await?,
                ),
                _ => None,
            };
            Ok::<_, Error>((
                caller,
                RoleState {
                    role,
                    stack,
                    inline,
                    ..RoleState::default()
                },
            ))
        };
        let (bucket, state) = tokio::join!(bucket, state);
        let state = state?;
        let mut bucket = bucket?;
        bucket
            .settle_aws_managed_key(clients, inputs.location.bucket(), state.0.account.as_str())
            .await?;
        return facts(clients, state, bucket);
    }
    let state = async {
        let (caller, role) = tokio::join!(
            sts::caller_identity(&clients.sts),
            iam::get_role(&clients.iam, inputs.role_name.as_str())
        );
        let caller = caller?;
        let role = role?;
        let arn = plan::policy_arn(
            caller.partition,
            caller.account.as_str(),
            &inputs.guardrails.path,
            &inputs.policy_name,
        );
        let (policy, attached) = tokio::join!(iam::get_policy(&clients.iam, &arn), async {
            match &role {
                Some(_) => iam::attached_role_policies(&clients.iam, inputs.role_name.as_str())
                    .await
                    .map(Some),
                None => Ok(None),
            }
        });
        let policy = policy?;
        let policy_document = match &policy {
            Some(p) if p.managed => {
                iam::policy_document(&clients.iam, &p.arn, &p.default_version).await?
            }
            _ => None,
        };
        let attached = attached?.is_some_and(|list| list.contains(&arn));
        Ok::<_, Error>((
            caller,
            RoleState {
                role,
                policy,
                policy_document,
                attached,
                stack: None,
                inline: None,
            },
        ))
    };
    let (bucket, state) = tokio::join!(bucket, state);
    // Credential and identity problems explain everything else, so they come first.
    let state = state?;
    let mut bucket = bucket?;
    bucket
        .settle_aws_managed_key(clients, inputs.location.bucket(), state.0.account.as_str())
        .await?;
    facts(clients, state, bucket)
}

fn facts(
    clients: &Clients,
    (caller, state): (Caller, RoleState),
    bucket: BucketFacts,
) -> Result<(Facts, RoleState), Error> {
    let mut facts = Facts::detected(caller, bucket);
    facts.region = Some(clients.region().to_string());
    Ok((facts, state))
}

/// Makes the plan's changes through IAM; each creation is journaled before it is requested.
async fn apply(
    clients: &Clients,
    plan: &RolePlan,
    journal: &mut Journal,
    ctx: &Context,
) -> Result<(), Error> {
    if !plan.changes() {
        return Ok(());
    }
    let step = ctx.ui.step(format!("Applying to role {}", plan.role_name));
    match apply::execute(clients, &plan.actions, journal, &ctx.stop).await {
        Ok(_) => {
            step.done(&format!("{} change(s)", plan.actions.len()));
            Ok(())
        }
        Err(e) => {
            step.fail();
            Err(e)
        }
    }
}

#[cfg(test)]
mod tests;
