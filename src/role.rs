//! `role`: create or converge the IAM role that TiDB Cloud assumes, and its policy.

use std::io::IsTerminal;
use std::time::Duration;

use serde::Serialize;

use crate::aws::cloudformation;
use crate::aws::iam;
use crate::aws::{sts, Clients};
use crate::error::{AwsError, Error, Kind};
use crate::facts::{BucketFacts, Caller, Facts, StackInfo};
use crate::inputs::{
    Access, AccountId, ExternalId, Guardrails, KmsKeyArn, PolicyName, RoleName, StackName, Tier,
};
use crate::journal::{Journal, Resource};
use crate::output::render_role_plan;
use crate::plan::{self, Action, Method, RoleInputs, RolePlan, RoleState};
use crate::prompt::Prompter;
use crate::requests::RoleRequest;
use crate::wizard;
use crate::{apply, detect, Context};

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
    let clients = crate::connect_or_plan_offline(ctx).await?;
    let (method, inputs, located) = wizard::role(ctx, req, prompter, clients.as_ref()).await?;
    if inputs.external_id.is_none() {
        ctx.ui.warn(
            "--no-external-id: without an external ID, every cluster in the TiDB Cloud project can assume this role (the confused-deputy risk)",
        );
    }
    let region = located.region.clone();
    let (mut facts, state): (Facts, RoleState) = crate::survey(ctx, clients.as_ref(), |c| {
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
        Err(err) => return Err(crate::undo(ctx, &clients, &mut journal, err).await),
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

/// Makes the plan's changes, recording each creation in the journal before it is requested.
async fn apply(
    clients: &Clients,
    plan: &RolePlan,
    journal: &mut Journal,
    ctx: &Context,
) -> Result<(), Error> {
    let has = |a: Action| plan.actions.contains(&a);
    if !plan.changes() {
        return Ok(());
    }
    let step = ctx.ui.step(format!("Applying to role {}", plan.role_name));
    let policy_entry = has(Action::CreatePolicy).then(|| {
        journal.begin(Resource::Policy {
            arn: plan.managed_policy_arn().to_string(),
        })
    });
    let role_entry = has(Action::CreateRole).then(|| {
        journal.begin(Resource::Role {
            name: plan.role_name.to_string(),
        })
    });
    // The policy and the role do not depend on each other.
    let description = format!(
        "TiDB Cloud {} access to s3://{}/{} (serverless-s3-setup)",
        plan.access, plan.bucket, plan.prefix
    );
    let run = crate::aws::Run::new();
    let wanted = apply::WantedPolicy {
        name: &plan.policy_name,
        arn: plan.managed_policy_arn(),
        document: &plan.permissions_policy,
        description: &description,
        guard: &plan.guardrails,
    };
    let (policy, role) = tokio::join!(
        apply::converge_policy(clients, &plan.actions, &wanted, &run),
        converge_role(clients, plan, &run)
    );
    if let Some(entry) = policy_entry {
        journal.settle(entry, &policy);
    }
    if let Some(entry) = role_entry {
        journal.settle(entry, &role);
    }
    // Another run may have created the same thing a moment earlier: take it over if it is
    // ours to manage, and bring it to the plan, rather than fail or duplicate.
    // What turns out to be this run's own (a create retried after a lost answer) stays in the
    // undo.
    let adopted = async {
        let policy_ours = match policy {
            Err(e) if e.kind == Kind::AlreadyExists => {
                apply::adopt_policy(
                    clients,
                    plan.managed_policy_arn(),
                    &plan.policy_name,
                    &plan.permissions_policy,
                    &run,
                )
                .await?
            }
            other => {
                other?;
                false
            }
        };
        let role_ours = match role {
            Err(e) if e.kind == Kind::AlreadyExists => adopt_role(clients, plan, &run).await?,
            other => {
                other?;
                false
            }
        };
        Ok::<_, Error>((policy_ours, role_ours))
    }
    .await;
    let adopted = adopted.map(|(policy_ours, role_ours)| {
        if let (true, Some(entry)) = (policy_ours, policy_entry) {
            journal.confirm(entry);
        }
        if let (true, Some(entry)) = (role_ours, role_entry) {
            journal.confirm(entry);
        }
    });
    let guarded = async {
        adopted?;
        apply::converge_guardrails(
            clients,
            iam::Principal::Role(plan.role_name.as_str()),
            plan.managed_policy_arn(),
            &plan.actions,
        )
        .await?;
        ctx.stop.check()
    };
    if let Err(e) = guarded.await {
        step.fail();
        return Err(e);
    }
    if has(Action::AttachPolicy) {
        let entry = journal.begin(Resource::Attachment {
            role: plan.role_name.to_string(),
            policy_arn: plan.managed_policy_arn().to_string(),
        });
        let attached = apply::when_visible(|| {
            iam::attach_role_policy(
                &clients.iam,
                plan.role_name.as_str(),
                plan.managed_policy_arn(),
            )
        })
        .await;
        journal.settle(entry, &attached);
        if let Err(e) = attached {
            step.fail();
            return Err(e.into());
        }
    }
    // A stop asked for during the last request still undoes the run.
    if let Err(e) = ctx.stop.check() {
        step.fail();
        return Err(e);
    }
    step.done(&format!("{} change(s)", plan.actions.len()));
    Ok(())
}

/// A role of this name appeared since the plan was made: if this tool made it, converge its
/// trust; otherwise leave it alone.
async fn adopt_role(
    clients: &Clients,
    plan: &RolePlan,
    run: &crate::aws::Run,
) -> Result<bool, Error> {
    let Some(role) = iam::get_role(&clients.iam, plan.role_name.as_str()).await? else {
        return Err(Error::Conflict(format!(
            "role {} was being created and deleted at the same time by another run; run this again",
            plan.role_name
        )));
    };
    if !role.managed {
        return Err(Error::NotManaged {
            kind: "role",
            name: plan.role_name.to_string(),
            flag: "--role-name",
        });
    }
    if !role
        .trust
        .as_ref()
        .is_some_and(|t| crate::policy::same(t, &plan.trust_policy))
    {
        iam::update_trust(&clients.iam, plan.role_name.as_str(), &plan.trust_policy).await?;
    }
    Ok(iam::made_by(&role.tags, run))
}

async fn converge_role(
    clients: &Clients,
    plan: &RolePlan,
    run: &crate::aws::Run,
) -> Result<(), AwsError> {
    let result = if plan.actions.contains(&Action::CreateRole) {
        let description =
            crate::template::role_description(plan.access, &plan.bucket, &plan.prefix);
        iam::create_role(
            &clients.iam,
            plan.role_name.as_str(),
            &plan.trust_policy,
            &description,
            &plan.guardrails,
            run,
        )
        .await
        .map(|_| ())
    } else if plan.actions.contains(&Action::UpdateTrust) {
        iam::update_trust(&clients.iam, plan.role_name.as_str(), &plan.trust_policy).await
    } else {
        Ok(())
    };
    result.map_err(|e| match e.kind {
        Kind::MalformedPolicy if e.message.to_lowercase().contains("principal") => e.with_fix(format!(
            "IAM does not know the principal arn:{}:iam::{}:root; check --tidb-account-id against the TiDB Cloud console",
            plan.partition, plan.tidb_account_id
        )),
        _ => e,
    })
}

/// What applying a stack came to.
struct StackApplied {
    changed: bool,
    stack: StackInfo,
}

/// Creates, updates or recreates the stack, and waits for it to settle.
async fn apply_stack(
    clients: &Clients,
    plan: &RolePlan,
    journal: &mut Journal,
    ctx: &Context,
    timeout: Duration,
    current: Option<&StackInfo>,
) -> Result<StackApplied, Error> {
    let mut described: Option<StackInfo> = None;
    let name = plan
        .stack_name
        .as_ref()
        .expect("a stack plan names its stack")
        .as_str();
    let template = crate::template::TEMPLATE;
    let hash = crate::template::hash();
    let params = &plan.stack_parameters;
    let mut changed = plan.changes();
    let run = crate::aws::Run::new();
    let recreate = plan.actions.iter().find_map(|a| match a {
        Action::RecreateStack { status } => Some(status.clone()),
        _ => None,
    });
    if let Some(status) = &recreate {
        let step = ctx.ui.step(format!("Deleting stack {name} ({status})"));
        match cloudformation::delete_stack_and_wait(&clients.cfn, name).await {
            Ok(()) => step.done("deleted"),
            Err(e) => {
                step.fail();
                return Err(e.into());
            }
        }
    }
    if plan.actions.contains(&Action::RecreateDeletedRole) {
        recreate_role(clients, plan, journal, ctx, &run).await?;
    }
    if plan.actions.contains(&Action::CreateStack) || recreate.is_some() {
        let entry = journal.begin(Resource::Stack {
            name: name.to_string(),
        });
        let created = cloudformation::create_stack(
            &clients.cfn,
            name,
            template,
            params,
            &hash,
            &plan.guardrails.tags,
            &run,
        )
        .await;
        journal.settle(entry, &created);
        if let Err(e) = &created {
            if e.kind == Kind::AlreadyExists {
                // The SDK retries a request whose answer was lost; the stack that then "already
                // exists" may be this run's own, as its run tag tells.
                let ours = cloudformation::describe_stack(&clients.cfn, name)
                    .await?
                    .is_some_and(|s| {
                        s.tags
                            .iter()
                            .any(|(k, v)| k == cloudformation::RUN_TAG && v == run.as_str())
                    });
                if !ours {
                    return Err(Error::Conflict(format!(
                        "another run is creating stack {name} right now; run this again once it settles (`aws cloudformation describe-stacks --stack-name {name}`)"
                    )));
                }
                journal.confirm(entry);
            } else {
                created?;
            }
        }
        let (ended, last) =
            watch(clients, name, crate::wait::Goal::Create, 0, timeout, ctx).await?;
        described = last;
        if let crate::wait::Ended::TimedOut { .. } = ended {
            // The stack goes on in AWS; deleting it now would race with it. Say where it is.
            journal.release(entry);
        }
        settled(name, &ended)?;
    } else if plan.actions.contains(&Action::UpdateStack) {
        // Events up to now belong to earlier operations.
        let since = cloudformation::stack_events(&clients.cfn, name)
            .await?
            .iter()
            .map(|e| e.timestamp + 1)
            .max()
            .unwrap_or(0);
        match cloudformation::update_stack(
            &clients.cfn,
            name,
            template,
            params,
            &hash,
            &plan.guardrails.tags,
            &run,
        )
        .await?
        {
            cloudformation::Update::NothingToChange => changed = false,
            cloudformation::Update::Started => {
                let (ended, last) = watch(
                    clients,
                    name,
                    crate::wait::Goal::Update,
                    since,
                    timeout,
                    ctx,
                )
                .await?;
                described = last;
                // "As before" only when CloudFormation says the rollback completed.
                settled(name, &ended).map_err(|e| match (&ended, e) {
                    (crate::wait::Ended::Failed { status, .. }, Error::Stack(msg))
                        if status == "UPDATE_ROLLBACK_COMPLETE" =>
                    {
                        Error::Stack(format!(
                            "{msg}\nCloudFormation rolled the update back: the role is as it was before this run"
                        ))
                    }
                    (crate::wait::Ended::Failed { status, .. }, Error::Stack(msg))
                        if status == "UPDATE_ROLLBACK_FAILED" =>
                    {
                        Error::Stack(format!(
                            "{msg}\nCloudFormation could not roll the update back, so the role may be half-changed\n  fix: aws cloudformation continue-update-rollback --stack-name {name}, then run this again"
                        ))
                    }
                    (_, e) => e,
                })?;
            }
        }
    }
    for action in &plan.actions {
        if let Action::RestoreRole { drift } = action {
            restore(clients, plan.role_name.as_str(), drift, ctx).await?;
            changed = true;
        }
    }
    // The last poll already described the stack; otherwise (nothing changed) the plan did.
    let stack = match described.or_else(|| current.cloned()) {
        Some(stack) => stack,
        None => cloudformation::describe_stack(&clients.cfn, name)
            .await?
            .ok_or_else(|| {
                Error::Stack(format!("stack {name} disappeared while it was being read"))
            })?,
    };
    ctx.stop.check()?;
    Ok(StackApplied { changed, stack })
}

/// Makes the stack's role again through IAM, as its template has it: the trust, the inline
/// policy, the path, the boundary and the template's tags (the stack's tags as well, which
/// CloudFormation passes on to what it makes). The stack knows its role by name, so it holds
/// this one again. Journaled, so a later failure in this run removes it again.
async fn recreate_role(
    clients: &Clients,
    plan: &RolePlan,
    journal: &mut Journal,
    ctx: &Context,
    run: &crate::aws::Run,
) -> Result<(), Error> {
    let role = plan.role_name.as_str();
    let step = ctx.ui.step(format!("Creating role {role} again"));
    let mut guard = plan.guardrails.clone();
    let stack = plan.stack_name.as_ref().map(ToString::to_string);
    let owner = [
        (iam::STACK_TAG, stack),
        (iam::STACK_REGION_TAG, plan.stack_region.clone()),
    ];
    for (key, value) in owner {
        if let Some(value) = value {
            guard.recorded.retain(|t| t.key != key);
            guard.recorded.push(crate::inputs::TagPair {
                key: key.into(),
                value,
            });
        }
    }
    let description = crate::template::role_description(plan.access, &plan.bucket, &plan.prefix);
    let entry = journal.begin(Resource::Role {
        name: role.to_string(),
    });
    let created = iam::create_role(
        &clients.iam,
        role,
        &plan.trust_policy,
        &description,
        &guard,
        run,
    )
    .await;
    journal.settle(entry, &created);
    let made = match created {
        Ok(_) => {
            let entry = journal.begin(Resource::RolePolicy {
                role: role.to_string(),
                name: plan.policy_name.to_string(),
            });
            let put = iam::put_role_policy(
                &clients.iam,
                role,
                plan.policy_name.as_str(),
                &plan.permissions_policy,
            )
            .await;
            journal.settle(entry, &put);
            put
        }
        Err(e) => Err(e),
    };
    match made {
        Ok(()) => {
            step.done("created");
            Ok(())
        }
        Err(e) => {
            step.fail();
            Err(match e.kind {
                Kind::AlreadyExists => Error::Conflict(format!(
                    "role {role} exists after all: another run or CloudFormation made it a moment ago (IAM shows new roles after a delay); run this again once it settles"
                )),
                _ => e.into(),
            })
        }
    }
}

/// Writes back, through IAM, what was changed on the stack's role outside CloudFormation,
/// as the template has it; the stack is then in sync again without an update.
async fn restore(
    clients: &Clients,
    role: &str,
    drift: &[crate::plan::Drift],
    ctx: &Context,
) -> Result<(), Error> {
    use crate::plan::Drift;
    for d in drift {
        ctx.stop.check()?;
        let step = ctx
            .ui
            .step(format!("Restoring {} of role {role}", d.describe()));
        let done = match d {
            Drift::Trust { template, .. } => iam::update_trust(&clients.iam, role, template).await,
            Drift::Policy { name, template, .. } => {
                iam::put_role_policy(&clients.iam, role, name, template).await
            }
            Drift::Boundary {
                template: Some(arn),
                ..
            } => iam::put_boundary(&clients.iam, iam::Principal::Role(role), arn).await,
            Drift::Boundary { template: None, .. } => {
                iam::delete_role_boundary(&clients.iam, role).await
            }
            Drift::Tags { missing } => {
                iam::tag_principal(&clients.iam, iam::Principal::Role(role), missing).await
            }
        };
        match done {
            Ok(()) => step.done("restored"),
            Err(e) => {
                step.fail();
                return Err(e.into());
            }
        }
    }
    Ok(())
}

async fn watch(
    clients: &Clients,
    name: &str,
    goal: crate::wait::Goal,
    since_ms: i64,
    timeout: Duration,
    ctx: &Context,
) -> Result<(crate::wait::Ended, Option<StackInfo>), Error> {
    let step = ctx.ui.step(format!("Waiting for stack {name}"));
    let mut source = crate::wait::Live {
        client: &clients.cfn,
        stack: name.to_string(),
        last: None,
    };
    let ended = crate::wait::wait(&mut source, goal, since_ms, timeout, &ctx.stop, |e| {
        let reason = e
            .reason
            .as_deref()
            .map(|r| format!(": {r}"))
            .unwrap_or_default();
        step.set(format!(
            "{} {} {}{reason}",
            e.logical_id, e.resource_type, e.status
        ));
    })
    .await;
    match &ended {
        Ok(crate::wait::Ended::Succeeded { status }) => step.done(status),
        _ => step.fail(),
    }
    Ok((ended?, source.last))
}

fn settled(name: &str, ended: &crate::wait::Ended) -> Result<(), Error> {
    match ended {
        crate::wait::Ended::Succeeded { .. } => Ok(()),
        crate::wait::Ended::Interrupted { signal, .. } => {
            Err(Error::Interrupted(format!(" by {signal}")))
        }
        other => Err(Error::Stack(other.explain(name))),
    }
}

/// The text form: the Role ARN alone, for `ARN=$(serverless-s3-setup role …)`.
pub fn render_text(ctx: &Context, report: &RoleReport) -> String {
    match report {
        RoleReport::Plan { plan, .. } => render_role_plan(&ctx.ui, plan),
        RoleReport::Done(outcome) => outcome.role_arn.clone(),
    }
}

/// The flags that repeat this setup without a question: for CI. No secret is in it.
pub fn ci_command(ctx: &Context, o: &RoleOutcome) -> String {
    let uri = crate::output::uri(&o.bucket, &o.prefix);
    let mut words: Vec<String> = [
        "serverless-s3-setup",
        "role",
        "--method",
        match o.method {
            Method::Iam => "iam",
            Method::Cloudformation => "cloudformation",
        },
        "--uri",
        &uri,
        "--access",
        o.access.as_str(),
        "--tidb-account-id",
        o.tidb_account_id.as_str(),
    ]
    .map(str::to_string)
    .to_vec();
    match &o.external_id {
        Some(id) => words.extend(["--external-id".into(), id.to_string()]),
        None => words.push("--no-external-id".into()),
    }
    // Dedicated's extra permission (s3:GetBucketLocation) must survive a rerun in CI.
    if o.tier != Tier::default() {
        words.extend(["--tier".into(), o.tier.to_string()]);
    }
    words.extend(["--role-name".into(), o.role_name.to_string()]);
    words.extend(["--policy-name".into(), o.policy_name.to_string()]);
    if let Some(stack) = &o.stack_name {
        words.extend(["--stack-name".into(), stack.to_string()]);
    }
    // Every key granted, so that a rerun keeps extra keys given by hand (the bucket's own key
    // would be found again anyway).
    for key in &o.kms_keys {
        words.extend(["--kms-key".into(), key.to_string()]);
    }
    // The guardrails too, so that a rerun in CI keeps the role within them.
    words.extend(o.guardrails.flags());
    // The stack's region is pinned, so that CI finds the stack wherever its AWS_REGION points.
    words.extend(crate::output::connection_flags(
        &ctx.conn,
        o.stack_region.as_deref(),
    ));
    words.push("--yes".into());
    crate::output::command_line(words.iter().map(String::as_str))
}

/// Where to paste the result, on stderr.
pub fn next_steps(ctx: &Context, report: &RoleReport) {
    let RoleReport::Done(outcome) = report else {
        return;
    };
    let console = crate::handoff::console(
        outcome.tier,
        outcome.access,
        crate::handoff::Credential::RoleArn(&outcome.role_arn),
    );
    // The ARN is the result, on stdout. When stdout is the screen it is right above; when it is
    // captured (`ARN=$(…)`), the person at the terminal sees it here instead: once either way.
    match std::io::stdout().is_terminal() {
        true => ctx
            .ui
            .info(format!("\nNext: {console} (the Role ARN above).")),
        false => ctx.ui.info(format!(
            "\n{} {}\nNext: {console}.",
            ctx.ui.bold("Role ARN:"),
            outcome.role_arn
        )),
    }
    if !outcome.next_command.is_empty() {
        ctx.ui.info(format!(
            "Or with the TiDB Cloud CLI:\n  {}",
            outcome.next_command.join("\n  ")
        ));
    }
    if ctx.can_prompt {
        ctx.ui.info(format!(
            "To repeat this setup in CI, without questions:\n  {}",
            ci_command(ctx, outcome)
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aws::Connection;
    use crate::output::{Format, Ui};

    #[test]
    fn the_ci_command_repeats_every_choice_and_quotes_what_needs_it() {
        let ctx = Context {
            conn: Connection {
                profile: Some("prod".into()),
                region: None,
                endpoint_url: None,
            },
            format: Format::Text,
            yes: false,
            dry_run: false,
            no_input: false,
            can_prompt: true,
            ui: Ui::plain(),
            stop: Default::default(),
        };
        let outcome = RoleOutcome {
            role_arn: "arn:aws:iam::123456789012:role/r".into(),
            policy_arn: None,
            role_name: "r".parse().unwrap(),
            policy_name: "r-policy".parse().unwrap(),
            bucket: "bkt1".into(),
            prefix: "my dir".into(),
            access: Access::Export,
            kms_keys: vec!["arn:aws:kms:us-east-1:123456789012:key/k1".parse().unwrap()],
            changed: true,
            method: Method::Cloudformation,
            account_id: None,
            bucket_region: None,
            tidb_account_id: "380838443567".parse().unwrap(),
            external_id: Some("ext-1".parse().unwrap()),
            actions: vec![],
            stack_name: Some("r".parse().unwrap()),
            stack_region: Some("us-east-1".into()),
            stack_id: None,
            verify: crate::verify::Report::pending(),
            guardrails: Guardrails::new(
                None,
                Some("/tidb/".parse().unwrap()),
                vec!["team=data eng".parse().unwrap()],
            )
            .unwrap(),
            tier: Tier::Starter,
            external_ids: vec![],
            losing_access: vec![],
            next_command: vec![],
        };
        assert_eq!(
            ci_command(&ctx, &outcome),
            "serverless-s3-setup role --method cloudformation --uri 's3://bkt1/my dir/' --access export \
             --tidb-account-id 380838443567 --external-id ext-1 --role-name r --policy-name r-policy \
             --stack-name r --kms-key arn:aws:kms:us-east-1:123456789012:key/k1 --path /tidb/ \
             --tag 'team=data eng' --profile prod --region us-east-1 --yes"
        );
        let dedicated = RoleOutcome {
            tier: Tier::Dedicated,
            access: Access::Import,
            ..outcome
        };
        assert!(
            ci_command(&ctx, &dedicated).contains(" --access import --tidb-account-id 380838443567 --external-id ext-1 --tier dedicated "),
            "{}",
            ci_command(&ctx, &dedicated)
        );
    }
}
