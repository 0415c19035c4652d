//! Command-line flags; `request` converts them into the library's plain requests. Every value
//! is validated there, before any request to AWS, with an error that names the flag.

use std::str::FromStr;

use clap::{Args, Parser, Subcommand, ValueEnum};

use serverless_s3_setup::error::Error;
use serverless_s3_setup::inputs::{
    Access, ClusterId, EndpointUrl, GuardrailRequest, Invalid, Region, S3Location, TagKey, TagPair,
    Tier,
};
use serverless_s3_setup::requests::SavedPlan;

mod help;
mod request;
pub(crate) mod set;

use help::{
    NoChanges, NoPolicies, Offline, ACCESS_KEY_EXAMPLES, AFTER_HELP, COMPLETIONS_HELP,
    LIST_EXAMPLES, ROLE_EXAMPLES, TEARDOWN_EXAMPLES, VERIFY_EXAMPLES,
};

/// `--version`: the version, the git commit and the build date (`-V` gives the version alone).
const LONG_VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (commit ",
    env!("BUILD_GIT_COMMIT"),
    ", built ",
    env!("BUILD_DATE"),
    ")"
);

/// Give TiDB Cloud (Starter, Essential, Premium or Dedicated) access to an S3 bucket: a Role ARN, or an access key.
///
/// Run it without arguments at a terminal: a wizard asks what it needs, step by step, shows the
/// plan, and prints the command that repeats the setup without questions (for CI).
#[derive(Debug, Parser)]
#[command(
    name = "serverless-s3-setup",
    version,
    long_version = LONG_VERSION,
    after_help = AFTER_HELP
)]
pub(crate) struct Cli {
    #[command(flatten)]
    pub(crate) global: Global,

    #[command(subcommand)]
    pub(crate) command: Option<Command>,
}

#[derive(Debug, Args)]
#[command(next_help_heading = "Global options")]
pub(crate) struct Global {
    /// AWS profile to use [default: $AWS_PROFILE, else the standard credential chain]
    // The variables are read in `Global::profile` and `Global::endpoint_url`, not by clap: a
    // value clap takes from the environment shows in every usage line of its errors.
    #[arg(
        long,
        global = true,
        value_name = "NAME",
        help_heading = "AWS connection"
    )]
    pub(crate) profile: Option<String>,

    /// AWS region for IAM and STS; the bucket's own region is detected
    #[arg(
        long,
        global = true,
        value_name = "REGION",
        help_heading = "AWS connection"
    )]
    pub(crate) region: Option<String>,

    /// Send every AWS request to this endpoint, e.g. a local moto server [default: $AWS_ENDPOINT_URL]
    #[arg(
        long,
        global = true,
        value_name = "URL",
        help_heading = "AWS connection"
    )]
    pub(crate) endpoint_url: Option<String>,

    /// Result format on stdout
    #[arg(long, short = 'o', global = true, value_enum, default_value_t = OutputFormat::Text)]
    pub(crate) output: OutputFormat,

    /// Accept safe defaults and the plan without asking
    #[arg(long, short = 'y', global = true)]
    pub(crate) yes: bool,

    /// Never prompt; fail at once, naming the missing flags
    #[arg(long, global = true, hide_short_help = true)]
    pub(crate) no_input: bool,

    /// Detect and print the plan, change nothing (works without an AWS account)
    #[arg(long, global = true)]
    pub(crate) dry_run: bool,

    /// Log every AWS request on stderr; -vv adds the AWS SDK's own lines (retries, credentials)
    #[arg(long, short = 'v', global = true, action = clap::ArgAction::Count, conflicts_with = "quiet")]
    pub(crate) verbose: u8,

    /// Only results and errors
    #[arg(long, short = 'q', global = true, hide_short_help = true)]
    pub(crate) quiet: bool,

    /// Print the whole trust and permissions policies in the plan, not only what they grant
    /// (also with -v and --dry-run)
    #[arg(long, global = true, hide_short_help = true)]
    pub(crate) show_policies: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum OutputFormat {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Create (or bring up to date) an IAM role that TiDB Cloud assumes; prints the Role ARN
    #[command(after_help = ROLE_EXAMPLES)]
    Role(RoleArgs),

    /// Check a role or user against TiDB Cloud's troubleshooting list; name each broken item and its fix
    #[command(
        after_help = VERIFY_EXAMPLES,
        mut_arg("access", |a| a.help(
            "What the role or user is for: import, export or both [default: what it records, else what its policies grant]"
        ))
    )]
    Verify(VerifyArgs),

    /// Delete what this tool made: a stack, a role and its policy, or a user, its keys and its policy
    #[command(after_help = TEARDOWN_EXAMPLES)]
    Teardown(TeardownArgs),

    /// List what this tool made in the account: stacks (each in its region), roles and users, with the access and folder each serves
    #[command(after_help = LIST_EXAMPLES)]
    List(ListArgs),

    /// Plan every role of a file of setups: what `apply -f` would change, and any drift
    #[command(after_help = set::PLAN_EXAMPLES, after_long_help = set::long_help(set::PLAN_EXAMPLES))]
    Plan(set::PlanArgs),

    /// Create or bring up to date every role of a file of setups, under one confirmation
    #[command(after_help = set::APPLY_EXAMPLES, after_long_help = set::long_help(set::APPLY_EXAMPLES))]
    Apply(set::ApplyArgs),

    /// Print the CloudFormation template that `role --method cloudformation` deploys
    Template(Offline),

    /// Create an IAM user with least privilege and an access key for it; prints the key once
    #[command(
        name = "access-key",
        args_conflicts_with_subcommands = true,
        after_help = ACCESS_KEY_EXAMPLES
    )]
    AccessKey(AccessKeyArgs),

    /// Print a shell completion script: bash, zsh, fish, powershell or elvish
    #[command(after_help = COMPLETIONS_HELP)]
    Completions {
        /// The shell to complete for
        #[arg(value_enum)]
        shell: clap_complete::Shell,
        #[command(flatten)]
        offline: Offline,
    },

    /// Print the manual page (roff), e.g. `serverless-s3-setup man | man -l -`
    Man(Offline),
}

#[derive(Debug, Args)]
pub(crate) struct ListArgs {
    #[command(flatten)]
    pub(crate) unused: NoChanges,
}

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("subject").args(["role_arn", "user_name"]).multiple(false)))]
pub(crate) struct VerifyArgs {
    #[command(flatten)]
    pub(crate) unused: NoChanges,

    /// The Role ARN given to TiDB Cloud
    #[arg(long, value_name = "ARN")]
    pub(crate) role_arn: Option<String>,

    /// The IAM user whose access key TiDB Cloud uses
    #[arg(long, value_name = "NAME")]
    pub(crate) user_name: Option<String>,

    #[command(flatten)]
    pub(crate) location: LocationArgs,

    /// TiDB Cloud Account ID the role must trust (role only)
    #[arg(long, value_name = "ID")]
    pub(crate) tidb_account_id: Option<String>,

    /// TiDB Cloud External ID the trust must require (role only)
    #[arg(long, value_name = "ID", conflicts_with = "no_external_id")]
    pub(crate) external_id: Option<String>,

    /// The role is meant to trust TiDB Cloud without an external ID
    #[arg(long)]
    pub(crate) no_external_id: bool,

    /// TiDB Cloud tier: starter, essential, premium or dedicated (which also needs s3:GetBucketLocation) [default: starter]
    #[arg(long, value_name = "TIER")]
    pub(crate) tier: Option<String>,

    /// Verify every role of a file of setups instead (see `apply --help`): one table, entry by check
    #[arg(
        long,
        short = 'f',
        value_name = "FILE",
        conflicts_with_all = ["role_arn", "user_name", "uri", "access", "tidb_account_id", "external_id", "no_external_id", "tier"]
    )]
    pub(crate) file: Option<std::path::PathBuf>,

    /// With --file: how many roles are checked at once (1 to 64)
    #[arg(long, value_name = "N", default_value_t = set::DEFAULT_PARALLEL, requires = "file", hide_short_help = true)]
    pub(crate) parallel: usize,
}

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("target").args(["role_name", "stack_name", "user_name"]).multiple(false)))]
pub(crate) struct TeardownArgs {
    #[command(flatten)]
    pub(crate) unused: NoPolicies,

    /// A role made with --method iam (and its policy)
    #[arg(long, value_name = "NAME")]
    pub(crate) role_name: Option<String>,

    /// A stack made with --method cloudformation (and the role it made)
    #[arg(long, value_name = "NAME")]
    pub(crate) stack_name: Option<String>,

    /// A user made with access-key (its keys, its policy, the user)
    #[arg(long, value_name = "NAME")]
    pub(crate) user_name: Option<String>,

    /// Delete even what lacks the managed-by=serverless-s3-setup tag, and the console password, MFA devices, signing certificates and SSH keys that someone added to a user
    #[arg(long)]
    pub(crate) force: bool,

    #[command(flatten)]
    pub(crate) set: set::TeardownSetArgs,
}

#[derive(Debug, Args)]
pub(crate) struct AccessKeyArgs {
    #[command(subcommand)]
    pub(crate) action: Option<AccessKeyAction>,

    #[command(flatten)]
    pub(crate) create: AccessKeyCreateArgs,
}

#[derive(Debug, Subcommand)]
pub(crate) enum AccessKeyAction {
    /// Delete the key (or all keys) of a user this tool made, after the import or export
    Delete(AccessKeyDeleteArgs),
}

#[derive(Debug, Args)]
#[command(next_help_heading = "Setup")]
pub(crate) struct AccessKeyCreateArgs {
    #[command(flatten)]
    pub(crate) location: LocationArgs,

    /// IAM user name [default: the user this tool made for the location, under any access; else tidb-user-ACCESS-BUCKET-DIR]
    #[arg(long, value_name = "NAME", help_heading = "Names and KMS keys")]
    pub(crate) user_name: Option<String>,

    #[command(flatten)]
    pub(crate) policy: PolicyArgs,

    /// Write the key to this new file (JSON; mode 0600 on Unix) instead of stdout; stdout gets the key ID. Needed when stdout is not a terminal, unless -o json
    #[arg(long, value_name = "PATH")]
    pub(crate) secret_file: Option<std::path::PathBuf>,

    /// Delete the user's older keys once the new one is made and AWS accepts it (at IAM's two-key limit the oldest goes first): the mode for CI, where each run makes a new key
    #[arg(long)]
    pub(crate) rotate: bool,

    /// Do not try the new key on S3. By default, once AWS accepts it, the key lists the directory as itself (ListObjectsV2), which changes nothing
    #[arg(long, conflicts_with = "probe_write")]
    pub(crate) no_probe: bool,

    /// Also write a zero-byte probe object under the directory with the new key (export or both), then delete it with your own credentials. Opt-in: a new object can trigger the bucket's event notifications
    #[arg(long)]
    pub(crate) probe_write: bool,

    #[command(flatten)]
    pub(crate) tidb: TidbArgs,

    #[command(flatten)]
    pub(crate) guardrails: GuardrailArgs,

    #[command(flatten)]
    pub(crate) saved: SavedPlanArgs,
}

#[derive(Debug, Args)]
pub(crate) struct AccessKeyDeleteArgs {
    #[command(flatten)]
    pub(crate) unused: NoPolicies,

    /// The user whose key to delete
    #[arg(long, value_name = "NAME")]
    pub(crate) user_name: Option<String>,

    /// The key to delete [default: every key of the user]
    #[arg(long, value_name = "ID")]
    pub(crate) access_key_id: Option<String>,

    /// Also delete the user, and the policy this tool made for it
    #[arg(long)]
    pub(crate) with_user: bool,
}

#[derive(Debug, Args)]
#[command(next_help_heading = "Setup")]
pub(crate) struct RoleArgs {
    /// How to create the role [default: cloudformation]
    #[arg(long, value_enum, value_name = "METHOD")]
    pub(crate) method: Option<MethodArg>,

    #[command(flatten)]
    pub(crate) location: LocationArgs,

    /// TiDB Cloud Account ID, from the console's dialog (Add New ARN → Having trouble? Create Role ARN manually)
    #[arg(long, value_name = "ID")]
    pub(crate) tidb_account_id: Option<String>,

    /// TiDB Cloud External ID, from the same dialog
    #[arg(long, value_name = "ID", conflicts_with = "no_external_id")]
    pub(crate) external_id: Option<String>,

    /// Trust TiDB Cloud's account without an external ID (every cluster of the project could use the role)
    #[arg(long)]
    pub(crate) no_external_id: bool,

    /// Let only the --external-id cluster use an existing role; the others lose access [default: add it to theirs]
    #[arg(
        long,
        requires = "external_id",
        conflicts_with = "no_external_id",
        hide_short_help = true
    )]
    pub(crate) replace_external_ids: bool,

    /// Take a cluster off an existing role, by its external ID (repeatable)
    #[arg(long = "remove-external-id", value_name = "ID", conflicts_with_all = ["no_external_id", "replace_external_ids"], hide_short_help = true)]
    pub(crate) remove_external_ids: Vec<String>,

    #[command(flatten)]
    pub(crate) tidb: TidbArgs,

    /// Role name [default: the role this tool made for the location, under any access; else tidb-role-ACCESS-BUCKET-DIR]
    #[arg(long, value_name = "NAME", help_heading = "Names and KMS keys")]
    pub(crate) role_name: Option<String>,

    #[command(flatten)]
    pub(crate) policy: PolicyArgs,

    /// Stack name, with --method cloudformation [default: the role name]
    #[arg(long, value_name = "NAME", help_heading = "Names and KMS keys")]
    pub(crate) stack_name: Option<String>,

    /// How long to wait for the stack, e.g. 90s, 10m, 1h [default: 10m]
    #[arg(
        long,
        value_name = "DURATION",
        help_heading = "Setup",
        hide_short_help = true
    )]
    pub(crate) timeout: Option<String>,

    /// After a change, wait a minute for IAM to carry the role to every region before printing the result, so that TiDB Cloud (or the printed ticloud command) can use it at once
    #[arg(long, help_heading = "Setup")]
    pub(crate) wait_ready: bool,

    #[command(flatten)]
    pub(crate) guardrails: GuardrailArgs,

    #[command(flatten)]
    pub(crate) saved: SavedPlanArgs,
}

/// The policy and the KMS keys it grants: role and access-key.
#[derive(Debug, Args)]
#[command(next_help_heading = "Names and KMS keys")]
pub(crate) struct PolicyArgs {
    /// Policy name [default: the role's or user's name, then -policy]
    #[arg(long, value_name = "NAME")]
    pub(crate) policy_name: Option<String>,

    /// A KMS key ARN to grant besides the bucket's detected default key (repeatable); keys granted before are kept
    #[arg(long = "kms-key", value_name = "ARN")]
    pub(crate) kms_keys: Vec<String>,

    /// A KMS key ARN to take off the policy (repeatable)
    #[arg(long = "remove-kms-key", value_name = "ARN", hide_short_help = true)]
    pub(crate) remove_kms_keys: Vec<String>,
}

/// Saved plans, as Terraform has them: role and access-key.
#[derive(Debug, Args)]
#[command(next_help_heading = "Saved plans")]
pub(crate) struct SavedPlanArgs {
    /// Plan as usual, save the plan to FILE (JSON) and change nothing; review it, then apply it with --plan FILE
    #[arg(long, value_name = "FILE", conflicts_with = "plan")]
    pub(crate) plan_out: Option<std::path::PathBuf>,

    /// Apply the plan saved in FILE exactly, without asking, once AWS is found as it was when the plan was made (else exit 1, naming what changed); takes no setup flags
    #[arg(long, value_name = "FILE")]
    pub(crate) plan: Option<std::path::PathBuf>,
}

impl SavedPlanArgs {
    /// The saved plan to write or apply. A plan to apply holds every setup value, so `given`
    /// (each setup flag, and whether it was given) must be empty of them.
    fn parse(self, given: &[(&str, bool)]) -> Result<SavedPlan, Error> {
        match (self.plan_out, self.plan) {
            (Some(out), _) => Ok(SavedPlan::Write(out)),
            (None, Some(file)) => {
                if let Some((flag, _)) = given.iter().find(|(_, g)| *g) {
                    return Err(Error::invalid(
                        *flag,
                        format!(
                            "cannot be given with --plan: the saved plan {} holds every setup value, and is applied as it is",
                            file.display()
                        ),
                    ));
                }
                Ok(SavedPlan::Apply(file))
            }
            (None, None) => Ok(SavedPlan::None),
        }
    }
}

/// Which TiDB Cloud, for the policy and the command printed at the end: role and access-key.
#[derive(Debug, Args)]
pub(crate) struct TidbArgs {
    /// TiDB Cloud tier: starter (formerly Serverless), essential, premium or dedicated [default: starter]
    #[arg(long, value_name = "TIER")]
    pub(crate) tier: Option<String>,

    /// The TiDB Cloud cluster's ID, to fill in the `ticloud` command printed at the end
    #[arg(long, value_name = "ID")]
    pub(crate) cluster_id: Option<String>,
}

impl TidbArgs {
    fn parse(self, access: Option<Access>) -> Result<(Option<Tier>, Option<ClusterId>), Error> {
        let tier: Option<Tier> = parse("--tier", self.tier)?;
        if let (Some(tier), Some(access)) = (tier, access) {
            tier.supports(access)
                .map_err(|e| Error::invalid("--access", e))?;
        }
        Ok((tier, parse("--cluster-id", self.cluster_id)?))
    }
}

/// What an AWS organisation may require of new roles and users: shared by role and access-key.
#[derive(Debug, Args)]
#[command(next_help_heading = "Organisation guardrails")]
pub(crate) struct GuardrailArgs {
    /// A permissions boundary for the role or user, if your organisation requires one [default: the one it has]
    #[arg(long, value_name = "POLICY_ARN")]
    pub(crate) permissions_boundary: Option<String>,

    /// Take the role's or user's permissions boundary off
    #[arg(long, conflicts_with = "permissions_boundary", hide_short_help = true)]
    pub(crate) no_permissions_boundary: bool,

    /// IAM path for the role or user and its policy, e.g. /tidb/ [default: the one it has, or /]
    #[arg(long, value_name = "PATH")]
    pub(crate) path: Option<String>,

    /// A tag for the role or user and its policy (repeatable); tags it has are kept
    #[arg(long = "tag", value_name = "KEY=VALUE")]
    pub(crate) tags: Vec<String>,

    /// Take a tag off the role or user and its policy, by key (repeatable)
    #[arg(long = "remove-tag", value_name = "KEY", hide_short_help = true)]
    pub(crate) remove_tags: Vec<String>,
}

impl GuardrailArgs {
    /// Each flag, and whether it was given.
    fn given(&self) -> [(&'static str, bool); 5] {
        [
            (
                "--permissions-boundary",
                self.permissions_boundary.is_some(),
            ),
            ("--no-permissions-boundary", self.no_permissions_boundary),
            ("--path", self.path.is_some()),
            ("--tag", !self.tags.is_empty()),
            ("--remove-tag", !self.remove_tags.is_empty()),
        ]
    }

    fn parse(self) -> Result<GuardrailRequest, Error> {
        let tags = self
            .tags
            .into_iter()
            .map(|t| t.parse().map_err(|e| Error::invalid("--tag", e)))
            .collect::<Result<Vec<TagPair>, Error>>()?;
        let remove_tags = self
            .remove_tags
            .into_iter()
            .map(|t| t.parse().map_err(|e| Error::invalid("--remove-tag", e)))
            .collect::<Result<Vec<TagKey>, Error>>()?;
        GuardrailRequest::new(
            parse("--permissions-boundary", self.permissions_boundary)?,
            self.no_permissions_boundary,
            parse("--path", self.path)?,
            tags,
            remove_tags,
        )
        .map_err(|(flag, e)| Error::invalid(flag, e))
    }
}

/// Where, and what TiDB Cloud does there: shared by role, access-key and verify.
#[derive(Debug, Args)]
pub(crate) struct LocationArgs {
    /// The File URI (import) or Folder URI (export): s3://bucket/dir/, a file in it, or a pattern such as s3://bucket/dir/*.csv
    #[arg(long, value_name = "URI")]
    pub(crate) uri: Option<String>,

    /// What TiDB Cloud may do: import (read), export (write) or both; asked at a terminal (write access is never a default)
    #[arg(long, value_name = "ACCESS")]
    pub(crate) access: Option<String>,
}

impl LocationArgs {
    fn parse(self) -> Result<(Option<S3Location>, Option<Access>), Error> {
        Ok((parse("--uri", self.uri)?, parse("--access", self.access)?))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum MethodArg {
    /// A CloudFormation stack, as the TiDB Cloud docs recommend (the default)
    Cloudformation,
    /// The policy and role directly with IAM
    Iam,
}

fn parse<T: FromStr<Err = Invalid>>(flag: &str, value: Option<String>) -> Result<Option<T>, Error> {
    value
        .map(|v| v.parse::<T>().map_err(|e| Error::invalid(flag, e)))
        .transpose()
}

impl Global {
    /// The region, validated; other global values need no checks beyond clap's.
    pub(crate) fn region(&self) -> Result<Option<String>, Error> {
        Ok(parse::<Region>("--region", self.region.clone())?.map(|r| r.to_string()))
    }

    /// The endpoint, validated: the flag's, else `AWS_ENDPOINT_URL`'s; empty counts as none.
    pub(crate) fn endpoint_url(&self) -> Result<Option<EndpointUrl>, Error> {
        match self.endpoint_url.clone().filter(|url| !url.is_empty()) {
            Some(url) => parse("--endpoint-url", Some(url)),
            None => parse("AWS_ENDPOINT_URL", env_var("AWS_ENDPOINT_URL")),
        }
    }

    /// The profile: the flag's, else `AWS_PROFILE`'s; empty counts as none.
    pub(crate) fn profile(&self) -> Option<String> {
        let given = self.profile.clone().filter(|p| !p.is_empty());
        given.or_else(|| env_var("AWS_PROFILE"))
    }
}

/// An environment variable's value; unset or empty is none.
fn env_var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}
