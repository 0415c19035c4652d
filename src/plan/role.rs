//! The role plan: IAM's or a stack's role, its policies and the changes to make.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::Error;
use crate::facts::{Facts, RoleInfo};
use crate::inputs::{
    AccountId, ExternalId, Guardrails, KmsKeyArn, Partition, RoleName, StackName, Tier, Who,
};
use crate::policy;

use super::grant::{Grant, Granting};
use super::keep::{
    keep, policy_tag_actions, principal_actions, Held, Kept, Wanted, STACK_MAX_TAGS,
};
use super::stack::{self, stack_actions};
use super::trust::trust_change;
use super::{
    account_of, check_policy_size, kept_policy_name, managed_policy, managed_policy_arn,
    refuse_what_cannot_work, Action, Documents, Method, PolicyWrite, RoleInputs, RoleState,
    TrustChange,
};

/// The role setup, fully worked out.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RolePlan {
    pub(crate) method: Method,
    pub(crate) role_name: RoleName,
    pub(crate) role_arn: String,
    /// The managed policy's ARN; `None` for a stack, whose role carries an inline policy.
    pub(crate) policy_arn: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) stack_name: Option<StackName>,
    /// The stack's region, for `--method cloudformation`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) stack_region: Option<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub(crate) stack_parameters: BTreeMap<String, String>,
    pub(crate) tidb_account_id: AccountId,
    pub(crate) external_id: Option<ExternalId>,
    #[serde(flatten)]
    pub(crate) trust_change: TrustChange,
    pub(crate) tier: Tier,
    pub(crate) trust_policy: Value,
    /// The trust policy as AWS holds it now, for an update's diff.
    #[serde(skip)]
    pub(crate) current_trust: Option<Value>,
    #[serde(flatten)]
    pub(crate) grant: Grant,
}

impl RolePlan {
    pub(crate) fn changes(&self) -> bool {
        self.grant.changes()
    }

    #[cfg(test)]
    pub(crate) fn describe(&self, action: &Action) -> String {
        action.describe(&format!("role {}", self.role_name))
    }

    /// One line per change, for the plan, the `--yes` lines and the outcome.
    pub(crate) fn lines(&self) -> Vec<String> {
        self.grant.lines(&format!("role {}", self.role_name))
    }

    #[cfg(test)]
    /// The managed policy's ARN, which every `--method iam` plan has.
    pub(crate) fn managed_policy_arn(&self) -> &str {
        self.policy_arn
            .as_deref()
            .expect("an IAM plan names a managed policy")
    }
}

pub(crate) fn role(
    method: Method,
    inputs: &RoleInputs,
    facts: &Facts,
    state: &RoleState,
) -> Result<RolePlan, Error> {
    refuse_what_cannot_work(facts, &inputs.tidb_account)?;
    let partition = facts.partition();
    let (kept, inputs) = kept(method, inputs, facts, state)?;
    let inputs = &inputs;
    let guard = &kept.guardrails;
    let kms_keys = kept.kms_keys;

    let trust_change = trust_change(inputs, method, partition, state)?;
    let trust = policy::trust(partition, &inputs.tidb_account, &trust_change.external_ids);
    let permissions = permissions_document(method, inputs, partition, &kms_keys)?;
    let account = account_of(facts);

    let policy_arn = (method == Method::Iam)
        .then(|| managed_policy_arn(state.policy.as_ref(), facts, guard, &inputs.policy_name));
    let mut stack_parameters = BTreeMap::new();
    let actions = match &policy_arn {
        Some(arn) => {
            let write = policy_write(inputs, arn, &permissions, guard);
            let trusted = format!("arn:{partition}:iam::{}:root", inputs.tidb_account);
            iam_role_actions(inputs, state, &trust, &trusted, &write)?
        }
        None => {
            stack_parameters =
                stack::parameters(inputs, guard, &kms_keys, &trust_change.external_ids)?;
            stack_actions(
                inputs,
                guard,
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
    let role_arn = role_arn(state, inputs, guard, partition, account);
    let current_permissions = current_permissions(method, state, inputs);
    Ok(RolePlan {
        method,
        role_arn,
        policy_arn,
        stack_name: inputs.stack_name.clone(),
        stack_region: inputs
            .stack_name
            .as_ref()
            .and_then(|_| facts.region.clone()),
        stack_parameters,
        role_name: inputs.role_name.clone(),
        tidb_account_id: inputs.tidb_account.clone(),
        external_id: inputs.external_id.clone(),
        trust_change,
        tier: inputs.tier,
        trust_policy: trust,
        current_trust: state.role.as_ref().and_then(|r| r.trust.clone()),
        grant: Grant::new(
            Granting {
                location: &inputs.location,
                access: inputs.access,
                policy_name: &inputs.policy_name,
                guardrails: guard,
            },
            facts,
            kms_keys,
            permissions,
            current_permissions,
            actions,
            kept.revisions,
        ),
    })
}

/// The permissions policy the role gets, refused when the tier cannot have that access or
/// the document would not fit where it goes (a managed policy, or the stack's inline one).
fn permissions_document(
    method: Method,
    inputs: &RoleInputs,
    partition: Partition,
    kms_keys: &[KmsKeyArn],
) -> Result<Value, Error> {
    inputs
        .tier
        .supports(inputs.access)
        .map_err(|e| Error::invalid("--access", e))?;
    let permissions = policy::permissions(
        partition,
        &inputs.location,
        inputs.access,
        kms_keys,
        inputs.tier.reads_bucket_location(),
    );
    let quota = match method {
        Method::Iam => policy::MANAGED_POLICY_SIZE,
        Method::Cloudformation => policy::ROLE_INLINE_SIZE,
    };
    check_policy_size(&permissions, quota, kms_keys.len())?;
    Ok(permissions)
}

/// The managed policy a role made with IAM gets.
fn policy_write(
    inputs: &RoleInputs,
    arn: &str,
    permissions: &Value,
    guard: &Guardrails,
) -> PolicyWrite {
    PolicyWrite {
        name: inputs.policy_name.clone(),
        arn: arn.to_string(),
        document: permissions.clone(),
        description: format!(
            "TiDB Cloud {} access to s3://{}/{} (serverless-s3-setup)",
            inputs.access,
            inputs.location.bucket(),
            inputs.location.prefix()
        ),
        guard: guard.clone(),
    }
}

/// The role's ARN: the stack's output, else the role's, else the one it will have.
fn role_arn(
    state: &RoleState,
    inputs: &RoleInputs,
    guard: &Guardrails,
    partition: Partition,
    account: &str,
) -> String {
    state
        .stack
        .as_ref()
        .and_then(|s| s.outputs.get("RoleArn").cloned())
        .or_else(|| state.role.as_ref().map(|r| r.arn.clone()))
        .unwrap_or_else(|| {
            format!(
                "arn:{partition}:iam::{account}:role{}{}",
                guard.path, inputs.role_name
            )
        })
}

/// The permissions policy the role holds now: its managed policy's document, or the stack's
/// inline policy of that name.
fn current_permissions(method: Method, state: &RoleState, inputs: &RoleInputs) -> Option<Value> {
    match method {
        Method::Iam => state.policy_document.clone(),
        Method::Cloudformation => state.inline.as_ref().and_then(|inline| {
            inline
                .iter()
                .find(|(name, _)| name == inputs.policy_name.as_str())
                .and_then(|(_, doc)| doc.clone())
        }),
    }
}

/// What the run keeps of what the role or stack holds (its guardrails, KMS keys, tier), and
/// the inputs settled with it: the tier kept, and the policy's name as the stack or role has
/// it unless another was given.
fn kept(
    method: Method,
    inputs: &RoleInputs,
    facts: &Facts,
    state: &RoleState,
) -> Result<(Kept, RoleInputs), Error> {
    let flag = match method {
        Method::Iam => format!("--role-name {}", inputs.role_name),
        Method::Cloudformation => format!(
            "--stack-name {}",
            inputs.stack_name.as_ref().map_or("", StackName::as_str)
        ),
    };
    let held = match (method, &state.stack, &state.role) {
        (Method::Cloudformation, Some(stack), _) => Held::stack(stack, &inputs.location),
        (Method::Iam, _, Some(role)) => Held::principal(
            role.principal(),
            state.policy_document.as_ref(),
            &inputs.location,
        )
        .with_tier_of(state.policy_document.as_ref()),
        _ => Held::default(),
    };
    let kept = keep(
        Wanted {
            location: &inputs.location,
            access: inputs.access,
            tier: (inputs.tier, inputs.chosen.tier),
            kms_keys: facts.kms_keys(&inputs.kms_keys),
            remove_kms_keys: &inputs.remove_kms_keys,
            guardrails: &inputs.guardrails,
            set: inputs.set.as_ref(),
            max_tags: match method {
                Method::Iam => Guardrails::MAX_TAGS,
                Method::Cloudformation => STACK_MAX_TAGS,
            } - usize::from(inputs.set.is_some()),
            who: format!("role {}", inputs.role_name),
            teardown: format!("serverless-s3-setup teardown {flag}"),
        },
        &held,
    )?;
    // A stack keeps the policy name it has unless another is given; so does a role made
    // with IAM.
    let policy_name = match (&state.stack, inputs.chosen.policy_name) {
        (Some(stack), false) if method == Method::Cloudformation => stack
            .parameters
            .get("PolicyName")
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| inputs.policy_name.clone()),
        _ => kept_policy_name(
            inputs.chosen.policy_name,
            state.policy.as_ref(),
            &inputs.policy_name,
        ),
    };
    let settled = RoleInputs {
        tier: kept.tier,
        policy_name,
        ..inputs.clone()
    };
    Ok((kept, settled))
}

/// `trusted` is the principal the trust names; `write`, the managed policy with the
/// guardrails the role keeps.
fn iam_role_actions(
    inputs: &RoleInputs,
    state: &RoleState,
    trust: &Value,
    trusted: &str,
    write: &PolicyWrite,
) -> Result<Vec<Action>, Error> {
    let who = Who::Role(inputs.role_name.clone());
    let (mut actions, attach) = managed_policy(&who, write, &state.policy, &state.policy_document)?;
    let description = crate::template::role_description(
        inputs.access,
        inputs.location.bucket(),
        inputs.location.prefix(),
    );
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
                actions.push(Action::UpdateTrust {
                    name: inputs.role_name.clone(),
                    trust: trust.clone(),
                    trusted: trusted.to_string(),
                });
            }
            actions.extend(principal_actions(&who, &write.guard, r.principal()));
            // The description names the access and the location: it follows them.
            if r.description.as_deref() != Some(policy::description(&description).as_str()) {
                actions.push(Action::UpdateDescription {
                    name: inputs.role_name.clone(),
                    description,
                });
            }
            if !state.attached {
                actions.push(attach);
            }
        }
        None => actions.extend([
            Action::CreateRole {
                name: inputs.role_name.clone(),
                trust: trust.clone(),
                description,
                guard: write.guard.clone(),
                trusted: trusted.to_string(),
            },
            attach,
        ]),
    }
    actions.extend(policy_tag_actions(write, state.policy.as_ref()));
    Ok(actions)
}
