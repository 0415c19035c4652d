//! Validated inputs. Each type can only hold a value that AWS and TiDB Cloud accept, so the
//! rest of the program never re-checks them. The same parser serves a flag and a prompt answer.
//! The lowest layer: it uses no other module, and does no I/O beyond `SecretPath`'s look at the
//! file system.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A string that passed its type's rule (its `FromStr`, written beside it): the newtype, the
/// string back with `as_str`, and `Display` as the string itself. A type whose rule is one test
/// gives it after the name (`valid if |s| …, else "must be …";`): its `FromStr` refuses with that
/// rule and the value (`must be …, not "x"`).
macro_rules! checked_string {
    ($(#[$attr:meta])* pub struct $name:ident;) => {
        $(#[$attr])*
        pub struct $name(String);

        impl $name {
            pub(crate) fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
    ($(#[$attr:meta])* pub struct $name:ident; valid if $valid:expr, else $rule:literal;) => {
        checked_string! { $(#[$attr])* pub struct $name; }

        impl std::str::FromStr for $name {
            type Err = Invalid;
            fn from_str(s: &str) -> Result<Self, Invalid> {
                let valid: fn(&str) -> bool = $valid;
                if valid(s) {
                    Ok($name(s.to_string()))
                } else {
                    invalid(format!("{}, not {}", $rule, quoted(s)))
                }
            }
        }
    };
}

mod arn;
mod guardrails;
mod location;
mod names;
mod settings;

pub(crate) use arn::Arn;
pub use guardrails::{
    is_own_key, location_tag, GuardrailRequest, Guardrails, SetName, TagKey, TagPair, ACCESS_TAG,
    LOCATION_TAG, MANAGED_BY_KEY, MANAGED_BY_VALUE, SET_TAG,
};
pub use location::S3Location;
pub use location::{folder_uri, has_extension, Basis, Named};
use names::is_iam_word;
pub use names::{
    defaults, IamPath, KmsKeyArn, PolicyArn, PolicyName, RoleName, StackName, UserName, Who,
};
pub use settings::Timeout;
pub use settings::{EndpointUrl, SecretPath};

/// Why a value was rejected: the rule it broke, phrased so that it can follow a flag name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid(pub String);

impl fmt::Display for Invalid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Reads each type from the string it is written as, through the same parser as a flag, so a
/// value read from a file (a saved plan) holds only what a flag could: the rule it breaks
/// names the value.
macro_rules! deserialize_by_parsing {
    ($($name:ty),* $(,)?) => {$(
        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                s.parse()
                    .map_err(|e: Invalid| serde::de::Error::custom(format!("{} {e}", quoted(&s))))
            }
        }
    )*};
}

deserialize_by_parsing!(
    ClusterId, AccountId, ExternalId, Region, TagKey, RoleName, UserName, PolicyName, StackName,
    KmsKeyArn, IamPath, PolicyArn, SetName,
);

fn invalid<T>(msg: impl Into<String>) -> Result<T, Invalid> {
    Err(Invalid(msg.into()))
}

/// Renders a user's value for an error message without letting control characters through.
pub(crate) fn quoted(value: &str) -> String {
    format!("{:?}", value)
}

/// Which way data moves between TiDB Cloud and the bucket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Access {
    Import,
    Export,
    Both,
}

impl Access {
    pub(crate) const ALL: [Access; 3] = [Access::Import, Access::Export, Access::Both];

    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Access::Import => "import",
            Access::Export => "export",
            Access::Both => "both",
        }
    }

    /// The access in a sentence: `both` reads as "import and export".
    pub(crate) fn in_words(self) -> &'static str {
        match self {
            Access::Both => "import and export",
            one => one.as_str(),
        }
    }

    pub(crate) fn reads(self) -> bool {
        matches!(self, Access::Import | Access::Both)
    }

    pub(crate) fn writes(self) -> bool {
        matches!(self, Access::Export | Access::Both)
    }
}

impl fmt::Display for Access {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Access {
    type Err = Invalid;
    fn from_str(s: &str) -> Result<Self, Invalid> {
        match s {
            "import" => Ok(Access::Import),
            "export" => Ok(Access::Export),
            "both" => Ok(Access::Both),
            _ => invalid(format!(
                "must be one of import, export or both, not {}",
                quoted(s)
            )),
        }
    }
}

/// TiDB Cloud's tiers, and what each asks of the bucket. One table, from TiDB Cloud's pages
/// "Configure External Storage Access" (Starter, formerly Serverless, Essential and Premium:
/// import and export, `s3:ListBucket` on the bucket) and "Configure External Storage Access
/// for TiDB Cloud Dedicated" (import only, with `s3:GetBucketLocation` beside `s3:ListBucket`;
/// its external ID binds the project and the region):
///
/// | tier | import | export | bucket actions |
/// | --- | --- | --- | --- |
/// | starter, essential, premium | yes | yes | `s3:ListBucket` |
/// | dedicated | yes | no | `s3:ListBucket`, `s3:GetBucketLocation` |
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Tier {
    #[default]
    Starter,
    Essential,
    Premium,
    Dedicated,
}

impl Tier {
    #[cfg(test)]
    pub(crate) const ALL: [Tier; 4] = [
        Tier::Starter,
        Tier::Essential,
        Tier::Premium,
        Tier::Dedicated,
    ];

    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Tier::Starter => "starter",
            Tier::Essential => "essential",
            Tier::Premium => "premium",
            Tier::Dedicated => "dedicated",
        }
    }

    /// The product's name: `TiDB Cloud Starter`.
    pub(crate) fn product(self) -> &'static str {
        match self {
            Tier::Starter => "TiDB Cloud Starter",
            Tier::Essential => "TiDB Cloud Essential",
            Tier::Premium => "TiDB Cloud Premium",
            Tier::Dedicated => "TiDB Cloud Dedicated",
        }
    }

    /// Whether the tier moves data this way through S3.
    pub fn supports(self, access: Access) -> Result<(), Invalid> {
        match (self, access.writes()) {
            (Tier::Dedicated, true) => invalid(format!(
                "is {access} with --tier dedicated; TiDB Cloud Dedicated imports from S3 but does not export to it (\"Configure External Storage Access for TiDB Cloud Dedicated\"); use --access import"
            )),
            _ => Ok(()),
        }
    }

    /// Whether TiDB Cloud asks the bucket for its location (`s3:GetBucketLocation`).
    pub(crate) fn reads_bucket_location(self) -> bool {
        self == Tier::Dedicated
    }
}

impl fmt::Display for Tier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Tier {
    type Err = Invalid;
    fn from_str(s: &str) -> Result<Self, Invalid> {
        match s {
            "starter" | "serverless" => Ok(Tier::Starter),
            "essential" => Ok(Tier::Essential),
            "premium" => Ok(Tier::Premium),
            "dedicated" => Ok(Tier::Dedicated),
            _ => invalid(format!(
                "must be one of starter (formerly serverless), essential, premium or dedicated, not {}",
                quoted(s)
            )),
        }
    }
}

checked_string! {
    /// A TiDB Cloud cluster's ID, for the `ticloud` command printed after a setup.
    #[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
    #[serde(transparent)]
    pub struct ClusterId;
    valid if |s| {
        (1..=64).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
    },
    else "must be the cluster's ID from the TiDB Cloud console (letters, digits and -)";
}

checked_string! {
    /// A 12-digit AWS account ID.
    #[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
    #[serde(transparent)]
    pub struct AccountId;
}

impl FromStr for AccountId {
    type Err = Invalid;
    fn from_str(s: &str) -> Result<Self, Invalid> {
        let digits = |s: &str| s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit());
        if digits(s) {
            return Ok(AccountId(s.to_string()));
        }
        let rule = "must be exactly 12 digits (the TiDB Cloud Account ID from the console)";
        // The AWS console shows account IDs as 1234-5678-9012.
        let bare: String = s.chars().filter(|c| !matches!(c, '-' | ' ')).collect();
        if digits(&bare) {
            return invalid(format!("{rule}, without dashes or spaces: use {bare}"));
        }
        invalid(format!("{rule}, not {}", quoted(s)))
    }
}

checked_string! {
    /// The external ID that TiDB Cloud sends when it assumes the role.
    #[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
    #[serde(transparent)]
    pub struct ExternalId;
}

impl FromStr for ExternalId {
    type Err = Invalid;
    fn from_str(s: &str) -> Result<Self, Invalid> {
        // In characters, as for IAM's names (see `validate_iam_name`).
        let length = s.chars().count();
        if !(2..=1224).contains(&length) {
            return invalid(format!("must be 2 to 1224 characters long, not {length}"));
        }
        if let Some(c) = s
            .chars()
            .find(|c| !is_iam_word(*c) && !"+=,.@:/-".contains(*c))
        {
            return invalid(format!(
                "may contain only letters, digits and + = , . @ : / - _ (found {:?})",
                c
            ));
        }
        Ok(ExternalId(s.to_string()))
    }
}

checked_string! {
    /// An AWS region name such as `us-east-1`.
    #[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
    #[serde(transparent)]
    pub struct Region;
    valid if is_region,
    else "must be an AWS region such as us-east-1";
}

fn is_region(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    parts.len() >= 3
        && parts.iter().all(|p| {
            !p.is_empty()
                && p.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        })
        && parts
            .last()
            .is_some_and(|p| p.bytes().all(|b| b.is_ascii_digit()))
}

/// The AWS partition of an ARN: `aws`, `aws-cn` or `aws-us-gov`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub(crate) enum Partition {
    #[serde(rename = "aws")]
    Aws,
    #[serde(rename = "aws-cn")]
    China,
    #[serde(rename = "aws-us-gov")]
    GovCloud,
}

impl Partition {
    pub(crate) fn for_region(region: &str) -> Partition {
        if region.starts_with("cn-") {
            Partition::China
        } else if region.starts_with("us-gov-") {
            Partition::GovCloud
        } else {
            Partition::Aws
        }
    }

    /// The partition named in an ARN, if it is one this tool knows.
    pub(crate) fn of_arn(arn: &str) -> Option<Partition> {
        Arn::parse(arn)?.known_partition()
    }

    /// The partition of this name (`aws`, `aws-cn`, `aws-us-gov`), if this tool knows it.
    pub(crate) fn named(name: &str) -> Option<Partition> {
        match name {
            "aws" => Some(Partition::Aws),
            "aws-cn" => Some(Partition::China),
            "aws-us-gov" => Some(Partition::GovCloud),
            _ => None,
        }
    }

    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Partition::Aws => "aws",
            Partition::China => "aws-cn",
            Partition::GovCloud => "aws-us-gov",
        }
    }
}

impl fmt::Display for Partition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

checked_string! {
    /// An access key ID, as AWS shapes it: 16 to 128 uppercase letters and digits.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct AccessKeyId;
    valid if |id| {
        (16..=128).contains(&id.len())
            && id.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
    },
    else "must be an access key ID such as AKIAIOSFODNN7EXAMPLE (16 to 128 uppercase letters and digits)";
}

#[cfg(test)]
mod tests;
