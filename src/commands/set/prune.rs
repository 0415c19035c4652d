//! The roles of a file's set: found by the set's tag, and those the file no longer lists
//! deleted (`--prune`) through the teardown path. Nothing outside the set is ever touched.

use futures_util::stream::{self, StreamExt, TryStreamExt};
use serde::Serialize;

use crate::aws::{iam, Clients};
use crate::error::Error;
use crate::inputs::{RoleName, SetName, SET_TAG};
use crate::prompt::NoPrompts;
use crate::Context;

use super::super::teardown::{self, TeardownOutcome};

/// A role of the set: its name, and the stack that made it, if any.
#[derive(Debug, Clone, Serialize)]
pub struct Member {
    pub(crate) role_name: RoleName,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) stack_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) stack_region: Option<String>,
}

impl Member {
    /// What its deletion takes away, for the plan.
    pub(crate) fn describe(&self) -> String {
        match &self.stack_name {
            Some(stack) => format!("stack {stack}, and with it role {}", self.role_name),
            None => format!(
                "role {}, and its policy when nothing else uses it",
                self.role_name
            ),
        }
    }
}

/// Every role this tool made that carries the set's tag. The roles the tool made are picked
/// by their description (ListRoles returns no tags), then read, `parallel` at a time, for
/// their tags: the tag decides, together with `managed-by`.
pub(crate) async fn members(
    clients: &Clients,
    set: &SetName,
    parallel: usize,
) -> Result<Vec<Member>, Error> {
    let names = iam::tool_role_names(&clients.iam).await?;
    let roles: Vec<_> = stream::iter(names)
        .map(|name| async move {
            let role = iam::get_role(&clients.iam, &name).await?;
            Ok::<_, Error>((name, role))
        })
        .buffered(parallel)
        .try_collect()
        .await?;
    Ok(roles
        .into_iter()
        .filter_map(|(name, role)| {
            let role = role?;
            let ours = role.managed && role.principal().tag(SET_TAG) == Some(set.as_str());
            Some(Member {
                role_name: name.parse().ok().filter(|_| ours)?,
                stack_name: role.stack,
                stack_region: role.stack_region,
            })
        })
        .collect())
}

/// Deletes a role of the set as `teardown` would: a stack's role with its stack (in the
/// stack's region), a role made with IAM with its policy when nothing else uses it.
pub(crate) async fn delete(
    ctx: &Context,
    clients: &Clients,
    member: &Member,
) -> Result<TeardownOutcome, Error> {
    let mut unasked = NoPrompts;
    match &member.stack_name {
        Some(stack) => {
            let in_region = member
                .stack_region
                .as_deref()
                .map(|region| clients.with_stacks_in(region));
            let clients = in_region.as_ref().unwrap_or(clients);
            teardown::stack(ctx, clients, &mut unasked, stack, false).await
        }
        None => teardown::role(ctx, clients, &mut unasked, &member.role_name, false).await,
    }
}
