//! `teardown`: removes what the tool made (a stack, a role and its policy, or a user, its keys
//! and its policy) in the order AWS requires, whether or not the endpoint enforces it.

use serde::Serialize;

use crate::apply::wait::{self, Goal};
use crate::aws::cloudformation;
use crate::aws::iam;
use crate::aws::{pending, Clients};
use crate::error::Error;
use crate::facts::PolicyInfo;
use crate::inputs::{Arn, UserName};
use crate::output::Render;
use crate::prompt::Prompter;
use crate::requests::{DeleteRequest, Target, TeardownRequest};
use crate::{apply, wizard, Context};

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
        let outcome = user(
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
    let Some(owner_arn) = Arn::parse(owner_arn) else {
        return Ok(None);
    };
    let Some(partition) = owner_arn.known_partition() else {
        return Ok(None);
    };
    // The tool puts a policy at its role's or user's path.
    let path = owner_arn
        .iam_resource()
        .map(|(_, path, _)| path)
        .unwrap_or_default();
    let name = crate::inputs::defaults::policy_name(owner);
    let arn = crate::plan::policy_arn(partition, owner_arn.account, &path, &name);
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
    let since = cloudformation::after_latest_event(&clients.cfn, name).await?;
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
    step.end(settled, |_| "DELETE_COMPLETE".into())?;
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
    // The role and everything keyed by its name, together.
    let (info, attached, inline, profiles) = tokio::join!(
        iam::get_role(&clients.iam, name),
        iam::attached_role_policies(&clients.iam, name),
        iam::role_inline_policies(&clients.iam, name),
        iam::role_instance_profiles(&clients.iam, name)
    );
    let Some(info) = info? else {
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
    let (attached, inline, profiles) = (attached?, inline?, profiles?);
    // Each attached policy and its versions, together; a teardown cut short between detaching
    // the policy and deleting it leaves the policy on its own, and the default name finds it
    // again.
    let default_name = format!("/{}", crate::inputs::defaults::policy_name(name));
    let lost = !attached.iter().any(|a| a.ends_with(&default_name));
    let (read, orphan) = tokio::join!(
        futures_util::future::join_all(attached.iter().map(|arn| async move {
            let (policy, versions) = tokio::join!(
                iam::get_policy(&clients.iam, arn),
                iam::policy_versions(&clients.iam, arn)
            );
            Ok::<_, Error>(policy?.map(|p| (p, versions)))
        })),
        async {
            if lost {
                orphaned_policy(clients, &info.arn, name).await
            } else {
                Ok(None)
            }
        }
    );
    // Only a policy this tool made, and that nothing else uses, goes with the role.
    let deletes = |p: &PolicyInfo| p.managed && p.attachments <= 1;
    let mut policies: Vec<(PolicyInfo, Vec<iam::PolicyVersion>)> = Vec::new();
    for read in read {
        if let Some((p, versions)) = read? {
            // The versions matter only for a policy that goes.
            let versions = match versions {
                Ok(versions) => versions,
                Err(_) if !deletes(&p) => Vec::new(),
                Err(e) => return Err(e.into()),
            };
            policies.push((p, versions));
        }
    }
    if let Some(orphan) = orphan? {
        let versions = iam::policy_versions(&clients.iam, &orphan.arn).await?;
        policies.push((orphan, versions));
    }
    let mut steps: Vec<String> = profiles
        .iter()
        .map(|p| format!("role {name} from instance profile {p}"))
        .collect();
    steps.extend(inline.iter().map(|p| format!("inline policy {p}")));
    for (p, _) in &policies {
        steps.push(if deletes(p) { format!("policy {} (detached, then deleted)", p.arn) } else { format!("attachment of policy {} (the policy stays: it is not this tool's, or is used elsewhere)", p.arn) });
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
    // In AWS's order, each step's requests together: what holds the role (instance
    // profiles, inline policies, attachments) and the old versions of the policies that go;
    // then the role and those policies.
    let result: Result<(), Error> = async {
        ctx.stop.check()?;
        let first =
            profiles
                .iter()
                .map(|profile| {
                    pending(iam::remove_role_from_instance_profile(
                        &clients.iam,
                        name,
                        profile,
                    ))
                })
                .chain(inline.iter().map(|policy| {
                    pending(iam::delete_role_inline_policy(&clients.iam, name, policy))
                }))
                .chain(
                    policies
                        .iter()
                        .filter(|(p, _)| attached.contains(&p.arn))
                        .map(|(p, _)| pending(iam::detach_role_policy(&clients.iam, name, &p.arn))),
                )
                .chain(
                    policies
                        .iter()
                        .filter(|(p, _)| deletes(p))
                        .flat_map(|(p, versions)| {
                            versions.iter().filter(|v| !v.is_default).map(|v| {
                                pending(apply::when_settled(|| {
                                    iam::delete_policy_version(&clients.iam, &p.arn, &v.id)
                                }))
                            })
                        }),
                );
        settle(futures_util::future::join_all(first).await)?;
        ctx.stop.check()?;
        let last = std::iter::once(pending(apply::when_settled(|| {
            iam::delete_role(&clients.iam, name)
        })))
        .chain(policies.iter().filter(|(p, _)| deletes(p)).map(|(p, _)| {
            pending(apply::when_settled(|| {
                iam::delete_policy(&clients.iam, &p.arn)
            }))
        }));
        settle(futures_util::future::join_all(last).await)?;
        Ok(())
    }
    .await;
    step.end(result, |_| "deleted".into())
        .map_err(|e| match e {
            Error::Interrupted(how) => Error::Interrupted(format!(
                "{how}; part of role {name} may be left: run the same teardown again to finish"
            )),
            e => e,
        })?;
    Ok(TeardownOutcome {
        target,
        deleted: steps,
        changed: true,
    })
}

/// The first failure among requests sent together.
fn settle(results: Vec<Result<(), crate::error::AwsError>>) -> Result<(), Error> {
    results.into_iter().collect::<Result<Vec<()>, _>>()?;
    Ok(())
}

#[derive(Debug, Clone, Serialize)]
pub struct DeleteOutcome {
    pub user_name: UserName,
    pub deleted: Vec<String>,
    pub changed: bool,
}

/// `access-key delete` and `teardown --user-name`: the user's keys, and with `with_user` the
/// user itself with its policies, in the order IAM requires.
pub async fn user(
    ctx: &Context,
    req: DeleteRequest,
    prompter: &mut dyn Prompter,
) -> Result<DeleteOutcome, Error> {
    let missing = match req.user_name {
        None => vec!["--user-name"],
        Some(_) => vec![],
    };
    wizard::require_flags(ctx, missing, wizard::Intent::Delete)?;
    let user_name: UserName = match req.user_name {
        Some(u) => u,
        None => wizard::ask(prompter, "IAM user name", None)?,
    };
    let user = user_name.as_str();
    let clients = Clients::connect(&ctx.conn, &ctx.ui).await?;
    let nothing = || DeleteOutcome {
        user_name: user_name.clone(),
        deleted: Vec::new(),
        changed: false,
    };
    let Some(info) = iam::get_user(&clients.iam, user).await? else {
        ctx.ui
            .info(format!("nothing to delete: user {user} does not exist"));
        return Ok(nothing());
    };
    if !info.managed && !req.force {
        return Err(Error::NotManaged {
            kind: "user",
            name: user.to_string(),
            flag: "--user-name",
        });
    }
    let groups = if req.with_user {
        iam::groups_for_user(&clients.iam, user).await?
    } else {
        Vec::new()
    };
    let (keys, attached, inline) = tokio::join!(
        iam::access_keys(&clients.iam, user),
        async {
            if req.with_user {
                iam::attached_user_policies(&clients.iam, user).await
            } else {
                Ok(Vec::new())
            }
        },
        async {
            if req.with_user {
                iam::user_inline_policies(&clients.iam, user).await
            } else {
                Ok(Vec::new())
            }
        }
    );
    let keys: Vec<String> = keys?
        .into_iter()
        .map(|k| k.id)
        .filter(|id| {
            req.access_key_id
                .as_ref()
                .is_none_or(|wanted| wanted.as_str() == id)
        })
        .collect();
    let (attached, inline) = (attached?, inline?);
    let mut policies = Vec::new();
    for arn in &attached {
        if let Some(p) = iam::get_policy(&clients.iam, arn).await? {
            policies.push(p);
        }
    }
    let default_name = format!("/{}", crate::inputs::defaults::policy_name(user));
    if req.with_user && !attached.iter().any(|a| a.ends_with(&default_name)) {
        // A delete cut short between detaching the policy and deleting it left it on its own.
        if let Some(orphan) = orphaned_policy(&clients, &info.arn, user).await? {
            policies.push(orphan);
        }
    }
    let mut steps: Vec<String> = keys
        .iter()
        .map(|k| format!("delete access key {k}"))
        .collect();
    if req.with_user {
        steps.extend(inline.iter().map(|p| format!("delete inline policy {p}")));
        for p in &policies {
            if attached.contains(&p.arn) {
                steps.push(format!("detach policy {}", p.arn));
            }
            if p.managed && p.attachments <= 1 {
                steps.push(format!("delete policy {}", p.arn));
            }
        }
        steps.extend(
            groups
                .iter()
                .map(|g| format!("remove user {user} from group {g}")),
        );
        steps.push(format!("delete user {user}"));
    }
    if steps.is_empty() {
        let what = match &req.access_key_id {
            Some(id) => format!("user {user} has no access key {id}"),
            None => format!("user {user} has no access keys"),
        };
        ctx.ui.info(format!("nothing to delete: {what}"));
        return Ok(nothing());
    }
    if !wizard::confirm_deletion(ctx, prompter, &steps)? {
        return Ok(DeleteOutcome {
            user_name,
            deleted: Vec::new(),
            changed: false,
        });
    }
    let mut deleted = Vec::new();
    ctx.stop.begin_changes();
    for id in &keys {
        iam::delete_access_key(&clients.iam, user, id).await?;
        deleted.push(format!("access key {id}"));
    }
    if req.with_user {
        for name in &inline {
            iam::delete_user_inline_policy(&clients.iam, user, name).await?;
            deleted.push(format!("inline policy {name}"));
        }
        for p in &policies {
            if attached.contains(&p.arn) {
                iam::detach_user_policy(&clients.iam, user, &p.arn).await?;
            }
            if p.managed && p.attachments <= 1 {
                apply::delete_policy(&clients, &p.arn).await?;
                deleted.push(format!("policy {}", p.arn));
            }
        }
        for group in &groups {
            iam::remove_user_from_group(&clients.iam, user, group).await?;
        }
        apply::when_settled(|| iam::delete_user(&clients.iam, user)).await?;
        deleted.push(format!("user {user}"));
    }
    Ok(DeleteOutcome {
        user_name,
        changed: !deleted.is_empty(),
        deleted,
    })
}

impl Render for TeardownOutcome {
    fn text(&self, _: &Context) -> String {
        crate::output::deleted(&self.deleted)
    }
}

impl Render for DeleteOutcome {
    fn text(&self, _: &Context) -> String {
        crate::output::deleted(&self.deleted)
    }
}
