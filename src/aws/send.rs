//! Sending one request: every AWS call in `aws/` goes through [`send`], which converts the
//! SDK's error once (its [`Kind`] decided in [`AwsError::from_sdk`]) and logs the call at `-v`.
//! What it logs names things (roles, policies, buckets, key IDs), never a secret.

use std::future::Future;

use aws_sdk_iam::error::ProvideErrorMetadata;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;

use crate::error::{AwsError, Kind};

/// Awaits `request` (a builder's `.send()`, or a paginator's collected items), logs
/// `operation subject` at `-v` with how it ended, and converts a failure into an [`AwsError`].
pub(crate) async fn send<T, E>(
    operation: &'static str,
    subject: &str,
    request: impl Future<Output = Result<T, SdkError<E, HttpResponse>>>,
) -> Result<T, AwsError>
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let sep = if subject.is_empty() { "" } else { " " };
    match request.await {
        Ok(out) => {
            tracing::debug!("{operation}{sep}{subject}");
            Ok(out)
        }
        Err(e) => {
            let e = AwsError::from_sdk(operation, e);
            let why = match (&e.code, e.status) {
                (Some(code), _) => code.clone(),
                (None, Some(status)) => format!("HTTP {status}"),
                (None, None) => "no answer".to_string(),
            };
            tracing::debug!("{operation}{sep}{subject} -> {why}");
            Err(e)
        }
    }
}

/// Reads where a missing entity is an answer, not a failure: IAM's `NoSuchEntity` becomes
/// `None`, and a delete of something already gone counts as done.
pub(crate) trait Absent<T> {
    fn absent_is_none(self) -> Result<Option<T>, AwsError>;

    fn gone_is_done(self) -> Result<(), AwsError>
    where
        Self: Sized,
    {
        self.absent_is_none().map(|_| ())
    }
}

impl<T> Absent<T> for Result<T, AwsError> {
    fn absent_is_none(self) -> Result<Option<T>, AwsError> {
        match self {
            Ok(out) => Ok(Some(out)),
            Err(e) if e.kind == Kind::NoSuchEntity => Ok(None),
            Err(e) => Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failed(code: &str) -> Result<u8, AwsError> {
        Err(AwsError {
            kind: Kind::of(Some(code)),
            code: Some(code.to_string()),
            ..AwsError::new("iam:GetRole", "")
        })
    }

    #[test]
    fn only_a_missing_entity_is_absent() {
        assert_eq!(Ok(7).absent_is_none().unwrap(), Some(7));
        assert_eq!(failed("NoSuchEntity").absent_is_none().unwrap(), None);
        assert!(failed("NoSuchEntity").gone_is_done().is_ok());
        let denied = failed("AccessDenied").gone_is_done().unwrap_err();
        assert_eq!(denied.code.as_deref(), Some("AccessDenied"));
        assert!(failed("DeleteConflict").absent_is_none().is_err());
    }
}
