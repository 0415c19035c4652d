//! Validated inputs. Each type can only hold a value that AWS and TiDB Cloud accept, so the
//! rest of the program never re-checks them. The same parser serves a flag and a prompt answer.

use std::fmt;
use std::str::FromStr;

use serde::Serialize;

/// Why a value was rejected: the rule it broke, phrased so that it can follow a flag name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid(pub String);

impl fmt::Display for Invalid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

fn invalid<T>(msg: impl Into<String>) -> Result<T, Invalid> {
    Err(Invalid(msg.into()))
}

/// Renders a user's value for an error message without letting control characters through.
pub fn quoted(value: &str) -> String {
    format!("{:?}", value)
}

/// Which way data moves between TiDB Cloud and the bucket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Access {
    Import,
    Export,
    Both,
}

impl Access {
    pub const ALL: [Access; 3] = [Access::Import, Access::Export, Access::Both];

    pub fn as_str(self) -> &'static str {
        match self {
            Access::Import => "import",
            Access::Export => "export",
            Access::Both => "both",
        }
    }

    pub fn reads(self) -> bool {
        matches!(self, Access::Import | Access::Both)
    }

    pub fn writes(self) -> bool {
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

/// A bucket and an optional directory inside it, from `s3://bucket` or `s3://bucket/dir/`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct S3Location {
    bucket: String,
    /// The directory without leading or trailing `/`; empty for the bucket's root.
    prefix: String,
}

impl S3Location {
    pub fn bucket(&self) -> &str {
        &self.bucket
    }

    /// The directory, without slashes at either end; empty for the root of the bucket.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The object key pattern that the policy grants: `dir/*`, or `*` at the root.
    pub fn object_pattern(&self) -> String {
        if self.prefix.is_empty() {
            "*".to_string()
        } else {
            format!("{}/*", self.prefix)
        }
    }
}

impl fmt::Display for S3Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.prefix.is_empty() {
            write!(f, "s3://{}/", self.bucket)
        } else {
            write!(f, "s3://{}/{}/", self.bucket, self.prefix)
        }
    }
}

impl FromStr for S3Location {
    type Err = Invalid;
    fn from_str(s: &str) -> Result<Self, Invalid> {
        let Some(rest) = s.strip_prefix("s3://") else {
            return invalid(format!(
                "must look like s3://bucket/dir/ (the File or Folder URI from the TiDB Cloud console), not {}",
                quoted(s)
            ));
        };
        let (bucket, path) = rest.split_once('/').unwrap_or((rest, ""));
        validate_bucket(bucket)?;
        if path.contains('*') || path.contains('?') {
            return invalid(
                "names a directory, not a pattern: leave out wildcards such as * (the policy adds /* itself)",
            );
        }
        if path.chars().any(char::is_control) {
            return invalid("must not contain control characters");
        }
        if path.contains("//") {
            return invalid(format!(
                "has an empty directory name (`//`) in {}",
                quoted(s)
            ));
        }
        let prefix = path.trim_matches('/');
        if prefix.split('/').any(|seg| seg == "." || seg == "..") {
            return invalid("must not contain `.` or `..` directories");
        }
        if prefix.len() > 1024 {
            return invalid("has a directory longer than S3's 1024-byte key limit");
        }
        Ok(S3Location {
            bucket: bucket.to_string(),
            prefix: prefix.to_string(),
        })
    }
}

/// S3's bucket naming rules for general purpose buckets.
fn validate_bucket(bucket: &str) -> Result<(), Invalid> {
    if bucket.is_empty() {
        return invalid("has no bucket name: use s3://bucket/dir/");
    }
    if !(3..=63).contains(&bucket.len()) {
        return invalid(format!(
            "has a bucket name of {} characters; bucket names have 3 to 63",
            bucket.chars().count()
        ));
    }
    if !bucket
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-')
    {
        return invalid(format!(
            "has bucket name {}; bucket names use only lowercase letters, digits, `.` and `-`",
            quoted(bucket)
        ));
    }
    let first = bucket.as_bytes()[0];
    let last = bucket.as_bytes()[bucket.len() - 1];
    if !first.is_ascii_alphanumeric() || !last.is_ascii_alphanumeric() {
        return invalid(format!(
            "has bucket name {}; it must begin and end with a letter or digit",
            quoted(bucket)
        ));
    }
    if bucket.contains("..") {
        return invalid(format!(
            "has bucket name {}; it must not contain two adjacent periods",
            quoted(bucket)
        ));
    }
    if bucket.split('.').count() == 4 && bucket.split('.').all(|p| p.parse::<u8>().is_ok()) {
        return invalid(format!(
            "has bucket name {}; it must not be formatted as an IP address",
            quoted(bucket)
        ));
    }
    Ok(())
}

/// A 12-digit AWS account ID.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct AccountId(String);

impl AccountId {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for AccountId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for AccountId {
    type Err = Invalid;
    fn from_str(s: &str) -> Result<Self, Invalid> {
        if s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit()) {
            Ok(AccountId(s.to_string()))
        } else {
            invalid(format!(
                "must be exactly 12 digits (the TiDB Cloud Account ID from the console), not {}",
                quoted(s)
            ))
        }
    }
}

/// The external ID that TiDB Cloud sends when it assumes the role.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct ExternalId(String);

impl ExternalId {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ExternalId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for ExternalId {
    type Err = Invalid;
    fn from_str(s: &str) -> Result<Self, Invalid> {
        if !(2..=1224).contains(&s.len()) {
            return invalid(format!(
                "must be 2 to 1224 characters long, not {}",
                s.chars().count()
            ));
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

fn is_iam_word(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// IAM's `[\w+=,.@-]` with a length limit: role, user and policy names.
fn validate_iam_name(s: &str, what: &str, max: usize) -> Result<(), Invalid> {
    if s.is_empty() || s.len() > max {
        return invalid(format!(
            "must be 1 to {max} characters long ({what} names), not {}",
            s.chars().count()
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
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            pub const MAX_LEN: usize = $max;

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
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

/// A CloudFormation stack name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct StackName(String);

impl StackName {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for StackName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for StackName {
    type Err = Invalid;
    fn from_str(s: &str) -> Result<Self, Invalid> {
        let ok = !s.is_empty()
            && s.len() <= 128
            && s.as_bytes()[0].is_ascii_alphabetic()
            && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
        if ok {
            Ok(StackName(s.to_string()))
        } else {
            invalid(format!(
                "must start with a letter and contain only letters, digits and `-`, at most 128 characters, not {}",
                quoted(s)
            ))
        }
    }
}

/// The ARN of a KMS key (`arn:PARTITION:kms:REGION:ACCOUNT:key/ID`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct KmsKeyArn(String);

impl KmsKeyArn {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The region the key lives in.
    pub fn region(&self) -> &str {
        self.0.split(':').nth(3).unwrap_or_default()
    }
}

impl fmt::Display for KmsKeyArn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for KmsKeyArn {
    type Err = Invalid;
    fn from_str(s: &str) -> Result<Self, Invalid> {
        let parts: Vec<&str> = s.splitn(6, ':').collect();
        let rule = "must be a KMS key ARN such as arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";
        if parts.len() != 6 || parts[0] != "arn" || parts[2] != "kms" {
            return invalid(format!("{rule}, not {}", quoted(s)));
        }
        if !matches!(parts[1], "aws" | "aws-cn" | "aws-us-gov") {
            return invalid(format!(
                "has partition {}; use aws, aws-cn or aws-us-gov",
                quoted(parts[1])
            ));
        }
        if !is_region(parts[3]) {
            return invalid(format!("has no valid region in {}", quoted(s)));
        }
        if parts[4].len() != 12 || !parts[4].bytes().all(|b| b.is_ascii_digit()) {
            return invalid(format!("has no 12-digit account ID in {}", quoted(s)));
        }
        match parts[5].split_once('/') {
            Some(("key", id))
                if !id.is_empty() && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') => {
            }
            Some(("alias", _)) => {
                return invalid(format!(
                    "names an alias ({}); the policy needs the key's own ARN (…:key/ID)",
                    quoted(s)
                ))
            }
            _ => return invalid(format!("{rule}, not {}", quoted(s))),
        }
        Ok(KmsKeyArn(s.to_string()))
    }
}

/// An AWS region name such as `us-east-1`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct Region(String);

impl Region {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Region {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for Region {
    type Err = Invalid;
    fn from_str(s: &str) -> Result<Self, Invalid> {
        if is_region(s) {
            Ok(Region(s.to_string()))
        } else {
            invalid(format!(
                "must be an AWS region such as us-east-1, not {}",
                quoted(s)
            ))
        }
    }
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum Partition {
    #[serde(rename = "aws")]
    Aws,
    #[serde(rename = "aws-cn")]
    China,
    #[serde(rename = "aws-us-gov")]
    GovCloud,
}

impl Partition {
    pub fn for_region(region: &str) -> Partition {
        if region.starts_with("cn-") {
            Partition::China
        } else if region.starts_with("us-gov-") {
            Partition::GovCloud
        } else {
            Partition::Aws
        }
    }

    /// The partition named in an ARN, if it is one this tool knows.
    pub fn of_arn(arn: &str) -> Option<Partition> {
        match arn.split(':').nth(1)? {
            "aws" => Some(Partition::Aws),
            "aws-cn" => Some(Partition::China),
            "aws-us-gov" => Some(Partition::GovCloud),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
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

/// Deterministic default names, so that a rerun with the same inputs finds the same resources.
pub mod defaults {
    use super::*;

    /// `tidb-role-import-my-bucket-data`, shortened with a hash when it would not fit.
    pub fn role_name(location: &S3Location, access: Access) -> RoleName {
        RoleName(derived("tidb-role", location, access, RoleName::MAX_LEN))
    }

    /// `tidb-user-import-my-bucket-data`, shortened with a hash when it would not fit.
    pub fn user_name(location: &S3Location, access: Access) -> UserName {
        UserName(derived("tidb-user", location, access, UserName::MAX_LEN))
    }

    /// The policy of a role or user: its name with `-policy` (always within 128 characters).
    pub fn policy_name(owner: &str) -> PolicyName {
        PolicyName(format!("{owner}-policy"))
    }

    /// `tidb-role-import-my-bucket-data` as a stack name (dots become dashes).
    pub fn stack_name(role: &RoleName) -> StackName {
        let mut name: String = role
            .as_str()
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
            .collect();
        if !name.starts_with(|c: char| c.is_ascii_alphabetic()) {
            name.insert_str(0, "s-");
        }
        name.truncate(128);
        StackName(name)
    }

    fn derived(kind: &str, location: &S3Location, access: Access, max: usize) -> String {
        let mut readable = format!("{kind}-{access}-{}", location.bucket());
        let mut exact = true;
        if !location.prefix().is_empty() {
            readable.push('-');
            for c in location.prefix().chars() {
                if is_iam_word(c) || "+=,.@-".contains(c) {
                    readable.push(c);
                } else {
                    readable.push('-');
                    exact &= c == '/';
                }
            }
        }
        if exact && readable.len() <= max {
            return readable;
        }
        // Too long, or two directories could map to the same name: keep it unique with a hash.
        let hash = format!("{:08x}", fnv1a(location.to_string().as_bytes()) as u32);
        let keep = readable
            .char_indices()
            .take_while(|(i, _)| *i < max - hash.len() - 1)
            .last()
            .map_or(0, |(i, c)| i + c.len_utf8());
        format!("{}-{hash}", readable[..keep].trim_end_matches('-'))
    }

    pub(crate) fn fnv1a(bytes: &[u8]) -> u64 {
        bytes.iter().fold(0xcbf29ce484222325, |h, b| {
            (h ^ u64::from(*b)).wrapping_mul(0x100000001b3)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_uris() {
        let l: S3Location = "s3://my-bucket/data/".parse().unwrap();
        assert_eq!((l.bucket(), l.prefix()), ("my-bucket", "data"));
        assert_eq!(l.object_pattern(), "data/*");
        let l: S3Location = "s3://my-bucket".parse().unwrap();
        assert_eq!(
            (l.bucket(), l.prefix(), l.object_pattern().as_str()),
            ("my-bucket", "", "*")
        );
        let l: S3Location = "s3://my-bucket/".parse().unwrap();
        assert_eq!(l.prefix(), "");
        let l: S3Location = "s3://b.c-d/a/b c/".parse().unwrap();
        assert_eq!(l.prefix(), "a/b c");
        assert_eq!(l.to_string(), "s3://b.c-d/a/b c/");
    }

    #[test]
    fn rejects_bad_uris() {
        for bad in [
            "",
            "my-bucket/data",
            "s3:/my-bucket",
            "https://my-bucket.s3.amazonaws.com/x",
            "s3://",
            "s3:///data",
            "s3://ab",
            "s3://My-Bucket/data",
            "s3://my_bucket",
            "s3://-bucket",
            "s3://bucket-",
            "s3://a..b",
            "s3://192.168.1.1",
            "s3://bucket/data/*",
            "s3://bucket/a//b",
            "s3://bucket/../x",
            "s3://bucket/a\nb",
            &format!("s3://{}", "a".repeat(64)),
        ] {
            assert!(bad.parse::<S3Location>().is_err(), "{bad:?} was accepted");
        }
    }

    #[test]
    fn validates_ids() {
        assert!("123456789012".parse::<AccountId>().is_ok());
        for bad in [
            "",
            "12345678901",
            "1234567890123",
            "12345678901a",
            "１２３４５６７８９０１２",
        ] {
            assert!(bad.parse::<AccountId>().is_err(), "{bad:?}");
        }
        assert!("ab".parse::<ExternalId>().is_ok());
        assert!("a:b/c=d,e.f@g-h_i+j".parse::<ExternalId>().is_ok());
        assert!("a".repeat(1224).parse::<ExternalId>().is_ok());
        for bad in ["", "a", "has space", "é1", &"a".repeat(1225)] {
            assert!(bad.parse::<ExternalId>().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn validates_names() {
        assert!("a".repeat(64).parse::<RoleName>().is_ok());
        assert!("a".repeat(65).parse::<RoleName>().is_err());
        assert!("a".repeat(128).parse::<PolicyName>().is_ok());
        assert!("a".repeat(129).parse::<PolicyName>().is_err());
        assert!("role/x".parse::<RoleName>().is_err());
        assert!("my.role+=,@-_1".parse::<RoleName>().is_ok());
        assert!("Stack-1".parse::<StackName>().is_ok());
        for bad in ["1stack", "st_ack", "", "st ack"] {
            assert!(bad.parse::<StackName>().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn validates_kms_arns() {
        let ok = "arn:aws:kms:ap-northeast-1:105880447796:key/c3046e91-fdfc-4f3a-acff-00597dd3801f";
        let key: KmsKeyArn = ok.parse().unwrap();
        assert_eq!(key.region(), "ap-northeast-1");
        assert!("arn:aws-cn:kms:cn-north-1:105880447796:key/abc"
            .parse::<KmsKeyArn>()
            .is_ok());
        for bad in [
            "c3046e91-fdfc-4f3a-acff-00597dd3801f",
            "arn:aws:kms:ap-northeast-1:105880447796:alias/mine",
            "arn:aws:s3:ap-northeast-1:105880447796:key/abc",
            "arn:aws:kms:nowhere:105880447796:key/abc",
            "arn:aws:kms:us-east-1:1058:key/abc",
            "arn:aws:kms:us-east-1:105880447796:key/",
            "arn:evil:kms:us-east-1:105880447796:key/abc",
        ] {
            assert!(bad.parse::<KmsKeyArn>().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn partitions_follow_the_region() {
        assert_eq!(Partition::for_region("us-east-1"), Partition::Aws);
        assert_eq!(Partition::for_region("cn-northwest-1"), Partition::China);
        assert_eq!(Partition::for_region("us-gov-west-1"), Partition::GovCloud);
        assert_eq!(
            Partition::of_arn("arn:aws-cn:iam::1:root"),
            Some(Partition::China)
        );
    }

    #[test]
    fn default_names_are_stable_valid_and_distinct() {
        let a: S3Location = "s3://my-bucket/data/".parse().unwrap();
        assert_eq!(
            defaults::role_name(&a, Access::Import).as_str(),
            "tidb-role-import-my-bucket-data"
        );
        assert_eq!(
            defaults::user_name(&a, Access::Both).as_str(),
            "tidb-user-both-my-bucket-data"
        );
        let root: S3Location = "s3://my-bucket".parse().unwrap();
        assert_eq!(
            defaults::role_name(&root, Access::Export).as_str(),
            "tidb-role-export-my-bucket"
        );
        assert_eq!(defaults::policy_name("x").as_str(), "x-policy");

        let long: S3Location = format!("s3://{}/{}/", "b".repeat(63), "d".repeat(300))
            .parse()
            .unwrap();
        let name = defaults::role_name(&long, Access::Import);
        assert!(name.as_str().parse::<RoleName>().is_ok());
        assert_eq!(name, defaults::role_name(&long, Access::Import));

        // Directories that sanitise alike still get different names.
        let x: S3Location = "s3://bucket/a b/".parse().unwrap();
        let y: S3Location = "s3://bucket/a#b/".parse().unwrap();
        assert_ne!(
            defaults::role_name(&x, Access::Import),
            defaults::role_name(&y, Access::Import)
        );
        assert!(defaults::role_name(&x, Access::Import)
            .as_str()
            .parse::<RoleName>()
            .is_ok());

        let stack = defaults::stack_name(&"tidb-role-import-my.bucket".parse().unwrap());
        assert_eq!(stack.as_str(), "tidb-role-import-my-bucket");
        assert!(stack.as_str().parse::<StackName>().is_ok());
    }
}
