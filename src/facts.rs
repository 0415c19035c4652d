//! What is known about AWS: the records read from it (roles, policies, users, keys, stacks,
//! the caller, the bucket) and what a plan is made from. Plain data, so that `aws` fills it and
//! `plan` reads it without either knowing the other.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::inputs::{Access, AccountId, KmsKeyArn, Partition, ACCESS_TAG, LOCATION_TAG};

/// What is known about the caller and the bucket. Every field is optional so that
/// `--dry-run` can still plan without credentials.
#[derive(Debug, Clone, Default)]
pub(crate) struct Facts {
    pub(crate) account: Option<AccountId>,
    /// The region the calls go to: where a stack is made (stacks are regional, roles global).
    pub(crate) region: Option<String>,
    pub(crate) partition: Option<Partition>,
    /// The keys of sampled objects that the policy grants beside the bucket's own.
    pub(crate) object_kms_keys: Vec<KmsKeyArn>,
    pub(crate) findings: Vec<String>,
    pub(crate) warnings: Vec<String>,
    /// All that was read about the bucket: its region and default KMS key for the plan, the
    /// rest for the checks after a setup. Without AWS (`--dry-run` without credentials), only
    /// the region, taken to be the configured one.
    pub(crate) bucket: BucketFacts,
}

impl Facts {
    /// What the caller's identity and the bucket's detection tell.
    pub(crate) fn detected(caller: Caller, bucket: BucketFacts) -> Facts {
        let mut findings = vec![format!("caller: {}", caller.arn)];
        findings.extend(bucket.findings.iter().cloned());
        let mut warnings = bucket.warnings.clone();
        warnings.extend(
            bucket
                .customer_keyed_finding()
                .map(|finding| format!("{finding}: {CUSTOMER_KEYED_FIX}")),
        );
        warnings.extend(
            bucket
                .archived_finding()
                .map(|finding| format!("{finding}: {ARCHIVED_FIX}")),
        );
        let mut object_kms_keys = Vec::new();
        for key in &bucket.object_keys {
            match key.use_by(caller.account.as_str()) {
                ObjectKeyUse::Grant(arn) => {
                    findings.push(format!(
                        "{} is encrypted with {arn}, not the bucket's default key: granted too",
                        key.object
                    ));
                    object_kms_keys.push(arn);
                }
                ObjectKeyUse::Usable => findings.push(format!(
                    "{} is encrypted with the AWS-managed key {} of this account: usable through S3, nothing to grant",
                    key.object, key.key
                )),
                ObjectKeyUse::Cannot(why) => {
                    warnings.push(format!("{why}; TiDB Cloud will be refused that object"))
                }
            }
        }
        Facts {
            account: Some(caller.account),
            partition: Some(caller.partition),
            object_kms_keys,
            findings,
            warnings,
            bucket,
            region: None,
        }
    }
}

impl Facts {
    /// The bucket's region, when known.
    pub(crate) fn bucket_region(&self) -> Option<&str> {
        self.bucket.region.as_deref()
    }

    /// The bucket's customer-managed default KMS key, when it has one.
    pub(crate) fn bucket_kms_key(&self) -> Option<&KmsKeyArn> {
        self.bucket.kms_key.as_ref()
    }

    /// The caller's partition, or else the bucket region's.
    pub(crate) fn partition(&self) -> Partition {
        self.partition.unwrap_or_else(|| {
            self.bucket_region()
                .map_or(Partition::Aws, Partition::for_region)
        })
    }

    /// The given keys, the bucket's and its sampled objects', sorted, each once.
    pub(crate) fn kms_keys(&self, given: &[KmsKeyArn]) -> Vec<KmsKeyArn> {
        let mut keys: Vec<KmsKeyArn> = given
            .iter()
            .cloned()
            .chain(self.bucket_kms_key().cloned())
            .chain(self.object_kms_keys.iter().cloned())
            .collect();
        keys.sort();
        keys.dedup();
        keys
    }
}

/// Who is calling: the account that will own what this tool creates.
#[derive(Debug, Clone)]
pub(crate) struct Caller {
    pub(crate) account: AccountId,
    pub(crate) arn: String,
    pub(crate) partition: Partition,
}

/// What was found out about the bucket.
#[derive(Debug, Clone)]
pub(crate) struct BucketFacts {
    /// The bucket's region; `None` when it could not be read.
    pub(crate) region: Option<String>,
    /// The bucket's customer-managed default KMS key, as an ARN.
    pub(crate) kms_key: Option<KmsKeyArn>,
    /// One line each, for the plan: what was found, or why it could not be.
    pub(crate) findings: Vec<String>,
    /// Things the user should know, such as a check that was not allowed.
    pub(crate) warnings: Vec<String>,
    /// The bucket's key, when it is the AWS-managed `aws/s3` key that no other account can use.
    pub(crate) aws_managed_key: Option<String>,
    /// The account of that key, when its ARN or KMS tells; it is the bucket owner's.
    pub(crate) aws_managed_key_account: Option<String>,
    /// Whether the role or user can use that key: it is in the bucket's account. `None` when
    /// not known (see [`BucketFacts::aws_managed_key_usable_by`]).
    pub(crate) aws_managed_key_usable: Option<bool>,
    /// Whether the default encryption could be read at all.
    pub(crate) encryption_known: bool,
    /// The bucket policy, if any; the error when it could not be read.
    pub(crate) policy: Result<Option<Value>, String>,
    /// The Object Ownership setting, if any; the error when it could not be read.
    pub(crate) ownership: Result<Option<String>, String>,
    /// The keys that sampled objects under an import's folder are encrypted with, other than
    /// the bucket's default key, one object named for each.
    pub(crate) object_keys: Vec<ObjectKey>,
    /// Sampled objects under an import's folder that are encrypted with a customer-provided
    /// key (SSE-C), by URI: TiDB Cloud can read none of them.
    pub(crate) customer_keyed: Vec<String>,
    /// Sampled objects under an import's folder that are archived and not restored, by URI,
    /// each with its archive (`DEEP_ARCHIVE`): S3 reads none of them until a copy is restored.
    pub(crate) archived: Vec<(String, String)>,
    /// What is said of an import's folder beyond the keys, if anything: it could not be
    /// listed, it is empty, or S3 refused to describe some of its objects (HeadObject).
    pub(crate) sampling: Option<String>,
}

/// A KMS key that an object under the folder is encrypted with, where it is not the bucket's
/// default: an object copied from another bucket keeps its key. The seed page: "the KMS key
/// value needs to include the keys of both buckets".
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ObjectKey {
    /// An object under it: `s3://bucket/dir/x.csv`.
    pub(crate) object: String,
    /// The key's ARN, as HeadObject gave it.
    pub(crate) key: String,
    /// What DescribeKey said; `None` when it was refused.
    pub(crate) described: Option<KeyDescription>,
}

/// DescribeKey's answer, as far as using a key goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct KeyDescription {
    /// An AWS-managed key (`aws/s3`), which only its own account's principals can use.
    pub(crate) aws_managed: bool,
    /// `Enabled`, `Disabled`, `PendingDeletion`, …
    pub(crate) state: String,
}

/// What a setup does about an [`ObjectKey`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ObjectKeyUse {
    /// A customer-managed key (or one KMS would not describe): granted beside the bucket's.
    Grant(KmsKeyArn),
    /// The AWS-managed key of the principal's own account: usable through S3, nothing to grant.
    Usable,
    /// A key nothing can grant, and why.
    Cannot(String),
}

impl ObjectKey {
    /// Decides what a role or user of `account` needs, or cannot have, of this key: an
    /// AWS-managed key lets only its own account's principals in, and no policy can extend it
    /// (AWS KMS Developer Guide, "AWS managed keys"); a key that is not Enabled decrypts
    /// nothing ("Key states of AWS KMS keys").
    pub(crate) fn use_by(&self, account: &str) -> ObjectKeyUse {
        let key_account = crate::inputs::Arn::parse(&self.key).map(|a| a.account.to_string());
        match &self.described {
            Some(d) if d.aws_managed && key_account.as_deref() == Some(account) => {
                ObjectKeyUse::Usable
            }
            Some(d) if d.aws_managed => ObjectKeyUse::Cannot(format!(
                "{} is encrypted with the AWS-managed key {} of account {}, which no principal of another account can use; copy the objects in place so that they take the bucket's own key",
                self.object,
                self.key,
                key_account.as_deref().unwrap_or("unknown")
            )),
            Some(d) if d.state != "Enabled" => ObjectKeyUse::Cannot(format!(
                "{} is encrypted with {}, which is {}: nothing can decrypt it until the key is enabled",
                self.object, self.key, d.state
            )),
            _ => match self.key.parse::<KmsKeyArn>() {
                Ok(arn) => ObjectKeyUse::Grant(arn),
                Err(e) => ObjectKeyUse::Cannot(format!(
                    "{} is encrypted with {}, which cannot be granted ({e})",
                    self.object, self.key
                )),
            },
        }
    }
}

impl BucketFacts {
    /// What the sampled objects under a customer-provided key (SSE-C) mean, if there are any:
    /// S3 decrypts such an object only for a request that brings its key, and TiDB Cloud is
    /// given none (its setup takes a role or an access key, nothing more). No permission can
    /// change that; copying the objects in place under S3-managed or KMS encryption does.
    pub(crate) fn customer_keyed_finding(&self) -> Option<String> {
        let (first, rest) = self.customer_keyed.split_first()?;
        let which = sampled_are(first, rest.len());
        Some(format!(
            "{which} encrypted with a customer-provided key (SSE-C: HeadObject answered 400 without it), which TiDB Cloud cannot supply, so it is refused every such object whatever it is granted"
        ))
    }

    /// What the sampled archived objects mean, if there are any: S3 answers a read of one with
    /// `InvalidObjectState` until a copy is restored (Amazon S3 API Reference, GetObject),
    /// whoever asks, so TiDB Cloud's import fails on it whatever it is granted.
    pub(crate) fn archived_finding(&self) -> Option<String> {
        let ((first, archive), rest) = self.archived.split_first()?;
        let which = sampled_are(first, rest.len());
        Some(format!(
            "{which} archived ({archive}), and S3 reads no archived object until a copy is restored (InvalidObjectState), so an import fails on it whatever TiDB Cloud is granted"
        ))
    }
}

/// Sampled objects named by the first of them: `s3://b/d/1.csv`, or `s3://b/d/1.csv and 2 more
/// sampled objects`.
pub(crate) fn sampled(first: &str, more: usize) -> String {
    match more {
        0 => first.to_string(),
        1 => format!("{first} and 1 more sampled object"),
        n => format!("{first} and {n} more sampled objects"),
    }
}

/// [`sampled`], with its verb: `… is`, `… are`.
fn sampled_are(first: &str, more: usize) -> String {
    let verb = if more == 0 { "is" } else { "are" };
    format!("{} {verb}", sampled(first, more))
}

/// How to make archived objects readable to TiDB Cloud.
pub(crate) const ARCHIVED_FIX: &str = "restore a copy of each before the import, for as long as the import takes (aws s3api restore-object; S3 Batch Operations for many), or move them out of the folder";

/// How to make objects under a customer-provided key readable to TiDB Cloud.
pub(crate) const CUSTOMER_KEYED_FIX: &str = "copy them in place with SSE-S3 or SSE-KMS encryption (aws s3 cp with --sse-c-copy-source, --sse-c-copy-source-key and --sse), or move them out of the folder";

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
            object_keys: Vec::new(),
            customer_keyed: Vec::new(),
            archived: Vec::new(),
            sampling: None,
        }
    }
}

/// What [`crate::detect::locate`] learnt on the way, for the plan.
#[derive(Debug, Clone, Default)]
pub(crate) struct Located {
    /// The bucket's region, when it was read.
    pub(crate) region: Option<String>,
    /// An import's folder, listed beside HeadBucket (in the bucket's region): its first
    /// objects, or why they could not be listed.
    pub(crate) listed: Option<Result<Vec<String>, String>>,
    /// How the URI was read: `s3://b/in/x.csv is a file (found in the bucket) → access to …`.
    pub(crate) findings: Vec<String>,
    pub(crate) warnings: Vec<String>,
}

impl Located {
    /// Adds what was learnt to the facts the plan shows.
    pub(crate) fn into_facts(self, facts: &mut Facts) {
        facts.findings.splice(0..0, self.findings);
        facts.warnings.extend(self.warnings);
    }
}

/// A role as IAM holds it.
#[derive(Debug, Clone)]
pub(crate) struct RoleInfo {
    pub(crate) arn: String,
    pub(crate) managed: bool,
    /// The decoded trust policy, if it parses.
    pub(crate) trust: Option<Value>,
    /// Seconds since the epoch.
    pub(crate) created: Option<i64>,
    /// The CloudFormation stack that made the role, from the tag its template sets
    /// (`serverless-s3-setup:stack`; CloudFormation itself tags no IAM role).
    pub(crate) stack: Option<String>,
    /// That stack's region (`serverless-s3-setup:region`): stacks are regional, roles global.
    pub(crate) stack_region: Option<String>,
    /// The permissions boundary's ARN, if the role has one.
    pub(crate) boundary: Option<String>,
    pub(crate) tags: Vec<(String, String)>,
    /// Its description, which names the access and the location for a role this tool made
    /// (`template::role_description`), on either method.
    pub(crate) description: Option<String>,
}

/// A customer-managed policy as IAM holds it.
#[derive(Debug, Clone)]
pub(crate) struct PolicyInfo {
    pub(crate) arn: String,
    pub(crate) managed: bool,
    pub(crate) default_version: String,
    /// How many roles, users and groups it is attached to.
    pub(crate) attachments: i32,
    pub(crate) tags: Vec<(String, String)>,
}

/// A user as IAM holds it.
#[derive(Debug, Clone)]
pub(crate) struct UserInfo {
    pub(crate) arn: String,
    /// IAM's unique ID of the user (`AIDA…`): `aws:userid` in its requests.
    pub(crate) user_id: String,
    pub(crate) managed: bool,
    /// The permissions boundary's ARN, if the user has one.
    pub(crate) boundary: Option<String>,
    pub(crate) tags: Vec<(String, String)>,
}

/// A user's credentials that this tool never makes, which IAM requires be deleted before the
/// user: a person added them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct OtherCredentials {
    /// A console password (a login profile).
    pub(crate) password: bool,
    /// The serial numbers of its MFA devices; a virtual device's is its ARN.
    pub(crate) mfa_devices: Vec<String>,
    pub(crate) signing_certificates: Vec<String>,
    pub(crate) ssh_public_keys: Vec<String>,
}

impl OtherCredentials {
    pub(crate) fn is_empty(&self) -> bool {
        self.described().is_empty()
    }

    /// Each one: `a console password`, `MFA device arn:…`, `SSH public key APKA…`.
    pub(crate) fn described(&self) -> Vec<String> {
        let password = self.password.then(|| "a console password".to_string());
        let each = |kind: &str, ids: &[String]| -> Vec<String> {
            ids.iter().map(|id| format!("{kind} {id}")).collect()
        };
        password
            .into_iter()
            .chain(each("MFA device", &self.mfa_devices))
            .chain(each("signing certificate", &self.signing_certificates))
            .chain(each("SSH public key", &self.ssh_public_keys))
            .collect()
    }
}

/// What a role and a user share as they stand in IAM: their ARN, whether this tool made
/// them, the boundary and tags that the guardrails are held against, and what they record
/// of the access and the location they serve.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PrincipalInfo<'a> {
    pub(crate) arn: &'a str,
    pub(crate) managed: bool,
    pub(crate) boundary: Option<&'a str>,
    pub(crate) tags: &'a [(String, String)],
    /// A role's description; users have none.
    pub(crate) description: Option<&'a str>,
}

impl PrincipalInfo<'_> {
    pub(crate) fn tag(&self, key: &str) -> Option<&str> {
        self.tags
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// The access it was made for, from its tag ([`crate::inputs::ACCESS_TAG`]).
    pub(crate) fn access(&self) -> Option<Access> {
        self.tag(ACCESS_TAG)?.parse().ok()
    }

    /// The location it serves, for people: its tag when that holds a URI, else its
    /// description's.
    pub(crate) fn location(&self) -> Option<String> {
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
/// (serverless-s3-setup)` (`template::role_description`), where ACCESS is one word or, for
/// both, `import and export` (earlier versions wrote `both`).
pub(crate) fn described_location(description: &str) -> Option<&str> {
    let rest = description.strip_prefix("Lets TiDB Cloud ")?;
    let at = rest.find(" s3://")?;
    rest[at + 1..].strip_suffix(" (serverless-s3-setup)")
}

impl RoleInfo {
    /// With the description that a read other than GetRole's gave.
    pub(crate) fn described(mut self, description: Option<&str>) -> RoleInfo {
        self.description = description.map(str::to_string);
        self
    }

    pub(crate) fn principal(&self) -> PrincipalInfo<'_> {
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
    pub(crate) fn principal(&self) -> PrincipalInfo<'_> {
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
    pub(crate) id: String,
    pub(crate) status: String,
    /// Seconds since the Unix epoch.
    pub(crate) created: Option<i64>,
}

impl AccessKeyInfo {
    /// "created 3 days ago", for people.
    pub(crate) fn age(&self) -> String {
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
pub(crate) struct StackInfo {
    pub(crate) id: String,
    pub(crate) status: String,
    pub(crate) managed: bool,
    pub(crate) parameters: BTreeMap<String, String>,
    pub(crate) outputs: BTreeMap<String, String>,
    pub(crate) template_tag: Option<String>,
    /// Every stack-level tag, which CloudFormation also puts on the role it makes.
    pub(crate) tags: Vec<(String, String)>,
    /// Why the stack is in its status, when CloudFormation says.
    pub(crate) status_reason: Option<String>,
}

impl StackInfo {
    /// The value of one of its stack-level tags.
    pub(crate) fn tag(&self, key: &str) -> Option<&str> {
        self.tags
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// A parameter the stack was given, when it is not empty.
    pub(crate) fn parameter(&self, key: &str) -> Option<&str> {
        self.parameters
            .get(key)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    /// The folder its role serves, `s3://bucket/dir/`, from its parameters.
    pub(crate) fn folder(&self) -> Option<String> {
        let bucket = self.parameter("BucketName")?;
        Some(crate::inputs::folder_uri(
            bucket,
            self.parameter("ObjectPrefix").unwrap_or(""),
        ))
    }
}
