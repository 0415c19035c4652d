use aws_sdk_iam::types::Tag;
use aws_sdk_iam::Client;
use serde_json::Value;

use crate::error::{AwsError, Kind};
use crate::facts::{AccessKeyInfo, PolicyInfo, RoleInfo, UserInfo};
use crate::inputs::{Guardrails, TagPair, MANAGED_BY_KEY, MANAGED_BY_VALUE};
use crate::policy;

/// The result of a delete or detach, where "already gone" counts as done.
fn gone_is_done<T, E>(
    operation: &'static str,
    result: Result<
        T,
        aws_smithy_runtime_api::client::result::SdkError<
            E,
            aws_smithy_runtime_api::client::orchestrator::HttpResponse,
        >,
    >,
) -> Result<(), AwsError>
where
    E: aws_sdk_iam::error::ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    match result {
        Ok(_) => {
            crate::debug!("{operation}");
            Ok(())
        }
        Err(e) => {
            let e = AwsError::from_sdk(operation, e);
            match e.kind {
                Kind::NoSuchEntity => Ok(()),
                _ => Err(e),
            }
        }
    }
}

pub fn managed_by_tag() -> Tag {
    Tag::builder()
        .key(MANAGED_BY_KEY)
        .value(MANAGED_BY_VALUE)
        .build()
        .expect("key and value are set")
}

/// The tag that names the run that created a role, user or policy (see [`super::Run`]).
pub const RUN_TAG: &str = "serverless-s3-setup:run";

/// `managed-by`, the run, and the user's `--tag`s, for a resource being created.
fn tags_for(guard: &Guardrails, run: &super::Run) -> Vec<Tag> {
    let run = Tag::builder()
        .key(RUN_TAG)
        .value(run.as_str())
        .build()
        .expect("key and value are set");
    [managed_by_tag(), run]
        .into_iter()
        .chain(guard.all_tags().map(tag))
        .collect()
}

/// Whether these tags say the resource was created by `run`.
pub fn made_by(tags: &[(String, String)], run: &super::Run) -> bool {
    tags.iter().any(|(k, v)| k == RUN_TAG && v == run.as_str())
}

fn tag(t: &TagPair) -> Tag {
    Tag::builder()
        .key(&t.key)
        .value(&t.value)
        .build()
        .expect("key and value are set")
}

fn pairs(tags: &[Tag]) -> Vec<(String, String)> {
    tags.iter()
        .map(|t| (t.key().to_string(), t.value().to_string()))
        .collect()
}

/// The tags the template sets on the role it makes: the stack and its region.
pub const STACK_TAG: &str = "serverless-s3-setup:stack";
pub const STACK_REGION_TAG: &str = "serverless-s3-setup:region";

fn tag_value(tags: &[Tag], key: &str) -> Option<String> {
    tags.iter()
        .find(|t| t.key() == key)
        .map(|t| t.value().to_string())
}

fn is_managed(tags: &[Tag]) -> bool {
    tags.iter()
        .any(|t| t.key() == MANAGED_BY_KEY && t.value() == MANAGED_BY_VALUE)
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
                attachments: p.attachment_count().unwrap_or(0),
                tags: pairs(p.tags()),
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
    guard: &Guardrails,
    run: &super::Run,
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
    guard: &Guardrails,
    run: &super::Run,
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

/// Deletes; a policy that is already gone counts as done.
pub async fn delete_policy(client: &Client, arn: &str) -> Result<(), AwsError> {
    let result = client.delete_policy().policy_arn(arn).send().await;
    gone_is_done("iam:DeletePolicy", result)
}

/// A secret access key. It is shown once, on stdout or in a 0600 file; `Debug` never shows it.
#[derive(Clone, serde::Serialize)]
#[serde(transparent)]
pub struct Secret(String);

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
            crate::debug!("iam:GetUser {name} -> {}", user.arn());
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
            crate::debug!("iam:GetUser {name} -> none");
            Ok(None)
        }
        Err(e) => Err(AwsError::from_sdk("iam:GetUser", e)),
    }
}

pub async fn create_user(
    client: &Client,
    name: &str,
    guard: &Guardrails,
    run: &super::Run,
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
    crate::debug!("iam:CreateUser {name} -> {arn}");
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
    crate::debug!("iam:AttachUserPolicy {user} {arn}");
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
    crate::debug!("iam:ListAccessKeys {user} -> {} key(s)", keys.len());
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
    crate::debug!("iam:CreateAccessKey {user} -> {}", key.access_key_id());
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_never_shows_in_debug_output() {
        let key = NewAccessKey {
            id: "AKIAEXAMPLE0000000001".into(),
            secret: Secret("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY".into()),
        };
        let debug = format!("{key:?} {:#?}", key);
        assert!(!debug.contains("wJalr"), "{debug}");
        assert!(debug.contains("AKIAEXAMPLE0000000001"));
        assert_eq!(
            key.secret.expose(),
            "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
        );
    }

    #[test]
    fn key_ages_read_naturally() {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64;
        let key = |ago: i64| AccessKeyInfo {
            id: "A".into(),
            status: "Active".into(),
            created: Some(now - ago),
        };
        assert_eq!(key(5).age(), "created just now");
        assert_eq!(key(3 * 3600 + 5).age(), "created 3 hours ago");
        assert_eq!(key(86_400 + 5).age(), "created 1 day ago");
    }
}

/// The documents of every inline policy of a role, user or group that parse, labelled
/// `inline policy NAME`.
pub async fn inline_documents(
    client: &Client,
    kind: PrincipalKind,
    name: &str,
) -> Result<Vec<(String, Value)>, AwsError> {
    Ok(inline_policies(client, kind, name)
        .await?
        .into_iter()
        .filter_map(|(policy, doc)| Some((format!("inline policy {policy}"), doc?)))
        .collect())
}

/// Every inline policy of a role, user or group: its name and its document, `None` when the
/// document does not parse.
pub async fn inline_policies(
    client: &Client,
    kind: PrincipalKind,
    name: &str,
) -> Result<Vec<(String, Option<Value>)>, AwsError> {
    let names: Vec<String> = match kind {
        PrincipalKind::Role => client
            .list_role_policies()
            .role_name(name)
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("iam:ListRolePolicies", e))?
            .policy_names()
            .to_vec(),
        PrincipalKind::User => user_inline_policies(client, name).await?,
        PrincipalKind::Group => client
            .list_group_policies()
            .group_name(name)
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("iam:ListGroupPolicies", e))?
            .policy_names()
            .to_vec(),
    };
    let mut docs = Vec::new();
    for policy in names {
        let text = match kind {
            PrincipalKind::Role => client
                .get_role_policy()
                .role_name(name)
                .policy_name(&policy)
                .send()
                .await
                .map_err(|e| AwsError::from_sdk("iam:GetRolePolicy", e))?
                .policy_document()
                .to_string(),
            PrincipalKind::User => client
                .get_user_policy()
                .user_name(name)
                .policy_name(&policy)
                .send()
                .await
                .map_err(|e| AwsError::from_sdk("iam:GetUserPolicy", e))?
                .policy_document()
                .to_string(),
            PrincipalKind::Group => client
                .get_group_policy()
                .group_name(name)
                .policy_name(&policy)
                .send()
                .await
                .map_err(|e| AwsError::from_sdk("iam:GetGroupPolicy", e))?
                .policy_document()
                .to_string(),
        };
        let doc = policy::from_wire(&text);
        docs.push((policy, doc));
    }
    Ok(docs)
}

/// Which kind of IAM identity a call is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PrincipalKind {
    Role,
    User,
    Group,
}

pub async fn attached_group_policies(
    client: &Client,
    group: &str,
) -> Result<Vec<String>, AwsError> {
    let out = client
        .list_attached_group_policies()
        .group_name(group)
        .send()
        .await
        .map_err(|e| AwsError::from_sdk("iam:ListAttachedGroupPolicies", e))?;
    Ok(out
        .attached_policies()
        .iter()
        .filter_map(|p| p.policy_arn().map(str::to_string))
        .collect())
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

/// The default-version document of each managed policy, labelled by ARN.
pub async fn managed_documents(
    client: &Client,
    arns: &[String],
) -> Result<Vec<(String, Value)>, AwsError> {
    let mut docs = Vec::new();
    for arn in arns {
        let Some(info) = get_policy(client, arn).await? else {
            continue;
        };
        if let Some(doc) = policy_document(client, arn, &info.default_version).await? {
            docs.push((format!("policy {arn}"), doc));
        }
    }
    Ok(docs)
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

/// What IAM's policy simulator answered for one sample request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Simulated {
    pub allowed: bool,
    /// Context keys the simulator says it needed and was not given.
    pub missing_context: Vec<String>,
}

/// A sample request for the simulator: an action on a concrete resource, with context entries
/// (key, type: `string` or `boolean`, value).
#[derive(Debug, Clone)]
pub struct Sample {
    pub action: String,
    pub resource: String,
    pub context: Vec<(String, &'static str, String)>,
}

/// IAM's policy simulator on each sample; `None` when the endpoint does not answer it (moto
/// has none), so that the local evaluation stands alone. Not retried: it only confirms.
pub async fn simulate(
    client: &Client,
    principal_arn: &str,
    samples: &[Sample],
) -> Option<Vec<Simulated>> {
    use aws_sdk_iam::types::{ContextEntry, ContextKeyTypeEnum};
    let mut results = Vec::new();
    for sample in samples {
        let entries: Vec<ContextEntry> = sample
            .context
            .iter()
            .map(|(key, kind, value)| {
                ContextEntry::builder()
                    .context_key_name(key)
                    .context_key_type(match *kind {
                        "boolean" => ContextKeyTypeEnum::Boolean,
                        _ => ContextKeyTypeEnum::String,
                    })
                    .context_key_values(value)
                    .build()
            })
            .collect();
        let out = client
            .simulate_principal_policy()
            .policy_source_arn(principal_arn)
            .action_names(&sample.action)
            .resource_arns(&sample.resource)
            .set_context_entries(Some(entries))
            .customize()
            .config_override(
                aws_sdk_iam::config::Builder::default()
                    .retry_config(aws_sdk_iam::config::retry::RetryConfig::disabled()),
            )
            .send()
            .await
            .ok()?;
        let result = out.evaluation_results().first()?;
        crate::debug!(
            "iam:SimulatePrincipalPolicy {} {} -> {}",
            sample.action,
            sample.resource,
            result.eval_decision().as_str()
        );
        results.push(Simulated {
            allowed: result.eval_decision().as_str() == "allowed",
            missing_context: result.missing_context_values().to_vec(),
        });
    }
    Some(results)
}

/// A role or a user, for the calls that exist for both.
#[derive(Debug, Clone, Copy)]
pub enum Principal<'a> {
    Role(&'a str),
    User(&'a str),
}

/// Sets the principal's permissions boundary.
pub async fn put_boundary(
    client: &Client,
    who: Principal<'_>,
    boundary: &str,
) -> Result<(), AwsError> {
    match who {
        Principal::Role(name) => client
            .put_role_permissions_boundary()
            .role_name(name)
            .permissions_boundary(boundary)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| AwsError::from_sdk("iam:PutRolePermissionsBoundary", e)),
        Principal::User(name) => client
            .put_user_permissions_boundary()
            .user_name(name)
            .permissions_boundary(boundary)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| AwsError::from_sdk("iam:PutUserPermissionsBoundary", e)),
    }?;
    crate::debug!("iam:Put*PermissionsBoundary {who:?} {boundary}");
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
    crate::debug!("iam:DeleteRolePermissionsBoundary {role}");
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
    crate::debug!("iam:PutRolePolicy {role} {name}");
    Ok(())
}

/// Adds or overwrites tags on the principal.
pub async fn tag_principal(
    client: &Client,
    who: Principal<'_>,
    tags: &[TagPair],
) -> Result<(), AwsError> {
    let tags: Vec<Tag> = tags.iter().map(tag).collect();
    match who {
        Principal::Role(name) => client
            .tag_role()
            .role_name(name)
            .set_tags(Some(tags))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| AwsError::from_sdk("iam:TagRole", e)),
        Principal::User(name) => client
            .tag_user()
            .user_name(name)
            .set_tags(Some(tags))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| AwsError::from_sdk("iam:TagUser", e)),
    }?;
    crate::debug!("iam:Tag* {who:?}");
    Ok(())
}

/// Adds or overwrites tags on a managed policy.
pub async fn tag_policy(client: &Client, arn: &str, tags: &[TagPair]) -> Result<(), AwsError> {
    client
        .tag_policy()
        .policy_arn(arn)
        .set_tags(Some(tags.iter().map(tag).collect()))
        .send()
        .await
        .map_err(|e| AwsError::from_sdk("iam:TagPolicy", e))?;
    crate::debug!("iam:TagPolicy {arn}");
    Ok(())
}
