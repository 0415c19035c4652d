//! Roles: read, create, trust, attach, and what must go before a role can be deleted.

use aws_sdk_iam::Client;
use serde_json::Value;

use crate::error::AwsError;
use crate::facts::RoleInfo;
use crate::inputs::Guardrails;
use crate::policy;

use super::{gone_is_done, is_managed, pairs, tag_value, tags_for, STACK_REGION_TAG, STACK_TAG};

pub async fn get_role(client: &Client, name: &str) -> Result<Option<RoleInfo>, AwsError> {
    match client.get_role().role_name(name).send().await {
        Ok(out) => {
            let Some(role) = out.role() else {
                return Ok(None);
            };
            tracing::debug!("iam:GetRole {name} -> {}", role.arn());
            Ok(Some(RoleInfo {
                arn: role.arn().to_string(),
                managed: is_managed(role.tags()),
                trust: role
                    .assume_role_policy_document()
                    .and_then(policy::from_wire),
                created: Some(role.create_date().secs()),
                stack: tag_value(role.tags(), STACK_TAG),
                stack_region: tag_value(role.tags(), STACK_REGION_TAG),
                boundary: role
                    .permissions_boundary()
                    .and_then(|b| b.permissions_boundary_arn())
                    .map(str::to_string),
                tags: pairs(role.tags()),
            }))
        }
        Err(e)
            if e.as_service_error()
                .is_some_and(|se| se.is_no_such_entity_exception()) =>
        {
            tracing::debug!("iam:GetRole {name} -> none");
            Ok(None)
        }
        Err(e) => Err(AwsError::from_sdk("iam:GetRole", e)),
    }
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

pub async fn create_role(
    client: &Client,
    name: &str,
    trust: &Value,
    description: &str,
    guard: &Guardrails,
    run: &crate::aws::Run,
) -> Result<String, AwsError> {
    let out = client
        .create_role()
        .role_name(name)
        .path(guard.path.as_str())
        .set_permissions_boundary(guard.permissions_boundary.as_ref().map(|b| b.to_string()))
        .assume_role_policy_document(policy::to_wire(trust))
        .description(policy::description(description))
        .set_tags(Some(tags_for(guard, run)))
        .send()
        .await
        .map_err(|e| AwsError::from_sdk("iam:CreateRole", e))?;
    let arn = out.role().map(|r| r.arn()).unwrap_or_default().to_string();
    tracing::debug!("iam:CreateRole {name} -> {arn}");
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
    tracing::debug!("iam:UpdateAssumeRolePolicy {role}");
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
    tracing::debug!("iam:AttachRolePolicy {role} {arn}");
    Ok(())
}

/// Detaches; a policy or role that is already gone counts as done.
pub async fn detach_role_policy(client: &Client, role: &str, arn: &str) -> Result<(), AwsError> {
    let result = client
        .detach_role_policy()
        .role_name(role)
        .policy_arn(arn)
        .send()
        .await;
    gone_is_done("iam:DetachRolePolicy", result)
}

/// Deletes; a role that is already gone counts as done.
pub async fn delete_role(client: &Client, role: &str) -> Result<(), AwsError> {
    let result = client.delete_role().role_name(role).send().await;
    gone_is_done("iam:DeleteRole", result)
}

/// The names of a role's inline policies.
pub async fn role_inline_policies(client: &Client, role: &str) -> Result<Vec<String>, AwsError> {
    let out = client
        .list_role_policies()
        .role_name(role)
        .send()
        .await
        .map_err(|e| AwsError::from_sdk("iam:ListRolePolicies", e))?;
    Ok(out.policy_names().to_vec())
}

pub async fn delete_role_inline_policy(
    client: &Client,
    role: &str,
    name: &str,
) -> Result<(), AwsError> {
    client
        .delete_role_policy()
        .role_name(role)
        .policy_name(name)
        .send()
        .await
        .map_err(|e| AwsError::from_sdk("iam:DeleteRolePolicy", e))?;
    Ok(())
}

/// Instance profiles that hold the role; AWS refuses to delete a role that is in one.
pub async fn role_instance_profiles(client: &Client, role: &str) -> Result<Vec<String>, AwsError> {
    let out = client
        .list_instance_profiles_for_role()
        .role_name(role)
        .send()
        .await
        .map_err(|e| AwsError::from_sdk("iam:ListInstanceProfilesForRole", e))?;
    Ok(out
        .instance_profiles()
        .iter()
        .map(|p| p.instance_profile_name().to_string())
        .collect())
}

pub async fn remove_role_from_instance_profile(
    client: &Client,
    role: &str,
    profile: &str,
) -> Result<(), AwsError> {
    client
        .remove_role_from_instance_profile()
        .role_name(role)
        .instance_profile_name(profile)
        .send()
        .await
        .map_err(|e| AwsError::from_sdk("iam:RemoveRoleFromInstanceProfile", e))?;
    Ok(())
}

/// Takes the role's permissions boundary off.
pub async fn delete_role_boundary(client: &Client, role: &str) -> Result<(), AwsError> {
    client
        .delete_role_permissions_boundary()
        .role_name(role)
        .send()
        .await
        .map_err(|e| AwsError::from_sdk("iam:DeleteRolePermissionsBoundary", e))?;
    tracing::debug!("iam:DeleteRolePermissionsBoundary {role}");
    Ok(())
}

/// Writes (or overwrites) one inline policy of a role.
pub async fn put_role_policy(
    client: &Client,
    role: &str,
    name: &str,
    doc: &Value,
) -> Result<(), AwsError> {
    client
        .put_role_policy()
        .role_name(role)
        .policy_name(name)
        .policy_document(policy::to_wire(doc))
        .send()
        .await
        .map_err(|e| AwsError::from_sdk("iam:PutRolePolicy", e))?;
    tracing::debug!("iam:PutRolePolicy {role} {name}");
    Ok(())
}
