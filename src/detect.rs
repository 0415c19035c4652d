//! What can be learned about the bucket before planning: its region and its encryption key.

use crate::aws::s3::{DefaultEncryption, ObjectEncryption};
use crate::aws::{kms, s3, Clients};
use crate::error::Error;
use crate::facts::{BucketFacts, KeyDescription, Located, ObjectKey};
use crate::inputs::{Arn, KmsKeyArn, S3Location};
use futures_util::future::join_all;

fn first_line(e: &crate::error::AwsError) -> String {
    e.to_string().lines().next().unwrap_or_default().to_string()
}

impl BucketFacts {
    /// Whether principals of `account` can use the bucket's AWS-managed key: the key policy of
    /// `aws/s3` lets every principal of the key's own account use it through S3
    /// (`kms:CallerAccount` and `kms:ViaService`), and nothing can extend it to another
    /// account (AWS KMS Developer Guide, "AWS managed keys"). The key is the bucket owner's,
    /// so this asks whether `account` owns the bucket. `None` when that cannot be told.
    pub(crate) async fn aws_managed_key_usable_by(
        &self,
        clients: &Clients,
        bucket: &str,
        account: &str,
    ) -> Option<bool> {
        self.aws_managed_key.as_ref()?;
        if let Some(owner) = &self.aws_managed_key_account {
            return Some(owner == account);
        }
        let s3 = clients.s3_in(self.region.as_deref().unwrap_or_else(|| clients.region()));
        s3::owned_by(&s3, bucket, account).await.ok().flatten()
    }

    /// Goes on with an AWS-managed key when the role or user will be in the bucket's account,
    /// with a note; stops, before any change, when the bucket belongs to another account.
    pub(crate) async fn settle_aws_managed_key(
        &mut self,
        clients: &Clients,
        bucket: &str,
        account: &str,
    ) -> Result<(), Error> {
        let Some(key) = self.aws_managed_key.clone() else {
            return Ok(());
        };
        self.aws_managed_key_usable = self
            .aws_managed_key_usable_by(clients, bucket, account)
            .await;
        match self.aws_managed_key_usable {
            Some(true) => self.findings.push(format!(
                "default encryption: SSE-KMS with the AWS-managed key {key} of this account ({account}); AWS KMS lets this account's principals use it through S3, so no KMS grant is needed"
            )),
            Some(false) => {
                return Err(Error::AwsManagedKey {
                    bucket: bucket.into(),
                    key,
                    account: account.into(),
                })
            }
            None => self.warnings.push(format!(
                "bucket `{bucket}` uses the AWS-managed key {key}, which only principals of the bucket's own account can use; this could not confirm that account {account} owns the bucket (S3 refused HeadBucket with and without ExpectedBucketOwner, as it does a caller without s3:ListBucket, so a refusal could not be told from another owner)"
            )),
        }
        Ok(())
    }
}

/// The account in a KMS ARN (`arn:aws:kms:REGION:ACCOUNT:key/…` or `…:alias/aws/s3`).
fn arn_account(key: &str) -> Option<String> {
    let account = Arn::parse(key)?.account;
    (account.len() == 12).then(|| account.to_string())
}

/// Reads the bucket's region, then its default encryption, then resolves its key to an ARN.
/// `extra_keys` are the `--kms-key` values: with them, an unreadable key is a warning, not a stop.
/// With `checks`, the bucket policy and Object Ownership are read too, for the checks after a
/// setup; a dry run, which runs no checks, leaves them out.
/// `located` holds the bucket's region when [`locate`] or `find` already read it, and an
/// import folder's listing made beside it.
pub(crate) async fn bucket(
    clients: &Clients,
    location: &S3Location,
    located: &Located,
    extra_keys: &[KmsKeyArn],
    checks: bool,
    imports: bool,
) -> Result<BucketFacts, Error> {
    let bucket = location.bucket();
    let mut facts = BucketFacts::default();
    let (region, early) = match &located.region {
        Some(region) => (region.clone(), located.listed.clone()),
        None => located_now(clients, location, imports, &mut facts.warnings).await?,
    };
    facts
        .findings
        .push(format!("bucket `{bucket}` is in {region}"));
    facts.region = Some(region.clone());

    let s3 = clients.s3_in(&region);
    // The bucket policy and Object Ownership only inform the checks after a setup; a failure
    // to read them is a finding, not a stop.
    let (encryption, policy, ownership, sampled) = tokio::join!(
        clients.bucket_encryption(&s3, bucket),
        async {
            if checks {
                clients.bucket_policy(&s3, bucket).await
            } else {
                Ok(None)
            }
        },
        async {
            if checks {
                clients.object_ownership(&s3, bucket).await
            } else {
                Ok(None)
            }
        },
        async {
            if imports {
                sample(clients, &s3, location, early, &mut facts.warnings).await
            } else {
                Sampled::default()
            }
        }
    );
    facts.customer_keyed = sampled.customer_keyed;
    facts.archived = sampled.archived;
    facts.sampling = sampled.said;
    let sampled = sampled.kms;
    facts.policy = policy.map_err(|e| first_line(&e));
    facts.ownership = ownership.map_err(|e| first_line(&e));
    let encryption = match encryption {
        Ok(enc) => enc,
        Err(e) if e.is_unreadable() => {
            let why = if e.is_access_denied() {
                "s3:GetEncryptionConfiguration was denied".to_string()
            } else {
                format!(
                    "S3 answered {} from {region}",
                    e.code.as_deref().unwrap_or("a redirect")
                )
            };
            facts.warnings.push(format!(
                "could not read the default encryption of bucket `{bucket}` ({why}); if it uses SSE-KMS, pass its key with --kms-key"
            ));
            // The objects still tell the keys they are under: each is granted.
            facts.object_keys = object_keys(clients, &facts, sampled).await;
            return Ok(facts);
        }
        Err(e) => return Err(e.into()),
    };
    facts.encryption_known = true;
    record_key(clients, &region, encryption, extra_keys, &mut facts).await?;
    facts.object_keys = object_keys(clients, &facts, sampled).await;
    Ok(facts)
}

/// The bucket's region, read now, and an import's folder listed beside it (see
/// `Clients::objects_early`).
pub(crate) async fn located_now(
    clients: &Clients,
    location: &S3Location,
    imports: bool,
    warnings: &mut Vec<String>,
) -> Result<(String, Option<Result<Vec<String>, String>>), Error> {
    let bucket = location.bucket();
    let early = async {
        if imports {
            clients.objects_early(bucket, location.prefix()).await
        } else {
            None
        }
    };
    let (region, early) = tokio::join!(region_or_assumed(clients, bucket, warnings), early);
    let region = region?;
    let early = listed_in(early, &region);
    Ok((region, early))
}

/// A listing made before the bucket's region was known, kept when it was made in `region`
/// (elsewhere S3 answers with a redirect, or not at all).
fn listed_in(
    early: Option<(String, Result<Vec<String>, crate::error::AwsError>)>,
    region: &str,
) -> Option<Result<Vec<String>, String>> {
    let (asked_in, listed) = early?;
    (asked_in == region).then(|| listed.map_err(|e| first_line(&e)))
}

/// Lists the first objects under an import's folder (or takes the listing made `early`),
/// warning when there are none (an empty
/// folder, or a mistyped one: only a warning, as the data may come later), and asks each for
/// how it is encrypted ([`s3::SAMPLED`] HeadObjects at once). Objects that could not be
/// read are named in one warning ([`unread_warning`]); the others still count.
async fn sample(
    clients: &Clients,
    s3: &aws_sdk_s3::Client,
    location: &S3Location,
    early: Option<Result<Vec<String>, String>>,
    warnings: &mut Vec<String>,
) -> Sampled {
    let bucket = location.bucket();
    let dir = crate::inputs::folder_uri(bucket, location.prefix());
    let listed = match early {
        Some(listed) => listed,
        None => clients
            .objects(s3, bucket, location.prefix())
            .await
            .map_err(|e| first_line(&e)),
    };
    let objects = match listed {
        Ok(objects) => objects,
        Err(why) => {
            let said =
                format!("could not list {dir} to see whether it holds anything to import ({why})");
            return Sampled::said(said, warnings);
        }
    };
    if objects.is_empty() {
        let said = format!(
            "no objects under {dir}: TiDB Cloud will find nothing to import (is the folder's name right?)"
        );
        return Sampled::said(said, warnings);
    }
    let heads = objects.iter().map(|key| s3::object_head(s3, bucket, key));
    let mut sampled = Sampled::default();
    let mut unread = Vec::new();
    for (object, head) in objects.iter().zip(join_all(heads).await) {
        let uri = format!("s3://{bucket}/{object}");
        let head = match head {
            Ok(head) => head,
            Err(e) => {
                unread.push((uri, first_line(&e)));
                continue;
            }
        };
        if let Some(archive) = head.archived {
            sampled.archived.push((uri.clone(), archive));
        }
        match head.encryption {
            ObjectEncryption::Kms(key) => sampled.kms.push((uri, key)),
            ObjectEncryption::S3Managed => {}
            ObjectEncryption::CustomerKey => sampled.customer_keyed.push(uri),
        }
    }
    sampled.said = unread_warning(&dir, objects.len(), &unread);
    warnings.extend(sampled.said.clone());
    sampled
}

/// What to say of the sampled objects whose HeadObject failed (`unread`: each URI with the
/// error's first line), out of `sampled`. HeadObject needs `s3:GetObject` (Amazon S3 API
/// Reference, HeadObject, "Permissions"), so when every object is refused the caller may lack
/// it. When only some are, the refusal is the objects' own: an object that another account
/// wrote stays that account's unless Object Ownership is "Bucket owner enforced", and the
/// bucket's principals, TiDB Cloud's role or user among them, cannot read it (Amazon S3 User
/// Guide, "Controlling ownership of objects"); or the bucket policy denies those keys.
fn unread_warning(dir: &str, sampled: usize, unread: &[(String, String)]) -> Option<String> {
    let ((first, why), rest) = unread.split_first()?;
    if unread.len() == sampled {
        let which = match sampled {
            1 => format!("{first} is"),
            n => format!("any of the {n} objects sampled under {dir} is"),
        };
        return Some(format!(
            "could not read how {which} encrypted ({why}; HeadObject needs s3:GetObject); objects under another key than the bucket's need it granted too (--kms-key)"
        ));
    }
    let which = crate::facts::sampled(first, rest.len());
    Some(format!(
        "could not read {which} ({why}), though the other objects sampled under {dir} could be read: an object written by another account (where Object Ownership is not \"Bucket owner enforced\"), or one the bucket policy denies, may be refused to TiDB Cloud too; the key it is encrypted with, if any, is unknown (--kms-key)"
    ))
}

/// What the sampled objects under an import's folder are encrypted with: each object's URI
/// with its KMS key, and the objects under a customer-provided key (SSE-C); and the archived
/// ones, each with its archive; and what is said of the folder or of the objects S3 refused to
/// describe, if anything.
#[derive(Default)]
struct Sampled {
    kms: Vec<(String, String)>,
    customer_keyed: Vec<String>,
    archived: Vec<(String, String)>,
    said: Option<String>,
}

impl Sampled {
    /// Nothing sampled, for the reason `said`, which is a warning too.
    fn said(said: String, warnings: &mut Vec<String>) -> Sampled {
        warnings.push(said.clone());
        Sampled {
            said: Some(said),
            ..Sampled::default()
        }
    }
}

/// The keys of the sampled objects that are not the bucket's default key, each once with the
/// first object under it, and what KMS says of each (DescribeKey, all at once).
async fn object_keys(
    clients: &Clients,
    facts: &BucketFacts,
    sampled: Vec<(String, String)>,
) -> Vec<ObjectKey> {
    let mut seen: Vec<(String, String)> = Vec::new();
    for (object, key) in sampled {
        let default = facts.kms_key.as_ref().is_some_and(|k| k.as_str() == key);
        if !default && !seen.iter().any(|(_, k)| *k == key) {
            seen.push((object, key));
        }
    }
    let described = seen.iter().map(|(_, key)| async move {
        let region =
            Arn::parse(key).map_or_else(|| clients.region().to_string(), |a| a.region.to_string());
        kms::describe_key(&clients.kms_in(&region), key).await.ok()
    });
    let described = join_all(described).await;
    seen.into_iter()
        .zip(described)
        .filter_map(|((object, key), info)| {
            // HeadObject names the key by ARN; KMS's ARN stands where it named it otherwise.
            let described = info.as_ref().map(|i| i.arn.clone());
            let key = described.filter(|a| !a.is_empty()).unwrap_or(key);
            let default = facts.kms_key.as_ref().is_some_and(|k| k.as_str() == key);
            // The bucket's own AWS-managed key, judged as the default.
            let own_default = facts.aws_managed_key.is_some()
                && info.as_ref().is_some_and(|i| i.aws_managed)
                && facts
                    .aws_managed_key_account
                    .as_deref()
                    .is_none_or(|a| Arn::parse(&key).is_some_and(|k| k.account == a));
            (!default && !own_default).then(|| ObjectKey {
                object,
                key,
                described: info.map(|i| KeyDescription {
                    aws_managed: i.aws_managed,
                    state: i.state,
                }),
            })
        })
        .collect()
}

/// Records the bucket's default key: none to grant (SSE-S3), an AWS-managed one, or a
/// customer-managed one by ARN, which KMS resolves from a key ID or an alias.
async fn record_key(
    clients: &Clients,
    region: &str,
    encryption: DefaultEncryption,
    extra_keys: &[KmsKeyArn],
    facts: &mut BucketFacts,
) -> Result<(), Error> {
    let key = match encryption {
        DefaultEncryption::S3Managed => {
            facts
                .findings
                .push("default encryption: SSE-S3 or none (no KMS key to grant)".into());
            return Ok(());
        }
        DefaultEncryption::Kms(None) => {
            facts.aws_managed_key = Some("aws/s3".into());
            return Ok(());
        }
        DefaultEncryption::Kms(Some(key)) if is_aws_managed_alias(&key) => {
            facts.aws_managed_key_account = arn_account(&key);
            facts.aws_managed_key = Some(key);
            return Ok(());
        }
        DefaultEncryption::Kms(Some(key)) => key,
    };
    let arn = match key.parse::<KmsKeyArn>() {
        Ok(arn) => arn,
        // A key ID, an alias or an alias ARN: KMS knows which key it is.
        Err(_) => {
            let described = kms::describe_key(&clients.kms_in(region), &key).await;
            match described {
                Ok(info) if info.aws_managed => {
                    facts.aws_managed_key_account = Some(info.account).filter(|a| !a.is_empty());
                    facts.aws_managed_key = Some(key);
                    return Ok(());
                }
                Ok(info) => info.arn.parse::<KmsKeyArn>().map_err(|e| {
                    anyhow::anyhow!("kms:DescribeKey returned an unusable ARN for {key}: {e}")
                })?,
                Err(e) if !extra_keys.is_empty() => {
                    facts.warnings.push(format!(
                        "could not resolve the bucket's KMS key `{key}` ({e}); using only the keys given with --kms-key"
                    ));
                    return Ok(());
                }
                Err(e) => {
                    return Err(e
                        .with_fix(format!(
                            "the bucket's default key is `{key}`; pass its key ARN with --kms-key, or run with credentials that allow kms:DescribeKey"
                        ))
                        .into())
                }
            }
        }
    };
    facts.findings.push(format!(
        "default encryption: SSE-KMS with customer-managed key {arn}"
    ));
    facts.kms_key = Some(arn);
    Ok(())
}

/// The bucket's region; when it cannot be read, the caller's, with a warning.
pub(crate) async fn region_or_assumed(
    clients: &Clients,
    bucket: &str,
    warnings: &mut Vec<String>,
) -> Result<String, Error> {
    match clients.bucket_region(bucket).await {
        Ok(region) => Ok(region),
        Err(Error::Aws(e)) if e.is_unreadable() => {
            warnings.push(format!(
                "could not read the region of bucket `{bucket}` (s3:ListBucket for HeadBucket, and s3:GetBucketLocation, were denied); assuming {}",
                clients.region()
            ));
            Ok(clients.region().to_string())
        }
        Err(e) => Err(e),
    }
}

/// Settles a URI that may name a file or a folder (`s3://bucket/dir/name`) with one listing
/// of the bucket, and returns the bucket's region read on the way. A URI that settles itself
/// costs no request. Without credentials, or when the listing is denied, the extension rule
/// stands ([`crate::inputs::has_extension`]), with a warning for the denial.
pub(crate) async fn locate(
    clients: Option<&Clients>,
    location: S3Location,
) -> Result<(S3Location, Located), Error> {
    let mut located = Located::default();
    let (Some(clients), Some(path)) = (clients, location.unsettled_path()) else {
        located.findings.extend(location.decision());
        return Ok((location, located));
    };
    let region = region_or_assumed(clients, location.bucket(), &mut located.warnings).await?;
    let s3 = clients.s3_in(&region);
    located.region = Some(region);
    let location = match s3::probe_path(&s3, location.bucket(), &path).await {
        Ok((object, folder)) => location.settled(object, folder),
        Err(e) if e.is_unreadable() => {
            located.warnings.push(format!(
                "could not list s3://{}/{path} to tell a file from a folder ({}); going by the name",
                location.bucket(),
                first_line(&e),
            ));
            location
        }
        Err(e) => return Err(e.into()),
    };
    located.findings.extend(location.decision());
    Ok((location, located))
}

fn is_aws_managed_alias(key: &str) -> bool {
    key == "alias/aws/s3" || key.ends_with(":alias/aws/s3")
}

#[cfg(test)]
mod tests {
    #[test]
    fn recognises_the_aws_managed_alias() {
        assert!(super::is_aws_managed_alias("alias/aws/s3"));
        assert!(super::is_aws_managed_alias(
            "arn:aws:kms:us-east-1:111122223333:alias/aws/s3"
        ));
        assert!(!super::is_aws_managed_alias("alias/mine"));
    }

    #[test]
    fn objects_that_could_not_be_read_are_told_apart_from_a_caller_refused_all() {
        let dir = "s3://b/data/";
        let unread = |n: usize| -> Vec<(String, String)> {
            (1..=n)
                .map(|i| (format!("s3://b/data/{i}.csv"), "AccessDenied".to_string()))
                .collect()
        };
        assert_eq!(super::unread_warning(dir, 3, &[]), None);
        let one_of_one = super::unread_warning(dir, 1, &unread(1)).unwrap();
        assert!(
            one_of_one.starts_with("could not read how s3://b/data/1.csv is encrypted (AccessDenied; HeadObject needs s3:GetObject)"),
            "{one_of_one}"
        );
        let all = super::unread_warning(dir, 3, &unread(3)).unwrap();
        assert!(
            all.starts_with(
                "could not read how any of the 3 objects sampled under s3://b/data/ is encrypted"
            ),
            "{all}"
        );
        for (n, which) in [
            (1, "s3://b/data/1.csv (AccessDenied)"),
            (
                2,
                "s3://b/data/1.csv and 1 more sampled object (AccessDenied)",
            ),
            (
                3,
                "s3://b/data/1.csv and 2 more sampled objects (AccessDenied)",
            ),
        ] {
            let some = super::unread_warning(dir, 4, &unread(n)).unwrap();
            assert!(some.starts_with(&format!("could not read {which}, though the other objects sampled under s3://b/data/ could be read")), "{some}");
            assert!(some.contains("Object Ownership"), "{some}");
        }
    }

    #[test]
    fn the_account_of_a_kms_arn() {
        assert_eq!(
            super::arn_account("arn:aws:kms:us-east-1:111122223333:alias/aws/s3").as_deref(),
            Some("111122223333")
        );
        assert_eq!(super::arn_account("alias/aws/s3"), None);
        assert_eq!(super::arn_account("1234abcd-12ab"), None);
    }
}
