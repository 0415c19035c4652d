//! The plan as people read it: what it grants, the documents, and what changes as a diff.

use crate::inputs::{Guardrails, TagPair};
use crate::plan::{Grant, Revision, RolePlan};
use crate::policy;

use super::Ui;
use crate::inputs::folder_uri;

/// The role plan as a person reads it: what was found, what will change, and both documents.
pub(crate) fn render_role_plan(ui: &Ui, plan: &RolePlan) -> String {
    let mut summary = role_summary(ui, plan);
    summary.extend(revision_lines(ui, &plan.grant.revisions));
    let actions = plan.lines();
    let drift = plan.grant.actions.iter().find_map(|a| match a {
        crate::plan::Action::RestoreRole { drift, .. } => Some(drift),
        _ => None,
    });
    // Drift has its own diff, against the template; the update diff is for what this run's
    // inputs change.
    let (trust_now, permissions_now) = match drift {
        Some(_) => (None, None),
        None => (
            plan.current_trust.as_ref(),
            plan.grant.current_permissions.as_ref(),
        ),
    };
    let mut text = render_policy_plan(
        ui,
        &plan.grant,
        &summary,
        &actions,
        &[
            Shown {
                title: "Trust policy",
                now: trust_now,
                planned: &plan.trust_policy,
                grants: false,
            },
            Shown {
                title: "Permissions policy",
                now: permissions_now,
                planned: &plan.grant.permissions_policy,
                grants: true,
            },
        ],
    );
    if let Some(drift) = drift {
        text.push('\n');
        text.push_str(&render_drift(ui, &plan.role_name.to_string(), drift));
    }
    text
}

/// The lines above a role plan's actions: what is given to whom, the names, the tier and
/// who the trust lets in.
fn role_summary(ui: &Ui, plan: &RolePlan) -> Vec<String> {
    let mut summary = vec![
        format!(
            "give TiDB Cloud ({}) {} access to {}",
            plan.tidb_account_id,
            plan.grant.access.in_words(),
            folder_uri(&plan.grant.bucket, &plan.grant.prefix)
        ),
        format!("role:   {} ({})", plan.role_name, plan.role_arn),
    ];
    match (&plan.stack_name, &plan.policy_arn) {
        (Some(stack), _) => {
            summary.push(format!(
                "policy: {} (inline, in the role)",
                plan.grant.policy_name
            ));
            summary.push(format!(
                "stack:  {stack} in {} (CloudFormation, template `serverless-s3-setup template`)",
                plan.stack_region.as_deref().unwrap_or("the default region")
            ));
        }
        (None, Some(arn)) => summary.push(format!("policy: {} ({arn})", plan.grant.policy_name)),
        (None, None) => {}
    }
    summary.push(format!(
        "for:    {} ({})",
        plan.tier.product(),
        if plan.tier.reads_bucket_location() {
            "also reads the bucket's location"
        } else {
            "lists the bucket"
        }
    ));
    summary.push(format!(
        "trust:  TiDB Cloud account {}",
        plan.tidb_account_id
    ));
    for line in &plan.trust_change.lines {
        summary.push(
            if line.starts_with("loses access") || plan.trust_change.external_ids.is_empty() {
                format!("  {} {line}", ui.red("-"))
            } else {
                format!("  {line}")
            },
        );
    }
    summary.extend(guardrail_lines(&plan.grant.guardrails));
    summary
}

/// The guardrails that the role or user has once the run is done, for the plan's summary: its
/// permissions boundary and its tags (beside those this tool records), whether the run sets
/// them or keeps them, as (label, value). The path is in the ARNs.
pub(crate) fn guardrails(guard: &Guardrails) -> Vec<(&'static str, String)> {
    let mut lines = Vec::new();
    if let Some(boundary) = &guard.permissions_boundary {
        lines.push(("limits:", format!("permissions boundary {boundary}")));
    }
    if !guard.tags.is_empty() {
        let tags: Vec<String> = guard.tags.iter().map(TagPair::to_string).collect();
        lines.push(("tags:", tags.join(", ")));
    }
    lines
}

/// [`guardrails`] as summary lines, aligned with `role:` and `policy:`.
pub(crate) fn guardrail_lines(guard: &Guardrails) -> Vec<String> {
    guardrails(guard)
        .into_iter()
        .map(|(label, value)| format!("{label:<7} {value}"))
        .collect()
}

/// What a run takes away from or replaces on what exists: `- FIELD: BEFORE → AFTER` in red
/// when it takes something away, else `~ FIELD: BEFORE → AFTER` (a change in place), so that
/// it never reads as a line of the one above.
pub(crate) fn revision_lines(ui: &Ui, revisions: &[Revision]) -> Vec<String> {
    revisions
        .iter()
        .map(|r| {
            if r.takes_away {
                format!("{} {}", ui.red("-"), r.describe())
            } else {
                format!("{} {}", ui.yellow("~"), r.describe())
            }
        })
        .collect()
}

/// What changed outside CloudFormation, as diffs: `-` as the role holds it, `+` as the
/// template has it and this run writes back.
fn render_drift(ui: &Ui, role: &str, drift: &[crate::plan::Drift]) -> String {
    let mut lines = vec![
        String::new(),
        ui.bold(&format!(
            "Changed outside CloudFormation on role {role} (- as it is now, + as the template has it)"
        )),
    ];
    for d in drift {
        match d.documents() {
            Some((live, template)) => {
                lines.push(format!("  {}:", d.describe()));
                lines.extend(
                    diff(ui, live, template)
                        .into_iter()
                        .map(|l| format!("  {l}")),
                );
            }
            None => {
                lines.push(format!("  {}:", d.describe()));
                let (before, after): (Vec<String>, Vec<String>) = match d {
                    crate::plan::Drift::Boundary { live, template } => (
                        vec![live.clone().unwrap_or_else(|| "(no boundary)".into())],
                        vec![template.clone().unwrap_or_else(|| "(no boundary)".into())],
                    ),
                    crate::plan::Drift::Tags { missing } => (
                        Vec::new(),
                        missing.iter().map(ToString::to_string).collect(),
                    ),
                    _ => (Vec::new(), Vec::new()),
                };
                lines.extend(
                    before
                        .iter()
                        .map(|l| format!("  {}", ui.red(&format!("- {l}")))),
                );
                lines.extend(
                    after
                        .iter()
                        .map(|l| format!("  {}", ui.green(&format!("+ {l}")))),
                );
            }
        }
    }
    lines.join("\n")
}

/// A line diff of two policy documents, printed alike; `None` is a deleted document.
pub(crate) fn diff(
    ui: &Ui,
    before: Option<&serde_json::Value>,
    after: &serde_json::Value,
) -> Vec<String> {
    let before = before
        .map(|b| pretty(&aligned(b, after)))
        .unwrap_or_default();
    let after = pretty(after);
    let diff = similar::TextDiff::from_lines(&before, &after);
    let mut lines = Vec::new();
    // The changed lines with three lines of context; "…" where unchanged lines are left out.
    for (n, group) in diff.grouped_ops(3).iter().enumerate() {
        if n > 0 {
            lines.push(ui.dim("  …"));
        }
        for op in group {
            for change in diff.iter_changes(op) {
                let line = change.value().trim_end_matches('\n');
                lines.push(match change.tag() {
                    similar::ChangeTag::Delete => ui.red(&format!("- {line}")),
                    similar::ChangeTag::Insert => ui.green(&format!("+ {line}")),
                    similar::ChangeTag::Equal => format!("  {line}"),
                });
            }
        }
    }
    lines
}

/// `doc` with its keys in `like`'s order where they share them, so a diff shows what differs
/// and not how AWS ordered the keys.
fn aligned(doc: &serde_json::Value, like: &serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    match (doc, like) {
        (Value::Object(map), Value::Object(order)) => {
            let mut out = serde_json::Map::new();
            for (key, other) in order {
                if let Some(v) = map.get(key) {
                    out.insert(key.clone(), aligned(v, other));
                }
            }
            for (key, v) in map {
                if !out.contains_key(key) {
                    out.insert(key.clone(), v.clone());
                }
            }
            Value::Object(out)
        }
        (Value::Array(items), Value::Array(order)) => Value::Array(
            items
                .iter()
                .enumerate()
                .map(|(i, v)| order.get(i).map_or_else(|| v.clone(), |o| aligned(v, o)))
                .collect(),
        ),
        _ => doc.clone(),
    }
}

/// A policy document in a plan: as it is now (for an update) and as the run leaves it.
pub(crate) struct Shown<'a> {
    pub(crate) title: &'a str,
    pub(crate) now: Option<&'a serde_json::Value>,
    pub(crate) planned: &'a serde_json::Value,
    /// Summarised in the "What it grants" table when the documents are not shown whole.
    pub(crate) grants: bool,
}

/// A plan as a person reads it: what was detected, what it is for, the changes, what it grants
/// (or the whole documents), and for an update what changes in them.
#[allow(clippy::too_many_arguments)]
pub(crate) fn render_policy_plan(
    ui: &Ui,
    grant: &Grant,
    summary: &[String],
    actions: &[String],
    documents: &[Shown],
) -> String {
    let (detected, warnings) = (&grant.detected, &grant.warnings);
    let mut lines = vec![ui.bold("Detected")];
    lines.push(match &grant.account_id {
        Some(account) => format!("  AWS account: {account} ({})", grant.partition),
        None => "  AWS account: not detected (no credentials); shown as <your-account-id>".into(),
    });
    lines.extend(detected.iter().map(|f| format!("  {f}")));
    lines.extend(
        warnings
            .iter()
            .map(|w| format!("  {} {w}", ui.yellow("warning:"))),
    );
    lines.push(String::new());
    lines.push(ui.bold("Plan"));
    lines.extend(summary.iter().map(|s| format!("  {s}")));
    if actions.is_empty() {
        lines.push("  nothing to change: everything already matches".into());
    }
    lines.extend(actions.iter().map(|a| format!("  {} {a}", ui.green("+"))));
    if ui.documents {
        for doc in documents {
            lines.push(String::new());
            lines.push(ui.bold(doc.title));
            lines.push(indent(&pretty(doc.planned)));
        }
    } else {
        lines.push(String::new());
        lines.push(ui.bold("What it grants"));
        for doc in documents.iter().filter(|d| d.grants) {
            lines.extend(grants(doc.planned));
        }
        lines.push(ui.dim("  (the whole policy documents: --show-policies)"));
    }
    for doc in documents {
        if let Some(now) = doc.now.filter(|now| !policy::same(now, doc.planned)) {
            lines.push(String::new());
            lines.push(ui.bold(&format!("{} changes (- now, + after this run)", doc.title)));
            lines.extend(
                diff(ui, Some(now), doc.planned)
                    .into_iter()
                    .map(|l| format!("  {l}")),
            );
        }
    }
    lines.join("\n")
}

/// One line per statement: what it allows (or denies), on what.
fn grants(doc: &serde_json::Value) -> Vec<String> {
    let words = |v: &serde_json::Value| -> String {
        match v {
            serde_json::Value::String(s) => s.clone(),
            serde_json::Value::Array(items) => items
                .iter()
                .filter_map(|i| i.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            _ => String::new(),
        }
    };
    let statements: Vec<&serde_json::Value> = match &doc["Statement"] {
        serde_json::Value::Array(items) => items.iter().collect(),
        one @ serde_json::Value::Object(_) => vec![one],
        _ => Vec::new(),
    };
    let rows: Vec<(String, String)> = statements
        .iter()
        .map(|s| {
            let deny = match s["Effect"].as_str() {
                Some("Deny") => "deny ",
                _ => "",
            };
            (
                format!("{deny}{}", words(&s["Action"])),
                words(&s["Resource"]),
            )
        })
        .collect();
    let width = rows
        .iter()
        .map(|(a, _)| a.chars().count())
        .max()
        .unwrap_or(0);
    rows.into_iter()
        .map(|(actions, resources)| format!("  {actions:<width$}  on {resources}"))
        .collect()
}

fn pretty(doc: &serde_json::Value) -> String {
    serde_json::to_string_pretty(doc).unwrap_or_else(|_| policy::to_wire(doc))
}

fn indent(s: &str) -> String {
    s.lines()
        .map(|l| format!("  {l}"))
        .collect::<Vec<_>>()
        .join("\n")
}
