//! A local evaluator of IAM policy documents: Allow and Deny, wildcards in actions and
//! resources, `NotAction` and `NotResource`, and principals in bucket policies. `verify` uses
//! it where IAM's policy simulator is not available (moto has none), and to explain a finding.
//!
//! A requirement is an action on a resource *pattern*: "s3:GetObject on every object under
//! `bucket/dir/*`". An Allow satisfies it only if its resource pattern covers the whole
//! pattern; a Deny blocks it if its pattern overlaps any part of it.

use serde_json::Value;

use super::condition::{glob, Context, Known, Outcome, LITERAL_QUESTION, LITERAL_STAR};

/// What the documents decide for one action on one resource pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Decision {
    /// Allowed; `unknown` names the condition keys it still depends on (of an Allow that has
    /// only such conditions, or of a Deny that may apply), empty when it is certain.
    Allowed { unknown: Vec<String> },
    /// Nothing allows it.
    ImplicitDeny,
    /// A Deny statement applies (its `Sid`, if any).
    ExplicitDeny { sid: Option<String> },
}

impl Decision {
    pub(crate) fn allowed(&self) -> bool {
        matches!(self, Decision::Allowed { .. })
    }
}

/// One statement, normalised.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Statement {
    pub(crate) sid: Option<String>,
    pub(crate) allow: bool,
    pub(crate) actions: Match,
    pub(crate) resources: Match,
    pub(crate) principals: Option<Match>,
    /// The `Condition` block, if any.
    pub(crate) condition: Option<Value>,
    /// Whether `${…}` in its resources are policy variables (Version 2012-10-17).
    pub(crate) variables: bool,
}

/// A list of patterns, or its negation (`NotAction`, `NotResource`, `NotPrincipal`).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Match {
    pub(crate) patterns: Vec<String>,
    pub(crate) negated: bool,
}

fn strings(v: Option<&Value>) -> Option<Vec<String>> {
    match v? {
        Value::String(s) => Some(vec![s.clone()]),
        Value::Array(items) => Some(
            items
                .iter()
                .filter_map(|i| i.as_str().map(str::to_string))
                .collect(),
        ),
        _ => None,
    }
}

fn principals(v: &Value) -> Vec<String> {
    match v {
        Value::String(s) => vec![s.clone()],
        Value::Object(map) => map
            .iter()
            .filter(|(k, _)| k.as_str() == "AWS")
            .flat_map(|(_, v)| strings(Some(v)).unwrap_or_default())
            .collect(),
        _ => Vec::new(),
    }
}

/// The statements of a policy document; malformed statements are skipped.
pub(crate) fn statements(doc: &Value) -> Vec<Statement> {
    let list = match doc.get("Statement") {
        Some(Value::Array(items)) => items.clone(),
        Some(one @ Value::Object(_)) => vec![one.clone()],
        _ => Vec::new(),
    };
    let variables = doc.get("Version").and_then(Value::as_str) == Some("2012-10-17");
    list.iter()
        .filter_map(|s| {
            let allow = match s.get("Effect")?.as_str()? {
                "Allow" => true,
                "Deny" => false,
                _ => return None,
            };
            let pick = |plain: &str, not: &str| match (strings(s.get(plain)), strings(s.get(not))) {
                (Some(p), _) => Some(Match {
                    patterns: p,
                    negated: false,
                }),
                (None, Some(p)) => Some(Match {
                    patterns: p,
                    negated: true,
                }),
                (None, None) => None,
            };
            let principals = match (s.get("Principal"), s.get("NotPrincipal")) {
                (Some(p), _) => Some(Match {
                    patterns: principals(p),
                    negated: false,
                }),
                (None, Some(p)) => Some(Match {
                    patterns: principals(p),
                    negated: true,
                }),
                (None, None) => None,
            };
            Some(Statement {
                sid: s.get("Sid").and_then(Value::as_str).map(str::to_string),
                allow,
                actions: pick("Action", "NotAction")?,
                // Trust policies have no Resource; they stand for "this role".
                resources: pick("Resource", "NotResource").unwrap_or_else(|| Match {
                    patterns: vec!["*".into()],
                    negated: false,
                }),
                principals,
                condition: s
                    .get("Condition")
                    .filter(|c| c.as_object().is_some_and(|m| !m.is_empty()))
                    .cloned(),
                variables,
            })
        })
        .collect()
}

/// Whether every string that `inner` matches is matched by `outer`. `inner`'s `*` is an
/// arbitrary run, so only a `*` in `outer` can stand for it.
pub(crate) fn covers(outer: &str, inner: &str) -> bool {
    fn go(p: &[char], q: &[char]) -> bool {
        match (p.first(), q.first()) {
            (None, None) => true,
            (Some('*'), _) => go(&p[1..], q) || (!q.is_empty() && go(p, &q[1..])),
            (Some('?'), Some(c)) if *c != '*' => go(&p[1..], &q[1..]),
            (Some(a), Some(b)) if a == b && *b != '*' && *b != '?' => go(&p[1..], &q[1..]),
            _ => false,
        }
    }
    let p: Vec<char> = outer.chars().collect();
    let q: Vec<char> = inner.chars().collect();
    go(&p, &q)
}

/// Whether some string matches both patterns, exactly: `bkt1/*.csv` and `bkt1/dir/*` share
/// `bkt1/dir/x.csv`, though neither covers the other. A search over pairs of positions, one in
/// each pattern: a `*` may match nothing (move past it) or one more character (stay), and both
/// patterns must take each character together. At most (|a|+1)·(|b|+1) states.
pub(crate) fn overlaps(a: &str, b: &str) -> bool {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut seen = vec![vec![false; b.len() + 1]; a.len() + 1];
    let mut todo = vec![(0usize, 0usize)];
    while let Some((i, j)) = todo.pop() {
        if std::mem::replace(&mut seen[i][j], true) {
            continue;
        }
        if i == a.len() && j == b.len() {
            return true;
        }
        let (pa, pb) = (a.get(i).copied(), b.get(j).copied());
        if pa == Some('*') {
            todo.push((i + 1, j));
        }
        if pb == Some('*') {
            todo.push((i, j + 1));
        }
        // One character taken by both.
        let (Some(x), Some(y)) = (pa, pb) else {
            continue;
        };
        let compatible = matches!(x, '*' | '?') || matches!(y, '*' | '?') || x == y;
        if compatible && !(x == '*' && y == '*') {
            let next_i = if x == '*' { i } else { i + 1 };
            let next_j = if y == '*' { j } else { j + 1 };
            todo.push((next_i, next_j));
        }
    }
    false
}

/// Whether the actions (`Action`, or all but `NotAction`'s) include `action`; case does not
/// count in actions.
pub(crate) fn action_matches(m: &Match, action: &str) -> bool {
    let hit = m
        .patterns
        .iter()
        .any(|p| glob(&p.to_ascii_lowercase(), &action.to_ascii_lowercase()));
    hit != m.negated
}

/// Whether the statement's resources cover all of `resource` (for an Allow).
fn covers_all(m: &Match, resource: &str) -> bool {
    if m.negated {
        !m.patterns.iter().any(|p| overlaps(p, resource))
    } else {
        m.patterns.iter().any(|p| covers(p, resource))
    }
}

/// Whether the statement's resources reach any part of `resource` (for a Deny).
fn reaches(m: &Match, resource: &str) -> bool {
    if m.negated {
        !m.patterns.iter().any(|p| covers(p, resource))
    } else {
        m.patterns.iter().any(|p| overlaps(p, resource))
    }
}

/// Whether a bucket-policy principal names the caller: `*`, the account, or the ARN itself.
fn principal_matches(m: &Match, arn: &str, account: &str) -> bool {
    let hit = m.patterns.iter().any(|p| {
        p == "*"
            || p == account
            || *p == format!("arn:aws:iam::{account}:root")
            || p.ends_with(&format!(":iam::{account}:root"))
            || glob(p, arn)
    });
    hit != m.negated
}

/// Decides `action` on `resource` (a pattern) over all `statements`, as IAM does: an
/// applicable Deny wins, then any Allow, else the implicit deny. With `principal` (ARN,
/// account), statements with a Principal apply only when it matches. Conditions are decided
/// against `context`, the request TiDB Cloud makes; without one, every condition is unknown.
pub(crate) fn decide(
    statements: &[Statement],
    action: &str,
    resource: &str,
    principal: Option<(&str, &str)>,
) -> Decision {
    decide_in(statements, action, resource, principal, None)
}

/// [`decide`], with the request's context.
pub(crate) fn decide_in(
    statements: &[Statement],
    action: &str,
    resource: &str,
    principal: Option<(&str, &str)>,
    context: Option<&Context>,
) -> Decision {
    let mut unknown: Vec<String> = Vec::new();
    let mut note = |keys: Vec<String>| {
        for k in keys {
            if !unknown.contains(&k) {
                unknown.push(k);
            }
        }
    };
    match denial(statements, action, resource, principal, context) {
        Some(Denial::Certain(sid)) => return Decision::ExplicitDeny { sid },
        Some(Denial::Possible(_, keys)) => note(keys),
        None => {}
    }
    let mut allow_unknown: Option<Vec<String>> = None;
    for (_, resources, outcome) in applicable(statements, true, action, principal, context) {
        if !covers_all(&resources, resource) {
            continue;
        }
        match outcome {
            Outcome::Holds => {
                allow_unknown = Some(Vec::new());
                break;
            }
            Outcome::Unknown(keys) if allow_unknown.is_none() => allow_unknown = Some(keys),
            _ => {}
        }
    }
    match allow_unknown {
        Some(keys) => {
            note(keys);
            Decision::Allowed { unknown }
        }
        None => Decision::ImplicitDeny,
    }
}

/// The statements of one effect that name `action` and apply to `principal`, each with its
/// resources (policy variables substituted) and what its condition comes to for the request.
fn applicable<'a>(
    statements: &'a [Statement],
    allow: bool,
    action: &'a str,
    principal: Option<(&'a str, &'a str)>,
    context: Option<&'a Context>,
) -> impl Iterator<Item = (&'a Statement, Match, Outcome)> + 'a {
    statements
        .iter()
        .filter(move |s| {
            s.allow == allow
                && action_matches(&s.actions, action)
                && match (&s.principals, principal) {
                    (Some(m), Some((arn, account))) => principal_matches(m, arn, account),
                    _ => true,
                }
        })
        .map(move |s| {
            let condition = match (context, &s.condition) {
                (_, None) => Outcome::Holds,
                (Some(ctx), Some(c)) => crate::verify::condition::evaluate(Some(c), ctx),
                (None, Some(_)) => Outcome::Unknown(vec!["its conditions (not evaluated)".into()]),
            };
            let (resources, variables) = substituted(s, context);
            (s, resources, variables.and(condition))
        })
}

/// The statement's resources with IAM's policy variables (`${aws:username}`, `${aws:PrincipalAccount}`,
/// `${*}`, `${?}`, `${$}`, and `${key, 'default'}`) replaced from the request. Only policies of
/// Version 2012-10-17 have variables; in older ones `${…}` is literal text. A variable whose
/// key is absent matches nothing, and one whose value cannot be known makes the statement's
/// outcome depend on it (IAM User Guide, "IAM policy elements: Variables and tags").
fn substituted(s: &Statement, context: Option<&Context>) -> (Match, Outcome) {
    if !s.variables || !s.resources.patterns.iter().any(|p| p.contains("${")) {
        return (s.resources.clone(), Outcome::Holds);
    }
    let Some(ctx) = context else {
        return (
            s.resources.clone(),
            Outcome::Unknown(vec!["its policy variables (not evaluated)".into()]),
        );
    };
    let mut unknown = Vec::new();
    let mut patterns = Vec::new();
    'patterns: for pattern in &s.resources.patterns {
        let mut out = String::new();
        let mut rest = pattern.as_str();
        while let Some(start) = rest.find("${") {
            out.push_str(&rest[..start]);
            let Some(end) = rest[start..].find('}') else {
                out.push_str(&rest[start..]);
                rest = "";
                break;
            };
            let inner = &rest[start + 2..start + end];
            rest = &rest[start + end + 1..];
            let (key, default) = match inner.split_once(',') {
                Some((k, d)) => (k.trim(), Some(d.trim().trim_matches('\''))),
                None => (inner.trim(), None),
            };
            match key {
                "*" => out.push(LITERAL_STAR),
                "?" => out.push(LITERAL_QUESTION),
                "$" => out.push('$'),
                key => match (ctx.get(key), default) {
                    (Known::Values(v), _) if v.len() == 1 => out.push_str(&v[0]),
                    (Known::Absent, Some(d)) => out.push_str(d),
                    // An absent key: this pattern matches nothing.
                    (Known::Absent, None) => continue 'patterns,
                    _ => {
                        unknown.push(key.to_string());
                        continue 'patterns;
                    }
                },
            }
        }
        out.push_str(rest);
        patterns.push(out);
    }
    let outcome = if unknown.is_empty() {
        Outcome::Holds
    } else {
        Outcome::Unknown(unknown)
    };
    let resources = Match {
        patterns,
        negated: s.resources.negated,
    };
    (resources, outcome)
}

/// A Deny that applies to a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Denial {
    /// It applies (its `Sid`).
    Certain(Option<String>),
    /// It applies if its condition holds, which depends on these keys.
    Possible(Option<String>, Vec<String>),
}

/// The Deny among `statements` that applies to `action` on `resource`: a certain one first.
pub(crate) fn denial(
    statements: &[Statement],
    action: &str,
    resource: &str,
    principal: Option<(&str, &str)>,
    context: Option<&Context>,
) -> Option<Denial> {
    let mut possible = None;
    for (deny, resources, outcome) in applicable(statements, false, action, principal, context) {
        if !reaches(&resources, resource) {
            continue;
        }
        match outcome {
            Outcome::Holds => return Some(Denial::Certain(deny.sid.clone())),
            Outcome::Unknown(keys) if possible.is_none() => {
                possible = Some(Denial::Possible(deny.sid.clone(), keys))
            }
            _ => {}
        }
    }
    possible
}

/// Whether `action` is allowed on *some* resource that `region` matches: the existential
/// question behind "more than it needs" (can it create a user, read another bucket, delete
/// under the directory?). An Allow counts unless its condition certainly fails for the
/// request; a Deny rules it out only when it certainly covers all of `region`.
pub(crate) fn possible(
    statements: &[Statement],
    action: &str,
    region: &str,
    context: Option<&Context>,
) -> bool {
    let denied = applicable(statements, false, action, None, context)
        .any(|(_, resources, outcome)| covers_all(&resources, region) && outcome == Outcome::Holds);
    !denied
        && applicable(statements, true, action, None, context)
            .any(|(_, resources, outcome)| reaches(&resources, region) && outcome != Outcome::Fails)
}

/// The resource patterns that an Allow grants `action` on, for explaining a near miss.
pub(crate) fn granted_resources(statements: &[Statement], action: &str) -> Vec<String> {
    statements
        .iter()
        .filter(|s| s.allow && !s.resources.negated && action_matches(&s.actions, action))
        .flat_map(|s| s.resources.patterns.clone())
        .collect()
}

mod witness;

pub(crate) use witness::witnesses;

#[cfg(test)]
mod tests;
