//! Users and their access keys; a secret is shown once and never logged.

use aws_sdk_iam::Client;

use crate::aws::send::{send, Absent};
use crate::error::AwsError;
use crate::facts::{AccessKeyInfo, UserInfo};
use crate::inputs::Guardrails;

use super::{is_managed, pairs, tags_for};

/// A secret access key. It is shown once, on stdout or in a 0600 file; `Debug` never shows it.
#[derive(Clone, serde::Serialize)]
#[serde(transparent)]
pub(crate) struct Secret(pub(super) String);

impl Secret {
    pub(crate) fn expose(&self) -> &str {
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
pub(crate) struct NewAccessKey {
    pub(crate) id: String,
    pub(crate) secret: Secret,
}

pub(crate) async fn get_user(client: &Client, name: &str) -> Result<Option<UserInfo>, AwsError> {
    let out = send(
        "iam:GetUser",
        name,
        client.get_user().user_name(name).send(),
    )
    .await
    .absent_is_none()?;
    Ok(out.as_ref().and_then(|out| out.user()).map(|user| {
        user_info(
            user.arn(),
            user.user_id(),
            user.tags(),
            user.permissions_boundary(),
        )
    }))
}

pub(super) fn user_info(
    arn: &str,
    user_id: &str,
    tags: &[aws_sdk_iam::types::Tag],
    boundary: Option<&aws_sdk_iam::types::AttachedPermissionsBoundary>,
) -> UserInfo {
    UserInfo {
        arn: arn.to_string(),
        user_id: user_id.to_string(),
        managed: is_managed(tags),
        boundary: boundary
            .and_then(|b| b.permissions_boundary_arn())
            .map(str::to_string),
        tags: pairs(tags),
    }
}

/// The names of every user of the account, in pages of 1,000, IAM's most. ListUsers returns
/// no tags ("ListUsers", IAM API Reference), and a user has no description, so what tells the
/// tool's users is a read of each.
pub(crate) async fn list_users(client: &Client) -> Result<Vec<String>, AwsError> {
    let request = client
        .list_users()
        .max_items(1000)
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>();
    let users = send("iam:ListUsers", "", request).await?;
    Ok(users.iter().map(|u| u.user_name().to_string()).collect())
}

pub(crate) async fn create_user(
    client: &Client,
    name: &str,
    guard: &Guardrails,
    run: &crate::aws::Run,
) -> Result<String, AwsError> {
    let request = client
        .create_user()
        .user_name(name)
        .path(guard.path.as_str())
        .set_permissions_boundary(guard.permissions_boundary.as_ref().map(|b| b.to_string()))
        .set_tags(Some(tags_for(guard, run)));
    let out = send("iam:CreateUser", name, request.send()).await?;
    Ok(out.user().map(|u| u.arn()).unwrap_or_default().to_string())
}

/// Deletes; a user that is already gone counts as done.
pub(crate) async fn delete_user(client: &Client, name: &str) -> Result<(), AwsError> {
    let request = client.delete_user().user_name(name);
    send("iam:DeleteUser", name, request.send())
        .await
        .gone_is_done()
}

pub(crate) async fn access_keys(
    client: &Client,
    user: &str,
) -> Result<Vec<AccessKeyInfo>, AwsError> {
    let request = client.list_access_keys().user_name(user);
    let out = send("iam:ListAccessKeys", user, request.send()).await?;
    Ok(out
        .access_key_metadata()
        .iter()
        .map(|k| AccessKeyInfo {
            id: k.access_key_id().unwrap_or_default().to_string(),
            status: k.status().map_or("Unknown", |s| s.as_str()).to_string(),
            created: k.create_date().map(|d| d.secs()),
        })
        .collect())
}

/// Creates a key. Never retried blindly: a retry after a lost answer would make a second key
/// whose secret nobody sees. Only throttling, which AWS answers before doing anything, is
/// tried again; any other failure is returned, and the caller's undo removes whatever key the
/// lost request may have made.
pub(crate) async fn create_access_key(
    client: &Client,
    user: &str,
) -> Result<NewAccessKey, AwsError> {
    let mut delay = std::time::Duration::from_millis(200);
    let mut attempt = 1;
    let out = loop {
        let request = client
            .create_access_key()
            .user_name(user)
            .customize()
            .config_override(
                aws_sdk_iam::config::Builder::default()
                    .retry_config(aws_sdk_iam::config::retry::RetryConfig::disabled()),
            );
        // Logs the user's name only: the answer holds the secret.
        match send("iam:CreateAccessKey", user, request.send()).await {
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
pub(crate) async fn delete_access_key(
    client: &Client,
    user: &str,
    id: &str,
) -> Result<(), AwsError> {
    let request = client.delete_access_key().user_name(user).access_key_id(id);
    send(
        "iam:DeleteAccessKey",
        &format!("{user} {id}"),
        request.send(),
    )
    .await
    .gone_is_done()
}

pub(crate) async fn groups_for_user(client: &Client, user: &str) -> Result<Vec<String>, AwsError> {
    let request = client.list_groups_for_user().user_name(user);
    let out = send("iam:ListGroupsForUser", user, request.send()).await?;
    Ok(out
        .groups()
        .iter()
        .map(|g| g.group_name().to_string())
        .collect())
}

pub(crate) async fn remove_user_from_group(
    client: &Client,
    user: &str,
    group: &str,
) -> Result<(), AwsError> {
    let request = client
        .remove_user_from_group()
        .user_name(user)
        .group_name(group);
    send(
        "iam:RemoveUserFromGroup",
        &format!("{user} {group}"),
        request.send(),
    )
    .await?;
    Ok(())
}
