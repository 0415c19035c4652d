//! Reads what AWS holds of the role or user, its policies and the bucket, for the checks.

use futures_util::future::join_all;
use serde_json::{json, Value};

use crate::aws::iam::{self, Holder};
use crate::aws::Clients;
use crate::detect;
use crate::error::Error;
use crate::facts::BucketFacts;
use crate::inputs::{Arn, Partition, RoleName, Who};
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

/// What a run knows already of a principal's policies: each is read in the same round as the
/// principal itself, so that reading it back takes one round; anything else found attached is
/// read after.
#[derive(Debug, Clone, Default)]
pub(crate) struct Expected {
    /// Managed policies, by ARN, with their default version.
    pub(crate) managed: Vec<(String, String)>,
    /// Inline policies, by name.
    pub(crate) inline: Vec<String>,
}

/// Reads the principal and every policy that applies to it; an empty `Principal` when it does
/// not exist. The principal, its policy lists and what `expected` names go out together.
async fn principal(
    clients: &Clients,
    subject: &Subject,
    expected: &Expected,
) -> Result<Principal, Error> {
    let holder = Holder::Principal(&subject.who);
    let client = &clients.iam;
    let known_managed = join_all(
        expected
            .managed
            .iter()
            .map(|(arn, version)| iam::policy_document(client, arn, version)),
    );
    let known_inline = join_all(
        expected
            .inline
            .iter()
            .map(|policy| iam::inline_policy(client, holder, policy)),
    );
    let (who, attached, inline, groups, known_managed, known_inline) = tokio::join!(
        read_principal(clients, subject),
        iam::attached_policies(client, holder),
        iam::inline_policy_names(client, holder),
        async {
            match &subject.who {
                Who::User(name) => iam::groups_for_user(client, name.as_str()).await,
                Who::Role(_) => Ok(Vec::new()),
            }
        },
        known_managed,
        known_inline,
    );
    let Some(mut p) = who? else {
        return Ok(Principal::default());
    };
    let (attached, inline, groups) = (attached?, inline?, groups?);
    // What was expected and read already; a failed guess is simply read again below.
    let (known, other_managed) = known_and_others(
        expected.managed.iter().map(|(arn, _)| arn),
        known_managed,
        &attached,
    );
    let (known_inline, other_inline) =
        known_and_others(expected.inline.iter(), known_inline, &inline);
    let (managed, inline_docs, group_docs, boundary) = tokio::join!(
        iam::managed_documents(client, &other_managed),
        join_all(
            other_inline
                .iter()
                .map(|policy| iam::inline_policy(client, holder, policy))
        ),
        join_all(groups.iter().map(|group| group_documents(clients, group))),
        boundary_document(clients, p.boundary_arn.as_deref())
    );
    let mut policies: Vec<(String, Value)> = known
        .into_iter()
        .map(|(arn, doc)| (format!("policy {arn}"), doc))
        .collect();
    policies.extend(managed?);
    policies.extend(
        known_inline
            .into_iter()
            .map(|(policy, doc)| (format!("inline policy {policy}"), doc)),
    );
    for (policy, doc) in other_inline.iter().zip(inline_docs) {
        if let Some(doc) = doc? {
            policies.push((format!("inline policy {policy}"), doc));
        }
    }
    for docs in group_docs {
        policies.extend(docs?);
    }
    p.policies = policies;
    p.boundary = boundary?;
    Ok(p)
}

/// Of the policies `present`, those whose `expected` document was `read` already, and the
/// others, to read now.
fn known_and_others<'a, E>(
    expected: impl Iterator<Item = &'a String>,
    read: Vec<Result<Option<Value>, E>>,
    present: &[String],
) -> (Vec<(String, Value)>, Vec<String>) {
    let known: Vec<(String, Value)> = expected
        .zip(read)
        .filter_map(|(name, doc)| Some((name.clone(), doc.ok()??)))
        .filter(|(name, _)| present.contains(name))
        .collect();
    let others = present
        .iter()
        .filter(|name| !known.iter().any(|(k, _)| k == *name))
        .cloned()
        .collect();
    (known, others)
}

/// The role or user itself, without its policies.
async fn read_principal(clients: &Clients, subject: &Subject) -> Result<Option<Principal>, Error> {
    Ok(match &subject.who {
        Who::Role(name) => iam::get_role(&clients.iam, name.as_str())
            .await?
            .map(|role| Principal {
                arn: Some(role.arn),
                created: role.created,
                trust: role.trust,
                boundary_arn: role.boundary,
                tags: role.tags,
                ..Principal::default()
            }),
        Who::User(name) => iam::get_user(&clients.iam, name.as_str())
            .await?
            .map(|user| Principal {
                arn: Some(user.arn),
                boundary_arn: user.boundary,
                tags: user.tags,
                user_id: Some(user.user_id),
                ..Principal::default()
            }),
    })
}

/// A group's attached and inline policies, labelled as the checks name them.
async fn group_documents(clients: &Clients, group: &str) -> Result<Vec<(String, Value)>, Error> {
    let (arns, inline) = tokio::join!(
        iam::attached_group_policies(&clients.iam, group),
        iam::inline_documents(&clients.iam, Holder::Group(group))
    );
    let mut docs = iam::managed_documents(&clients.iam, &arns?).await?;
    docs.extend(inline?);
    Ok(docs)
}

/// Reads everything the checks judge: the principal, its policies, the bucket and its key. Two
/// branches go side by side, each as deep as its own data needs: the principal (itself and its
/// policy lists, then the documents), and the bucket (its region, then its encryption, policy
/// and ownership, then the key's state and policy, and whether the principal's account owns
/// it, which a role's ARN tells before it is read).
pub(crate) async fn gather(
    clients: &Clients,
    subject: &Subject,
    e: &Expectations,
) -> Result<Evidence, Error> {
    let given_account = subject
        .role_arn()
        .and_then(Arn::parse)
        .map(|a| a.account.to_string());
    let bucket_branch = async {
        let mut bucket = detect::bucket(clients, &e.location, None, &[], true, false).await?;
        let (usable, owned, key) = tokio::join!(
            async {
                match &given_account {
                    Some(account) => {
                        bucket
                            .aws_managed_key_usable_by(clients, e.location.bucket(), account)
                            .await
                    }
                    None => None,
                }
            },
            owned_by(clients, &bucket, e, given_account.as_deref()),
            async {
                match &bucket.kms_key {
                    Some(key) => Some(key_facts(clients, key).await),
                    None => None,
                }
            }
        );
        bucket.aws_managed_key_usable = usable;
        Ok::<_, Error>((bucket, owned, key))
    };
    let nothing_known = Expected::default();
    let (bucket, principal) =
        tokio::join!(bucket_branch, principal(clients, subject, &nothing_known));
    let principal = principal?;
    let principal_arn = principal.arn.clone();
    let (mut bucket, mut bucket_in_account, key) = bucket?;
    let parsed = principal_arn.as_deref().and_then(Arn::parse);
    let partition = parsed
        .and_then(|arn| arn.known_partition())
        .unwrap_or_else(|| Partition::for_region(clients.region()));
    let account = parsed.map_or("", |arn| arn.account).to_string();
    // A user's account is known once the user is read.
    if given_account.is_none() && principal_arn.is_some() {
        let (usable, owned) = tokio::join!(
            bucket.aws_managed_key_usable_by(clients, e.location.bucket(), &account),
            owned_by(clients, &bucket, e, Some(&account))
        );
        bucket.aws_managed_key_usable = usable;
        bucket_in_account = owned;
    }
    if principal_arn.is_none() {
        bucket_in_account = None;
    }
    Ok(Evidence {
        key,
        bucket_in_account,
        ..principal.evidence(partition, bucket)
    })
}

/// Whether `account` owns the bucket, asked only when the bucket has a policy (which counts
/// within the bucket's own account only); `None` when not asked or not answered.
async fn owned_by(
    clients: &Clients,
    bucket: &BucketFacts,
    e: &Expectations,
    account: Option<&str>,
) -> Option<bool> {
    let account = account?;
    if !matches!(bucket.policy, Ok(Some(_))) {
        return None;
    }
    let s3 = clients.s3_in(bucket.region.as_deref().unwrap_or_else(|| clients.region()));
    crate::aws::s3::owned_by(&s3, e.location.bucket(), account)
        .await
        .ok()
}

/// The permissions boundary's document, labelled with its ARN.
pub(crate) async fn boundary_document(
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

/// The checks after a setup, on what AWS now holds: the role or user and its policies read
/// back as `verify` reads them; the bucket as this run read it. IAM shows what was just
/// written after a delay ("Changes that I make are not always immediately visible", IAM User
/// Guide, Troubleshooting IAM), so the reads are repeated with a backoff until they show the
/// written trust and policy, within `READ_BACK`. If AWS has not shown them by then, the
/// written documents are checked instead and a warning says so: never a claim without AWS's
/// answer. (IAM's policy simulator is left to `verify`; it only ever confirms.)
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
        let who = Who::Role(name.clone());
        let (inline, boundary) = tokio::join!(
            iam::inline_policies(&clients.iam, Holder::Principal(&who)),
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
        self.managed = iam::managed_documents(&clients.iam, &others)
            .await?
            .into_iter()
            .map(|(label, doc)| (label.trim_start_matches("policy ").to_string(), doc))
            .collect();
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
