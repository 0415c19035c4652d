//! The calls that exist for a role and a user alike, each taking the one `Who`: attach and
//! detach a managed policy, list and delete inline policies, list the attached ones.

use aws_sdk_iam::Client;

use crate::aws::send::{send, Absent};
use crate::error::AwsError;
use crate::inputs::Who;

/// The ARNs of the managed policies attached to the role or user.
pub(crate) async fn attached(client: &Client, who: &Who) -> Result<Vec<String>, AwsError> {
    let name = who.name();
    let items = match who {
        Who::Role(_) => {
            let request = client
                .list_attached_role_policies()
                .role_name(name)
                .into_paginator()
                .items()
                .send()
                .collect::<Result<Vec<_>, _>>();
            send("iam:ListAttachedRolePolicies", name, request).await?
        }
        Who::User(_) => {
            let request = client
                .list_attached_user_policies()
                .user_name(name)
                .into_paginator()
                .items()
                .send()
                .collect::<Result<Vec<_>, _>>();
            send("iam:ListAttachedUserPolicies", name, request).await?
        }
    };
    Ok(items
        .iter()
        .filter_map(|p| p.policy_arn().map(str::to_string))
        .collect())
}

pub(crate) async fn attach_policy(client: &Client, who: &Who, arn: &str) -> Result<(), AwsError> {
    let name = who.name();
    let subject = format!("{name} {arn}");
    match who {
        Who::Role(_) => {
            let request = client.attach_role_policy().role_name(name).policy_arn(arn);
            send("iam:AttachRolePolicy", &subject, request.send()).await?;
        }
        Who::User(_) => {
            let request = client.attach_user_policy().user_name(name).policy_arn(arn);
            send("iam:AttachUserPolicy", &subject, request.send()).await?;
        }
    }
    Ok(())
}

/// Detaches; a policy, role or user that is already gone counts as done.
pub(crate) async fn detach_policy(client: &Client, who: &Who, arn: &str) -> Result<(), AwsError> {
    let name = who.name();
    let subject = format!("{name} {arn}");
    match who {
        Who::Role(_) => {
            let request = client.detach_role_policy().role_name(name).policy_arn(arn);
            send("iam:DetachRolePolicy", &subject, request.send())
                .await
                .gone_is_done()
        }
        Who::User(_) => {
            let request = client.detach_user_policy().user_name(name).policy_arn(arn);
            send("iam:DetachUserPolicy", &subject, request.send())
                .await
                .gone_is_done()
        }
    }
}

/// The names of the role's or user's inline policies.
pub(crate) async fn inline_names(client: &Client, who: &Who) -> Result<Vec<String>, AwsError> {
    let name = who.name();
    let names = match who {
        Who::Role(_) => {
            let request = client.list_role_policies().role_name(name);
            let out = send("iam:ListRolePolicies", name, request.send()).await?;
            out.policy_names().to_vec()
        }
        Who::User(_) => {
            let request = client.list_user_policies().user_name(name);
            let out = send("iam:ListUserPolicies", name, request.send()).await?;
            out.policy_names().to_vec()
        }
    };
    Ok(names)
}

pub(crate) async fn delete_inline_policy(
    client: &Client,
    who: &Who,
    policy: &str,
) -> Result<(), AwsError> {
    let name = who.name();
    let subject = format!("{name} {policy}");
    match who {
        Who::Role(_) => {
            let request = client
                .delete_role_policy()
                .role_name(name)
                .policy_name(policy);
            send("iam:DeleteRolePolicy", &subject, request.send()).await?;
        }
        Who::User(_) => {
            let request = client
                .delete_user_policy()
                .user_name(name)
                .policy_name(policy);
            send("iam:DeleteUserPolicy", &subject, request.send()).await?;
        }
    }
    Ok(())
}
