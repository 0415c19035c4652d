//! IAM and CloudFormation names, paths and ARNs, and the default names the tool picks.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::{invalid, is_region, quoted, Access, Arn, Invalid, S3Location};

pub(super) fn is_iam_word(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// IAM's `[\w+=,.@-]` with a length limit: role, user and policy names.
fn validate_iam_name(s: &str, what: &str, max: usize) -> Result<(), Invalid> {
    if let Some((kind, _, name)) = Arn::parse(s).and_then(|arn| arn.iam_resource()) {
        if kind == what {
            return invalid(format!("is the {what}'s ARN; give its name alone: {name}"));
        }
    }
    // Counted in characters, as the message says: a name of other scripts is refused for its
    // first character outside IAM's set, not for a length in bytes it does not have.
    let length = s.chars().count();
    if !(1..=max).contains(&length) {
        return invalid(format!(
            "must be 1 to {max} characters long ({what} names), not {length}"
        ));
    }
    if let Some(c) = s
        .chars()
        .find(|c| !is_iam_word(*c) && !"+=,.@-".contains(*c))
    {
        return invalid(format!(
            "may contain only letters, digits and + = , . @ - _ ({what} names; found {:?})",
            c
        ));
    }
    Ok(())
}

macro_rules! iam_name {
    ($(#[$doc:meta])* $name:ident, $what:literal, $max:literal) => {
        checked_string! {
            $(#[$doc])*
            #[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
            #[serde(transparent)]
            pub struct $name;
        }

        impl $name {
            pub const MAX_LEN: usize = $max;
        }

        impl FromStr for $name {
            type Err = Invalid;
            fn from_str(s: &str) -> Result<Self, Invalid> {
                validate_iam_name(s, $what, $max)?;
                Ok($name(s.to_string()))
            }
        }
    };
}

iam_name!(
    /// An IAM role name.
    RoleName,
    "role",
    64
);
iam_name!(
    /// An IAM user name.
    UserName,
    "user",
    64
);
iam_name!(
    /// A customer-managed IAM policy name.
    PolicyName,
    "policy",
    128
);

checked_string! {
    /// A CloudFormation stack name.
    #[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
    #[serde(transparent)]
    pub struct StackName;
    valid if |s| {
        !s.is_empty()
            && s.len() <= 128
            && s.as_bytes()[0].is_ascii_alphabetic()
            && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
    },
    else "must start with a letter and contain only letters, digits and `-`, at most 128 characters";
}

checked_string! {
    /// The ARN of a KMS key (`arn:PARTITION:kms:REGION:ACCOUNT:key/ID`).
    #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
    #[serde(transparent)]
    pub struct KmsKeyArn;
}

impl KmsKeyArn {
    /// The region the key lives in.
    pub(crate) fn region(&self) -> &str {
        Arn::parse(&self.0).map_or("", |arn| arn.region)
    }

    /// The account that owns the key.
    pub(crate) fn account(&self) -> &str {
        Arn::parse(&self.0).map_or("", |arn| arn.account)
    }
}

impl FromStr for KmsKeyArn {
    type Err = Invalid;
    fn from_str(s: &str) -> Result<Self, Invalid> {
        let rule = "must be a KMS key ARN such as arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";
        // A key is often known by its alias or ID; the policy needs its ARN, which KMS tells.
        let look_up = || {
            format!("; `aws kms describe-key --key-id {s} --query KeyMetadata.Arn --output text` prints it")
        };
        let arn = match Arn::parse(s) {
            Some(arn) if arn.service == "kms" => arn,
            _ if s.starts_with("alias/") || is_key_id(s) => {
                return invalid(format!("{rule}, not {}{}", quoted(s), look_up()))
            }
            _ => return invalid(format!("{rule}, not {}", quoted(s))),
        };
        if arn.known_partition().is_none() {
            return invalid(format!(
                "has partition {}; use aws, aws-cn or aws-us-gov",
                quoted(arn.partition)
            ));
        }
        if !is_region(arn.region) {
            return invalid(format!("has no valid region in {}", quoted(s)));
        }
        if arn.account.len() != 12 || !arn.account.bytes().all(|b| b.is_ascii_digit()) {
            return invalid(format!("has no 12-digit account ID in {}", quoted(s)));
        }
        match arn.resource.split_once('/') {
            Some(("key", id))
                if !id.is_empty() && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') => {
            }
            Some(("alias", _)) => {
                return invalid(format!(
                    "names an alias ({}); the policy needs the key's own ARN (…:key/ID){}",
                    quoted(s),
                    look_up()
                ))
            }
            _ => return invalid(format!("{rule}, not {}", quoted(s))),
        }
        Ok(KmsKeyArn(s.to_string()))
    }
}

/// A KMS key ID as KMS issues them: a UUID, or `mrk-` and 32 hex digits for a multi-Region key.
fn is_key_id(s: &str) -> bool {
    let hex = |s: &str, len: usize| s.len() == len && s.bytes().all(|b| b.is_ascii_hexdigit());
    match s.strip_prefix("mrk-") {
        Some(rest) => hex(rest, 32),
        None => {
            let parts: Vec<&str> = s.split('-').collect();
            parts.len() == 5 && parts.iter().zip([8, 4, 4, 4, 12]).all(|(p, n)| hex(p, n))
        }
    }
}

/// An IAM path: `/`, or `/a/b/` (1 to 512 characters of `!` to `~` between slashes; IAM API
/// Reference, CreateRole `Path`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct IamPath(pub(super) String);

impl IamPath {
    pub(crate) fn as_str(&self) -> &str {
        &self.0
    }

    pub(crate) fn is_root(&self) -> bool {
        self.0 == "/"
    }

    /// The path of an IAM ARN such as `arn:aws:iam::1:role/a/b/name` (`/a/b/`).
    pub(crate) fn of_arn(arn: &str) -> Option<IamPath> {
        Some(Arn::parse(arn)?.iam_resource()?.1)
    }
}

impl Default for IamPath {
    fn default() -> Self {
        IamPath("/".to_string())
    }
}

impl fmt::Display for IamPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for IamPath {
    type Err = Invalid;
    fn from_str(s: &str) -> Result<Self, Invalid> {
        if s == "/" {
            return Ok(IamPath::default());
        }
        let ok = (2..=512).contains(&s.len())
            && s.starts_with('/')
            && s.ends_with('/')
            && s.len() > 2
            && s.bytes().all(|b| (0x21..=0x7e).contains(&b));
        if ok && !s.contains("//") {
            Ok(IamPath(s.to_string()))
        } else {
            invalid(format!(
                "must be / or start and end with / (such as /tidb/), at most 512 printable ASCII characters without spaces or empty segments, not {}",
                quoted(s)
            ))
        }
    }
}

checked_string! {
    /// The ARN of a managed policy used as a permissions boundary
    /// (`arn:aws:iam::111122223333:policy/boundaries/developer`).
    #[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
    #[serde(transparent)]
    pub struct PolicyArn;
}

impl FromStr for PolicyArn {
    type Err = Invalid;
    fn from_str(s: &str) -> Result<Self, Invalid> {
        let rule = "must be a managed policy ARN such as arn:aws:iam::111122223333:policy/boundary";
        let arn = match Arn::parse(s) {
            Some(arn) if arn.service == "iam" && arn.region.is_empty() => arn,
            _ => return invalid(format!("{rule}, not {}", quoted(s))),
        };
        if arn.known_partition().is_none() {
            return invalid(format!("has an unknown partition in {}", quoted(s)));
        }
        let account_ok = arn.account == "aws"
            || (arn.account.len() == 12 && arn.account.bytes().all(|b| b.is_ascii_digit()));
        let name_ok = match arn.iam_resource() {
            Some(("policy", _, name)) => validate_iam_name(name, "policy", 128).is_ok(),
            _ => false,
        };
        if account_ok && name_ok && s.is_ascii() {
            Ok(PolicyArn(s.to_string()))
        } else {
            invalid(format!("{rule}, not {}", quoted(s)))
        }
    }
}

/// Deterministic default names, so that a rerun with the same inputs finds the same resources.
pub mod defaults {
    use super::{is_iam_word, Access, PolicyName, RoleName, S3Location, StackName, UserName};

    /// `tidb-role-import-my-bucket-data`, shortened with a hash when it would not fit.
    pub(crate) fn role_name(location: &S3Location, access: Access) -> RoleName {
        RoleName(derived("tidb-role", location, access, RoleName::MAX_LEN))
    }

    /// `tidb-user-import-my-bucket-data`, shortened with a hash when it would not fit.
    pub(crate) fn user_name(location: &S3Location, access: Access) -> UserName {
        UserName(derived("tidb-user", location, access, UserName::MAX_LEN))
    }

    /// The policy of a role or user: its name with `-policy` (always within 128 characters).
    pub(crate) fn policy_name(owner: &str) -> PolicyName {
        PolicyName(format!("{owner}-policy"))
    }

    /// The role name as a stack name: letters, digits and dashes. When that loses anything
    /// (a `.`, `_` or `@` in the role name), a hash of the role name keeps it unique.
    pub(crate) fn stack_name(role: &RoleName) -> StackName {
        let mut name: String = role
            .as_str()
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
            .collect();
        let mut exact = role
            .as_str()
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-');
        if !name.starts_with(|c: char| c.is_ascii_alphabetic()) {
            name.insert_str(0, "s-");
            exact = false;
        }
        if exact {
            return StackName(name);
        }
        let hash = short_hash(&role.as_str().to_ascii_lowercase());
        StackName(format!("{}-{hash}", name.trim_end_matches('-')))
    }

    /// `KIND-ACCESS-BUCKET-DIR`, kept readable, and made unique with a hash of the location
    /// whenever the name could not give the location back. IAM compares names without case
    /// ("Names are not distinguished by case", IAM API Reference, CreateRole), and `/` and
    /// `-` both become `-`, so the readable form alone is kept only where it decodes to one
    /// location: a bucket without `-` and no directory, or any bucket and one directory of
    /// lowercase letters, digits and `_ + = , . @` (the last `-` then splits the two). Every
    /// other location, and any name past `max`, ends in `-` and eight hex digits.
    fn derived(kind: &str, location: &S3Location, access: Access, max: usize) -> String {
        let bucket = location.bucket();
        let prefix = location.prefix();
        let mut readable = format!("{kind}-{access}-{bucket}");
        if !prefix.is_empty() {
            readable.push('-');
            readable.extend(prefix.chars().map(|c| {
                if is_iam_word(c) || "+=,.@-".contains(c) {
                    c
                } else {
                    '-'
                }
            }));
        }
        let decodable = if prefix.is_empty() {
            !bucket.contains('-')
        } else {
            prefix
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "_+=,.@".contains(c))
        };
        if decodable && readable.len() <= max {
            return readable;
        }
        let hash = short_hash(&location.to_string());
        let keep = readable
            .char_indices()
            .take_while(|(i, _)| *i < max - hash.len() - 1)
            .last()
            .map_or(0, |(i, c)| i + c.len_utf8());
        format!("{}-{hash}", readable[..keep].trim_end_matches('-'))
    }

    /// Eight hex digits of FNV-1a.
    fn short_hash(text: &str) -> String {
        format!("{:08x}", fnv1a(text.as_bytes()) as u32)
    }

    pub(crate) fn fnv1a(bytes: &[u8]) -> u64 {
        bytes.iter().fold(0xcbf29ce484222325, |h, b| {
            (h ^ u64::from(*b)).wrapping_mul(0x100000001b3)
        })
    }
}

/// A role or a user: whom a change, a check or a deletion is for. The one type that names
/// either, from the plan down to the AWS calls.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "name", rename_all = "lowercase")]
pub enum Who {
    Role(RoleName),
    User(UserName),
}

impl Who {
    pub(crate) fn name(&self) -> &str {
        match self {
            Who::Role(n) => n.as_str(),
            Who::User(n) => n.as_str(),
        }
    }

    /// `role` or `user`.
    pub(crate) fn kind(&self) -> &'static str {
        match self {
            Who::Role(_) => "role",
            Who::User(_) => "user",
        }
    }

    /// The flag that names it.
    pub(crate) fn flag(&self) -> &'static str {
        match self {
            Who::Role(_) => "--role-name",
            Who::User(_) => "--user-name",
        }
    }
}

impl fmt::Display for Who {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.kind(), self.name())
    }
}
