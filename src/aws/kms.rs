//! KMS, read only: a key's ARN, owner, state, policy and grants. The tool never changes a key.

use aws_sdk_kms::types::KeyManagerType;
use aws_sdk_kms::Client;

use super::send::send;
use crate::error::AwsError;

/// A key as KMS describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct KeyInfo {
    pub(crate) arn: String,
    /// True for AWS-managed keys such as `aws/s3`, which other accounts cannot use.
    pub(crate) aws_managed: bool,
    /// `Enabled`, `Disabled`, `PendingDeletion`, …
    pub(crate) state: String,
    /// The account that owns the key.
    pub(crate) account: String,
}

/// Resolves a key ID, alias or ARN to the key's ARN.
pub(crate) async fn describe_key(client: &Client, key: &str) -> Result<KeyInfo, AwsError> {
    let out = send(
        "kms:DescribeKey",
        key,
        client.describe_key().key_id(key).send(),
    )
    .await?;
    let meta = out.key_metadata().ok_or_else(|| {
        AwsError::new(
            "kms:DescribeKey",
            format!("no metadata returned for key {key}"),
        )
    })?;
    tracing::debug!("kms:DescribeKey {key} -> {:?}", meta.arn());
    Ok(KeyInfo {
        arn: meta.arn().unwrap_or_default().to_string(),
        aws_managed: meta.key_manager() == Some(&KeyManagerType::Aws),
        state: meta
            .key_state()
            .map(|s| s.as_str().to_string())
            .unwrap_or_default(),
        account: meta.aws_account_id().unwrap_or_default().to_string(),
    })
}

/// The key's policy (every key has exactly one, named `default`).
pub(crate) async fn key_policy(
    client: &Client,
    key: &str,
) -> Result<Option<serde_json::Value>, AwsError> {
    let request = client.get_key_policy().key_id(key).policy_name("default");
    let out = send("kms:GetKeyPolicy", key, request.send()).await?;
    Ok(out.policy().and_then(crate::policy::from_wire))
}

/// A grant on a key: who may use it, for which operations (`Decrypt`, `GenerateDataKey`, …,
/// without the `kms:` prefix), and whether it is limited to some encryption context.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Grant {
    pub(crate) id: String,
    pub(crate) grantee: String,
    pub(crate) operations: Vec<String>,
    pub(crate) constrained: bool,
}

/// The key's grants, every page of them.
pub(crate) async fn grants(client: &Client, key: &str) -> Result<Vec<Grant>, AwsError> {
    let request = client
        .list_grants()
        .key_id(key)
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>();
    let grants = send("kms:ListGrants", key, request).await?;
    Ok(grants
        .iter()
        .map(|g| Grant {
            id: g.grant_id().unwrap_or_default().to_string(),
            grantee: g.grantee_principal().unwrap_or_default().to_string(),
            operations: g
                .operations()
                .iter()
                .map(|o| o.as_str().to_string())
                .collect(),
            constrained: g.constraints().is_some(),
        })
        .collect())
}
