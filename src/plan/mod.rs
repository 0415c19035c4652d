//! The plan: validated inputs, detected facts and the current state in, the documents and the
//! list of changes out. Pure: no I/O, so every decision here is unit-tested.
//!
//! [`role()`] and [`user()`] make the two plans; `trust` works out whom a role trusts; `stack`
//! decides what a CloudFormation stack needs, drift included. What AWS holds comes in as
//! [`crate::facts`]; nothing here calls AWS, asks a question or prints.

mod action;
mod grant;
mod role;
mod stack;
mod trust;
mod user;

pub use action::{names, Action, PolicyWrite, Who};
pub use grant::Grant;
pub use role::{role, RolePlan};
pub use stack::{parameters as stack_parameters, Drift};
pub use trust::{trust_change, TrustChange};
pub use user::{user, UserInputs, UserPlan, UserState, MAX_KEYS};

use serde::Serialize;
use serde_json::Value;

use crate::error::Error;
use crate::facts::{PolicyInfo, PrincipalInfo, RoleInfo, StackInfo};
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

/// The guardrails a principal that exists already lacks: a different boundary, missing tags.
/// Its path cannot change (IAM has no call for it), so another path stops the run. An omitted
/// `--permissions-boundary` leaves the current boundary as it is; tags not given are kept.
/// `flag` is the one that names it in the teardown command (`--stack-name` for a stack's role).
pub(super) fn guardrail_actions(
    guard: &Guardrails,
    who: &Who,
    held: PrincipalInfo<'_>,
    flag: &'static str,
) -> Result<Vec<Action>, Error> {
    let (arn, boundary, tags) = (held.arn, held.boundary, held.tags);
    let path = IamPath::of_arn(arn).unwrap_or_default();
    if path != guard.path {
        return Err(Error::Conflict(format!(
            "{who} exists at path {path}, not {}; IAM cannot move it: run with --path {path}, or remove it first (serverless-s3-setup teardown {flag} {})",
            guard.path,
            who.name()
        )));
    }
    let mut actions = Vec::new();
    if let Some(wanted) = &guard.permissions_boundary {
        if boundary != Some(wanted.as_str()) {
            actions.push(Action::SetBoundary {
                who: who.clone(),
                arn: wanted.to_string(),
            });
        }
    }
    let missing = missing_tags(guard.all_tags(), tags);
    if !missing.is_empty() {
        actions.push(Action::TagPrincipal {
            who: who.clone(),
            tags: missing,
        });
    }
    Ok(actions)
}

/// What a role or user that exists already lacks: its guardrails, and `attach` unless the
/// policy is `attached`.
pub(super) fn existing(
    guard: &Guardrails,
    attach: Action,
    attached: bool,
    held: PrincipalInfo<'_>,
) -> Result<Vec<Action>, Error> {
    let Action::AttachPolicy { to, .. } = &attach else {
        unreachable!("an attachment names whom it attaches to")
    };
    let mut actions = guardrail_actions(guard, to, held, to.flag())?;
    if !attached {
        actions.push(attach);
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
pub(super) fn policy_tag_action(
    write: &PolicyWrite,
    policy: Option<&PolicyInfo>,
) -> Option<Action> {
    let tags = missing_tags(write.guard.all_tags(), &policy?.tags);
    (!tags.is_empty()).then(|| Action::TagPolicy {
        policy: write.name.clone(),
        arn: write.arn.clone(),
        tags,
    })
}

pub fn policy_arn(
    partition: Partition,
    account: &str,
    path: &IamPath,
    name: &PolicyName,
) -> String {
    format!("arn:{partition}:iam::{account}:policy{path}{name}")
}

/// The managed policy's ARN: the existing policy's, or where it will be made.
pub(super) fn managed_policy_arn(
    existing: Option<&PolicyInfo>,
    partition: Partition,
    account: &str,
    guard: &Guardrails,
    name: &PolicyName,
) -> String {
    existing.map_or_else(
        || policy_arn(partition, account, &guard.path, name),
        |p| p.arn.clone(),
    )
}

/// What to do with the permissions policy: create it, update it, or nothing. A same-named
/// policy this tool did not create is refused.
pub(super) fn policy_action(
    existing: Option<&PolicyInfo>,
    current: Option<&Value>,
    write: &PolicyWrite,
) -> Result<Option<Action>, Error> {
    match existing {
        Some(p) if !p.managed => Err(Error::NotManaged {
            kind: "policy",
            name: write.name.to_string(),
            flag: "--policy-name",
        }),
        Some(_) if current.is_some_and(|doc| policy::same(doc, &write.document)) => Ok(None),
        Some(_) => Ok(Some(Action::UpdatePolicy(write.clone()))),
        None => Ok(Some(Action::CreatePolicy(write.clone()))),
    }
}

#[cfg(test)]
mod tests;
