//! Runs a plan's IAM actions, for a role made with IAM and for a user alike. Each action
//! carries what it writes; each creation is journaled before it is sent, so that a failure or
//! an interrupt undoes it. The stages, in order:
//! 1. the writes that do not depend on each other (the policy, the role or user), together;
//! 2. the guardrails of what existed (boundary, tags) and a role's description, together;
//! 3. the attachment, once both ends exist, and beside it the access key (a failed attachment
//!    undoes the key with the rest).

use futures_util::future::join_all;

use crate::apply::journal::{Journal, Resource};
use crate::aws::iam::{self, NewAccessKey};
use crate::aws::{pending, Clients, Pending, Run};
use crate::error::{AwsError, Error, Kind};
use crate::inputs::Who;
use crate::plan::Action;
use crate::signals::Stop;

use super::{adopt_policy, replace_default_version, when_visible};

/// What running the actions made that the run reads back: the new access key, and each
/// managed policy written with its new default version.
#[derive(Default)]
pub(crate) struct Executed {
    pub(crate) key: Option<NewAccessKey>,
    pub(crate) versions: Vec<(String, String)>,
}

/// Runs `actions`, each stage's independent requests together.
pub(crate) async fn execute(
    clients: &Clients,
    actions: &[Action],
    journal: &mut Journal,
    stop: &Stop,
) -> Result<Executed, Error> {
    let versions = write_stage(clients, actions, journal).await?;
    let guardrails: Vec<_> = actions
        .iter()
        .filter_map(|a| guardrail(clients, a))
        .collect();
    join_all(guardrails)
        .await
        .into_iter()
        .collect::<Result<Vec<()>, AwsError>>()?;
    stop.check()?;
    let key = attach_stage(clients, actions, journal).await?;
    // A stop asked for during the last request still undoes the run.
    stop.check()?;
    Ok(Executed { key, versions })
}

/// The first stage: every create and write, together; what another run made a moment
/// earlier is taken over. Returns the policy versions written.
async fn write_stage(
    clients: &Clients,
    actions: &[Action],
    journal: &mut Journal,
) -> Result<Vec<(String, String)>, Error> {
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
    let mut versions = Vec::new();
    for ((action, entry), result) in writes.iter().zip(entries).zip(results) {
        match result {
            Err(e) if e.kind == Kind::AlreadyExists => {
                if let (true, Some(entry)) = (adopt(clients, action, &run, e).await?, entry) {
                    journal.confirm(entry);
                }
            }
            Err(e) => return Err(e.into()),
            Ok(written) => versions.extend(written),
        }
    }
    Ok(versions)
}

/// The attachments and the access key need only what the first stage made: together.
async fn attach_stage(
    clients: &Clients,
    actions: &[Action],
    journal: &mut Journal,
) -> Result<Option<NewAccessKey>, Error> {
    let attachments: Vec<_> = actions
        .iter()
        .filter_map(|a| match a {
            Action::AttachPolicy { to, arn, .. } => Some((a, to, arn)),
            _ => None,
        })
        .map(|(a, to, arn)| {
            let entry = journal.begin(undo(a).expect("an attachment is undone"));
            (entry, attach(clients, to, arn))
        })
        .collect();
    let new_key = actions.iter().find_map(|a| match a {
        Action::CreateAccessKey { user, before } => Some((user, before)),
        _ => None,
    });
    let key_entry = new_key.map(|(user, before)| {
        journal.begin(Resource::AccessKey {
            user: user.to_string(),
            id: None,
            before: before.clone(),
        })
    });
    let (entries, attached): (Vec<_>, Vec<_>) = attachments.into_iter().unzip();
    let (attached, key) = tokio::join!(join_all(attached), async {
        match new_key {
            Some((user, _)) => {
                Some(when_visible(|| iam::create_access_key(&clients.iam, user.as_str())).await)
            }
            None => None,
        }
    });
    for (entry, result) in entries.into_iter().zip(&attached) {
        journal.settle(entry, result);
    }
    if let (Some(entry), Some((user, _)), Some(key)) = (key_entry, new_key, &key) {
        if let Ok(key) = key {
            journal.identify(
                entry,
                Resource::AccessKey {
                    user: user.to_string(),
                    id: Some(key.id.clone()),
                    before: Vec::new(),
                },
            );
        }
        journal.settle(entry, key);
    }
    attached
        .into_iter()
        .collect::<Result<Vec<()>, AwsError>>()?;
    Ok(key.transpose()?)
}

/// A change to the guardrails (or the description) of what existed, as one request.
fn guardrail<'a>(clients: &'a Clients, action: &'a Action) -> Option<Pending<'a>> {
    let iam = &clients.iam;
    Some(match action {
        Action::SetBoundary { who, arn } => {
            pending(when_visible(move || iam::put_boundary(iam, who, arn)))
        }
        Action::TagPrincipal { who, tags } => pending(iam::tag_principal(iam, who, tags)),
        Action::TagPolicy { arn, tags, .. } => pending(iam::tag_policy(iam, arn, tags)),
        Action::RemoveBoundary { who } => pending(iam::delete_boundary(iam, who)),
        Action::UntagPrincipal { who, keys } => pending(iam::untag_principal(iam, who, keys)),
        Action::UntagPolicy { arn, keys, .. } => pending(iam::untag_policy(iam, arn, keys)),
        Action::UpdateDescription { name, description } => pending(iam::update_role_description(
            iam,
            name.as_str(),
            description,
        )),
        _ => return None,
    })
}

/// Attaches a managed policy to the role or user, once IAM shows both.
async fn attach(clients: &Clients, to: &Who, arn: &str) -> Result<(), AwsError> {
    when_visible(|| iam::attach_policy(&clients.iam, to, arn)).await
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
pub(crate) fn undo(action: &Action) -> Option<Resource> {
    match action {
        Action::CreatePolicy(p) => Some(Resource::Policy { arn: p.arn.clone() }),
        Action::CreateRole { name, .. } => Some(Resource::Role {
            name: name.to_string(),
        }),
        Action::CreateUser { name, .. } => Some(Resource::User {
            name: name.to_string(),
        }),
        Action::AttachPolicy { to, arn, .. } => Some(Resource::Attachment {
            to: to.clone(),
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

/// One write of the first stage; for a managed policy, its ARN and new default version.
async fn write(
    clients: &Clients,
    action: &Action,
    run: &Run,
) -> Result<Option<(String, String)>, AwsError> {
    match action {
        // A new policy's first version is v1 (IAM API Reference, CreatePolicy).
        Action::CreatePolicy(p) => iam::create_policy(
            &clients.iam,
            p.name.as_str(),
            &p.document,
            &p.description,
            &p.guard,
            run,
        )
        .await
        .map(|_| Some((p.arn.clone(), "v1".to_string()))),
        Action::UpdatePolicy(p) => replace_default_version(clients, &p.arn, &p.document)
            .await
            .map(|v| Some((p.arn.clone(), v))),
        Action::CreateRole {
            name,
            trust,
            description,
            guard,
            trusted,
        } => iam::create_role(&clients.iam, name.as_str(), trust, description, guard, run)
            .await
            .map(|_| None)
            .map_err(|e| unknown_principal(e, trusted)),
        Action::UpdateTrust {
            name,
            trust,
            trusted,
        } => iam::update_trust(&clients.iam, name.as_str(), trust)
            .await
            .map(|()| None)
            .map_err(|e| unknown_principal(e, trusted)),
        Action::CreateUser { name, guard } => {
            iam::create_user(&clients.iam, name.as_str(), guard, run)
                .await
                .map(|_| None)
        }
        _ => Ok(None),
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
