//! The commands: each reads its request, plans, asks, applies and reports. They share the
//! connection, the survey of what exists, and the undo of a failed run. They orchestrate:
//! decisions belong to `plan`, AWS calls to `aws`, questions to `wizard`, rendering to `output`.

pub mod access_key;
pub mod list;
mod made;
pub mod role;
mod saved;
pub mod set;
mod setup;
pub mod teardown;
pub mod verify;

use serde::Serialize;

use serde_json::Value;

use crate::apply::journal::{Journal, Undo};
use crate::aws::Clients;
use crate::detect;
use crate::error::Error;
use crate::facts::{BucketFacts, Caller, Facts, Located, PolicyInfo};
use crate::inputs::{
    Access, AccountId, Guardrails, IamPath, KmsKeyArn, PolicyName, S3Location, Tier,
};
use crate::plan::Grant;
use crate::Context;

/// What a command reports: the plan alone under `--dry-run`, otherwise what was done.
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum Report<P, O> {
    Plan {
        dry_run: bool,
        plan: Box<P>,
        /// Where `--plan-out` saved it, and the command that applies it.
        #[serde(skip_serializing_if = "Option::is_none")]
        saved: Option<SavedTo>,
    },
    Done(Box<O>),
}

/// Where a plan was saved, and how to apply it.
#[derive(Debug, Clone, Serialize)]
pub struct SavedTo {
    pub(crate) plan_file: std::path::PathBuf,
    pub(crate) apply_command: String,
}

impl<P, O> Report<P, O> {
    /// What `--dry-run` reports: the plan, and nothing done.
    pub(crate) fn dry_run(plan: P) -> Self {
        Report::Plan {
            dry_run: true,
            plan: Box::new(plan),
            saved: None,
        }
    }

    /// What `--plan-out` reports: the plan, where it was saved, and nothing done.
    pub(crate) fn saved(plan: P, saved: SavedTo) -> Self {
        Report::Plan {
            dry_run: true,
            plan: Box::new(plan),
            saved: Some(saved),
        }
    }
}

/// After a plan was saved: how to apply it (stderr).
pub(crate) fn tell_saved<P, O>(ctx: &Context, report: &Report<P, O>) {
    if let Report::Plan {
        saved: Some(saved), ..
    } = report
    {
        ctx.ui.info(format!(
            "\nSaved the plan to {}. Review it, then apply exactly this plan (it is refused if anything it was made from changes first):\n  {}",
            saved.plan_file.display(),
            saved.apply_command
        ));
    }
}

/// A command line that repeats a setup without a question: printed for CI after a setup, and
/// after a stop so that no answer is lost. Every choice is in it, in one order for both
/// commands.
pub(crate) struct Repeat<'a> {
    /// `role --method iam`, or `access-key`.
    pub(crate) command: Vec<String>,
    pub(crate) uri: String,
    pub(crate) access: Access,
    /// The command's own flags before `--policy-name`, and after it.
    pub(crate) before: Vec<String>,
    /// The policy's name, unless it is the default a rerun picks again.
    pub(crate) policy_name: Option<&'a PolicyName>,
    pub(crate) after: Vec<String>,
    /// Every key to grant, so that a rerun keeps keys given by hand.
    pub(crate) kms_keys: &'a [KmsKeyArn],
    /// The guardrail flags (a rerun keeps what is not given, so these are the ones chosen).
    pub(crate) guardrails: Vec<String>,
    /// The region to pin (a stack's), else the run's own.
    pub(crate) region: Option<&'a str>,
}

impl Repeat<'_> {
    pub(crate) fn line(self, ctx: &Context) -> String {
        let mut words = vec!["serverless-s3-setup".to_string()];
        words.extend(self.command);
        words.extend([
            "--uri".into(),
            self.uri,
            "--access".into(),
            self.access.to_string(),
        ]);
        words.extend(self.before);
        if let Some(name) = self.policy_name {
            words.extend(["--policy-name".into(), name.to_string()]);
        }
        words.extend(self.after);
        for key in self.kms_keys {
            words.extend(["--kms-key".into(), key.to_string()]);
        }
        words.extend(self.guardrails);
        words.extend(crate::output::connection_flags(&ctx.conn, self.region));
        words.push("--yes".into());
        crate::output::command_line(words.iter().map(String::as_str))
    }
}

/// Keeps, once questions were answered, the command that goes on from the answers: whoever
/// reports a stop says it (`main` for an error, the signal watcher for Ctrl-C).
pub(crate) fn keep_answers(answered: bool, line: impl FnOnce() -> String) {
    if answered {
        crate::signals::set_resume(line());
    }
}

/// What a plan says besides its picture, for a run that is not asked (`--yes`): the plan's
/// warnings, then `more`, then each revision that takes something away; and the lines of
/// what it does, the other revisions first (`access: import → both`).
pub(crate) fn announced(
    grant: &Grant,
    more: Vec<String>,
    actions: Vec<String>,
) -> (Vec<String>, Vec<String>) {
    let mut warnings = grant.warnings.clone();
    warnings.extend(more);
    let (away, other): (Vec<_>, Vec<_>) = grant.revisions.iter().partition(|r| r.takes_away);
    warnings.extend(away.iter().map(|r| format!("takes away {}", r.describe())));
    let mut lines: Vec<String> = other.iter().map(|r| r.describe()).collect();
    lines.extend(actions);
    (warnings, lines)
}

/// What a setup wrote, for the read-back after it.
fn written(grant: &Grant, principal_arn: String, trust: Option<Value>) -> crate::verify::Written {
    crate::verify::Written {
        partition: grant.partition,
        principal_arn,
        trust,
        permissions: grant.permissions_policy.clone(),
        boundary: grant
            .guardrails
            .permissions_boundary
            .as_ref()
            .map(ToString::to_string),
    }
}

/// What a role's and a user's outcome share, flattened into both so the JSON keys stay.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Granted {
    pub(crate) policy_name: PolicyName,
    pub(crate) bucket: String,
    pub(crate) prefix: String,
    pub(crate) access: Access,
    pub(crate) kms_keys: Vec<KmsKeyArn>,
    /// Whether this run changed anything in AWS.
    pub(crate) changed: bool,
    pub(crate) account_id: Option<AccountId>,
    pub(crate) bucket_region: Option<String>,
    /// What this run did, in order; empty when nothing changed.
    pub(crate) actions: Vec<String>,
    /// The checks run on what was made (see `verify`).
    pub(crate) verify: crate::verify::Report,
    #[serde(flatten)]
    pub(crate) guardrails: Guardrails,
    pub(crate) tier: Tier,
    /// The `ticloud` commands that start the import or export (none for the tiers
    /// `ticloud serverless` does not serve). An access key's secret is read from
    /// `$TIDB_S3_SECRET_ACCESS_KEY`, never written into them.
    pub(crate) next_command: Vec<String>,
    /// The keys a CI command pins: all granted but the bucket's default, which a rerun
    /// detects again.
    #[serde(skip)]
    pub(crate) pinned_kms_keys: Vec<KmsKeyArn>,
}

impl Granted {
    /// The outcome of a plan: `actions` are the lines of what was done, when anything was.
    pub(crate) fn of(grant: &Grant, tier: Tier, changed: bool, actions: Vec<String>) -> Granted {
        Granted {
            policy_name: grant.policy_name.clone(),
            bucket: grant.bucket.clone(),
            prefix: grant.prefix.clone(),
            access: grant.access,
            kms_keys: grant.kms_keys.clone(),
            changed,
            account_id: grant.account_id.clone(),
            bucket_region: grant.bucket_region.clone(),
            actions: if changed { actions } else { Vec::new() },
            verify: crate::verify::Report::pending(),
            guardrails: grant.guardrails.clone(),
            tier,
            next_command: Vec::new(),
            pinned_kms_keys: grant
                .kms_keys
                .iter()
                .filter(|k| grant.bucket_key.as_ref() != Some(*k))
                .cloned()
                .collect(),
        }
    }
}

/// Connects to AWS. Under `--dry-run`, missing credentials mean planning without AWS (`None`).
pub(crate) async fn connect_or_plan_offline(ctx: &Context) -> Result<Option<Clients>, Error> {
    match Clients::connect(&ctx.conn, &ctx.ui).await {
        Ok(clients) => Ok(Some(clients)),
        Err(e @ Error::Credentials { .. }) if ctx.dry_run => {
            // The fix stays on its own line, as under any error.
            ctx.ui.warn(format!("planning without AWS: {e}"));
            Ok(None)
        }
        Err(e) => Err(e),
    }
}

/// The bucket to read for a plan.
pub(crate) struct Bucket<'a> {
    pub(crate) location: &'a S3Location,
    /// Whether TiDB Cloud imports from it: then an empty folder is worth a warning.
    pub(crate) imports: bool,
    pub(crate) kms_keys: &'a [KmsKeyArn],
    /// What the URI's check learnt: the bucket's region, when it read it, and what it found.
    pub(crate) located: Located,
}

impl<'a> Bucket<'a> {
    pub(crate) fn of(location: &'a S3Location, access: Access, kms_keys: &'a [KmsKeyArn]) -> Self {
        Bucket {
            location,
            imports: access.reads(),
            kms_keys,
            located: Located::default(),
        }
    }
}

/// Reads what a plan needs, behind a spinner: the bucket, and together with it the caller and
/// what exists (`state`). Without AWS, only what the flags tell. The facts include what the
/// URI's check found.
pub(crate) async fn survey<'a, S, Fut>(
    ctx: &Context,
    clients: Option<&'a Clients>,
    bucket: Bucket<'_>,
    state: impl FnOnce(&'a Clients) -> Fut,
) -> Result<(Facts, S), Error>
where
    S: Default,
    Fut: std::future::Future<Output = Result<(Caller, S), Error>>,
{
    let Some(clients) = clients else {
        // Without AWS the bucket's region is taken to be the configured one.
        let mut facts = Facts {
            bucket: BucketFacts {
                region: ctx.conn.region.clone(),
                ..BucketFacts::default()
            },
            region: ctx.conn.region.clone(),
            ..Facts::default()
        };
        bucket.located.into_facts(&mut facts);
        return Ok((facts, S::default()));
    };
    let step = ctx
        .ui
        .step("Checking the bucket, the account and existing resources");
    let found = async {
        let probe = detect::bucket(
            clients,
            bucket.location,
            &bucket.located,
            bucket.kms_keys,
            !ctx.dry_run,
            bucket.imports,
        );
        let (found, state) = tokio::join!(probe, state(clients));
        // Credential and identity problems explain everything else, so they come first.
        let (caller, state) = state?;
        let mut found = found?;
        found
            .settle_aws_managed_key(clients, bucket.location.bucket(), caller.account.as_str())
            .await?;
        let mut facts = Facts::detected(caller, found);
        facts.region = Some(clients.stacks_region().to_string());
        Ok::<_, Error>((facts, state))
    }
    .await;
    let (mut facts, state) = step.end(found, |_| "done".into())?;
    bucket.located.into_facts(&mut facts);
    Ok((facts, state))
}

/// The tool's managed policy of this name, as the caller's account holds it, with its
/// default version's document when the tool made it.
pub(crate) async fn read_policy(
    clients: &Clients,
    arn: &str,
) -> Result<(Option<PolicyInfo>, Option<Value>), Error> {
    let policy = clients.policy(arn).await?;
    let document = match &policy {
        Some(p) if p.managed => clients.policy_document(&p.arn, &p.default_version).await?,
        _ => None,
    };
    Ok((policy, document))
}

/// The policy a rerun keeps when no `--policy-name` is given: the one of the default name when
/// it is attached; else the one policy this tool made among those attached (a role or user
/// made with another `--policy-name`), so that a rerun never makes a second. `default` is the
/// default policy as read, with its ARN.
pub(crate) async fn kept_policy(
    clients: &Clients,
    chosen: bool,
    attached: &[String],
    default: (String, Option<PolicyInfo>, Option<Value>),
) -> Result<(String, Option<PolicyInfo>, Option<Value>), Error> {
    let (arn, ..) = &default;
    if chosen || attached.contains(arn) {
        return Ok(default);
    }
    let others = futures_util::future::join_all(
        attached
            .iter()
            .filter(|a| *a != arn)
            .map(|a| read_policy(clients, a)),
    )
    .await;
    let mut ours = Vec::new();
    for read in others {
        let (policy, document) = read?;
        if let Some(p) = policy.filter(|p| p.managed) {
            ours.push((p.arn.clone(), Some(p), document));
        }
    }
    Ok(match ours.len() {
        1 => ours.remove(0),
        _ => default,
    })
}

/// Where the managed policy of this name is in the caller's account: at the path given, else
/// where its role or user is (`held`, that one's ARN), else at `/`.
pub(crate) fn policy_arn(
    caller: &Caller,
    given: Option<&IamPath>,
    held: Option<&str>,
    name: &PolicyName,
) -> String {
    let path = match (given, held) {
        (Some(path), _) => path.clone(),
        (None, Some(arn)) => IamPath::of_arn(arn).unwrap_or_default(),
        (None, None) => IamPath::default(),
    };
    crate::plan::policy_arn(caller.partition, caller.account.as_str(), &path, name)
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
                went: Vec::new(),
            }
        }
    }
}
