//! What this run created, so that a failure or an interrupt can undo it, newest first.

use std::fmt;

use crate::aws::{iam, Clients};
use crate::error::AwsError;
use crate::inputs::{RoleName, Who};

/// Something this run created (or may have: a request that got no answer).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Resource {
    Policy {
        arn: String,
    },
    Role {
        name: String,
    },
    /// A managed policy attached to a role or user.
    Attachment {
        to: Who,
        policy_arn: String,
    },
    /// An inline policy written into a role this run made.
    RolePolicy {
        role: RoleName,
        name: String,
    },
    User {
        name: String,
    },
    Stack {
        name: String,
    },
    /// A new key; until its ID is known, any key not among `before` is this run's.
    AccessKey {
        user: String,
        id: Option<String>,
        before: Vec<String>,
    },
}

impl fmt::Display for Resource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Resource::Policy { arn } => write!(f, "policy {arn}"),
            Resource::Role { name } => write!(f, "role {name}"),
            Resource::Attachment { to, policy_arn } => {
                write!(f, "attachment of {policy_arn} to {to}")
            }
            Resource::RolePolicy { role, name } => {
                write!(f, "inline policy {name} of role {role}")
            }
            Resource::User { name } => write!(f, "user {name}"),
            Resource::Stack { name } => write!(f, "stack {name}"),
            Resource::AccessKey {
                user, id: Some(id), ..
            } => write!(f, "access key {id} of user {user}"),
            Resource::AccessKey { user, id: None, .. } => {
                write!(f, "the new access key of user {user}")
            }
        }
    }
}

impl Resource {
    /// The AWS CLI command that removes it by hand.
    pub(crate) fn removal_command(&self) -> String {
        match self {
            Resource::Policy { arn } => format!("aws iam delete-policy --policy-arn {arn}"),
            Resource::Role { name } => format!("aws iam delete-role --role-name {name}"),
            Resource::Attachment { to, policy_arn } => format!(
                "aws iam detach-{}-policy --{}-name {} --policy-arn {policy_arn}",
                to.kind(),
                to.kind(),
                to.name()
            ),
            Resource::RolePolicy { role, name } => {
                format!("aws iam delete-role-policy --role-name {role} --policy-name {name}")
            }
            Resource::User { name } => format!("aws iam delete-user --user-name {name}"),
            Resource::Stack { name } => {
                format!("aws cloudformation delete-stack --stack-name {name}")
            }
            Resource::AccessKey {
                user, id: Some(id), ..
            } => format!("aws iam delete-access-key --user-name {user} --access-key-id {id}"),
            Resource::AccessKey { user, id: None, before } => format!(
                "aws iam list-access-keys --user-name {user}   # then delete-access-key for any key but {}",
                if before.is_empty() { "none".to_string() } else { before.join(", ") }
            ),
        }
    }

    async fn remove(&self, clients: &Clients) -> Result<(), AwsError> {
        match self {
            Resource::Policy { arn } => {
                crate::apply::when_settled(|| iam::delete_policy(&clients.iam, arn)).await
            }
            Resource::Role { name } => {
                crate::apply::when_settled(|| iam::delete_role(&clients.iam, name)).await
            }
            Resource::Attachment { to, policy_arn } => {
                iam::detach_policy(&clients.iam, to, policy_arn).await
            }
            Resource::RolePolicy { role, name } => {
                iam::delete_inline_policy(&clients.iam, &Who::Role(role.clone()), name).await
            }
            Resource::User { name } => {
                crate::apply::when_settled(|| iam::delete_user(&clients.iam, name)).await
            }
            Resource::Stack { name } => {
                crate::aws::cloudformation::delete_stack_and_wait(&clients.cfn, name).await
            }
            Resource::AccessKey {
                user, id: Some(id), ..
            } => iam::delete_access_key(&clients.iam, user, id).await,
            // The request got no answer, so the key's ID is unknown: any key the user did not
            // hold before this run is the one it created.
            Resource::AccessKey {
                user,
                id: None,
                before,
            } => {
                for key in iam::access_keys(&clients.iam, user).await? {
                    if !before.contains(&key.id) {
                        iam::delete_access_key(&clients.iam, user, &key.id).await?;
                    }
                }
                Ok(())
            }
        }
    }
}

/// The record of one run's creations: each resource, and whether it may exist. A request
/// that got no answer (timeout, dropped connection) may still have taken effect, so only an
/// error that AWS answered clears an entry.
#[derive(Debug, Default)]
pub(crate) struct Journal {
    entries: Vec<(Resource, bool)>,
}

/// A handle to one entry of the journal.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Entry(usize);

impl Journal {
    /// Records the intent before the request is sent, so that an interrupt cannot lose it.
    pub(crate) fn begin(&mut self, resource: Resource) -> Entry {
        self.entries.push((resource, true));
        Entry(self.entries.len() - 1)
    }

    /// Replaces an entry's resource, once its identity is known (a new access key's ID).
    pub(crate) fn identify(&mut self, entry: Entry, resource: Resource) {
        self.entries[entry.0].0 = resource;
    }

    /// Puts an entry back into the undo: what the request made turned out to exist after all
    /// (this run's own create, answered "already exists" on a retry).
    pub(crate) fn confirm(&mut self, entry: Entry) {
        self.entries[entry.0].1 = true;
    }

    /// Takes an entry out of the undo: it is left in AWS on purpose, and the error says so.
    pub(crate) fn release(&mut self, entry: Entry) {
        self.entries[entry.0].1 = false;
    }

    /// Settles an entry with the request's result: an error that AWS answered means nothing
    /// was created.
    pub(crate) fn settle<T>(&mut self, entry: Entry, result: &Result<T, AwsError>) {
        if let Err(e) = result {
            if e.status.is_some() {
                self.entries[entry.0].1 = false;
            }
        }
    }

    /// Whether nothing may need undoing.
    pub(crate) fn is_empty(&self) -> bool {
        self.entries.iter().all(|(_, may_exist)| !may_exist)
    }

    /// Undoes everything, newest first. On failure, returns the text that tells the user
    /// exactly what is left and how to remove it.
    pub(crate) async fn undo(&mut self, clients: &Clients, profile: Option<&str>) -> Undo {
        let mut undone = Vec::new();
        let mut left = Vec::new();
        while let Some((resource, may_exist)) = self.entries.pop() {
            if !may_exist {
                continue;
            }
            match resource.remove(clients).await {
                Ok(()) => undone.push(resource),
                Err(e) => left.push((resource, e)),
            }
        }
        if left.is_empty() {
            return Undo::Clean(undone);
        }
        let suffix = profile
            .map(|p| format!(" --profile {p}"))
            .unwrap_or_default();
        let mut text =
            String::from("The undo could not remove everything this run created. Left in AWS:\n");
        for (resource, e) in &left {
            text.push_str(&format!(
                "  - {resource} (undo failed: {})\n",
                first_line(e)
            ));
        }
        text.push_str("Remove them, in this order, with:\n");
        for (resource, _) in &left {
            text.push_str(&format!("  {}{suffix}\n", resource.removal_command()));
        }
        Undo::Leftovers {
            undone,
            text: text.trim_end().to_string(),
        }
    }
}

/// The first line of an error: what failed, without its fix.
pub(super) fn first_line(e: &AwsError) -> String {
    e.to_string().lines().next().unwrap_or_default().to_string()
}

/// The outcome of an undo.
#[derive(Debug)]
pub(crate) enum Undo {
    Clean(Vec<Resource>),
    Leftovers { undone: Vec<Resource>, text: String },
}
