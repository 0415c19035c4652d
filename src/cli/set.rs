//! `plan -f FILE` and `apply -f FILE`: the flags of a file of setups.

use std::path::PathBuf;

use clap::Args;

use serverless_s3_setup::commands::set::SetRequest;
pub(crate) use serverless_s3_setup::commands::set::DEFAULT_PARALLEL;
use serverless_s3_setup::error::Error;

use super::help::{NoChanges, NoPolicies};
use super::VerifyArgs;

pub(super) const FILE_HELP: &str = "\
The file (TOML) holds defaults, then one [[role]] table per role; each field means what the
`role` flag of the same name means:

  tidb_account_id = \"380838443567\"
  method = \"iam\"

  [[role]]
  uri = \"s3://sales-data/raw/\"
  access = \"import\"
  external_ids = [\"1a2b3c4d5e\", \"6f7a8b9c0d\"]

Every role the file makes is tagged serverless-s3-setup:set=NAME (the file's `name`, else its
file name); --prune deletes only roles of that set that the file no longer lists.";

pub(super) const PLAN_EXAMPLES: &str = "\
Exit codes with --detailed-exit-code: 0 in sync, 3 changes pending, 1 error, 2 bad input.

Examples:
  serverless-s3-setup plan -f tidb-s3.toml
  serverless-s3-setup plan -f tidb-s3.toml --detailed-exit-code   # a drift check in CI
  serverless-s3-setup plan -f tidb-s3.toml -o json";

pub(super) const APPLY_EXAMPLES: &str = "\
Examples:
  serverless-s3-setup apply -f tidb-s3.toml
  serverless-s3-setup apply -f tidb-s3.toml --prune --yes";

/// What both commands take.
#[derive(Debug, Args)]
pub(crate) struct SetArgs {
    /// The file of setups (TOML)
    #[arg(long, short = 'f', value_name = "FILE")]
    pub(crate) file: PathBuf,

    /// Also delete the roles of the file's set that it no longer lists (plan: show them deleted)
    #[arg(long)]
    pub(crate) prune: bool,

    /// How many setups are read or applied at once (1 to 64)
    #[arg(long, value_name = "N", default_value_t = DEFAULT_PARALLEL)]
    pub(crate) parallel: usize,
}

#[derive(Debug, Args)]
pub(crate) struct PlanArgs {
    #[command(flatten)]
    unused: NoChanges,

    #[command(flatten)]
    pub(crate) set: SetArgs,

    /// Exit 3 when the plan has changes (0 when everything is in sync): a drift check
    #[arg(long)]
    pub(crate) detailed_exit_code: bool,
}

#[derive(Debug, Args)]
pub(crate) struct ApplyArgs {
    #[command(flatten)]
    unused: NoPolicies,

    #[command(flatten)]
    pub(crate) set: SetArgs,
}

impl SetArgs {
    pub(crate) fn into_request(self) -> Result<SetRequest, Error> {
        Ok(SetRequest {
            file: self.file,
            prune: self.prune,
            parallel: parallel(self.parallel)?,
        })
    }
}

/// `--parallel`: 1 to 64 at once.
pub(crate) fn parallel(n: usize) -> Result<usize, Error> {
    if (1..=64).contains(&n) {
        Ok(n)
    } else {
        Err(Error::invalid(
            "--parallel",
            format!("must be 1 to 64, not {n}"),
        ))
    }
}

/// `verify -f FILE`: the file's request, when a file is given.
pub(crate) fn verify_request(args: &mut VerifyArgs) -> Result<Option<SetRequest>, Error> {
    let parallel_given = args.parallel;
    args.file
        .take()
        .map(|file| {
            Ok(SetRequest {
                file,
                prune: false,
                parallel: parallel(parallel_given)?,
            })
        })
        .transpose()
}
