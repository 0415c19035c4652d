//! What a CloudFormation stack needs: its parameters, its action, and the drift of its role.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::Error;
use crate::facts::{RoleInfo, StackInfo};
use crate::inputs::{is_own_key, ExternalId, Guardrails, IamPath, KmsKeyArn, StackName, TagPair};
use crate::{policy, template};

use super::action::list;
use super::{missing_tags, Action, Documents, RoleInputs, RoleRemake, RoleState, StackSpec};

/// A property of a stack's role that differs from its template: a change made outside
/// CloudFormation. CloudFormation updates what its templates change, not what the live
/// resource holds, so an update leaves drift in place. AWS's way out is to bring the
/// resource back "so that they agree with their template definition" (CloudFormation User
/// Guide, "Detect unmanaged configuration changes to stacks and resources with drift
/// detection"); the run does that through IAM, with the documents the template makes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "property", rename_all = "snake_case")]
pub(crate) enum Drift {
    Trust {
        live: Option<Value>,
        template: Value,
    },
    Policy {
        name: String,
        /// `None`: the inline policy was deleted.
        live: Option<Value>,
        template: Value,
    },
    Boundary {
        live: Option<String>,
        template: Option<String>,
    },
    /// The role's own tags (ownership, access) that are missing or hold another value.
    Tags { missing: Vec<TagPair> },
}

impl Drift {
    pub(crate) fn describe(&self) -> String {
        match self {
            Drift::Trust { .. } => "the trust policy".into(),
            Drift::Policy {
                name, live: None, ..
            } => format!("inline policy {name} (deleted)"),
            Drift::Policy { name, .. } => format!("inline policy {name}"),
            Drift::Boundary {
                template: Some(arn),
                ..
            } => format!("the permissions boundary {arn}"),
            Drift::Boundary {
                live,
                template: None,
            } => format!(
                "no permissions boundary (set by hand: {})",
                live.as_deref().unwrap_or("none")
            ),
            Drift::Tags { missing } => format!("the tags {}", list(missing)),
        }
    }

    /// The documents as they are and as the template has them, for a diff.
    pub(crate) fn documents(&self) -> Option<(Option<&Value>, &Value)> {
        match self {
            Drift::Trust { live, template } | Drift::Policy { live, template, .. } => {
                Some((live.as_ref(), template))
            }
            Drift::Boundary { .. } | Drift::Tags { .. } => None,
        }
    }
}

/// `guard` holds the guardrails the stack keeps: its `PermissionsBoundary` and `RolePath`
/// parameters (in `parameters`) and the tags it carries.
pub(super) fn stack_actions(
    inputs: &RoleInputs,
    guard: &Guardrails,
    state: &RoleState,
    parameters: &BTreeMap<String, String>,
    documents: Documents<'_>,
    region: Option<&str>,
) -> Result<Vec<Action>, Error> {
    let name = inputs
        .stack_name
        .as_ref()
        .expect("a CloudFormation plan has a stack name");
    // A new path would make CloudFormation replace a role whose name is fixed, which it
    // refuses half-way through the update; say so before anything starts.
    if let (Some(_), Some(r), Some(want)) = (&state.stack, &state.role, &inputs.guardrails.path) {
        let has = IamPath::of_arn(&r.arn).unwrap_or_default();
        if has != *want {
            return Err(Error::Conflict(format!(
                "role {} exists at path {has}, not {want}; IAM cannot move it: run with --path {has} (or without --path), or remove it first (serverless-s3-setup teardown --stack-name {name})",
                inputs.role_name
            )));
        }
    }
    let spec = StackSpec {
        stack: name.clone(),
        region: region.map(str::to_string),
        parameters: parameters.clone(),
        // The set of setups goes on the stack, which passes its tags on to the role.
        tags: guard.tags.iter().chain(guard.set_tag()).cloned().collect(),
        template_hash: template::hash(),
    };
    if let Some(s) = &state.stack {
        if !s.managed {
            return Err(Error::NotManaged {
                kind: "stack",
                name: name.to_string(),
                flag: "--stack-name",
            });
        }
        if let Some(e) = unusable(name, s) {
            return Err(e);
        }
    }
    match &state.stack {
        // Every status of CloudFormation's "Stack status codes" page has an honest outcome.
        Some(s)
            if matches!(
                s.status.as_str(),
                "ROLLBACK_COMPLETE" | "ROLLBACK_FAILED" | "REVIEW_IN_PROGRESS"
            ) =>
        {
            Ok(vec![Action::RecreateStack {
                status: s.status.clone(),
                stack: spec,
            }])
        }
        Some(s) => existing_stack(inputs, guard, state, s, spec, documents, region),
        None => no_stack(inputs, state, spec),
    }
}

/// The stack exists: its parameters say what it holds, the live role what AWS holds. A
/// rerun compares both, so a role changed by hand is never "unchanged".
fn existing_stack(
    inputs: &RoleInputs,
    guard: &Guardrails,
    state: &RoleState,
    s: &StackInfo,
    spec: StackSpec,
    documents: Documents<'_>,
    region: Option<&str>,
) -> Result<Vec<Action>, Error> {
    let its_role =
        s.parameters.get("RoleName").map(String::as_str) == Some(inputs.role_name.as_str());
    let mut actions = Vec::new();
    if its_role && state.role.is_none() {
        actions.push(recreate_deleted_role(inputs, guard, documents, &spec));
    }
    let drift = match (its_role, &state.role) {
        (true, Some(role)) => drift(
            inputs,
            s,
            role,
            state.inline.as_deref(),
            &spec.parameters,
            documents,
            region,
        )?,
        _ => Vec::new(),
    };
    let current = same_parameters(&s.parameters, &spec.parameters)
        && s.template_tag.as_deref() == Some(&template::hash())
        // The stack carries the user's tags (UpdateStack replaces the whole list);
        // the template tags the role itself.
        && same_tags(&spec.tags, &s.tags);
    if !current {
        actions.push(Action::UpdateStack(spec));
    }
    if !drift.is_empty() {
        actions.push(Action::RestoreRole {
            name: inputs.role_name.clone(),
            drift,
        });
    }
    Ok(actions)
}

/// No stack of that name here: the role is made by a new stack, unless a role of that name
/// exists, which a new stack could not make.
fn no_stack(inputs: &RoleInputs, state: &RoleState, spec: StackSpec) -> Result<Vec<Action>, Error> {
    match &state.role {
        Some(r) if !r.managed => Err(Error::NotManaged {
            kind: "role",
            name: inputs.role_name.to_string(),
            flag: "--role-name",
        }),
        Some(RoleInfo {
            stack: Some(stack),
            stack_region,
            ..
        }) => Err(Error::Conflict(format!(
            "role {} belongs to stack {stack}, which is not in this region{}; stacks are regional\n  fix: run this again with --region {}",
            inputs.role_name,
            stack_region.as_deref().map(|r| format!(" but in {r}")).unwrap_or_default(),
            stack_region.as_deref().unwrap_or("REGION"),
        ))),
        Some(_) => Err(Error::Conflict(format!(
            "role {} already exists outside any stack (made with --method iam); run with --method iam to bring it up to date, or choose another --role-name",
            inputs.role_name
        ))),
        None => Ok(vec![Action::CreateStack(spec)]),
    }
}

/// Why a stack in this status can be neither updated nor made again by this run, with the way
/// out; `None` when it can be.
fn unusable(name: &StackName, s: &StackInfo) -> Option<Error> {
    match s.status.as_str() {
        // Made again by this run (`RecreateStack`).
        "ROLLBACK_COMPLETE" | "ROLLBACK_FAILED" | "REVIEW_IN_PROGRESS" => None,
        // ContinueUpdateRollback serves UPDATE_ROLLBACK_FAILED only (CloudFormation API
        // Reference, ContinueUpdateRollback); an import this tool never starts has its own way.
        "IMPORT_ROLLBACK_FAILED" => Some(Error::Stack(format!(
            "stack {name} is IMPORT_ROLLBACK_FAILED: a resource import, started outside this tool, could not be rolled back{}\n  fix: find the resource that failed (`aws cloudformation describe-stack-events --stack-name {name}`), set it right by hand, then roll the stack back from the CloudFormation console (or delete it with `aws cloudformation delete-stack --stack-name {name}`, which removes its role) and run this again",
            reason(s)
        ))),
        "UPDATE_ROLLBACK_FAILED" => {
            Some(Error::Stack(format!(
                "stack {name} is {}: CloudFormation could not roll an update back, so the role may be half-changed{}\n  fix: aws cloudformation continue-update-rollback --stack-name {name} (add --resources-to-skip for a resource that cannot roll back), then run this again",
                s.status,
                reason(s)
            )))
        }
        "DELETE_FAILED" => Some(Error::Stack(format!(
            "stack {name} is DELETE_FAILED: a deletion stopped half-way{}\n  fix: remove what blocks it (`aws cloudformation describe-stack-events --stack-name {name}` names the resource), then `aws cloudformation delete-stack --stack-name {name}` and run this again",
            reason(s)
        ))),
        status if status.ends_with("_IN_PROGRESS") => Some(Error::Conflict(format!(
            "stack {name} is busy ({}); wait for it to settle (`aws cloudformation describe-stacks --stack-name {name}`), then run this again",
            s.status
        ))),
        _ => None,
    }
}

/// The stack's role, made again through IAM as the template makes it: the trust, the inline
/// policy, the description, the path, the boundary and the template's tags, the stack and its
/// region among them (the stack's own tags as well, which CloudFormation passes on to what it
/// makes).
fn recreate_deleted_role(
    inputs: &RoleInputs,
    guard: &Guardrails,
    documents: Documents<'_>,
    spec: &StackSpec,
) -> Action {
    let mut guard = guard.clone();
    let owner = [
        (template::STACK_TAG, Some(spec.stack.to_string())),
        (template::STACK_REGION_TAG, spec.region.clone()),
    ];
    for (key, value) in owner {
        if let Some(value) = value {
            guard.recorded.retain(|t| t.key != key);
            guard.recorded.push(TagPair {
                key: key.into(),
                value,
            });
        }
    }
    Action::RecreateDeletedRole(RoleRemake {
        name: inputs.role_name.clone(),
        trust: documents.trust.clone(),
        policy: inputs.policy_name.clone(),
        permissions: documents.permissions.clone(),
        description: template::role_description(
            inputs.access,
            inputs.location.bucket(),
            inputs.location.prefix(),
        ),
        guard,
    })
}

/// What the stack's role holds that its template would not. Only the properties whose
/// parameters stay as they are: CloudFormation rewrites a property whose parameters change
/// (its handler compares the old template's values with the new), so that drift the update
/// itself undoes. A role tagged as another stack's is not this stack's to repair.
pub(super) fn drift(
    inputs: &RoleInputs,
    stack: &StackInfo,
    role: &RoleInfo,
    inline: Option<&[(String, Option<Value>)]>,
    planned: &BTreeMap<String, String>,
    documents: Documents<'_>,
    region: Option<&str>,
) -> Result<Vec<Drift>, Error> {
    let name = inputs
        .stack_name
        .as_ref()
        .map(StackName::as_str)
        .unwrap_or_default();
    refuse_another_owner(inputs, role, name, region)?;
    let unchanged = |keys: &[&str]| {
        keys.iter()
            .all(|k| same_parameter(k, stack.parameters.get(*k), planned.get(*k)))
    };
    let mut drift = Vec::new();
    if unchanged(&["TiDBCloudAccountId", "ExternalId", "MoreExternalIds"])
        && !role
            .trust
            .as_ref()
            .is_some_and(|doc| policy::same(doc, documents.trust))
    {
        drift.push(Drift::Trust {
            live: role.trust.clone(),
            template: documents.trust.clone(),
        });
    }
    let permissions = [
        "PolicyName",
        "BucketName",
        "ObjectPrefix",
        "Access",
        "Tier",
        "KmsKeyArns",
    ];
    if let (Some(inline), true) = (inline, unchanged(&permissions)) {
        let live = inline
            .iter()
            .find(|(n, _)| n == inputs.policy_name.as_str())
            .and_then(|(_, doc)| doc.clone());
        if !live
            .as_ref()
            .is_some_and(|doc| policy::same(doc, documents.permissions))
        {
            drift.push(Drift::Policy {
                name: inputs.policy_name.to_string(),
                live,
                template: documents.permissions.clone(),
            });
        }
    }
    let boundary = planned
        .get("PermissionsBoundary")
        .filter(|b| !b.is_empty())
        .cloned();
    if unchanged(&["PermissionsBoundary"]) && role.boundary != boundary {
        drift.push(Drift::Boundary {
            live: role.boundary.clone(),
            template: boundary,
        });
    }
    let access = planned.get("Access").filter(|_| unchanged(&["Access"]));
    let wanted = template_tags(name, region, access.map(String::as_str));
    let missing = missing_tags(wanted.iter(), &role.tags);
    if !missing.is_empty() {
        drift.push(Drift::Tags { missing });
    }
    Ok(drift)
}

/// Refuses a role that is tagged as another stack's (by name, or by region): one of the
/// two was changed by hand.
fn refuse_another_owner(
    inputs: &RoleInputs,
    role: &RoleInfo,
    name: &str,
    region: Option<&str>,
) -> Result<(), Error> {
    let elsewhere = role
        .stack_region
        .as_deref()
        .zip(region)
        .is_some_and(|(tagged, here)| tagged != here);
    if let Some(owner) = role.stack.as_deref().filter(|o| *o != name || elsewhere) {
        let owner_region = role.stack_region.as_deref().unwrap_or("its region");
        return Err(Error::Conflict(format!(
            "role {} is tagged as the role of stack {owner} in {owner_region}, yet stack {name} here names it too; one of them was changed by hand, and repairing either could break the other\n  fix: see which stack holds it (`aws cloudformation describe-stack-resources --stack-name {owner} --region {owner_region}`), and remove the stack that does not",
            inputs.role_name
        )));
    }
    Ok(())
}

/// The tags the template puts on the role; the access tag follows its parameter, when that
/// is not changing.
fn template_tags(name: &str, region: Option<&str>, access: Option<&str>) -> Vec<TagPair> {
    let mut tags = vec![
        (
            crate::inputs::MANAGED_BY_KEY,
            crate::inputs::MANAGED_BY_VALUE,
        ),
        (template::STACK_TAG, name),
    ];
    tags.extend(region.map(|r| (template::STACK_REGION_TAG, r)));
    tags.extend(access.map(|a| (crate::inputs::ACCESS_TAG, a)));
    tags.into_iter()
        .map(|(key, value)| TagPair {
            key: key.into(),
            value: value.into(),
        })
        .collect()
}

/// Whether the stack carries exactly these tags of the user's, beside this tool's own.
fn same_tags(wanted: &[TagPair], current: &[(String, String)]) -> bool {
    let users: Vec<&(String, String)> = current
        .iter()
        .filter(|(k, _)| !is_own_key(k) || k == crate::inputs::SET_TAG)
        .collect();
    users.len() == wanted.len() && missing_tags(wanted.iter(), current).is_empty()
}

/// Compares a stack's parameters with the planned ones. A list parameter comes back as
/// `a,b` from AWS, but as `['a', 'b']` from moto; both mean the same list.
pub(super) fn same_parameters(
    current: &BTreeMap<String, String>,
    planned: &BTreeMap<String, String>,
) -> bool {
    current.len() == planned.len()
        && planned
            .keys()
            .all(|k| same_parameter(k, current.get(k), planned.get(k)))
}

/// One parameter's two values compared, a list as its items.
pub(super) fn same_parameter(key: &str, a: Option<&String>, b: Option<&String>) -> bool {
    match key {
        "KmsKeyArns" | "MoreExternalIds" => {
            a.map(|v| list_parameter(v)) == b.map(|v| list_parameter(v))
        }
        _ => a == b,
    }
}

/// `: REASON` from DescribeStacks' StackStatusReason, when CloudFormation gave one.
pub(super) fn reason(stack: &StackInfo) -> String {
    stack
        .status_reason
        .as_deref()
        .map(|r| format!(": {r}"))
        .unwrap_or_default()
}

/// A list parameter's items, as AWS (`a,b`) or moto (`['a', 'b']`) spells it.
pub(super) fn list_parameter(v: &str) -> Vec<&str> {
    v.trim_matches(|c| c == '[' || c == ']')
        .split(',')
        .map(|item| item.trim().trim_matches('\''))
        .filter(|item| !item.is_empty())
        .collect()
}

/// The template's parameters for these inputs. Pure, so that the stack can be compared with
/// what the plan wants without asking CloudFormation.
/// `external_ids` are the trust's, worked out by the plan; an ID holding a comma cannot go into
/// the template's comma-separated list.
pub(crate) fn parameters(
    inputs: &RoleInputs,
    guard: &Guardrails,
    kms_keys: &[KmsKeyArn],
    external_ids: &[ExternalId],
) -> Result<BTreeMap<String, String>, Error> {
    let several = external_ids.len() > 1;
    if let Some(id) = external_ids
        .iter()
        .find(|i| several && i.as_str().contains(','))
    {
        return Err(Error::invalid(
            "--external-id",
            format!("{id} holds a comma, which the stack's comma-separated list of external IDs would split; use --method iam"),
        ));
    }
    let keys: Vec<&str> = kms_keys.iter().map(KmsKeyArn::as_str).collect();
    let ids: Vec<&str> = external_ids.iter().map(ExternalId::as_str).collect();
    Ok([
        ("RoleName", inputs.role_name.to_string()),
        ("PolicyName", inputs.policy_name.to_string()),
        ("TiDBCloudAccountId", inputs.tidb_account.to_string()),
        (
            "ExternalId",
            ids.first()
                .copied()
                .unwrap_or(template::NO_EXTERNAL_ID)
                .to_string(),
        ),
        (
            "MoreExternalIds",
            ids.get(1..).unwrap_or_default().join(","),
        ),
        ("Tier", inputs.tier.to_string()),
        ("BucketName", inputs.location.bucket().to_string()),
        ("ObjectPrefix", inputs.location.prefix().to_string()),
        ("Access", inputs.access.to_string()),
        ("KmsKeyArns", keys.join(",")),
        (
            "PermissionsBoundary",
            guard
                .permissions_boundary
                .as_ref()
                .map(|b| b.to_string())
                .unwrap_or_default(),
        ),
        ("RolePath", guard.path.to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect())
}
