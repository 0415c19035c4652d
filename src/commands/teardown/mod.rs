//! `teardown`: removes what the tool made (a stack, a role and its policy, or a user, its keys
//! and its policy) in the order AWS requires, whether or not the endpoint enforces it.

use serde::Serialize;

use crate::aws::iam;
use crate::aws::Clients;
use crate::error::{AwsError, Error};
use crate::facts::{PolicyInfo, RoleInfo};
use crate::inputs::{Arn, RoleName, UserName, Who};
use crate::output::Render;
use crate::plan::teardown::HeldPolicy;
use crate::plan::{self, Teardown};
use crate::prompt::Prompter;
use crate::requests::{DeleteRequest, Target, TeardownRequest};
use crate::{apply, wizard, Context};

use super::made::Offer;

mod stack;

pub(crate) use stack::stack;

#[derive(Debug, Clone, Serialize)]
pub struct TeardownOutcome {
    pub(crate) target: String,
    pub(crate) deleted: Vec<String>,
    /// `--dry-run`: what would be deleted, in order; nothing was.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(crate) planned: Vec<String>,
    pub(crate) changed: bool,
}

impl TeardownOutcome {
    fn done(target: String, deleted: Vec<String>) -> Self {
        TeardownOutcome {
            target,
            changed: !deleted.is_empty(),
            deleted,
            planned: Vec::new(),
        }
    }

    fn dry_run(target: String, planned: &[String]) -> Self {
        TeardownOutcome {
            planned: planned.to_vec(),
            ..TeardownOutcome::done(target, Vec::new())
        }
    }
}

pub async fn run(
    ctx: &Context,
    req: TeardownRequest,
    prompter: &mut dyn Prompter,
) -> Result<TeardownOutcome, Error> {
    let (target, clients) = match req.target.clone() {
        Some(target) => (target, None),
        // At a terminal, what the tool made is listed to choose from.
        None if ctx.can_prompt => match chosen(ctx, prompter).await? {
            Some((target, clients)) => (target, Some(clients)),
            None => return Ok(TeardownOutcome::done(MADE.into(), Vec::new())),
        },
        None => return Err(Error::missing(&req.missing())),
    };
    wizard::require_flags(ctx, Vec::new(), wizard::Intent::Delete)?;
    let connected = || async {
        match clients {
            Some(clients) => Ok(clients),
            None => Clients::connect(&ctx.conn, &ctx.ui).await,
        }
    };
    match target {
        Target::Principal(Who::User(name)) => user_teardown(ctx, name, req.force, prompter).await,
        Target::Principal(Who::Role(name)) => {
            role(ctx, &connected().await?, prompter, &name, req.force).await
        }
        Target::Stack(name) => {
            stack(ctx, &connected().await?, prompter, name.as_str(), req.force).await
        }
    }
}

const MADE: &str = "what serverless-s3-setup made";

/// What the tool made, listed to choose one from, and the clients that reach it (a stack in
/// its own region); `None` when it made nothing here. The command that names the choice is
/// said, for next time.
async fn chosen(
    ctx: &Context,
    prompter: &mut dyn Prompter,
) -> Result<Option<(Target, Clients)>, Error> {
    let clients = Clients::connect(&ctx.conn, &ctx.ui).await?;
    let question = "What should be deleted?";
    let offer = Offer::Everything;
    let Some(chosen) = super::made::choose(ctx, &clients, prompter, question, offer).await? else {
        ctx.ui.info("nothing to delete");
        return Ok(None);
    };
    let words = [
        vec!["teardown".to_string()],
        chosen.flags(),
        vec!["--yes".into()],
    ];
    let again = super::made::again(ctx, words.concat(), chosen.region.as_deref());
    ctx.ui
        .info(format!("To delete it without questions: {again}"));
    let clients = match &chosen.region {
        Some(region) => clients.with_stacks_in(region),
        None => clients,
    };
    Ok(Some((chosen.target, clients)))
}

/// `teardown --user-name`: `access-key delete --with-user`, reported as a teardown.
async fn user_teardown(
    ctx: &Context,
    name: UserName,
    force: bool,
    prompter: &mut dyn Prompter,
) -> Result<TeardownOutcome, Error> {
    let outcome = user(
        ctx,
        DeleteRequest {
            user_name: Some(name.clone()),
            access_key_id: None,
            with_user: true,
            force,
        },
        prompter,
    )
    .await?;
    Ok(TeardownOutcome {
        target: format!("user {name}"),
        changed: outcome.changed,
        deleted: outcome.deleted,
        planned: outcome.planned,
    })
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
    let arn = plan::policy_arn(partition, owner_arn.account, &path, &name);
    Ok(iam::get_policy(&clients.iam, &arn)
        .await?
        .filter(|p| p.managed && p.attachments == 0))
}

fn nothing(ctx: &Context, target: String) -> TeardownOutcome {
    ctx.ui
        .info(format!("nothing to delete: {target} does not exist"));
    TeardownOutcome::done(target, Vec::new())
}

pub(crate) async fn role(
    ctx: &Context,
    clients: &Clients,
    prompter: &mut dyn Prompter,
    name: &RoleName,
    force: bool,
) -> Result<TeardownOutcome, Error> {
    let target = format!("role {name}");
    let Some(plan) = role_plan(clients, name, force).await? else {
        return Ok(nothing(ctx, target));
    };
    if !wizard::confirm_deletion(ctx, prompter, &plan.lines)? {
        return Ok(TeardownOutcome::dry_run(target, &plan.lines));
    }
    let step = ctx.ui.step(format!("Deleting role {name}"));
    ctx.stop.begin_changes();
    let result = apply::teardown(clients, &plan, &ctx.stop).await;
    let result = result.map_err(|partway| partway.error(ctx.conn.profile.as_deref()));
    step.end(result, |_| "deleted".into())?;
    Ok(TeardownOutcome::done(target, plan.reported))
}

/// Reads what the role holds (everything keyed by its name, together; then each attached
/// policy and its versions, together) and plans its teardown. A role that is gone may have
/// left its policy behind (a teardown cut short, or a role deleted by hand): then that policy
/// is the plan. `None`: nothing to delete.
async fn role_plan(
    clients: &Clients,
    name: &RoleName,
    force: bool,
) -> Result<Option<Teardown>, Error> {
    let role = name.as_str();
    let who = Who::Role(name.clone());
    let (info, attached, inline, profiles) = tokio::join!(
        iam::get_role(&clients.iam, role),
        iam::attached(&clients.iam, &who),
        iam::inline_names(&clients.iam, &who),
        iam::role_instance_profiles(&clients.iam, role)
    );
    let Some(info) = info? else {
        let caller = crate::aws::sts::caller_identity(&clients.sts).await?;
        let owner = format!(
            "arn:{}:iam::{}:role/{role}",
            caller.partition, caller.account
        );
        return Ok(match orphaned_policy(clients, &owner, role).await? {
            Some(orphan) => Some(plan::teardown::orphan(&held(clients, orphan, false).await?)),
            None => None,
        });
    };
    // A stack's role is its stack's to delete, unless the stack is gone and left it behind.
    let stack_gone = match (&info.stack, info.managed || force) {
        (Some(stack), true) => stack::is_gone(clients, stack, info.stack_region.as_deref()).await?,
        _ => false,
    };
    if (!info.managed && !force) || (info.stack.is_some() && !stack_gone) {
        // Refused before anything else is read.
        return plan::teardown::role(&holdings(name, info, Vec::new()), force).map(Some);
    }
    let (attached, inline, profiles) = (attached?, inline?, profiles?);
    let policies = policies(clients, &info.arn, role, &attached, true).await?;
    let held = plan::teardown::RoleHoldings {
        profiles,
        inline,
        stack_gone,
        ..holdings(name, info, policies)
    };
    plan::teardown::role(&held, force).map(Some)
}

fn holdings(
    name: &RoleName,
    info: RoleInfo,
    policies: Vec<HeldPolicy>,
) -> plan::teardown::RoleHoldings {
    plan::teardown::RoleHoldings {
        name: name.clone(),
        info,
        profiles: Vec::new(),
        inline: Vec::new(),
        policies,
        stack_gone: false,
    }
}

/// The managed policies attached to a role or user, each with its old versions when it goes
/// with them; and the tool's policy of the default name left on its own, when it is not among
/// them (a teardown cut short between the detach and the delete). With `lenient`, a policy
/// that stays needs no versions, so failing to list them does not matter.
async fn policies(
    clients: &Clients,
    owner_arn: &str,
    owner: &str,
    attached: &[String],
    lenient: bool,
) -> Result<Vec<HeldPolicy>, Error> {
    let default_name = format!("/{}", crate::inputs::defaults::policy_name(owner));
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
                orphaned_policy(clients, owner_arn, owner).await
            } else {
                Ok(None)
            }
        }
    );
    let mut policies = Vec::new();
    for read in read {
        if let Some((info, versions)) = read? {
            // The versions matter only for a policy that goes.
            let versions = match versions {
                Ok(versions) => versions,
                Err(_) if lenient && !plan::teardown::deletes_policy(&info) => Vec::new(),
                Err(e) => return Err(e.into()),
            };
            policies.push(HeldPolicy {
                info,
                old_versions: old(versions),
                attached: true,
            });
        }
    }
    if let Some(orphan) = orphan? {
        policies.push(held(clients, orphan, false).await?);
    }
    Ok(policies)
}

/// A policy, with its old versions read.
async fn held(clients: &Clients, info: PolicyInfo, attached: bool) -> Result<HeldPolicy, Error> {
    let versions = iam::policy_versions(&clients.iam, &info.arn).await?;
    Ok(HeldPolicy {
        info,
        old_versions: old(versions),
        attached,
    })
}

fn old(versions: Vec<iam::PolicyVersion>) -> Vec<String> {
    versions
        .into_iter()
        .filter(|v| !v.is_default)
        .map(|v| v.id)
        .collect()
}

#[derive(Debug, Clone, Serialize)]
pub struct DeleteOutcome {
    pub(crate) user_name: UserName,
    pub(crate) deleted: Vec<String>,
    /// `--dry-run`: what would be deleted, in order; nothing was.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(crate) planned: Vec<String>,
    pub(crate) changed: bool,
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
    let clients = Clients::connect(&ctx.conn, &ctx.ui).await?;
    // At a terminal, the users this tool made are listed to choose from.
    let user_name: UserName = match req.user_name.clone() {
        Some(u) => u,
        None => {
            let question = if req.with_user {
                "Which user should be deleted?"
            } else {
                "Whose access keys should be deleted?"
            };
            let chosen = super::made::choose(ctx, &clients, prompter, question, Offer::Users);
            match chosen.await?.and_then(|made| made.principal) {
                Some((Who::User(name), _)) => name,
                _ => return Err(Error::missing(&["--user-name"])),
            }
        }
    };
    let user = user_name.as_str();
    let nothing = || DeleteOutcome {
        user_name: user_name.clone(),
        deleted: Vec::new(),
        planned: Vec::new(),
        changed: false,
    };
    let Some(plan) = user_plan(ctx, &clients, &user_name, &req).await? else {
        ctx.ui
            .info(format!("nothing to delete: user {user} does not exist"));
        return Ok(nothing());
    };
    if plan.is_empty() {
        let what = match &req.access_key_id {
            Some(id) => format!("user {user} has no access key {id}"),
            None => format!("user {user} has no access keys"),
        };
        ctx.ui.info(format!("nothing to delete: {what}"));
        return Ok(nothing());
    }
    if !wizard::confirm_deletion(ctx, prompter, &plan.lines)? {
        return Ok(DeleteOutcome {
            planned: plan.lines,
            ..nothing()
        });
    }
    ctx.stop.begin_changes();
    apply::teardown(&clients, &plan, &ctx.stop)
        .await
        .map_err(|partway| partway.error(ctx.conn.profile.as_deref()))?;
    Ok(DeleteOutcome {
        user_name,
        changed: !plan.reported.is_empty(),
        deleted: plan.reported,
        planned: Vec::new(),
    })
}

/// Reads what the user holds (the user, its keys, and for a whole teardown its groups,
/// policies and the credentials a person may have added, all together; then each attached
/// policy and its versions, together) and plans the deletion, as a role's is. `None`: there is
/// no such user. Credentials the caller may not read are passed over with a warning: IAM then
/// says, at the user's deletion, if any stand in the way.
async fn user_plan(
    ctx: &Context,
    clients: &Clients,
    name: &UserName,
    req: &DeleteRequest,
) -> Result<Option<Teardown>, Error> {
    let user = name.as_str();
    let who = Who::User(name.clone());
    let whole = req.with_user;
    let (info, keys, groups, attached, inline, credentials) = tokio::join!(
        iam::get_user(&clients.iam, user),
        iam::access_keys(&clients.iam, user),
        if_whole(whole, iam::groups_for_user(&clients.iam, user)),
        if_whole(whole, iam::attached(&clients.iam, &who)),
        if_whole(whole, iam::inline_names(&clients.iam, &who)),
        if_whole(whole, iam::other_credentials(&clients.iam, user)),
    );
    let Some(info) = info? else {
        return Ok(None);
    };
    let mut held = plan::teardown::UserHoldings {
        name: name.clone(),
        info,
        keys: Vec::new(),
        groups: Vec::new(),
        inline: Vec::new(),
        policies: Vec::new(),
        credentials: None,
    };
    if !held.info.managed && !req.force {
        // Refused: what it holds is not looked at.
        return plan::teardown::user(&held, whole, req.force).map(Some);
    }
    held.keys = keys?
        .into_iter()
        .map(|k| k.id)
        .filter(|id| {
            req.access_key_id
                .as_ref()
                .is_none_or(|wanted| wanted.as_str() == id)
        })
        .collect();
    let attached = attached?;
    if whole {
        held.policies = policies(clients, &held.info.arn, user, &attached, false).await?;
        held.credentials = match credentials {
            Ok(credentials) => Some(credentials),
            Err(e) if e.is_access_denied() => {
                ctx.ui.warn(format!("could not read whether user {user} has a console password, MFA devices, signing certificates or SSH keys ({} was denied); IAM refuses to delete a user that holds any", e.operation));
                None
            }
            Err(e) => return Err(e.into()),
        };
    }
    (held.groups, held.inline) = (groups?, inline?);
    plan::teardown::user(&held, whole, req.force).map(Some)
}

/// A read that only a whole user's teardown makes; for its keys alone, nothing.
async fn if_whole<T: Default>(
    whole: bool,
    read: impl std::future::Future<Output = Result<T, AwsError>>,
) -> Result<T, AwsError> {
    if whole {
        read.await
    } else {
        Ok(T::default())
    }
}

impl Render for TeardownOutcome {
    fn text(&self, ctx: &Context) -> String {
        crate::output::deleted(&ctx.ui, &self.planned, &self.deleted)
    }
}

impl Render for DeleteOutcome {
    fn text(&self, ctx: &Context) -> String {
        crate::output::deleted(&ctx.ui, &self.planned, &self.deleted)
    }
}
