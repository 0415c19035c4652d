//! What an organization asks of new roles and users: a permissions boundary, a path, tags.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::{invalid, quoted, Access, IamPath, Invalid, PolicyArn, S3Location};

/// A tag to put on the role or user and its policy, `KEY=VALUE`. IAM's rules: a key of 1 to
/// 128 and a value of 0 to 256 letters, digits, spaces and `_ . : / = + - @`, and no key
/// beginning with `aws:` (IAM User Guide, "Tag naming rules").
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct TagPair {
    pub(crate) key: String,
    pub(crate) value: String,
}

impl fmt::Display for TagPair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}={}", self.key, self.value)
    }
}

impl TagPair {
    /// A tag from its key and value apart (a file's `tags = { KEY = "VALUE" }`), by IAM's
    /// rules.
    pub fn new(key: &str, value: &str) -> Result<TagPair, Invalid> {
        let key: TagKey = key.parse()?;
        if value.chars().count() > 256 || !value.chars().all(tag_char) {
            return invalid(format!(
                "has value {}; values are up to 256 letters, digits, spaces and _ . : / = + - @",
                quoted(value)
            ));
        }
        Ok(TagPair {
            key: key.0,
            value: value.to_string(),
        })
    }
}

impl FromStr for TagPair {
    type Err = Invalid;
    fn from_str(s: &str) -> Result<Self, Invalid> {
        let Some((key, value)) = s.split_once('=') else {
            return invalid(format!("must be KEY=VALUE, not {}", quoted(s)));
        };
        TagPair::new(key, value)
    }
}

/// A character IAM takes in a tag key or value (IAM User Guide, "Tag naming rules").
fn tag_char(c: char) -> bool {
    c.is_alphanumeric() || c == ' ' || "_.:/=+-@".contains(c)
}

checked_string! {
    /// A tag key to take off (`--remove-tag KEY`): IAM's key rules, and none of this tool's own.
    #[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
    #[serde(transparent)]
    pub struct TagKey;
}

impl FromStr for TagKey {
    type Err = Invalid;
    fn from_str(key: &str) -> Result<Self, Invalid> {
        if key.is_empty() || key.chars().count() > 128 || !key.chars().all(tag_char) {
            return invalid(format!(
                "has key {}; keys are 1 to 128 letters, digits, spaces and _ . : / = + - @",
                quoted(key)
            ));
        }
        if key.to_lowercase().starts_with("aws:") {
            return invalid("has a key beginning with aws:, which AWS reserves");
        }
        if is_own_key(key) {
            return invalid(format!(
                "has key {}, which serverless-s3-setup sets itself",
                quoted(key)
            ));
        }
        Ok(TagKey(key.to_string()))
    }
}

/// Whether a tag key is one this tool sets on what it makes (never the user's to set or take
/// off).
pub fn is_own_key(key: &str) -> bool {
    let key = key.to_lowercase();
    key == MANAGED_BY_KEY || key.starts_with("serverless-s3-setup")
}

/// The guardrails a role or user holds after this run: its permissions boundary, its path
/// and its tags, as the plan works them out from what was given and what it holds already.
#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Guardrails {
    pub(crate) permissions_boundary: Option<PolicyArn>,
    pub(crate) path: IamPath,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) tags: Vec<TagPair>,
    /// Tags this tool records on what it makes, beside `managed-by`: the access it was made
    /// for ([`ACCESS_TAG`]), so that `verify` never proposes more, and the location
    /// ([`LOCATION_TAG`]), so that a later run never points it elsewhere unasked.
    #[serde(
        rename = "recorded_tags",
        default,
        skip_serializing_if = "Vec::is_empty"
    )]
    pub(crate) recorded: Vec<TagPair>,
    /// Tag keys this run takes off (`--remove-tag`), from the role or user and its policy.
    #[serde(
        rename = "removed_tags",
        default,
        skip_serializing_if = "Vec::is_empty"
    )]
    pub(crate) removed: Vec<String>,
}

/// The tag on everything this tool creates. Nothing without it is ever changed.
pub const MANAGED_BY_KEY: &str = "managed-by";
pub const MANAGED_BY_VALUE: &str = "serverless-s3-setup";

/// The tag that records the access a role or user was made for.
pub const ACCESS_TAG: &str = "serverless-s3-setup:access";

/// The tag that names the set of setups a role belongs to: the file that made it
/// (`apply -f`), so that a prune deletes only what that file made.
pub const SET_TAG: &str = "serverless-s3-setup:set";

checked_string! {
    /// The name of a set of setups (a file's `name`, else its file name): the value of
    /// [`SET_TAG`], so IAM's tag value rules, 1 to 128 characters.
    #[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
    #[serde(transparent)]
    pub struct SetName;
}

impl FromStr for SetName {
    type Err = Invalid;
    fn from_str(s: &str) -> Result<Self, Invalid> {
        if s.is_empty() || s.chars().count() > 128 || !s.chars().all(tag_char) {
            return invalid(format!(
                "{} is not a set name: 1 to 128 letters, digits, spaces and _ . : / = + - @ (it becomes the value of tag {SET_TAG})",
                quoted(s)
            ));
        }
        Ok(SetName(s.to_string()))
    }
}

/// The tag that records the location a role or user serves (see [`location_tag`]).
pub const LOCATION_TAG: &str = "serverless-s3-setup:location";

/// The value of [`LOCATION_TAG`]: the Folder URI, or, when IAM's tag values cannot hold it
/// (past 256 characters, or a character such as `,` `(` `#`), a fingerprint of it.
pub fn location_tag(location: &S3Location) -> String {
    let uri = location.to_string();
    if uri.chars().count() <= 256 && uri.chars().all(tag_char) {
        uri
    } else {
        format!("fnv1a:{:016x}", super::defaults::fnv1a(uri.as_bytes()))
    }
}

impl Guardrails {
    /// The tags this tool records on the role or user and its policy: the access, the
    /// location, and the set of setups it belongs to, if any.
    pub(crate) fn record(&mut self, access: Access, location: &S3Location, set: Option<String>) {
        self.recorded = vec![
            TagPair {
                key: ACCESS_TAG.into(),
                value: access.to_string(),
            },
            TagPair {
                key: LOCATION_TAG.into(),
                value: location_tag(location),
            },
        ];
        self.recorded.extend(set.map(|value| TagPair {
            key: SET_TAG.into(),
            value,
        }));
    }

    /// The set of setups recorded, as the tag to carry (a stack carries it as its own tag,
    /// which CloudFormation passes on to the role).
    pub(crate) fn set_tag(&self) -> Option<&TagPair> {
        self.recorded.iter().find(|t| t.key == SET_TAG)
    }

    /// Every tag to set: the user's and the recorded ones.
    pub(crate) fn all_tags(&self) -> impl Iterator<Item = &TagPair> {
        self.tags.iter().chain(&self.recorded)
    }

    /// IAM's limit of tags on one resource, less the four this tool sets (managed-by, the
    /// access, the location, the run).
    pub(crate) const MAX_TAGS: usize = 46;

    /// The flags that give these guardrails again, for a printed command line.
    pub(crate) fn flags(&self) -> Vec<String> {
        let mut words = Vec::new();
        if let Some(boundary) = &self.permissions_boundary {
            words.extend(["--permissions-boundary".into(), boundary.to_string()]);
        }
        if !self.path.is_root() {
            words.extend(["--path".into(), self.path.to_string()]);
        }
        for tag in &self.tags {
            words.extend(["--tag".into(), tag.to_string()]);
        }
        words
    }
}

/// What an organisation may require of new roles and users, as given: a permissions boundary,
/// a path and tags to set (`--permissions-boundary`, `--path`, `--tag`), and what to take off
/// (`--no-permissions-boundary`, `--remove-tag`). What is not given stays as the role or user
/// has it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(into = "GivenGuardrails", try_from = "GivenGuardrails")]
pub struct GuardrailRequest {
    pub(crate) permissions_boundary: Option<PolicyArn>,
    pub(crate) no_permissions_boundary: bool,
    pub(crate) path: Option<IamPath>,
    pub(crate) tags: Vec<TagPair>,
    pub(crate) remove_tags: Vec<TagKey>,
}

/// [`GuardrailRequest`] as a file holds it: each tag as `--tag` takes it (`KEY=VALUE`), so
/// that it is read through the same checks as the flags.
#[serde_with::skip_serializing_none]
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct GivenGuardrails {
    permissions_boundary: Option<PolicyArn>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    no_permissions_boundary: bool,
    path: Option<IamPath>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    tags: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    remove_tags: Vec<TagKey>,
}

impl From<GuardrailRequest> for GivenGuardrails {
    fn from(g: GuardrailRequest) -> Self {
        GivenGuardrails {
            permissions_boundary: g.permissions_boundary,
            no_permissions_boundary: g.no_permissions_boundary,
            path: g.path,
            tags: g.tags.iter().map(TagPair::to_string).collect(),
            remove_tags: g.remove_tags,
        }
    }
}

impl TryFrom<GivenGuardrails> for GuardrailRequest {
    type Error = String;
    fn try_from(g: GivenGuardrails) -> Result<Self, String> {
        let tags = g
            .tags
            .iter()
            .map(|t| t.parse::<TagPair>().map_err(|e| format!("tag {e}")))
            .collect::<Result<Vec<_>, _>>()?;
        GuardrailRequest::new(
            g.permissions_boundary,
            g.no_permissions_boundary,
            g.path,
            tags,
            g.remove_tags,
        )
        .map_err(|(flag, e)| format!("{flag} {e}"))
    }
}

impl GuardrailRequest {
    /// Checks the flags together: each key once (IAM keys ignore case), not too many, and no
    /// key both set and removed. The error names its flag.
    pub fn new(
        permissions_boundary: Option<PolicyArn>,
        no_permissions_boundary: bool,
        path: Option<IamPath>,
        tags: Vec<TagPair>,
        remove_tags: Vec<TagKey>,
    ) -> Result<GuardrailRequest, (&'static str, Invalid)> {
        if permissions_boundary.is_some() && no_permissions_boundary {
            return Err((
                "--no-permissions-boundary",
                Invalid("cannot be given with --permissions-boundary".into()),
            ));
        }
        if tags.len() > Guardrails::MAX_TAGS {
            return Err((
                "--tag",
                Invalid(format!(
                    "is given {} times; IAM allows 50 tags and this tool sets four",
                    tags.len()
                )),
            ));
        }
        for (i, t) in tags.iter().enumerate() {
            if tags[..i].iter().any(|u| u.key.eq_ignore_ascii_case(&t.key)) {
                return Err((
                    "--tag",
                    Invalid(format!(
                        "names key {} twice; IAM tag keys are unique, ignoring case",
                        quoted(&t.key)
                    )),
                ));
            }
        }
        if let Some(k) = remove_tags
            .iter()
            .find(|k| tags.iter().any(|t| t.key.eq_ignore_ascii_case(k.as_str())))
        {
            return Err((
                "--remove-tag",
                Invalid(format!(
                    "names key {}, which --tag sets",
                    quoted(k.as_str())
                )),
            ));
        }
        Ok(GuardrailRequest {
            permissions_boundary,
            no_permissions_boundary,
            path,
            tags,
            remove_tags,
        })
    }

    /// Whether a tag key is to be taken off.
    pub(crate) fn removes_tag(&self, key: &str) -> bool {
        self.remove_tags
            .iter()
            .any(|k| k.as_str().eq_ignore_ascii_case(key))
    }

    /// The flags that give these guardrails again, for a printed command line.
    pub(crate) fn flags(&self) -> Vec<String> {
        let mut words = Vec::new();
        if let Some(boundary) = &self.permissions_boundary {
            words.extend(["--permissions-boundary".into(), boundary.to_string()]);
        }
        if self.no_permissions_boundary {
            words.push("--no-permissions-boundary".into());
        }
        if let Some(path) = &self.path {
            words.extend(["--path".into(), path.to_string()]);
        }
        for tag in &self.tags {
            words.extend(["--tag".into(), tag.to_string()]);
        }
        for key in &self.remove_tags {
            words.extend(["--remove-tag".into(), key.to_string()]);
        }
        words
    }
}
