//! What a rerun keeps. A value the user did not give stays as the role, user or stack has it:
//! the permissions boundary, the path, the tags, the KMS keys, and a stack's parameters. What
//! a run takes away or replaces is a [`Revision`], which the plan shows as a `-` line and a
//! person confirms (the answer defaults to No).

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::Error;
use crate::facts::{PolicyInfo, PrincipalInfo, StackInfo};
use crate::inputs::{
    folder_uri, is_own_key, location_tag, Access, GuardrailRequest, Guardrails, IamPath, KmsKeyArn,
    PolicyArn, S3Location, SetName, TagPair, Tier, Who, SET_TAG,
};

use super::stack::list_parameter;
use super::{missing_tags, Action, PolicyWrite};

/// Something the role or user has that this run takes away or replaces: shown in the plan as
/// `FIELD: BEFORE → AFTER`, marked `-` when it takes something away.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Revision {
    /// `permissions boundary`, `tag team`, `access`, `directory`, `KMS key`, `tier`.
    pub(crate) field: String,
    pub(crate) before: String,
    /// `None`: removed.
    pub(crate) after: Option<String>,
    /// Whether it takes something away (a removal, a narrower access, another directory).
    pub(crate) takes_away: bool,
}

impl Revision {
    fn removed(field: impl Into<String>, before: impl Into<String>) -> Revision {
        Revision {
            field: field.into(),
            before: before.into(),
            after: None,
            takes_away: true,
        }
    }

    fn replaced(
        field: impl Into<String>,
        before: impl Into<String>,
        after: impl Into<String>,
    ) -> Revision {
        Revision {
            field: field.into(),
            before: before.into(),
            after: Some(after.into()),
            takes_away: true,
        }
    }

    /// `access: import → both`, or `permissions boundary: arn:… → (removed)`.
    pub(crate) fn describe(&self) -> String {
        format!(
            "{}: {} → {}",
            self.field,
            self.before,
            self.after.as_deref().unwrap_or("(removed)")
        )
    }
}

/// What the role, user or stack holds now of what a rerun keeps; all empty for a new one.
#[derive(Debug, Clone, Default)]
pub(super) struct Held {
    pub(super) exists: bool,
    pub(super) boundary: Option<String>,
    pub(super) path: Option<IamPath>,
    /// The user's tags, without this tool's own.
    pub(super) tags: Vec<TagPair>,
    pub(super) kms_keys: Vec<KmsKeyArn>,
    pub(super) access: Option<Access>,
    /// The location it serves, when it records one and it is not this run's: for people.
    pub(super) elsewhere: Option<String>,
    pub(super) tier: Option<Tier>,
    /// The set of setups it belongs to ([`crate::inputs::SET_TAG`]).
    pub(super) set: Option<String>,
}

impl Held {
    /// What a role or user made with IAM holds: its boundary, path and tags, what it records
    /// of its access and location, and the KMS keys its policy grants.
    pub(super) fn principal(
        held: PrincipalInfo<'_>,
        policy: Option<&Value>,
        location: &S3Location,
    ) -> Held {
        Held {
            exists: true,
            boundary: held.boundary.map(str::to_string),
            path: IamPath::of_arn(held.arn),
            tags: users_tags(held.tags),
            kms_keys: policy.map(granted_keys).unwrap_or_default(),
            access: held.access(),
            elsewhere: match serves(held, location) {
                Some(false) => Some(
                    held.location()
                        .unwrap_or_else(|| "another directory".into()),
                ),
                _ => None,
            },
            tier: None,
            set: held.tag(SET_TAG).map(str::to_string),
        }
    }

    /// A role's tier, as far as its policy tells: only Dedicated reads the bucket's location.
    /// (Every user's policy reads it, so this is for roles only.)
    pub(super) fn with_tier_of(mut self, policy: Option<&Value>) -> Held {
        self.tier = policy
            .filter(|doc| reads_bucket_location(doc))
            .map(|_| Tier::Dedicated);
        self
    }

    /// What a stack holds, by its parameters and its tags.
    pub(super) fn stack(stack: &StackInfo, location: &S3Location) -> Held {
        let param = |key: &str| stack.parameter(key).map(str::to_string);
        let bucket = param("BucketName").unwrap_or_default();
        let prefix = param("ObjectPrefix").unwrap_or_default();
        let same_place = bucket == location.bucket() && prefix == location.prefix();
        Held {
            exists: true,
            boundary: param("PermissionsBoundary"),
            path: param("RolePath").and_then(|p| p.parse().ok()),
            tags: users_tags(&stack.tags),
            kms_keys: param("KmsKeyArns")
                .map(|v| {
                    list_parameter(&v)
                        .into_iter()
                        .filter_map(|k| k.parse().ok())
                        .collect()
                })
                .unwrap_or_default(),
            access: param("Access").and_then(|a| a.parse().ok()),
            elsewhere: (!same_place && !bucket.is_empty()).then(|| folder_uri(&bucket, &prefix)),
            tier: param("Tier").and_then(|t| t.parse().ok()),
            set: stack.tag(SET_TAG).map(str::to_string),
        }
    }
}

/// Whether a principal this tool made serves `location`: by its location tag, or else (a role
/// made by a stack, whose template writes no such tag, or before the tag) by the location its
/// description names, as IAM holds it. `None` when it records neither.
pub(crate) fn serves(held: PrincipalInfo<'_>, location: &S3Location) -> Option<bool> {
    if let Some(tag) = held.tag(crate::inputs::LOCATION_TAG) {
        return Some(tag == location_tag(location));
    }
    let described = crate::facts::described_location(held.description?)?;
    let ours =
        crate::policy::description(&format!("s3://{}/{}", location.bucket(), location.prefix()));
    Some(described == ours)
}

/// Tags that are the user's: every one but this tool's own and the stack's bookkeeping.
fn users_tags(tags: &[(String, String)]) -> Vec<TagPair> {
    tags.iter()
        .filter(|(k, _)| !is_own_key(k) && !k.to_lowercase().starts_with("aws:"))
        .map(|(key, value)| TagPair {
            key: key.clone(),
            value: value.clone(),
        })
        .collect()
}

/// The KMS keys a policy this tool wrote grants (its `TiDBCloudKmsKeys` statement).
fn granted_keys(doc: &Value) -> Vec<KmsKeyArn> {
    statements(doc)
        .filter(|s| s["Sid"] == "TiDBCloudKmsKeys")
        .flat_map(|s| match &s["Resource"] {
            Value::String(one) => vec![one.clone()],
            Value::Array(many) => many
                .iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect(),
            _ => Vec::new(),
        })
        .filter_map(|k| k.parse().ok())
        .collect()
}

/// Whether a policy this tool wrote lets TiDB Cloud read the bucket's location, as it does
/// for Dedicated only.
fn reads_bucket_location(doc: &Value) -> bool {
    statements(doc)
        .filter(|s| s["Sid"] == "TiDBCloudListBucket")
        .any(|s| s.to_string().contains("s3:GetBucketLocation"))
}

fn statements(doc: &Value) -> impl Iterator<Item = &Value> {
    let list: Vec<&Value> = match &doc["Statement"] {
        Value::Array(items) => items.iter().collect(),
        one @ Value::Object(_) => vec![one],
        _ => Vec::new(),
    };
    list.into_iter()
}

/// What this run leaves in place, and what it takes away or replaces.
#[derive(Debug, Clone)]
pub(super) struct Kept {
    pub(super) guardrails: Guardrails,
    pub(super) kms_keys: Vec<KmsKeyArn>,
    pub(super) tier: Tier,
    pub(super) revisions: Vec<Revision>,
}

/// The user's tags a role made by a stack can hold: IAM's 50 less six of this tool's. The
/// stack's tags (managed-by, the template's version, the run) pass on to the role ("Stack
/// tags", CloudFormation User Guide), and the template adds the access, the stack and its
/// region.
pub(super) const STACK_MAX_TAGS: usize = 44;

/// What the run asked for, beside the guardrails: what the plan holds against [`Held`].
pub(super) struct Wanted<'a> {
    pub(super) location: &'a S3Location,
    pub(super) access: Access,
    /// The tier, and whether the user chose it (else the held one stays).
    pub(super) tier: (Tier, bool),
    /// The given and detected keys, and those to take off.
    pub(super) kms_keys: Vec<KmsKeyArn>,
    pub(super) remove_kms_keys: &'a [KmsKeyArn],
    pub(super) guardrails: &'a GuardrailRequest,
    /// The set of setups (a file) the run is for: recorded on what it makes.
    pub(super) set: Option<&'a SetName>,
    /// How many tags of the user's it can hold: IAM's 50 less this tool's own.
    pub(super) max_tags: usize,
    /// `role NAME` or `user NAME`, and the flag that removes it, for a refusal.
    pub(super) who: String,
    pub(super) teardown: String,
}

/// Works out the guardrails, keys and tier after this run: what was given, else what is
/// held; and each thing held that this run takes away or replaces.
pub(super) fn keep(wanted: Wanted<'_>, held: &Held) -> Result<Kept, Error> {
    let given = wanted.guardrails;
    let path = wanted.path(held)?;
    let mut revisions = Vec::new();
    let boundary = wanted.boundary(held, &mut revisions);
    let set = wanted.set(held)?;
    let tags = wanted.tags(held, &mut revisions)?;
    let kms_keys = wanted.kms_keys(held, &mut revisions);
    let tier = wanted.tier_and_access(held, &mut revisions);
    let mut guardrails = Guardrails {
        permissions_boundary: boundary,
        path,
        tags,
        recorded: Vec::new(),
        removed: given.remove_tags.iter().map(ToString::to_string).collect(),
    };
    guardrails.record(wanted.access, wanted.location, set);
    Ok(Kept {
        guardrails,
        kms_keys,
        tier,
        revisions,
    })
}

impl Wanted<'_> {
    /// The set it belongs to after this run: the run's, else the one it has. One set never
    /// takes over another's role: only the file that made it changes or prunes it.
    fn set(&self, held: &Held) -> Result<Option<String>, Error> {
        match (self.set, &held.set) {
            (Some(want), Some(has)) if want.as_str() != has => Err(Error::Conflict(format!(
                "{} belongs to the set {has} (tag {SET_TAG}), not {want}: another file keeps it, and only that file changes it; take it out of one of the two files, or remove it first ({})",
                self.who, self.teardown
            ))),
            (Some(want), _) => Ok(Some(want.to_string())),
            (None, has) => Ok(has.clone()),
        }
    }

    /// The path: IAM cannot move a role or user, so one held elsewhere is a conflict.
    fn path(&self, held: &Held) -> Result<IamPath, Error> {
        let (wanted, given) = (self, self.guardrails);
        Ok(match (&given.path, &held.path) {
            (Some(want), Some(has)) if held.exists && want != has => {
                return Err(Error::Conflict(format!(
                    "{} exists at path {has}, not {want}; IAM cannot move it: run with --path {has} (or without --path), or remove it first ({})",
                    wanted.who, wanted.teardown
                )))
            }
            (Some(want), _) => want.clone(),
            (None, Some(has)) => has.clone(),
            (None, None) => IamPath::default(),
        })
    }

    /// The boundary: as given, else taken off, else as held.
    fn boundary(&self, held: &Held, revisions: &mut Vec<Revision>) -> Option<PolicyArn> {
        let given = self.guardrails;
        let boundary: Option<PolicyArn> =
            match (&given.permissions_boundary, given.no_permissions_boundary) {
                (Some(b), _) => Some(b.clone()),
                (None, true) => None,
                (None, false) => held.boundary.as_deref().and_then(|b| b.parse().ok()),
            };
        if let Some(before) = &held.boundary {
            match &boundary {
                None => revisions.push(Revision::removed("permissions boundary", before)),
                Some(after) if after.as_str() != before => revisions.push(Revision::replaced(
                    "permissions boundary",
                    before,
                    after.as_str(),
                )),
                Some(_) => {}
            }
        }
        boundary
    }

    /// The tags: the held ones not taken off or replaced, then the given ones; refused when
    /// IAM could not hold them all.
    fn tags(&self, held: &Held, revisions: &mut Vec<Revision>) -> Result<Vec<TagPair>, Error> {
        let (wanted, given) = (self, self.guardrails);
        let mut tags: Vec<TagPair> = held
            .tags
            .iter()
            .filter(|t| !given.removes_tag(&t.key))
            .filter(|t| {
                !given
                    .tags
                    .iter()
                    .any(|g| g.key.eq_ignore_ascii_case(&t.key))
            })
            .cloned()
            .collect();
        tags.extend(given.tags.iter().cloned());
        for t in &held.tags {
            match tags.iter().find(|n| n.key.eq_ignore_ascii_case(&t.key)) {
                None => revisions.push(Revision::removed(format!("tag {}", t.key), &t.value)),
                Some(n) if n.value != t.value => revisions.push(Revision::replaced(
                    format!("tag {}", t.key),
                    &t.value,
                    &n.value,
                )),
                Some(_) => {}
            }
        }
        if tags.len() > wanted.max_tags {
            return Err(Error::invalid(
            "--tag",
            format!(
                "would give {} {} tags of yours; IAM allows 50 on a role, user or policy, and {} of them are this tool's ({}): take some off with --remove-tag KEY",
                wanted.who,
                tags.len(),
                50 - wanted.max_tags,
                if wanted.max_tags == STACK_MAX_TAGS {
                    "a stack passes its own tags on to its role, and its template adds more"
                } else {
                    "managed-by, the access, the location and the run"
                }
            ),
        ));
        }
        Ok(tags)
    }

    /// The KMS keys: the given and detected ones and the held ones, less those taken off.
    fn kms_keys(&self, held: &Held, revisions: &mut Vec<Revision>) -> Vec<KmsKeyArn> {
        let wanted = self;
        let mut kms_keys: Vec<KmsKeyArn> = wanted
            .kms_keys
            .iter()
            .chain(&held.kms_keys)
            .filter(|k| !wanted.remove_kms_keys.contains(k))
            .cloned()
            .collect();
        kms_keys.sort();
        kms_keys.dedup();
        revisions.extend(
            held.kms_keys
                .iter()
                .filter(|k| !kms_keys.contains(k))
                .map(|k| Revision::removed("KMS key", k.as_str())),
        );
        kms_keys
    }

    /// The tier (the chosen one, else the held one), with the tier's and the access's
    /// revisions, and the directory's when the principal served another.
    fn tier_and_access(&self, held: &Held, revisions: &mut Vec<Revision>) -> Tier {
        let wanted = self;
        let tier = match (wanted.tier, held.tier) {
            ((chosen, true), _) | ((chosen, false), None) => chosen,
            ((_, false), Some(kept)) => kept,
        };
        if let Some(before) = held.tier.filter(|t| *t != tier) {
            revisions.push(Revision {
                field: "tier".into(),
                before: before.to_string(),
                after: Some(tier.to_string()),
                takes_away: before.reads_bucket_location() && !tier.reads_bucket_location(),
            });
        }
        if let Some(before) = held.access.filter(|a| *a != wanted.access) {
            revisions.push(Revision {
                field: "access".into(),
                before: before.to_string(),
                after: Some(wanted.access.to_string()),
                takes_away: (before.reads() && !wanted.access.reads())
                    || (before.writes() && !wanted.access.writes()),
            });
        }
        if let Some(before) = &held.elsewhere {
            revisions.push(Revision::replaced(
                "directory",
                before,
                wanted.location.to_string(),
            ));
        }
        tier
    }
}

/// The changes that bring a role or user made with IAM to the guardrails it keeps: a
/// boundary set, replaced or taken off, tags set or taken off.
pub(super) fn principal_actions(
    who: &Who,
    guard: &Guardrails,
    held: PrincipalInfo<'_>,
) -> Vec<Action> {
    let mut actions = Vec::new();
    match (&guard.permissions_boundary, held.boundary) {
        (Some(wanted), has) if has != Some(wanted.as_str()) => actions.push(Action::SetBoundary {
            who: who.clone(),
            arn: wanted.to_string(),
        }),
        (None, Some(_)) => actions.push(Action::RemoveBoundary { who: who.clone() }),
        _ => {}
    }
    let missing = missing_tags(guard.all_tags(), held.tags);
    if !missing.is_empty() {
        actions.push(Action::TagPrincipal {
            who: who.clone(),
            tags: missing,
        });
    }
    let dropped = dropped_keys(guard, held.tags);
    if !dropped.is_empty() {
        actions.push(Action::UntagPrincipal {
            who: who.clone(),
            keys: dropped,
        });
    }
    actions
}

/// The changes that bring the managed policy's tags to the guardrails: set what it lacks,
/// take off what the run takes off the role or user.
pub(super) fn policy_tag_actions(write: &PolicyWrite, policy: Option<&PolicyInfo>) -> Vec<Action> {
    let Some(policy) = policy else {
        return Vec::new();
    };
    let mut actions = Vec::new();
    let tags = missing_tags(write.guard.all_tags(), &policy.tags);
    if !tags.is_empty() {
        actions.push(Action::TagPolicy {
            policy: write.name.clone(),
            arn: write.arn.clone(),
            tags,
        });
    }
    let keys = dropped_keys(&write.guard, &policy.tags);
    if !keys.is_empty() {
        actions.push(Action::UntagPolicy {
            policy: write.name.clone(),
            arn: write.arn.clone(),
            keys,
        });
    }
    actions
}

/// The tag keys that `held` has and the run takes off (`--remove-tag`).
fn dropped_keys(guard: &Guardrails, held: &[(String, String)]) -> Vec<String> {
    held.iter()
        .filter(|(k, _)| guard.removed.iter().any(|r| r.eq_ignore_ascii_case(k)))
        .map(|(k, _)| k.clone())
        .collect()
}
