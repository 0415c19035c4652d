//! What the help says beyond each flag's own line: the exit codes, each command's examples,
//! and the global flags a command takes but does not show.

use clap::Args;

use super::OutputFormat;

pub(super) const AFTER_HELP: &str = "\
Exit codes:
  0    done
  1    failed (what this run created was undone, or the leftovers are printed); a check of
       `verify` failed; a saved plan is stale; or the plan was declined at Proceed? (nothing
       was changed)
  2    bad usage or input; nothing in AWS was changed
  3    plan --detailed-exit-code: the plan has changes (0: everything is in sync)
  130  interrupted (Ctrl-C or SIGTERM), after undoing this run's changes";

pub(super) const ROLE_EXAMPLES: &str = "\
At a terminal, what is missing is asked. Without one, --uri, --access, --tidb-account-id and
--external-id are required, and --yes to apply.

Examples:
  serverless-s3-setup role
  serverless-s3-setup role --uri s3://my-bucket/data/ --access import \\
    --tidb-account-id 380838443567 --external-id 1a2b3c4d5e --yes
  serverless-s3-setup role --uri s3://my-bucket/data/ --access import \\
    --tidb-account-id 380838443567 --external-id 1a2b3c4d5e --dry-run";

pub(super) const ACCESS_KEY_EXAMPLES: &str = "\
At a terminal, what is missing is asked. Without one, --uri and --access are required, --yes
to apply, and --secret-file (or -o json) so that the secret does not land in a log.

Examples:
  serverless-s3-setup access-key
  serverless-s3-setup access-key --uri s3://my-bucket/data/ --access import \\
    --secret-file tidb-access-key.json --rotate --yes
  serverless-s3-setup access-key delete --user-name tidb-user-import-my-bucket-data --with-user --yes";

pub(super) const VERIFY_EXAMPLES: &str = "\
A role or user this tool made tells its folder and access itself, and a role its tier, TiDB
Cloud account and external IDs: `verify --role-arn ARN` alone checks it. Another role needs
--uri, --tidb-account-id and --external-id. At a terminal, `verify` alone lists what this tool
made, to choose from.

Examples:
  serverless-s3-setup verify \\
    --role-arn arn:aws:iam::111122223333:role/tidb-role-import-my-bucket-data
  serverless-s3-setup verify --user-name tidb-user-export-my-bucket-out";

pub(super) const TEARDOWN_EXAMPLES: &str = "\
A stack's role goes with its stack (--stack-name); a role made with --method iam by
--role-name; an access key's user, with its keys, by --user-name; every role of the set of a
file of setups (apply -f), stacks and all, by -f FILE (or --set NAME). At a terminal,
`teardown` alone lists what this tool made, to choose from.

Examples:
  serverless-s3-setup teardown --stack-name tidb-role-import-my-bucket --yes
  serverless-s3-setup teardown --role-name tidb-role-import-my-bucket --yes
  serverless-s3-setup teardown --user-name tidb-user-import-my-bucket --dry-run
  serverless-s3-setup teardown -f tidb-s3.toml --dry-run";

pub(super) const LIST_EXAMPLES: &str = "\
Found by the managed-by=serverless-s3-setup tag of each role and user, and, for a stack whose
role is gone, by describing the stacks of the configured region and of each region where the
tool's other stacks are. One line each: kind, name, region, access, folder; `-` where there is
none. -o json gives the ARNs too.

Examples:
  serverless-s3-setup list
  serverless-s3-setup list -o json | jq -r '.made[] | select(.kind == \"user\") | .name'";

pub(super) const COMPLETIONS_HELP: &str = "\
Install, for example:
  bash:        serverless-s3-setup completions bash > ~/.local/share/bash-completion/completions/serverless-s3-setup
  zsh:         serverless-s3-setup completions zsh > \"${fpath[1]}/_serverless-s3-setup\"
  fish:        serverless-s3-setup completions fish > ~/.config/fish/completions/serverless-s3-setup.fish
  PowerShell:  serverless-s3-setup completions powershell >> $PROFILE";

/// The global flags of changes (`--yes`, `--dry-run`, `--no-input`, `--show-policies`) on a
/// command that changes nothing and asks nothing: still taken, so that a script that passes
/// them keeps working, but left out of its help. Under the same ids as `Global`'s, clap does
/// not copy the global ones in.
#[derive(Debug, Args)]
pub(crate) struct NoChanges {
    #[arg(short = 'y', long, hide = true)]
    yes: bool,
    #[arg(long, hide = true)]
    no_input: bool,
    #[arg(long, hide = true)]
    dry_run: bool,
    #[arg(long, hide = true)]
    show_policies: bool,
}

/// `--show-policies` on a command that shows no policy (teardown): taken, not shown.
#[derive(Debug, Args)]
pub(crate) struct NoPolicies {
    #[arg(long, hide = true)]
    show_policies: bool,
}

/// The global flags on a command that calls no AWS and prints what the binary holds
/// (`template`, `completions`, `man`): taken, not shown.
#[derive(Debug, Args)]
pub(crate) struct Offline {
    #[command(flatten)]
    changes: NoChanges,
    #[arg(long, hide = true)]
    profile: Option<String>,
    #[arg(long, hide = true)]
    region: Option<String>,
    #[arg(long, hide = true)]
    endpoint_url: Option<String>,
    #[arg(short = 'o', long, value_enum, hide = true)]
    output: Option<OutputFormat>,
}
