//! `verify`: names the exact broken item of a setup, made by this tool or by hand, following
//! TiDB Cloud's own troubleshooting list, and gives the fix for each.
//!
//! [`gather`] reads what AWS holds into [`Evidence`]; [`checks`] judges it, pure, over the one
//! policy model of [`evaluate`] and [`condition`]; `render` shows the report. `run` and
//! `after_setup` tie them together. It only reads: nothing here writes to AWS.

pub(crate) mod condition;
pub(crate) mod evaluate;

mod after;
mod checks;
mod gather;
mod render;

pub(crate) use after::{after_setup, unchanged_role, Beside, Known, ReadBack, Written};
pub(crate) use checks::{access_of, checks, required, samples, TidbRequest};
pub(crate) use gather::{gather, Expected};
pub(crate) use render::{show_after_setup, summary};

use serde::Serialize;
use serde_json::Value;

use crate::aws::iam::{self};
use crate::facts::BucketFacts;
use crate::inputs::{
    Access, AccountId, Arn, ExternalId, Partition, RoleName, S3Location, UserName, Who,
};

/// Whose access to check: a role, by the ARN TiDB Cloud is given, or a user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subject {
    pub(crate) who: Who,
    /// The role's ARN as given (`--role-arn`, or the one a setup printed); none for a user.
    role_arn: Option<String>,
}

impl Subject {
    /// Parses `--role-arn`: `arn:PARTITION:iam::ACCOUNT:role/[path/]NAME`.
    pub fn role(arn: &str) -> Result<Subject, crate::inputs::Invalid> {
        // The rule, and what the value was taken for when that can be told.
        let refused = |what: &str| {
            crate::inputs::Invalid(format!(
                "must be a role ARN such as arn:aws:iam::123456789012:role/NAME, not {arn:?}{what}"
            ))
        };
        let rule = || refused("");
        let look_up = |role: &str| {
            format!(
                "`aws iam get-role --role-name {role} --query Role.Arn --output text` prints it"
            )
        };
        let Some(parsed) = Arn::parse(arn) else {
            return Err(match arn.parse::<RoleName>() {
                Ok(name) => refused(&format!(": for the role named {name}, {}", look_up(arn))),
                Err(_) => rule(),
            });
        };
        // What a caller sees of a role it has assumed, or a user's ARN, named for what it is.
        let segments: Vec<&str> = parsed.resource.split('/').collect();
        match (parsed.service, &segments[..]) {
            ("sts", ["assumed-role", role, _session]) => {
                return Err(refused(&format!(
                    ": it is a session of role {role}; give the role's own ARN, as {}",
                    look_up(role)
                )))
            }
            ("iam", ["user", .., user]) => {
                return Err(refused(&format!(
                    ": it is a user's ARN; check a user with --user-name {user}"
                )))
            }
            _ => {}
        }
        if parsed.known_partition().is_none()
            || parsed.service != "iam"
            || !parsed.region.is_empty()
            || parsed.account.parse::<AccountId>().is_err()
        {
            return Err(rule());
        }
        let Some(("role", _, name)) = parsed.iam_resource() else {
            return Err(rule());
        };
        let name: RoleName = name.parse().map_err(|_| rule())?;
        Ok(Subject::role_named(arn.to_string(), name))
    }

    /// A role, by its ARN and name.
    pub(crate) fn role_named(arn: String, name: RoleName) -> Subject {
        Subject {
            who: Who::Role(name),
            role_arn: Some(arn),
        }
    }

    pub fn user(name: UserName) -> Subject {
        Subject {
            who: Who::User(name),
            role_arn: None,
        }
    }

    /// The role's ARN as given; `None` for a user.
    pub(crate) fn role_arn(&self) -> Option<&str> {
        self.role_arn.as_deref()
    }

    pub fn is_role(&self) -> bool {
        matches!(self.who, Who::Role(_))
    }

    pub(crate) fn label(&self) -> String {
        self.who.to_string()
    }
}

/// What the setup is for, and, for a role, whom it must trust.
#[derive(Debug, Clone)]
pub(crate) struct Expectations {
    pub(crate) location: S3Location,
    pub(crate) access: Access,
    pub(crate) tidb_account: Option<AccountId>,
    /// `None` with `--no-external-id`.
    pub(crate) external_id: Option<ExternalId>,
    /// Whether TiDB Cloud also reads the bucket's location (Dedicated, and access keys).
    pub(crate) bucket_location: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Status {
    Pass,
    Warn,
    Fail,
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct Check {
    pub(crate) name: &'static str,
    pub(crate) status: Status,
    pub(crate) finding: String,
    pub(crate) fix: Option<String>,
}

impl Check {
    fn pass(name: &'static str, finding: impl Into<String>) -> Check {
        Check {
            name,
            status: Status::Pass,
            finding: finding.into(),
            fix: None,
        }
    }
    fn warn(name: &'static str, finding: impl Into<String>, fix: Option<String>) -> Check {
        Check {
            name,
            status: Status::Warn,
            finding: finding.into(),
            fix,
        }
    }
    fn fail(name: &'static str, finding: impl Into<String>, fix: impl Into<String>) -> Check {
        Check {
            name,
            status: Status::Fail,
            finding: finding.into(),
            fix: Some(fix.into()),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub ok: bool,
    pub(crate) checks: Vec<Check>,
    /// Whether the checks judged what AWS holds, read back; `false` when they could only
    /// judge the documents a setup wrote (AWS did not show them in time).
    pub(crate) read_back: bool,
}

impl Report {
    fn new(checks: Vec<Check>) -> Report {
        Report {
            ok: checks.iter().all(|c| c.status != Status::Fail),
            checks,
            read_back: true,
        }
    }

    /// No checks: what a setup reports before it has run them.
    pub(crate) fn pending() -> Report {
        Report {
            ok: true,
            checks: Vec::new(),
            read_back: false,
        }
    }
}

/// Everything read from AWS that the checks judge. The checks themselves are pure.
#[derive(Debug, Clone)]
pub(crate) struct Evidence {
    pub(crate) partition: Partition,
    /// The principal's ARN as IAM has it; `None` when it does not exist.
    pub(crate) principal_arn: Option<String>,
    pub(crate) created: Option<i64>,
    pub(crate) trust: Option<Value>,
    /// Every identity policy that applies, labelled.
    pub(crate) policies: Vec<(String, Value)>,
    pub(crate) bucket: BucketFacts,
    /// What IAM's simulator said for each required (action, resource), where it answered.
    pub(crate) simulated: Option<Vec<iam::Simulated>>,
    /// The bucket's customer-managed key as KMS has it; `None` when not read.
    pub(crate) key: Option<KeyFacts>,
    /// The key of each of `bucket.object_keys`, in its order, where it was read.
    pub(crate) object_keys: Vec<Option<KeyFacts>>,
    /// The permissions boundary (ARN, document): it caps what the policies allow.
    pub(crate) boundary: Option<(String, Value)>,
    /// The principal's tags, among them the access this tool recorded on it.
    pub(crate) tags: Vec<(String, String)>,
    /// Whether the bucket is in the principal's account, where its bucket policy alone may
    /// grant; `None` when not read.
    pub(crate) bucket_in_account: Option<bool>,
    /// A user's unique ID (`AIDA…`), its requests' `aws:userid`.
    pub(crate) user_id: Option<String>,
}

/// What KMS says of the bucket's customer-managed key.
#[derive(Debug, Clone)]
pub(crate) struct KeyFacts {
    /// `Enabled`, `Disabled`, `PendingDeletion`, …; `None` when DescribeKey was refused.
    pub(crate) state: Option<String>,
    pub(crate) account: Option<String>,
    /// The key policy, or why it could not be read.
    pub(crate) policy: Result<Option<Value>, String>,
    /// The key's grants; none when they could not be listed.
    pub(crate) grants: Vec<crate::aws::kms::Grant>,
}

impl KeyFacts {
    /// A key that was not read: nothing known of its state, policy or grants.
    pub(crate) fn unread() -> KeyFacts {
        KeyFacts {
            state: None,
            account: None,
            policy: Ok(None),
            grants: Vec::new(),
        }
    }
}

impl Evidence {
    /// What a setup knows right after it wrote the documents: those documents, what it read of
    /// the bucket, and the boundary it set.
    pub(crate) fn written(
        partition: Partition,
        principal_arn: String,
        trust: Option<Value>,
        permissions: Value,
        bucket: BucketFacts,
        boundary: Option<(String, Value)>,
    ) -> Evidence {
        Evidence {
            partition,
            principal_arn: Some(principal_arn),
            trust,
            policies: vec![("the policy just written".into(), permissions)],
            bucket,
            boundary,
            ..Evidence::default()
        }
    }
}

impl Default for Evidence {
    fn default() -> Self {
        Evidence {
            partition: Partition::Aws,
            principal_arn: None,
            created: None,
            trust: None,
            policies: Vec::new(),
            bucket: BucketFacts::default(),
            simulated: None,
            key: None,
            object_keys: Vec::new(),
            boundary: None,
            tags: Vec::new(),
            bucket_in_account: None,
            user_id: None,
        }
    }
}

/// The `verify` command line for this subject and these expectations.
fn verify_command(subject: &Subject, e: &Expectations) -> String {
    let mut words = vec!["serverless-s3-setup".to_string(), "verify".into()];
    match (&subject.who, subject.role_arn()) {
        (Who::Role(_), Some(arn)) => words.extend(["--role-arn".into(), arn.to_string()]),
        (who, _) => words.extend([who.flag().to_string(), who.name().to_string()]),
    }
    words.extend([
        "--uri".into(),
        e.location.to_string(),
        "--access".into(),
        e.access.to_string(),
    ]);
    if subject.is_role() {
        if let Some(account) = &e.tidb_account {
            words.extend(["--tidb-account-id".into(), account.to_string()]);
        }
        match &e.external_id {
            Some(id) => words.extend(["--external-id".into(), id.to_string()]),
            None => words.push("--no-external-id".into()),
        }
    }
    crate::output::command_line(words.iter().map(String::as_str))
}

/// The command that sets this up again, for fixes.
pub(crate) fn rerun(subject: &Subject, e: &Expectations) -> String {
    match &subject.who {
        Who::Role(name) => format!(
            "serverless-s3-setup role --uri {} --access {} --role-name {name} --tidb-account-id {} {}",
            e.location,
            e.access,
            e.tidb_account.as_ref().map_or_else(|| "ID".to_string(), ToString::to_string),
            e.external_id.as_ref().map_or_else(|| "--no-external-id".to_string(), |x| format!("--external-id {x}")),
        ),
        Who::User(name) => format!(
            "serverless-s3-setup access-key --uri {} --access {} --user-name {name}",
            e.location, e.access
        ),
    }
}

#[cfg(test)]
mod tests;
