//! What an organization asks of roles and users: permissions boundaries and tags.

use aws_sdk_iam::types::Tag;
use aws_sdk_iam::Client;

use crate::aws::send::send;
use crate::error::AwsError;
use crate::inputs::{TagPair, Who};

use super::tag;

/// Sets the principal's permissions boundary.
pub(crate) async fn put_boundary(
    client: &Client,
    who: &Who,
    boundary: &str,
) -> Result<(), AwsError> {
    match who {
        Who::Role(name) => {
            let request = client
                .put_role_permissions_boundary()
                .role_name(name.as_str())
                .permissions_boundary(boundary);
            let subject = format!("{name} {boundary}");
            send("iam:PutRolePermissionsBoundary", &subject, request.send()).await?;
        }
        Who::User(name) => {
            let request = client
                .put_user_permissions_boundary()
                .user_name(name.as_str())
                .permissions_boundary(boundary);
            let subject = format!("{name} {boundary}");
            send("iam:PutUserPermissionsBoundary", &subject, request.send()).await?;
        }
    }
    Ok(())
}

/// Adds or overwrites tags on the principal.
pub(crate) async fn tag_principal(
    client: &Client,
    who: &Who,
    tags: &[TagPair],
) -> Result<(), AwsError> {
    let tags: Vec<Tag> = tags.iter().map(tag).collect();
    match who {
        Who::Role(name) => {
            let request = client
                .tag_role()
                .role_name(name.as_str())
                .set_tags(Some(tags));
            send("iam:TagRole", name.as_str(), request.send()).await?;
        }
        Who::User(name) => {
            let request = client
                .tag_user()
                .user_name(name.as_str())
                .set_tags(Some(tags));
            send("iam:TagUser", name.as_str(), request.send()).await?;
        }
    }
    Ok(())
}

/// Adds or overwrites tags on a managed policy.
pub(crate) async fn tag_policy(
    client: &Client,
    arn: &str,
    tags: &[TagPair],
) -> Result<(), AwsError> {
    let request = client
        .tag_policy()
        .policy_arn(arn)
        .set_tags(Some(tags.iter().map(tag).collect()));
    send("iam:TagPolicy", arn, request.send()).await?;
    Ok(())
}

/// Takes the principal's permissions boundary off.
pub(crate) async fn delete_boundary(client: &Client, who: &Who) -> Result<(), AwsError> {
    match who {
        Who::Role(name) => super::delete_role_boundary(client, name.as_str()).await,
        Who::User(name) => {
            let request = client
                .delete_user_permissions_boundary()
                .user_name(name.as_str());
            send(
                "iam:DeleteUserPermissionsBoundary",
                name.as_str(),
                request.send(),
            )
            .await?;
            Ok(())
        }
    }
}

/// Takes tags off the principal, by key.
pub(crate) async fn untag_principal(
    client: &Client,
    who: &Who,
    keys: &[String],
) -> Result<(), AwsError> {
    match who {
        Who::Role(name) => {
            let request = client
                .untag_role()
                .role_name(name.as_str())
                .set_tag_keys(Some(keys.to_vec()));
            send("iam:UntagRole", name.as_str(), request.send()).await?;
        }
        Who::User(name) => {
            let request = client
                .untag_user()
                .user_name(name.as_str())
                .set_tag_keys(Some(keys.to_vec()));
            send("iam:UntagUser", name.as_str(), request.send()).await?;
        }
    }
    Ok(())
}

/// Takes tags off a managed policy, by key.
pub(crate) async fn untag_policy(
    client: &Client,
    arn: &str,
    keys: &[String],
) -> Result<(), AwsError> {
    let request = client
        .untag_policy()
        .policy_arn(arn)
        .set_tag_keys(Some(keys.to_vec()));
    send("iam:UntagPolicy", arn, request.send()).await?;
    Ok(())
}
