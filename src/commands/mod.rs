//! The commands: each reads its request, plans, asks, applies and reports. They share the
//! connection, the survey of what exists, and the undo of a failed run.

pub mod access_key;
pub mod role;
pub mod teardown;

use crate::aws::Clients;
use crate::error::Error;
use crate::facts;
use crate::journal::{Journal, Undo};
use crate::Context;

/// Connects to AWS. Under `--dry-run`, missing credentials mean planning without AWS (`None`).
pub(crate) async fn connect_or_plan_offline(ctx: &Context) -> Result<Option<Clients>, Error> {
    match Clients::connect(&ctx.conn, &ctx.ui).await {
        Ok(clients) => Ok(Some(clients)),
        Err(e @ Error::Credentials { .. }) if ctx.dry_run => {
            ctx.ui.warn(format!(
                "planning without AWS: {}",
                e.to_string().replace('\n', " ")
            ));
            Ok(None)
        }
        Err(e) => Err(e),
    }
}

/// Reads what a plan needs, behind a spinner; without AWS, only what the flags tell.
pub(crate) async fn survey<'a, S, Fut>(
    ctx: &Context,
    clients: Option<&'a Clients>,
    gather: impl FnOnce(&'a Clients) -> Fut,
) -> Result<(facts::Facts, S), Error>
where
    S: Default,
    Fut: std::future::Future<Output = Result<(facts::Facts, S), Error>>,
{
    let Some(clients) = clients else {
        let facts = facts::Facts {
            bucket_region: ctx.conn.region.clone(),
            region: ctx.conn.region.clone(),
            ..facts::Facts::default()
        };
        return Ok((facts, S::default()));
    };
    let step = ctx
        .ui
        .step("Checking the bucket, the account and existing resources");
    let found = gather(clients).await;
    match &found {
        Ok(_) => step.done("done"),
        Err(_) => step.fail(),
    }
    found
}

/// Undoes what the journal holds after `err`, and folds the outcome into the error the user sees.
pub(crate) async fn undo(
    ctx: &Context,
    clients: &Clients,
    journal: &mut Journal,
    err: Error,
) -> Error {
    if journal.is_empty() {
        return err;
    }
    if let Error::Interrupted(_) = err {
        ctx.ui.warn("interrupted: undoing what this run created");
    } else {
        ctx.ui.info("undoing what this run created …");
    }
    match journal.undo(clients, ctx.conn.profile.as_deref()).await {
        Undo::Clean(undone) => {
            for r in &undone {
                ctx.ui.info(format!("  removed {r}"));
            }
            match err {
                Error::Interrupted(how) => {
                    Error::Interrupted(format!("{how}; everything this run created was removed"))
                }
                other => other,
            }
        }
        Undo::Leftovers { undone, text } => {
            for r in &undone {
                ctx.ui.info(format!("  removed {r}"));
            }
            Error::Leftovers {
                cause: Box::new(err),
                leftovers: text,
            }
        }
    }
}
