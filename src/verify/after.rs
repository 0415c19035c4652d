//! The checks after a setup: on the principal as the run read it before its plan when it
//! changed nothing, else on what IAM shows of what it wrote, read back (see [`after_setup`]).
//! A run of many setups reads the account once for all of them ([`ReadBack`]).

use serde_json::Value;

use crate::aws::iam::Details;
use crate::aws::Clients;
use crate::error::Error;
use crate::facts::BucketFacts;
use crate::inputs::{Partition, RoleName, Who};
use crate::policy;
use crate::verify::{checks, rerun, verify_command};
use crate::verify::{Check, Evidence, Expectations, Report, Subject};

use super::gather::{boundary_document, principal, Expected, Principal};

/// What the checks after a setup start from: the principal as read before the plan, when the
/// run changed nothing; else what the run wrote, read back in one round where it can be.
#[derive(Debug, Clone)]
pub(crate) enum Known {
    Unchanged(Box<Preread>),
    Expected(Expected),
}

/// What a setup wrote, to know when AWS shows it.
#[derive(Debug, Clone)]
pub(crate) struct Written {
    pub(crate) partition: Partition,
    pub(crate) principal_arn: String,
    /// The trust policy, for a role.
    pub(crate) trust: Option<Value>,
    pub(crate) permissions: Value,
    /// The permissions boundary the setup set; `None` when it set none (an omitted
    /// `--permissions-boundary` keeps the one a rerun finds).
    pub(crate) boundary: Option<String>,
}

/// How long the checks after a setup wait for IAM to show what was written.
const READ_BACK: std::time::Duration = std::time::Duration::from_secs(6);

/// What a setup read of its principal before the plan, beside the role itself: its inline
/// policies and its boundary. When the run changed nothing, that is what AWS holds, and the
/// checks judge it without a second read.
#[derive(Debug, Clone, Default)]
pub(crate) struct Beside {
    /// Each inline policy: its name, and its document when it parses.
    pub(crate) inline: Vec<(String, Option<Value>)>,
    /// The documents of the managed policies attached besides the tool's own, by ARN.
    pub(crate) managed: Vec<(String, Value)>,
    boundary: Option<(String, Value)>,
}

impl Beside {
    /// Reads a role's inline policies and its boundary, together.
    pub(crate) async fn role(
        clients: &Clients,
        name: &RoleName,
        boundary: Option<&str>,
    ) -> Result<Beside, Error> {
        let (inline, boundary) = tokio::join!(
            clients.role_inline(name),
            boundary_document(clients, boundary)
        );
        Ok(Beside {
            inline: inline?,
            managed: Vec::new(),
            boundary: boundary?,
        })
    }

    /// Adds the documents of the managed policies in `attached` other than `own`: none, but
    /// for a role that someone gave more.
    pub(crate) async fn with_others(
        mut self,
        clients: &Clients,
        attached: &[String],
        own: &str,
    ) -> Result<Beside, Error> {
        let others: Vec<String> = attached.iter().filter(|a| *a != own).cloned().collect();
        self.managed = clients.managed_documents(&others).await?;
        Ok(self)
    }
}

/// The role as a setup that changed nothing read it: the role, its own managed policy's
/// document when attached (`own`: ARN and document), and what was read beside it.
pub(crate) fn unchanged_role(
    role: &crate::facts::RoleInfo,
    own: Option<(String, Value)>,
    beside: Beside,
) -> Preread {
    let mut policies: Vec<(String, Value)> = own
        .into_iter()
        .chain(beside.managed)
        .map(|(arn, doc)| (format!("policy {arn}"), doc))
        .collect();
    policies.extend(
        beside
            .inline
            .into_iter()
            .filter_map(|(name, doc)| Some((format!("inline policy {name}"), doc?))),
    );
    Preread(Principal {
        arn: Some(role.arn.clone()),
        created: role.created,
        trust: role.trust.clone(),
        policies,
        boundary: beside.boundary,
        boundary_arn: role.boundary.clone(),
        tags: role.tags.clone(),
        user_id: None,
    })
}

/// A principal as this run already read it; see [`unchanged_role`].
#[derive(Debug, Clone)]
pub(crate) struct Preread(Principal);

/// The checks after a setup, on what AWS now holds: the role or user and its policies read
/// back as `verify` reads them; the bucket as this run read it. IAM shows what was just
/// written after a delay ("Changes that I make are not always immediately visible", IAM User
/// Guide, Troubleshooting IAM), so the reads are repeated with a backoff until they show the
/// written trust and policy, within `READ_BACK`. If AWS has not shown them by then, the
/// written documents are checked instead and a warning says so: never a claim without AWS's
/// answer. (IAM's policy simulator is left to `verify`; it only ever confirms.)
pub(crate) async fn after_setup(
    clients: &Clients,
    subject: &Subject,
    e: &Expectations,
    written: Written,
    bucket: BucketFacts,
    known: Known,
) -> Report {
    let expected = match known {
        // Nothing changed: what was read is what AWS holds.
        Known::Unchanged(p) => {
            let evidence = p.0.evidence(written.partition, bucket);
            return checks(subject, e, &evidence, &rerun(subject, e));
        }
        Known::Expected(expected) => expected,
    };
    let deadline = tokio::time::Instant::now() + READ_BACK;
    let mut delay = std::time::Duration::from_millis(200);
    let why = loop {
        match principal(clients, subject, &expected).await {
            Ok(p) if shows(&p, &written) => {
                let evidence = p.evidence(written.partition, bucket);
                return checks(subject, e, &evidence, &rerun(subject, e));
            }
            Ok(_) if tokio::time::Instant::now() + delay < deadline => {
                tokio::time::sleep(delay).await;
                delay *= 2;
            }
            Ok(_) => {
                break format!(
                "IAM did not show what this run wrote within {} s (it is eventually consistent)",
                READ_BACK.as_secs()
            )
            }
            Err(err) => break format!("reading it back failed: {err}"),
        }
    };
    let boundary = boundary_document(clients, written.boundary.as_deref())
        .await
        .unwrap_or(None);
    let evidence = Evidence::written(
        written.partition,
        written.principal_arn,
        written.trust,
        written.permissions,
        bucket,
        boundary,
    );
    let mut report = checks(subject, e, &evidence, &rerun(subject, e));
    report.checks.push(Check::warn(
        "read-back",
        format!("{why}; the checks above judged the documents this run wrote, not AWS's copy"),
        Some(format!(
            "in a minute, `{}` reads it back",
            verify_command(subject, e)
        )),
    ));
    report.read_back = false;
    report
}

/// Whether what IAM returned holds what a setup wrote: the principal, its trust, its policy
/// and its boundary.
fn shows(p: &Principal, written: &Written) -> bool {
    p.arn.is_some()
        && written
            .trust
            .as_ref()
            .is_none_or(|t| p.trust.as_ref().is_some_and(|live| policy::same(live, t)))
        && p.policies
            .iter()
            .any(|(_, doc)| policy::same(doc, &written.permissions))
        && written
            .boundary
            .as_ref()
            .is_none_or(|b| p.boundary_arn.as_ref() == Some(b))
}

/// A setup's checks, put off until a run of many setups has applied them all and read the
/// account once (GetAccountAuthorizationDetails), instead of a read-back round for each.
#[derive(Debug)]
pub(crate) struct ReadBack {
    pub(crate) subject: Subject,
    pub(crate) expectations: Expectations,
    pub(crate) written: Written,
    pub(crate) bucket: BucketFacts,
    pub(crate) known: Known,
}

impl ReadBack {
    /// The checks on the principal as `details`, read after the setup was applied, holds it;
    /// when they do not show what the setup wrote (or were not read), read from IAM as
    /// [`after_setup`] reads.
    pub(crate) async fn check(self, clients: &Clients, details: Option<&Details>) -> Report {
        let ReadBack {
            subject,
            expectations: e,
            written,
            bucket,
            known,
        } = self;
        if let (Known::Expected(_), Who::Role(name)) = (&known, &subject.who) {
            let held = details.and_then(|d| held_role(d, name));
            if let Some(p) = held.filter(|p| shows(p, &written)) {
                let evidence = p.evidence(written.partition, bucket);
                return checks(&subject, &e, &evidence, &rerun(&subject, &e));
            }
        }
        after_setup(clients, &subject, &e, written, bucket, known).await
    }
}

/// The role as `details` holds it with the documents of its policies; `None` when they do not
/// hold it whole (a policy or boundary that AWS manages is not among the account's own).
fn held_role(details: &Details, name: &RoleName) -> Option<Principal> {
    let role = details.role(name.as_str())?;
    let document = |arn: &str| {
        let policy = details.policy(arn)?;
        policy.document(&policy.default_version)?.cloned()
    };
    let mut policies = Vec::new();
    for arn in &role.attached {
        policies.push((format!("policy {arn}"), document(arn)?));
    }
    policies.extend(
        role.inline
            .iter()
            .filter_map(|(policy, doc)| Some((format!("inline policy {policy}"), doc.clone()?))),
    );
    let boundary = match &role.info.boundary {
        Some(arn) => Some((arn.clone(), document(arn)?)),
        None => None,
    };
    Some(Principal {
        arn: Some(role.info.arn.clone()),
        created: role.info.created,
        trust: role.info.trust.clone(),
        policies,
        boundary,
        boundary_arn: role.info.boundary.clone(),
        tags: role.info.tags.clone(),
        user_id: None,
    })
}
