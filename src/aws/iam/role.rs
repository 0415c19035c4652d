//! Roles: read, create, trust, attach, and what must go before a role can be deleted.

use aws_sdk_iam::Client;
use serde_json::Value;

use crate::aws::send::{send, Absent};
use crate::error::AwsError;
use crate::facts::RoleInfo;
use crate::inputs::Guardrails;
use crate::policy;
use crate::template::{STACK_REGION_TAG, STACK_TAG};

use super::{is_managed, pairs, tag_value, tags_for};

pub(crate) async fn get_role(client: &Client, name: &str) -> Result<Option<RoleInfo>, AwsError> {
    let out = send(
        "iam:GetRole",
        name,
        client.get_role().role_name(name).send(),
    )
    .await
    .absent_is_none()?;
    Ok(out.as_ref().and_then(|out| out.role()).map(|role| {
        role_info(
            role.arn(),
            role.tags(),
            role.assume_role_policy_document(),
            Some(role.create_date()),
            role.permissions_boundary(),
        )
        .described(role.description())
    }))
}

/// A role as IAM holds it, from the fields that GetRole and GetAccountAuthorizationDetails
/// both answer (the description is GetRole's only).
pub(super) fn role_info(
    arn: &str,
    tags: &[aws_sdk_iam::types::Tag],
    trust: Option<&str>,
    created: Option<&aws_smithy_types::DateTime>,
    boundary: Option<&aws_sdk_iam::types::AttachedPermissionsBoundary>,
) -> RoleInfo {
    RoleInfo {
        arn: arn.to_string(),
        managed: is_managed(tags),
        trust: trust.and_then(policy::from_wire),
        created: created.map(aws_smithy_types::DateTime::secs),
        stack: tag_value(tags, STACK_TAG),
        stack_region: tag_value(tags, STACK_REGION_TAG),
        boundary: boundary
            .and_then(|b| b.permissions_boundary_arn())
            .map(str::to_string),
        tags: pairs(tags),
        description: None,
    }
}

/// A role as ListRoles gives it: its name and description. ListRoles returns no tags
/// ("ListRoles", IAM API Reference), so the description is what tells the roles this tool
/// made (`… (serverless-s3-setup)`, as the tool and its template write it).
#[derive(Debug, Clone)]
pub(crate) struct ListedRole {
    pub(crate) name: String,
    pub(crate) description: Option<String>,
}

impl ListedRole {
    /// Whether its description says this tool made it.
    pub(crate) fn ours(&self) -> bool {
        self.description
            .as_deref()
            .is_some_and(|d| d.ends_with("(serverless-s3-setup)"))
    }
}

/// Every role of the account, in pages of 1,000, IAM's most, so that a large account takes
/// few rounds.
pub(crate) async fn list_roles(client: &Client) -> Result<Vec<ListedRole>, AwsError> {
    let request = client
        .list_roles()
        .max_items(1000)
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>();
    let roles = send("iam:ListRoles", "", request).await?;
    Ok(roles
        .iter()
        .map(|r| ListedRole {
            name: r.role_name().to_string(),
            description: r.description().map(str::to_string),
        })
        .collect())
}

/// Sets the role's description, which names the access and the location it serves.
pub(crate) async fn update_role_description(
    client: &Client,
    role: &str,
    description: &str,
) -> Result<(), AwsError> {
    let request = client
        .update_role()
        .role_name(role)
        .description(policy::description(description));
    send("iam:UpdateRole", role, request.send()).await?;
    Ok(())
}

pub(crate) async fn create_role(
    client: &Client,
    name: &str,
    trust: &Value,
    description: &str,
    guard: &Guardrails,
    run: &crate::aws::Run,
) -> Result<String, AwsError> {
    let request = client
        .create_role()
        .role_name(name)
        .path(guard.path.as_str())
        .set_permissions_boundary(guard.permissions_boundary.as_ref().map(|b| b.to_string()))
        .assume_role_policy_document(policy::to_wire(trust))
        .description(policy::description(description))
        .set_tags(Some(tags_for(guard, run)));
    let out = send("iam:CreateRole", name, request.send()).await?;
    Ok(out.role().map(|r| r.arn()).unwrap_or_default().to_string())
}

pub(crate) async fn update_trust(
    client: &Client,
    role: &str,
    trust: &Value,
) -> Result<(), AwsError> {
    let request = client
        .update_assume_role_policy()
        .role_name(role)
        .policy_document(policy::to_wire(trust));
    send("iam:UpdateAssumeRolePolicy", role, request.send()).await?;
    Ok(())
}

/// Deletes; a role that is already gone counts as done.
pub(crate) async fn delete_role(client: &Client, role: &str) -> Result<(), AwsError> {
    let request = client.delete_role().role_name(role);
    send("iam:DeleteRole", role, request.send())
        .await
        .gone_is_done()
}

/// Instance profiles that hold the role; AWS refuses to delete a role that is in one.
pub(crate) async fn role_instance_profiles(
    client: &Client,
    role: &str,
) -> Result<Vec<String>, AwsError> {
    let request = client.list_instance_profiles_for_role().role_name(role);
    let out = send("iam:ListInstanceProfilesForRole", role, request.send()).await?;
    Ok(out
        .instance_profiles()
        .iter()
        .map(|p| p.instance_profile_name().to_string())
        .collect())
}

pub(crate) async fn remove_role_from_instance_profile(
    client: &Client,
    role: &str,
    profile: &str,
) -> Result<(), AwsError> {
    let request = client
        .remove_role_from_instance_profile()
        .role_name(role)
        .instance_profile_name(profile);
    let subject = format!("{role} {profile}");
    send(
        "iam:RemoveRoleFromInstanceProfile",
        &subject,
        request.send(),
    )
    .await?;
    Ok(())
}

/// Takes the role's permissions boundary off.
pub(crate) async fn delete_role_boundary(client: &Client, role: &str) -> Result<(), AwsError> {
    let request = client.delete_role_permissions_boundary().role_name(role);
    send("iam:DeleteRolePermissionsBoundary", role, request.send()).await?;
    Ok(())
}

/// Writes (or overwrites) one inline policy of a role.
pub(crate) async fn put_role_policy(
    client: &Client,
    role: &str,
    name: &str,
    doc: &Value,
) -> Result<(), AwsError> {
    let request = client
        .put_role_policy()
        .role_name(role)
        .policy_name(name)
        .policy_document(policy::to_wire(doc));
    send(
        "iam:PutRolePolicy",
        &format!("{role} {name}"),
        request.send(),
    )
    .await?;
    Ok(())
}
