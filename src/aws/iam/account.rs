//! The account's roles and customer-managed policies, whole, from GetAccountAuthorizationDetails:
//! each role with its trust policy, tags, boundary, attached and inline policies (their
//! documents too), and each local policy with its versions' documents. A run of many setups
//! reads it once, in pages of 1,000, instead of five reads for each of its roles.
//!
//! It answers neither a role's description nor a policy's tags ("GetAccountAuthorizationDetails",
//! IAM API Reference: RoleDetail, ManagedPolicyDetail): ListRoles gives the one, GetPolicy the
//! other.

use std::collections::HashMap;

use aws_sdk_iam::operation::get_account_authorization_details::GetAccountAuthorizationDetailsOutput;
use aws_sdk_iam::types::{EntityType, RoleDetail};
use aws_sdk_iam::Client;
use serde_json::Value;

use crate::aws::send::send;
use crate::error::AwsError;
use crate::facts::{RoleInfo, UserInfo};
use crate::policy;

use super::role::{role_info, ListedRole};
use super::user::user_info;

/// What GetAccountAuthorizationDetails gave, when the run began.
#[derive(Debug, Clone, Default)]
pub(crate) struct Details {
    /// By the role's name in lower case: IAM's names ignore case.
    roles: HashMap<String, HeldRole>,
    /// By ARN.
    policies: HashMap<String, HeldPolicy>,
}

/// A role, and the policies it holds.
#[derive(Debug, Clone)]
pub(crate) struct HeldRole {
    pub(crate) info: RoleInfo,
    /// The ARNs of its managed policies.
    pub(crate) attached: Vec<String>,
    /// Its inline policies: each one's name, and its document when that parses.
    pub(crate) inline: Vec<(String, Option<Value>)>,
}

/// A customer-managed policy, without its tags.
#[derive(Debug, Clone)]
pub(crate) struct HeldPolicy {
    pub(crate) default_version: String,
    /// Each version's ID, and its document when that parses.
    versions: Vec<(String, Option<Value>)>,
}

impl Details {
    /// The role of that name, if the account had it.
    pub(crate) fn role(&self, name: &str) -> Option<&HeldRole> {
        self.roles.get(&name.to_lowercase())
    }

    /// The customer-managed policy of that ARN, if the account had it.
    pub(crate) fn policy(&self, arn: &str) -> Option<&HeldPolicy> {
        self.policies.get(arn)
    }

    /// How many roles it holds.
    pub(crate) fn roles(&self) -> usize {
        self.roles.len()
    }

    /// Gives each role the description that ListRoles read.
    pub(crate) fn describe(&mut self, listed: &[ListedRole]) {
        for role in listed {
            if let Some(held) = self.roles.get_mut(&role.name.to_lowercase()) {
                held.info.description.clone_from(&role.description);
            }
        }
    }
}

impl HeldPolicy {
    /// The document of that version; `None` when the policy has no such version (it was read
    /// before the version was made) or its document does not parse.
    pub(crate) fn document(&self, version: &str) -> Option<Option<&Value>> {
        self.versions
            .iter()
            .find(|(id, _)| id == version)
            .map(|(_, doc)| doc.as_ref())
    }
}

/// Roles and users, each by its name.
#[derive(Debug, Default)]
pub(crate) struct Principals {
    pub(crate) roles: Vec<(String, RoleInfo)>,
    pub(crate) users: Vec<(String, UserInfo)>,
}

/// The account's roles and users by name, each with its tags, every page of them: what the
/// tool made is told by its tags in a few requests, however many the account holds (ListRoles
/// and ListUsers return no tags). Roles come without their descriptions.
pub(crate) async fn principals(client: &Client) -> Result<Principals, AwsError> {
    let mut found = Principals::default();
    for page in pages(client, EntityType::User).await? {
        found
            .roles
            .extend(page.role_detail_list().iter().filter_map(detailed_role));
        for user in page.user_detail_list() {
            if let (Some(name), Some(arn), Some(id)) =
                (user.user_name(), user.arn(), user.user_id())
            {
                let info = user_info(arn, id, user.tags(), user.permissions_boundary());
                found.users.push((name.to_string(), info));
            }
        }
    }
    Ok(found)
}

/// The account's roles and customer-managed policies, every page of them.
pub(crate) async fn authorization_details(client: &Client) -> Result<Details, AwsError> {
    let mut details = Details::default();
    for page in pages(client, EntityType::LocalManagedPolicy).await? {
        for role in page.role_detail_list() {
            let Some((name, info)) = detailed_role(role) else {
                continue;
            };
            let held = HeldRole {
                info,
                attached: role
                    .attached_managed_policies()
                    .iter()
                    .filter_map(|p| p.policy_arn().map(str::to_string))
                    .collect(),
                inline: role
                    .role_policy_list()
                    .iter()
                    .filter_map(|p| {
                        let doc = p.policy_document().and_then(policy::from_wire);
                        Some((p.policy_name()?.to_string(), doc))
                    })
                    .collect(),
            };
            details.roles.insert(name.to_lowercase(), held);
        }
        for p in page.policies() {
            let Some(arn) = p.arn() else { continue };
            let held = HeldPolicy {
                default_version: p.default_version_id().unwrap_or("v1").to_string(),
                versions: p
                    .policy_version_list()
                    .iter()
                    .filter_map(|v| {
                        let doc = v.document().and_then(policy::from_wire);
                        Some((v.version_id()?.to_string(), doc))
                    })
                    .collect(),
            };
            details.policies.insert(arn.to_string(), held);
        }
    }
    Ok(details)
}

/// Every page of GetAccountAuthorizationDetails for the roles and `also`, 1,000 to a page.
async fn pages(
    client: &Client,
    also: EntityType,
) -> Result<Vec<GetAccountAuthorizationDetailsOutput>, AwsError> {
    let request = client
        .get_account_authorization_details()
        .filter(EntityType::Role)
        .filter(also)
        .max_items(1000)
        .into_paginator()
        .send()
        .collect::<Result<Vec<_>, _>>();
    send("iam:GetAccountAuthorizationDetails", "", request).await
}

/// A role as the account's read gives it, by its name.
fn detailed_role(role: &RoleDetail) -> Option<(String, RoleInfo)> {
    let info = role_info(
        role.arn()?,
        role.tags(),
        role.assume_role_policy_document(),
        role.create_date(),
        role.permissions_boundary(),
    );
    Some((role.role_name()?.to_string(), info))
}
