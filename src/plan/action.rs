//! The plan's changes, each carrying what it writes: the dry run and the `--yes` lines
//! describe them, the journal records their undo, and `apply::execute` runs them.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::inputs::{Guardrails, PolicyName, RoleName, StackName, TagPair, UserName, Who};

use super::Drift;

/// A managed policy as the plan writes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct PolicyWrite {
    pub(crate) name: PolicyName,
    pub(crate) arn: String,
    pub(crate) document: Value,
    pub(crate) description: String,
    /// Its path and tags.
    pub(crate) guard: Guardrails,
}

/// A stack as the plan writes it: the template this binary embeds (named by its hash, which
/// the stack is tagged with), its parameters, and the user's tags, which CloudFormation passes
/// on to the role it makes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct StackSpec {
    pub(crate) stack: StackName,
    /// Where the stack is: stacks are regional, roles global. `None` when planning offline.
    pub(crate) region: Option<String>,
    pub(crate) parameters: BTreeMap<String, String>,
    pub(crate) tags: Vec<TagPair>,
    pub(crate) template_hash: String,
}

impl StackSpec {
    /// `NAME in REGION`: a plan of many setups names where each stack is.
    fn named(&self) -> String {
        match &self.region {
            Some(region) => format!("{} in {region}", self.stack),
            None => self.stack.to_string(),
        }
    }
}

/// A stack's role as its template makes it, for making it again through IAM.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct RoleRemake {
    pub(crate) name: RoleName,
    pub(crate) trust: Value,
    /// The inline policy.
    pub(crate) policy: PolicyName,
    pub(crate) permissions: Value,
    pub(crate) description: String,
    /// Its path, boundary and tags, the stack's among them.
    pub(crate) guard: Guardrails,
}

/// One change to make, carrying everything its execution needs: a saved plan is applied from
/// its actions alone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub(crate) enum Action {
    CreatePolicy(PolicyWrite),
    /// A new default version replaces the current one, and older versions are pruned.
    UpdatePolicy(PolicyWrite),
    CreateRole {
        name: RoleName,
        trust: Value,
        description: String,
        /// Its path, boundary and tags.
        guard: Guardrails,
        /// The principal the trust names (`arn:aws:iam::ACCOUNT:root`), for the fix when IAM
        /// does not know it.
        trusted: String,
    },
    UpdateTrust {
        name: RoleName,
        trust: Value,
        trusted: String,
    },
    CreateUser {
        name: UserName,
        guard: Guardrails,
    },
    AttachPolicy {
        to: Who,
        policy: PolicyName,
        arn: String,
    },
    CreateAccessKey {
        user: UserName,
        /// The user's keys before this run, so that an undo after a lost answer finds the new
        /// one.
        before: Vec<String>,
    },
    /// `--rotate`: an older key of the user goes. `first`: before the new key is made, to
    /// make room at IAM's two-key limit; else once the new key is made and AWS accepts it.
    DeleteAccessKey {
        user: UserName,
        id: String,
        first: bool,
    },
    CreateStack(StackSpec),
    UpdateStack(StackSpec),
    /// The stack can only be deleted and made again: its first create failed
    /// (`ROLLBACK_COMPLETE`, `ROLLBACK_FAILED`) or it was only ever reviewed
    /// (`REVIEW_IN_PROGRESS`, a change set never executed).
    RecreateStack {
        status: String,
        stack: StackSpec,
    },
    /// `--permissions-boundary` differs from the role's or user's boundary.
    SetBoundary {
        who: Who,
        arn: String,
    },
    /// `--tag`s the role or user lacks, or holds with another value.
    TagPrincipal {
        who: Who,
        tags: Vec<TagPair>,
    },
    /// `--tag`s the policy lacks, or holds with another value.
    TagPolicy {
        policy: PolicyName,
        arn: String,
        tags: Vec<TagPair>,
    },
    /// `--no-permissions-boundary` on a role or user that has one.
    RemoveBoundary {
        who: Who,
    },
    /// `--remove-tag`s the role or user has.
    UntagPrincipal {
        who: Who,
        keys: Vec<String>,
    },
    /// `--remove-tag`s the policy has.
    UntagPolicy {
        policy: PolicyName,
        arn: String,
        keys: Vec<String>,
    },
    /// A role's description names the access and the location it serves; it follows them.
    UpdateDescription {
        name: RoleName,
        description: String,
    },
    /// The stack's role was deleted outside CloudFormation, which makes no resource again on
    /// an update. It is made again through IAM, by the name the stack knows it by and as the
    /// template has it (its trust, inline policy, description, path, boundary and tags, the
    /// stack's among them), so the stack holds it again: no window without a stack, no second
    /// one.
    RecreateDeletedRole(RoleRemake),
    /// What was changed on the stack's role outside CloudFormation is written back as the
    /// template has it.
    RestoreRole {
        name: RoleName,
        drift: Vec<Drift>,
    },
}

impl Action {
    /// One line for the plan; `principal` (`role NAME`) names what the stack's changes make.
    pub(crate) fn describe(&self, principal: &str) -> String {
        match self {
            Action::CreatePolicy(p) => format!("create policy {}", p.name),
            Action::UpdatePolicy(p) => format!(
                "update policy {} (new default version; older versions pruned)",
                p.name
            ),
            Action::CreateRole { name, .. } => format!("create role {name}"),
            Action::CreateUser { name, .. } => format!("create user {name}"),
            Action::UpdateTrust { name, .. } => format!("update the trust policy of role {name}"),
            Action::AttachPolicy { to, policy, .. } => format!("attach policy {policy} to {to}"),
            Action::CreateAccessKey { user, .. } => {
                format!("create an access key for user {user}")
            }
            Action::DeleteAccessKey { user, id, first: true } => {
                format!("delete access key {id} of user {user} first, to make room (IAM allows two)")
            }
            Action::DeleteAccessKey { user, id, .. } => {
                format!("delete access key {id} of user {user} once AWS accepts the new one")
            }
            Action::CreateStack(spec) => {
                format!("create stack {}, which creates {principal}", spec.named())
            }
            Action::UpdateStack(spec) => format!("update stack {} and {principal}", spec.named()),
            Action::RecreateStack { status, stack } => format!(
                "delete stack {}, left in {status} {} (it cannot be updated), and create it again with {principal}",
                stack.named(),
                match status.as_str() {
                    "REVIEW_IN_PROGRESS" => "by a change set that was never executed",
                    _ => "by a failed first create",
                }
            ),
            Action::SetBoundary { who, arn } => {
                format!("set the permissions boundary of {who} to {arn}")
            }
            Action::TagPrincipal { who, tags } => format!("tag {who} with {}", list(tags)),
            Action::TagPolicy { policy, tags, .. } => {
                format!("tag policy {policy} with {}", list(tags))
            }
            Action::RemoveBoundary { who } => {
                format!("remove the permissions boundary of {who}")
            }
            Action::UntagPrincipal { who, keys } => {
                format!("take {} off {who}", tag_keys(keys))
            }
            Action::UntagPolicy { policy, keys, .. } => {
                format!("take {} off policy {policy}", tag_keys(keys))
            }
            Action::UpdateDescription { name, description } => {
                format!("describe role {name} as \"{description}\"")
            }
            Action::RecreateDeletedRole(_) => format!(
                "create {principal} again, as the stack's template has it: it was deleted outside CloudFormation"
            ),
            Action::RestoreRole { drift, .. } => format!(
                "restore {} of {principal}, changed outside CloudFormation",
                drift.iter().map(Drift::describe).collect::<Vec<_>>().join(", ")
            ),
        }
    }
}

#[cfg(test)]
/// The actions' names, as `-o json` tags them (`create_policy`): for tests.
pub(crate) fn names(actions: &[Action]) -> Vec<String> {
    actions
        .iter()
        .map(|a| {
            serde_json::to_value(a).expect("actions serialise")["action"]
                .as_str()
                .expect("every action is tagged")
                .to_string()
        })
        .collect()
}

/// `the tag cost`, `the tags cost, team`.
fn tag_keys(keys: &[String]) -> String {
    let s = if keys.len() == 1 { "" } else { "s" };
    format!("the tag{s} {}", keys.join(", "))
}

pub(super) fn list(tags: &[TagPair]) -> String {
    tags.iter()
        .map(TagPair::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}
