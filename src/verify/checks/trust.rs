//! Whether TiDB Cloud can assume the role: its trust policy against TiDB Cloud's request.

use serde_json::Value;

use crate::policy;
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
    let assume: Vec<&Value> = doc
        .get("Statement")
        .and_then(Value::as_array)
        .map(|list| {
            list.iter()
                .filter(|s| s.get("Effect").and_then(Value::as_str) == Some("Allow"))
                .filter(|s| {
                    let actions = match s.get("Action") {
                        Some(Value::String(a)) => vec![a.as_str()],
                        Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).collect(),
                        _ => vec![],
                    };
                    actions.iter().any(|a| {
                        crate::verify::condition::glob(&a.to_ascii_lowercase(), "sts:assumerole")
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    let principals = |s: &Value| -> Vec<String> {
        match s.get("Principal") {
            Some(Value::String(p)) => vec![p.clone()],
            Some(Value::Object(m)) => m
                .get("AWS")
                .map(|v| match v {
                    Value::String(p) => vec![p.clone()],
                    Value::Array(a) => a
                        .iter()
                        .filter_map(Value::as_str)
                        .map(str::to_string)
                        .collect(),
                    _ => vec![],
                })
                .unwrap_or_default(),
            _ => vec![],
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
    let external = ours
        .get("Condition")
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
        });
    match (&e.external_id, external) {
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
