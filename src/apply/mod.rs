//! Applying a plan: [`execute`] runs its IAM actions; the rest are the steps they, the stack
//! path and the deletions share (policy versions, adoption, IAM's eventual consistency), the
//! [`journal`] of what a run created, and the stack waiter ([`wait`]). It carries out what the
//! plan decided and decides nothing itself; it draws nothing on the terminal.

mod delete;
mod execute;
pub(crate) mod journal;
pub(crate) mod wait;

pub(crate) use delete::teardown;
pub(crate) use execute::execute;

use std::future::Future;
use std::time::Duration;

use serde_json::Value;

use crate::aws::iam::{self, PolicyVersion};
use crate::aws::Clients;
use crate::error::{AwsError, Error, Kind};
use crate::inputs::PolicyName;

/// Adds the document as the new default version, then prunes every older version, together.
/// IAM keeps at most five, so when the policy is full the oldest non-default one goes first.
/// Returns the new default version's ID.
pub(crate) async fn replace_default_version(
    clients: &Clients,
    arn: &str,
    document: &Value,
) -> Result<String, AwsError> {
    let mut old: Vec<PolicyVersion> = iam::policy_versions(&clients.iam, arn).await?;
    old.sort_by_key(|v| v.id.trim_start_matches('v').parse::<u32>().unwrap_or(0));
    if old.len() >= 5 {
        let oldest = old
            .iter()
            .position(|v| !v.is_default)
            .expect("a full policy has non-default versions");
        let oldest = old.remove(oldest);
        when_settled(|| iam::delete_policy_version(&clients.iam, arn, &oldest.id)).await?;
    }
    let version = iam::create_default_policy_version(&clients.iam, arn, document).await?;
    // Every earlier version, the previous default included, is now superseded.
    let pruned = futures_util::future::join_all(
        old.iter()
            .map(|v| when_settled(|| iam::delete_policy_version(&clients.iam, arn, &v.id))),
    )
    .await;
    pruned.into_iter().collect::<Result<Vec<()>, _>>()?;
    Ok(version)
}

/// A policy of this name appeared since the plan was made (another run, or this run's own
/// create retried after a lost answer): if this tool made it, bring its document to the plan;
/// otherwise leave it alone. `Ok(true)` when it is this run's own, which its undo must remove.
pub(crate) async fn adopt_policy(
    clients: &Clients,
    arn: &str,
    name: &PolicyName,
    document: &Value,
    run: &crate::aws::Run,
) -> Result<bool, Error> {
    let Some(info) = iam::get_policy(&clients.iam, arn).await? else {
        return Err(Error::Conflict(format!(
            "policy {name} was being created and deleted at the same time by another run; run this again"
        )));
    };
    if !info.managed {
        return Err(Error::NotManaged {
            kind: "policy",
            name: name.to_string(),
            flag: "--policy-name",
        });
    }
    let current = iam::policy_document(&clients.iam, arn, &info.default_version).await?;
    if !current.is_some_and(|doc| crate::policy::same(&doc, document)) {
        replace_default_version(clients, arn, document).await?;
    }
    Ok(iam::made_by(&info.tags, run))
}

/// A policy or principal created a moment ago can take a moment to be visible everywhere in
/// IAM; retry `NoSuchEntity` with a short, bounded backoff.
pub(crate) async fn when_visible<F, Fut, T>(call: F) -> Result<T, AwsError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, AwsError>>,
{
    retrying(Kind::NoSuchEntity, call).await
}

/// IAM is eventually consistent on deletes too: right after a detach, or after another
/// version became the default, a delete can still answer `DeleteConflict` ("must detach all
/// policies first", "cannot delete the default version") for a moment (IAM User Guide,
/// "Changes that I make are not always immediately visible"). Retry it with the same bounded
/// backoff; a conflict that lasts is returned as it is.
pub(crate) async fn when_settled<F, Fut, T>(call: F) -> Result<T, AwsError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, AwsError>>,
{
    retrying(Kind::DeleteConflict, call).await
}

async fn retrying<F, Fut, T>(kind: Kind, mut call: F) -> Result<T, AwsError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, AwsError>>,
{
    let mut delay = Duration::from_millis(250);
    let mut attempt = 1;
    loop {
        match call().await {
            Err(e) if e.kind == kind && attempt < 6 => {
                tracing::debug!("{}: {kind:?}, again in {delay:?}", e.operation);
                tokio::time::sleep(delay).await;
                delay *= 2;
                attempt += 1;
            }
            other => return other,
        }
    }
}
