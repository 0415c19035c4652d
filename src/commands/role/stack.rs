//! The CloudFormation path: create, update or recreate the stack and wait for it; repair
//! what was changed on its role outside CloudFormation.

use std::time::Duration;

use crate::apply::journal::{Journal, Resource};
use crate::apply::wait;
use crate::aws::cloudformation;
use crate::aws::iam;
use crate::aws::Clients;
use crate::error::{Error, Kind};
use crate::facts::StackInfo;
use crate::inputs::{RoleName, Who};
use crate::plan::{Action, RolePlan, RoleRemake, StackSpec};
use crate::Context;

/// What applying a stack came to.
pub(super) struct StackApplied {
    pub(super) changed: bool,
    pub(super) stack: StackInfo,
}

/// Creates, updates or recreates the stack, and waits for it to settle: each as its action
/// in the plan has it.
pub(super) async fn apply_stack(
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
    let mut changed = plan.changes();
    let run = crate::aws::Run::new();
    let actions = &plan.grant.actions;
    let recreate = actions.iter().find_map(|a| match a {
        Action::RecreateStack { status, stack } => Some((status, stack)),
        _ => None,
    });
    if let Some((status, _)) = recreate {
        let step = ctx.ui.step(format!("Deleting stack {name} ({status})"));
        let deleted = cloudformation::delete_stack_and_wait(&clients.cfn, name).await;
        step.end(deleted, |_| "deleted".into())?;
    }
    for action in actions {
        if let Action::RecreateDeletedRole(remake) = action {
            recreate_role(clients, remake, journal, ctx, &run).await?;
        }
    }
    let create = actions
        .iter()
        .find_map(|a| match a {
            Action::CreateStack(spec) => Some(spec),
            _ => None,
        })
        .or_else(|| recreate.map(|(_, spec)| spec));
    let update = actions.iter().find_map(|a| match a {
        Action::UpdateStack(spec) => Some(spec),
        _ => None,
    });
    if let Some(spec) = create {
        described = create_stack(clients, spec, journal, ctx, timeout, &run).await?;
    } else if let Some(spec) = update {
        match update_stack(clients, spec, ctx, timeout, &run).await? {
            Some(last) => described = last,
            // CloudFormation found nothing to change.
            None => changed = false,
        }
    }
    for action in actions {
        if let Action::RestoreRole { name, drift } = action {
            restore(clients, name, drift, ctx).await?;
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

/// Creates the stack as `spec` has it and waits for it; the last description of it.
async fn create_stack(
    clients: &Clients,
    spec: &StackSpec,
    journal: &mut Journal,
    ctx: &Context,
    timeout: Duration,
    run: &crate::aws::Run,
) -> Result<Option<StackInfo>, Error> {
    let name = spec.stack.as_str();
    let entry = journal.begin(Resource::Stack {
        name: name.to_string(),
    });
    let created = cloudformation::create_stack(&clients.cfn, write(spec, run)).await;
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
    let (ended, last) = watch(clients, name, wait::Goal::Create, 0, timeout, ctx).await?;
    if let wait::Ended::TimedOut { .. } = ended {
        // The stack goes on in AWS; deleting it now would race with it. Say where it is.
        journal.release(entry);
    }
    settled(name, &ended)?;
    Ok(last)
}

/// Updates the stack as `spec` has it and waits for it; the last description of it, or `None`
/// when CloudFormation found nothing to change.
async fn update_stack(
    clients: &Clients,
    spec: &StackSpec,
    ctx: &Context,
    timeout: Duration,
    run: &crate::aws::Run,
) -> Result<Option<Option<StackInfo>>, Error> {
    let name = spec.stack.as_str();
    // Events up to now belong to earlier operations.
    let since = cloudformation::after_latest_event(&clients.cfn, name).await?;
    match cloudformation::update_stack(&clients.cfn, write(spec, run)).await? {
        cloudformation::Update::NothingToChange => Ok(None),
        cloudformation::Update::Started => {
            let (ended, last) =
                watch(clients, name, wait::Goal::Update, since, timeout, ctx).await?;
            // "As before" only when CloudFormation says the rollback completed.
            settled(name, &ended).map_err(|e| match (&ended, e) {
                (wait::Ended::Failed { status, .. }, Error::Stack(msg))
                    if status == "UPDATE_ROLLBACK_COMPLETE" =>
                {
                    Error::Stack(format!(
                        "{msg}\nCloudFormation rolled the update back: the role is as it was before this run"
                    ))
                }
                (wait::Ended::Failed { status, .. }, Error::Stack(msg))
                    if status == "UPDATE_ROLLBACK_FAILED" =>
                {
                    Error::Stack(format!(
                        "{msg}\nCloudFormation could not roll the update back, so the role may be half-changed\n  fix: aws cloudformation continue-update-rollback --stack-name {name}, then run this again"
                    ))
                }
                (_, e) => e,
            })?;
            Ok(Some(last))
        }
    }
}

/// What CreateStack or UpdateStack sends for `spec`: the embedded template, whose hash the plan
/// named (a saved plan made by another build is refused before this).
fn write<'a>(spec: &'a StackSpec, run: &'a crate::aws::Run) -> cloudformation::StackWrite<'a> {
    cloudformation::StackWrite {
        name: spec.stack.as_str(),
        template: crate::template::TEMPLATE,
        params: &spec.parameters,
        template_hash: &spec.template_hash,
        extra_tags: &spec.tags,
        run,
    }
}

/// Makes the stack's role again through IAM, as the plan has it. The stack knows its role by
/// name, so it holds this one again. Journaled, so a later failure in this run removes it
/// again.
async fn recreate_role(
    clients: &Clients,
    remake: &RoleRemake,
    journal: &mut Journal,
    ctx: &Context,
    run: &crate::aws::Run,
) -> Result<(), Error> {
    let RoleRemake {
        name,
        trust,
        policy,
        permissions,
        description,
        guard,
    } = remake;
    let role = name.as_str();
    let step = ctx.ui.step(format!("Creating role {role} again"));
    let entry = journal.begin(Resource::Role {
        name: role.to_string(),
    });
    let created = iam::create_role(&clients.iam, role, trust, description, guard, run).await;
    journal.settle(entry, &created);
    let made = match created {
        Ok(_) => {
            let entry = journal.begin(Resource::RolePolicy {
                role: name.clone(),
                name: policy.to_string(),
            });
            let put = iam::put_role_policy(&clients.iam, role, policy.as_str(), permissions).await;
            journal.settle(entry, &put);
            put
        }
        Err(e) => Err(e),
    };
    step.end(made, |_| "created".into()).map_err(|e| match e.kind {
        Kind::AlreadyExists => Error::Conflict(format!(
            "role {role} exists after all: another run or CloudFormation made it a moment ago (IAM shows new roles after a delay); run this again once it settles"
        )),
        _ => e.into(),
    })
}

/// Writes back, through IAM, what was changed on the stack's role outside CloudFormation,
/// as the template has it; the stack is then in sync again without an update.
async fn restore(
    clients: &Clients,
    name: &RoleName,
    drift: &[crate::plan::Drift],
    ctx: &Context,
) -> Result<(), Error> {
    use crate::plan::Drift;
    let (role, who) = (name.as_str(), Who::Role(name.clone()));
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
            } => iam::put_boundary(&clients.iam, &who, arn).await,
            Drift::Boundary { template: None, .. } => {
                iam::delete_role_boundary(&clients.iam, role).await
            }
            Drift::Tags { missing } => iam::tag_principal(&clients.iam, &who, missing).await,
        };
        step.end(done, |_| "restored".into())?;
    }
    Ok(())
}

async fn watch(
    clients: &Clients,
    name: &str,
    goal: wait::Goal,
    since_ms: i64,
    timeout: Duration,
    ctx: &Context,
) -> Result<(wait::Ended, Option<StackInfo>), Error> {
    let step = ctx.ui.step(format!("Waiting for stack {name}"));
    let mut source = wait::Live {
        client: &clients.cfn,
        stack: name.to_string(),
        last: None,
    };
    let ended = wait::wait(&mut source, goal, since_ms, timeout, &ctx.stop, |e| {
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
        Ok(wait::Ended::Succeeded { status }) => step.done(status),
        _ => step.fail(),
    }
    Ok((ended?, source.last))
}

fn settled(name: &str, ended: &wait::Ended) -> Result<(), Error> {
    match ended {
        wait::Ended::Succeeded { .. } => Ok(()),
        wait::Ended::Interrupted { signal, .. } => Err(Error::Interrupted(format!(" by {signal}"))),
        other => Err(Error::Stack(other.explain(name))),
    }
}
