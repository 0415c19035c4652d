//! The plan: validated inputs, detected facts and the current state in, the documents and the
//! list of changes out. Pure: no I/O, so every decision here is unit-tested.
//!
//! [`role()`] and [`user()`] make the two plans; `trust` works out whom a role trusts; `stack`
//! decides what a CloudFormation stack needs, drift included. What AWS holds comes in as
//! [`crate::facts`]; nothing here calls AWS, asks a question or prints.

mod action;
mod adopt;
mod grant;
mod keep;
mod role;
pub(crate) mod saved;
mod stack;
pub(crate) mod teardown;
mod trust;
mod user;

pub(crate) use action::{Action, PolicyWrite, RoleRemake, StackSpec};
pub(crate) use adopt::{adopt, candidates, Adopted, PrincipalName};
pub(crate) use grant::Grant;
pub(crate) use keep::Revision;
pub(crate) use role::{role, RolePlan};
pub(crate) use stack::Drift;
pub(crate) use teardown::{Deletion, Teardown};
pub(crate) use trust::TrustChange;
pub use user::KeyProbe;
pub(crate) use user::{user, UserInputs, UserPlan, UserState};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::Error;
use crate::facts::{Facts, PolicyInfo, RoleInfo, StackInfo};
use crate::inputs::{
    Access, AccountId, ExternalId, GuardrailRequest, Guardrails, IamPath, KmsKeyArn, Partition,
    PolicyName, RoleName, S3Location, SetName, StackName, TagPair, Tier, Who,
};
use crate::policy;

/// How the role is made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Method {
    Iam,
    Cloudformation,
}

/// Everything a role setup needs from the user, validated. A saved plan holds it, and reads it
/// back through the same parsers as the flags.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RoleInputs {
    pub(crate) location: S3Location,
    pub(crate) access: Access,
    pub(crate) tidb_account: AccountId,
    /// The console's external ID for this cluster, added to those the role trusts; `None`
    /// with `--no-external-id`, or when the run only removes IDs.
    pub(crate) external_id: Option<ExternalId>,
    /// More clusters trusted beside `external_id` (the rest of a file's `external_ids`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) more_external_ids: Vec<ExternalId>,
    /// `--replace-external-ids`: this cluster's ID replaces every other.
    pub(crate) replace_external_ids: bool,
    /// `--remove-external-id`: clusters to take off.
    pub(crate) remove_external_ids: Vec<ExternalId>,
    /// `--no-external-id`: trust every cluster of the TiDB Cloud project.
    pub(crate) no_external_id: bool,
    pub(crate) tier: Tier,
    pub(crate) role_name: RoleName,
    pub(crate) policy_name: PolicyName,
    /// `--kms-key`: keys to grant besides the bucket's and those the role has.
    pub(crate) kms_keys: Vec<KmsKeyArn>,
    /// `--remove-kms-key`: keys to take off.
    pub(crate) remove_kms_keys: Vec<KmsKeyArn>,
    /// The stack, for `--method cloudformation`.
    pub(crate) stack_name: Option<StackName>,
    pub(crate) guardrails: GuardrailRequest,
    /// Which values the user chose rather than took by default.
    pub(crate) chosen: Chosen,
    /// The set of setups (the file, for `apply -f`) the role belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) set: Option<SetName>,
}

/// Which values of a setup the user chose (by a flag or an answer that differs from the
/// default). A value not chosen stays as the role or stack has it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Chosen {
    pub(crate) policy_name: bool,
    pub(crate) tier: bool,
}

/// The role and policy as they are now, if they exist.
#[derive(Debug, Clone, Default)]
pub(crate) struct RoleState {
    pub(crate) role: Option<RoleInfo>,
    pub(crate) policy: Option<PolicyInfo>,
    /// The policy's default version, decoded.
    pub(crate) policy_document: Option<Value>,
    pub(crate) attached: bool,
    /// The stack, for `--method cloudformation`.
    pub(crate) stack: Option<StackInfo>,
    /// The stack's role's inline policies (name, document), read on a rerun of a stack that has
    /// its role; `None` when not read.
    pub(crate) inline: Option<Vec<(String, Option<Value>)>>,
}

pub(super) const ACCOUNT_PLACEHOLDER: &str = "<your-account-id>";

/// The trust and permissions policies the plan writes.
#[derive(Clone, Copy)]
pub(super) struct Documents<'a> {
    pub(super) trust: &'a Value,
    pub(super) permissions: &'a Value,
}

/// The policy's name: as given, else the name of the policy the role or user has (which the
/// survey found attached, made by this tool), else the default.
pub(super) fn kept_policy_name(
    chosen: bool,
    existing: Option<&PolicyInfo>,
    name: &PolicyName,
) -> PolicyName {
    existing
        .filter(|_| !chosen)
        .and_then(|p| crate::inputs::Arn::parse(&p.arn)?.iam_resource())
        .and_then(|(_, _, held)| held.parse().ok())
        .unwrap_or_else(|| name.clone())
}

/// A permissions policy IAM would refuse for its size (`quota`, as IAM counts it), refused
/// before any change. Only the KMS keys make it grow.
pub(super) fn check_policy_size(doc: &Value, quota: usize, keys: usize) -> Result<(), Error> {
    let size = policy::iam_size(doc);
    if size <= quota {
        return Ok(());
    }
    Err(Error::invalid(
        "--kms-key",
        format!(
            "the permissions policy would be {size} characters with {keys} KMS keys (IAM counts them without whitespace), over IAM's {quota}; grant fewer keys with --remove-kms-key, or use a key per bucket"
        ),
    ))
}

/// The trust policy's size against the account's quota (`AssumeRolePolicySizeQuota`, 2,048
/// unless raised, at most 4,096; IAM User Guide, "IAM and AWS STS quotas"), before any change.
pub(crate) fn check_trust_size(trust: &Value, quota: usize, clusters: usize) -> Result<(), Error> {
    let size = policy::iam_size(trust);
    if size <= quota {
        return Ok(());
    }
    Err(Error::invalid(
        "--external-id",
        format!(
            "the trust policy would be {size} characters for {clusters} clusters (IAM counts them without whitespace), over this account's quota of {quota} (ACLSizePerRole)\n  fix: split the clusters over two roles (a second --role-name for some of them), or ask for a higher \"Role trust policy length\" in Service Quotas (up to 4,096)"
        ),
    ))
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

/// What can never work, refused before any change: TiDB Cloud runs only in AWS's commercial
/// partition (pingcap/docs `tidb-cloud/cloud_providers_and_regions.md`), and a role cannot be
/// assumed from another partition ("Federating AWS identities across AWS partitions", IAM
/// User Guide); and the caller's own account given as TiDB Cloud's.
pub(super) fn refuse_what_cannot_work(
    facts: &Facts,
    tidb_account: &AccountId,
) -> Result<(), Error> {
    if let Some(region) = facts
        .bucket_region()
        .filter(|r| Partition::for_region(r) != Partition::Aws)
    {
        return Err(Error::invalid(
            "--uri",
            format!(
                "the bucket is in {region}, in AWS's {} partition; TiDB Cloud runs only in the commercial partition (aws), and a role cannot be assumed across partitions, so no role there can ever serve TiDB Cloud",
                Partition::for_region(region)
            ),
        ));
    }
    let partition = facts.partition();
    let region = facts.region.as_deref().unwrap_or_default();
    if partition != Partition::Aws
        || (!region.is_empty() && Partition::for_region(region) != Partition::Aws)
    {
        let place = if region.is_empty() {
            partition.to_string()
        } else {
            format!("{region} ({})", Partition::for_region(region))
        };
        return Err(Error::invalid(
            "--region",
            format!(
                "the role would be made in {place}; TiDB Cloud runs only in AWS's commercial partition (aws), and a role cannot be assumed across partitions: use credentials and a region of the commercial partition"
            ),
        ));
    }
    refuse_own_account(facts.account.as_ref(), tidb_account)
}

/// The caller's own account given as TiDB Cloud's: a common slip, since those are the 12
/// digits at hand. TiDB Cloud's account ID is in the console's dialog.
pub(crate) fn refuse_own_account(
    caller: Option<&AccountId>,
    tidb_account: &AccountId,
) -> Result<(), Error> {
    match caller {
        Some(own) if own == tidb_account => Err(Error::invalid(
            "--tidb-account-id",
            format!(
                "{own} is your own AWS account, the one the role is made in; give TiDB Cloud's account ID from the console's dialog (Add New ARN → Having trouble? Create Role ARN manually)"
            ),
        )),
        _ => Ok(()),
    }
}

pub(crate) fn policy_arn(
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
    facts: &Facts,
    guard: &Guardrails,
    name: &PolicyName,
) -> String {
    existing.map_or_else(
        || policy_arn(facts.partition(), account_of(facts), &guard.path, name),
        |p| p.arn.clone(),
    )
}

/// The caller's account, or a placeholder where it is not known (a plan without AWS).
pub(super) fn account_of(facts: &Facts) -> &str {
    facts
        .account
        .as_ref()
        .map_or(ACCOUNT_PLACEHOLDER, AccountId::as_str)
}

/// What a role or user made with IAM starts with: its managed policy written, when that
/// changes anything; and the policy's attachment to `who`, for the caller to add where due.
pub(super) fn managed_policy(
    who: &Who,
    write: &PolicyWrite,
    existing: &Option<PolicyInfo>,
    current: &Option<Value>,
) -> Result<(Vec<Action>, Action), Error> {
    let attach = Action::AttachPolicy {
        to: who.clone(),
        policy: write.name.clone(),
        arn: write.arn.clone(),
    };
    let written = policy_action(existing.as_ref(), current.as_ref(), write)?;
    Ok((written.into_iter().collect(), attach))
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
