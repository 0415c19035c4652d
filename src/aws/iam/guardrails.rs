//! What an organization asks of roles and users: permissions boundaries and tags.

use aws_sdk_iam::types::Tag;
use aws_sdk_iam::Client;

use crate::error::AwsError;
use crate::inputs::TagPair;

use super::tag;

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
    tracing::debug!("iam:Put*PermissionsBoundary {who:?} {boundary}");
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
    tracing::debug!("iam:Tag* {who:?}");
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
    tracing::debug!("iam:TagPolicy {arn}");
    Ok(())
}
