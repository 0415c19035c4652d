//! `access-key`: an IAM user with the least-privilege policy, and an access key shown once.
//! `access-key delete`: the clean way out after the import or export.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::aws::iam::{self, NewAccessKey, Secret};
use crate::aws::{sts, Clients};
use crate::error::Error;
use crate::facts::Facts;
use crate::inputs::{Access, AccountId, Guardrails, KmsKeyArn, PolicyName, Tier, UserName};
use crate::journal::Journal;
use crate::output::render_policy_plan;
use crate::plan::{self, UserInputs, UserPlan, UserState};
use crate::prompt::Prompter;
use crate::requests::AccessKeyRequest;
use crate::wizard;
use crate::{apply, detect, Context};

/// What `access-key` did. The secret is here only when it goes to stdout.
#[derive(Debug, Clone, Serialize)]
pub struct AccessKeyOutcome {
    pub access_key_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret_access_key: Option<Secret>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret_file: Option<PathBuf>,
    pub user_name: UserName,
    pub user_arn: String,
    pub policy_name: PolicyName,
    pub policy_arn: String,
    pub bucket: String,
    pub prefix: String,
    pub access: Access,
    pub kms_keys: Vec<KmsKeyArn>,
    /// True whenever a key was made; the user and policy may have been unchanged.
    pub changed: bool,
    pub account_id: Option<AccountId>,
    pub bucket_region: Option<String>,
    pub actions: Vec<String>,
    /// The command that deletes this key after the import or export.
    pub delete_command: String,
    /// The checks run on what was made (see `verify`).
    pub verify: crate::verify::Report,
    #[serde(flatten)]
    pub guardrails: Guardrails,
    pub tier: Tier,
    /// The `ticloud` commands that start the import or export with this key; the secret is
    /// read from `$TIDB_S3_SECRET_ACCESS_KEY`, never written into them.
    pub next_command: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum AccessKeyReport {
    Plan { dry_run: bool, plan: Box<UserPlan> },
    Done(Box<AccessKeyOutcome>),
}

/// Runs `access-key` end to end: resolve, detect, plan, confirm, apply.
pub async fn run(
    ctx: &Context,
    req: AccessKeyRequest,
    prompter: &mut dyn Prompter,
) -> Result<AccessKeyReport, Error> {
    wizard::check_access_key(ctx, &req)?;
    let (tier, cluster_id) = (req.tier.unwrap_or_default(), req.cluster_id.clone());
    let clients = super::connect_or_plan_offline(ctx).await?;
    let (inputs, secret_file, located) =
        wizard::access_key(ctx, req, prompter, clients.as_ref()).await?;
    let region = located.region.clone();
    let (mut facts, state): (Facts, UserState) = super::survey(ctx, clients.as_ref(), |c| {
        gather(c, &inputs, region, ctx.dry_run)
    })
    .await?;
    located.into_facts(&mut facts);
    let plan = plan::user(&inputs, &facts, &state)?;
    if ctx.dry_run {
        return Ok(AccessKeyReport::Plan {
            dry_run: true,
            plan: Box::new(plan),
        });
    }
    let clients = clients.expect("connected unless dry run");
    let actions = plan.actions.iter().map(|a| plan.describe(a)).collect();
    wizard::present_plan(ctx, prompter, &plan.warnings, actions, false, || {
        render_user_plan(ctx, &plan)
    })?;

    let mut journal = Journal::default();
    let mut file = SecretFile::new(secret_file);
    ctx.stop.begin_changes();
    let applied = apply(&clients, &plan, &mut journal, &mut file, ctx).await;
    let key = match applied {
        Ok(key) => key,
        Err(err) => {
            file.discard();
            return Err(super::undo(ctx, &clients, &mut journal, err).await);
        }
    };
    let delete_command = format!(
        "serverless-s3-setup access-key delete --user-name {} --access-key-id {} --yes",
        plan.user_name, key.id
    );
    let in_file = file.path.is_some();
    let verify = crate::verify::after_setup(
        &clients,
        &crate::verify::Subject::User {
            name: plan.user_name.clone(),
        },
        &crate::verify::Expectations {
            location: inputs.location.clone(),
            access: inputs.access,
            tidb_account: None,
            external_id: None,
            bucket_location: true,
        },
        crate::verify::Written {
            partition: plan.partition,
            principal_arn: plan.user_arn.clone(),
            trust: None,
            permissions: plan.permissions_policy.clone(),
            boundary: plan
                .guardrails
                .permissions_boundary
                .as_ref()
                .map(|b| b.to_string()),
        },
        facts.bucket.clone().unwrap_or_default(),
    )
    .await;
    crate::verify::show_after_setup(ctx, &verify, inputs.access, true);
    let next_command = crate::handoff::ticloud(
        tier,
        plan.access,
        &inputs.location,
        crate::handoff::Credential::AccessKey { id: &key.id },
        cluster_id.as_ref(),
    );
    Ok(AccessKeyReport::Done(Box::new(AccessKeyOutcome {
        verify,
        access_key_id: key.id,
        secret_access_key: (!in_file).then_some(key.secret),
        secret_file: file.path.clone(),
        user_name: plan.user_name.clone(),
        user_arn: plan.user_arn.clone(),
        policy_name: plan.policy_name.clone(),
        policy_arn: plan.policy_arn.clone(),
        bucket: plan.bucket.clone(),
        prefix: plan.prefix.clone(),
        access: plan.access,
        kms_keys: plan.kms_keys.clone(),
        changed: true,
        account_id: plan.account_id.clone(),
        bucket_region: plan.bucket_region.clone(),
        actions: plan.actions.iter().map(|a| plan.describe(a)).collect(),
        delete_command,
        guardrails: plan.guardrails.clone(),
        tier,
        next_command,
    })))
}

async fn gather(
    clients: &Clients,
    inputs: &UserInputs,
    region: Option<String>,
    dry_run: bool,
) -> Result<(Facts, UserState), Error> {
    let bucket = detect::bucket(
        clients,
        &inputs.location,
        region,
        &inputs.kms_keys,
        !dry_run,
    );
    let state = async {
        let user_name = inputs.user_name.as_str();
        let (caller, user) = tokio::join!(
            sts::caller_identity(&clients.sts),
            iam::get_user(&clients.iam, user_name)
        );
        let caller = caller?;
        let user = user?;
        let arn = plan::policy_arn(
            caller.partition,
            caller.account.as_str(),
            &inputs.guardrails.path,
            &inputs.policy_name,
        );
        let exists = user.is_some();
        let (policy, attached, keys) = tokio::join!(
            iam::get_policy(&clients.iam, &arn),
            async {
                match exists {
                    true => iam::attached_user_policies(&clients.iam, user_name).await,
                    false => Ok(Vec::new()),
                }
            },
            async {
                match exists {
                    true => iam::access_keys(&clients.iam, user_name).await,
                    false => Ok(Vec::new()),
                }
            }
        );
        let policy = policy?;
        let policy_document = match &policy {
            Some(p) if p.managed => {
                iam::policy_document(&clients.iam, &p.arn, &p.default_version).await?
            }
            _ => None,
        };
        Ok::<_, Error>((
            caller,
            UserState {
                user,
                policy,
                policy_document,
                attached: attached?.contains(&arn),
                keys: keys?,
            },
        ))
    };
    let (bucket, state) = tokio::join!(bucket, state);
    let (caller, state) = state?;
    let mut bucket = bucket?;
    bucket
        .settle_aws_managed_key(clients, inputs.location.bucket(), caller.account.as_str())
        .await?;
    Ok((Facts::detected(caller, bucket), state))
}

/// The `--secret-file`: created (empty, mode 0600) before the key exists, so that a file that
/// cannot be created stops the run before there is a secret to lose.
struct SecretFile {
    path: Option<PathBuf>,
    file: Option<File>,
}

impl SecretFile {
    fn new(path: Option<PathBuf>) -> SecretFile {
        SecretFile { path, file: None }
    }

    fn create(&mut self) -> Result<(), Error> {
        let Some(path) = &self.path else {
            return Ok(());
        };
        let mut options = OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let file = options.open(path).map_err(|e| {
            Error::invalid(
                "--secret-file",
                format!("cannot create {}: {e}", path.display()),
            )
        })?;
        self.file = Some(file);
        Ok(())
    }

    fn write(&mut self, user: &UserName, key: &NewAccessKey) -> Result<(), Error> {
        let Some(file) = &mut self.file else {
            return Ok(());
        };
        let body = serde_json::json!({
            "user_name": user,
            "access_key_id": key.id,
            "secret_access_key": key.secret,
        });
        let text = serde_json::to_string_pretty(&body).expect("serialises") + "\n";
        file.write_all(text.as_bytes())
            .and_then(|_| file.sync_all())
            .map_err(|e| {
                Error::Other(anyhow::anyhow!(
                    "writing the key to {}: {e}",
                    self.path.as_deref().unwrap_or(Path::new("")).display()
                ))
            })
    }

    /// Removes a file this run created, after a failure.
    fn discard(&mut self) {
        if let (Some(path), Some(_)) = (&self.path, self.file.take()) {
            let _ = std::fs::remove_file(path);
        }
    }
}

/// Makes the plan's changes through IAM and writes the key where it goes; each creation is
/// journaled before it is requested.
async fn apply(
    clients: &Clients,
    plan: &UserPlan,
    journal: &mut Journal,
    file: &mut SecretFile,
    ctx: &Context,
) -> Result<NewAccessKey, Error> {
    file.create()?;
    let step = ctx.ui.step(format!("Applying to user {}", plan.user_name));
    let made = apply::execute(clients, &plan.actions, journal, &ctx.stop)
        .await
        .map(|key| key.expect("an access-key plan makes a key"));
    // A stop asked for during the last request still undoes the run: the key is never shown.
    let written = made.and_then(|key| {
        ctx.stop.check()?;
        file.write(&plan.user_name, &key)?;
        Ok(key)
    });
    match written {
        Ok(key) => {
            step.done(&format!("{} change(s)", plan.actions.len()));
            Ok(key)
        }
        Err(e) => {
            step.fail();
            Err(e)
        }
    }
}

pub fn render_user_plan(ctx: &Context, plan: &UserPlan) -> String {
    let actions: Vec<String> = plan.actions.iter().map(|a| plan.describe(a)).collect();
    render_policy_plan(
        &ctx.ui,
        plan.account_id.as_ref(),
        plan.partition,
        &plan.detected,
        &plan.warnings,
        &[
            format!(
                "give an IAM user {} access to s3://{}/{}",
                plan.access,
                plan.bucket,
                if plan.prefix.is_empty() {
                    String::new()
                } else {
                    format!("{}/", plan.prefix)
                }
            ),
            format!("user:   {} ({})", plan.user_name, plan.user_arn),
            format!("policy: {} ({})", plan.policy_name, plan.policy_arn),
        ],
        &actions,
        &[crate::output::Shown {
            title: "Permissions policy",
            now: plan.current_permissions.as_ref(),
            planned: &plan.permissions_policy,
            grants: true,
        }],
    )
}

/// stdout: the key ID and the secret, or only the ID when the secret went to a file.
pub fn render_text(ctx: &Context, report: &AccessKeyReport) -> String {
    match report {
        AccessKeyReport::Plan { plan, .. } => render_user_plan(ctx, plan),
        AccessKeyReport::Done(o) => match &o.secret_access_key {
            Some(secret) => format!(
                "Access Key ID:     {}\nSecret Access Key: {}",
                o.access_key_id,
                secret.expose()
            ),
            None => o.access_key_id.clone(),
        },
    }
}

/// stderr, in every output mode: the secret exists only where it was just put.
pub fn warn_once(ctx: &Context, report: &AccessKeyReport) {
    let AccessKeyReport::Done(o) = report else {
        return;
    };
    match &o.secret_file {
        Some(path) => ctx.ui.warn(format!(
            "the key was written to {} (mode 0600); AWS shows a secret only once, so keep that file until the key is pasted",
            path.display()
        )),
        None => ctx.ui.warn(
            "the Secret Access Key above is shown only this once and can never be recovered; paste or store it now",
        ),
    }
}

/// stderr: where to paste the key, and how to delete it afterwards.
pub fn next_steps(ctx: &Context, report: &AccessKeyReport) {
    let AccessKeyReport::Done(o) = report else {
        return;
    };
    let console = crate::handoff::console(
        o.tier,
        o.access,
        crate::handoff::Credential::AccessKey {
            id: &o.access_key_id,
        },
    );
    ctx.ui.info(format!("Next: {console}."));
    if !o.next_command.is_empty() {
        ctx.ui.info(format!(
            "Or with the TiDB Cloud CLI, after `read -rs {}` and pasting the secret:\n  {}",
            crate::handoff::SECRET_VARIABLE,
            o.next_command.join("\n  ")
        ));
    }
    ctx.ui.info(format!(
        "TiDB Cloud does not store the key. When the import or export is done, delete it:\n  {}",
        o.delete_command
    ));
    if ctx.can_prompt {
        ctx.ui.info(format!(
            "To repeat this setup in CI, without questions (a new key each run):\n  {}",
            ci_command(ctx, o)
        ));
    }
}

/// The flags that repeat this setup without a question: for CI. No secret is in it.
pub fn ci_command(ctx: &Context, o: &AccessKeyOutcome) -> String {
    let uri = crate::output::uri(&o.bucket, &o.prefix);
    let mut words: Vec<String> = [
        "serverless-s3-setup",
        "access-key",
        "--uri",
        &uri,
        "--access",
        o.access.as_str(),
        "--user-name",
        o.user_name.as_str(),
        "--policy-name",
        o.policy_name.as_str(),
    ]
    .map(str::to_string)
    .to_vec();
    // The tier names the console path in the hand-off; a rerun tells the same.
    if o.tier != crate::inputs::Tier::default() {
        words.extend(["--tier".into(), o.tier.to_string()]);
    }
    for key in &o.kms_keys {
        words.extend(["--kms-key".into(), key.to_string()]);
    }
    words.extend(o.guardrails.flags());
    words.extend(crate::output::connection_flags(&ctx.conn, None));
    words.push("--yes".into());
    crate::output::command_line(words.iter().map(String::as_str))
}
