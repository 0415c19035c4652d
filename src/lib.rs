//! serverless-s3-setup: give TiDB Cloud Serverless least-privilege access to an S3 bucket.
//!
//! The flow is `cli` (in the binary) → [`role::resolve`] (fills gaps by asking) → [`plan`]
//! (pure) → apply (against AWS) → [`output`].

pub mod access_key;
pub mod apply;
pub mod aws;
pub mod detect;
pub mod error;
pub mod evaluate;
pub mod inputs;
pub mod journal;
pub mod log;
pub mod output;
pub mod plan;
pub mod policy;
pub mod prompt;
pub mod role;
pub mod signals;
pub mod teardown;
pub mod template;
pub mod verify;
pub mod wait;
pub mod wizard;

use aws::{Clients, Connection};
use error::Error;
use journal::{Journal, Undo};
use output::{Format, Ui};

/// How this run behaves, from the global flags and the terminal.
#[derive(Debug, Clone)]
pub struct Context {
    pub conn: Connection,
    pub format: Format,
    /// `--yes`: accept every safe default and the plan without asking.
    pub yes: bool,
    /// `--dry-run`: plan, print, and change nothing.
    pub dry_run: bool,
    /// `--no-input` was given.
    pub no_input: bool,
    /// Whether questions can be asked: stdin and stderr are terminals and `--no-input` is off.
    pub can_prompt: bool,
    pub ui: Ui,
    /// Set by Ctrl-C or SIGTERM while changes are being made.
    pub stop: signals::Stop,
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
