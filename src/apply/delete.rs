//! Runs a teardown plan: its first deletions together, then its last (the principal and its
//! policies). A delete IAM answers with `DeleteConflict` just after what held the thing went is
//! retried for a moment (`when_settled`): IAM is eventually consistent on deletes too.

use futures_util::future::join_all;

use crate::aws::{iam, pending, Clients, Pending};
use crate::error::Error;
use crate::inputs::Who;
use crate::plan::{Deletion, Teardown};
use crate::signals::Stop;

use super::when_settled;

/// Deletes what `plan` lists, stage by stage; stops between stages when asked.
pub(crate) async fn teardown(clients: &Clients, plan: &Teardown, stop: &Stop) -> Result<(), Error> {
    for stage in [&plan.first, &plan.last] {
        stop.check()?;
        let sent = join_all(stage.iter().map(|d| delete(clients, d))).await;
        sent.into_iter().collect::<Result<Vec<()>, _>>()?;
    }
    Ok(())
}

fn delete<'a>(clients: &'a Clients, deletion: &'a Deletion) -> Pending<'a> {
    let iam = &clients.iam;
    match deletion {
        Deletion::FromInstanceProfile { role, profile } => pending(
            iam::remove_role_from_instance_profile(iam, role.as_str(), profile),
        ),
        Deletion::InlinePolicy { who, name } => pending(iam::delete_inline_policy(iam, who, name)),
        Deletion::Detach { who, policy } => pending(iam::detach_policy(iam, who, policy)),
        Deletion::PolicyVersion { policy, version } => pending(when_settled(move || {
            iam::delete_policy_version(iam, policy, version)
        })),
        Deletion::AccessKey { user, id } => pending(iam::delete_access_key(iam, user.as_str(), id)),
        Deletion::FromGroup { user, group } => {
            pending(iam::remove_user_from_group(iam, user.as_str(), group))
        }
        Deletion::Principal(Who::Role(role)) => {
            pending(when_settled(move || iam::delete_role(iam, role.as_str())))
        }
        Deletion::Principal(Who::User(user)) => {
            pending(when_settled(move || iam::delete_user(iam, user.as_str())))
        }
        Deletion::Policy { arn } => pending(when_settled(move || iam::delete_policy(iam, arn))),
    }
}
