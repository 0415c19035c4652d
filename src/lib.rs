//! serverless-s3-setup: give TiDB Cloud (Starter, formerly Serverless; Essential; Premium;
//! Dedicated) least-privilege access to an S3 bucket.
//!
//! The flow is `cli` (in the binary) → [`wizard`] (fills gaps by asking) → [`commands`]
//! ([`plan`], pure; then apply, against AWS) → [`output`]. ARCHITECTURE.md has the layers.

pub mod apply;
pub mod aws;
pub mod commands;
pub mod detect;
pub mod error;
pub mod facts;
pub mod find;
pub mod handoff;
pub mod inputs;
pub mod log;
pub mod output;
pub mod plan;
pub mod policy;
pub mod prompt;
pub mod requests;
pub mod set_file;
pub mod signals;
pub mod template;
pub mod verify;
pub mod wizard;

use aws::Connection;
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
