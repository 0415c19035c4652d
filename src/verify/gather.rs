//! Reads what AWS holds of the role or user, its policies and the bucket, for the checks.

use futures_util::future::join_all;
use serde_json::{json, Value};

use crate::aws::iam::{self, Holder};
use crate::aws::Clients;
use crate::detect;
use crate::error::Error;
use crate::facts::BucketFacts;
use crate::inputs::{Arn, Partition, Who};
use crate::verify::{Evidence, Expectations, KeyFacts, Subject};

/// What IAM holds of the role or user: the same reads for `verify` and for the checks after
/// a setup.
#[derive(Debug, Clone, Default)]
pub(super) struct Principal {
    pub(super) arn: Option<String>,
    pub(super) created: Option<i64>,
    pub(super) trust: Option<Value>,
    pub(super) policies: Vec<(String, Value)>,
    pub(super) boundary: Option<(String, Value)>,
    /// The boundary's ARN, even when its document could not be read.
    pub(super) boundary_arn: Option<String>,
    pub(super) tags: Vec<(String, String)>,
    pub(super) user_id: Option<String>,
}

impl Principal {
    /// The evidence of what IAM holds of the principal, beside the bucket as read.
    pub(super) fn evidence(self, partition: Partition, bucket: BucketFacts) -> Evidence {
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
pub(super) async fn principal(
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
        clients.managed_documents(&other_managed),
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
    policies.extend(labelled(managed?));
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

/// Managed policies' documents by ARN, labelled as the checks name them.
fn labelled(docs: Vec<(String, Value)>) -> Vec<(String, Value)> {
    docs.into_iter()
        .map(|(arn, doc)| (format!("policy {arn}"), doc))
        .collect()
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
    let mut docs = labelled(clients.managed_documents(&arns?).await?);
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
        let mut bucket = detect::bucket(
            clients,
            &e.location,
            &crate::facts::Located::default(),
            &[],
            true,
            e.access.reads(),
        )
        .await?;
        // An AWS-managed key is judged by its account alone: nothing of it to read.
        let object_keys = bucket.object_keys.iter().map(|k| async move {
            let aws_managed = k.described.as_ref().is_some_and(|d| d.aws_managed);
            match k.key.parse::<crate::inputs::KmsKeyArn>() {
                Ok(arn) if !aws_managed => Some(key_facts(clients, &arn).await),
                _ => None,
            }
        });
        let (usable, owned, key, object_keys) = tokio::join!(
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
            },
            join_all(object_keys)
        );
        bucket.aws_managed_key_usable = usable;
        Ok::<_, Error>((bucket, owned, (key, object_keys)))
    };
    let nothing_known = Expected::default();
    let (bucket, principal) =
        tokio::join!(bucket_branch, principal(clients, subject, &nothing_known));
    let principal = principal?;
    let principal_arn = principal.arn.clone();
    let (mut bucket, mut bucket_in_account, (key, object_keys)) = bucket?;
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
        object_keys,
        bucket_in_account,
        ..principal.evidence(partition, bucket)
    })
}

/// Whether `account` owns the bucket: within it, the bucket policy may grant on its own; in
/// another account, it must grant too. `None` when not answered.
async fn owned_by(
    clients: &Clients,
    bucket: &BucketFacts,
    e: &Expectations,
    account: Option<&str>,
) -> Option<bool> {
    let account = account?;
    let s3 = clients.s3_in(bucket.region.as_deref().unwrap_or_else(|| clients.region()));
    crate::aws::s3::owned_by(&s3, e.location.bucket(), account)
        .await
        .ok()
        .flatten()
}

/// The permissions boundary's document, labelled with its ARN.
pub(crate) async fn boundary_document(
    clients: &Clients,
    arn: Option<&str>,
) -> Result<Option<(String, Value)>, Error> {
    let Some(arn) = arn else {
        return Ok(None);
    };
    let docs = clients.managed_documents(&[arn.to_string()]).await?;
    Ok(Some(docs.into_iter().next().map_or_else(
        // A boundary that cannot be read allows nothing that can be shown to be allowed.
        || (arn.to_string(), json!({"Statement": []})),
        |(_, doc)| (arn.to_string(), doc),
    )))
}

/// DescribeKey, GetKeyPolicy and ListGrants, together; a refusal of any is noted, not fatal.
async fn key_facts(clients: &Clients, key: &crate::inputs::KmsKeyArn) -> KeyFacts {
    let kms = clients.kms_in(key.region());
    let (described, policy, grants) = tokio::join!(
        crate::aws::kms::describe_key(&kms, key.as_str()),
        crate::aws::kms::key_policy(&kms, key.as_str()),
        crate::aws::kms::grants(&kms, key.as_str())
    );
    let described = described.ok();
    KeyFacts {
        state: described.as_ref().map(|d| d.state.clone()),
        account: described.map(|d| d.account).filter(|a| !a.is_empty()),
        policy: policy.map_err(|e| e.to_string().lines().next().unwrap_or_default().to_string()),
        // Only a way in more: not being allowed to list them hides no refusal.
        grants: grants.unwrap_or_default(),
    }
}
