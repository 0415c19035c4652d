//! The errors a user must act on, each with the fix, and the exit code each one means.

use std::fmt;

use aws_sdk_iam::error::ProvideErrorMetadata;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;

/// Exit codes, as documented in `--help`.
pub mod exit {
    pub const OK: i32 = 0;
    pub const FAILED: i32 = 1;
    pub const USAGE: i32 = 2;
    /// `plan --detailed-exit-code`: the plan has changes.
    pub const PENDING: i32 = 3;
    pub const INTERRUPTED: i32 = 130;
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A flag or answer broke a rule. Nothing was sent to AWS.
    #[error("{flag}: {rule}")]
    Invalid { flag: String, rule: String },

    /// Required inputs were not given and could not be asked for.
    #[error("missing required {}: {}{}", if .flags.len() == 1 { "flag" } else { "flags" }, .flags.join(", "), .hint)]
    Missing { flags: Vec<String>, hint: String },

    /// The input names something that does not exist (a bucket, say). Nothing was changed.
    #[error("{0}")]
    NotFound(String),

    /// No usable credentials, with the way to get some.
    #[error("{message}\n  fix: {fix}")]
    Credentials { message: String, fix: String },

    /// A same-named resource exists that this tool did not create; it is never touched.
    #[error("{kind} `{name}` already exists and was not created by serverless-s3-setup (it has no managed-by=serverless-s3-setup tag), so it is left alone\n  fix: choose another name with {flag}, or delete that {kind} yourself if it is unused")]
    NotManaged {
        kind: &'static str,
        name: String,
        flag: &'static str,
    },

    /// The bucket uses a key that cannot be shared across accounts.
    #[error("bucket `{bucket}` belongs to another account than {account}, and is encrypted with its AWS-managed key ({key}), which only principals of the bucket's own account can use; a role or user made in {account} could never read or write it\n  fix: run this with credentials of the bucket's account, or switch the bucket's default encryption to a customer-managed KMS key (whose key policy names the role) or to SSE-S3")]
    AwsManagedKey {
        bucket: String,
        key: String,
        account: String,
    },

    /// The user already holds as many access keys as IAM allows.
    #[error("user `{user}` already has {} access keys, IAM's limit, so no new key can be created; nothing was changed\n{}\n  fix: delete one after its import or export is done:\n{}\n{}", .keys.len(), key_lines(.keys), delete_lines(.user, .keys), rotate_line(.keys))]
    KeyLimit {
        user: String,
        keys: Vec<crate::facts::AccessKeyInfo>,
    },

    /// Something in AWS stands in the way: a busy stack, a name taken another way.
    #[error("{0}")]
    Conflict(String),

    /// A stack ended in a failed state, or did not settle in time.
    #[error("{0}")]
    Stack(String),

    /// An AWS call failed.
    #[error(transparent)]
    Aws(#[from] AwsError),

    /// A step failed and the undo could not remove everything, or a teardown stopped partway.
    #[error("{cause}\n\n{leftovers}")]
    Leftovers {
        cause: Box<Error>,
        leftovers: String,
        /// What a teardown deleted before it stopped (nothing, for a setup's undo).
        went: Vec<String>,
    },

    /// A saved plan (`--plan FILE`) no longer describes what a run would do. Nothing was changed.
    #[error("the plan in {file} is stale: {why}; nothing was changed{}\n  fix: make the plan again with the command that wrote it (--plan-out), review it, and apply that one", stale_lines(.changes))]
    StalePlan {
        file: String,
        why: String,
        changes: Vec<String>,
    },

    /// The user declined the plan.
    #[error("cancelled; nothing was changed")]
    Cancelled,

    /// Ctrl-C or SIGTERM.
    #[error("interrupted{0}")]
    Interrupted(String),

    /// Esc at a choice: the wizard goes back to the question before; where there is none,
    /// the run ends as at Ctrl-C.
    #[error("interrupted (Esc); nothing was changed")]
    Back,

    /// The failure was already reported in full on stdout (a `verify` report).
    #[error("see the report above")]
    Reported,

    /// `plan --detailed-exit-code`: the plan, reported in full, has changes (exit 3).
    #[error("changes are pending")]
    Pending,

    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

impl Error {
    pub fn invalid(flag: impl Into<String>, rule: impl fmt::Display) -> Error {
        Error::Invalid {
            flag: flag.into(),
            rule: rule.to_string(),
        }
    }

    /// Required flags not given, named all at once.
    pub(crate) fn missing(flags: &[&str]) -> Error {
        Error::Missing {
            flags: flags.iter().map(|f| f.to_string()).collect(),
            hint: String::new(),
        }
    }

    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Invalid { .. } | Error::Missing { .. } | Error::NotFound(_) => exit::USAGE,
            Error::Interrupted(_) | Error::Back => exit::INTERRUPTED,
            Error::Pending => exit::PENDING,
            Error::Leftovers { cause, .. } if matches!(**cause, Error::Interrupted(_)) => {
                exit::INTERRUPTED
            }
            _ => exit::FAILED,
        }
    }

    /// A short machine-readable name for `--output json`.
    pub(crate) fn kind(&self) -> &'static str {
        match self {
            Error::Invalid { .. } => "invalid_input",
            Error::Missing { .. } => "missing_input",
            Error::NotFound(_) => "not_found",
            Error::Credentials { .. } => "credentials",
            Error::NotManaged { .. } => "not_managed",
            Error::AwsManagedKey { .. } => "aws_managed_key",
            Error::KeyLimit { .. } => "key_limit",
            Error::Conflict(_) => "conflict",
            Error::Stack(_) => "stack",
            Error::Aws(_) => "aws",
            Error::Leftovers { .. } => "leftovers",
            Error::StalePlan { .. } => "stale_plan",
            Error::Cancelled => "cancelled",
            Error::Interrupted(_) | Error::Back => "interrupted",
            Error::Reported => "reported",
            Error::Pending => "pending",
            Error::Other(_) => "other",
        }
    }
}

fn stale_lines(changes: &[String]) -> String {
    changes.iter().map(|c| format!("\n  - {c}")).collect()
}

fn key_lines(keys: &[crate::facts::AccessKeyInfo]) -> String {
    keys.iter()
        .map(|k| format!("  - {} ({}, {})", k.id, k.status, k.age()))
        .collect::<Vec<_>>()
        .join("\n")
}

/// `--rotate` makes room as a CI run does: the oldest key first.
fn rotate_line(keys: &[crate::facts::AccessKeyInfo]) -> String {
    let mut ids: Vec<_> = keys.iter().collect();
    ids.sort_by_key(|k| k.created.unwrap_or(i64::MIN));
    let ids: Vec<&str> = ids.iter().map(|k| k.id.as_str()).collect();
    match ids.split_first() {
        Some((oldest, [])) => format!("  or run it again with --rotate: {oldest} is deleted first, to make room (an import or export still using it then fails)"),
        Some((oldest, rest)) => format!(
            "  or run it again with --rotate: {oldest} is deleted first, to make room, and {} once the new key works (an import or export still using them then fails)",
            rest.join(", ")
        ),
        None => String::new(),
    }
}

fn delete_lines(user: &str, keys: &[crate::facts::AccessKeyInfo]) -> String {
    keys.iter()
        .map(|k| format!("    serverless-s3-setup access-key delete --user-name {user} --access-key-id {} --yes", k.id))
        .collect::<Vec<_>>()
        .join("\n")
}

/// A failed AWS call: which operation, what AWS said, and what to do about it.
#[derive(Debug)]
pub struct AwsError {
    /// `iam:CreateRole`: also the permission the caller needs.
    pub(crate) operation: &'static str,
    /// What the answer means to the tool, decided once from the code and the status.
    pub(crate) kind: Kind,
    pub(crate) code: Option<String>,
    pub(crate) message: String,
    pub(crate) status: Option<u16>,
    pub(crate) fix: Option<String>,
}

impl std::error::Error for AwsError {}

/// What an AWS error means to the tool. The codes are AWS's; which code each service uses for
/// the same meaning differs (IAM's `EntityAlreadyExists`, CloudFormation's
/// `AlreadyExistsException`), and callers outside `aws` ask only for the meaning.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// A create found the name taken: `EntityAlreadyExists`, `AlreadyExistsException`.
    AlreadyExists,
    /// What was named is not there (yet): IAM's `NoSuchEntity`.
    NoSuchEntity,
    /// IAM refuses a delete while something still depends on it: `DeleteConflict`.
    DeleteConflict,
    /// IAM rejected a policy document: `MalformedPolicyDocument`.
    MalformedPolicy,
    /// Anything else; see the code and the message.
    Other,
}

impl Kind {
    pub(crate) fn of(code: Option<&str>) -> Kind {
        match code {
            Some("EntityAlreadyExists" | "AlreadyExistsException") => Kind::AlreadyExists,
            Some("NoSuchEntity") => Kind::NoSuchEntity,
            Some("DeleteConflict") => Kind::DeleteConflict,
            Some("MalformedPolicyDocument") => Kind::MalformedPolicy,
            _ => Kind::Other,
        }
    }
}

impl fmt::Display for AwsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} failed", self.operation)?;
        match (&self.code, self.status) {
            (Some(code), _) => write!(f, ": {code}")?,
            (None, Some(status)) => write!(f, ": HTTP {status}")?,
            (None, None) => {}
        }
        if !self.message.is_empty() {
            write!(f, ": {}", self.message)?;
        }
        if let Some(fix) = &self.fix {
            write!(f, "\n  fix: {fix}")?;
        }
        Ok(())
    }
}

impl AwsError {
    pub(crate) fn from_sdk<E>(operation: &'static str, err: SdkError<E, HttpResponse>) -> AwsError
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        let status = err.raw_response().map(|r| r.status().as_u16());
        let (code, message) = match &err {
            SdkError::ServiceError(e) => (
                e.err().code().map(str::to_string),
                e.err().message().unwrap_or_default().to_string(),
            ),
            SdkError::TimeoutError(_) => (None, "the request timed out".to_string()),
            SdkError::DispatchFailure(e) => (None, dispatch_message(e)),
            other => (None, source_chain(other)),
        };
        let mut error = AwsError {
            operation,
            kind: Kind::of(code.as_deref()),
            code,
            message,
            status,
            fix: None,
        };
        error.fix = error.default_fix();
        error
    }

    /// AccessDenied, however the endpoint spells it (moto leaves the code out of IAM's 403s).
    pub(crate) fn is_access_denied(&self) -> bool {
        matches!(
            self.code.as_deref(),
            Some("AccessDenied" | "AccessDeniedException" | "UnauthorizedOperation")
        ) || (self.code.is_none() && self.status == Some(403))
    }

    /// S3's answers for a request sent to another region than the bucket's.
    pub(crate) fn is_wrong_region(&self) -> bool {
        matches!(
            self.code.as_deref(),
            Some(
                "PermanentRedirect"
                    | "AuthorizationHeaderMalformed"
                    | "IllegalLocationConstraintException"
                    | "TemporaryRedirect"
            )
        ) || (self.code.is_none() && matches!(self.status, Some(301 | 307)))
    }

    /// A read that did not work here, but whose absence only weakens what the tool can tell:
    /// denied, or sent to the wrong region.
    pub(crate) fn is_unreadable(&self) -> bool {
        self.is_access_denied() || self.is_wrong_region()
    }

    /// An error the tool itself finds in an answer (a field missing, a stack that will not go).
    pub(crate) fn new(operation: &'static str, message: impl Into<String>) -> AwsError {
        AwsError {
            operation,
            kind: Kind::Other,
            code: None,
            message: message.into(),
            status: None,
            fix: None,
        }
    }

    pub(crate) fn with_fix(mut self, fix: impl Into<String>) -> AwsError {
        self.fix = Some(fix.into());
        self
    }

    fn default_fix(&self) -> Option<String> {
        let code = self.code.as_deref().unwrap_or_default();
        if self.is_access_denied() {
            // AWS names the kind of policy behind a denial in the message ("… with an explicit
            // deny in a service control policy", "… because no permissions boundary allows
            // the … action"); see the IAM User Guide, "Troubleshoot access denied error
            // messages".
            let message = self.message.to_lowercase();
            if message.contains("service control policy") {
                return Some(format!(
                    "a service control policy of your AWS organization denies {}; if the organization requires a permissions boundary, a path or tags on new roles and users, pass them with --permissions-boundary, --path and --tag; otherwise ask the organization's administrators",
                    self.operation
                ));
            }
            if message.contains("permissions boundary") {
                return Some(format!(
                    "a permissions boundary denies {}: on the identity in use (ask for a boundary that allows it), or, if the organization requires one on new roles and users, pass it with --permissions-boundary",
                    self.operation
                ));
            }
            return Some(format!(
                "the AWS identity in use lacks {}; run with credentials (--profile) that allow it",
                self.operation
            ));
        }
        match code {
            "InvalidClientTokenId" | "UnrecognizedClientException" | "InvalidAccessKeyId" => Some(
                "the access key is not valid in this account: check AWS_ACCESS_KEY_ID / --profile, or run `aws configure`".into(),
            ),
            "SignatureDoesNotMatch" => Some(
                "the secret access key does not match the key ID: check AWS_SECRET_ACCESS_KEY or the profile".into(),
            ),
            "ExpiredToken" | "ExpiredTokenException" | "RequestExpired" => Some(
                "the session token has expired: refresh it (for SSO, `aws sso login --profile NAME`)".into(),
            ),
            "Throttling" | "ThrottlingException" | "SlowDown" | "RequestLimitExceeded" => Some(
                "AWS is throttling requests; wait a moment and run the same command again".into(),
            ),
            _ if self.status.is_none() && self.code.is_none() => Some(
                "check the network and --endpoint-url / AWS_ENDPOINT_URL, then run the same command again".into(),
            ),
            // AWS's own 5xx answers name their error (InternalFailure, ServiceUnavailable,
            // InternalError…) in the body; a bare status is some other server's, such as a
            // proxy's or a wrong --endpoint-url's.
            _ if self.code.is_none() && self.status.is_some_and(|s| s >= 500) => Some(format!(
                "the answer (HTTP {}) carries no AWS error, so it may not come from AWS: check --endpoint-url / AWS_ENDPOINT_URL and any HTTPS proxy; if it is AWS, run the same command again",
                self.status.unwrap_or_default()
            )),
            _ if self.status.is_some_and(|s| s >= 500) => Some(
                "AWS had an internal error; run the same command again".into(),
            ),
            _ => None,
        }
    }
}

fn dispatch_message(e: &aws_smithy_runtime_api::client::result::DispatchFailure) -> String {
    let what = if e.is_timeout() {
        "timed out connecting"
    } else if e.is_io() {
        "connection failed"
    } else {
        "could not send the request"
    };
    let chain = e
        .as_connector_error()
        .map(|c| {
            let own = c.to_string();
            let rest = source_chain(c);
            if rest.is_empty() {
                own
            } else {
                format!("{own}: {rest}")
            }
        })
        .unwrap_or_default();
    if chain.is_empty() {
        what.to_string()
    } else {
        format!("{what} ({chain})")
    }
}

fn source_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut parts = Vec::new();
    let mut next = e.source();
    while let Some(cause) = next {
        let text = cause.to_string();
        if !parts.contains(&text) {
            parts.push(text);
        }
        next = cause.source();
    }
    parts.join(": ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn aws(code: Option<&str>, status: Option<u16>) -> AwsError {
        let mut e = AwsError {
            operation: "iam:CreateRole",
            kind: Kind::of(code),
            code: code.map(str::to_string),
            message: "m".into(),
            status,
            fix: None,
        };
        e.fix = e.default_fix();
        e
    }

    #[test]
    fn access_denied_names_the_missing_permission() {
        for e in [aws(Some("AccessDenied"), Some(403)), aws(None, Some(403))] {
            assert!(e.is_access_denied());
            assert!(e.to_string().contains("lacks iam:CreateRole"), "{e}");
        }
        assert!(!aws(Some("NoSuchEntity"), Some(404)).is_access_denied());
    }

    #[test]
    fn organisation_denials_are_named_with_their_fix() {
        let with = |message: &str| {
            let mut e = aws(Some("AccessDenied"), Some(403));
            e.message = message.into();
            e.fix = e.default_fix();
            e.to_string()
        };
        let scp = with("User: arn:aws:iam::1:user/ci is not authorized to perform: iam:CreateRole on resource: x with an explicit deny in a service control policy");
        assert!(
            scp.contains("service control policy of your AWS organization")
                && scp.contains("--permissions-boundary"),
            "{scp}"
        );
        let boundary = with("User: arn:aws:iam::1:user/ci is not authorized to perform: iam:CreateRole on resource: x because no permissions boundary allows the iam:CreateRole action");
        assert!(
            boundary.contains("a permissions boundary denies iam:CreateRole"),
            "{boundary}"
        );
    }

    #[test]
    fn region_answers_are_unreadable_not_fatal() {
        assert!(aws(Some("PermanentRedirect"), Some(301)).is_wrong_region());
        assert!(aws(Some("AuthorizationHeaderMalformed"), Some(400)).is_unreadable());
        assert!(aws(None, Some(301)).is_unreadable());
        assert!(!aws(Some("NoSuchBucket"), Some(404)).is_unreadable());
    }

    #[test]
    fn credential_errors_say_how_to_fix_them() {
        assert!(aws(Some("ExpiredToken"), Some(400))
            .to_string()
            .contains("aws sso login"));
        assert!(aws(Some("InvalidClientTokenId"), Some(403))
            .to_string()
            .contains("aws configure"));
    }

    #[test]
    fn exit_codes() {
        assert_eq!(Error::invalid("--uri", "x").exit_code(), 2);
        assert_eq!(Error::Cancelled.exit_code(), 1);
        assert_eq!(Error::Interrupted(String::new()).exit_code(), 130);
        assert_eq!(Error::Aws(aws(None, Some(500))).exit_code(), 1);
    }
}
