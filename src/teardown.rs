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
use crate::{apply, Context};

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

/// Shows the steps and asks, or goes on with `--yes`; `--dry-run` shows them and stops.
fn confirm(ctx: &Context, prompter: &mut dyn Prompter, steps: &[String]) -> Result<bool, Error> {
    if ctx.dry_run || (ctx.can_prompt && !ctx.yes) {
        ctx.ui.info(ctx.ui.bold("Will delete"));
        for s in steps {
            ctx.ui.info(format!("  - {s}"));
        }
    }
    if ctx.dry_run {
        return Ok(false);
    }
    if ctx.can_prompt && !ctx.yes && !prompter.confirm("Delete these?", false)? {
        return Err(Error::Cancelled);
    }
    Ok(true)
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
    if !ctx.can_prompt && !ctx.yes && !ctx.dry_run {
        return Err(crate::wizard::missing_error(
            ctx,
            &["--yes (to delete without a terminal to confirm on; or --dry-run to only list)"],
        ));
    }
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
    let clients = Clients::connect(&ctx.conn).await?;
    match target {
        Target::Stack(name) => stack(ctx, &clients, prompter, name.as_str(), req.force).await,
        Target::Role(name) => role(ctx, &clients, prompter, name.as_str(), req.force).await,
        Target::User(_) => unreachable!("handled above"),
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
        return Ok(nothing(ctx, target));
    };
    if !info.managed && !force {
        return Err(refuse(target));
    }
    let mut steps = vec![format!("stack {name} ({})", info.status)];
    if let Some(arn) = info.outputs.get("RoleArn") {
        steps.push(format!("with it, role {arn}"));
    }
    if !confirm(ctx, prompter, &steps)? {
        return Ok(TeardownOutcome {
            target,
            deleted: Vec::new(),
            changed: false,
        });
    }
    cloudformation::delete_stack(&clients.cfn, name).await?;
    let step = ctx.ui.step(format!("Deleting stack {name}"));
    let mut source = wait::Live {
        client: &clients.cfn,
        stack: info.id.clone(),
    };
    let ended = wait::wait(
        &mut source,
        Goal::Delete,
        0,
        crate::role::DEFAULT_TIMEOUT,
        &ctx.stop,
        |e| {
            step.set(format!("{} {} {}", e.logical_id, e.resource_type, e.status));
        },
    )
    .await;
    match ended {
        Ok(wait::Ended::Succeeded { .. }) => step.done("DELETE_COMPLETE"),
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
        return Ok(nothing(ctx, target));
    };
    if !info.managed && !force {
        return Err(refuse(target));
    }
    if let Some(stack) = iam::role_stack(&clients.iam, name).await? {
        return Err(Error::Conflict(format!(
            "role {name} belongs to CloudFormation stack {stack}; deleting it alone would leave the stack broken\n  fix: serverless-s3-setup teardown --stack-name {stack}"
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
    // Only a policy this tool made, and that nothing else uses, goes with the role.
    let deletes = |p: &PolicyInfo| p.managed && p.attachments <= 1;
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
    if !confirm(ctx, prompter, &steps)? {
        return Ok(TeardownOutcome {
            target,
            deleted: Vec::new(),
            changed: false,
        });
    }
    let step = ctx.ui.step(format!("Deleting role {name}"));
    let result: Result<(), Error> = async {
        for profile in &profiles {
            iam::remove_role_from_instance_profile(&clients.iam, name, profile).await?;
        }
        for policy in &inline {
            iam::delete_role_inline_policy(&clients.iam, name, policy).await?;
        }
        for p in &policies {
            iam::detach_role_policy(&clients.iam, name, &p.arn).await?;
            if deletes(p) {
                apply::delete_policy(clients, &p.arn).await?;
            }
        }
        iam::delete_role(&clients.iam, name).await?;
        Ok(())
    }
    .await;
    match result {
        Ok(()) => step.done("deleted"),
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
