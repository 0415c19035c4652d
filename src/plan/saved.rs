//! A saved plan: what a run would change, and what it was worked out from. `--plan-out`
//! writes one; `--plan` applies it, as Terraform applies a saved plan: only if what it was
//! based on is still so, and only if this build would make the same plan from it. Pure: the
//! file's reading and writing are the command's.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::facts::{Facts, PolicyInfo, RoleInfo, StackInfo, UserInfo};
use crate::inputs::{defaults, ClusterId, Region, Tier};

use super::{Method, RoleInputs, RoleState, UserInputs, UserState};

/// The file's format. A file of another format is refused, never guessed at.
pub(crate) const FORMAT: u32 = 1;

/// The build that makes and applies plans: another build may plan differently (its template,
/// its rules), so its plans are refused.
pub(crate) fn made_by() -> String {
    format!(
        "serverless-s3-setup {} (template {})",
        env!("CARGO_PKG_VERSION"),
        crate::template::hash()
    )
}

/// A plan as a file holds it.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Saved<S, P> {
    pub(crate) format: u32,
    pub(crate) made_by: String,
    /// `role` or `access-key`: the command that applies it.
    pub(crate) command: String,
    /// What the run was asked for, settled: every name, the location, the access.
    pub(crate) setup: S,
    /// What the plan was worked out from, as it was read (see [`Basis`]).
    pub(crate) basis: Basis,
    pub(crate) plan: P,
}

/// A role setup's request, settled.
#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RoleSetup {
    pub(crate) method: Method,
    pub(crate) inputs: RoleInputs,
    /// For the `ticloud` command printed at the end.
    pub(crate) cluster_id: Option<ClusterId>,
    /// Where the stack goes when no region was configured: asked, or the bucket's region.
    pub(crate) stack_region: Option<Region>,
}

/// An access-key setup's request, settled.
#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct KeySetup {
    pub(crate) inputs: UserInputs,
    /// For the `ticloud` command printed at the end.
    #[serde(default)]
    pub(crate) tier: Tier,
    pub(crate) cluster_id: Option<ClusterId>,
}

/// What a plan was worked out from: each fact and each property of what exists that the plan
/// reads, by a name a person can read (`role tidb-x: trust policy`). A document is held by its
/// fingerprint. Two bases that differ name what changed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Basis(BTreeMap<String, String>);

const ABSENT: &str = "(absent)";
const NONE: &str = "(none)";

impl Basis {
    /// What a role's plan reads: the caller and the bucket, the role, its managed policy, and
    /// for a stack, the stack and the role's inline policies.
    pub(crate) fn role(facts: &Facts, state: &RoleState) -> Basis {
        let mut b = Basis::of_facts(facts);
        b.add_role(state.role.as_ref());
        if let Some(policy) = &state.policy {
            b.add_policy(policy, state.policy_document.as_ref(), state.attached);
        }
        if let Some(stack) = &state.stack {
            b.add_stack(stack);
        }
        if let Some(inline) = &state.inline {
            let list = inline
                .iter()
                .map(|(name, doc)| format!("{name} {}", document(doc.as_ref())))
                .collect::<Vec<_>>();
            b.put("role inline policies", joined(&list));
        }
        b
    }

    /// What an access key's plan reads: the caller and the bucket, the user, its policy and its
    /// keys.
    pub(crate) fn user(facts: &Facts, state: &UserState) -> Basis {
        let mut b = Basis::of_facts(facts);
        b.add_user(state.user.as_ref());
        if let Some(policy) = &state.policy {
            b.add_policy(policy, state.policy_document.as_ref(), state.attached);
        }
        let keys = state
            .keys
            .iter()
            .map(|k| format!("{} {}", k.id, k.status))
            .collect::<Vec<_>>();
        b.put("user access keys", joined(&keys));
        b
    }

    /// `FIELD: BEFORE → AFTER` for each entry that differs from `earlier`'s. Something made or
    /// deleted since is one line: its properties (`role tags`) follow from it.
    pub(crate) fn changes_since(&self, earlier: &Basis) -> Vec<String> {
        let mut keys: Vec<&String> = earlier.0.keys().chain(self.0.keys()).collect();
        keys.sort();
        keys.dedup();
        let value = |b: &'_ Basis, k: &str| b.0.get(k).map_or(ABSENT, String::as_str).to_string();
        let came_or_went = |k: &str| {
            let (before, after) = (value(earlier, k), value(self, k));
            before != after && (before == ABSENT || after == ABSENT)
        };
        keys.into_iter()
            .filter(|k| {
                !k.split_once(' ')
                    .is_some_and(|(whole, _)| came_or_went(whole))
            })
            .filter_map(|k| {
                let (before, after) = (value(earlier, k), value(self, k));
                (before != after).then(|| format!("{k}: {before} → {after}"))
            })
            .collect()
    }

    fn of_facts(facts: &Facts) -> Basis {
        let mut b = Basis::default();
        let text = |v: Option<String>| v.unwrap_or_else(|| NONE.into());
        b.put(
            "account",
            text(facts.account.as_ref().map(|a| a.to_string())),
        );
        b.put("partition", facts.partition().to_string());
        b.put("region", text(facts.region.clone()));
        b.put(
            "bucket region",
            text(facts.bucket_region().map(str::to_string)),
        );
        b.put(
            "bucket KMS key",
            text(facts.bucket_kms_key().map(|k| k.to_string())),
        );
        // Only when some were found, so that a plan saved before objects were sampled still
        // reads the same.
        if !facts.object_kms_keys.is_empty() {
            let keys: Vec<&str> = facts.object_kms_keys.iter().map(|k| k.as_str()).collect();
            b.put("objects' KMS keys", keys.join(", "));
        }
        b
    }

    fn add_role(&mut self, role: Option<&RoleInfo>) {
        let Some(r) = role else {
            self.put("role", ABSENT);
            return;
        };
        self.put("role", &r.arn);
        self.put("role made by this tool", r.managed.to_string());
        self.put("role trust policy", document(r.trust.as_ref()));
        self.put(
            "role permissions boundary",
            r.boundary.as_deref().unwrap_or(NONE),
        );
        self.put("role tags", tags(&r.tags));
        self.put("role description", r.description.as_deref().unwrap_or(NONE));
        if let Some(stack) = &r.stack {
            let region = r.stack_region.as_deref().unwrap_or(NONE);
            self.put("role stack", format!("{stack} in {region}"));
        }
    }

    fn add_user(&mut self, user: Option<&UserInfo>) {
        let Some(u) = user else {
            self.put("user", ABSENT);
            return;
        };
        self.put("user", &u.arn);
        self.put("user made by this tool", u.managed.to_string());
        self.put(
            "user permissions boundary",
            u.boundary.as_deref().unwrap_or(NONE),
        );
        self.put("user tags", tags(&u.tags));
    }

    fn add_policy(&mut self, p: &PolicyInfo, doc: Option<&Value>, attached: bool) {
        self.put("policy", &p.arn);
        self.put("policy made by this tool", p.managed.to_string());
        self.put("policy default version", &p.default_version);
        self.put("policy document", document(doc));
        self.put("policy attachments", p.attachments.to_string());
        self.put("policy attached to it", attached.to_string());
        self.put("policy tags", tags(&p.tags));
    }

    fn add_stack(&mut self, s: &StackInfo) {
        self.put("stack", &s.id);
        self.put("stack status", &s.status);
        self.put("stack made by this tool", s.managed.to_string());
        let params = s
            .parameters
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>();
        self.put("stack parameters", joined(&params));
        self.put("stack template", s.template_tag.as_deref().unwrap_or(NONE));
        self.put("stack tags", tags(&s.tags));
        let outputs = s
            .outputs
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>();
        self.put("stack outputs", joined(&outputs));
    }

    fn put(&mut self, key: &str, value: impl Into<String>) {
        self.0.insert(key.to_string(), value.into());
    }
}

/// A document's fingerprint, or `(none)`.
fn document(doc: Option<&Value>) -> String {
    doc.map_or_else(|| NONE.into(), digest)
}

/// A document's fingerprint: FNV-1a of its canonical form (keys sorted, no whitespace), so
/// that the same policy read twice has the same one.
fn digest(doc: &Value) -> String {
    let mut text = String::new();
    canonical(doc, &mut text);
    format!("document {:016x}", defaults::fnv1a(text.as_bytes()))
}

fn canonical(v: &Value, out: &mut String) {
    match v {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(k.clone()).to_string());
                out.push(':');
                canonical(&map[k], out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                canonical(item, out);
            }
            out.push(']');
        }
        other => out.push_str(&other.to_string()),
    }
}

fn tags(tags: &[(String, String)]) -> String {
    let mut list: Vec<String> = tags.iter().map(|(k, v)| format!("{k}={v}")).collect();
    list.sort();
    joined(&list)
}

fn joined(list: &[String]) -> String {
    if list.is_empty() {
        NONE.into()
    } else {
        list.join(", ")
    }
}

/// What two plans made from the same request differ in, ignoring what only informs (the
/// `detected` and `warnings` lines, which say how a run found things): `None` when they
/// would do the same.
pub(crate) fn differs(saved: &Value, fresh: &Value) -> Option<String> {
    let strip = |v: &Value| {
        let mut v = v.clone();
        if let Some(map) = v.as_object_mut() {
            map.remove("detected");
            map.remove("warnings");
        }
        v
    };
    let (saved, fresh) = (strip(saved), strip(fresh));
    if saved == fresh {
        return None;
    }
    let (Some(a), Some(b)) = (saved.as_object(), fresh.as_object()) else {
        return Some("the plan".into());
    };
    let mut keys: Vec<&String> = a.keys().chain(b.keys()).collect();
    keys.sort();
    keys.dedup();
    Some(
        keys.into_iter()
            .filter(|k| a.get(*k) != b.get(*k))
            .map(String::as_str)
            .collect::<Vec<_>>()
            .join(", "),
    )
}
