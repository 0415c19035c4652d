//! The plan: validated inputs, detected facts and the current state in, the documents and the
//! list of changes out. Pure: no I/O, so every decision here is unit-tested.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;

use crate::aws::cloudformation::StackInfo;
use crate::aws::iam::{AccessKeyInfo, PolicyInfo, RoleInfo, UserInfo};
use crate::aws::sts::Caller;
use crate::detect::BucketFacts;
use crate::error::Error;
use crate::inputs::{
    Access, AccountId, ExternalId, Guardrails, IamPath, KmsKeyArn, Partition, PolicyName, RoleName,
    S3Location, StackName, TagPair, Tier, UserName,
};
use crate::{policy, template};

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

/// What is known about the caller and the bucket. Every field is optional so that
/// `--dry-run` can still plan without credentials.
#[derive(Debug, Clone, Default)]
pub struct Facts {
    pub account: Option<AccountId>,
    /// The region the calls go to: where a stack is made (stacks are regional, roles global).
    pub region: Option<String>,
    pub partition: Option<Partition>,
    pub bucket_region: Option<String>,
    pub detected_kms_key: Option<KmsKeyArn>,
    pub findings: Vec<String>,
    pub warnings: Vec<String>,
    /// All that was read about the bucket, for the checks after a setup.
    pub bucket: Option<BucketFacts>,
}

impl Facts {
    /// What the caller's identity and the bucket's detection tell.
    pub fn detected(caller: Caller, bucket: BucketFacts) -> Facts {
        let mut findings = vec![format!("caller: {}", caller.arn)];
        findings.extend(bucket.findings.iter().cloned());
        Facts {
            account: Some(caller.account),
            partition: Some(caller.partition),
            bucket_region: bucket.region.clone(),
            detected_kms_key: bucket.kms_key.clone(),
            findings,
            warnings: bucket.warnings.clone(),
            bucket: Some(bucket),
            region: None,
        }
    }
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

/// A property of a stack's role that differs from its template: a change made outside
/// CloudFormation. CloudFormation updates what its templates change, not what the live
/// resource holds, so an update leaves drift in place. AWS's way out is to bring the
/// resource back "so that they agree with their template definition" (CloudFormation User
/// Guide, "Detect unmanaged configuration changes to stacks and resources with drift
/// detection"); the run does that through IAM, with the documents the template makes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "property", rename_all = "snake_case")]
pub enum Drift {
    Trust {
        live: Option<Value>,
        template: Value,
    },
    Policy {
        name: String,
        /// `None`: the inline policy was deleted.
        live: Option<Value>,
        template: Value,
    },
    Boundary {
        live: Option<String>,
        template: Option<String>,
    },
    /// The role's own tags (ownership, access) that are missing or hold another value.
    Tags { missing: Vec<TagPair> },
}

impl Drift {
    pub fn describe(&self) -> String {
        match self {
            Drift::Trust { .. } => "the trust policy".into(),
            Drift::Policy {
                name, live: None, ..
            } => format!("inline policy {name} (deleted)"),
            Drift::Policy { name, .. } => format!("inline policy {name}"),
            Drift::Boundary {
                template: Some(arn),
                ..
            } => format!("the permissions boundary {arn}"),
            Drift::Boundary {
                live,
                template: None,
            } => format!(
                "no permissions boundary (set by hand: {})",
                live.as_deref().unwrap_or("none")
            ),
            Drift::Tags { missing } => format!("the tags {}", list(missing)),
        }
    }

    /// The documents as they are and as the template has them, for a diff.
    pub fn documents(&self) -> Option<(Option<&Value>, &Value)> {
        match self {
            Drift::Trust { live, template } | Drift::Policy { live, template, .. } => {
                Some((live.as_ref(), template))
            }
            Drift::Boundary { .. } | Drift::Tags { .. } => None,
        }
    }
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

fn list(tags: &[TagPair]) -> String {
    tags.iter()
        .map(TagPair::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// The guardrails a principal that exists already lacks: a different boundary, missing tags.
/// Its path cannot change (IAM has no call for it), so another path stops the run. An omitted
/// `--permissions-boundary` leaves the current boundary as it is; tags not given are kept.
fn guardrail_actions(
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
fn missing_tags<'a>(
    wanted: impl Iterator<Item = &'a TagPair>,
    current: &[(String, String)],
) -> Vec<TagPair> {
    wanted
        .filter(|t| !current.iter().any(|(k, v)| *k == t.key && *v == t.value))
        .cloned()
        .collect()
}

/// `TagPolicy` when the existing policy lacks some `--tag`s.
fn policy_tag_action(guard: &Guardrails, policy: Option<&PolicyInfo>) -> Option<Action> {
    let tags = missing_tags(guard.all_tags(), &policy?.tags);
    (!tags.is_empty()).then_some(Action::TagPolicy { tags })
}

/// Which clusters the role trusts after this run, and what changes for each.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct TrustChange {
    /// Every external ID the trust will hold.
    pub external_ids: Vec<ExternalId>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub external_ids_added: Vec<ExternalId>,
    /// Who loses access: clusters by external ID, the rest of the project, another account.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub losing_access: Vec<String>,
    /// One line each for the plan.
    #[serde(skip)]
    pub lines: Vec<String>,
}

impl TrustChange {
    /// A change that takes access away never goes ahead on a default answer.
    pub fn revokes(&self) -> bool {
        !self.losing_access.is_empty()
    }
}

/// Works out the trust's external IDs from the role as it is and the flags. By default the
/// console's ID is added to those the role has for the same TiDB Cloud account, so a second
/// cluster never takes the first one's access away (IAM's `sts:ExternalId` condition takes a
/// list). `--replace-external-ids`, `--remove-external-id` and `--no-external-id` take access
/// away, and say from whom.
pub fn trust_change(
    inputs: &RoleInputs,
    method: Method,
    partition: Partition,
    state: &RoleState,
) -> Result<TrustChange, Error> {
    let Trusted {
        exists,
        ids: current,
        principals,
    } = trusted(inputs, method, partition, state);
    let add: Vec<String> = inputs.external_id.iter().map(|i| i.to_string()).collect();
    let mut change = TrustChange::default();
    let ids: Vec<String> = match &current {
        None => {
            if !principals.is_empty() {
                let before = principals;
                change
                    .losing_access
                    .push(format!("{} (trusted until now)", before.join(", ")));
            }
            if add.is_empty() && !inputs.no_external_id {
                return Err(Error::invalid(
                    "--external-id",
                    format!(
                        "is needed: role {} does not trust TiDB Cloud's account {} yet, so there is no external ID to remove",
                        inputs.role_name, inputs.tidb_account
                    ),
                ));
            }
            add.clone()
        }
        Some(cur) if inputs.no_external_id => {
            change.losing_access.extend(cur.iter().map(|id| {
                format!("the binding to external ID {id}: every cluster of the TiDB Cloud project could then use the role")
            }));
            Vec::new()
        }
        Some(cur) if cur.is_empty() => {
            change.losing_access.push(
                "every other cluster of the TiDB Cloud project (the role trusted them all, without an external ID)".into(),
            );
            add.clone()
        }
        Some(cur) if inputs.replace_external_ids => {
            change.losing_access.extend(
                cur.iter()
                    .filter(|id| !add.contains(id))
                    .map(|id| format!("the cluster with external ID {id}")),
            );
            add.clone()
        }
        Some(cur) => {
            let mut ids = cur.clone();
            for a in &add {
                if !ids.contains(a) {
                    ids.push(a.clone());
                }
            }
            for r in &inputs.remove_external_ids {
                if ids.iter().any(|i| i == r.as_str()) {
                    change
                        .losing_access
                        .push(format!("the cluster with external ID {r}"));
                }
            }
            ids.retain(|i| !inputs.remove_external_ids.iter().any(|r| r.as_str() == i));
            if ids.is_empty() {
                return Err(Error::invalid(
                    "--remove-external-id",
                    "would remove the last external ID, and a trust without one lets every cluster of the TiDB Cloud project in; pass --no-external-id if that is meant",
                ));
            }
            ids
        }
    };
    let before = current.unwrap_or_default();
    change.external_ids = ids
        .iter()
        .map(|i| i.parse().map_err(|e| Error::invalid("--external-id", e)))
        .collect::<Result<_, _>>()?;
    change.external_ids_added = change
        .external_ids
        .iter()
        .filter(|i| !before.iter().any(|b| b == i.as_str()))
        .cloned()
        .collect();
    let kept: Vec<&str> = change
        .external_ids
        .iter()
        .map(ExternalId::as_str)
        .filter(|i| before.iter().any(|b| b == i))
        .collect();
    if !kept.is_empty() {
        change.lines.push(format!(
            "the cluster with external ID {} keeps access",
            kept.join(", ")
        ));
    }
    if !change.external_ids_added.is_empty() {
        let added: Vec<&str> = change
            .external_ids_added
            .iter()
            .map(ExternalId::as_str)
            .collect();
        change.lines.push(format!(
            "the cluster with external ID {} {}",
            added.join(", "),
            if exists {
                "is added"
            } else {
                "may use the role"
            }
        ));
    }
    if change.external_ids.is_empty() {
        change.lines.push(
            "every cluster of the TiDB Cloud project may use the role (no external ID)".into(),
        );
    }
    for who in &change.losing_access {
        change.lines.push(format!("loses access: {who}"));
    }
    Ok(change)
}

/// What the role trusts before this run.
struct Trusted {
    /// Whether there is a role (or a stack) already.
    exists: bool,
    /// The external IDs bound to the same TiDB Cloud account; `None` when it does not trust
    /// that account (or does not exist).
    ids: Option<Vec<String>>,
    /// Whom it trusts instead, when not that account.
    principals: Vec<String>,
}

/// The trust as it stands: a role made with IAM holds it in its trust policy; a stack's role
/// holds what the stack's parameters say, which CloudFormation keeps it to.
fn trusted(
    inputs: &RoleInputs,
    method: Method,
    partition: Partition,
    state: &RoleState,
) -> Trusted {
    if let (Method::Cloudformation, Some(stack)) = (method, &state.stack) {
        let account = stack.parameters.get("TiDBCloudAccountId");
        if account.map(String::as_str) != Some(inputs.tidb_account.as_str()) {
            return Trusted {
                exists: true,
                ids: None,
                principals: account
                    .map(|a| vec![format!("arn:{partition}:iam::{a}:root")])
                    .unwrap_or_default(),
            };
        }
        let mut ids: Vec<String> = stack
            .parameters
            .get("ExternalId")
            .filter(|i| !i.is_empty() && i.as_str() != template::NO_EXTERNAL_ID)
            .cloned()
            .into_iter()
            .collect();
        if let Some(more) = stack.parameters.get("MoreExternalIds") {
            ids.extend(list_parameter(more).into_iter().map(str::to_string));
        }
        return Trusted {
            exists: true,
            ids: Some(ids),
            principals: Vec::new(),
        };
    }
    let trust = state.role.as_ref().and_then(|r| r.trust.as_ref());
    Trusted {
        exists: state.role.is_some(),
        ids: trust.and_then(|t| policy::trusted_external_ids(t, partition, &inputs.tidb_account)),
        principals: trust.map(policy::trusted_principals).unwrap_or_default(),
    }
}

/// The role setup, fully worked out.
#[derive(Debug, Clone, Serialize)]
pub struct RolePlan {
    pub method: Method,
    pub bucket: String,
    pub prefix: String,
    pub access: Access,
    pub partition: Partition,
    /// The caller's account; `None` when planning without credentials.
    pub account_id: Option<AccountId>,
    pub bucket_region: Option<String>,
    pub role_name: RoleName,
    pub policy_name: PolicyName,
    pub role_arn: String,
    /// The managed policy's ARN; `None` for a stack, whose role carries an inline policy.
    pub policy_arn: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stack_name: Option<StackName>,
    /// The stack's region, for `--method cloudformation`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stack_region: Option<String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub stack_parameters: BTreeMap<String, String>,
    pub tidb_account_id: AccountId,
    pub external_id: Option<ExternalId>,
    #[serde(flatten)]
    pub trust_change: TrustChange,
    pub tier: Tier,
    pub kms_keys: Vec<KmsKeyArn>,
    pub trust_policy: Value,
    pub permissions_policy: Value,
    /// The trust and permissions policies as AWS holds them now, for an update's diff.
    #[serde(skip)]
    pub current_trust: Option<Value>,
    #[serde(skip)]
    pub current_permissions: Option<Value>,
    pub actions: Vec<Action>,
    pub detected: Vec<String>,
    pub warnings: Vec<String>,
    #[serde(flatten)]
    pub guardrails: Guardrails,
}

impl RolePlan {
    pub fn changes(&self) -> bool {
        !self.actions.is_empty()
    }

    pub fn describe(&self, action: &Action) -> String {
        action.describe(&format!("role {}", self.role_name), &self.policy_name)
    }

    /// The managed policy's ARN, which every `--method iam` plan has.
    pub fn managed_policy_arn(&self) -> &str {
        self.policy_arn
            .as_deref()
            .expect("an IAM plan names a managed policy")
    }
}

const ACCOUNT_PLACEHOLDER: &str = "<your-account-id>";

pub fn role(
    method: Method,
    inputs: &RoleInputs,
    facts: &Facts,
    state: &RoleState,
) -> Result<RolePlan, Error> {
    let partition = facts.partition();
    let kms_keys = facts.kms_keys(&inputs.kms_keys);

    inputs
        .tier
        .supports(inputs.access)
        .map_err(|e| Error::invalid("--access", e))?;
    let trust_change = trust_change(inputs, method, partition, state)?;
    let trust = policy::trust(partition, &inputs.tidb_account, &trust_change.external_ids);
    let permissions = policy::permissions(
        partition,
        &inputs.location,
        inputs.access,
        &kms_keys,
        inputs.tier.reads_bucket_location(),
    );
    let account = facts
        .account
        .as_ref()
        .map_or(ACCOUNT_PLACEHOLDER, AccountId::as_str);

    let mut stack_parameters = BTreeMap::new();
    let actions = match method {
        Method::Iam => iam_role_actions(inputs, state, &trust, &permissions)?,
        Method::Cloudformation => {
            stack_parameters = template::parameters(inputs, &kms_keys, &trust_change.external_ids)?;
            stack_actions(
                inputs,
                state,
                &stack_parameters,
                Documents {
                    trust: &trust,
                    permissions: &permissions,
                },
                facts.region.as_deref(),
            )?
        }
    };
    let role_arn = state
        .stack
        .as_ref()
        .and_then(|s| s.outputs.get("RoleArn").cloned())
        .or_else(|| state.role.as_ref().map(|r| r.arn.clone()))
        .unwrap_or_else(|| {
            format!(
                "arn:{partition}:iam::{account}:role{}{}",
                inputs.guardrails.path, inputs.role_name
            )
        });
    let policy_arn = (method == Method::Iam).then(|| {
        state.policy.as_ref().map_or_else(
            || {
                policy_arn(
                    partition,
                    account,
                    &inputs.guardrails.path,
                    &inputs.policy_name,
                )
            },
            |p| p.arn.clone(),
        )
    });
    Ok(RolePlan {
        method,
        bucket: inputs.location.bucket().to_string(),
        prefix: inputs.location.prefix().to_string(),
        access: inputs.access,
        partition,
        account_id: facts.account.clone(),
        bucket_region: facts.bucket_region.clone(),
        role_arn,
        policy_arn,
        stack_name: inputs.stack_name.clone(),
        stack_region: inputs.stack_name.as_ref().and(facts.region.clone()),
        stack_parameters,
        role_name: inputs.role_name.clone(),
        policy_name: inputs.policy_name.clone(),
        tidb_account_id: inputs.tidb_account.clone(),
        external_id: inputs.external_id.clone(),
        trust_change,
        tier: inputs.tier,
        kms_keys,
        trust_policy: trust,
        permissions_policy: permissions,
        current_trust: state.role.as_ref().and_then(|r| r.trust.clone()),
        current_permissions: match method {
            Method::Iam => state.policy_document.clone(),
            Method::Cloudformation => state.inline.as_ref().and_then(|inline| {
                inline
                    .iter()
                    .find(|(name, _)| name == inputs.policy_name.as_str())
                    .and_then(|(_, doc)| doc.clone())
            }),
        },
        actions,
        detected: facts.findings.clone(),
        warnings: facts.warnings.clone(),
        guardrails: inputs.guardrails.clone(),
    })
}

fn iam_role_actions(
    inputs: &RoleInputs,
    state: &RoleState,
    trust: &Value,
    permissions: &Value,
) -> Result<Vec<Action>, Error> {
    let mut actions: Vec<Action> = policy_action(
        state.policy.as_ref(),
        state.policy_document.as_ref(),
        permissions,
        &inputs.policy_name,
    )?
    .into_iter()
    .collect();
    match &state.role {
        Some(r) if !r.managed => {
            return Err(Error::NotManaged {
                kind: "role",
                name: inputs.role_name.to_string(),
                flag: "--role-name",
            })
        }
        Some(RoleInfo {
            stack: Some(stack), ..
        }) => {
            let region = state
                .role
                .as_ref()
                .and_then(|r| r.stack_region.clone())
                .unwrap_or_else(|| "its region".into());
            return Err(Error::Conflict(format!(
                "role {} belongs to CloudFormation stack {stack} (in {region}); changing it with IAM would break the stack\n  fix: serverless-s3-setup role --method cloudformation --stack-name {stack} --region {region} …, or choose another --role-name",
                inputs.role_name
            )));
        }
        Some(r) => {
            if !r.trust.as_ref().is_some_and(|doc| policy::same(doc, trust)) {
                actions.push(Action::UpdateTrust);
            }
            actions.extend(guardrail_actions(
                &inputs.guardrails,
                "role",
                inputs.role_name.as_str(),
                &r.arn,
                r.boundary.as_deref(),
                &r.tags,
                "--role-name",
            )?);
            if !state.attached {
                actions.push(Action::AttachPolicy);
            }
        }
        None => actions.extend([Action::CreateRole, Action::AttachPolicy]),
    }
    actions.extend(policy_tag_action(&inputs.guardrails, state.policy.as_ref()));
    Ok(actions)
}

fn stack_actions(
    inputs: &RoleInputs,
    state: &RoleState,
    parameters: &BTreeMap<String, String>,
    documents: Documents<'_>,
    region: Option<&str>,
) -> Result<Vec<Action>, Error> {
    let name = inputs
        .stack_name
        .as_ref()
        .expect("a CloudFormation plan has a stack name");
    // A new path would make CloudFormation replace a role whose name is fixed, which it
    // refuses half-way through the update; say so before anything starts.
    if let (Some(_), Some(r)) = (&state.stack, &state.role) {
        guardrail_actions(
            &inputs.guardrails,
            "role",
            inputs.role_name.as_str(),
            &r.arn,
            None,
            &[],
            "--stack-name",
        )?;
    }
    match &state.stack {
        Some(s) if !s.managed => Err(Error::NotManaged {
            kind: "stack",
            name: name.to_string(),
            flag: "--stack-name",
        }),
        // Every status of CloudFormation's "Stack status codes" page has an honest outcome.
        Some(s) if matches!(s.status.as_str(), "ROLLBACK_COMPLETE" | "ROLLBACK_FAILED" | "REVIEW_IN_PROGRESS") => {
            Ok(vec![Action::RecreateStack {
                status: s.status.clone(),
            }])
        }
        Some(s) if matches!(s.status.as_str(), "UPDATE_ROLLBACK_FAILED" | "IMPORT_ROLLBACK_FAILED") => {
            Err(Error::Stack(format!(
                "stack {name} is {}: CloudFormation could not roll an update back, so the role may be half-changed{}\n  fix: aws cloudformation continue-update-rollback --stack-name {name} (add --resources-to-skip for a resource that cannot roll back), then run this again",
                s.status,
                reason(s)
            )))
        }
        Some(s) if s.status == "DELETE_FAILED" => Err(Error::Stack(format!(
            "stack {name} is DELETE_FAILED: a deletion stopped half-way{}\n  fix: remove what blocks it (`aws cloudformation describe-stack-events --stack-name {name}` names the resource), then `aws cloudformation delete-stack --stack-name {name}` and run this again",
            reason(s)
        ))),
        Some(s) if s.status.ends_with("_IN_PROGRESS") => Err(Error::Conflict(format!(
            "stack {name} is busy ({}); wait for it to settle (`aws cloudformation describe-stacks --stack-name {name}`), then run this again",
            s.status
        ))),
        Some(s) => {
            // The stack's parameters say what it holds; the live role says what AWS holds. A
            // rerun compares both, so a role changed by hand is never "unchanged".
            let its_role = s.parameters.get("RoleName").map(String::as_str)
                == Some(inputs.role_name.as_str());
            let mut actions = Vec::new();
            if its_role && state.role.is_none() {
                actions.push(Action::RecreateDeletedRole);
            }
            let current = same_parameters(&s.parameters, parameters)
                && s.template_tag.as_deref() == Some(&template::hash())
                // The stack carries the user's tags; the template tags the role itself.
                && missing_tags(inputs.guardrails.tags.iter(), &s.tags).is_empty();
            if !current {
                actions.push(Action::UpdateStack);
            }
            if let (true, Some(role)) = (its_role, &state.role) {
                let drift = drift(
                    inputs,
                    s,
                    role,
                    state.inline.as_deref(),
                    parameters,
                    documents,
                    region,
                )?;
                if !drift.is_empty() {
                    actions.push(Action::RestoreRole { drift });
                }
            }
            Ok(actions)
        }
        None => match &state.role {
            Some(r) if !r.managed => Err(Error::NotManaged {
                kind: "role",
                name: inputs.role_name.to_string(),
                flag: "--role-name",
            }),
            Some(RoleInfo {
                stack: Some(stack),
                stack_region,
                ..
            }) => Err(Error::Conflict(format!(
                "role {} belongs to stack {stack}, which is not in this region{}; stacks are regional\n  fix: run this again with --region {}",
                inputs.role_name,
                stack_region.as_deref().map(|r| format!(" but in {r}")).unwrap_or_default(),
                stack_region.as_deref().unwrap_or("REGION"),
            ))),
            Some(_) => Err(Error::Conflict(format!(
                "role {} already exists outside any stack (made with --method iam); run with --method iam to bring it up to date, or choose another --role-name",
                inputs.role_name
            ))),
            None => Ok(vec![Action::CreateStack]),
        },
    }
}

/// The trust and permissions policies the plan writes.
#[derive(Clone, Copy)]
struct Documents<'a> {
    trust: &'a Value,
    permissions: &'a Value,
}

/// What the stack's role holds that its template would not. Only the properties whose
/// parameters stay as they are: CloudFormation rewrites a property whose parameters change
/// (its handler compares the old template's values with the new), so that drift the update
/// itself undoes. A role tagged as another stack's is not this stack's to repair.
fn drift(
    inputs: &RoleInputs,
    stack: &StackInfo,
    role: &RoleInfo,
    inline: Option<&[(String, Option<Value>)]>,
    planned: &BTreeMap<String, String>,
    documents: Documents<'_>,
    region: Option<&str>,
) -> Result<Vec<Drift>, Error> {
    let name = inputs
        .stack_name
        .as_ref()
        .map(StackName::as_str)
        .unwrap_or_default();
    let elsewhere = role
        .stack_region
        .as_deref()
        .zip(region)
        .is_some_and(|(tagged, here)| tagged != here);
    if let Some(owner) = role.stack.as_deref().filter(|o| *o != name || elsewhere) {
        let owner_region = role.stack_region.as_deref().unwrap_or("its region");
        return Err(Error::Conflict(format!(
            "role {} is tagged as the role of stack {owner} in {owner_region}, yet stack {name} here names it too; one of them was changed by hand, and repairing either could break the other\n  fix: see which stack holds it (`aws cloudformation describe-stack-resources --stack-name {owner} --region {owner_region}`), and remove the stack that does not",
            inputs.role_name
        )));
    }
    let unchanged = |keys: &[&str]| {
        keys.iter()
            .all(|k| same_parameter(k, stack.parameters.get(*k), planned.get(*k)))
    };
    let mut drift = Vec::new();
    if unchanged(&["TiDBCloudAccountId", "ExternalId", "MoreExternalIds"])
        && !role
            .trust
            .as_ref()
            .is_some_and(|doc| policy::same(doc, documents.trust))
    {
        drift.push(Drift::Trust {
            live: role.trust.clone(),
            template: documents.trust.clone(),
        });
    }
    let permissions = [
        "PolicyName",
        "BucketName",
        "ObjectPrefix",
        "Access",
        "Tier",
        "KmsKeyArns",
    ];
    if let (Some(inline), true) = (inline, unchanged(&permissions)) {
        let live = inline
            .iter()
            .find(|(n, _)| n == inputs.policy_name.as_str())
            .and_then(|(_, doc)| doc.clone());
        if !live
            .as_ref()
            .is_some_and(|doc| policy::same(doc, documents.permissions))
        {
            drift.push(Drift::Policy {
                name: inputs.policy_name.to_string(),
                live,
                template: documents.permissions.clone(),
            });
        }
    }
    let boundary = planned
        .get("PermissionsBoundary")
        .filter(|b| !b.is_empty())
        .cloned();
    if unchanged(&["PermissionsBoundary"]) && role.boundary != boundary {
        drift.push(Drift::Boundary {
            live: role.boundary.clone(),
            template: boundary,
        });
    }
    // The tags the template puts on the role; the access tag follows its parameter.
    let mut tags = vec![
        (
            crate::aws::iam::MANAGED_BY_KEY,
            crate::aws::iam::MANAGED_BY_VALUE,
        ),
        (crate::aws::iam::STACK_TAG, name),
    ];
    tags.extend(region.map(|r| (crate::aws::iam::STACK_REGION_TAG, r)));
    if unchanged(&["Access"]) {
        tags.extend(
            planned
                .get("Access")
                .map(|a| (crate::inputs::ACCESS_TAG, a.as_str())),
        );
    }
    let wanted: Vec<TagPair> = tags
        .into_iter()
        .map(|(key, value)| TagPair {
            key: key.into(),
            value: value.into(),
        })
        .collect();
    let missing = missing_tags(wanted.iter(), &role.tags);
    if !missing.is_empty() {
        drift.push(Drift::Tags { missing });
    }
    Ok(drift)
}

/// Compares a stack's parameters with the planned ones. A list parameter comes back as
/// `a,b` from AWS, but as `['a', 'b']` from moto; both mean the same list.
fn same_parameters(current: &BTreeMap<String, String>, planned: &BTreeMap<String, String>) -> bool {
    current.len() == planned.len()
        && planned
            .keys()
            .all(|k| same_parameter(k, current.get(k), planned.get(k)))
}

/// One parameter's two values compared, a list as its items.
fn same_parameter(key: &str, a: Option<&String>, b: Option<&String>) -> bool {
    match key {
        "KmsKeyArns" | "MoreExternalIds" => {
            a.map(|v| list_parameter(v)) == b.map(|v| list_parameter(v))
        }
        _ => a == b,
    }
}

/// `: REASON` from DescribeStacks' StackStatusReason, when CloudFormation gave one.
fn reason(stack: &StackInfo) -> String {
    stack
        .status_reason
        .as_deref()
        .map(|r| format!(": {r}"))
        .unwrap_or_default()
}

/// A list parameter's items, as AWS (`a,b`) or moto (`['a', 'b']`) spells it.
fn list_parameter(v: &str) -> Vec<&str> {
    v.trim_matches(|c| c == '[' || c == ']')
        .split(',')
        .map(|item| item.trim().trim_matches('\''))
        .filter(|item| !item.is_empty())
        .collect()
}

pub fn policy_arn(
    partition: Partition,
    account: &str,
    path: &IamPath,
    name: &PolicyName,
) -> String {
    format!("arn:{partition}:iam::{account}:policy{path}{name}")
}

impl Facts {
    /// The caller's partition, or else the bucket region's.
    pub fn partition(&self) -> Partition {
        self.partition.unwrap_or_else(|| {
            self.bucket_region
                .as_deref()
                .map_or(Partition::Aws, Partition::for_region)
        })
    }

    /// The given keys and the detected one, sorted, each once.
    pub fn kms_keys(&self, given: &[KmsKeyArn]) -> Vec<KmsKeyArn> {
        let mut keys: Vec<KmsKeyArn> = given
            .iter()
            .cloned()
            .chain(self.detected_kms_key.clone())
            .collect();
        keys.sort();
        keys.dedup();
        keys
    }
}

/// What to do with the permissions policy: create it, update it, or nothing. A same-named
/// policy this tool did not create is refused.
fn policy_action(
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

/// Everything an access-key setup needs from the user, validated.
#[derive(Debug, Clone)]
pub struct UserInputs {
    pub location: S3Location,
    pub access: Access,
    pub user_name: UserName,
    pub policy_name: PolicyName,
    pub kms_keys: Vec<KmsKeyArn>,
    pub guardrails: Guardrails,
}

/// The user, its policy and its keys as they are now.
#[derive(Debug, Clone, Default)]
pub struct UserState {
    pub user: Option<UserInfo>,
    pub policy: Option<PolicyInfo>,
    pub policy_document: Option<Value>,
    pub attached: bool,
    pub keys: Vec<AccessKeyInfo>,
}

/// The access-key setup, fully worked out.
#[derive(Debug, Clone, Serialize)]
pub struct UserPlan {
    pub bucket: String,
    pub prefix: String,
    pub access: Access,
    pub partition: Partition,
    pub account_id: Option<AccountId>,
    pub bucket_region: Option<String>,
    pub user_name: UserName,
    pub policy_name: PolicyName,
    pub user_arn: String,
    pub policy_arn: String,
    pub kms_keys: Vec<KmsKeyArn>,
    pub permissions_policy: Value,
    /// The policy as AWS holds it now, for an update's diff.
    #[serde(skip)]
    pub current_permissions: Option<Value>,
    /// The user's keys before this run.
    pub existing_keys: Vec<AccessKeyInfo>,
    pub actions: Vec<Action>,
    pub detected: Vec<String>,
    pub warnings: Vec<String>,
    #[serde(flatten)]
    pub guardrails: Guardrails,
}

impl UserPlan {
    pub fn describe(&self, action: &Action) -> String {
        action.describe(&format!("user {}", self.user_name), &self.policy_name)
    }
}

/// IAM's limit of access keys per user.
pub const MAX_KEYS: usize = 2;

pub fn user(inputs: &UserInputs, facts: &Facts, state: &UserState) -> Result<UserPlan, Error> {
    let partition = facts.partition();
    let kms_keys = facts.kms_keys(&inputs.kms_keys);
    // TiDB's storage layer asks a key's bucket for its location (TiDB's troubleshooting page
    // lists s3:GetBucketLocation for an IAM user's access key).
    let permissions =
        policy::permissions(partition, &inputs.location, inputs.access, &kms_keys, true);
    let account = facts
        .account
        .as_ref()
        .map_or(ACCOUNT_PLACEHOLDER, AccountId::as_str);
    let mut actions: Vec<Action> = policy_action(
        state.policy.as_ref(),
        state.policy_document.as_ref(),
        &permissions,
        &inputs.policy_name,
    )?
    .into_iter()
    .collect();
    match &state.user {
        Some(u) if !u.managed => {
            return Err(Error::NotManaged {
                kind: "user",
                name: inputs.user_name.to_string(),
                flag: "--user-name",
            })
        }
        Some(u) => {
            actions.extend(guardrail_actions(
                &inputs.guardrails,
                "user",
                inputs.user_name.as_str(),
                &u.arn,
                u.boundary.as_deref(),
                &u.tags,
                "--user-name",
            )?);
            if !state.attached {
                actions.push(Action::AttachPolicy);
            }
        }
        None => actions.extend([Action::CreateUser, Action::AttachPolicy]),
    }
    actions.extend(policy_tag_action(&inputs.guardrails, state.policy.as_ref()));
    if state.keys.len() >= MAX_KEYS {
        return Err(Error::KeyLimit {
            user: inputs.user_name.to_string(),
            keys: state.keys.clone(),
        });
    }
    actions.push(Action::CreateAccessKey);
    Ok(UserPlan {
        bucket: inputs.location.bucket().to_string(),
        prefix: inputs.location.prefix().to_string(),
        access: inputs.access,
        partition,
        account_id: facts.account.clone(),
        bucket_region: facts.bucket_region.clone(),
        user_arn: state.user.as_ref().map_or_else(
            || {
                format!(
                    "arn:{partition}:iam::{account}:user{}{}",
                    inputs.guardrails.path, inputs.user_name
                )
            },
            |u| u.arn.clone(),
        ),
        policy_arn: state.policy.as_ref().map_or_else(
            || {
                policy_arn(
                    partition,
                    account,
                    &inputs.guardrails.path,
                    &inputs.policy_name,
                )
            },
            |p| p.arn.clone(),
        ),
        user_name: inputs.user_name.clone(),
        policy_name: inputs.policy_name.clone(),
        kms_keys,
        permissions_policy: permissions,
        current_permissions: state.policy_document.clone(),
        existing_keys: state.keys.clone(),
        actions,
        detected: facts.findings.clone(),
        warnings: facts.warnings.clone(),
        guardrails: inputs.guardrails.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn inputs() -> RoleInputs {
        RoleInputs {
            location: "s3://bkt1/data/".parse().unwrap(),
            access: Access::Import,
            tidb_account: "380838443567".parse().unwrap(),
            external_id: Some("ext-1".parse().unwrap()),
            replace_external_ids: false,
            remove_external_ids: vec![],
            no_external_id: false,
            tier: Tier::Starter,
            role_name: "r".parse().unwrap(),
            policy_name: "r-policy".parse().unwrap(),
            kms_keys: vec![],
            stack_name: None,
            guardrails: Guardrails::default(),
        }
    }

    fn facts() -> Facts {
        Facts {
            account: Some("123456789012".parse().unwrap()),
            partition: Some(Partition::Aws),
            bucket_region: Some("us-east-1".into()),
            ..Facts::default()
        }
    }

    fn existing(plan: &RolePlan, managed: bool) -> RoleState {
        RoleState {
            role: Some(RoleInfo {
                arn: plan.role_arn.clone(),
                managed,
                trust: Some(plan.trust_policy.clone()),
                created: None,
                stack: None,
                stack_region: None,
                boundary: None,
                tags: vec![],
            }),
            policy: Some(PolicyInfo {
                arn: plan.managed_policy_arn().to_string(),
                managed,
                default_version: "v1".into(),
                attachments: 1,
                tags: vec![],
            }),
            policy_document: Some(plan.permissions_policy.clone()),
            attached: true,
            stack: None,
            inline: None,
        }
    }

    #[test]
    fn a_fresh_account_gets_everything_created() {
        let plan = role(Method::Iam, &inputs(), &facts(), &RoleState::default()).unwrap();
        assert_eq!(
            plan.actions,
            [
                Action::CreatePolicy,
                Action::CreateRole,
                Action::AttachPolicy
            ]
        );
        assert_eq!(plan.role_arn, "arn:aws:iam::123456789012:role/r");
        assert_eq!(
            plan.managed_policy_arn(),
            "arn:aws:iam::123456789012:policy/r-policy"
        );
    }

    #[test]
    fn the_same_state_again_changes_nothing() {
        let first = role(Method::Iam, &inputs(), &facts(), &RoleState::default()).unwrap();
        let again = role(Method::Iam, &inputs(), &facts(), &existing(&first, true)).unwrap();
        assert!(again.actions.is_empty());
        assert!(!again.changes());
    }

    #[test]
    fn drift_is_brought_back() {
        let first = role(Method::Iam, &inputs(), &facts(), &RoleState::default()).unwrap();
        let mut state = existing(&first, true);
        state.attached = false;
        state.policy_document = Some(serde_json::json!({"Version": "2012-10-17", "Statement": []}));
        let mut changed = inputs();
        changed.external_id = Some("ext-2".parse().unwrap());
        let plan = role(Method::Iam, &changed, &facts(), &state).unwrap();
        assert_eq!(
            plan.actions,
            [
                Action::UpdatePolicy,
                Action::UpdateTrust,
                Action::AttachPolicy
            ]
        );
    }

    /// The role `r` as it stands, trusting TiDB Cloud's account with these external IDs.
    fn trusting(ids: &[&str]) -> RoleState {
        let first = role(Method::Iam, &inputs(), &facts(), &RoleState::default()).unwrap();
        let mut state = existing(&first, true);
        let ids: Vec<ExternalId> = ids.iter().map(|i| i.parse().unwrap()).collect();
        state.role.as_mut().unwrap().trust = Some(policy::trust(
            Partition::Aws,
            &"380838443567".parse().unwrap(),
            &ids,
        ));
        state
    }

    fn ids(change: &TrustChange) -> Vec<&str> {
        change.external_ids.iter().map(ExternalId::as_str).collect()
    }

    #[test]
    fn a_second_cluster_is_added_and_the_first_keeps_access() {
        let mut second = inputs();
        second.external_id = Some("ext-2".parse().unwrap());
        let plan = role(Method::Iam, &second, &facts(), &trusting(&["ext-1"])).unwrap();
        assert_eq!(ids(&plan.trust_change), ["ext-1", "ext-2"]);
        assert!(!plan.trust_change.revokes());
        assert_eq!(
            plan.trust_change.lines,
            [
                "the cluster with external ID ext-1 keeps access",
                "the cluster with external ID ext-2 is added"
            ]
        );
        assert_eq!(plan.actions, [Action::UpdateTrust]);
        assert_eq!(
            plan.trust_policy["Statement"][0]["Condition"]["StringEquals"]["sts:ExternalId"],
            serde_json::json!(["ext-1", "ext-2"])
        );
        // Again: nothing changes, and no one loses access.
        let again = role(
            Method::Iam,
            &second,
            &facts(),
            &trusting(&["ext-1", "ext-2"]),
        )
        .unwrap();
        assert!(again.actions.is_empty(), "{:?}", again.actions);
    }

    #[test]
    fn replacing_removing_and_dropping_ids_say_who_loses_access() {
        let mut replace = inputs();
        replace.external_id = Some("ext-3".parse().unwrap());
        replace.replace_external_ids = true;
        let plan = role(
            Method::Iam,
            &replace,
            &facts(),
            &trusting(&["ext-1", "ext-2"]),
        )
        .unwrap();
        assert_eq!(ids(&plan.trust_change), ["ext-3"]);
        assert_eq!(
            plan.trust_change.losing_access,
            [
                "the cluster with external ID ext-1",
                "the cluster with external ID ext-2"
            ]
        );
        assert!(plan.trust_change.revokes());

        let mut remove = inputs();
        remove.external_id = None;
        remove.remove_external_ids = vec!["ext-1".parse().unwrap()];
        let plan = role(
            Method::Iam,
            &remove,
            &facts(),
            &trusting(&["ext-1", "ext-2"]),
        )
        .unwrap();
        assert_eq!(ids(&plan.trust_change), ["ext-2"]);
        assert_eq!(
            plan.trust_change.losing_access,
            ["the cluster with external ID ext-1"]
        );

        // The last one cannot go without saying so: that would open the role to the project.
        let err = role(Method::Iam, &remove, &facts(), &trusting(&["ext-1"])).unwrap_err();
        assert_eq!(err.exit_code(), 2);
        assert!(err.to_string().contains("--no-external-id"), "{err}");

        let mut none = inputs();
        none.external_id = None;
        none.no_external_id = true;
        let plan = role(Method::Iam, &none, &facts(), &trusting(&["ext-1"])).unwrap();
        assert!(plan.trust_change.external_ids.is_empty());
        assert!(plan.trust_change.revokes());
        assert!(plan.trust_policy["Statement"][0].get("Condition").is_none());

        // A role that trusted the whole project is narrowed: the rest of the project loses it.
        let plan = role(Method::Iam, &inputs(), &facts(), &trusting(&[])).unwrap();
        assert_eq!(ids(&plan.trust_change), ["ext-1"]);
        assert!(plan.trust_change.losing_access[0].contains("every other cluster"));

        // A role that trusted another account: that account loses it.
        let mut elsewhere = trusting(&["ext-1"]);
        elsewhere.role.as_mut().unwrap().trust = Some(policy::trust(
            Partition::Aws,
            &"111122223333".parse().unwrap(),
            &[],
        ));
        let plan = role(Method::Iam, &inputs(), &facts(), &elsewhere).unwrap();
        assert_eq!(ids(&plan.trust_change), ["ext-1"]);
        assert!(plan.trust_change.losing_access[0].contains("111122223333"));

        // Removing from a role that does not exist yet is a mistake.
        let err = role(Method::Iam, &remove, &facts(), &RoleState::default()).unwrap_err();
        assert!(err.to_string().contains("--external-id"), "{err}");
    }

    #[test]
    fn dedicated_imports_with_the_bucket_location_and_never_exports() {
        let mut dedicated = inputs();
        dedicated.tier = Tier::Dedicated;
        let plan = role(Method::Iam, &dedicated, &facts(), &RoleState::default()).unwrap();
        assert_eq!(
            plan.permissions_policy["Statement"][1]["Action"],
            serde_json::json!(["s3:ListBucket", "s3:GetBucketLocation"])
        );
        dedicated.access = Access::Export;
        let err = role(Method::Iam, &dedicated, &facts(), &RoleState::default()).unwrap_err();
        assert_eq!(err.exit_code(), 2);
        assert!(err.to_string().contains("--access"), "{err}");
        // An access key's user also reads the bucket's location.
        let plan = user(&user_inputs(), &facts(), &UserState::default()).unwrap();
        assert_eq!(
            plan.permissions_policy["Statement"][1]["Action"],
            serde_json::json!(["s3:ListBucket", "s3:GetBucketLocation"])
        );
    }

    #[test]
    fn guardrails_converge_on_what_exists_and_a_path_cannot_move() {
        let first = role(Method::Iam, &inputs(), &facts(), &RoleState::default()).unwrap();
        let state = existing(&first, true);
        let boundary = "arn:aws:iam::123456789012:policy/boundary";
        let mut guarded = inputs();
        guarded.guardrails = Guardrails::new(
            Some(boundary.parse().unwrap()),
            None,
            vec!["team=data".parse().unwrap()],
        )
        .unwrap();
        let plan = role(Method::Iam, &guarded, &facts(), &state).unwrap();
        let tags = vec!["team=data".parse::<TagPair>().unwrap()];
        assert_eq!(
            plan.actions,
            [
                Action::SetBoundary {
                    arn: boundary.into()
                },
                Action::TagPrincipal { tags: tags.clone() },
                Action::TagPolicy { tags },
            ]
        );
        assert!(plan
            .describe(&plan.actions[1])
            .contains("tag role r with team=data"));

        // Once they are there, and with --permissions-boundary left out, nothing changes.
        let mut done = state.clone();
        let r = done.role.as_mut().unwrap();
        r.boundary = Some(boundary.into());
        r.tags = vec![("team".into(), "data".into())];
        done.policy.as_mut().unwrap().tags = vec![("team".into(), "data".into())];
        assert!(role(Method::Iam, &guarded, &facts(), &done)
            .unwrap()
            .actions
            .is_empty());
        assert!(role(Method::Iam, &inputs(), &facts(), &done)
            .unwrap()
            .actions
            .is_empty());

        // A new role at a path: the ARNs carry it.
        let mut at_path = inputs();
        at_path.guardrails =
            Guardrails::new(None, Some("/tidb/".parse().unwrap()), vec![]).unwrap();
        let fresh = role(Method::Iam, &at_path, &facts(), &RoleState::default()).unwrap();
        assert_eq!(fresh.role_arn, "arn:aws:iam::123456789012:role/tidb/r");
        assert_eq!(
            fresh.managed_policy_arn(),
            "arn:aws:iam::123456789012:policy/tidb/r-policy"
        );
        // The same role at /: IAM has no way to move it.
        let err = role(Method::Iam, &at_path, &facts(), &state).unwrap_err();
        assert!(err.to_string().contains("--path /"), "{err}");
    }

    #[test]
    fn resources_the_tool_did_not_make_are_refused() {
        let first = role(Method::Iam, &inputs(), &facts(), &RoleState::default()).unwrap();
        let mut state = existing(&first, true);
        state.role.as_mut().unwrap().managed = false;
        let err = role(Method::Iam, &inputs(), &facts(), &state).unwrap_err();
        assert!(err.to_string().contains("--role-name"), "{err}");
        let mut state = existing(&first, true);
        state.policy.as_mut().unwrap().managed = false;
        let err = role(Method::Iam, &inputs(), &facts(), &state).unwrap_err();
        assert!(err.to_string().contains("--policy-name"), "{err}");
    }

    #[test]
    fn detected_and_given_keys_are_merged_once() {
        let key: KmsKeyArn = "arn:aws:kms:us-east-1:123456789012:key/k1".parse().unwrap();
        let mut i = inputs();
        i.kms_keys = vec![key.clone()];
        let f = Facts {
            detected_kms_key: Some(key.clone()),
            ..facts()
        };
        let plan = role(Method::Iam, &i, &f, &RoleState::default()).unwrap();
        assert_eq!(plan.kms_keys, vec![key]);
        assert_eq!(
            plan.permissions_policy["Statement"][2]["Action"][0],
            "kms:Decrypt"
        );
    }

    #[test]
    fn without_credentials_the_plan_uses_a_placeholder_and_the_region_partition() {
        let f = Facts {
            bucket_region: Some("cn-north-1".into()),
            ..Facts::default()
        };
        let plan = role(Method::Iam, &inputs(), &f, &RoleState::default()).unwrap();
        assert_eq!(plan.partition, Partition::China);
        assert_eq!(
            plan.managed_policy_arn(),
            "arn:aws-cn:iam::<your-account-id>:policy/r-policy"
        );
    }

    fn user_inputs() -> UserInputs {
        UserInputs {
            location: "s3://bkt1/data/".parse().unwrap(),
            access: Access::Export,
            user_name: "u".parse().unwrap(),
            policy_name: "u-policy".parse().unwrap(),
            kms_keys: vec![],
            guardrails: Guardrails::default(),
        }
    }

    fn key(id: &str) -> AccessKeyInfo {
        AccessKeyInfo {
            id: id.into(),
            status: "Active".into(),
            created: None,
        }
    }

    #[test]
    fn a_new_user_gets_policy_user_attachment_and_key() {
        let plan = user(&user_inputs(), &facts(), &UserState::default()).unwrap();
        assert_eq!(
            plan.actions,
            [
                Action::CreatePolicy,
                Action::CreateUser,
                Action::AttachPolicy,
                Action::CreateAccessKey
            ]
        );
        assert_eq!(plan.user_arn, "arn:aws:iam::123456789012:user/u");
        assert_eq!(
            plan.permissions_policy["Statement"][0]["Action"],
            serde_json::json!(["s3:PutObject"])
        );
    }

    #[test]
    fn an_existing_user_with_one_key_only_gets_another_key() {
        let first = user(&user_inputs(), &facts(), &UserState::default()).unwrap();
        let state = UserState {
            user: Some(UserInfo {
                arn: first.user_arn.clone(),
                user_id: "AIDAEXAMPLE".into(),
                managed: true,
                boundary: None,
                tags: vec![],
            }),
            policy: Some(PolicyInfo {
                arn: first.policy_arn.clone(),
                managed: true,
                default_version: "v1".into(),
                attachments: 1,
                tags: vec![],
            }),
            policy_document: Some(first.permissions_policy.clone()),
            attached: true,
            keys: vec![key("AKIA1")],
        };
        let plan = user(&user_inputs(), &facts(), &state).unwrap();
        assert_eq!(plan.actions, [Action::CreateAccessKey]);

        let full = UserState {
            keys: vec![key("AKIA1"), key("AKIA2")],
            ..state.clone()
        };
        let err = user(&user_inputs(), &facts(), &full).unwrap_err();
        assert!(matches!(err, Error::KeyLimit { .. }));
        assert!(err.to_string().contains("--access-key-id AKIA2"), "{err}");

        let foreign = UserState {
            user: Some(UserInfo {
                arn: first.user_arn,
                user_id: "AIDAEXAMPLE".into(),
                managed: false,
                boundary: None,
                tags: vec![],
            }),
            ..state
        };
        let err = user(&user_inputs(), &facts(), &foreign).unwrap_err();
        assert!(err.to_string().contains("--user-name"), "{err}");
    }

    #[test]
    fn stack_parameters_compare_as_lists_whatever_the_spelling() {
        let planned: BTreeMap<String, String> = [("KmsKeyArns", "a,b"), ("Access", "both")]
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .into();
        let mut current = planned.clone();
        current.insert("KmsKeyArns".into(), "['a', 'b']".into());
        assert!(same_parameters(&current, &planned));
        current.insert("KmsKeyArns".into(), "['a']".into());
        assert!(!same_parameters(&current, &planned));
        let mut empty = planned.clone();
        empty.insert("KmsKeyArns".into(), String::new());
        let mut moto_empty = planned.clone();
        moto_empty.insert("KmsKeyArns".into(), "['']".into());
        assert!(same_parameters(&moto_empty, &empty));
        current.insert("KmsKeyArns".into(), "a,b".into());
        current.insert("Access".into(), "import".into());
        assert!(!same_parameters(&current, &planned));
    }

    fn stack_inputs() -> RoleInputs {
        RoleInputs {
            stack_name: Some("s1".parse().unwrap()),
            ..inputs()
        }
    }

    fn stack(status: &str, managed: bool, parameters: BTreeMap<String, String>) -> StackInfo {
        StackInfo {
            id: "arn:aws:cloudformation:us-east-1:123456789012:stack/s1/x".into(),
            status: status.into(),
            managed,
            parameters,
            outputs: [(
                "RoleArn".to_string(),
                "arn:aws:iam::123456789012:role/r".to_string(),
            )]
            .into(),
            template_tag: Some(template::hash()),
            tags: vec![],
            status_reason: None,
        }
    }

    /// The plan fits a screen: what it grants instead of the documents, unless asked; an
    /// update shows what changes in them as a diff.
    #[test]
    fn a_plan_shows_what_it_grants_and_an_update_its_diff() {
        use crate::output::{render_role_plan, Ui};
        let fresh = role(Method::Iam, &inputs(), &facts(), &RoleState::default()).unwrap();
        let summary = render_role_plan(&Ui::plain().with_documents(false), &fresh);
        assert!(summary.contains("What it grants"), "{summary}");
        assert!(
            summary.contains("s3:GetObject, s3:GetObjectVersion  on arn:aws:s3:::bkt1/data/*"),
            "{summary}"
        );
        assert!(summary.contains("--show-policies"), "{summary}");
        assert!(
            !summary.contains("\"Statement\""),
            "no documents: {summary}"
        );
        assert!(
            !summary.contains("changes (- now"),
            "a create has no diff: {summary}"
        );
        let whole = render_role_plan(&Ui::plain(), &fresh);
        assert!(whole.contains("Trust policy") && whole.contains("\"Statement\""));

        let mut export = inputs();
        export.access = Access::Export;
        let update = role(Method::Iam, &export, &facts(), &existing(&fresh, true)).unwrap();
        let text = render_role_plan(&Ui::plain().with_documents(false), &update);
        assert!(
            text.contains("Permissions policy changes (- now, + after this run)"),
            "{text}"
        );
        assert!(text.contains("-         \"s3:GetObject\","), "{text}");
        assert!(text.contains("+         \"s3:PutObject\""), "{text}");
        assert!(
            !text.contains("Trust policy changes"),
            "the trust stays: {text}"
        );
    }

    /// A stack with its role as the template made it, read back the way a rerun reads it.
    fn in_sync(inputs: &RoleInputs, s: StackInfo) -> RoleState {
        let fresh = role(
            Method::Cloudformation,
            inputs,
            &facts(),
            &RoleState::default(),
        )
        .unwrap();
        let tags = [
            ("managed-by", "serverless-s3-setup"),
            (
                "serverless-s3-setup:access",
                fresh.stack_parameters["Access"].as_str(),
            ),
            ("serverless-s3-setup:stack", "s1"),
        ];
        RoleState {
            role: Some(RoleInfo {
                arn: "arn:aws:iam::123456789012:role/r".into(),
                managed: true,
                trust: Some(fresh.trust_policy.clone()),
                created: None,
                stack: Some("s1".into()),
                stack_region: None,
                boundary: None,
                tags: tags
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
            }),
            inline: Some(vec![(
                fresh.policy_name.to_string(),
                Some(fresh.permissions_policy.clone()),
            )]),
            stack: Some(s),
            ..RoleState::default()
        }
    }

    /// What a rerun plans when the stack's role was changed by hand: the live role is
    /// compared with the template, never reported unchanged.
    #[test]
    fn a_role_changed_outside_cloudformation_is_restored_not_unchanged() {
        let cfn = Method::Cloudformation;
        let inputs = stack_inputs();
        let params = role(cfn, &inputs, &facts(), &RoleState::default())
            .unwrap()
            .stack_parameters;
        let synced = || in_sync(&inputs, stack("CREATE_COMPLETE", true, params.clone()));
        let plan = |state: &RoleState| role(cfn, &inputs, &facts(), state);
        assert!(plan(&synced()).unwrap().actions.is_empty());

        let mut deleted = synced();
        deleted.role = None;
        deleted.inline = None;
        let p = plan(&deleted).unwrap();
        assert_eq!(p.actions, [Action::RecreateDeletedRole]);
        assert!(p
            .describe(&p.actions[0])
            .contains("deleted outside CloudFormation"));

        let restored = |state: &RoleState| match plan(state).unwrap().actions.as_slice() {
            [Action::RestoreRole { drift }] => drift.clone(),
            other => panic!("expected a restore, got {other:?}"),
        };
        let mut trust = synced();
        let edited = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
            "Principal": {"AWS": "arn:aws:iam::999999999999:root"}, "Action": "sts:AssumeRole"}]});
        trust.role.as_mut().unwrap().trust = Some(edited.clone());
        let drift = restored(&trust);
        assert!(matches!(&drift[..], [Drift::Trust { live: Some(l), .. }] if *l == edited));

        let mut gone = synced();
        gone.inline = Some(vec![]);
        let drift = restored(&gone);
        assert!(matches!(&drift[..], [Drift::Policy { live: None, .. }]));
        assert!(drift[0].describe().contains("(deleted)"));

        let mut widened = synced();
        widened.inline = Some(vec![(
            inputs.policy_name.to_string(),
            Some(json!({"Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]})),
        )]);
        assert!(matches!(
            &restored(&widened)[..],
            [Drift::Policy { live: Some(_), .. }]
        ));

        let mut untagged = synced();
        untagged
            .role
            .as_mut()
            .unwrap()
            .tags
            .retain(|(k, _)| k != "managed-by");
        assert!(
            matches!(&restored(&untagged)[..], [Drift::Tags { missing }] if missing[0].key == "managed-by")
        );

        let mut bounded = synced();
        bounded.role.as_mut().unwrap().boundary = Some("arn:aws:iam::123456789012:policy/b".into());
        assert!(matches!(
            &restored(&bounded)[..],
            [Drift::Boundary {
                template: None,
                live: Some(_)
            }]
        ));

        // A property whose parameters change is rewritten by the update itself: no drift.
        let mut old = params.clone();
        old.insert("ExternalId".into(), "old".into());
        let mut moved = in_sync(&inputs, stack("UPDATE_COMPLETE", true, old));
        moved.role.as_mut().unwrap().trust = Some(edited.clone());
        assert_eq!(plan(&moved).unwrap().actions, [Action::UpdateStack]);
        // …while drift elsewhere is still restored beside the update.
        moved.inline = Some(vec![]);
        assert!(matches!(
            plan(&moved).unwrap().actions.as_slice(),
            [Action::UpdateStack, Action::RestoreRole { drift }] if matches!(&drift[..], [Drift::Policy { .. }])
        ));

        // A new --role-name makes a new role through the update; the old name is not drift.
        let mut renamed = params.clone();
        renamed.insert("RoleName".into(), "old-role".into());
        let state = RoleState {
            stack: Some(stack("CREATE_COMPLETE", true, renamed)),
            ..RoleState::default()
        };
        assert_eq!(plan(&state).unwrap().actions, [Action::UpdateStack]);

        // A role tagged as another stack's is not this stack's to repair.
        let mut theirs = synced();
        theirs.role.as_mut().unwrap().stack = Some("other".into());
        let err = plan(&theirs).unwrap_err();
        assert!(matches!(err, Error::Conflict(_)), "{err}");
        assert!(err.to_string().contains("stack other"), "{err}");
    }

    /// Every status on CloudFormation's "Stack status codes" page, scripted: each has an
    /// honest outcome, never "unchanged" for a broken stack nor a raw ValidationError.
    #[test]
    fn every_stack_status_has_an_honest_outcome() {
        let cfn = Method::Cloudformation;
        let params = role(cfn, &stack_inputs(), &facts(), &RoleState::default())
            .unwrap()
            .stack_parameters;
        let plan_for = |status: &str| {
            let mut s = stack(status, true, params.clone());
            s.status_reason = Some("Role: access denied".into());
            role(cfn, &stack_inputs(), &facts(), &in_sync(&stack_inputs(), s))
        };
        for status in ["ROLLBACK_COMPLETE", "ROLLBACK_FAILED", "REVIEW_IN_PROGRESS"] {
            let plan = plan_for(status).unwrap();
            assert_eq!(
                plan.actions,
                [Action::RecreateStack {
                    status: status.into()
                }]
            );
            assert!(plan.describe(&plan.actions[0]).contains(status));
        }
        for status in ["UPDATE_ROLLBACK_FAILED", "IMPORT_ROLLBACK_FAILED"] {
            let err = plan_for(status).unwrap_err().to_string();
            assert!(err.contains("continue-update-rollback"), "{status}: {err}");
        }
        let err = plan_for("DELETE_FAILED").unwrap_err().to_string();
        assert!(
            err.contains("Role: access denied") && err.contains("delete-stack"),
            "{err}"
        );
        for status in [
            "CREATE_COMPLETE",
            "UPDATE_COMPLETE",
            "UPDATE_ROLLBACK_COMPLETE",
            "IMPORT_COMPLETE",
            "IMPORT_ROLLBACK_COMPLETE",
        ] {
            assert!(plan_for(status).unwrap().actions.is_empty(), "{status}");
        }
        for status in [
            "CREATE_IN_PROGRESS",
            "UPDATE_IN_PROGRESS",
            "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS",
            "UPDATE_ROLLBACK_IN_PROGRESS",
            "DELETE_IN_PROGRESS",
            "IMPORT_IN_PROGRESS",
            "ROLLBACK_IN_PROGRESS",
        ] {
            assert!(
                matches!(plan_for(status), Err(Error::Conflict(_))),
                "{status}"
            );
        }
    }

    #[test]
    fn stack_plans_create_update_recreate_or_nothing() {
        let cfn = Method::Cloudformation;
        let fresh = role(cfn, &stack_inputs(), &facts(), &RoleState::default()).unwrap();
        assert_eq!(fresh.actions, [Action::CreateStack]);
        assert_eq!(fresh.policy_arn, None);
        assert_eq!(fresh.stack_parameters["RoleName"], "r");
        let params = fresh.stack_parameters.clone();

        let with = |s: StackInfo| in_sync(&stack_inputs(), s);
        let same = role(
            cfn,
            &stack_inputs(),
            &facts(),
            &with(stack("CREATE_COMPLETE", true, params.clone())),
        )
        .unwrap();
        assert!(same.actions.is_empty());
        assert_eq!(same.role_arn, "arn:aws:iam::123456789012:role/r");

        let mut old = params.clone();
        old.insert("ExternalId".into(), "old".into());
        let drift = role(
            cfn,
            &stack_inputs(),
            &facts(),
            &with(stack("UPDATE_COMPLETE", true, old)),
        )
        .unwrap();
        assert_eq!(drift.actions, [Action::UpdateStack]);

        let mut outdated = stack("CREATE_COMPLETE", true, params.clone());
        outdated.template_tag = Some("older".into());
        let newer = role(cfn, &stack_inputs(), &facts(), &with(outdated)).unwrap();
        assert_eq!(
            newer.actions,
            [Action::UpdateStack],
            "a newer template updates the stack"
        );

        let failed = role(
            cfn,
            &stack_inputs(),
            &facts(),
            &with(stack("ROLLBACK_COMPLETE", true, params.clone())),
        )
        .unwrap();
        assert_eq!(
            failed.actions,
            [Action::RecreateStack {
                status: "ROLLBACK_COMPLETE".into()
            }]
        );
        assert!(failed
            .describe(&failed.actions[0])
            .contains("cannot be updated"));

        let busy = role(
            cfn,
            &stack_inputs(),
            &facts(),
            &with(stack("UPDATE_IN_PROGRESS", true, params.clone())),
        );
        assert!(matches!(busy, Err(Error::Conflict(_))));

        let mut tagged = stack_inputs();
        tagged.guardrails =
            Guardrails::new(None, None, vec!["team=data".parse().unwrap()]).unwrap();
        let tag_params = role(cfn, &tagged, &facts(), &RoleState::default())
            .unwrap()
            .stack_parameters;
        let untagged = role(
            cfn,
            &tagged,
            &facts(),
            &with(stack("CREATE_COMPLETE", true, tag_params.clone())),
        )
        .unwrap();
        assert_eq!(
            untagged.actions,
            [Action::UpdateStack],
            "a missing --tag updates the stack"
        );
        let mut with_tag = stack("CREATE_COMPLETE", true, tag_params);
        with_tag.tags = vec![("team".into(), "data".into())];
        assert!(role(cfn, &tagged, &facts(), &with(with_tag))
            .unwrap()
            .actions
            .is_empty());

        let foreign = role(
            cfn,
            &stack_inputs(),
            &facts(),
            &with(stack("CREATE_COMPLETE", false, params)),
        );
        assert!(foreign.unwrap_err().to_string().contains("--stack-name"));

        let iam_role = RoleState {
            role: Some(RoleInfo {
                arn: "arn:aws:iam::123456789012:role/r".into(),
                managed: true,
                trust: None,
                created: None,
                stack: None,
                stack_region: None,
                boundary: None,
                tags: vec![],
            }),
            ..RoleState::default()
        };
        let err = role(cfn, &stack_inputs(), &facts(), &iam_role).unwrap_err();
        assert!(err.to_string().contains("--method iam"), "{err}");
    }
}
