//! S3 URIs as the console and people write them: folders, files, patterns, web links.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::{invalid, quoted, Invalid};

/// What an S3 URI names. The TiDB Cloud console's File URI may name a folder, one file or a
/// wildcard pattern of files; its Folder URI names a folder.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Named {
    Folder,
    File,
    Pattern,
}

/// How [`Named`] was decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
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

/// A bucket and the directory inside it that TiDB Cloud gets access to, from the URI the user
/// gave: `s3://bucket`, `s3://bucket/dir/`, a file `s3://bucket/dir/file.csv` or a pattern
/// `s3://bucket/dir/sales.*.csv`. A file or a pattern is served by access to its directory,
/// which also covers a later re-import of the same folder.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(into = "GivenLocation", try_from = "GivenLocation")]
pub struct S3Location {
    bucket: String,
    /// The directory granted, without leading or trailing `/`; empty for the bucket's root.
    prefix: String,
    /// The file name or pattern after `prefix`, when the URI names one.
    leaf: Option<String>,
    named: Named,
    basis: Basis,
}

/// [`S3Location`] as a file holds it: the URI as given, and what it was found to name (a file
/// or a folder, which the URI alone may not tell). Read through the same parser as `--uri`.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct GivenLocation {
    uri: String,
    named: Named,
    /// How that was decided.
    basis: Basis,
}

impl From<S3Location> for GivenLocation {
    fn from(l: S3Location) -> Self {
        GivenLocation {
            uri: l.given(),
            named: l.named,
            basis: l.basis,
        }
    }
}

impl TryFrom<GivenLocation> for S3Location {
    type Error = String;
    fn try_from(g: GivenLocation) -> Result<Self, String> {
        let parsed: S3Location = g
            .uri
            .parse()
            .map_err(|e: Invalid| format!("uri {} {e}", quoted(&g.uri)))?;
        let read = match g.basis {
            Basis::Listed => parsed.settled(g.named == Named::File, g.named == Named::Folder),
            _ => parsed,
        };
        if (read.named, read.basis) != (g.named, g.basis) {
            return Err(format!(
                "uri {} cannot name a {:?} found by {:?}",
                quoted(&g.uri),
                g.named,
                g.basis
            ));
        }
        Ok(read)
    }
}

impl S3Location {
    pub(crate) fn bucket(&self) -> &str {
        &self.bucket
    }

    /// The directory granted, without slashes at either end; empty for the root of the bucket.
    pub(crate) fn prefix(&self) -> &str {
        &self.prefix
    }

    /// Whether the URI names the bucket alone (no folder, file or pattern): everything in it
    /// is granted.
    pub(crate) fn is_whole_bucket(&self) -> bool {
        self.prefix.is_empty() && self.leaf.is_none()
    }

    /// The object key pattern that the policy grants: `dir/*`, or `*` at the root.
    pub(crate) fn object_pattern(&self) -> String {
        if self.prefix.is_empty() {
            "*".to_string()
        } else {
            format!("{}/*", self.prefix)
        }
    }

    #[cfg(test)]
    pub(crate) fn named(&self) -> Named {
        self.named
    }

    #[cfg(test)]
    pub(crate) fn basis(&self) -> Basis {
        self.basis
    }

    /// The URI as the user meant it: the directory, or the file or pattern inside it.
    pub(crate) fn given(&self) -> String {
        match &self.leaf {
            Some(leaf) => format!("{self}{leaf}"),
            None => self.to_string(),
        }
    }

    /// The key to look up when the URI alone cannot tell a file from a folder: `dir/name`
    /// for `s3://bucket/dir/name`. `None` when the URI settles it.
    pub(crate) fn unsettled_path(&self) -> Option<String> {
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
    pub(crate) fn settled(&self, object: bool, folder: bool) -> S3Location {
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
    pub(crate) fn decision(&self) -> Option<String> {
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
        f.write_str(&folder_uri(&self.bucket, &self.prefix))
    }
}

/// A directory of a bucket as a Folder URI, `s3://bucket/dir/`, or `s3://bucket/` for the whole
/// bucket (a prefix without its slashes, as a stack's parameter or a tag holds it).
pub fn folder_uri(bucket: &str, prefix: &str) -> String {
    if prefix.is_empty() {
        format!("s3://{bucket}/")
    } else {
        format!("s3://{bucket}/{prefix}/")
    }
}

/// What was meant by a URI as it was copied from a console or a document: with white space
/// around it, a capital scheme, or a web link; the refusal names the `s3://` URI to use.
fn meant(s: &str) -> Option<String> {
    if s.trim() != s && !s.trim().is_empty() {
        let uri = quoted(s.trim());
        return Some(format!("has white space around it; use {uri} instead"));
    }
    if s.starts_with("s3://") {
        return None;
    }
    if let Some(rest) = s
        .get(..5)
        .filter(|p| p.eq_ignore_ascii_case("s3://"))
        .map(|_| &s[5..])
    {
        let uri = quoted(&format!("s3://{rest}"));
        return Some(format!("has the scheme in capitals; use {uri} instead"));
    }
    let uri = quoted(&s3_uri_of_link(s)?);
    Some(format!("is a web link, not an S3 URI; use {uri} instead"))
}

const URI_SHAPE: &str = "must look like s3://bucket/dir/ (the File or Folder URI from the TiDB Cloud console; a file s3://bucket/dir/file.csv or a pattern s3://bucket/dir/*.csv works too)";

impl FromStr for S3Location {
    type Err = Invalid;
    fn from_str(s: &str) -> Result<Self, Invalid> {
        if let Some(meant) = meant(s) {
            return invalid(meant);
        }
        let Some(rest) = s.strip_prefix("s3://") else {
            return invalid(format!("{URI_SHAPE}, not {}", quoted(s)));
        };
        let (bucket, path) = rest.split_once('/').unwrap_or((rest, ""));
        validate_bucket(bucket)?;
        if path.chars().any(char::is_control) {
            return invalid("must not contain control characters");
        }
        // A leading `/` is an empty first directory: `//data/` is not `data/` in S3.
        if path.contains("//") || path.starts_with('/') {
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
        let mut location = if has_extension(last) {
            S3Location::file_at(bucket, trimmed)
        } else {
            S3Location::folder_at(bucket, trimmed)
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
    let has = |part: &str| bucket.contains(part);
    let starts = |prefix: &str| bucket.starts_with(prefix);
    let ends = |suffix: &str| bucket.ends_with(suffix);
    let allowed = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-';
    let edges = [bucket.as_bytes()[0], bucket.as_bytes()[bucket.len() - 1]];
    let ip = bucket.split('.').count() == 4 && bucket.split('.').all(|p| p.parse::<u8>().is_ok());
    // The rules in the order they are checked: whether the name breaks one, and what the
    // error says after the name (after "has bucket name NAME" when it starts with `;`, else
    // after "names NAME").
    let rules = [
        (
            !bucket.bytes().all(allowed),
            "; bucket names use only lowercase letters, digits, `.` and `-`",
        ),
        (
            !edges.iter().all(u8::is_ascii_alphanumeric),
            "; it must begin and end with a letter or digit",
        ),
        (has(".."), "; it must not contain two adjacent periods"),
        // Each dot-separated label starts and ends with a letter or digit, so that the name
        // is a DNS name (S3 User Guide, "General purpose bucket naming rules" and its
        // virtual-hosted addressing); `bucket.-dot` and `bucket-.dot` are never issued.
        (
            has(".-") || has("-."),
            "; a period must not be next to a hyphen (each part between periods begins and ends with a letter or digit)",
        ),
        // Reserved by S3 (S3 User Guide, "General purpose bucket naming rules"): no bucket
        // has them.
        (
            starts("xn--"),
            "; S3 reserves the prefix xn-- and never issues such a bucket",
        ),
        (
            starts("sthree-"),
            "; S3 reserves the prefix sthree- and never issues such a bucket",
        ),
        (
            starts("amzn-s3-demo-"),
            "; S3 reserves the prefix amzn-s3-demo- and never issues such a bucket",
        ),
        (
            ends(".mrap"),
            ", which S3 reserves for a Multi-Region Access Point (.mrap); give a general purpose bucket",
        ),
        (
            ends("--table-s3"),
            ", which S3 reserves for an S3 Tables table bucket (--table-s3); give a general purpose bucket",
        ),
        // Directory buckets (S3 Express One Zone) are authorised through
        // s3express:CreateSession, and access-point aliases through the access point's own
        // policy: neither is served by the s3: policy that TiDB Cloud's role or user gets here.
        (
            ends("--x-s3"),
            ", an S3 Express One Zone directory bucket; those need s3express: permissions that TiDB Cloud's S3 access does not use; use a general purpose bucket",
        ),
        (
            ends("-s3alias") || ends("--ol-s3"),
            ", an access point alias; give the bucket behind the access point (s3://bucket/dir/)",
        ),
        (ip, "; it must not be formatted as an IP address"),
    ];
    let name = quoted(bucket);
    match rules.iter().find(|(broken, _)| *broken) {
        Some((_, why)) if why.starts_with(';') => invalid(format!("has bucket name {name}{why}")),
        Some((_, why)) => invalid(format!("names {name}{why}")),
        None => Ok(()),
    }
}
