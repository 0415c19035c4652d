//! The commands' inputs as given: from flags (`cli`) or from the wizard's first questions.
//! Anything missing is asked for by [`crate::wizard`] or reported; nothing here is checked
//! beyond what the types in [`crate::inputs`] hold.

use crate::error::Error;
use crate::inputs::{
    Access, AccessKeyId, AccountId, ClusterId, ExternalId, GuardrailRequest, KmsKeyArn, PolicyName,
    RoleName, S3Location, SecretPath, SetName, StackName, Tier, Timeout, UserName, Who,
};
pub use crate::plan::KeyProbe;
use crate::plan::Method;
use crate::verify::Subject;

/// The `role` command's inputs, as given. Anything missing is asked for, or reported.
#[derive(Debug, Clone, Default)]
pub struct RoleRequest {
    pub method: Option<Method>,
    /// The method was the wizard's answer, asked before the role was looked for: a role that
    /// exists keeps the way it was made instead.
    pub method_asked: bool,
    pub location: Option<S3Location>,
    pub access: Option<Access>,
    pub tidb_account: Option<AccountId>,
    pub external_id: Option<ExternalId>,
    /// More clusters to trust beside `external_id`: the rest of a file's `external_ids`.
    pub more_external_ids: Vec<ExternalId>,
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
    /// `--wait-ready`: after a change, wait until IAM can be expected to have carried it to
    /// every region, before the result (and the `ticloud` command) is printed.
    pub wait_ready: bool,
    pub guardrails: GuardrailRequest,
    pub saved: SavedPlan,
    /// The set of setups it belongs to: the file it comes from (`plan`/`apply -f`).
    pub set: Option<SetName>,
}

impl RoleRequest {
    /// The rules between flags, whichever way the request came (flags, the wizard's first
    /// answers, a file): each error names its flag. Nothing is sent before.
    pub fn validate(&self) -> Result<(), Error> {
        if self.method == Some(Method::Iam) {
            for (flag, given) in [
                ("--stack-name", self.stack_name.is_some()),
                ("--timeout", self.timeout.is_some()),
            ] {
                if given {
                    return Err(Error::invalid(
                        flag,
                        "applies only to --method cloudformation, not --method iam",
                    ));
                }
            }
        }
        supported(self.tier, self.access)?;
        distinct_keys(&self.kms_keys, &self.remove_kms_keys)
    }

    /// The flags a run without a terminal lacks.
    pub fn missing(&self) -> Vec<&'static str> {
        let mut missing = missing_basics(self.location.is_some(), self.access.is_some());
        if self.tidb_account.is_none() {
            missing.push("--tidb-account-id");
        }
        let trusts = self.external_id.is_some() || self.no_external_id;
        if !trusts && self.remove_external_ids.is_empty() {
            missing.push("--external-id");
        }
        missing
    }
}

impl AccessKeyRequest {
    /// The rules between flags, as [`RoleRequest::validate`] has them.
    pub fn validate(&self) -> Result<(), Error> {
        supported(self.tier, self.access)?;
        if let Some(access) = self.access {
            self.probe.check(access)?;
        }
        distinct_keys(&self.kms_keys, &self.remove_kms_keys)
    }

    /// The flags a run without a terminal lacks.
    pub fn missing(&self) -> Vec<&'static str> {
        missing_basics(self.location.is_some(), self.access.is_some())
    }
}

/// A tier that cannot do the access asked (Dedicated does not export, say).
fn supported(tier: Option<Tier>, access: Option<Access>) -> Result<(), Error> {
    match (tier, access) {
        (Some(tier), Some(access)) => tier
            .supports(access)
            .map_err(|e| Error::invalid("--access", e)),
        _ => Ok(()),
    }
}

/// A key both granted and taken off is a contradiction, not a choice.
fn distinct_keys(add: &[KmsKeyArn], remove: &[KmsKeyArn]) -> Result<(), Error> {
    match remove.iter().find(|k| add.contains(k)) {
        Some(key) => Err(Error::invalid(
            "--remove-kms-key",
            format!("names {key}, which --kms-key grants"),
        )),
        None => Ok(()),
    }
}

fn missing_basics(location: bool, access: bool) -> Vec<&'static str> {
    let mut missing = Vec::new();
    if !location {
        missing.push("--uri");
    }
    if !access {
        missing.push("--access (import, export or both: nothing grants write access unasked)");
    }
    missing
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
    /// Write the key here (a new file, mode 0600 on Unix) instead of to stdout.
    pub secret_file: Option<SecretPath>,
    /// `--rotate`: delete the user's older keys once the new one works (the CI mode).
    pub rotate: bool,
    /// How the new key is tried on S3 (`--no-probe`, `--probe-write`).
    pub probe: KeyProbe,
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
    /// Delete even from a user that lacks the managed-by=serverless-s3-setup tag, and with the
    /// user the credentials someone added to it (`teardown --user-name --force`).
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
    /// Delete even what lacks the managed-by=serverless-s3-setup tag, and a user's credentials
    /// that someone added (a console password, MFA devices, signing certificates, SSH keys).
    pub force: bool,
}

impl TeardownRequest {
    /// The flag a teardown lacks: what to tear down.
    pub fn missing(&self) -> Vec<&'static str> {
        match self.target {
            Some(_) => Vec::new(),
            None => vec!["one of --role-name, --stack-name, --user-name, -f FILE or --set NAME"],
        }
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rules_between_flags_hold_however_the_request_came() {
        let iam = RoleRequest {
            method: Some(Method::Iam),
            stack_name: Some("s".parse().unwrap()),
            ..RoleRequest::default()
        };
        let err = iam.validate().unwrap_err().to_string();
        assert!(
            err.starts_with("--stack-name: applies only to --method cloudformation"),
            "{err}"
        );

        let key: KmsKeyArn = "arn:aws:kms:us-east-1:123456789012:key/k".parse().unwrap();
        let both = AccessKeyRequest {
            kms_keys: vec![key.clone()],
            remove_kms_keys: vec![key],
            ..AccessKeyRequest::default()
        };
        let err = both.validate().unwrap_err().to_string();
        assert!(err.starts_with("--remove-kms-key: names"), "{err}");

        let export = RoleRequest {
            tier: Some(Tier::Dedicated),
            access: Some(Access::Export),
            ..RoleRequest::default()
        };
        assert!(export
            .validate()
            .unwrap_err()
            .to_string()
            .starts_with("--access:"));
    }

    #[test]
    fn what_is_missing_is_named_by_its_flag() {
        assert_eq!(
            RoleRequest::default().missing(),
            [
                "--uri",
                "--access (import, export or both: nothing grants write access unasked)",
                "--tidb-account-id",
                "--external-id"
            ]
        );
        let removing = RoleRequest {
            remove_external_ids: vec!["ab".parse().unwrap()],
            ..RoleRequest::default()
        };
        assert!(!removing.missing().contains(&"--external-id"));
        assert_eq!(AccessKeyRequest::default().missing().len(), 2);
        let verify = VerifyRequest {
            subject: Some(Subject::role("arn:aws:iam::123456789012:role/r").unwrap()),
            ..VerifyRequest::default()
        };
        assert_eq!(
            verify.missing(),
            [
                "--uri",
                "--tidb-account-id",
                "--external-id (or --no-external-id)"
            ]
        );
    }
}
