//! The access-key plan: the user, its policy and a new key.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::Error;
use crate::facts::{AccessKeyInfo, Facts, PolicyInfo, UserInfo};
use crate::inputs::{
    Access, GuardrailRequest, Guardrails, KmsKeyArn, PolicyName, S3Location, Tier, UserName, Who,
};
use crate::policy;

use super::grant::{Grant, Granting};
use super::keep::{keep, policy_tag_actions, principal_actions, Held, Kept, Wanted};
use super::{
    account_of, check_policy_size, kept_policy_name, managed_policy, managed_policy_arn, Action,
    Chosen, PolicyWrite,
};

/// Everything an access-key setup needs from the user, validated.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct UserInputs {
    pub(crate) location: S3Location,
    pub(crate) access: Access,
    pub(crate) user_name: UserName,
    pub(crate) policy_name: PolicyName,
    /// `--kms-key`: keys to grant besides the bucket's and those the user has.
    pub(crate) kms_keys: Vec<KmsKeyArn>,
    /// `--remove-kms-key`: keys to take off.
    pub(crate) remove_kms_keys: Vec<KmsKeyArn>,
    pub(crate) guardrails: GuardrailRequest,
    /// Which values the user chose rather than took by default.
    pub(crate) chosen: Chosen,
    /// `--rotate`: the user's older keys go once the new one works (the CI mode).
    #[serde(default)]
    pub(crate) rotate: bool,
    /// How the new key is tried on S3 once AWS accepts it (`--no-probe`, `--probe-write`).
    #[serde(default)]
    pub(crate) probe: KeyProbe,
}

/// How `access-key` tries the key it made, as that key, once AWS accepts it: the proof on S3
/// itself that the key works, which reading the policies back cannot give.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum KeyProbe {
    /// `--no-probe`: not tried.
    Skip,
    /// Lists the directory (ListObjectsV2): the default, which changes nothing.
    #[default]
    List,
    /// `--probe-write`: also writes a zero-byte object under the directory (which the bucket's
    /// event notifications may see), deleted again with the caller's own credentials.
    Write,
}

impl KeyProbe {
    /// A probe object is written only for a key that may write.
    pub(crate) fn check(self, access: Access) -> Result<(), Error> {
        if self == KeyProbe::Write && !access.writes() {
            return Err(Error::invalid(
                "--probe-write",
                format!("writes a probe object, which an {access} key may not: it is for --access export or both"),
            ));
        }
        Ok(())
    }
}

/// The user, its policy and its keys as they are now.
#[derive(Debug, Clone, Default)]
pub(crate) struct UserState {
    pub(crate) user: Option<UserInfo>,
    pub(crate) policy: Option<PolicyInfo>,
    pub(crate) policy_document: Option<Value>,
    pub(crate) attached: bool,
    pub(crate) keys: Vec<AccessKeyInfo>,
}

/// The access-key setup, fully worked out.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct UserPlan {
    pub(crate) user_name: UserName,
    pub(crate) user_arn: String,
    pub(crate) policy_arn: String,
    /// The user's keys before this run.
    pub(crate) existing_keys: Vec<AccessKeyInfo>,
    /// How the new key is tried on S3 once AWS accepts it.
    #[serde(default)]
    pub(crate) probe: KeyProbe,
    #[serde(flatten)]
    pub(crate) grant: Grant,
}

impl UserPlan {
    /// One line per change, for the plan, the `--yes` lines and the outcome.
    pub(crate) fn lines(&self) -> Vec<String> {
        self.grant.lines(&format!("user {}", self.user_name))
    }
}

/// IAM's limit of access keys per user.
pub(crate) const MAX_KEYS: usize = 2;

pub(crate) fn user(
    inputs: &UserInputs,
    facts: &Facts,
    state: &UserState,
) -> Result<UserPlan, Error> {
    let partition = facts.partition();
    let (kept, inputs) = kept(inputs, facts, state)?;
    let inputs = &inputs;
    let guard = &kept.guardrails;
    let kms_keys = kept.kms_keys.clone();
    // TiDB's storage layer asks a key's bucket for its location (TiDB's troubleshooting page
    // lists s3:GetBucketLocation for an IAM user's access key).
    let permissions =
        policy::permissions(partition, &inputs.location, inputs.access, &kms_keys, true);
    check_policy_size(&permissions, policy::MANAGED_POLICY_SIZE, kms_keys.len())?;
    let account = account_of(facts);
    let policy_arn = managed_policy_arn(state.policy.as_ref(), facts, guard, &inputs.policy_name);
    let write = PolicyWrite {
        name: inputs.policy_name.clone(),
        arn: policy_arn.clone(),
        document: permissions.clone(),
        description: format!(
            "TiDB Cloud {} access to s3://{}/{} for user {} (serverless-s3-setup)",
            inputs.access,
            inputs.location.bucket(),
            inputs.location.prefix(),
            inputs.user_name
        ),
        guard: guard.clone(),
    };
    let actions = user_actions(inputs, state, guard, &write)?;
    Ok(UserPlan {
        user_arn: state.user.as_ref().map_or_else(
            || {
                format!(
                    "arn:{partition}:iam::{account}:user{}{}",
                    guard.path, inputs.user_name
                )
            },
            |u| u.arn.clone(),
        ),
        policy_arn,
        user_name: inputs.user_name.clone(),
        existing_keys: state.keys.clone(),
        probe: inputs.probe,
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
            state.policy_document.clone(),
            actions,
            kept.revisions,
        ),
    })
}

/// The user's actions: the policy written, the user made (or brought to its guardrails) and
/// the policy attached, the policy's tags, and the new key, refused at IAM's two-key limit.
fn user_actions(
    inputs: &UserInputs,
    state: &UserState,
    guard: &Guardrails,
    write: &PolicyWrite,
) -> Result<Vec<Action>, Error> {
    let who = Who::User(inputs.user_name.clone());
    let (mut actions, attach) = managed_policy(&who, write, &state.policy, &state.policy_document)?;
    match &state.user {
        Some(u) if !u.managed => {
            return Err(Error::NotManaged {
                kind: "user",
                name: inputs.user_name.to_string(),
                flag: "--user-name",
            })
        }
        Some(u) => {
            actions.extend(principal_actions(&who, guard, u.principal()));
            if !state.attached {
                actions.push(attach);
            }
        }
        None => actions.extend([
            Action::CreateUser {
                name: inputs.user_name.clone(),
                guard: guard.clone(),
            },
            attach,
        ]),
    }
    actions.extend(policy_tag_actions(write, state.policy.as_ref()));
    let full = state.keys.len() >= MAX_KEYS;
    if full && !inputs.rotate {
        return Err(Error::KeyLimit {
            user: inputs.user_name.to_string(),
            keys: state.keys.clone(),
        });
    }
    // Oldest first: at the limit the oldest makes room; the rest go once the new key works.
    let mut older: Vec<&AccessKeyInfo> = state.keys.iter().collect();
    older.sort_by_key(|k| k.created.unwrap_or(i64::MIN));
    let retire = |k: &AccessKeyInfo, first: bool| Action::DeleteAccessKey {
        user: inputs.user_name.clone(),
        id: k.id.clone(),
        first,
    };
    let made_room = full.then(|| older.remove(0));
    actions.extend(made_room.map(|k| retire(k, true)));
    actions.push(Action::CreateAccessKey {
        user: inputs.user_name.clone(),
        before: state.keys.iter().map(|k| k.id.clone()).collect(),
    });
    if inputs.rotate {
        actions.extend(older.into_iter().map(|k| retire(k, false)));
    }
    Ok(actions)
}

/// What the run keeps of what the user holds (its guardrails and KMS keys), and the inputs
/// settled with it: the policy's name as the user has it unless another was given.
fn kept(
    inputs: &UserInputs,
    facts: &Facts,
    state: &UserState,
) -> Result<(Kept, UserInputs), Error> {
    let held = match &state.user {
        Some(u) => Held::principal(
            u.principal(),
            state.policy_document.as_ref(),
            &inputs.location,
        ),
        None => Held::default(),
    };
    let kept = keep(
        Wanted {
            location: &inputs.location,
            access: inputs.access,
            tier: (Tier::default(), false),
            kms_keys: facts.kms_keys(&inputs.kms_keys),
            remove_kms_keys: &inputs.remove_kms_keys,
            guardrails: &inputs.guardrails,
            set: None,
            max_tags: Guardrails::MAX_TAGS,
            who: format!("user {}", inputs.user_name),
            teardown: format!(
                "serverless-s3-setup teardown --user-name {}",
                inputs.user_name
            ),
        },
        &held,
    )?;
    let settled = UserInputs {
        policy_name: kept_policy_name(
            inputs.chosen.policy_name,
            state.policy.as_ref(),
            &inputs.policy_name,
        ),
        ..inputs.clone()
    };
    Ok((kept, settled))
}
