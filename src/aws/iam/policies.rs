//! Customer-managed policies: read, create, version, delete.

use aws_sdk_iam::Client;
use serde_json::Value;

use crate::aws::send::{send, Absent};
use crate::error::AwsError;
use crate::facts::PolicyInfo;
use crate::inputs::Guardrails;
use crate::policy;

use super::{is_managed, pairs, tags_for, PolicyVersion};

pub(crate) async fn get_policy(client: &Client, arn: &str) -> Result<Option<PolicyInfo>, AwsError> {
    let out = send(
        "iam:GetPolicy",
        arn,
        client.get_policy().policy_arn(arn).send(),
    )
    .await
    .absent_is_none()?;
    Ok(out
        .as_ref()
        .and_then(|out| out.policy())
        .map(|p| PolicyInfo {
            arn: p.arn().unwrap_or(arn).to_string(),
            managed: is_managed(p.tags()),
            default_version: p.default_version_id().unwrap_or("v1").to_string(),
            attachments: p.attachment_count().unwrap_or(0),
            tags: pairs(p.tags()),
        }))
}

pub(crate) async fn policy_document(
    client: &Client,
    arn: &str,
    version: &str,
) -> Result<Option<Value>, AwsError> {
    let request = client
        .get_policy_version()
        .policy_arn(arn)
        .version_id(version);
    let subject = format!("{arn} {version}");
    let out = send("iam:GetPolicyVersion", &subject, request.send()).await?;
    Ok(out
        .policy_version()
        .and_then(|v| v.document())
        .and_then(policy::from_wire))
}

pub(crate) async fn policy_versions(
    client: &Client,
    arn: &str,
) -> Result<Vec<PolicyVersion>, AwsError> {
    let request = client.list_policy_versions().policy_arn(arn);
    let out = send("iam:ListPolicyVersions", arn, request.send()).await?;
    Ok(out
        .versions()
        .iter()
        .map(|v| PolicyVersion {
            id: v.version_id().unwrap_or_default().to_string(),
            is_default: v.is_default_version(),
        })
        .collect())
}

pub(crate) async fn create_policy(
    client: &Client,
    name: &str,
    document: &Value,
    description: &str,
    guard: &Guardrails,
    run: &crate::aws::Run,
) -> Result<String, AwsError> {
    let request = client
        .create_policy()
        .policy_name(name)
        .path(guard.path.as_str())
        .policy_document(policy::to_wire(document))
        .description(policy::description(description))
        .set_tags(Some(tags_for(guard, run)));
    let out = send("iam:CreatePolicy", name, request.send()).await?;
    Ok(out
        .policy()
        .and_then(|p| p.arn())
        .unwrap_or_default()
        .to_string())
}

pub(crate) async fn create_default_policy_version(
    client: &Client,
    arn: &str,
    document: &Value,
) -> Result<String, AwsError> {
    let request = client
        .create_policy_version()
        .policy_arn(arn)
        .policy_document(policy::to_wire(document))
        .set_as_default(true);
    let out = send("iam:CreatePolicyVersion", arn, request.send()).await?;
    Ok(out
        .policy_version()
        .and_then(|v| v.version_id())
        .unwrap_or_default()
        .to_string())
}

pub(crate) async fn delete_policy_version(
    client: &Client,
    arn: &str,
    id: &str,
) -> Result<(), AwsError> {
    let request = client
        .delete_policy_version()
        .policy_arn(arn)
        .version_id(id);
    send(
        "iam:DeletePolicyVersion",
        &format!("{arn} {id}"),
        request.send(),
    )
    .await?;
    Ok(())
}

/// Deletes; a policy that is already gone counts as done.
pub(crate) async fn delete_policy(client: &Client, arn: &str) -> Result<(), AwsError> {
    let request = client.delete_policy().policy_arn(arn);
    send("iam:DeletePolicy", arn, request.send())
        .await
        .gone_is_done()
}
