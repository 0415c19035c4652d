//! A stack's teardown: CloudFormation deletes the stack and its role, once what someone added
//! to the role by hand is taken off it.

use crate::apply::wait::{self, Goal};
use crate::aws::{cloudformation, iam, Clients};
use crate::error::{AwsError, Error, Kind};
use crate::inputs::{RoleName, Who};
use crate::plan::Teardown;
use crate::prompt::Prompter;
use crate::{apply, plan, wizard, Context};

use super::{nothing, TeardownOutcome};

pub(crate) async fn stack(
    ctx: &Context,
    clients: &Clients,
    prompter: &mut dyn Prompter,
    name: &str,
    force: bool,
) -> Result<TeardownOutcome, Error> {
    let target = format!("stack {name}");
    let Some(info) = cloudformation::describe_stack(&clients.cfn, name).await? else {
        return no_stack(ctx, clients, name, target).await;
    };
    if !info.managed && !force {
        return Err(plan::teardown::refuse(target));
    }
    // The role may be gone already (deleted by hand): the plan says so, and CloudFormation's
    // delete passes over it. Read beside it: what someone added to the role by hand, and where
    // this deletion's events will start.
    let role_name = info.parameter("RoleName");
    let (held, added, since) = tokio::join!(
        async {
            match role_name {
                Some(role) => iam::get_role(&clients.iam, role).await.map(|r| r.is_some()),
                None => Ok(true),
            }
        },
        added_by_hand(ctx, clients, role_name, info.parameter("PolicyName")),
        cloudformation::after_latest_event(&clients.cfn, name)
    );
    let (held, added, since) = (held?, added?, since?);
    let role = info.outputs.get("RoleArn").filter(|_| held);
    let gone = match (role, role_name) {
        (None, Some(name)) => format!(" (its role {name} is gone already)"),
        _ => String::new(),
    };
    let lines: Vec<String> = (added.lines.iter().cloned())
        .chain(std::iter::once(format!("delete stack {name}{gone}")))
        .chain(role.map(|arn| format!("with it, delete role {arn}")))
        .collect();
    if !wizard::confirm_deletion(ctx, prompter, &lines)? {
        return Ok(TeardownOutcome::dry_run(target, &lines));
    }
    ctx.stop.begin_changes();
    if !added.is_empty() {
        let role = role_name.unwrap_or_default();
        let step = ctx
            .ui
            .step(format!("Taking off role {role} what was added by hand"));
        let result = apply::teardown(clients, &added, &ctx.stop).await;
        let result = result.map_err(|partway| {
            let what = format!("stack {name}, and with it role {role}");
            let region = clients.stacks_region();
            let by_hand =
                format!("aws cloudformation delete-stack --stack-name {name} --region {region}");
            let partway = partway.then(what, by_hand);
            partway.error(ctx.conn.profile.as_deref())
        });
        step.end(result, |_| "done".into())?;
    }
    delete_and_wait(ctx, clients, name, &info.id, since).await?;
    let deleted = (added.reported.into_iter())
        .chain(std::iter::once(format!("stack {name}")))
        .chain(role.map(|arn| format!("with it, role {arn}")))
        .collect();
    Ok(TeardownOutcome::done(target, deleted))
}

/// Deletes the stack and waits for CloudFormation to finish, drawing the events from `since`
/// (this deletion's own). Ctrl-C ends the wait; the deletion goes on in AWS.
async fn delete_and_wait(
    ctx: &Context,
    clients: &Clients,
    name: &str,
    id: &str,
    since: i64,
) -> Result<(), Error> {
    cloudformation::delete_stack(&clients.cfn, name).await?;
    let step = ctx.ui.step(format!("Deleting stack {name}"));
    let mut source = wait::Live {
        client: &clients.cfn,
        stack: id.to_string(),
        last: None,
    };
    let ended = wait::wait(
        &mut source,
        Goal::Delete,
        since,
        wait::DEFAULT_TIMEOUT,
        &ctx.stop,
        |e| {
            step.set(format!("{} {} {}", e.logical_id, e.resource_type, e.status));
        },
    )
    .await;
    let settled = match ended {
        Ok(wait::Ended::Succeeded { .. }) => Ok(()),
        Ok(wait::Ended::Interrupted { signal, .. }) => Err(Error::Interrupted(format!(
            " by {signal}; CloudFormation goes on deleting stack {name}"
        ))),
        Ok(other) => Err(Error::Stack(other.explain(name))),
        Err(e) => Err(e.into()),
    };
    step.end(settled, |_| "DELETE_COMPLETE".into())
}

/// What someone added to the stack's role by hand (managed policies attached, inline policies
/// other than the stack's, instance profiles), planned to be taken off before CloudFormation
/// deletes the role. A role that is gone holds nothing; a caller refused these reads is warned,
/// and the stack's deletion says if anything stands in the way.
async fn added_by_hand(
    ctx: &Context,
    clients: &Clients,
    role: Option<&str>,
    own: Option<&str>,
) -> Result<Teardown, Error> {
    let Some(role) = role.and_then(|r| r.parse::<RoleName>().ok()) else {
        return Ok(Teardown::default());
    };
    let who = Who::Role(role.clone());
    let (attached, inline, profiles) = tokio::join!(
        iam::attached(&clients.iam, &who),
        iam::inline_names(&clients.iam, &who),
        iam::role_instance_profiles(&clients.iam, role.as_str())
    );
    let read = (|| Ok::<_, AwsError>((attached?, inline?, profiles?)))();
    match read {
        Ok((attached, inline, profiles)) => Ok(plan::teardown::stack_role_additions(
            &role, own, &attached, &inline, &profiles,
        )),
        Err(e) if e.kind == Kind::NoSuchEntity => Ok(Teardown::default()),
        Err(e) if e.is_access_denied() => {
            ctx.ui.warn(format!("could not read what role {role} holds besides the stack's own policy ({} was denied); CloudFormation cannot delete the role while someone's additions are on it", e.operation));
            Ok(Teardown::default())
        }
        Err(e) => Err(e.into()),
    }
}

/// No stack of that name here: the role of that name may be this tool's all the same, made
/// with `--method iam`, by a stack in another region, or left behind by a stack that is gone.
/// Say which, and what removes it.
async fn no_stack(
    ctx: &Context,
    clients: &Clients,
    name: &str,
    target: String,
) -> Result<TeardownOutcome, Error> {
    let Some(role) = iam::get_role(&clients.iam, name).await? else {
        return Ok(nothing(ctx, target));
    };
    if !role.managed {
        return Ok(nothing(ctx, target));
    }
    // The wrong flag or region for what the name is: usage, and nothing is changed.
    let Some(stack) = &role.stack else {
        return Err(Error::invalid("--stack-name", format!(
            "there is no stack {name}, but role {name} is this tool's, made with --method iam\n  fix: serverless-s3-setup teardown --role-name {name}"
        )));
    };
    let region = role
        .stack_region
        .as_deref()
        .unwrap_or_else(|| clients.stacks_region());
    if is_gone(clients, stack, Some(region)).await? {
        return Err(Error::invalid("--stack-name", format!(
            "there is no stack {name}, and role {name} was left behind by its stack {stack} in {region}, which is gone (deleted with the role retained, or by hand)\n  fix: serverless-s3-setup teardown --role-name {name}"
        )));
    }
    Err(Error::invalid("--stack-name", format!(
        "there is no stack {name} in {}, but role {name} belongs to stack {stack} in {region}; stacks are regional\n  fix: serverless-s3-setup teardown --stack-name {stack} --region {region}",
        clients.stacks_region(),
    )))
}

/// Whether the stack a role's tags name is gone from its region (`None`: the one stacks are
/// looked for in). A caller refused the read is told the stack is there, so that the role is
/// left to it, as before.
pub(super) async fn is_gone(
    clients: &Clients,
    stack: &str,
    region: Option<&str>,
) -> Result<bool, Error> {
    let region = region.unwrap_or_else(|| clients.stacks_region());
    match cloudformation::describe_stack(&clients.cfn_in(region), stack).await {
        Ok(found) => Ok(found.is_none()),
        Err(e) if e.is_access_denied() => Ok(false),
        Err(e) => Err(e.into()),
    }
}
