//! The plan: validated inputs, detected facts and the current state in, the documents and the
//! list of changes out. Pure: no I/O, so every decision here is unit-tested.
//!
//! [`role()`] and [`user()`] make the two plans; `trust` works out whom a role trusts; `stack`
//! decides what a CloudFormation stack needs, drift included. What AWS holds comes in as
//! [`crate::facts`]; nothing here calls AWS, asks a question or prints.

mod role;
mod stack;
mod trust;
mod user;

pub use role::{role, RolePlan};
pub use stack::{parameters as stack_parameters, Drift};
pub use trust::{trust_change, TrustChange};
pub use user::{user, UserInputs, UserPlan, UserState, MAX_KEYS};

use serde::Serialize;
use serde_json::Value;

use crate::error::Error;
use crate::facts::{PolicyInfo, RoleInfo, StackInfo};
use crate::inputs::{
    Access, AccountId, ExternalId, Guardrails, IamPath, KmsKeyArn, Partition, PolicyName, RoleName,
    S3Location, StackName, TagPair, Tier,
};
use crate::policy;

/// How the role is made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Method {
    Iam,
    Cloudformation,
}

/// Everything a role setup needs from the user, validated.
#[derive(Debug, Clone)]
pub struct RoleInputs {
    pub location: S3Location,
    pub access: Access,
    pub tidb_account: AccountId,
    /// The console's external ID for this cluster, added to those the role trusts; `None`
    /// with `--no-external-id`, or when the run only removes IDs.
    pub external_id: Option<ExternalId>,
    /// `--replace-external-ids`: this cluster's ID replaces every other.
    pub replace_external_ids: bool,
    /// `--remove-external-id`: clusters to take off.
    pub remove_external_ids: Vec<ExternalId>,
    /// `--no-external-id`: trust every cluster of the TiDB Cloud project.
    pub no_external_id: bool,
    pub tier: Tier,
    pub role_name: RoleName,
    pub policy_name: PolicyName,
    pub kms_keys: Vec<KmsKeyArn>,
    /// The stack, for `--method cloudformation`.
    pub stack_name: Option<StackName>,
    pub guardrails: Guardrails,
}

/// The role and policy as they are now, if they exist.
#[derive(Debug, Clone, Default)]
pub struct RoleState {
    pub role: Option<RoleInfo>,
    pub policy: Option<PolicyInfo>,
    /// The policy's default version, decoded.
    pub policy_document: Option<Value>,
    pub attached: bool,
    /// The stack, for `--method cloudformation`.
    pub stack: Option<StackInfo>,
    /// The stack's role's inline policies (name, document), read on a rerun of a stack that has
    /// its role; `None` when not read.
    pub inline: Option<Vec<(String, Option<Value>)>>,
}

pub(super) const ACCOUNT_PLACEHOLDER: &str = "<your-account-id>";

/// The trust and permissions policies the plan writes.
#[derive(Clone, Copy)]
pub(super) struct Documents<'a> {
    pub(super) trust: &'a Value,
    pub(super) permissions: &'a Value,
}

/// One change to make, in order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Action {
    CreatePolicy,
    /// A new default version replaces the current one, and older versions are pruned.
    UpdatePolicy,
    CreateRole,
    UpdateTrust,
    CreateUser,
    AttachPolicy,
    CreateAccessKey,
    CreateStack,
    UpdateStack,
    /// The stack can only be deleted and made again: its first create failed
    /// (`ROLLBACK_COMPLETE`, `ROLLBACK_FAILED`) or it was only ever reviewed
    /// (`REVIEW_IN_PROGRESS`, a change set never executed).
    RecreateStack {
        status: String,
    },
    /// `--permissions-boundary` differs from the role's or user's boundary.
    SetBoundary {
        arn: String,
    },
    /// `--tag`s the role or user lacks, or holds with another value.
    TagPrincipal {
        tags: Vec<TagPair>,
    },
    /// `--tag`s the policy lacks, or holds with another value.
    TagPolicy {
        tags: Vec<TagPair>,
    },
    /// The stack's role was deleted outside CloudFormation, which makes no resource again on
    /// an update. It is made again through IAM, by the name the stack knows it by and as the
    /// template has it, so the stack holds it again: no window without a stack, no second one.
    RecreateDeletedRole,
    /// What was changed on the stack's role outside CloudFormation is written back as the
    /// template has it.
    RestoreRole {
        drift: Vec<Drift>,
    },
}

impl Action {
    /// One line for the plan; `principal` is `role NAME` or `user NAME`.
    pub fn describe(&self, principal: &str, policy: &PolicyName) -> String {
        match self {
            Action::CreatePolicy => format!("create policy {policy}"),
            Action::UpdatePolicy => {
                format!("update policy {policy} (new default version; older versions pruned)")
            }
            Action::CreateRole | Action::CreateUser => format!("create {principal}"),
            Action::UpdateTrust => format!("update the trust policy of {principal}"),
            Action::AttachPolicy => format!("attach policy {policy} to {principal}"),
            Action::CreateAccessKey => format!("create an access key for {principal}"),
            Action::CreateStack => format!("create the stack, which creates {principal}"),
            Action::UpdateStack => format!("update the stack and {principal}"),
            Action::RecreateStack { status } => format!(
                "delete the stack, left in {status} {} (it cannot be updated), and create it again with {principal}",
                match status.as_str() {
                    "REVIEW_IN_PROGRESS" => "by a change set that was never executed",
                    _ => "by a failed first create",
                }
            ),
            Action::SetBoundary { arn } => {
                format!("set the permissions boundary of {principal} to {arn}")
            }
            Action::TagPrincipal { tags } => format!("tag {principal} with {}", list(tags)),
            Action::TagPolicy { tags } => format!("tag policy {policy} with {}", list(tags)),
            Action::RecreateDeletedRole => format!(
                "create {principal} again, as the stack's template has it: it was deleted outside CloudFormation"
            ),
            Action::RestoreRole { drift } => format!(
                "restore {} of {principal}, changed outside CloudFormation",
                drift.iter().map(Drift::describe).collect::<Vec<_>>().join(", ")
            ),
        }
    }
}

pub(super) fn list(tags: &[TagPair]) -> String {
    tags.iter()
        .map(TagPair::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// The guardrails a principal that exists already lacks: a different boundary, missing tags.
/// Its path cannot change (IAM has no call for it), so another path stops the run. An omitted
/// `--permissions-boundary` leaves the current boundary as it is; tags not given are kept.
pub(super) fn guardrail_actions(
    guard: &Guardrails,
    kind: &'static str,
    name: &str,
    arn: &str,
    boundary: Option<&str>,
    tags: &[(String, String)],
    flag: &'static str,
) -> Result<Vec<Action>, Error> {
    let path = IamPath::of_arn(arn).unwrap_or_default();
    if path != guard.path {
        return Err(Error::Conflict(format!(
            "{kind} {name} exists at path {path}, not {}; IAM cannot move it: run with --path {path}, or remove it first (serverless-s3-setup teardown {flag} {name})",
            guard.path
        )));
    }
    let mut actions = Vec::new();
    if let Some(wanted) = &guard.permissions_boundary {
        if boundary != Some(wanted.as_str()) {
            actions.push(Action::SetBoundary {
                arn: wanted.to_string(),
            });
        }
    }
    let missing = missing_tags(guard.all_tags(), tags);
    if !missing.is_empty() {
        actions.push(Action::TagPrincipal { tags: missing });
    }
    Ok(actions)
}

/// The tags that `current` lacks or holds with another value.
pub(super) fn missing_tags<'a>(
    wanted: impl Iterator<Item = &'a TagPair>,
    current: &[(String, String)],
) -> Vec<TagPair> {
    wanted
        .filter(|t| !current.iter().any(|(k, v)| *k == t.key && *v == t.value))
        .cloned()
        .collect()
}

/// `TagPolicy` when the existing policy lacks some `--tag`s.
pub(super) fn policy_tag_action(guard: &Guardrails, policy: Option<&PolicyInfo>) -> Option<Action> {
    let tags = missing_tags(guard.all_tags(), &policy?.tags);
    (!tags.is_empty()).then_some(Action::TagPolicy { tags })
}

pub fn policy_arn(
    partition: Partition,
    account: &str,
    path: &IamPath,
    name: &PolicyName,
) -> String {
    format!("arn:{partition}:iam::{account}:policy{path}{name}")
}

/// What to do with the permissions policy: create it, update it, or nothing. A same-named
/// policy this tool did not create is refused.
pub(super) fn policy_action(
    existing: Option<&PolicyInfo>,
    current: Option<&Value>,
    planned: &Value,
    name: &PolicyName,
) -> Result<Option<Action>, Error> {
    match existing {
        Some(p) if !p.managed => Err(Error::NotManaged {
            kind: "policy",
            name: name.to_string(),
            flag: "--policy-name",
        }),
        Some(_) if current.is_some_and(|doc| policy::same(doc, planned)) => Ok(None),
        Some(_) => Ok(Some(Action::UpdatePolicy)),
        None => Ok(Some(Action::CreatePolicy)),
    }
}

#[cfg(test)]
mod tests;
