//! The roles of a file's set: found by the set's tag, and those the file no longer lists
//! deleted (`--prune`), or all of them (`teardown -f`), through the teardown path. Nothing
//! outside the set is ever touched.

use std::collections::HashSet;
use std::future::Future;

use serde::{Deserialize, Serialize};
use tokio::sync::OnceCell;

use crate::aws::iam::ListedRole;
use crate::aws::{cloudformation, Clients};
use crate::error::{AwsError, Error};
use crate::facts::StackInfo;
use crate::inputs::{RoleName, SetName, SET_TAG};
use crate::output::Many;
use crate::prompt::NoPrompts;
use crate::Context;

use super::super::made::roleless;
use super::super::teardown::{self, TeardownOutcome};
use super::text;

/// What a role the file no longer lists is called in progress lines (`--prune`).
pub(super) const NOT_LISTED: &str = "not in the file";
/// What a role of the set is called in them when the whole set goes (`teardown -f`).
pub(super) const OF_SET: &str = "of the set";

/// A role of the set: its name, and the stack that made it, if any.
#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Member {
    pub(crate) role_name: RoleName,
    pub(crate) stack_name: Option<String>,
    pub(crate) stack_region: Option<String>,
    /// A stack whose role is gone: found by the stack's tags, since no role's lead to it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub(crate) role_gone: bool,
}

impl Member {
    /// What its deletion takes away, for the plan.
    pub(crate) fn describe(&self) -> String {
        match &self.stack_name {
            Some(stack) if self.role_gone => format!(
                "stack {stack} (its role {} is gone already)",
                self.role_name
            ),
            Some(stack) => format!("stack {stack}, and with it role {}", self.role_name),
            None => format!(
                "role {}, and its policy when nothing else uses it",
                self.role_name
            ),
        }
    }
}

/// Every role this tool made that carries the set's tag, but those `listed` (the file's own,
/// which its entries read anyway). The roles the tool made are picked by their description
/// (ListRoles returns no tags), then read, `parallel` at a time, for their tags: the tag
/// decides, together with `managed-by`. A stack of the set whose role is gone is found by the
/// stack's own tags, in the region CloudFormation is called in and in those of the set's
/// other stacks.
pub(crate) async fn members(
    clients: &Clients,
    roles: &[ListedRole],
    set: &SetName,
    listed: &[String],
    parallel: usize,
) -> Result<Vec<Member>, Error> {
    // IAM's names ignore case.
    let others = roles
        .iter()
        .filter(|r| r.ours() && !listed.contains(&r.name.to_lowercase()))
        .map(|r| r.name.clone());
    // The stacks of the region CloudFormation is called in, read once: for the stacks whose
    // role is gone, and for the set of each role that one of them made.
    let here = OnceCell::new();
    let stacks_here = || here.get_or_init(|| cloudformation::stacks(&clients.cfn));
    let read = |name| member(clients, set, name, stacks_here);
    let (found, _) = tokio::join!(super::each(others, parallel, read), stacks_here());
    let here = here.into_inner().expect("read beside the roles");
    let mut members: Vec<Member> = found
        .into_iter()
        .collect::<Result<Vec<Option<Member>>, Error>>()?
        .into_iter()
        .flatten()
        .collect();
    let account: HashSet<String> = roles.iter().map(|r| r.name.to_lowercase()).collect();
    let regions = members
        .iter()
        .filter_map(|m| m.stack_region.clone())
        .collect();
    let gone = roleless(clients, here, regions, &account).await;
    members.extend(gone.into_iter().filter_map(|r| {
        let of_set = r.stack.tag(SET_TAG) == Some(set.as_str());
        // A stack the file still lists makes its role again (its entry's plan says so).
        let kept = listed.contains(&r.role.to_lowercase());
        (of_set && !kept).then_some(Member {
            role_name: r.role.parse().ok()?,
            stack_name: Some(r.name),
            stack_region: Some(r.region),
            role_gone: true,
        })
    }));
    // In one order, whatever order the reads ended in: IAM's names ignore case.
    members.sort_by_key(|m| m.role_name.as_str().to_lowercase());
    Ok(members)
}

/// The role of that name, when it is this tool's and of the set. A stack's role holds the set
/// as its stack does: CloudFormation passes the stack's tags on to the role ("Stack tags",
/// CloudFormation User Guide), but the stack's are the ones the tool writes and reads (an
/// emulator may not pass them on). A stack in the region CloudFormation is called in is found
/// among its stacks, read once for all (`stacks_here`); one elsewhere is described. A role
/// whose stack is gone (it was left behind) is the set's by its own tag, and goes as a role
/// made with IAM does.
async fn member<'a, F>(
    clients: &Clients,
    set: &SetName,
    name: String,
    stacks_here: impl FnOnce() -> F,
) -> Result<Option<Member>, Error>
where
    F: Future<Output = &'a Result<Vec<(String, StackInfo)>, AwsError>>,
{
    let Some(role) = clients.role(&name).await? else {
        return Ok(None);
    };
    if !role.managed {
        return Ok(None);
    }
    let tagged = |s: &StackInfo| s.managed && s.tag(SET_TAG) == Some(set.as_str());
    let own_tag = role.principal().tag(SET_TAG) == Some(set.as_str());
    // `None`: the role's stack is gone, and left it behind; it goes as a role made with IAM.
    let stack = match (&role.stack, &role.stack_region) {
        (Some(stack), region) => {
            let region = region.as_deref().unwrap_or_else(|| clients.region());
            let listed = if region == clients.stacks_region() {
                stacks_here().await.as_ref().ok()
            } else {
                None
            };
            match listed {
                Some(stacks) => stacks
                    .iter()
                    .find(|(n, _)| n == stack)
                    .map(|(_, s)| tagged(s)),
                None => cloudformation::describe_stack(&clients.cfn_in(region), stack)
                    .await?
                    .map(|s| tagged(&s)),
            }
        }
        (None, _) => None,
    };
    Ok(stack
        .unwrap_or(own_tag)
        .then(|| name.parse().ok())
        .flatten()
        .map(|role_name| Member {
            role_name,
            stack_name: role.stack.filter(|_| stack.is_some()),
            stack_region: role.stack_region.filter(|_| stack.is_some()),
            role_gone: false,
        }))
}

/// A role of the set that `--prune` or `teardown -f` deleted, or failed to.
#[serde_with::skip_serializing_none]
#[derive(Debug, Serialize)]
pub struct Pruned {
    pub(crate) role_name: String,
    /// The stack that held the role, deleted with it.
    pub(crate) stack_name: Option<String>,
    /// The stack's role was gone before the stack was deleted.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub(crate) role_gone: bool,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(crate) deleted: Vec<String>,
    pub(crate) error: Option<String>,
}

impl Pruned {
    fn of(member: &Member, deleted: Result<TeardownOutcome, Error>) -> Pruned {
        let (deleted, error) = match deleted {
            Ok(outcome) => (outcome.deleted, None),
            // A teardown cut short: what went before it stopped is deleted all the same.
            Err(e) => {
                let went = match &e {
                    Error::Leftovers { went, .. } => went.clone(),
                    _ => Vec::new(),
                };
                (went, Some(e.to_string()))
            }
        };
        Pruned {
            role_name: member.role_name.to_string(),
            stack_name: member.stack_name.clone(),
            role_gone: member.role_gone,
            deleted,
            error,
        }
    }

    /// `role R`, or `stack S and its role R`.
    pub(crate) fn what(&self) -> String {
        match &self.stack_name {
            Some(stack) if self.role_gone => {
                format!(
                    "stack {stack} (its role {} was gone already)",
                    self.role_name
                )
            }
            Some(stack) => format!("stack {stack} and its role {}", self.role_name),
            None => format!("role {}", self.role_name),
        }
    }
}

/// Deletes the set's roles, each line of progress led by `label` ([`NOT_LISTED`], [`OF_SET`]).
/// Stacks go `parallel` at a time: each deletes only what it made, and CloudFormation takes
/// its time over each. Roles made with IAM go after them, one after another: two of them may
/// share a policy, which the last to let go of it deletes (`teardown::role` counts its
/// attachments). A stop starts no more; one role's failure stops no other.
pub(super) async fn delete_all(
    unasked: &Context,
    clients: &Clients,
    progress: &Many,
    members: &[Member],
    (label, parallel): (&str, usize),
) -> Vec<Pruned> {
    let (stacks, roles): (Vec<&Member>, Vec<&Member>) =
        members.iter().partition(|m| m.stack_name.is_some());
    let one = |member| delete_one(unasked, clients, progress, member, label);
    let mut done = super::each(stacks, parallel, one).await;
    for member in roles {
        done.push(one(member).await);
    }
    done.into_iter().flatten().collect()
}

/// One role of the set deleted, under a line of progress; none once a stop is asked for.
async fn delete_one(
    unasked: &Context,
    clients: &Clients,
    progress: &Many,
    member: &Member,
    label: &str,
) -> Option<Pruned> {
    if unasked.stop.requested().is_some() {
        return None;
    }
    let going = progress.begin(&format!("{label}: role {}", member.role_name));
    let p = Pruned::of(member, delete(unasked, clients, member).await);
    progress.end(going, &text::pruned_line(&p, label));
    Some(p)
}

/// Deletes a role of the set as `teardown` would: a stack's role with its stack (in the
/// stack's region), a role made with IAM with its policy when nothing else uses it.
async fn delete(
    ctx: &Context,
    clients: &Clients,
    member: &Member,
) -> Result<TeardownOutcome, Error> {
    let mut unasked = NoPrompts;
    match &member.stack_name {
        Some(stack) => {
            let in_region = member
                .stack_region
                .as_deref()
                .map(|region| clients.with_stacks_in(region));
            let clients = in_region.as_ref().unwrap_or(clients);
            teardown::stack(ctx, clients, &mut unasked, stack, false).await
        }
        None => teardown::role(ctx, clients, &mut unasked, &member.role_name, false).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A role whose teardown stopped partway lists what went, beside why it stopped.
    #[test]
    fn a_role_cut_short_reports_what_went_and_why_it_stopped() {
        let member = Member {
            role_name: "r".parse().unwrap(),
            stack_name: None,
            stack_region: None,
            role_gone: false,
        };
        let cut = Error::Leftovers {
            cause: Box::new(Error::Conflict("iam:DeleteRole failed".into())),
            leftovers: "Left in AWS:\n  - role r".into(),
            went: vec!["policy p".into()],
        };
        let pruned = Pruned::of(&member, Err(cut));
        assert_eq!(pruned.deleted, ["policy p"]);
        assert!(pruned.error.unwrap().contains("Left in AWS"));
        let failed = Pruned::of(&member, Err(Error::Conflict("no".into())));
        assert!(failed.deleted.is_empty());
    }
}
