//! The commands' inputs as given: from flags (`cli`) or from the wizard's first questions.
//! Anything missing is asked for by [`crate::wizard`] or reported; nothing here is checked
//! beyond what the types in [`crate::inputs`] hold.

use crate::inputs::{
    Access, AccessKeyId, AccountId, ClusterId, ExternalId, GuardrailRequest, KmsKeyArn, PolicyName,
    RoleName, S3Location, SecretPath, StackName, Tier, Timeout, UserName, Who,
};
use crate::plan::Method;
use crate::verify::Subject;

/// The `role` command's inputs, as given. Anything missing is asked for, or reported.
#[derive(Debug, Clone, Default)]
pub struct RoleRequest {
    pub method: Option<Method>,
    pub location: Option<S3Location>,
    pub access: Option<Access>,
    pub tidb_account: Option<AccountId>,
    pub external_id: Option<ExternalId>,
    /// The explicit opt-out of the external ID condition.
    pub no_external_id: bool,
    /// `--replace-external-ids`: the given ID replaces those the role has.
    pub replace_external_ids: bool,
    /// `--remove-external-id`: clusters to take off the role.
    pub remove_external_ids: Vec<ExternalId>,
    pub tier: Option<Tier>,
    /// For the `ticloud` command printed at the end.
    pub cluster_id: Option<ClusterId>,
    pub role_name: Option<RoleName>,
    pub policy_name: Option<PolicyName>,
    pub kms_keys: Vec<KmsKeyArn>,
    /// `--remove-kms-key`: keys the role keeps otherwise.
    pub remove_kms_keys: Vec<KmsKeyArn>,
    pub stack_name: Option<StackName>,
    /// How long to wait for the stack [default: 10 minutes].
    pub timeout: Option<Timeout>,
    pub guardrails: GuardrailRequest,
    pub saved: SavedPlan,
}

/// `--plan-out FILE` (plan, save, change nothing) or `--plan FILE` (apply a saved plan).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum SavedPlan {
    #[default]
    None,
    Write(std::path::PathBuf),
    Apply(std::path::PathBuf),
}

/// The `access-key` command's inputs, as given.
#[derive(Debug, Clone, Default)]
pub struct AccessKeyRequest {
    pub location: Option<S3Location>,
    pub access: Option<Access>,
    pub user_name: Option<UserName>,
    pub policy_name: Option<PolicyName>,
    pub kms_keys: Vec<KmsKeyArn>,
    /// `--remove-kms-key`: keys the user keeps otherwise.
    pub remove_kms_keys: Vec<KmsKeyArn>,
    /// Write the key here (a new file, mode 0600) instead of to stdout.
    pub secret_file: Option<SecretPath>,
    pub guardrails: GuardrailRequest,
    pub tier: Option<Tier>,
    /// For the `ticloud` command printed at the end.
    pub cluster_id: Option<ClusterId>,
    pub saved: SavedPlan,
}

/// `access-key delete`: what to remove.
#[derive(Debug, Clone)]
pub struct DeleteRequest {
    pub user_name: Option<UserName>,
    pub access_key_id: Option<AccessKeyId>,
    /// Also remove the user and the policies this tool made for it.
    pub with_user: bool,
    /// Delete even from a user that lacks the managed-by=serverless-s3-setup tag.
    pub force: bool,
}

/// What to tear down.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// A role made with IAM, or a user.
    Principal(Who),
    Stack(StackName),
}

#[derive(Debug, Clone, Default)]
pub struct TeardownRequest {
    pub target: Option<Target>,
    /// Delete even what lacks the managed-by=serverless-s3-setup tag.
    pub force: bool,
}

/// `verify`'s inputs, as given.
#[derive(Debug, Clone, Default)]
pub struct VerifyRequest {
    pub subject: Option<Subject>,
    pub location: Option<S3Location>,
    pub access: Option<Access>,
    pub tidb_account: Option<AccountId>,
    pub external_id: Option<ExternalId>,
    pub no_external_id: bool,
    /// `--tier`: Dedicated also needs `s3:GetBucketLocation`.
    pub tier: Option<Tier>,
}

impl VerifyRequest {
    /// The flags a run without a terminal lacks: a role needs whom it trusts as well.
    pub fn missing(&self) -> Vec<&'static str> {
        let mut missing = Vec::new();
        if self.subject.is_none() {
            missing.push("--role-arn or --user-name");
        }
        if self.location.is_none() {
            missing.push("--uri");
        }
        if self.subject.as_ref().is_some_and(Subject::is_role) {
            if self.tidb_account.is_none() {
                missing.push("--tidb-account-id");
            }
            if self.external_id.is_none() && !self.no_external_id {
                missing.push("--external-id (or --no-external-id)");
            }
        }
        missing
    }
}
