//! `plan -f FILE`, `apply -f FILE`, `verify -f FILE` and `teardown -f FILE`: the flags of a
//! file of setups.

use std::path::PathBuf;

use clap::Args;

pub(crate) use serverless_s3_setup::commands::set::DEFAULT_PARALLEL;
use serverless_s3_setup::commands::set::{SetOf, SetRequest, WholeSet};
use serverless_s3_setup::error::Error;

use super::help::{NoChanges, NoPolicies};
use super::VerifyArgs;

/// `--help` of `plan` and `apply`: the file's shape after the options, then the examples.
pub(super) fn long_help(examples: &str) -> String {
    format!("{FILE_HELP}\n\n{examples}")
}

const FILE_HELP: &str = "\
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

    /// The file of setups (TOML)
    #[arg(long, short = 'f', value_name = "FILE")]
    pub(crate) file: PathBuf,

    #[command(flatten)]
    pub(crate) set: SetArgs,

    /// Exit 3 when the plan has changes (0 when everything is in sync): a drift check
    #[arg(long)]
    pub(crate) detailed_exit_code: bool,

    /// Also save the plan to FILE (JSON), for `apply --plan FILE` after a review
    #[arg(long, value_name = "FILE")]
    pub(crate) plan_out: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub(crate) struct ApplyArgs {
    #[command(flatten)]
    unused: NoPolicies,

    /// The file of setups (TOML)
    #[arg(
        long,
        short = 'f',
        value_name = "FILE",
        required_unless_present = "plan"
    )]
    pub(crate) file: Option<PathBuf>,

    #[command(flatten)]
    pub(crate) set: SetArgs,

    /// Apply exactly this saved plan (`plan -f FILE --plan-out PLAN`), refused if anything it
    /// was made from changed since
    #[arg(long, value_name = "PLAN", conflicts_with_all = ["file", "prune"])]
    pub(crate) plan: Option<PathBuf>,

    /// After a change, wait a minute from the last role written for IAM to carry the roles to every region, so that TiDB Cloud can use each at once (Ctrl-C ends only the wait)
    #[arg(long)]
    pub(crate) wait_ready: bool,
}

/// What `apply` is asked to do: a file, or a saved plan.
pub(crate) enum Apply {
    File(SetRequest),
    Saved {
        plan: PathBuf,
        parallel: usize,
        wait_ready: bool,
    },
}

impl PlanArgs {
    pub(crate) fn into_request(self) -> Result<SetRequest, Error> {
        Ok(SetRequest {
            file: self.file,
            prune: self.set.prune,
            parallel: parallel(self.set.parallel)?,
            plan_out: self.plan_out,
            wait_ready: false,
        })
    }
}

impl ApplyArgs {
    pub(crate) fn into_request(self) -> Result<Apply, Error> {
        let parallel = parallel(self.set.parallel)?;
        Ok(match (self.plan, self.file) {
            (Some(plan), _) => Apply::Saved {
                plan,
                parallel,
                wait_ready: self.wait_ready,
            },
            (None, file) => Apply::File(SetRequest {
                file: file.expect("clap requires --file without --plan"),
                prune: self.set.prune,
                parallel,
                plan_out: None,
                wait_ready: self.wait_ready,
            }),
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
                plan_out: None,
                wait_ready: false,
            })
        })
        .transpose()
}

/// `teardown -f FILE` or `teardown --set NAME`: the whole set of a file of setups.
#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("whole_set").args(["file", "set"]).multiple(false)))]
pub(crate) struct TeardownSetArgs {
    /// Every role of the set of a file of setups (see `apply --help`), stacks and all
    #[arg(
        long,
        short = 'f',
        value_name = "FILE",
        conflicts_with_all = ["role_name", "stack_name", "user_name", "force"]
    )]
    pub(crate) file: Option<PathBuf>,

    /// Every role of the set of this name (the last column of `list`), when its file is gone
    #[arg(
        long,
        value_name = "NAME",
        conflicts_with_all = ["role_name", "stack_name", "user_name", "force"]
    )]
    pub(crate) set: Option<String>,

    /// With --file or --set: how many roles are read, and stacks deleted, at once (1 to 64)
    #[arg(long, value_name = "N", default_value_t = DEFAULT_PARALLEL, requires = "whole_set", hide_short_help = true)]
    pub(crate) parallel: usize,
}

impl TeardownSetArgs {
    /// The set to tear down, when a file or a set's name is given.
    pub(crate) fn request(&mut self) -> Result<Option<WholeSet>, Error> {
        let of = match (self.file.take(), self.set.take()) {
            (Some(file), _) => SetOf::File(file),
            (None, Some(name)) => {
                SetOf::Name(name.parse().map_err(|e| Error::invalid("--set", e))?)
            }
            (None, None) => return Ok(None),
        };
        Ok(Some(WholeSet {
            of,
            parallel: parallel(self.parallel)?,
        }))
    }
}
