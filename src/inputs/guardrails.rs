//! What an organization asks of new roles and users: a permissions boundary, a path, tags.

use std::fmt;
use std::str::FromStr;

use serde::Serialize;

use super::{invalid, quoted, Access, IamPath, Invalid, PolicyArn};

/// A tag to put on the role or user and its policy, `KEY=VALUE`. IAM's rules: a key of 1 to
/// 128 and a value of 0 to 256 letters, digits, spaces and `_ . : / = + - @`, and no key
/// beginning with `aws:` (IAM User Guide, "Tag naming rules").
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct TagPair {
    pub key: String,
    pub value: String,
}

impl fmt::Display for TagPair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}={}", self.key, self.value)
    }
}

impl FromStr for TagPair {
    type Err = Invalid;
    fn from_str(s: &str) -> Result<Self, Invalid> {
        let Some((key, value)) = s.split_once('=') else {
            return invalid(format!("must be KEY=VALUE, not {}", quoted(s)));
        };
        let allowed = |c: char| c.is_alphanumeric() || c == ' ' || "_.:/=+-@".contains(c);
        if key.is_empty() || key.chars().count() > 128 || !key.chars().all(allowed) {
            return invalid(format!(
                "has key {}; keys are 1 to 128 letters, digits, spaces and _ . : / = + - @",
                quoted(key)
            ));
        }
        if value.chars().count() > 256 || !value.chars().all(allowed) {
            return invalid(format!(
                "has value {}; values are up to 256 letters, digits, spaces and _ . : / = + - @",
                quoted(value)
            ));
        }
        if key.to_lowercase().starts_with("aws:") {
            return invalid("has a key beginning with aws:, which AWS reserves");
        }
        if key.eq_ignore_ascii_case(MANAGED_BY_KEY)
            || key.to_lowercase().starts_with("serverless-s3-setup:")
        {
            return invalid(format!(
                "has key {}, which serverless-s3-setup sets itself",
                quoted(key)
            ));
        }
        Ok(TagPair {
            key: key.to_string(),
            value: value.to_string(),
        })
    }
}

/// What an organisation may require of new roles and users: a permissions boundary, a path,
/// and tags (`--permissions-boundary`, `--path`, `--tag`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Guardrails {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub permissions_boundary: Option<PolicyArn>,
    pub path: IamPath,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<TagPair>,
    /// Tags this tool records on what it makes, beside `managed-by`: the access it was made
    /// for ([`ACCESS_TAG`]), so that `verify` never proposes more.
    #[serde(skip)]
    pub recorded: Vec<TagPair>,
}

/// The tag on everything this tool creates. Nothing without it is ever changed.
pub const MANAGED_BY_KEY: &str = "managed-by";
pub const MANAGED_BY_VALUE: &str = "serverless-s3-setup";

/// The tag that records the access a role or user was made for.
pub const ACCESS_TAG: &str = "serverless-s3-setup:access";

impl Guardrails {
    /// Records the access on the role or user and its policy.
    pub fn recording(mut self, access: Access) -> Guardrails {
        self.recorded = vec![TagPair {
            key: ACCESS_TAG.into(),
            value: access.to_string(),
        }];
        self
    }

    /// Every tag to set: the user's and the recorded ones.
    pub fn all_tags(&self) -> impl Iterator<Item = &TagPair> {
        self.tags.iter().chain(&self.recorded)
    }

    /// IAM's limit of tags on one resource, less the three this tool sets (managed-by, the
    /// access, the run).
    pub const MAX_TAGS: usize = 47;

    /// The flags that give these guardrails again, for a printed command line.
    pub fn flags(&self) -> Vec<String> {
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

    /// Checks the tags together: each key once (IAM keys ignore case), and not too many.
    pub fn new(
        permissions_boundary: Option<PolicyArn>,
        path: Option<IamPath>,
        tags: Vec<TagPair>,
    ) -> Result<Guardrails, Invalid> {
        if tags.len() > Self::MAX_TAGS {
            return invalid(format!(
                "is given {} times; IAM allows 50 tags and this tool sets three",
                tags.len()
            ));
        }
        for (i, t) in tags.iter().enumerate() {
            if tags[..i].iter().any(|u| u.key.eq_ignore_ascii_case(&t.key)) {
                return invalid(format!(
                    "names key {} twice; IAM tag keys are unique, ignoring case",
                    quoted(&t.key)
                ));
            }
        }
        Ok(Guardrails {
            permissions_boundary,
            path: path.unwrap_or_default(),
            tags,
            recorded: Vec::new(),
        })
    }
}
