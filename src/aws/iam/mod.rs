//! IAM: roles, users, their access keys, managed and inline policies, boundaries and tags;
//! and the tags by which the tool knows what it made (`managed-by`, the run). Each function is
//! one operation; the order of operations is `apply`'s and `commands`'.

use aws_sdk_iam::types::Tag;

use crate::inputs::{Guardrails, TagPair, MANAGED_BY_KEY, MANAGED_BY_VALUE};

mod account;
mod credentials;
mod guardrails;
mod policies;
mod principal;
mod read;
mod role;
mod user;

pub(crate) use account::{authorization_details, principals, Details, HeldRole, Principals};
pub(crate) use credentials::{
    delete_virtual_mfa_device, other_credentials, remove_credential, Credential,
};
pub(crate) use guardrails::{
    delete_boundary, put_boundary, tag_policy, tag_principal, untag_policy, untag_principal,
};
pub(crate) use policies::{
    create_default_policy_version, create_policy, delete_policy, delete_policy_version, get_policy,
    policy_document, policy_versions,
};
pub(crate) use principal::{
    attach_policy, attached, delete_inline_policy, detach_policy, inline_names,
};
pub(crate) use read::{
    account_quota, attached_group_policies, attached_policies, inline_documents, inline_policies,
    inline_policy, inline_policy_names, simulate, Holder, Sample, Simulated,
};
pub(crate) use role::{
    create_role, delete_role, delete_role_boundary, get_role, list_roles, put_role_policy,
    remove_role_from_instance_profile, role_instance_profiles, update_role_description,
    update_trust, ListedRole,
};
pub(crate) use user::{
    access_keys, create_access_key, create_user, delete_access_key, delete_user, get_user,
    groups_for_user, list_users, remove_user_from_group, NewAccessKey, Secret,
};

pub(crate) fn managed_by_tag() -> Tag {
    Tag::builder()
        .key(MANAGED_BY_KEY)
        .value(MANAGED_BY_VALUE)
        .build()
        .expect("key and value are set")
}

/// The tag that names the run that created a role, user or policy (see [`crate::aws::Run`]).
pub(crate) const RUN_TAG: &str = "serverless-s3-setup:run";

/// `managed-by`, the run, and the user's `--tag`s, for a resource being created.
fn tags_for(guard: &Guardrails, run: &crate::aws::Run) -> Vec<Tag> {
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
pub(crate) fn made_by(tags: &[(String, String)], run: &crate::aws::Run) -> bool {
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
pub(crate) struct PolicyVersion {
    pub(crate) id: String,
    pub(crate) is_default: bool,
}

#[cfg(test)]
mod tests;
