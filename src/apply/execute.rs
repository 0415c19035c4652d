//! Runs a plan's IAM actions, for a role made with IAM and for a user alike. Each action
//! carries what it writes; each creation is journaled before it is sent, so that a failure or
//! an interrupt undoes it. The stages, in order:
//! 1. the writes that do not depend on each other (the policy, the role or user), together;
//! 2. the guardrails of what existed (boundary, tags) and a role's description;
//! 3. the attachment, once both ends exist;
//! 4. the access key, last, so that no key is made for a user that is not ready.

use futures_util::future::join_all;

use crate::apply::journal::{Journal, Resource};
use crate::aws::iam::{self, NewAccessKey};
use crate::aws::{Clients, Run};
use crate::error::{AwsError, Error, Kind};
use crate::plan::{Action, Who};
use crate::signals::Stop;

use super::{adopt_policy, replace_default_version, when_visible};

/// Runs `actions`; returns the new access key when one was made.
pub async fn execute(
    clients: &Clients,
    actions: &[Action],
    journal: &mut Journal,
    stop: &Stop,
) -> Result<Option<NewAccessKey>, Error> {
    let run = Run::new();
    let writes: Vec<&Action> = actions.iter().filter(|a| is_write(a)).collect();
    let entries: Vec<_> = writes
        .iter()
        .map(|a| undo(a).map(|r| journal.begin(r)))
        .collect();
    let results = join_all(writes.iter().map(|a| write(clients, a, &run))).await;
    for (entry, result) in entries.iter().zip(&results) {
        if let Some(entry) = entry {
            journal.settle(*entry, result);
        }
    }
    // Another run may have created the same thing a moment earlier: take it over if it is
    // ours to manage, and bring it to the plan, rather than fail or duplicate. What turns out
    // to be this run's own (a create retried after a lost answer) stays in the undo.
    for ((action, entry), result) in writes.iter().zip(entries).zip(results) {
        match result {
            Err(e) if e.kind == Kind::AlreadyExists => {
                if let (true, Some(entry)) = (adopt(clients, action, &run, e).await?, entry) {
                    journal.confirm(entry);
                }
            }
            other => other?,
        }
    }
    for action in actions {
        match action {
            Action::SetBoundary { who, arn } => {
                when_visible(|| iam::put_boundary(&clients.iam, principal(who), arn)).await?
            }
            Action::TagPrincipal { who, tags } => {
                iam::tag_principal(&clients.iam, principal(who), tags).await?
            }
            Action::TagPolicy { arn, tags, .. } => iam::tag_policy(&clients.iam, arn, tags).await?,
            Action::RemoveBoundary { who } => {
                iam::delete_boundary(&clients.iam, principal(who)).await?
            }
            Action::UntagPrincipal { who, keys } => {
                iam::untag_principal(&clients.iam, principal(who), keys).await?
            }
            Action::UntagPolicy { arn, keys, .. } => {
                iam::untag_policy(&clients.iam, arn, keys).await?
            }
            Action::UpdateDescription { name, description } => {
                iam::update_role_description(&clients.iam, name.as_str(), description).await?
            }
            _ => {}
        }
    }
    stop.check()?;
    for action in actions {
        if let Action::AttachPolicy { to, arn, .. } = action {
            let entry = journal.begin(undo(action).expect("an attachment is undone"));
            let attached = when_visible(|| async {
                match to {
                    Who::Role(role) => {
                        iam::attach_role_policy(&clients.iam, role.as_str(), arn).await
                    }
                    Who::User(user) => {
                        iam::attach_user_policy(&clients.iam, user.as_str(), arn).await
                    }
                }
            })
            .await;
            journal.settle(entry, &attached);
            attached?;
        }
    }
    // A stop asked for during the last request still undoes the run.
    stop.check()?;
    let Some(Action::CreateAccessKey { user, before }) = actions
        .iter()
        .find(|a| matches!(a, Action::CreateAccessKey { .. }))
    else {
        return Ok(None);
    };
    let entry = journal.begin(Resource::AccessKey {
        user: user.to_string(),
        id: None,
        before: before.clone(),
    });
    let key = when_visible(|| iam::create_access_key(&clients.iam, user.as_str())).await;
    if let Ok(key) = &key {
        journal.identify(
            entry,
            Resource::AccessKey {
                user: user.to_string(),
                id: Some(key.id.clone()),
                before: Vec::new(),
            },
        );
    }
    journal.settle(entry, &key);
    Ok(Some(key?))
}

/// The first stage: writes that need nothing else of this run.
fn is_write(action: &Action) -> bool {
    matches!(
        action,
        Action::CreatePolicy(_)
            | Action::UpdatePolicy(_)
            | Action::CreateRole { .. }
            | Action::UpdateTrust { .. }
            | Action::CreateUser { .. }
    )
}

/// What removes what the action creates, for the journal; `None` for a change to what
/// existed.
pub fn undo(action: &Action) -> Option<Resource> {
    match action {
        Action::CreatePolicy(p) => Some(Resource::Policy { arn: p.arn.clone() }),
        Action::CreateRole { name, .. } => Some(Resource::Role {
            name: name.to_string(),
        }),
        Action::CreateUser { name, .. } => Some(Resource::User {
            name: name.to_string(),
        }),
        Action::AttachPolicy {
            to: Who::Role(role),
            arn,
            ..
        } => Some(Resource::Attachment {
            role: role.to_string(),
            policy_arn: arn.clone(),
        }),
        Action::AttachPolicy {
            to: Who::User(user),
            arn,
            ..
        } => Some(Resource::UserAttachment {
            user: user.to_string(),
            policy_arn: arn.clone(),
        }),
        Action::CreateAccessKey { user, before } => Some(Resource::AccessKey {
            user: user.to_string(),
            id: None,
            before: before.clone(),
        }),
        _ => None,
    }
}

fn principal(who: &Who) -> iam::Principal<'_> {
    match who {
        Who::Role(name) => iam::Principal::Role(name.as_str()),
        Who::User(name) => iam::Principal::User(name.as_str()),
    }
}

async fn write(clients: &Clients, action: &Action, run: &Run) -> Result<(), AwsError> {
    match action {
        Action::CreatePolicy(p) => iam::create_policy(
            &clients.iam,
            p.name.as_str(),
            &p.document,
            &p.description,
            &p.guard,
            run,
        )
        .await
        .map(drop),
        Action::UpdatePolicy(p) => replace_default_version(clients, &p.arn, &p.document).await,
        Action::CreateRole {
            name,
            trust,
            description,
            guard,
            trusted,
        } => iam::create_role(&clients.iam, name.as_str(), trust, description, guard, run)
            .await
            .map(drop)
            .map_err(|e| unknown_principal(e, trusted)),
        Action::UpdateTrust {
            name,
            trust,
            trusted,
        } => iam::update_trust(&clients.iam, name.as_str(), trust)
            .await
            .map_err(|e| unknown_principal(e, trusted)),
        Action::CreateUser { name, guard } => {
            iam::create_user(&clients.iam, name.as_str(), guard, run)
                .await
                .map(drop)
        }
        _ => Ok(()),
    }
}

/// IAM rejects a trust whose principal it does not know: most often a mistyped account ID.
fn unknown_principal(e: AwsError, trusted: &str) -> AwsError {
    match e.kind {
        Kind::MalformedPolicy if e.message.to_lowercase().contains("principal") => {
            e.with_fix(format!(
                "IAM does not know the principal {trusted}; check --tidb-account-id against the TiDB Cloud console"
            ))
        }
        _ => e,
    }
}

/// A create found the name taken: if this tool made it, bring it to the plan and say whether
/// it is this run's own (its undo must remove it); otherwise leave it alone.
async fn adopt(clients: &Clients, action: &Action, run: &Run, e: AwsError) -> Result<bool, Error> {
    match action {
        Action::CreatePolicy(p) => adopt_policy(clients, &p.arn, &p.name, &p.document, run).await,
        Action::CreateRole { name, trust, .. } => {
            let Some(role) = iam::get_role(&clients.iam, name.as_str()).await? else {
                return Err(Error::Conflict(format!(
                    "role {name} was being created and deleted at the same time by another run; run this again"
                )));
            };
            if !role.managed {
                return Err(Error::NotManaged {
                    kind: "role",
                    name: name.to_string(),
                    flag: "--role-name",
                });
            }
            if !role
                .trust
                .as_ref()
                .is_some_and(|t| crate::policy::same(t, trust))
            {
                iam::update_trust(&clients.iam, name.as_str(), trust).await?;
            }
            Ok(iam::made_by(&role.tags, run))
        }
        Action::CreateUser { name, .. } => {
            match iam::get_user(&clients.iam, name.as_str()).await? {
                Some(user) if user.managed => Ok(iam::made_by(&user.tags, run)),
                _ => Err(Error::NotManaged {
                    kind: "user",
                    name: name.to_string(),
                    flag: "--user-name",
                }),
            }
        }
        _ => Err(e.into()),
    }
}
