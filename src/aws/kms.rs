use aws_sdk_kms::types::KeyManagerType;
use aws_sdk_kms::Client;

use crate::error::AwsError;

/// A key as KMS describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyInfo {
    pub arn: String,
    /// True for AWS-managed keys such as `aws/s3`, which other accounts cannot use.
    pub aws_managed: bool,
}

/// Resolves a key ID, alias or ARN to the key's ARN.
pub async fn describe_key(client: &Client, key: &str) -> Result<KeyInfo, AwsError> {
    let out = client
        .describe_key()
        .key_id(key)
        .send()
        .await
        .map_err(|e| AwsError::from_sdk("kms:DescribeKey", e))?;
    let meta = out.key_metadata().ok_or_else(|| AwsError {
        operation: "kms:DescribeKey",
        code: None,
        message: format!("no metadata returned for key {key}"),
        status: None,
        fix: None,
    })?;
    crate::debug!("kms:DescribeKey {key} -> {:?}", meta.arn());
    Ok(KeyInfo {
        arn: meta.arn().unwrap_or_default().to_string(),
        aws_managed: meta.key_manager() == Some(&KeyManagerType::Aws),
    })
}
