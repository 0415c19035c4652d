//! `verify`: names the exact broken item of a setup, made by this tool or by hand, following
//! TiDB Cloud's own troubleshooting list, and gives the fix for each.
//!
//! [`gather`] reads what AWS holds into [`Evidence`]; [`checks`] judges it, pure, over the one
//! policy model of [`evaluate`] and [`condition`]; `render` shows the report. `run` and
//! `after_setup` tie them together. It only reads: nothing here writes to AWS.

pub mod condition;
pub mod evaluate;

mod checks;
mod gather;
mod render;

pub use checks::{access_of, checks, required, samples, TidbRequest};
pub use gather::{
    after_setup, boundary_document, gather, unchanged_role, Beside, Expected, Known, Preread,
    Written,
};
pub use render::show_after_setup;

use serde::Serialize;
use serde_json::Value;

use crate::aws::iam::{self};
use crate::aws::Clients;
use crate::detect;
use crate::error::Error;
use crate::facts::BucketFacts;
use crate::inputs::{
    Access, AccountId, Arn, ExternalId, Partition, RoleName, S3Location, UserName, Who,
};
use crate::Context;

/// Whose access to check: a role, by the ARN TiDB Cloud is given, or a user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subject {
    pub who: Who,
    /// The role's ARN as given (`--role-arn`, or the one a setup printed); none for a user.
    role_arn: Option<String>,
}

impl Subject {
    /// Parses `--role-arn`: `arn:PARTITION:iam::ACCOUNT:role/[path/]NAME`.
    pub fn role(arn: &str) -> Result<Subject, crate::inputs::Invalid> {
        let rule = || {
            crate::inputs::Invalid(format!(
                "must be a role ARN such as arn:aws:iam::123456789012:role/NAME, not {arn:?}"
            ))
        };
        let parsed = Arn::parse(arn).ok_or_else(rule)?;
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
    pub fn role_named(arn: String, name: RoleName) -> Subject {
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
    pub fn role_arn(&self) -> Option<&str> {
        self.role_arn.as_deref()
    }

    pub fn is_role(&self) -> bool {
        matches!(self.who, Who::Role(_))
    }

    fn label(&self) -> String {
        self.who.to_string()
    }
}

/// What the setup is for, and, for a role, whom it must trust.
#[derive(Debug, Clone)]
pub struct Expectations {
    pub location: S3Location,
    pub access: Access,
    pub tidb_account: Option<AccountId>,
    /// `None` with `--no-external-id`.
    pub external_id: Option<ExternalId>,
    /// Whether TiDB Cloud also reads the bucket's location (Dedicated, and access keys).
    pub bucket_location: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Pass,
    Warn,
    Fail,
}

#[derive(Debug, Clone, Serialize)]
pub struct Check {
    pub name: &'static str,
    pub status: Status,
    pub finding: String,
    pub fix: Option<String>,
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
    pub checks: Vec<Check>,
    /// Whether the checks judged what AWS holds, read back; `false` when they could only
    /// judge the documents a setup wrote (AWS did not show them in time).
    pub read_back: bool,
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
    pub fn pending() -> Report {
        Report {
            ok: true,
            checks: Vec::new(),
            read_back: false,
        }
    }
}

/// Everything read from AWS that the checks judge. The checks themselves are pure.
#[derive(Debug, Clone)]
pub struct Evidence {
    pub partition: Partition,
    /// The principal's ARN as IAM has it; `None` when it does not exist.
    pub principal_arn: Option<String>,
    pub created: Option<i64>,
    pub trust: Option<Value>,
    /// Every identity policy that applies, labelled.
    pub policies: Vec<(String, Value)>,
    pub bucket: BucketFacts,
    /// What IAM's simulator said for each required (action, resource), where it answered.
    pub simulated: Option<Vec<iam::Simulated>>,
    /// The bucket's customer-managed key as KMS has it; `None` when not read.
    pub key: Option<KeyFacts>,
    /// The permissions boundary (ARN, document): it caps what the policies allow.
    pub boundary: Option<(String, Value)>,
    /// The principal's tags, among them the access this tool recorded on it.
    pub tags: Vec<(String, String)>,
    /// Whether the bucket is in the principal's account, where its bucket policy alone may
    /// grant; `None` when not read.
    pub bucket_in_account: Option<bool>,
    /// A user's unique ID (`AIDA…`), its requests' `aws:userid`.
    pub user_id: Option<String>,
}

/// What KMS says of the bucket's customer-managed key.
#[derive(Debug, Clone)]
pub struct KeyFacts {
    /// `Enabled`, `Disabled`, `PendingDeletion`, …; `None` when DescribeKey was refused.
    pub state: Option<String>,
    pub account: Option<String>,
    /// The key policy, or why it could not be read.
    pub policy: Result<Option<Value>, String>,
}

impl Evidence {
    /// What a setup knows right after it wrote the documents: those documents, what it read of
    /// the bucket, and the boundary it set.
    pub fn written(
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
    pub tier: Option<crate::inputs::Tier>,
}

/// The command that sets this up again, for fixes.
fn rerun(subject: &Subject, e: &Expectations) -> String {
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

/// Runs `verify`. A principal that is not found is looked up again with a short backoff, since
/// IAM takes a moment to show what was just made.
pub async fn run(ctx: &Context, req: VerifyRequest) -> Result<Report, Error> {
    let mut missing = Vec::new();
    if req.subject.is_none() {
        missing.push("--role-arn or --user-name");
    }
    if req.location.is_none() {
        missing.push("--uri");
    }
    if req.subject.as_ref().is_some_and(Subject::is_role) {
        if req.tidb_account.is_none() {
            missing.push("--tidb-account-id");
        }
        if req.external_id.is_none() && !req.no_external_id {
            missing.push("--external-id (or --no-external-id)");
        }
    }
    if !missing.is_empty() {
        return Err(Error::Missing {
            flags: missing.into_iter().map(str::to_string).collect(),
            hint: String::new(),
        });
    }
    let subject = req.subject.expect("checked");
    let clients = Clients::connect(&ctx.conn, &ctx.ui).await?;
    // A file or pattern URI is checked as the directory it is served by, as `role` grants it.
    let (location, located) =
        detect::locate(Some(&clients), req.location.expect("checked")).await?;
    located.findings.iter().for_each(|line| ctx.ui.info(line));
    let mut e = Expectations {
        location,
        access: req.access.unwrap_or(Access::Import),
        tidb_account: req.tidb_account,
        external_id: req.external_id,
        bucket_location: !subject.is_role() || req.tier.unwrap_or_default().reads_bucket_location(),
    };
    let step = ctx.ui.step(format!("Checking {}", subject.label()));
    let evidence = async {
        let mut delay = std::time::Duration::from_millis(500);
        let mut evidence = gather(&clients, &subject, &e).await;
        for _ in 0..3 {
            match &evidence {
                Ok(ev) if ev.principal_arn.is_none() => {
                    tokio::time::sleep(delay).await;
                    delay *= 2;
                    evidence = gather(&clients, &subject, &e).await;
                }
                _ => break,
            }
        }
        let mut evidence = evidence?;
        if req.access.is_none() && evidence.principal_arn.is_some() {
            let (access, why) = access_of(&evidence, &e);
            ctx.ui.info(format!("checking access: {why}"));
            e.access = access;
        }
        if let Some(arn) = &evidence.principal_arn {
            let needed = required(evidence.partition, &e, None);
            let request = TidbRequest::new(&subject, &e, &evidence);
            evidence.simulated =
                iam::simulate(&clients.iam, arn, &samples(&request, &needed)).await;
        }
        Ok::<_, Error>(evidence)
    }
    .await;
    let evidence = step.end(evidence, |_| "done".into())?;
    Ok(checks(&subject, &e, &evidence, &rerun(&subject, &e)))
}

#[cfg(test)]
mod tests;
