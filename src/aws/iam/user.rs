//! Users and their access keys; a secret is shown once and never logged.

use aws_sdk_iam::Client;

use crate::error::AwsError;
use crate::facts::{AccessKeyInfo, UserInfo};
use crate::inputs::Guardrails;

use super::{gone_is_done, is_managed, pairs, tags_for};

/// A secret access key. It is shown once, on stdout or in a 0600 file; `Debug` never shows it.
#[derive(Clone, serde::Serialize)]
#[serde(transparent)]
pub struct Secret(pub(super) String);

impl Secret {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

/// A newly created access key.
#[derive(Debug, Clone)]
pub struct NewAccessKey {
    pub id: String,
    pub secret: Secret,
}

pub async fn get_user(client: &Client, name: &str) -> Result<Option<UserInfo>, AwsError> {
    match client.get_user().user_name(name).send().await {
        Ok(out) => {
            let Some(user) = out.user() else {
                return Ok(None);
            };
            tracing::debug!("iam:GetUser {name} -> {}", user.arn());
            Ok(Some(UserInfo {
                arn: user.arn().to_string(),
                user_id: user.user_id().to_string(),
                managed: is_managed(user.tags()),
                boundary: user
                    .permissions_boundary()
                    .and_then(|b| b.permissions_boundary_arn())
                    .map(str::to_string),
                tags: pairs(user.tags()),
            }))
        }
        Err(e)
            if e.as_service_error()
                .is_some_and(|se| se.is_no_such_entity_exception()) =>
        {
            tracing::debug!("iam:GetUser {name} -> none");
            Ok(None)
        }
        Err(e) => Err(AwsError::from_sdk("iam:GetUser", e)),
    }
}

pub async fn create_user(
    client: &Client,
    name: &str,
    guard: &Guardrails,
    run: &crate::aws::Run,
) -> Result<String, AwsError> {
    let out = client
        .create_user()
        .user_name(name)
        .path(guard.path.as_str())
        .set_permissions_boundary(guard.permissions_boundary.as_ref().map(|b| b.to_string()))
        .set_tags(Some(tags_for(guard, run)))
        .send()
        .await
        .map_err(|e| AwsError::from_sdk("iam:CreateUser", e))?;
    let arn = out.user().map(|u| u.arn()).unwrap_or_default().to_string();
    tracing::debug!("iam:CreateUser {name} -> {arn}");
    Ok(arn)
}

/// Deletes; a user that is already gone counts as done.
pub async fn delete_user(client: &Client, name: &str) -> Result<(), AwsError> {
    let result = client.delete_user().user_name(name).send().await;
    gone_is_done("iam:DeleteUser", result)
}

pub async fn attached_user_policies(client: &Client, user: &str) -> Result<Vec<String>, AwsError> {
    let items: Vec<_> = client
        .list_attached_user_policies()
        .user_name(user)
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .map_err(|e| AwsError::from_sdk("iam:ListAttachedUserPolicies", e))?;
    Ok(items
        .iter()
        .filter_map(|p| p.policy_arn().map(str::to_string))
        .collect())
}

pub async fn attach_user_policy(client: &Client, user: &str, arn: &str) -> Result<(), AwsError> {
    client
        .attach_user_policy()
        .user_name(user)
        .policy_arn(arn)
        .send()
        .await
        .map_err(|e| AwsError::from_sdk("iam:AttachUserPolicy", e))?;
    tracing::debug!("iam:AttachUserPolicy {user} {arn}");
    Ok(())
}

/// Detaches; a policy or user that is already gone counts as done.
pub async fn detach_user_policy(client: &Client, user: &str, arn: &str) -> Result<(), AwsError> {
    let result = client
        .detach_user_policy()
        .user_name(user)
        .policy_arn(arn)
        .send()
        .await;
    gone_is_done("iam:DetachUserPolicy", result)
}

pub async fn access_keys(client: &Client, user: &str) -> Result<Vec<AccessKeyInfo>, AwsError> {
    let out = client
        .list_access_keys()
        .user_name(user)
        .send()
        .await
        .map_err(|e| AwsError::from_sdk("iam:ListAccessKeys", e))?;
    let keys: Vec<AccessKeyInfo> = out
        .access_key_metadata()
        .iter()
        .map(|k| AccessKeyInfo {
            id: k.access_key_id().unwrap_or_default().to_string(),
            status: k.status().map_or("Unknown", |s| s.as_str()).to_string(),
            created: k.create_date().map(|d| d.secs()),
        })
        .collect();
    tracing::debug!("iam:ListAccessKeys {user} -> {} key(s)", keys.len());
    Ok(keys)
}

/// Creates a key. Never retried blindly: a retry after a lost answer would make a second key
/// whose secret nobody sees. Only throttling, which AWS answers before doing anything, is
/// tried again; any other failure is returned, and the caller's undo removes whatever key the
/// lost request may have made.
pub async fn create_access_key(client: &Client, user: &str) -> Result<NewAccessKey, AwsError> {
    let mut delay = std::time::Duration::from_millis(200);
    let mut attempt = 1;
    let out = loop {
        let sent = client
            .create_access_key()
            .user_name(user)
            .customize()
            .config_override(
                aws_sdk_iam::config::Builder::default()
                    .retry_config(aws_sdk_iam::config::retry::RetryConfig::disabled()),
            )
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("iam:CreateAccessKey", e));
        match sent {
            Err(e)
                if attempt < 4
                    && matches!(
                        e.code.as_deref(),
                        Some("Throttling" | "ThrottlingException" | "RequestLimitExceeded")
                    ) =>
            {
                tokio::time::sleep(delay).await;
                delay *= 2;
                attempt += 1;
            }
            other => break other?,
        }
    };
    let key = out
        .access_key()
        .ok_or_else(|| AwsError::new("iam:CreateAccessKey", "no key in the response"))?;
    tracing::debug!("iam:CreateAccessKey {user} -> {}", key.access_key_id());
    Ok(NewAccessKey {
        id: key.access_key_id().to_string(),
        secret: Secret(key.secret_access_key().to_string()),
    })
}

/// Deletes; a key that is already gone counts as done.
pub async fn delete_access_key(client: &Client, user: &str, id: &str) -> Result<(), AwsError> {
    let result = client
        .delete_access_key()
        .user_name(user)
        .access_key_id(id)
        .send()
        .await;
    gone_is_done("iam:DeleteAccessKey", result)
}

/// Names of the user's inline policies.
pub async fn user_inline_policies(client: &Client, user: &str) -> Result<Vec<String>, AwsError> {
    let out = client
        .list_user_policies()
        .user_name(user)
        .send()
        .await
        .map_err(|e| AwsError::from_sdk("iam:ListUserPolicies", e))?;
    Ok(out.policy_names().to_vec())
}

pub async fn delete_user_inline_policy(
    client: &Client,
    user: &str,
    name: &str,
) -> Result<(), AwsError> {
    client
        .delete_user_policy()
        .user_name(user)
        .policy_name(name)
        .send()
        .await
        .map_err(|e| AwsError::from_sdk("iam:DeleteUserPolicy", e))?;
    Ok(())
}

pub async fn groups_for_user(client: &Client, user: &str) -> Result<Vec<String>, AwsError> {
    let out = client
        .list_groups_for_user()
        .user_name(user)
        .send()
        .await
        .map_err(|e| AwsError::from_sdk("iam:ListGroupsForUser", e))?;
    Ok(out
        .groups()
        .iter()
        .map(|g| g.group_name().to_string())
        .collect())
}

pub async fn remove_user_from_group(
    client: &Client,
    user: &str,
    group: &str,
) -> Result<(), AwsError> {
    client
        .remove_user_from_group()
        .user_name(user)
        .group_name(group)
        .send()
        .await
        .map_err(|e| AwsError::from_sdk("iam:RemoveUserFromGroup", e))?;
    Ok(())
}
