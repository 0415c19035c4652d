//! Whether TiDB Cloud can assume the role: its trust policy against TiDB Cloud's request.

use serde_json::Value;

use crate::inputs::ExternalId;
use crate::policy;
use crate::verify::evaluate::{self, Statement};
use crate::verify::{Check, Evidence, Expectations};

pub(super) fn trust(e: &Expectations, ev: &Evidence, rerun: &str) -> Check {
    let Some(doc) = &ev.trust else {
        return Check::fail(
            "trust",
            "the trust policy could not be read",
            format!("set it again: {rerun}"),
        );
    };
    let Some(account) = &e.tidb_account else {
        return Check::warn(
            "trust",
            "not checked: pass --tidb-account-id and --external-id to check it",
            None,
        );
    };
    let expected = policy::trust(
        ev.partition,
        account,
        &e.external_id.iter().cloned().collect::<Vec<_>>(),
    );
    let fix = format!(
        "bring the role up to date with `{rerun}`, or set its trust policy to {}",
        policy::to_wire(&expected)
    );
    let root = policy::account_root(ev.partition, account);
    // The one policy model of `evaluate`: a Statement may be one object or a list, and
    // `NotAction` counts as IAM reads it.
    let statements = evaluate::statements(doc);
    let assume: Vec<&Statement> = statements
        .iter()
        .filter(|s| s.allow && evaluate::action_matches(&s.actions, "sts:AssumeRole"))
        .collect();
    // `NotPrincipal` names no one that may assume the role (IAM refuses it with Allow).
    let principals = |s: &Statement| -> Vec<String> {
        match &s.principals {
            Some(m) if !m.negated => m.patterns.clone(),
            _ => Vec::new(),
        }
    };
    if assume
        .iter()
        .any(|s| principals(s).iter().any(|p| p == "*"))
    {
        return Check::fail(
            "trust",
            "the trust policy lets anyone (`*`) assume the role",
            fix,
        );
    }
    let Some(ours) = assume.iter().find(|s| {
        principals(s)
            .iter()
            .any(|p| *p == root || p == account.as_str())
    }) else {
        let trusted: Vec<String> = assume.iter().flat_map(|s| principals(s)).collect();
        return Check::fail(
            "trust",
            format!(
                "the role trusts {}, not TiDB Cloud's account {account} ({root})",
                if trusted.is_empty() {
                    "no AWS account".to_string()
                } else {
                    trusted.join(", ")
                }
            ),
            fix,
        );
    };
    let external = external_ids(ours);
    external_id_check(e.external_id.as_ref(), external, &root, fix)
}

/// The `sts:ExternalId` values of a statement's `StringEquals` condition, if it has one.
fn external_ids(statement: &Statement) -> Option<Vec<String>> {
    statement
        .condition
        .as_ref()
        .and_then(|c| c.get("StringEquals"))
        .and_then(|c| c.get("sts:ExternalId"))
        .and_then(|v| match v {
            Value::String(s) => Some(vec![s.clone()]),
            Value::Array(a) => Some(
                a.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_string)
                    .collect(),
            ),
            _ => None,
        })
}

/// The external ID the console shows against those the trust holds.
fn external_id_check(
    want: Option<&ExternalId>,
    external: Option<Vec<String>>,
    root: &str,
    fix: String,
) -> Check {
    match (want, external) {
        (Some(want), Some(have)) if have.iter().any(|h| h == want.as_str()) => {
            let others: Vec<&str> = have
                .iter()
                .map(String::as_str)
                .filter(|h| *h != want.as_str())
                .collect();
            Check::pass(
                "trust",
                if others.is_empty() { format!("trusts {root} with external ID {want}") } else { format!(
                    "trusts {root} with external ID {want}, and also the clusters with {}",
                    others.join(", ")
                ) },
            )
        }
        (Some(want), Some(have)) => Check::fail(
            "trust",
            format!("the sts:ExternalId condition is {}, but the console shows {want}", have.join(", ")),
            fix,
        ),
        (Some(_), None) => Check::fail(
            "trust",
            "the trust policy has no sts:ExternalId condition: every cluster of the TiDB Cloud project could use this role",
            fix,
        ),
        (None, None) => Check::warn(
            "trust",
            format!("trusts {root} without an external ID (--no-external-id): every cluster of the project can use it"),
            None,
        ),
        (None, Some(have)) => Check::pass(
            "trust",
            format!("trusts {root} with external ID {}", have.join(", ")),
        ),
    }
}
