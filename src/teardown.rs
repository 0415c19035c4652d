//! `teardown`: removes what the tool made (a stack, a role and its policy, or a user, its keys
//! and its policy) in the order AWS requires, whether or not the endpoint enforces it.

use serde::Serialize;

use crate::access_key::{self, DeleteRequest};
use crate::aws::cloudformation;
use crate::aws::iam::{self, PolicyInfo};
use crate::aws::Clients;
use crate::error::Error;
use crate::inputs::{RoleName, StackName, UserName};
use crate::prompt::Prompter;
use crate::wait::{self, Goal};
use crate::{apply, wizard, Context};

/// What to tear down.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    Role(RoleName),
    Stack(StackName),
    User(UserName),
}

#[derive(Debug, Clone, Default)]
pub struct TeardownRequest {
    pub target: Option<Target>,
    /// Delete even what lacks the managed-by=serverless-s3-setup tag.
    pub force: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct TeardownOutcome {
    pub target: String,
    pub deleted: Vec<String>,
    pub changed: bool,
}

fn refuse(what: String) -> Error {
    Error::Conflict(format!(
        "{what} has no managed-by=serverless-s3-setup tag, so teardown leaves it alone\n  fix: pass --force to delete it anyway"
    ))
}

pub async fn run(
    ctx: &Context,
    req: TeardownRequest,
    prompter: &mut dyn Prompter,
) -> Result<TeardownOutcome, Error> {
    let Some(target) = req.target else {
        return Err(Error::Missing {
            flags: vec!["one of --role-name, --stack-name or --user-name".into()],
            hint: String::new(),
        });
    };
    wizard::require_flags(ctx, Vec::new(), wizard::Intent::Delete)?;
    if let Target::User(name) = target {
        let outcome = access_key::delete(
            ctx,
            DeleteRequest {
                user_name: Some(name.clone()),
                access_key_id: None,
                with_user: true,
                force: req.force,
            },
            prompter,
        )
        .await?;
        return Ok(TeardownOutcome {
            target: format!("user {name}"),
            changed: outcome.changed,
            deleted: outcome.deleted,
        });
    }
    let clients = Clients::connect(&ctx.conn, &ctx.ui).await?;
    match target {
        Target::Stack(name) => stack(ctx, &clients, prompter, name.as_str(), req.force).await,
        Target::Role(name) => role(ctx, &clients, prompter, name.as_str(), req.force).await,
        Target::User(_) => unreachable!("handled above"),
    }
}

/// The tool-made policy of the default name (`NAME-policy`) when it is attached to nothing.
pub(crate) async fn orphaned_policy(
    clients: &Clients,
    owner_arn: &str,
    owner: &str,
) -> Result<Option<PolicyInfo>, Error> {
    let mut parts = owner_arn.split(':');
    let (Some(partition), Some(account)) = (parts.nth(1), parts.nth(2)) else {
        return Ok(None);
    };
    // The tool puts a policy at its role's or user's path.
    let path = crate::inputs::IamPath::of_arn(owner_arn).unwrap_or_default();
    let arn = format!(
        "arn:{partition}:iam::{account}:policy{path}{}",
        crate::inputs::defaults::policy_name(owner)
    );
    Ok(iam::get_policy(&clients.iam, &arn)
        .await?
        .filter(|p| p.managed && p.attachments == 0))
}

/// No stack of that name here: the role of that name may be this tool's all the same, made
/// with `--method iam`, or by a stack in another region. Say where it is and what removes it.
async fn no_stack(
    ctx: &Context,
    clients: &Clients,
    name: &str,
    target: String,
) -> Result<TeardownOutcome, Error> {
    match iam::get_role(&clients.iam, name).await? {
        Some(role) if role.managed => match (&role.stack, &role.stack_region) {
            (Some(stack), region) => Err(Error::Conflict(format!(
                "stack {name} is not in this region ({}), but role {name} belongs to stack {stack}{}; stacks are regional\n  fix: serverless-s3-setup teardown --stack-name {stack} --region {}",
                clients.region(),
                region.as_deref().map(|r| format!(" in {r}")).unwrap_or_default(),
                region.as_deref().unwrap_or("REGION"),
            ))),
            (None, _) => Err(Error::Conflict(format!(
                "there is no stack {name}, but role {name} is this tool's, made with --method iam\n  fix: serverless-s3-setup teardown --role-name {name}"
            ))),
        },
        _ => Ok(nothing(ctx, target)),
    }
}

fn nothing(ctx: &Context, target: String) -> TeardownOutcome {
    ctx.ui
        .info(format!("nothing to delete: {target} does not exist"));
    TeardownOutcome {
        target,
        deleted: Vec::new(),
        changed: false,
    }
}

async fn stack(
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
        return Err(refuse(target));
    }
    let mut steps = vec![format!("stack {name}")];
    if let Some(arn) = info.outputs.get("RoleArn") {
        steps.push(format!("with it, role {arn}"));
    }
    if !wizard::confirm_deletion(ctx, prompter, &steps)? {
        return Ok(TeardownOutcome {
            target,
            deleted: Vec::new(),
            changed: false,
        });
    }
    // Only this deletion's events are shown: those after the last one so far.
    let since = cloudformation::stack_events(&clients.cfn, name)
        .await?
        .iter()
        .map(|e| e.timestamp + 1)
        .max()
        .unwrap_or(0);
    ctx.stop.begin_changes();
    cloudformation::delete_stack(&clients.cfn, name).await?;
    let step = ctx.ui.step(format!("Deleting stack {name}"));
    let mut source = wait::Live {
        client: &clients.cfn,
        stack: info.id.clone(),
        last: None,
    };
    let ended = wait::wait(
        &mut source,
        Goal::Delete,
        since,
        crate::role::DEFAULT_TIMEOUT,
        &ctx.stop,
        |e| {
            step.set(format!("{} {} {}", e.logical_id, e.resource_type, e.status));
        },
    )
    .await;
    match ended {
        Ok(wait::Ended::Succeeded { .. }) => step.done("DELETE_COMPLETE"),
        Ok(wait::Ended::Interrupted { signal, .. }) => {
            step.fail();
            return Err(Error::Interrupted(format!(
                " by {signal}; CloudFormation goes on deleting stack {name}"
            )));
        }
        Ok(other) => {
            step.fail();
            return Err(Error::Stack(other.explain(name)));
        }
        Err(e) => {
            step.fail();
            return Err(e.into());
        }
    }
    Ok(TeardownOutcome {
        target,
        deleted: steps,
        changed: true,
    })
}

async fn role(
    ctx: &Context,
    clients: &Clients,
    prompter: &mut dyn Prompter,
    name: &str,
    force: bool,
) -> Result<TeardownOutcome, Error> {
    let target = format!("role {name}");
    let Some(info) = iam::get_role(&clients.iam, name).await? else {
        // The role may be gone while its policy stayed (a teardown cut short, or a role
        // deleted by hand).
        let caller = crate::aws::sts::caller_identity(&clients.sts).await?;
        let owner = format!(
            "arn:{}:iam::{}:role/{name}",
            caller.partition, caller.account
        );
        if let Some(orphan) = orphaned_policy(clients, &owner, name).await? {
            let steps = vec![format!("policy {} (left without its role)", orphan.arn)];
            if !wizard::confirm_deletion(ctx, prompter, &steps)? {
                return Ok(TeardownOutcome {
                    target,
                    deleted: Vec::new(),
                    changed: false,
                });
            }
            ctx.stop.begin_changes();
            apply::delete_policy(clients, &orphan.arn).await?;
            return Ok(TeardownOutcome {
                target,
                deleted: steps,
                changed: true,
            });
        }
        return Ok(nothing(ctx, target));
    };
    if !info.managed && !force {
        return Err(refuse(target));
    }
    if let Some(stack) = &info.stack {
        let region = info
            .stack_region
            .as_deref()
            .map(|r| format!(" --region {r}"))
            .unwrap_or_default();
        return Err(Error::Conflict(format!(
            "role {name} belongs to CloudFormation stack {stack}; deleting it alone would leave the stack broken\n  fix: serverless-s3-setup teardown --stack-name {stack}{region}"
        )));
    }
    let (attached, inline, profiles) = tokio::join!(
        iam::attached_role_policies(&clients.iam, name),
        iam::role_inline_policies(&clients.iam, name),
        iam::role_instance_profiles(&clients.iam, name)
    );
    let (attached, inline, profiles) = (attached?, inline?, profiles?);
    let mut policies: Vec<PolicyInfo> = Vec::new();
    for arn in &attached {
        if let Some(p) = iam::get_policy(&clients.iam, arn).await? {
            policies.push(p);
        }
    }
    // A teardown cut short between detaching the policy and deleting it leaves the policy on
    // its own; the default name finds it again.
    let default_name = format!("/{}", crate::inputs::defaults::policy_name(name));
    if !attached.iter().any(|a| a.ends_with(&default_name)) {
        if let Some(orphan) = orphaned_policy(clients, &info.arn, name).await? {
            policies.push(orphan);
        }
    }
    // Only a policy this tool made, and that nothing else uses, goes with the role.
    let deletes = |p: &PolicyInfo| p.managed && p.attachments <= 1;
    let detaches = |p: &PolicyInfo| attached.contains(&p.arn);
    let mut steps: Vec<String> = profiles
        .iter()
        .map(|p| format!("role {name} from instance profile {p}"))
        .collect();
    steps.extend(inline.iter().map(|p| format!("inline policy {p}")));
    for p in &policies {
        steps.push(match deletes(p) {
            true => format!("policy {} (detached, then deleted)", p.arn),
            false => format!("attachment of policy {} (the policy stays: it is not this tool's, or is used elsewhere)", p.arn),
        });
    }
    steps.push(format!("role {name}"));
    if !wizard::confirm_deletion(ctx, prompter, &steps)? {
        return Ok(TeardownOutcome {
            target,
            deleted: Vec::new(),
            changed: false,
        });
    }
    let step = ctx.ui.step(format!("Deleting role {name}"));
    ctx.stop.begin_changes();
    let result: Result<(), Error> = async {
        for profile in &profiles {
            ctx.stop.check()?;
            iam::remove_role_from_instance_profile(&clients.iam, name, profile).await?;
        }
        for policy in &inline {
            ctx.stop.check()?;
            iam::delete_role_inline_policy(&clients.iam, name, policy).await?;
        }
        for p in &policies {
            ctx.stop.check()?;
            if detaches(p) {
                iam::detach_role_policy(&clients.iam, name, &p.arn).await?;
            }
            if deletes(p) {
                apply::delete_policy(clients, &p.arn).await?;
            }
        }
        ctx.stop.check()?;
        apply::when_settled(|| iam::delete_role(&clients.iam, name)).await?;
        Ok(())
    }
    .await;
    match result {
        Ok(()) => step.done("deleted"),
        Err(Error::Interrupted(how)) => {
            step.fail();
            return Err(Error::Interrupted(format!(
                "{how}; part of role {name} may be left: run the same teardown again to finish"
            )));
        }
        Err(e) => {
            step.fail();
            return Err(e);
        }
    }
    Ok(TeardownOutcome {
        target,
        deleted: steps,
        changed: true,
    })
}
