//! What a role's plan and a user's plan share: where, what, with which policy, and what was
//! found on the way. Flattened into both, so `-o json` keeps one level of keys.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::facts::Facts;
use crate::inputs::{Access, AccountId, Guardrails, KmsKeyArn, Partition, PolicyName, S3Location};

use super::{Action, Revision};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Grant {
    pub(crate) bucket: String,
    pub(crate) prefix: String,
    pub(crate) access: Access,
    pub(crate) partition: Partition,
    /// The caller's account; `None` when planning without credentials.
    pub(crate) account_id: Option<AccountId>,
    pub(crate) bucket_region: Option<String>,
    pub(crate) policy_name: PolicyName,
    pub(crate) kms_keys: Vec<KmsKeyArn>,
    pub(crate) permissions_policy: Value,
    /// The permissions policy as AWS holds it now, for an update's diff (not saved: a saved
    /// plan shows what it writes).
    #[serde(skip)]
    pub(crate) current_permissions: Option<Value>,
    pub(crate) actions: Vec<Action>,
    /// What the run takes away from or replaces on what exists (a `-` line each).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) revisions: Vec<Revision>,
    pub(crate) detected: Vec<String>,
    pub(crate) warnings: Vec<String>,
    #[serde(flatten)]
    pub(crate) guardrails: Guardrails,
    /// The bucket's default key, as detected: a rerun detects it again, so a CI command
    /// need not pin it.
    #[serde(skip)]
    pub(crate) bucket_key: Option<KmsKeyArn>,
}

/// What a plan is made of besides the facts: the inputs the two kinds share.
pub(super) struct Granting<'a> {
    pub(crate) location: &'a S3Location,
    pub(crate) access: Access,
    pub(crate) policy_name: &'a PolicyName,
    pub(crate) guardrails: &'a Guardrails,
}

impl Grant {
    pub(super) fn new(
        what: Granting<'_>,
        facts: &Facts,
        kms_keys: Vec<KmsKeyArn>,
        permissions_policy: Value,
        current_permissions: Option<Value>,
        actions: Vec<Action>,
        revisions: Vec<Revision>,
    ) -> Grant {
        Grant {
            bucket: what.location.bucket().to_string(),
            prefix: what.location.prefix().to_string(),
            access: what.access,
            partition: facts.partition(),
            account_id: facts.account.clone(),
            bucket_region: facts.bucket_region().map(str::to_string),
            policy_name: what.policy_name.clone(),
            kms_keys,
            permissions_policy,
            current_permissions,
            actions,
            revisions,
            detected: facts.findings.clone(),
            warnings: whole_bucket(what.location, what.access)
                .into_iter()
                .chain(facts.warnings.iter().cloned())
                .collect(),
            guardrails: what.guardrails.clone(),
            bucket_key: facts.bucket_kms_key().cloned(),
        }
    }

    pub(crate) fn changes(&self) -> bool {
        !self.actions.is_empty()
    }

    /// Whether the run takes away or replaces something the role or user has: then Enter
    /// alone at **Proceed?** never goes ahead.
    pub(crate) fn takes_away(&self) -> bool {
        self.revisions.iter().any(|r| r.takes_away)
    }

    /// One line per change; `principal` (`role NAME`) names what a stack's changes make.
    pub(crate) fn lines(&self, principal: &str) -> Vec<String> {
        self.actions.iter().map(|a| a.describe(principal)).collect()
    }
}

/// A URI that names the bucket alone grants every object in it, even for writing: a plan says
/// so, since a folder was probably meant.
fn whole_bucket(location: &S3Location, access: Access) -> Option<String> {
    let what = access.in_words();
    location.is_whole_bucket().then(|| {
        format!(
            "{location} names no folder: TiDB Cloud gets {what} access to every object in bucket {}; give a folder (s3://{}/dir/) to grant less",
            location.bucket(),
            location.bucket()
        )
    })
}
