//! The new key, tried as itself on S3 once AWS accepts it: the first proof on the data plane
//! that it works, which reading its policies back cannot give (a bucket policy, an SCP or a
//! VPC endpoint policy may still refuse it).

use std::time::Duration;

use serde::Serialize;

use crate::aws::{s3, Clients};
use crate::error::AwsError;
use crate::inputs::S3Location;
use crate::requests::KeyProbe;
use crate::Context;

/// What the new key was seen to do.
#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, Default, Serialize)]
pub(crate) struct ProbeResult {
    /// STS accepted the key (`sts:GetCallerIdentity`); without it, nothing was tried.
    pub(crate) accepted: bool,
    /// Every request made with the key was answered.
    pub(crate) ok: bool,
    /// The directory the key listed: `s3://bucket/dir/`.
    pub(crate) listed: Option<String>,
    /// The probe object the key wrote (`--probe-write`).
    pub(crate) wrote: Option<String>,
    /// The request that was refused, and AWS's answer.
    pub(crate) failed: Option<String>,
    /// A probe object that could not be deleted again.
    pub(crate) left: Option<String>,
}

/// How often an AccessDenied of the key is asked again: IAM carries the user's policy to
/// every region like the key itself, after a moment ("Resilience in AWS IAM", IAM User Guide),
/// and the two may arrive apart. About seven seconds in all.
const DENIED_RETRIES: [Duration; 3] = [
    Duration::from_secs(1),
    Duration::from_secs(2),
    Duration::from_secs(4),
];

/// What became of the new key, once its acceptance by STS was waited for (`accepted`; `None`
/// when it was not): tried on the location `at` (the directory, the bucket's region) unless
/// `--no-probe`, and said.
pub(crate) async fn tried(
    ctx: &Context,
    clients: &Clients,
    as_key: &Clients,
    at: (&S3Location, &str),
    mode: KeyProbe,
    accepted: Option<Result<(), AwsError>>,
) -> Option<ProbeResult> {
    let result = match (mode, accepted) {
        (KeyProbe::Skip, _) | (_, None) => return None,
        (_, Some(Err(e))) => not_accepted(&e),
        (mode, Some(Ok(()))) => try_key(ctx, clients, as_key, at.0, at.1, mode).await,
    };
    show(ctx, &result);
    Some(result)
}

/// Tries the key (`as_key`, already accepted by STS) on the location: ListObjectsV2 under the
/// directory and, with [`KeyProbe::Write`], a zero-byte PutObject there, which the key cannot
/// delete, so `clients` (the caller's own credentials) delete it.
async fn try_key(
    ctx: &Context,
    clients: &Clients,
    as_key: &Clients,
    location: &S3Location,
    region: &str,
    mode: KeyProbe,
) -> ProbeResult {
    let mut result = ProbeResult {
        accepted: true,
        ..ProbeResult::default()
    };
    let uri = location.to_string();
    let step = ctx.ui.step(format!("Trying the new key on {uri}"));
    let s3 = as_key.s3_in(region);
    let (bucket, prefix) = (location.bucket(), location.prefix());
    if let Err(e) = denied_again(|| s3::objects(&s3, bucket, prefix, 1)).await {
        step.fail();
        result.failed = Some(format!("{} (listing {uri})", answered(&e)));
        return result;
    }
    result.listed = Some(uri.clone());
    if mode == KeyProbe::Write {
        let key = probe_key(prefix);
        let object = format!("s3://{bucket}/{key}");
        if let Err(e) = denied_again(|| s3::put_empty(&s3, bucket, &key)).await {
            step.fail();
            result.failed = Some(format!("{} (writing {object})", answered(&e)));
            return result;
        }
        result.wrote = Some(object.clone());
        if let Err(e) = s3::delete_object(&clients.s3_in(region), bucket, &key).await {
            tracing::debug!("deleting the probe object: {e}");
            result.left = Some(object);
        }
    }
    result.ok = true;
    step.done(if result.wrote.is_some() {
        "listed and wrote"
    } else {
        "listed"
    });
    result
}

/// What AWS answered, without the fix that [`AwsError`] gives for the caller's own key.
fn answered(e: &AwsError) -> String {
    let mut said = format!("{} failed", e.operation);
    match (&e.code, e.status) {
        (Some(code), _) => said.push_str(&format!(": {code}")),
        (None, Some(status)) => said.push_str(&format!(": HTTP {status}")),
        (None, None) => said.push_str(": no answer"),
    }
    if !e.message.is_empty() {
        said.push_str(&format!(": {}", e.message));
    }
    said
}

/// The result when STS did not accept the key: nothing was tried on S3.
fn not_accepted(e: &AwsError) -> ProbeResult {
    ProbeResult {
        failed: Some(answered(e)),
        ..ProbeResult::default()
    }
}

/// A request made with the new key, asked again while it is refused (see [`DENIED_RETRIES`]).
async fn denied_again<T, F>(request: impl Fn() -> F) -> Result<T, AwsError>
where
    F: std::future::Future<Output = Result<T, AwsError>>,
{
    let mut waits = DENIED_RETRIES.iter();
    loop {
        match request().await {
            Err(e) if e.status == Some(403) => match waits.next() {
                Some(wait) => tokio::time::sleep(*wait).await,
                None => return Err(e),
            },
            done => return done,
        }
    }
}

/// The probe object's key: in the directory, named for this tool and the moment, so that it
/// is never an object someone else put there.
fn probe_key(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let name = format!("serverless-s3-setup-probe-{nanos:x}");
    if prefix.is_empty() {
        name
    } else {
        format!("{prefix}/{name}")
    }
}

/// Says what the probe showed: the line a person reads after the key is made.
fn show(ctx: &Context, result: &ProbeResult) {
    if !result.accepted {
        let failed = result.failed.as_deref().unwrap_or_default();
        let why = if failed.contains("InvalidClientTokenId") {
            "AWS did not accept the new key within about half a minute; IAM may still be carrying it to every region, so try it in a minute"
        } else {
            "AWS's answer did not say whether the new key works"
        };
        ctx.ui.warn(format!(
            "the new key was not tried on S3: {failed}\n  {why}"
        ));
    } else if result.ok {
        let wrote = match &result.wrote {
            Some(object) if result.left.is_none() => {
                format!(" and wrote a probe ({object}, deleted again)")
            }
            Some(_) => " and wrote a probe".to_string(),
            None => String::new(),
        };
        ctx.ui.info(format!(
            "{} the key works: listed {}{wrote}",
            ctx.ui.green("✓"),
            result.listed.as_deref().unwrap_or_default()
        ));
    } else if let Some(failed) = &result.failed {
        ctx.ui.warn(format!(
            "the new key was refused on S3: {failed}\n  TiDB Cloud will get the same refusal with this key until it is fixed; `serverless-s3-setup verify` shows what grants and what denies"
        ));
    }
    if let Some(object) = &result.left {
        ctx.ui.warn(format!(
            "the probe object {object} could not be deleted; delete it with:\n  aws s3 rm {object}"
        ));
    }
}
