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

/// What an S3 URI names. The TiDB Cloud console's File URI may name a folder, one file or a
/// wildcard pattern of files; its Folder URI names a folder.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Named {
    Folder,
    File,
    Pattern,
}

/// How [`Named`] was decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Basis {
    /// The URI settles it: a trailing `/`, the bucket's root, or a wildcard.
    Syntax,
    /// ListObjectsV2 on the path found an object of that name, or a folder.
    Listed,
    /// Nothing was found (or nothing could be read): a last segment with a file extension is
    /// taken as a file, any other as a folder. See [`has_extension`].
    Extension,
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Tier {
    #[default]
    Starter,
    Essential,
    Premium,
    Dedicated,
}

impl Tier {
    pub const ALL: [Tier; 4] = [
        Tier::Starter,
        Tier::Essential,
        Tier::Premium,
        Tier::Dedicated,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Tier::Starter => "starter",
            Tier::Essential => "essential",
            Tier::Premium => "premium",
            Tier::Dedicated => "dedicated",
        }
    }

    /// The product's name: `TiDB Cloud Starter`.
    pub fn product(self) -> &'static str {
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
    pub fn reads_bucket_location(self) -> bool {
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

/// A TiDB Cloud cluster's ID, for the `ticloud` command printed after a setup.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct ClusterId(String);

impl ClusterId {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ClusterId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for ClusterId {
    type Err = Invalid;
    fn from_str(s: &str) -> Result<Self, Invalid> {
        if (1..=64).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        {
            Ok(ClusterId(s.to_string()))
        } else {
            invalid(format!(
                "must be the cluster's ID from the TiDB Cloud console (letters, digits and -), not {}",
                quoted(s)
            ))
        }
    }
}

/// A bucket and the directory inside it that TiDB Cloud gets access to, from the URI the user
/// gave: `s3://bucket`, `s3://bucket/dir/`, a file `s3://bucket/dir/file.csv` or a pattern
/// `s3://bucket/dir/sales.*.csv`. A file or a pattern is served by access to its directory,
/// which also covers a later re-import of the same folder.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct S3Location {
    bucket: String,
    /// The directory granted, without leading or trailing `/`; empty for the bucket's root.
    prefix: String,
    /// The file name or pattern after `prefix`, when the URI names one.
    leaf: Option<String>,
    named: Named,
    basis: Basis,
}

impl S3Location {
    pub fn bucket(&self) -> &str {
        &self.bucket
    }

    /// The directory granted, without slashes at either end; empty for the root of the bucket.
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

    pub fn named(&self) -> Named {
        self.named
    }

    pub fn basis(&self) -> Basis {
        self.basis
    }

    /// The URI as the user meant it: the directory, or the file or pattern inside it.
    pub fn given(&self) -> String {
        match &self.leaf {
            Some(leaf) => format!("{self}{leaf}"),
            None => self.to_string(),
        }
    }

    /// The key to look up when the URI alone cannot tell a file from a folder: `dir/name`
    /// for `s3://bucket/dir/name`. `None` when the URI settles it.
    pub fn unsettled_path(&self) -> Option<String> {
        if self.basis != Basis::Extension {
            return None;
        }
        Some(match &self.leaf {
            Some(leaf) if self.prefix.is_empty() => leaf.clone(),
            Some(leaf) => format!("{}/{leaf}", self.prefix),
            None => self.prefix.clone(),
        })
    }

    /// Settles a file-or-folder URI with what the bucket holds: an object of that exact key
    /// makes it a file; otherwise a folder of that name makes it a folder. When neither is
    /// there, the extension rule stands.
    pub fn settled(&self, object: bool, folder: bool) -> S3Location {
        let Some(path) = self.unsettled_path() else {
            return self.clone();
        };
        let mut out = match (object, folder) {
            (true, _) => S3Location::file_at(&self.bucket, &path),
            (false, true) => S3Location::folder_at(&self.bucket, &path),
            (false, false) => return self.clone(),
        };
        out.basis = Basis::Listed;
        out
    }

    /// One line for the plan when the URI names more than a folder: what is granted, and why.
    pub fn decision(&self) -> Option<String> {
        let given = self.given();
        let why = match self.basis {
            Basis::Syntax => "",
            Basis::Listed => " (found in the bucket)",
            Basis::Extension => match self.named {
                Named::File => " (by its name, which has a file extension)",
                _ => " (by its name, which has no file extension)",
            },
        };
        match self.named {
            Named::Folder if self.basis == Basis::Syntax => None,
            Named::Folder => Some(format!("{given} is a folder{why} → access to {self}")),
            Named::File => Some(format!("{given} is a file{why} → access to {self}")),
            Named::Pattern => Some(format!("{given} is a pattern of files → access to {self}")),
        }
    }

    fn folder_at(bucket: &str, path: &str) -> S3Location {
        S3Location {
            bucket: bucket.to_string(),
            prefix: path.trim_matches('/').to_string(),
            leaf: None,
            named: Named::Folder,
            basis: Basis::Syntax,
        }
    }

    fn file_at(bucket: &str, path: &str) -> S3Location {
        let (dir, leaf) = path.rsplit_once('/').unwrap_or(("", path));
        S3Location {
            bucket: bucket.to_string(),
            prefix: dir.to_string(),
            leaf: Some(leaf.to_string()),
            named: Named::File,
            basis: Basis::Syntax,
        }
    }
}

/// The rule for a URI whose last segment may be a file or a folder, when the bucket cannot
/// tell: a name with an extension of 1 to 8 letters and digits, at least one of them a letter
/// (`TableName.01.csv`, `part.parquet`, `a.csv.gz`), is a file; `data`, `2024.01` and `v1.`
/// are folders.
pub fn has_extension(name: &str) -> bool {
    match name.rsplit_once('.') {
        Some((stem, ext)) => {
            !stem.is_empty()
                && (1..=8).contains(&ext.len())
                && ext.bytes().all(|b| b.is_ascii_alphanumeric())
                && ext.bytes().any(|b| b.is_ascii_alphabetic())
        }
        None => false,
    }
}

impl fmt::Display for S3Location {
    /// The directory granted, as a Folder URI: `s3://bucket/dir/`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.prefix.is_empty() {
            write!(f, "s3://{}/", self.bucket)
        } else {
            write!(f, "s3://{}/{}/", self.bucket, self.prefix)
        }
    }
}

const URI_SHAPE: &str = "must look like s3://bucket/dir/ (the File or Folder URI from the TiDB Cloud console; a file s3://bucket/dir/file.csv or a pattern s3://bucket/dir/*.csv works too)";

impl FromStr for S3Location {
    type Err = Invalid;
    fn from_str(s: &str) -> Result<Self, Invalid> {
        let Some(rest) = s.strip_prefix("s3://") else {
            if let Some(uri) = s3_uri_of_link(s) {
                return invalid(format!(
                    "is a web link, not an S3 URI; use {} instead",
                    quoted(&uri)
                ));
            }
            return invalid(format!("{URI_SHAPE}, not {}", quoted(s)));
        };
        let (bucket, path) = rest.split_once('/').unwrap_or((rest, ""));
        validate_bucket(bucket)?;
        if path.chars().any(char::is_control) {
            return invalid("must not contain control characters");
        }
        if path.contains("//") {
            return invalid(format!(
                "has an empty directory name (`//`) in {}",
                quoted(s)
            ));
        }
        let trimmed = path.trim_matches('/');
        let segments: Vec<&str> = trimmed.split('/').collect();
        if segments.iter().any(|seg| *seg == "." || *seg == "..") {
            return invalid("must not contain `.` or `..` directories");
        }
        if trimmed.len() > 1024 {
            return invalid("has a path longer than S3's 1024-byte key limit");
        }
        let (dirs, last) = segments.split_at(segments.len() - 1);
        if dirs.iter().any(|d| d.contains(['*', '?'])) {
            return invalid(
                "has a wildcard in a directory name; TiDB Cloud takes * and ? only in the file name (s3://bucket/dir/*.csv)",
            );
        }
        // `${…}` in a policy's Resource is an IAM policy variable, so a `$` in the granted
        // directory would not name the directory (IAM User Guide, "IAM policy elements:
        // Variables and tags").
        if dirs.iter().any(|d| d.contains('$')) || (path.ends_with('/') && trimmed.contains('$')) {
            return invalid(
                "has `$` in a directory name; IAM reads `${…}` in a policy as a variable, so such a directory cannot be granted exactly",
            );
        }
        let last = last[0];
        if last.contains(['*', '?']) {
            if path.ends_with('/') {
                return invalid(
                    "has a wildcard in a directory name; TiDB Cloud takes * and ? only in the file name (s3://bucket/dir/*.csv)",
                );
            }
            let mut location = S3Location::file_at(bucket, trimmed);
            location.named = Named::Pattern;
            return Ok(location);
        }
        if trimmed.is_empty() || path.ends_with('/') {
            return Ok(S3Location::folder_at(bucket, trimmed));
        }
        // `s3://bucket/dir/name`: a file or a folder. Until the bucket is asked, the extension
        // rule decides; the directory that rule gives must be grantable too.
        if last.contains('$') {
            return invalid(
                "has `$` in its last segment; without a trailing / it may be a directory, and IAM reads `${…}` in a policy as a variable",
            );
        }
        let mut location = match has_extension(last) {
            true => S3Location::file_at(bucket, trimmed),
            false => S3Location::folder_at(bucket, trimmed),
        };
        location.basis = Basis::Extension;
        Ok(location)
    }
}

/// The `s3://` URI that a web link to a bucket stands for: a console link
/// (`https://s3.console.aws.amazon.com/s3/buckets/BUCKET?prefix=dir/`), a virtual-hosted URL
/// (`https://BUCKET.s3.REGION.amazonaws.com/dir/`) or a path-style one
/// (`https://s3.REGION.amazonaws.com/BUCKET/dir/`).
fn s3_uri_of_link(link: &str) -> Option<String> {
    let rest = link
        .strip_prefix("https://")
        .or_else(|| link.strip_prefix("http://"))?;
    let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
    let (path, query) = path.split_once('?').unwrap_or((path, ""));
    let decode = |s: &str| {
        percent_encoding::percent_decode_str(s)
            .decode_utf8_lossy()
            .into_owned()
    };
    if host.starts_with("s3.console.aws.amazon.com") || host.ends_with(".console.aws.amazon.com") {
        let bucket = path
            .strip_prefix("s3/buckets/")
            .or_else(|| path.strip_prefix("s3/object/"))?
            .split('/')
            .next()?;
        let prefix = query
            .split('&')
            .find_map(|kv| kv.strip_prefix("prefix="))
            .map(decode)
            .unwrap_or_default();
        return Some(format!("s3://{bucket}/{prefix}"));
    }
    if !host.ends_with(".amazonaws.com") && !host.ends_with(".amazonaws.com.cn") {
        return None;
    }
    if let Some((bucket, _)) = host.split_once(".s3") {
        if !bucket.is_empty() && !bucket.starts_with("s3") {
            return Some(format!("s3://{bucket}/{}", decode(path)));
        }
    }
    let (bucket, key) = path.split_once('/').unwrap_or((path, ""));
    (!bucket.is_empty()).then(|| format!("s3://{bucket}/{}", decode(key)))
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
    // Directory buckets (S3 Express One Zone) are authorised through s3express:CreateSession,
    // and access-point aliases through the access point's own policy: neither is served by
    // the s3: policy that TiDB Cloud's role or user gets here.
    if bucket.ends_with("--x-s3") {
        return invalid(format!(
            "names {}, an S3 Express One Zone directory bucket; those need s3express: permissions that TiDB Cloud's S3 access does not use; use a general purpose bucket",
            quoted(bucket)
        ));
    }
    if bucket.ends_with("-s3alias") || bucket.ends_with("--ol-s3") {
        return invalid(format!(
            "names {}, an access point alias; give the bucket behind the access point (s3://bucket/dir/)",
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

/// An IAM path: `/`, or `/a/b/` (1 to 512 characters of `!` to `~` between slashes; IAM API
/// Reference, CreateRole `Path`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct IamPath(String);

impl IamPath {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn is_root(&self) -> bool {
        self.0 == "/"
    }

    /// The path of an IAM ARN such as `arn:aws:iam::1:role/a/b/name` (`/a/b/`).
    pub fn of_arn(arn: &str) -> Option<IamPath> {
        let resource = arn.splitn(6, ':').nth(5)?;
        let (_, rest) = resource.split_once('/')?;
        let path = match rest.rsplit_once('/') {
            Some((dirs, _)) => format!("/{dirs}/"),
            None => "/".to_string(),
        };
        Some(IamPath(path))
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

/// The ARN of a managed policy used as a permissions boundary
/// (`arn:aws:iam::111122223333:policy/boundaries/developer`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct PolicyArn(String);

impl PolicyArn {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for PolicyArn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for PolicyArn {
    type Err = Invalid;
    fn from_str(s: &str) -> Result<Self, Invalid> {
        let rule = "must be a managed policy ARN such as arn:aws:iam::111122223333:policy/boundary";
        let parts: Vec<&str> = s.splitn(6, ':').collect();
        if parts.len() != 6 || parts[0] != "arn" || parts[2] != "iam" || !parts[3].is_empty() {
            return invalid(format!("{rule}, not {}", quoted(s)));
        }
        if Partition::of_arn(s).is_none() {
            return invalid(format!("has an unknown partition in {}", quoted(s)));
        }
        let account_ok = parts[4] == "aws"
            || (parts[4].len() == 12 && parts[4].bytes().all(|b| b.is_ascii_digit()));
        let name = parts[5].strip_prefix("policy/").unwrap_or_default();
        let name_ok = !name.is_empty()
            && !name.ends_with('/')
            && name
                .rsplit('/')
                .next()
                .is_some_and(|n| validate_iam_name(n, "policy", 128).is_ok());
        if account_ok && name_ok && s.is_ascii() {
            Ok(PolicyArn(s.to_string()))
        } else {
            invalid(format!("{rule}, not {}", quoted(s)))
        }
    }
}

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
        if key.eq_ignore_ascii_case(crate::aws::iam::MANAGED_BY_KEY)
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
    fn files_and_patterns_grant_their_directory() {
        let file: S3Location = "s3://bucket/ingest/TableName.01.csv".parse().unwrap();
        assert_eq!((file.prefix(), file.named()), ("ingest", Named::File));
        assert_eq!(file.basis(), Basis::Extension);
        assert_eq!(file.object_pattern(), "ingest/*");
        assert_eq!(file.to_string(), "s3://bucket/ingest/");
        assert_eq!(file.given(), "s3://bucket/ingest/TableName.01.csv");
        assert_eq!(
            file.unsettled_path().as_deref(),
            Some("ingest/TableName.01.csv")
        );

        let pattern: S3Location = "s3://bucket/ingest/sales.*.csv".parse().unwrap();
        assert_eq!(
            (pattern.prefix(), pattern.named(), pattern.basis()),
            ("ingest", Named::Pattern, Basis::Syntax)
        );
        assert_eq!(pattern.unsettled_path(), None);
        assert!(pattern
            .decision()
            .unwrap()
            .ends_with("→ access to s3://bucket/ingest/"));
        let at_root: S3Location = "s3://bucket/part-?.parquet".parse().unwrap();
        assert_eq!(
            (at_root.prefix(), at_root.object_pattern().as_str()),
            ("", "*")
        );

        // No trailing slash and no extension: a folder until the bucket says otherwise.
        let unsure: S3Location = "s3://bucket/ingest/data".parse().unwrap();
        assert_eq!(
            (unsure.prefix(), unsure.named()),
            ("ingest/data", Named::Folder)
        );
        assert_eq!(unsure.unsettled_path().as_deref(), Some("ingest/data"));
        let file = unsure.settled(true, false);
        assert_eq!(
            (file.prefix(), file.named(), file.basis()),
            ("ingest", Named::File, Basis::Listed)
        );
        assert!(file.decision().unwrap().contains("(found in the bucket)"));
        assert_eq!(file.unsettled_path(), None);
        let ext: S3Location = "s3://bucket/ingest/a.csv".parse().unwrap();
        let folder = ext.settled(false, true);
        assert_eq!(
            (folder.prefix(), folder.named()),
            ("ingest/a.csv", Named::Folder)
        );
        assert_eq!(ext.settled(false, false), ext);

        // A folder URI says so itself.
        let folder: S3Location = "s3://bucket/ingest/a.csv/".parse().unwrap();
        assert_eq!(
            (folder.prefix(), folder.basis()),
            ("ingest/a.csv", Basis::Syntax)
        );
        assert_eq!(folder.decision(), None);
        // A pattern may hold `$`; only its directory goes into the policy.
        let dollar: S3Location = "s3://bucket/in/$x*.csv".parse().unwrap();
        assert_eq!(dollar.prefix(), "in");
    }

    #[test]
    fn the_extension_rule() {
        for file in [
            "a.csv",
            "TableName.01.csv",
            "x.csv.gz",
            "part.parquet",
            "b.SQL",
            "c.zst",
        ] {
            assert!(has_extension(file), "{file}");
        }
        for folder in ["data", "2024.01", "v1.", ".hidden", "a.toolongext", "a.c-v"] {
            assert!(!has_extension(folder), "{folder}");
        }
    }

    #[test]
    fn web_links_name_the_uri_to_use() {
        for (link, uri) in [
            (
                "https://s3.console.aws.amazon.com/s3/buckets/my-bucket?region=us-east-1&prefix=data/in/&showversions=false",
                "s3://my-bucket/data/in/",
            ),
            (
                "https://my-bucket.s3.us-west-2.amazonaws.com/data/x.csv",
                "s3://my-bucket/data/x.csv",
            ),
            ("https://s3.eu-west-1.amazonaws.com/my-bucket/data/", "s3://my-bucket/data/"),
        ] {
            let err = link.parse::<S3Location>().unwrap_err().0;
            assert!(err.contains(&format!("use {uri:?}")), "{link}: {err}");
        }
        let err = "gs://bucket/x".parse::<S3Location>().unwrap_err().0;
        assert!(err.starts_with("must look like s3://bucket/dir/"), "{err}");
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
            "s3://bucket/*/x.csv",
            "s3://bucket/da?a/",
            "s3://bucket/a//b",
            "s3://bucket/${aws:username}/",
            "s3://bucket/${aws:username}/x.csv",
            "s3://bucket/x/${aws:username}",
            "s3://my-bucket--usw2-az1--x-s3/data/",
            "s3://my-ap-abcdefghijklmnopqrstuvwxyz123-s3alias/data/",
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
    fn tiers_and_their_rules() {
        assert_eq!("serverless".parse::<Tier>().unwrap(), Tier::Starter);
        for t in Tier::ALL {
            assert_eq!(t.as_str().parse::<Tier>().unwrap(), t);
            assert!(t.supports(Access::Import).is_ok());
            assert_eq!(t.supports(Access::Export).is_ok(), t != Tier::Dedicated);
            assert_eq!(t.supports(Access::Both).is_ok(), t != Tier::Dedicated);
            assert_eq!(t.reads_bucket_location(), t == Tier::Dedicated);
        }
        assert!("basic".parse::<Tier>().is_err());
        assert!("10447215000012345".parse::<ClusterId>().is_ok());
        assert!("a b".parse::<ClusterId>().is_err());
    }

    #[test]
    fn guardrails_follow_iams_rules() {
        assert!("/".parse::<IamPath>().unwrap().is_root());
        assert_eq!(
            "/tidb/cloud/".parse::<IamPath>().unwrap().as_str(),
            "/tidb/cloud/"
        );
        for bad in [
            "",
            "tidb/",
            "/tidb",
            "//",
            "/a b/",
            "/a//b/",
            "/ü/",
            &format!("/{}/", "a".repeat(511)),
        ] {
            assert!(bad.parse::<IamPath>().is_err(), "{bad:?}");
        }
        assert_eq!(
            IamPath::of_arn("arn:aws:iam::123456789012:role/a/b/r")
                .unwrap()
                .as_str(),
            "/a/b/"
        );
        assert!(IamPath::of_arn("arn:aws:iam::123456789012:role/r")
            .unwrap()
            .is_root());

        for ok in [
            "arn:aws:iam::123456789012:policy/boundary",
            "arn:aws:iam::123456789012:policy/org/dev-boundary",
            "arn:aws:iam::aws:policy/PowerUserAccess",
            "arn:aws-cn:iam::123456789012:policy/b",
        ] {
            assert!(ok.parse::<PolicyArn>().is_ok(), "{ok}");
        }
        for bad in [
            "boundary",
            "arn:aws:iam::123456789012:role/boundary",
            "arn:aws:iam::1234:policy/b",
            "arn:aws:iam:us-east-1:123456789012:policy/b",
            "arn:aws:iam::123456789012:policy/",
            "arn:aws:iam::123456789012:policy/a b",
            "arn:aws:s3:::bucket",
        ] {
            assert!(bad.parse::<PolicyArn>().is_err(), "{bad:?}");
        }

        let t: TagPair = "cost-center=data eng".parse().unwrap();
        assert_eq!(
            (t.key.as_str(), t.value.as_str()),
            ("cost-center", "data eng")
        );
        assert_eq!("owner=".parse::<TagPair>().unwrap().value, "");
        assert_eq!("a=b=c".parse::<TagPair>().unwrap().value, "b=c");
        assert!(
            "团队=数据".parse::<TagPair>().is_ok(),
            "IAM takes Unicode letters"
        );
        for bad in [
            "novalue",
            "=v",
            "aws:x=1",
            "AWS:x=1",
            "managed-by=me",
            "k=a;b",
            "k	=v",
            &format!("{}=v", "k".repeat(129)),
        ] {
            assert!(bad.parse::<TagPair>().is_err(), "{bad:?}");
        }
        let two = vec!["Team=a".parse().unwrap(), "team=b".parse().unwrap()];
        assert!(Guardrails::new(None, None, two).is_err());
        let many = (0..50)
            .map(|i| format!("k{i}=v").parse().unwrap())
            .collect();
        assert!(Guardrails::new(None, None, many).is_err());
        assert!(Guardrails::new(None, None, vec![]).unwrap().path.is_root());
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
