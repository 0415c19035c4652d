//! S3: the bucket's region, owner, default encryption, bucket policy, Object Ownership, and
//! whether a path names an object or a folder. The one write is the opt-in probe object of
//! `access-key --probe-write` ([`put_empty`], [`delete_object`]).

use aws_sdk_s3::types::{ArchiveStatus, ServerSideEncryption, StorageClass};
use aws_sdk_s3::Client;

use super::send::send;
use crate::error::{AwsError, Error};

/// The bucket's region, from HeadBucket's `x-amz-bucket-region` header, which S3 sends
/// "whether access to the bucket is authorized or not" (Amazon S3 API Reference,
/// GetBucketLocation: "we recommend using the HeadBucket operation for bucket Region
/// discovery"), so it also comes with a 301 from another region and a 403 from a bucket
/// policy. Without the header, GetBucketLocation decides.
pub(crate) async fn bucket_region(client: &Client, bucket: &str) -> Result<String, Error> {
    let header = |headers: &aws_smithy_runtime_api::http::Headers| {
        headers
            .get("x-amz-bucket-region")
            .map(str::to_string)
            .filter(|r| !r.is_empty())
    };
    // Not through `send`: the region is in the raw answer's headers, which `AwsError` drops.
    match client.head_bucket().bucket(bucket).send().await {
        Ok(out) => {
            if let Some(region) = out.bucket_region().filter(|r| !r.is_empty()) {
                tracing::debug!("s3:HeadBucket {bucket} -> {region}");
                return Ok(region.to_string());
            }
        }
        Err(e) => {
            let status = e.raw_response().map(|r| r.status().as_u16());
            if let Some(region) = e.raw_response().and_then(|r| header(r.headers())) {
                tracing::debug!("s3:HeadBucket {bucket} -> HTTP {status:?}, {region}");
                return Ok(region);
            }
            if status == Some(404) {
                return Err(no_such_bucket(bucket));
            }
            tracing::debug!("s3:HeadBucket {bucket} -> HTTP {status:?} without a region");
        }
    }
    location_constraint(client, bucket).await
}

fn no_such_bucket(bucket: &str) -> Error {
    Error::NotFound(format!(
        "--uri: bucket `{bucket}` does not exist (or is not visible to this account); check the bucket name"
    ))
}

/// GetBucketLocation. An empty location constraint means us-east-1.
async fn location_constraint(client: &Client, bucket: &str) -> Result<String, Error> {
    let request = client.get_bucket_location().bucket(bucket);
    let out = match send("s3:GetBucketLocation", bucket, request.send()).await {
        Ok(out) => out,
        Err(e) if e.code.as_deref() == Some("NoSuchBucket") => return Err(no_such_bucket(bucket)),
        Err(e) => return Err(e.into()),
    };
    let region = out
        .location_constraint()
        .map(|c| c.as_str().to_string())
        .filter(|r| !r.is_empty())
        .unwrap_or_else(|| "us-east-1".to_string());
    // The legacy name for eu-west-1.
    let region = if region == "EU" {
        "eu-west-1".to_string()
    } else {
        region
    };
    tracing::debug!("s3:GetBucketLocation {bucket} -> {region}");
    Ok(region)
}

/// Whether `account` owns the bucket: HeadBucket with `ExpectedBucketOwner`, which S3 answers
/// with 403 when another account owns it (Amazon S3 User Guide, "Verifying bucket ownership
/// with bucket owner condition"). A caller without `s3:ListBucket` gets the same 403, so a 403
/// is asked again without the condition: answered, the bucket is another account's
/// (`Some(false)`); refused too, it cannot be told (`None`).
pub(crate) async fn owned_by(
    client: &Client,
    bucket: &str,
    account: &str,
) -> Result<Option<bool>, AwsError> {
    let request = client
        .head_bucket()
        .bucket(bucket)
        .expected_bucket_owner(account);
    let subject = format!("{bucket} owner {account}");
    match send("s3:ListBucket", &subject, request.send()).await {
        Ok(_) => return Ok(Some(true)),
        Err(e) if e.status == Some(403) => {}
        Err(e) => return Err(e),
    }
    let request = client.head_bucket().bucket(bucket);
    match send("s3:ListBucket", bucket, request.send()).await {
        Ok(_) => Ok(Some(false)),
        Err(e) if e.status == Some(403) => Ok(None),
        Err(e) => Err(e),
    }
}

/// What the bucket holds at `path`: an object of exactly that key, and objects under `path/`.
/// One ListObjectsV2 with `/` as delimiter: the object comes back as a key, the folder as a
/// common prefix. A listing cut short before either shows says neither.
pub(crate) async fn probe_path(
    client: &Client,
    bucket: &str,
    path: &str,
) -> Result<(bool, bool), AwsError> {
    let request = client
        .list_objects_v2()
        .bucket(bucket)
        .prefix(path)
        .delimiter("/")
        .max_keys(1000);
    let subject = format!("{bucket}/{path}");
    let out = send("s3:ListObjectsV2", &subject, request.send()).await?;
    let object = out.contents().iter().any(|o| o.key() == Some(path));
    let folder_prefix = format!("{path}/");
    let folder = out
        .common_prefixes()
        .iter()
        .any(|p| p.prefix() == Some(folder_prefix.as_str()));
    tracing::debug!("s3:ListObjectsV2 {bucket}/{path} -> object {object}, folder {folder}");
    Ok((object, folder))
}

/// How many objects under an import's folder are sampled for the KMS key each is encrypted
/// under: listed in one ListObjectsV2, then one HeadObject each, all at once (one round).
pub(crate) const SAMPLED: i32 = 10;

/// The first objects stored under the directory `prefix` (empty: the whole bucket), at most
/// `max` of them, by key: one ListObjectsV2. Empty when nothing is stored there.
pub(crate) async fn objects(
    client: &Client,
    bucket: &str,
    prefix: &str,
    max: i32,
) -> Result<Vec<String>, AwsError> {
    let under = if prefix.is_empty() {
        String::new()
    } else {
        format!("{prefix}/")
    };
    let request = client
        .list_objects_v2()
        .bucket(bucket)
        .prefix(&under)
        .max_keys(max);
    let subject = format!("{bucket}/{under}");
    let out = send("s3:ListObjectsV2", &subject, request.send()).await?;
    Ok(out
        .contents()
        .iter()
        .filter_map(|o| o.key())
        // A console "folder" is a zero-byte object named `dir/`, with nothing to decrypt.
        .filter(|k| !k.ends_with('/'))
        .map(str::to_string)
        .collect())
}

/// How an object is encrypted, as far as reading it goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ObjectEncryption {
    /// SSE-S3 (or none): S3 decrypts it for anyone allowed to read it.
    S3Managed,
    /// SSE-KMS or DSSE-KMS under this key (HeadObject's `x-amz-server-side-encryption-aws-kms-
    /// key-id`, the key's ARN). Objects copied from another bucket keep the key they were
    /// written with, which need not be this bucket's default (Amazon S3 User Guide, "Using
    /// server-side encryption with AWS KMS keys").
    Kms(String),
    /// SSE-C: S3 keeps no key, and reads it only for a request that brings the key.
    CustomerKey,
}

/// What one HeadObject tells of reading an object: how it is encrypted, and whether it is
/// archived.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ObjectHead {
    pub(crate) encryption: ObjectEncryption,
    /// The archive it is in, unrestored, as S3 names it ([`archived`]).
    pub(crate) archived: Option<String>,
}

/// How the object `key` is encrypted, and whether it is archived: one HeadObject.
pub(crate) async fn object_head(
    client: &Client,
    bucket: &str,
    key: &str,
) -> Result<ObjectHead, AwsError> {
    let request = client.head_object().bucket(bucket).key(key);
    let subject = format!("{bucket}/{key}");
    let out = match send("s3:HeadObject", &subject, request.send()).await {
        Ok(out) => out,
        // An SSE-C object asked without its key's headers: S3 answers a bare 400, as a HEAD
        // carries no error body (Amazon S3 API Reference, HeadObject: "If you encrypt an object
        // by using server-side encryption with customer-provided encryption keys (SSE-C) ...
        // you must use the following headers"; an error "returns a generic code, such as 400
        // Bad Request"). The credentials just listed the folder, so a 400 here is not theirs.
        Err(e) if e.status == Some(400) => {
            return Ok(ObjectHead {
                encryption: ObjectEncryption::CustomerKey,
                archived: None,
            })
        }
        Err(e) => return Err(e),
    };
    let kms = matches!(
        out.server_side_encryption(),
        Some(ServerSideEncryption::AwsKms | ServerSideEncryption::AwsKmsDsse)
    );
    let encryption = match out.ssekms_key_id().filter(|_| kms) {
        Some(arn) => ObjectEncryption::Kms(arn.to_string()),
        None => ObjectEncryption::S3Managed,
    };
    let archived = archived(out.storage_class(), out.archive_status(), out.restore());
    Ok(ObjectHead {
        encryption,
        archived,
    })
}

/// The archive an object is in when S3 will not read it, as S3 names it: the storage classes
/// S3 Glacier Flexible Retrieval (`GLACIER`) and Deep Archive (`DEEP_ARCHIVE`), and
/// Intelligent-Tiering's archive tiers (`x-amz-archive-status`: `ARCHIVE_ACCESS`,
/// `DEEP_ARCHIVE_ACCESS`), unless a restored copy is there (`x-amz-restore:
/// ongoing-request="false", expiry-date=…`). Amazon S3 API Reference, GetObject: "If the object
/// you are retrieving is stored in the S3 Glacier Flexible Retrieval storage class, the S3
/// Glacier Deep Archive storage class, the S3 Intelligent-Tiering Archive Access tier, or the
/// S3 Intelligent-Tiering Deep Archive Access tier, before you can retrieve the object you must
/// first restore a copy using RestoreObject. Otherwise, this operation returns an
/// InvalidObjectState error"; HeadObject, `x-amz-restore` and `x-amz-archive-status`. Glacier
/// Instant Retrieval (`GLACIER_IR`) reads at once.
pub(crate) fn archived(
    class: Option<&StorageClass>,
    tier: Option<&ArchiveStatus>,
    restore: Option<&str>,
) -> Option<String> {
    if restore.is_some_and(|r| r.contains("ongoing-request=\"false\"")) {
        return None;
    }
    match (tier, class) {
        (Some(tier), _) => Some(tier.as_str().to_string()),
        (None, Some(class @ (StorageClass::Glacier | StorageClass::DeepArchive))) => {
            Some(class.as_str().to_string())
        }
        _ => None,
    }
}

/// The bucket's default encryption, as far as it matters for TiDB Cloud.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum DefaultEncryption {
    /// None configured, or SSE-S3 (AES256): no key to grant.
    S3Managed,
    /// SSE-KMS; `None` means the AWS-managed `aws/s3` key.
    Kms(Option<String>),
}

pub(crate) async fn default_encryption(
    client: &Client,
    bucket: &str,
) -> Result<DefaultEncryption, AwsError> {
    let request = client.get_bucket_encryption().bucket(bucket);
    let out = match send("s3:GetBucketEncryption", bucket, request.send()).await {
        Ok(out) => out,
        // AWS now always answers; older buckets and moto answer this when nothing is set.
        Err(e) if e.code.as_deref() == Some("ServerSideEncryptionConfigurationNotFoundError") => {
            return Ok(DefaultEncryption::S3Managed)
        }
        Err(e) => return Err(e),
    };
    let rules = out
        .server_side_encryption_configuration()
        .map(|c| c.rules())
        .unwrap_or_default();
    for rule in rules {
        if let Some(default) = rule.apply_server_side_encryption_by_default() {
            if matches!(
                default.sse_algorithm(),
                ServerSideEncryption::AwsKms | ServerSideEncryption::AwsKmsDsse
            ) {
                let key = default.kms_master_key_id().map(str::to_string);
                tracing::debug!("s3:GetBucketEncryption {bucket} -> aws:kms {key:?}");
                return Ok(DefaultEncryption::Kms(key));
            }
        }
    }
    tracing::debug!("s3:GetBucketEncryption {bucket} -> SSE-S3");
    Ok(DefaultEncryption::S3Managed)
}

/// The bucket policy, if the bucket has one.
pub(crate) async fn bucket_policy(
    client: &Client,
    bucket: &str,
) -> Result<Option<serde_json::Value>, AwsError> {
    let request = client.get_bucket_policy().bucket(bucket);
    match send("s3:GetBucketPolicy", bucket, request.send()).await {
        Ok(out) => Ok(out.policy().and_then(crate::policy::from_wire)),
        Err(e) if e.code.as_deref() == Some("NoSuchBucketPolicy") => Ok(None),
        Err(e) => Err(e),
    }
}

/// The bucket's Object Ownership setting; `None` when none is set.
pub(crate) async fn object_ownership(
    client: &Client,
    bucket: &str,
) -> Result<Option<String>, AwsError> {
    let request = client.get_bucket_ownership_controls().bucket(bucket);
    match send("s3:GetBucketOwnershipControls", bucket, request.send()).await {
        Ok(out) => Ok(out
            .ownership_controls()
            .and_then(|c| c.rules().first())
            .map(|r| r.object_ownership().as_str().to_string())),
        Err(e) if e.code.as_deref() == Some("OwnershipControlsNotFoundError") => Ok(None),
        Err(e) => Err(e),
    }
}

/// PutObject of a zero-byte object, with the bucket's default encryption: the probe that a
/// new access key can write (`access-key --probe-write`).
pub(crate) async fn put_empty(client: &Client, bucket: &str, key: &str) -> Result<(), AwsError> {
    let request = client.put_object().bucket(bucket).key(key);
    send("s3:PutObject", &format!("{bucket}/{key}"), request.send()).await?;
    Ok(())
}

/// DeleteObject: the probe object goes again.
pub(crate) async fn delete_object(
    client: &Client,
    bucket: &str,
    key: &str,
) -> Result<(), AwsError> {
    let request = client.delete_object().bucket(bucket).key(key);
    send(
        "s3:DeleteObject",
        &format!("{bucket}/{key}"),
        request.send(),
    )
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::archived;
    use aws_sdk_s3::types::{ArchiveStatus, StorageClass};

    #[test]
    fn an_object_is_archived_until_a_copy_is_restored() {
        let glacier = Some(&StorageClass::Glacier);
        let deep = Some(&StorageClass::DeepArchive);
        assert_eq!(archived(glacier, None, None).as_deref(), Some("GLACIER"));
        assert_eq!(archived(deep, None, None).as_deref(), Some("DEEP_ARCHIVE"));
        // A restore under way is not yet a copy to read.
        let ongoing = Some("ongoing-request=\"true\"");
        assert_eq!(
            archived(deep, None, ongoing).as_deref(),
            Some("DEEP_ARCHIVE")
        );
        let restored =
            Some("ongoing-request=\"false\", expiry-date=\"Fri, 21 Dec 2012 00:00:00 GMT\"");
        assert_eq!(archived(glacier, None, restored), None);
        // Read at once: Glacier Instant Retrieval, and the classes short of an archive.
        for class in [
            StorageClass::GlacierIr,
            StorageClass::StandardIa,
            StorageClass::Standard,
        ] {
            assert_eq!(archived(Some(&class), None, None), None, "{class:?}");
        }
        assert_eq!(archived(None, None, None), None);
        // Intelligent-Tiering says its archive tiers apart from its storage class.
        let tiering = Some(&StorageClass::IntelligentTiering);
        assert_eq!(archived(tiering, None, None), None);
        let tier = Some(&ArchiveStatus::DeepArchiveAccess);
        assert_eq!(
            archived(tiering, tier, None).as_deref(),
            Some("DEEP_ARCHIVE_ACCESS")
        );
        assert_eq!(archived(tiering, tier, restored), None);
    }
}
