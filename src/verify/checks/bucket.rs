//! The bucket's side: its KMS key, its bucket policy and its Object Ownership.

use serde_json::json;

use super::permissions::within_boundary;
use super::{required, TidbRequest};
use crate::facts::ObjectKeyUse;
use crate::inputs::{Access, KmsKeyArn};
use crate::policy;
use crate::verify::evaluate::{self, Statement};
use crate::verify::{Check, Evidence, Expectations, KeyFacts, Status, Subject};

/// The bucket's key: an AWS-managed key works only inside the bucket's account; a
/// customer-managed key must be enabled, granted by the identity policy, and let in by its key
/// policy (which either enables IAM policies for the account or names the principal).
pub(super) fn kms_check(
    subject: &Subject,
    e: &Expectations,
    ev: &Evidence,
    who: Option<(&String, &Vec<Statement>)>,
    request: &TidbRequest,
) -> Check {
    let judge = who.map(|(arn, statements)| Judge {
        subject,
        e,
        ev,
        arn,
        statements,
        request,
    });
    let check = bucket_key_check(subject, e, ev, judge.as_ref());
    if check.status != Status::Fail {
        if let Some(finding) = ev.bucket.customer_keyed_finding() {
            return Check::fail("kms", finding, crate::facts::CUSTOMER_KEYED_FIX);
        }
    }
    let Some(judge) = judge else {
        return check;
    };
    if check.status == Status::Fail || ev.bucket.object_keys.is_empty() {
        return check;
    }
    let mut covered = Vec::new();
    for (i, object_key) in ev.bucket.object_keys.iter().enumerate() {
        let key = match object_key.use_by(request.account.as_str()) {
            ObjectKeyUse::Usable => continue,
            ObjectKeyUse::Cannot(why) => {
                return Check::fail(
                    "kms",
                    why,
                    "re-encrypt the objects under a key the role or user can be granted (copy each in place with the bucket's default encryption), or move them out of the folder",
                )
            }
            ObjectKeyUse::Grant(key) => key,
        };
        let facts = ev
            .object_keys
            .get(i)
            .cloned()
            .flatten()
            .unwrap_or_else(KeyFacts::unread);
        let whose = Whose::Object(&object_key.object);
        let judged = judge.customer_key(&key, &facts, whose);
        if judged.status != Status::Pass {
            return judged;
        }
        covered.push(format!("{key} ({})", object_key.object));
    }
    if covered.is_empty() {
        return check;
    }
    Check {
        finding: format!(
            "{}; sampled objects under other keys are covered too: {}",
            check.finding,
            covered.join(", ")
        ),
        ..check
    }
}

/// Whose key is judged: the bucket's default, or the key a sampled object is encrypted with.
#[derive(Clone, Copy)]
enum Whose<'a> {
    Bucket,
    Object(&'a str),
}

impl Whose<'_> {
    /// `the bucket's key K`, or `K (the key of s3://b/o)`.
    fn key(self, key: &KmsKeyArn) -> String {
        match self {
            Whose::Bucket => format!("the bucket's key {key}"),
            Whose::Object(object) => format!("{key} (the key of {object})"),
        }
    }

    /// `the bucket is encrypted with K`, or `s3://b/o is encrypted with K`.
    fn encrypted(self, key: &KmsKeyArn) -> String {
        match self {
            Whose::Bucket => format!("the bucket is encrypted with {key}"),
            Whose::Object(object) => format!("{object} is encrypted with {key}"),
        }
    }
}

/// The bucket's default key.
fn bucket_key_check(
    subject: &Subject,
    e: &Expectations,
    ev: &Evidence,
    judge: Option<&Judge<'_>>,
) -> Check {
    let bucket = e.location.bucket();
    if let Some(key) = &ev.bucket.aws_managed_key {
        return aws_managed(subject, bucket, key, ev.bucket.aws_managed_key_usable);
    }
    let Some(key) = &ev.bucket.kms_key else {
        return if !ev.bucket.encryption_known {
            Check::warn(
                "kms",
                "the bucket's default encryption could not be read (s3:GetEncryptionConfiguration)",
                Some(
                    "if it uses SSE-KMS, make sure the policy grants kms:Decrypt on its key".into(),
                ),
            )
        } else {
            Check::pass(
                "kms",
                "no customer-managed KMS key to grant (SSE-S3 or none)",
            )
        };
    };
    let Some(judge) = judge else {
        return Check::warn(
            "kms",
            format!("the bucket's key is {key}; not checked, since the principal does not exist"),
            None,
        );
    };
    let facts = ev.key.clone().unwrap_or_else(KeyFacts::unread);
    judge.customer_key(key, &facts, Whose::Bucket)
}

/// What a customer-managed key is judged against: the principal, its statements and
/// TiDB Cloud's request.
struct Judge<'a> {
    subject: &'a Subject,
    e: &'a Expectations,
    ev: &'a Evidence,
    arn: &'a str,
    statements: &'a [Statement],
    request: &'a TidbRequest,
}

impl Judge<'_> {
    /// A customer-managed key: enabled, allowed by the identity policy (or a grant) within the
    /// boundary, and let in by its key policy.
    fn customer_key(&self, key: &KmsKeyArn, facts: &KeyFacts, whose: Whose<'_>) -> Check {
        let Judge {
            subject,
            e,
            ev,
            arn,
            statements,
            request,
        } = *self;
        if let Some(unusable) = unusable_key(key, facts.state.as_deref(), whose) {
            return unusable;
        }
        let by_grant = granted(facts, arn, e.access);
        let lacking: Vec<&str> = policy::kms_actions(e.access)
            .into_iter()
            .filter(|a| !by_grant.iter().any(|(action, _)| action == a))
            .filter(|a| {
                !request.decide(statements, a, key.as_str(), None).allowed()
                    || within_boundary(ev, a, key.as_str(), request).is_some()
            })
            .collect();
        if !lacking.is_empty() {
            return Check::fail(
                "kms",
                format!(
                    "{}, but {} lacks {} on it",
                    whose.encrypted(key),
                    subject.label(),
                    lacking.join(" and ")
                ),
                format!(
                    "add this statement to its policy: {} (or rerun with --kms-key {key})",
                    json!({"Effect": "Allow", "Action": policy::kms_actions(e.access), "Resource": key.as_str()})
                ),
            );
        }
        let check = self.key_policy(key, facts, &by_grant, whose);
        match (check.status, by_grant.is_empty()) {
            (Status::Pass, false) => {
                let through: Vec<String> = by_grant
                    .iter()
                    .map(|(action, id)| format!("{action} through grant {id}"))
                    .collect();
                Check::pass("kms", format!("{}; {}", check.finding, through.join(", ")))
            }
            _ => check,
        }
    }

    /// The key policy must let the principal in: through the account's IAM policies (the
    /// default statement) or by name; a key of another account must name it.
    fn key_policy(
        &self,
        key: &KmsKeyArn,
        facts: &KeyFacts,
        by_grant: &[(&str, String)],
        whose: Whose<'_>,
    ) -> Check {
        let Judge {
            subject,
            arn,
            request,
            ..
        } = *self;
        let access = self.e.access;
        let named = whose.key(key);
        let account = request.account.as_str();
        let key_account = facts
            .account
            .clone()
            .unwrap_or_else(|| key.account().to_string());
        match &facts.policy {
        Ok(Some(doc)) => {
            let key_statements = evaluate::statements(doc);
            let refused: Vec<&str> = policy::kms_actions(access)
                .into_iter()
                .filter(|a| !by_grant.iter().any(|(action, _)| action == a))
                .filter(|a| !request.decide(&key_statements, a, key.as_str(), Some((arn, account))).allowed())
                .collect();
            if !refused.is_empty() {
                return Check::fail(
                    "kms",
                    format!("the key policy of {key} lets {} use neither its IAM policy nor {} itself", subject.label(), refused.join(" and ")),
                    format!(
                        "add to the key policy: {}",
                        json!({"Sid": "AllowTiDBCloudAccess", "Effect": "Allow", "Principal": {"AWS": arn}, "Action": policy::kms_actions(access), "Resource": "*"})
                    ),
                );
            }
            Check::pass("kms", format!("{named} is enabled, granted, and its key policy lets {} in", subject.label()))
        }
        Ok(None) | Err(_) if key_account != account => Check::warn(
            "kms",
            format!("{named} is in account {key_account}, not {account}; its key policy must name {arn}, and it could not be read here"),
            Some(format!("ask the key's owner to add {arn} to the key policy with {}", policy::kms_actions(access).join(", "))),
        ),
        Ok(None) => Check::pass("kms", format!("{named} is granted")),
        Err(why) => Check::warn(
            "kms",
            format!("{named} is granted, but its key policy could not be read ({why})"),
            Some("make sure the key policy enables IAM policies for the account (the default \"Enable IAM User Permissions\" statement) or names the role or user".into()),
        ),
    }
    }
}

/// The key's actions that a grant gives the principal, with the grant: a grant lets its
/// grantee use the key whatever the key policy and IAM policies say ("Grants in AWS KMS", AWS
/// KMS Developer Guide). One limited to an encryption context is not counted: S3 names each
/// object in its context, which such a limit may or may not cover.
fn granted(facts: &KeyFacts, arn: &str, access: Access) -> Vec<(&'static str, String)> {
    policy::kms_actions(access)
        .into_iter()
        .filter_map(|action| {
            let operation = action.trim_start_matches("kms:");
            facts
                .grants
                .iter()
                .find(|g| {
                    g.grantee == arn
                        && !g.constrained
                        && g.operations.iter().any(|o| o == operation)
                })
                .map(|g| (action, g.id.clone()))
        })
        .collect()
}

/// The AWS-managed key (`aws/s3`) is usable only by principals of the bucket's own account.
fn aws_managed(subject: &Subject, bucket: &str, key: &str, usable: Option<bool>) -> Check {
    match usable {
            Some(true) => Check::pass(
                "kms",
                format!("bucket {bucket} uses the AWS-managed key {key}, which principals of the bucket's own account, {} among them, can use through S3", subject.label()),
            ),
            Some(false) => Check::fail(
                "kms",
                format!("bucket {bucket} is encrypted with the AWS-managed key {key} of another account, which {} can never use", subject.label()),
                "switch the bucket's default encryption to a customer-managed KMS key whose key policy names the role or user (then grant it), or to SSE-S3",
            ),
            None => Check::warn(
                "kms",
                format!("bucket {bucket} uses the AWS-managed key {key}, which only principals of the bucket's own account can use; whether {} is in that account could not be read", subject.label()),
                Some("make sure the role or user is in the bucket's account".into()),
            ),
        }
}

/// A key that is not Enabled is refused whatever grants it.
fn unusable_key(key: &KmsKeyArn, state: Option<&str>, whose: Whose<'_>) -> Option<Check> {
    let named = whose.key(key);
    match state {
        Some("Disabled") => Some(Check::fail(
            "kms",
            format!("{named} is disabled, so nothing can decrypt or encrypt with it"),
            format!("aws kms enable-key --key-id {key}"),
        )),
        Some("PendingDeletion") => Some(Check::fail(
            "kms",
            format!("{named} is scheduled for deletion and unusable"),
            format!(
                "aws kms cancel-key-deletion --key-id {key} && aws kms enable-key --key-id {key}"
            ),
        )),
        Some(state) if state != "Enabled" => Some(Check::fail(
            "kms",
            format!("{named} is {state}, not Enabled"),
            format!(
                "make {key} usable again (AWS KMS Developer Guide, \"Key states of AWS KMS keys\")"
            ),
        )),
        _ => None,
    }
}

pub(super) fn bucket_checks(
    subject: &Subject,
    e: &Expectations,
    ev: &Evidence,
    who: Option<(&String, &Vec<Statement>)>,
    request: &TidbRequest,
) -> Vec<Check> {
    let bucket = e.location.bucket();
    let mut out = Vec::new();

    // KMS
    out.push(kms_check(subject, e, ev, who, request));

    out.extend(objects_check(&ev.bucket));

    // Bucket policy
    out.push(match (&ev.bucket.policy, who) {
        (Err(reason), _) => Check::warn("bucket-policy", format!("the bucket policy could not be read: {reason}"), None),
        (Ok(None), _) => Check::pass("bucket-policy", format!("bucket {bucket} has no bucket policy")),
        (Ok(Some(_)), None) => Check::warn("bucket-policy", "not checked, since the principal does not exist", None),
        (Ok(Some(doc)), Some((arn, _))) => {
            let statements = evaluate::statements(doc);
            let account = request.account.as_str();
            let mut hard = Vec::new();
            let mut soft = Vec::new();
            for (action, resource) in required(ev.partition, e, None) {
                let context = request.context(&action);
                let name = |sid: Option<String>| sid.map_or_else(|| "a Deny statement".to_string(), |s| format!("statement {s}"));
                match evaluate::denial(&statements, &action, &resource, Some((arn, account)), Some(&context)) {
                    Some(evaluate::Denial::Certain(sid)) => {
                        hard.push(format!("{} denies {action} on {resource}", name(sid)))
                    }
                    Some(evaluate::Denial::Possible(sid, keys)) => soft.push(format!(
                        "{} denies {action} on {resource} depending on {}",
                        name(sid),
                        keys.join(", ")
                    )),
                    None => {}
                }
            }
            if !hard.is_empty() {
                Check::fail(
                    "bucket-policy",
                    format!("the bucket policy of {bucket}: {}", hard.join("; ")),
                    format!("remove or narrow that Deny (an explicit Deny beats any Allow): `aws s3api get-bucket-policy --bucket {bucket}`"),
                )
            } else if !soft.is_empty() {
                Check::warn(
                    "bucket-policy",
                    format!("the bucket policy of {bucket} has conditional Denies: {}", soft.join("; ")),
                    Some("make sure their conditions never hold for TiDB Cloud's requests".into()),
                )
            } else {
                Check::pass("bucket-policy", format!("the bucket policy of {bucket} denies none of the needed actions"))
            }
        }
    });

    // Object Ownership
    out.push(match &ev.bucket.ownership {
        Ok(Some(o)) if o == "BucketOwnerEnforced" => {
            Check::pass("object-ownership", "Object Ownership is \"Bucket owner enforced\"")
        }
        Ok(other) => Check::warn(
            "object-ownership",
            format!(
                "Object Ownership is {}, so objects written by another account stay that account's and may be unreadable",
                other.as_deref().map_or_else(|| "not set".to_string(), |o| format!("{o:?}"))
            ),
            Some(format!(
                "aws s3api put-bucket-ownership-controls --bucket {bucket} --ownership-controls 'Rules=[{{ObjectOwnership=BucketOwnerEnforced}}]'"
            )),
        ),
        Err(reason) => Check::warn("object-ownership", format!("Object Ownership could not be read: {reason}"), None),
    });
    out
}

/// What the sampling of an import's objects found beyond their keys, if anything: archived
/// objects fail (S3 reads them for nobody until a copy is restored); a folder that is empty or
/// could not be listed, and objects S3 refused to describe, are a warning (another account's,
/// or denied by the bucket policy, or a caller without `s3:GetObject`: this cannot tell which).
fn objects_check(bucket: &crate::facts::BucketFacts) -> Option<Check> {
    let said = bucket.sampling.as_deref();
    match (bucket.archived_finding(), said) {
        (Some(archived), said) => {
            let finding = match said {
                Some(said) => format!("{archived}; also, {said}"),
                None => archived,
            };
            Some(Check::fail("objects", finding, crate::facts::ARCHIVED_FIX))
        }
        (None, Some(said)) => Some(Check::warn("objects", said, None)),
        (None, None) => None,
    }
}
