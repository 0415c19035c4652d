use aws_sdk_iam::types::Tag;
use aws_sdk_iam::Client;
use serde_json::Value;

use crate::error::AwsError;
use crate::policy;

/// The tag on everything this tool creates. Nothing without it is ever changed.
pub const MANAGED_BY_KEY: &str = "managed-by";
pub const MANAGED_BY_VALUE: &str = "serverless-s3-setup";

pub fn managed_by_tag() -> Tag {
    Tag::builder()
        .key(MANAGED_BY_KEY)
        .value(MANAGED_BY_VALUE)
        .build()
        .expect("key and value are set")
}

fn is_managed(tags: &[Tag]) -> bool {
    tags.iter()
        .any(|t| t.key() == MANAGED_BY_KEY && t.value() == MANAGED_BY_VALUE)
}

/// A role as IAM holds it.
#[derive(Debug, Clone)]
pub struct RoleInfo {
    pub arn: String,
    pub managed: bool,
    /// The decoded trust policy, if it parses.
    pub trust: Option<Value>,
}

/// A customer-managed policy as IAM holds it.
#[derive(Debug, Clone)]
pub struct PolicyInfo {
    pub arn: String,
    pub managed: bool,
    pub default_version: String,
}

#[derive(Debug, Clone)]
pub struct PolicyVersion {
    pub id: String,
    pub is_default: bool,
}

pub async fn get_role(client: &Client, name: &str) -> Result<Option<RoleInfo>, AwsError> {
    match client.get_role().role_name(name).send().await {
        Ok(out) => {
            let Some(role) = out.role() else {
                return Ok(None);
            };
            crate::debug!("iam:GetRole {name} -> {}", role.arn());
            Ok(Some(RoleInfo {
                arn: role.arn().to_string(),
                managed: is_managed(role.tags()),
                trust: role
                    .assume_role_policy_document()
                    .and_then(policy::from_wire),
            }))
        }
        Err(e)
            if e.as_service_error()
                .is_some_and(|se| se.is_no_such_entity_exception()) =>
        {
            crate::debug!("iam:GetRole {name} -> none");
            Ok(None)
        }
        Err(e) => Err(AwsError::from_sdk("iam:GetRole", e)),
    }
}

pub async fn get_policy(client: &Client, arn: &str) -> Result<Option<PolicyInfo>, AwsError> {
    match client.get_policy().policy_arn(arn).send().await {
        Ok(out) => {
            let Some(p) = out.policy() else {
                return Ok(None);
            };
            crate::debug!("iam:GetPolicy {arn} -> {:?}", p.default_version_id());
            Ok(Some(PolicyInfo {
                arn: p.arn().unwrap_or(arn).to_string(),
                managed: is_managed(p.tags()),
                default_version: p.default_version_id().unwrap_or("v1").to_string(),
            }))
        }
        Err(e)
            if e.as_service_error()
                .is_some_and(|se| se.is_no_such_entity_exception()) =>
        {
            crate::debug!("iam:GetPolicy {arn} -> none");
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
    crate::debug!("iam:GetPolicyVersion {arn} {version}");
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

pub async fn attached_role_policies(client: &Client, role: &str) -> Result<Vec<String>, AwsError> {
    let items: Vec<_> = client
        .list_attached_role_policies()
        .role_name(role)
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .map_err(|e| AwsError::from_sdk("iam:ListAttachedRolePolicies", e))?;
    Ok(items
        .iter()
        .filter_map(|p| p.policy_arn().map(str::to_string))
        .collect())
}

pub async fn create_policy(
    client: &Client,
    name: &str,
    document: &Value,
    description: &str,
) -> Result<String, AwsError> {
    let out = client
        .create_policy()
        .policy_name(name)
        .policy_document(policy::to_wire(document))
        .description(description)
        .tags(managed_by_tag())
        .send()
        .await
        .map_err(|e| AwsError::from_sdk("iam:CreatePolicy", e))?;
    let arn = out
        .policy()
        .and_then(|p| p.arn())
        .unwrap_or_default()
        .to_string();
    crate::debug!("iam:CreatePolicy {name} -> {arn}");
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
    crate::debug!("iam:CreatePolicyVersion {arn} -> {id}");
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
    crate::debug!("iam:DeletePolicyVersion {arn} {id}");
    Ok(())
}

pub async fn create_role(
    client: &Client,
    name: &str,
    trust: &Value,
    description: &str,
) -> Result<String, AwsError> {
    let out = client
        .create_role()
        .role_name(name)
        .assume_role_policy_document(policy::to_wire(trust))
        .description(description)
        .tags(managed_by_tag())
        .send()
        .await
        .map_err(|e| AwsError::from_sdk("iam:CreateRole", e))?;
    let arn = out.role().map(|r| r.arn()).unwrap_or_default().to_string();
    crate::debug!("iam:CreateRole {name} -> {arn}");
    Ok(arn)
}

pub async fn update_trust(client: &Client, role: &str, trust: &Value) -> Result<(), AwsError> {
    client
        .update_assume_role_policy()
        .role_name(role)
        .policy_document(policy::to_wire(trust))
        .send()
        .await
        .map_err(|e| AwsError::from_sdk("iam:UpdateAssumeRolePolicy", e))?;
    crate::debug!("iam:UpdateAssumeRolePolicy {role}");
    Ok(())
}

pub async fn attach_role_policy(client: &Client, role: &str, arn: &str) -> Result<(), AwsError> {
    client
        .attach_role_policy()
        .role_name(role)
        .policy_arn(arn)
        .send()
        .await
        .map_err(|e| AwsError::from_sdk("iam:AttachRolePolicy", e))?;
    crate::debug!("iam:AttachRolePolicy {role} {arn}");
    Ok(())
}

/// Detaches; a policy or role that is already gone counts as done.
pub async fn detach_role_policy(client: &Client, role: &str, arn: &str) -> Result<(), AwsError> {
    match client
        .detach_role_policy()
        .role_name(role)
        .policy_arn(arn)
        .send()
        .await
    {
        Ok(_) => Ok(()),
        Err(e)
            if e.as_service_error()
                .is_some_and(|se| se.is_no_such_entity_exception()) =>
        {
            Ok(())
        }
        Err(e) => Err(AwsError::from_sdk("iam:DetachRolePolicy", e)),
    }
}

/// Deletes; a role that is already gone counts as done.
pub async fn delete_role(client: &Client, role: &str) -> Result<(), AwsError> {
    match client.delete_role().role_name(role).send().await {
        Ok(_) => Ok(()),
        Err(e)
            if e.as_service_error()
                .is_some_and(|se| se.is_no_such_entity_exception()) =>
        {
            Ok(())
        }
        Err(e) => Err(AwsError::from_sdk("iam:DeleteRole", e)),
    }
}

/// Deletes; a policy that is already gone counts as done.
pub async fn delete_policy(client: &Client, arn: &str) -> Result<(), AwsError> {
    match client.delete_policy().policy_arn(arn).send().await {
        Ok(_) => Ok(()),
        Err(e)
            if e.as_service_error()
                .is_some_and(|se| se.is_no_such_entity_exception()) =>
        {
            Ok(())
        }
        Err(e) => Err(AwsError::from_sdk("iam:DeletePolicy", e)),
    }
}
