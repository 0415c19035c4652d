//! Customer-managed policies: read, create, version, delete.

use aws_sdk_iam::Client;
use serde_json::Value;

use crate::error::AwsError;
use crate::facts::PolicyInfo;
use crate::inputs::Guardrails;
use crate::policy;

use super::{gone_is_done, is_managed, pairs, tags_for, PolicyVersion};

pub async fn get_policy(client: &Client, arn: &str) -> Result<Option<PolicyInfo>, AwsError> {
    match client.get_policy().policy_arn(arn).send().await {
        Ok(out) => {
            let Some(p) = out.policy() else {
                return Ok(None);
            };
            tracing::debug!("iam:GetPolicy {arn} -> {:?}", p.default_version_id());
            Ok(Some(PolicyInfo {
                arn: p.arn().unwrap_or(arn).to_string(),
                managed: is_managed(p.tags()),
                default_version: p.default_version_id().unwrap_or("v1").to_string(),
                attachments: p.attachment_count().unwrap_or(0),
                tags: pairs(p.tags()),
            }))
        }
        Err(e)
            if e.as_service_error()
                .is_some_and(|se| se.is_no_such_entity_exception()) =>
        {
            tracing::debug!("iam:GetPolicy {arn} -> none");
            Ok(None)
        }
        Err(e) => Err(AwsError::from_sdk("iam:GetPolicy", e)),
    }
}

pub async fn policy_document(
    client: &Client,
    arn: &str,
    version: &str,
) -> Result<Option<Value>, AwsError> {
    let out = client
        .get_policy_version()
        .policy_arn(arn)
        .version_id(version)
        .send()
        .await
        .map_err(|e| AwsError::from_sdk("iam:GetPolicyVersion", e))?;
    tracing::debug!("iam:GetPolicyVersion {arn} {version}");
    Ok(out
        .policy_version()
        .and_then(|v| v.document())
        .and_then(policy::from_wire))
}

pub async fn policy_versions(client: &Client, arn: &str) -> Result<Vec<PolicyVersion>, AwsError> {
    let out = client
        .list_policy_versions()
        .policy_arn(arn)
        .send()
        .await
        .map_err(|e| AwsError::from_sdk("iam:ListPolicyVersions", e))?;
    Ok(out
        .versions()
        .iter()
        .map(|v| PolicyVersion {
            id: v.version_id().unwrap_or_default().to_string(),
            is_default: v.is_default_version(),
        })
        .collect())
}

pub async fn create_policy(
    client: &Client,
    name: &str,
    document: &Value,
    description: &str,
    guard: &Guardrails,
    run: &crate::aws::Run,
) -> Result<String, AwsError> {
    let out = client
        .create_policy()
        .policy_name(name)
        .path(guard.path.as_str())
        .policy_document(policy::to_wire(document))
        .description(policy::description(description))
        .set_tags(Some(tags_for(guard, run)))
        .send()
        .await
        .map_err(|e| AwsError::from_sdk("iam:CreatePolicy", e))?;
    let arn = out
        .policy()
        .and_then(|p| p.arn())
        .unwrap_or_default()
        .to_string();
    tracing::debug!("iam:CreatePolicy {name} -> {arn}");
    Ok(arn)
}

pub async fn create_default_policy_version(
    client: &Client,
    arn: &str,
    document: &Value,
) -> Result<String, AwsError> {
    let out = client
        .create_policy_version()
        .policy_arn(arn)
        .policy_document(policy::to_wire(document))
        .set_as_default(true)
        .send()
        .await
        .map_err(|e| AwsError::from_sdk("iam:CreatePolicyVersion", e))?;
    let id = out
        .policy_version()
        .and_then(|v| v.version_id())
        .unwrap_or_default()
        .to_string();
    tracing::debug!("iam:CreatePolicyVersion {arn} -> {id}");
    Ok(id)
}

pub async fn delete_policy_version(client: &Client, arn: &str, id: &str) -> Result<(), AwsError> {
    client
        .delete_policy_version()
        .policy_arn(arn)
        .version_id(id)
        .send()
        .await
        .map_err(|e| AwsError::from_sdk("iam:DeletePolicyVersion", e))?;
    tracing::debug!("iam:DeletePolicyVersion {arn} {id}");
    Ok(())
}

/// Deletes; a policy that is already gone counts as done.
pub async fn delete_policy(client: &Client, arn: &str) -> Result<(), AwsError> {
    let result = client.delete_policy().policy_arn(arn).send().await;
    gone_is_done("iam:DeletePolicy", result)
}
