//! Reads what AWS holds of the role or user, its policies and the bucket, for the checks.

use serde_json::{json, Value};

use crate::aws::iam::{self, PrincipalKind};
use crate::aws::Clients;
use crate::detect;
use crate::error::Error;
use crate::facts::BucketFacts;
use crate::inputs::{Arn, Partition};
use crate::policy;
use crate::verify::{checks, rerun, verify_command};
use crate::verify::{Check, Evidence, Expectations, KeyFacts, Report, Subject};

/// What IAM holds of the role or user: the same reads for `verify` and for the checks after
/// a setup.
#[derive(Debug, Clone, Default)]
struct Principal {
    arn: Option<String>,
    created: Option<i64>,
    trust: Option<Value>,
    policies: Vec<(String, Value)>,
    boundary: Option<(String, Value)>,
    /// The boundary's ARN, even when its document could not be read.
    boundary_arn: Option<String>,
    tags: Vec<(String, String)>,
    user_id: Option<String>,
}

impl Principal {
    /// The evidence of what IAM holds of the principal, beside the bucket as read.
    fn evidence(self, partition: Partition, bucket: BucketFacts) -> Evidence {
        Evidence {
            partition,
            principal_arn: self.arn,
            created: self.created,
            trust: self.trust,
            policies: self.policies,
            bucket,
            boundary: self.boundary,
            tags: self.tags,
            user_id: self.user_id,
            ..Evidence::default()
        }
    }
}

/// Reads the principal and every policy that applies to it; an empty `Principal` when it does
/// not exist.
async fn principal(clients: &Clients, subject: &Subject) -> Result<Principal, Error> {
    match subject {
        Subject::Role { name, .. } => {
            let Some(role) = iam::get_role(&clients.iam, name).await? else {
                return Ok(Principal::default());
            };
            let (attached, inline, boundary) = tokio::join!(
                iam::attached_role_policies(&clients.iam, name),
                iam::inline_documents(&clients.iam, PrincipalKind::Role, name),
                boundary_document(clients, role.boundary.as_deref())
            );
            let mut policies = iam::managed_documents(&clients.iam, &attached?).await?;
            policies.extend(inline?);
            Ok(Principal {
                arn: Some(role.arn),
                created: role.created,
                trust: role.trust,
                policies,
                boundary: boundary?,
                boundary_arn: role.boundary,
                tags: role.tags,
                user_id: None,
            })
        }
        Subject::User { name } => {
            let name = name.as_str();
            let Some(user) = iam::get_user(&clients.iam, name).await? else {
                return Ok(Principal::default());
            };
            let (attached, inline, groups, boundary) = tokio::join!(
                iam::attached_user_policies(&clients.iam, name),
                iam::inline_documents(&clients.iam, PrincipalKind::User, name),
                iam::groups_for_user(&clients.iam, name),
                boundary_document(clients, user.boundary.as_deref())
            );
            let mut policies = iam::managed_documents(&clients.iam, &attached?).await?;
            policies.extend(inline?);
            for group in groups? {
                let arns = iam::attached_group_policies(&clients.iam, &group).await?;
                policies.extend(iam::managed_documents(&clients.iam, &arns).await?);
                policies.extend(
                    iam::inline_documents(&clients.iam, PrincipalKind::Group, &group).await?,
                );
            }
            Ok(Principal {
                arn: Some(user.arn),
                created: None,
                trust: None,
                policies,
                boundary: boundary?,
                boundary_arn: user.boundary,
                tags: user.tags,
                user_id: Some(user.user_id),
            })
        }
    }
}

/// Reads everything the checks judge: the principal, its policies, the bucket and its key.
pub async fn gather(
    clients: &Clients,
    subject: &Subject,
    e: &Expectations,
) -> Result<Evidence, Error> {
    let bucket = detect::bucket(clients, &e.location, None, &[], true);
    let (bucket, principal) = tokio::join!(bucket, principal(clients, subject));
    let principal = principal?;
    let principal_arn = principal.arn.clone();
    let mut bucket = bucket?;
    let parsed = principal_arn.as_deref().and_then(Arn::parse);
    let partition = parsed
        .and_then(|arn| arn.known_partition())
        .unwrap_or_else(|| Partition::for_region(clients.region()));
    let account = parsed.map_or("", |arn| arn.account).to_string();
    let bucket_policy = matches!(bucket.policy, Ok(Some(_))) && principal_arn.is_some();
    let (usable, bucket_in_account, key) = tokio::join!(
        bucket.aws_managed_key_usable_by(clients, e.location.bucket(), &account),
        async {
            if bucket_policy {
                let s3 =
                    clients.s3_in(bucket.region.as_deref().unwrap_or_else(|| clients.region()));
                crate::aws::s3::owned_by(&s3, e.location.bucket(), &account)
                    .await
                    .ok()
            } else {
                None
            }
        },
        async {
            match &bucket.kms_key {
                Some(key) => Some(key_facts(clients, key).await),
                None => None,
            }
        }
    );
    bucket.aws_managed_key_usable = usable;
    Ok(Evidence {
        key,
        bucket_in_account,
        ..principal.evidence(partition, bucket)
    })
}

/// The permissions boundary's document, labelled with its ARN.
pub async fn boundary_document(
    clients: &Clients,
    arn: Option<&str>,
) -> Result<Option<(String, Value)>, Error> {
    let Some(arn) = arn else {
        return Ok(None);
    };
    let docs = iam::managed_documents(&clients.iam, &[arn.to_string()]).await?;
    Ok(Some(docs.into_iter().next().map_or_else(
        // A boundary that cannot be read allows nothing that can be shown to be allowed.
        || (arn.to_string(), json!({"Statement": []})),
        |(_, doc)| (arn.to_string(), doc),
    )))
}

/// DescribeKey and GetKeyPolicy, together; a refusal of either is noted, not fatal.
async fn key_facts(clients: &Clients, key: &crate::inputs::KmsKeyArn) -> KeyFacts {
    let kms = clients.kms_in(key.region());
    let (described, policy) = tokio::join!(
        crate::aws::kms::describe_key(&kms, key.as_str()),
        crate::aws::kms::key_policy(&kms, key.as_str())
    );
    let described = described.ok();
    KeyFacts {
        state: described.as_ref().map(|d| d.state.clone()),
        account: described.map(|d| d.account).filter(|a| !a.is_empty()),
        policy: policy.map_err(|e| e.to_string().lines().next().unwrap_or_default().to_string()),
    }
}

/// What a setup wrote, to know when AWS shows it.
#[derive(Debug, Clone)]
pub struct Written {
    pub partition: Partition,
    pub principal_arn: String,
    /// The trust policy, for a role.
    pub trust: Option<Value>,
    pub permissions: Value,
    /// The permissions boundary the setup set; `None` when it set none (an omitted
    /// `--permissions-boundary` keeps the one a rerun finds).
    pub boundary: Option<String>,
}

/// How long the checks after a setup wait for IAM to show what was written.
const READ_BACK: std::time::Duration = std::time::Duration::from_secs(6);

/// The checks after a setup, on what AWS now holds: the role or user and its policies read
/// back as `verify` reads them; the bucket as this run read it. IAM shows what was just
/// written after a delay ("Changes that I make are not always immediately visible", IAM User
/// Guide, Troubleshooting IAM), so the reads are repeated with a backoff until they show the
/// written trust and policy, within `READ_BACK`. If AWS has not shown them by then, the
/// written documents are checked instead and a warning says so: never a claim without AWS's
/// answer. (IAM's policy simulator is left to `verify`; it only ever confirms.)
pub async fn after_setup(
    clients: &Clients,
    subject: &Subject,
    e: &Expectations,
    written: Written,
    bucket: BucketFacts,
) -> Report {
    let deadline = tokio::time::Instant::now() + READ_BACK;
    let mut delay = std::time::Duration::from_millis(200);
    let why = loop {
        match principal(clients, subject).await {
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
