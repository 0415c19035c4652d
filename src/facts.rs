//! What is known about AWS: the records read from it (roles, policies, users, keys, stacks,
//! the caller, the bucket) and what a plan is made from. Plain data, so that `aws` fills it and
//! `plan` reads it without either knowing the other.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::inputs::{Access, AccountId, KmsKeyArn, Partition, ACCESS_TAG, LOCATION_TAG};

/// What is known about the caller and the bucket. Every field is optional so that
/// `--dry-run` can still plan without credentials.
#[derive(Debug, Clone, Default)]
pub struct Facts {
    pub account: Option<AccountId>,
    /// The region the calls go to: where a stack is made (stacks are regional, roles global).
    pub region: Option<String>,
    pub partition: Option<Partition>,
    pub bucket_region: Option<String>,
    pub detected_kms_key: Option<KmsKeyArn>,
    pub findings: Vec<String>,
    pub warnings: Vec<String>,
    /// All that was read about the bucket, for the checks after a setup.
    pub bucket: Option<BucketFacts>,
}

impl Facts {
    /// What the caller's identity and the bucket's detection tell.
    pub fn detected(caller: Caller, bucket: BucketFacts) -> Facts {
        let mut findings = vec![format!("caller: {}", caller.arn)];
        findings.extend(bucket.findings.iter().cloned());
        Facts {
            account: Some(caller.account),
            partition: Some(caller.partition),
            bucket_region: bucket.region.clone(),
            detected_kms_key: bucket.kms_key.clone(),
            findings,
            warnings: bucket.warnings.clone(),
            bucket: Some(bucket),
            region: None,
        }
    }
}

impl Facts {
    /// The caller's partition, or else the bucket region's.
    pub fn partition(&self) -> Partition {
        self.partition.unwrap_or_else(|| {
            self.bucket_region
                .as_deref()
                .map_or(Partition::Aws, Partition::for_region)
        })
    }

    /// The given keys and the detected one, sorted, each once.
    pub fn kms_keys(&self, given: &[KmsKeyArn]) -> Vec<KmsKeyArn> {
        let mut keys: Vec<KmsKeyArn> = given
            .iter()
            .cloned()
            .chain(self.detected_kms_key.clone())
            .collect();
        keys.sort();
        keys.dedup();
        keys
    }
}

/// Who is calling: the account that will own what this tool creates.
#[derive(Debug, Clone)]
pub struct Caller {
    pub account: AccountId,
    pub arn: String,
    pub partition: Partition,
}

/// What was found out about the bucket.
#[derive(Debug, Clone)]
pub struct BucketFacts {
    /// The bucket's region; `None` when it could not be read.
    pub region: Option<String>,
    /// The bucket's customer-managed default KMS key, as an ARN.
    pub kms_key: Option<KmsKeyArn>,
    /// One line each, for the plan: what was found, or why it could not be.
    pub findings: Vec<String>,
    /// Things the user should know, such as a check that was not allowed.
    pub warnings: Vec<String>,
    /// The bucket's key, when it is the AWS-managed `aws/s3` key that no other account can use.
    pub aws_managed_key: Option<String>,
    /// The account of that key, when its ARN or KMS tells; it is the bucket owner's.
    pub aws_managed_key_account: Option<String>,
    /// Whether the role or user can use that key: it is in the bucket's account. `None` when
    /// not known (see [`BucketFacts::aws_managed_key_usable_by`]).
    pub aws_managed_key_usable: Option<bool>,
    /// Whether the default encryption could be read at all.
    pub encryption_known: bool,
    /// The bucket policy, if any; the error when it could not be read.
    pub policy: Result<Option<Value>, String>,
    /// The Object Ownership setting, if any; the error when it could not be read.
    pub ownership: Result<Option<String>, String>,
}

impl Default for BucketFacts {
    fn default() -> Self {
        BucketFacts {
            region: None,
            kms_key: None,
            findings: Vec::new(),
            warnings: Vec::new(),
            aws_managed_key: None,
            aws_managed_key_account: None,
            aws_managed_key_usable: None,
            encryption_known: false,
            policy: Ok(None),
            ownership: Ok(None),
        }
    }
}

/// What [`crate::detect::locate`] learnt on the way, for the plan.
#[derive(Debug, Clone, Default)]
pub struct Located {
    /// The bucket's region, when it was read.
    pub region: Option<String>,
    /// How the URI was read: `s3://b/in/x.csv is a file (found in the bucket) → access to …`.
    pub findings: Vec<String>,
    pub warnings: Vec<String>,
}

impl Located {
    /// Adds what was learnt to the facts the plan shows.
    pub fn into_facts(self, facts: &mut Facts) {
        facts.findings.splice(0..0, self.findings);
        facts.warnings.extend(self.warnings);
    }
}

/// A role as IAM holds it.
#[derive(Debug, Clone)]
pub struct RoleInfo {
    pub arn: String,
    pub managed: bool,
    /// The decoded trust policy, if it parses.
    pub trust: Option<Value>,
    /// Seconds since the epoch.
    pub created: Option<i64>,
    /// The CloudFormation stack that made the role, from the tag its template sets
    /// (`serverless-s3-setup:stack`; CloudFormation itself tags no IAM role).
    pub stack: Option<String>,
    /// That stack's region (`serverless-s3-setup:region`): stacks are regional, roles global.
    pub stack_region: Option<String>,
    /// The permissions boundary's ARN, if the role has one.
    pub boundary: Option<String>,
    pub tags: Vec<(String, String)>,
    /// Its description, which names the access and the location for a role this tool made
    /// (`template::role_description`), on either method.
    pub description: Option<String>,
}

/// A customer-managed policy as IAM holds it.
#[derive(Debug, Clone)]
pub struct PolicyInfo {
    pub arn: String,
    pub managed: bool,
    pub default_version: String,
    /// How many roles, users and groups it is attached to.
    pub attachments: i32,
    pub tags: Vec<(String, String)>,
}

/// A user as IAM holds it.
#[derive(Debug, Clone)]
pub struct UserInfo {
    pub arn: String,
    /// IAM's unique ID of the user (`AIDA…`): `aws:userid` in its requests.
    pub user_id: String,
    pub managed: bool,
    /// The permissions boundary's ARN, if the user has one.
    pub boundary: Option<String>,
    pub tags: Vec<(String, String)>,
}

/// What a role and a user share as they stand in IAM: their ARN, whether this tool made
/// them, the boundary and tags that the guardrails are held against, and what they record
/// of the access and the location they serve.
#[derive(Debug, Clone, Copy)]
pub struct PrincipalInfo<'a> {
    pub arn: &'a str,
    pub managed: bool,
    pub boundary: Option<&'a str>,
    pub tags: &'a [(String, String)],
    /// A role's description; users have none.
    pub description: Option<&'a str>,
}

impl PrincipalInfo<'_> {
    pub fn tag(&self, key: &str) -> Option<&str> {
        self.tags
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// The access it was made for, from its tag ([`crate::inputs::ACCESS_TAG`]).
    pub fn access(&self) -> Option<Access> {
        self.tag(ACCESS_TAG)?.parse().ok()
    }

    /// The location it serves, for people: its tag when that holds a URI, else its
    /// description's.
    pub fn location(&self) -> Option<String> {
        match self.tag(LOCATION_TAG) {
            Some(tag) if tag.starts_with("s3://") => Some(tag.to_string()),
            _ => described_location(self.description?).map(|uri| {
                if uri.ends_with('/') {
                    uri.to_string()
                } else {
                    format!("{uri}/")
                }
            }),
        }
    }
}

/// `s3://bucket/dir` from a description this tool wrote, as IAM holds it (characters beyond
/// Latin-1 escaped, `policy::description`): `Lets TiDB Cloud ACCESS s3://…
/// (serverless-s3-setup)` (`template::role_description`).
pub fn described_location(description: &str) -> Option<&str> {
    let rest = description.strip_prefix("Lets TiDB Cloud ")?;
    let (_access, rest) = rest.split_once(' ')?;
    rest.strip_suffix(" (serverless-s3-setup)")
        .filter(|uri| uri.starts_with("s3://"))
}

impl RoleInfo {
    pub fn principal(&self) -> PrincipalInfo<'_> {
        PrincipalInfo {
            arn: &self.arn,
            managed: self.managed,
            boundary: self.boundary.as_deref(),
            tags: &self.tags,
            description: self.description.as_deref(),
        }
    }
}

impl UserInfo {
    pub fn principal(&self) -> PrincipalInfo<'_> {
        PrincipalInfo {
            arn: &self.arn,
            managed: self.managed,
            boundary: self.boundary.as_deref(),
            tags: &self.tags,
            description: None,
        }
    }
}

/// One of a user's access keys (never its secret, which IAM returns only at creation).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct AccessKeyInfo {
    pub id: String,
    pub status: String,
    /// Seconds since the Unix epoch.
    pub created: Option<i64>,
}

impl AccessKeyInfo {
    /// "created 3 days ago", for people.
    pub fn age(&self) -> String {
        let Some(created) = self.created else {
            return "created at an unknown time".into();
        };
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64);
        let secs = (now - created).max(0);
        let (n, unit) = match secs {
            s if s < 60 => return "created just now".into(),
            s if s < 3600 => (s / 60, "minute"),
            s if s < 86_400 => (s / 3600, "hour"),
            s => (s / 86_400, "day"),
        };
        format!("created {n} {unit}{} ago", if n == 1 { "" } else { "s" })
    }
}

/// A stack as CloudFormation describes it.
#[derive(Debug, Clone, Default)]
pub struct StackInfo {
    pub id: String,
    pub status: String,
    pub managed: bool,
    pub parameters: BTreeMap<String, String>,
    pub outputs: BTreeMap<String, String>,
    pub template_tag: Option<String>,
    /// Every stack-level tag, which CloudFormation also puts on the role it makes.
    pub tags: Vec<(String, String)>,
    /// Why the stack is in its status, when CloudFormation says.
    pub status_reason: Option<String>,
}
