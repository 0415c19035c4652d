//! Whom the role trusts: the TiDB Cloud account and the external IDs of its clusters.

use serde::{Deserialize, Serialize};

use crate::error::Error;
use crate::inputs::{ExternalId, Partition};
use crate::{policy, template};

use super::stack::list_parameter;
use super::{Method, RoleInputs, RoleState};

/// Which clusters the role trusts after this run, and what changes for each.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct TrustChange {
    /// Every external ID the trust will hold.
    pub(crate) external_ids: Vec<ExternalId>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) external_ids_added: Vec<ExternalId>,
    /// Who loses access: clusters by external ID, the rest of the project, another account.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) losing_access: Vec<String>,
    /// One line each for the plan.
    #[serde(rename = "trust_lines", default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) lines: Vec<String>,
}

impl TrustChange {
    /// A change that takes access away never goes ahead on a default answer.
    pub(crate) fn revokes(&self) -> bool {
        !self.losing_access.is_empty()
    }
}

/// Works out the trust's external IDs from the role as it is and the flags. By default the
/// console's ID is added to those the role has for the same TiDB Cloud account, so a second
/// cluster never takes the first one's access away (IAM's `sts:ExternalId` condition takes a
/// list). `--replace-external-ids`, `--remove-external-id` and `--no-external-id` take access
/// away, and say from whom.
pub(crate) fn trust_change(
    inputs: &RoleInputs,
    method: Method,
    partition: Partition,
    state: &RoleState,
) -> Result<TrustChange, Error> {
    let Trusted {
        exists,
        ids: current,
        principals,
    } = trusted(inputs, method, partition, state);
    let add: Vec<String> = inputs
        .external_id
        .iter()
        .chain(&inputs.more_external_ids)
        .map(|i| i.to_string())
        .collect();
    let mut change = TrustChange::default();
    let ids = trusted_ids(
        inputs,
        current.as_ref(),
        principals,
        &add,
        &mut change.losing_access,
    )?;
    let before = current.unwrap_or_default();
    change.external_ids = ids
        .iter()
        .map(|i| i.parse().map_err(|e| Error::invalid("--external-id", e)))
        .collect::<Result<_, _>>()?;
    change.external_ids_added = change
        .external_ids
        .iter()
        .filter(|i| !before.iter().any(|b| b == i.as_str()))
        .cloned()
        .collect();
    change.lines = describe(&change, &before, exists);
    Ok(change)
}

/// The external IDs the trust holds after this run, from those it holds (`None`: it does
/// not trust TiDB Cloud's account yet) and those given; each cluster that loses access is
/// named in `losing`.
fn trusted_ids(
    inputs: &RoleInputs,
    current: Option<&Vec<String>>,
    principals: Vec<String>,
    add: &[String],
    losing: &mut Vec<String>,
) -> Result<Vec<String>, Error> {
    Ok(match current {
        None => {
            if !principals.is_empty() {
                let before = principals;
                losing.push(format!("{} (trusted until now)", before.join(", ")));
            }
            if add.is_empty() && !inputs.no_external_id {
                return Err(Error::invalid(
                    "--external-id",
                    format!(
                        "is needed: role {} does not trust TiDB Cloud's account {} yet, so there is no external ID to remove",
                        inputs.role_name, inputs.tidb_account
                    ),
                ));
            }
            add.to_vec()
        }
        Some(cur) if inputs.no_external_id => {
            losing.extend(cur.iter().map(|id| {
                format!("the binding to external ID {id}: every cluster of the TiDB Cloud project could then use the role")
            }));
            Vec::new()
        }
        Some(cur) if cur.is_empty() => {
            losing.push(
                "every other cluster of the TiDB Cloud project (the role trusted them all, without an external ID)".into(),
            );
            add.to_vec()
        }
        Some(cur) if inputs.replace_external_ids => {
            losing.extend(
                cur.iter()
                    .filter(|id| !add.contains(*id))
                    .map(|id| format!("the cluster with external ID {id}")),
            );
            add.to_vec()
        }
        Some(cur) => {
            let mut ids = cur.clone();
            for a in add {
                if !ids.contains(a) {
                    ids.push(a.clone());
                }
            }
            for r in &inputs.remove_external_ids {
                if ids.iter().any(|i| i == r.as_str()) {
                    losing.push(format!("the cluster with external ID {r}"));
                }
            }
            ids.retain(|i| !inputs.remove_external_ids.iter().any(|r| r.as_str() == i));
            if ids.is_empty() {
                return Err(Error::invalid(
                    "--remove-external-id",
                    "would remove the last external ID, and a trust without one lets every cluster of the TiDB Cloud project in; pass --no-external-id if that is meant",
                ));
            }
            ids
        }
    })
}

/// What a person reads of the trust change: who keeps access, who is added, who loses it.
fn describe(change: &TrustChange, before: &[String], exists: bool) -> Vec<String> {
    let mut lines = Vec::new();
    let kept: Vec<&str> = change
        .external_ids
        .iter()
        .map(ExternalId::as_str)
        .filter(|i| before.iter().any(|b| b == i))
        .collect();
    if !kept.is_empty() {
        let keep = if kept.len() == 1 { "keeps" } else { "keep" };
        lines.push(format!("{} {keep} access", clusters(&kept)));
    }
    if !change.external_ids_added.is_empty() {
        let added: Vec<&str> = change
            .external_ids_added
            .iter()
            .map(ExternalId::as_str)
            .collect();
        let how = match (exists, added.len()) {
            (true, 1) => "is added",
            (true, _) => "are added",
            (false, _) => "may use the role",
        };
        lines.push(format!("{} {how}", clusters(&added)));
    }
    if change.external_ids.is_empty() {
        lines.push(
            "every cluster of the TiDB Cloud project may use the role (no external ID)".into(),
        );
    }
    for who in &change.losing_access {
        lines.push(format!("loses access: {who}"));
    }
    lines
}

/// `the cluster with external ID a`, or `the clusters with external IDs a, b`.
fn clusters(ids: &[&str]) -> String {
    match ids {
        [one] => format!("the cluster with external ID {one}"),
        _ => format!("the clusters with external IDs {}", ids.join(", ")),
    }
}

/// What the role trusts before this run.
pub(super) struct Trusted {
    /// Whether there is a role (or a stack) already.
    exists: bool,
    /// The external IDs bound to the same TiDB Cloud account; `None` when it does not trust
    /// that account (or does not exist).
    ids: Option<Vec<String>>,
    /// Whom it trusts instead, when not that account.
    principals: Vec<String>,
}

/// The trust as it stands: a role made with IAM holds it in its trust policy; a stack's role
/// holds what the stack's parameters say, which CloudFormation keeps it to.
pub(super) fn trusted(
    inputs: &RoleInputs,
    method: Method,
    partition: Partition,
    state: &RoleState,
) -> Trusted {
    if let (Method::Cloudformation, Some(stack)) = (method, &state.stack) {
        let account = stack.parameters.get("TiDBCloudAccountId");
        if account.map(String::as_str) != Some(inputs.tidb_account.as_str()) {
            return Trusted {
                exists: true,
                ids: None,
                principals: account
                    .map(|a| vec![format!("arn:{partition}:iam::{a}:root")])
                    .unwrap_or_default(),
            };
        }
        let mut ids: Vec<String> = stack
            .parameters
            .get("ExternalId")
            .filter(|i| !i.is_empty() && i.as_str() != template::NO_EXTERNAL_ID)
            .cloned()
            .into_iter()
            .collect();
        if let Some(more) = stack.parameters.get("MoreExternalIds") {
            ids.extend(list_parameter(more).into_iter().map(str::to_string));
        }
        return Trusted {
            exists: true,
            ids: Some(ids),
            principals: Vec::new(),
        };
    }
    let trust = state.role.as_ref().and_then(|r| r.trust.as_ref());
    Trusted {
        exists: state.role.is_some(),
        ids: trust.and_then(|t| policy::trusted_external_ids(t, partition, &inputs.tidb_account)),
        principals: trust.map(policy::trusted_principals).unwrap_or_default(),
    }
}
