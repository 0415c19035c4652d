//! `access-key`: an IAM user with the least-privilege policy, and an access key shown once.
//! `access-key delete`: the clean way out after the import or export.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::apply::journal::Journal;
use crate::aws::iam::{self, NewAccessKey, Secret};
use crate::aws::Clients;
use crate::error::Error;
use crate::facts::Caller;
use crate::find::FoundUser;
use crate::inputs::{Access, KmsKeyArn, PolicyName, SecretPath, Tier, UserName};
use crate::output::{render_policy_plan, Render};
use crate::plan::{self, UserInputs, UserPlan, UserState};
use crate::prompt::Prompter;
use crate::requests::AccessKeyRequest;
use crate::wizard;

use super::{Granted, Repeat};
use crate::{apply, Context};

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
    pub policy_arn: String,
    /// The command that deletes this key after the import or export.
    pub delete_command: String,
    /// `changed` is true whenever a key was made; the user and policy may have been unchanged.
    #[serde(flatten)]
    pub granted: Granted,
}

/// The result of `access-key`.
pub type AccessKeyReport = super::Report<UserPlan, AccessKeyOutcome>;

/// Runs `access-key` end to end: resolve, detect, plan, confirm, apply.
pub async fn run(
    ctx: &Context,
    req: AccessKeyRequest,
    prompter: &mut dyn Prompter,
) -> Result<AccessKeyReport, Error> {
    wizard::check_access_key(ctx, &req)?;
    let (tier, cluster_id) = (req.tier.unwrap_or_default(), req.cluster_id.clone());
    let clients = super::connect_or_plan_offline(ctx).await?;
    let (inputs, secret_file, located, found) =
        wizard::access_key(ctx, req, prompter, clients.as_ref()).await?;
    super::keep_answers(prompter.answered() > 0, || {
        again(
            ctx,
            &inputs,
            tier,
            secret_file.as_ref().map(SecretPath::as_path),
        )
    });
    async {
        let bucket = super::Bucket {
            location: &inputs.location,
            kms_keys: &inputs.kms_keys,
            located,
        };
        let (facts, state) = super::survey(ctx, clients.as_ref(), bucket, |c| {
            gather(c, &inputs, found.expect("found with clients"))
        })
        .await?;
        let plan = plan::user(&inputs, &facts, &state)?;
        if ctx.dry_run {
            return Ok(AccessKeyReport::dry_run(plan));
        }
        let clients = clients.expect("connected unless dry run");
        let (warnings, actions) = super::announced(&plan.grant, Vec::new(), plan.lines());
        wizard::present_plan(
            ctx,
            prompter,
            &warnings,
            actions,
            plan.grant.takes_away(),
            || render_user_plan(ctx, &plan),
        )?;

        let mut journal = Journal::default();
        let mut file = SecretFile::new(secret_file.map(SecretPath::into_path));
        ctx.stop.begin_changes();
        let applied = apply(&clients, &plan, &mut journal, &mut file, ctx).await;
        let (key, versions) = match applied {
            Ok(made) => made,
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
            super::written(&plan.grant, plan.user_arn.clone(), None),
            facts.bucket.clone().unwrap_or_default(),
            crate::verify::Known::Expected(crate::verify::Expected {
                managed: versions
                    .iter()
                    .find(|(arn, _)| *arn == plan.policy_arn)
                    .cloned()
                    .or_else(|| {
                        let p = state.policy.as_ref()?;
                        Some((p.arn.clone(), p.default_version.clone()))
                    })
                    .into_iter()
                    .collect(),
                inline: Vec::new(),
            }),
        )
        .await;
        crate::verify::show_after_setup(ctx, &verify, inputs.access, true);
        let next_command = crate::handoff::ticloud(
            tier,
            plan.grant.access,
            &inputs.location,
            crate::handoff::Credential::AccessKey { id: &key.id },
            cluster_id.as_ref(),
        );
        Ok(AccessKeyReport::Done(Box::new(AccessKeyOutcome {
            access_key_id: key.id,
            secret_access_key: (!in_file).then_some(key.secret),
            secret_file: file.path.clone(),
            user_name: plan.user_name.clone(),
            user_arn: plan.user_arn.clone(),
            policy_arn: plan.policy_arn.clone(),
            delete_command,
            granted: Granted {
                verify,
                next_command,
                ..Granted::of(&plan.grant, tier, true, plan.lines())
            },
        })))
    }
    .await
}

/// Reads the user's policy, attachments and keys. The caller and the user were read already,
/// when the user was looked for (the user again if another name was chosen since).
async fn gather(
    clients: &Clients,
    inputs: &UserInputs,
    found: FoundUser,
) -> Result<(Caller, UserState), Error> {
    let user_name = inputs.user_name.as_str();
    let caller = found.caller;
    let user = if found.user.name == inputs.user_name {
        found.user.info
    } else {
        iam::get_user(&clients.iam, user_name).await?
    };
    let arn = super::policy_arn(
        &caller,
        inputs.guardrails.path.as_ref(),
        user.as_ref().map(|u| u.arn.as_str()),
        &inputs.policy_name,
    );
    let exists = user.is_some();
    let (policy, attached, keys) = tokio::join!(
        super::read_policy(clients, &arn),
        async {
            if exists {
                iam::attached_user_policies(&clients.iam, user_name).await
            } else {
                Ok(Vec::new())
            }
        },
        async {
            if exists {
                iam::access_keys(&clients.iam, user_name).await
            } else {
                Ok(Vec::new())
            }
        }
    );
    let (policy, policy_document) = policy?;
    let attached = attached?;
    let (arn, policy, policy_document) = super::kept_policy(
        clients,
        inputs.chosen.policy_name,
        &attached,
        (arn, policy, policy_document),
    )
    .await?;
    let state = UserState {
        user,
        policy,
        policy_document,
        attached: attached.contains(&arn),
        keys: keys?,
    };
    Ok((caller, state))
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
                    self.path
                        .as_deref()
                        .unwrap_or_else(|| Path::new(""))
                        .display()
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
) -> Result<(NewAccessKey, Vec<(String, String)>), Error> {
    file.create()?;
    let step = ctx.ui.step(format!("Applying to user {}", plan.user_name));
    let made = apply::execute(clients, &plan.grant.actions, journal, &ctx.stop).await;
    // A stop asked for during the last request still undoes the run: the key is never shown.
    let written = made.and_then(|executed| {
        let key = executed.key.expect("an access-key plan makes a key");
        ctx.stop.check()?;
        file.write(&plan.user_name, &key)?;
        Ok((key, executed.versions))
    });
    match written {
        Ok(made) => {
            step.done(&format!("{} change(s)", plan.grant.actions.len()));
            Ok(made)
        }
        Err(e) => {
            step.fail();
            Err(e)
        }
    }
}

pub fn render_user_plan(ctx: &Context, plan: &UserPlan) -> String {
    let actions = plan.lines();
    let mut summary = vec![
        format!(
            "give an IAM user {} access to s3://{}/{}",
            plan.grant.access,
            plan.grant.bucket,
            if plan.grant.prefix.is_empty() {
                String::new()
            } else {
                format!("{}/", plan.grant.prefix)
            }
        ),
        format!("user:   {} ({})", plan.user_name, plan.user_arn),
        format!("policy: {} ({})", plan.grant.policy_name, plan.policy_arn),
    ];
    summary.extend(crate::output::revision_lines(
        &ctx.ui,
        &plan.grant.revisions,
    ));
    render_policy_plan(
        &ctx.ui,
        plan.grant.account_id.as_ref(),
        plan.grant.partition,
        &plan.grant.detected,
        &plan.grant.warnings,
        &summary,
        &actions,
        &[crate::output::Shown {
            title: "Permissions policy",
            now: plan.grant.current_permissions.as_ref(),
            planned: &plan.grant.permissions_policy,
            grants: true,
        }],
    )
}

/// stdout: the key ID and the secret, or only the ID when the secret went to a file.
impl Render for AccessKeyReport {
    fn text(&self, ctx: &Context) -> String {
        match self {
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

    fn warnings(&self, ctx: &Context) {
        warn_once(ctx, self);
    }

    fn next_steps(&self, ctx: &Context) {
        next_steps(ctx, self);
    }
}

/// stderr, in every output mode: the secret exists only where it was just put.
fn warn_once(ctx: &Context, report: &AccessKeyReport) {
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
fn next_steps(ctx: &Context, report: &AccessKeyReport) {
    let AccessKeyReport::Done(o) = report else {
        return;
    };
    let console = crate::handoff::console(
        o.granted.tier,
        o.granted.access,
        crate::handoff::Credential::AccessKey {
            id: &o.access_key_id,
        },
    );
    ctx.ui.info(format!("Next: {console}."));
    if !o.granted.next_command.is_empty() {
        ctx.ui.info(format!(
            "Or with the TiDB Cloud CLI, after `read -rs {}` and pasting the secret:\n  {}",
            crate::handoff::SECRET_VARIABLE,
            o.granted.next_command.join("\n  ")
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
    let g = &o.granted;
    repeat(
        &o.user_name,
        crate::output::uri(&g.bucket, &g.prefix),
        g.access,
        &g.policy_name,
        g.tier,
        &g.kms_keys,
        g.guardrails.flags(),
    )
    .line(ctx)
}

/// The command that goes on from the answers of a run that stopped.
fn again(ctx: &Context, inputs: &UserInputs, tier: Tier, secret_file: Option<&Path>) -> String {
    let mut line = repeat(
        &inputs.user_name,
        inputs.location.to_string(),
        inputs.access,
        &inputs.policy_name,
        tier,
        &inputs.kms_keys,
        inputs.guardrails.flags(),
    );
    for key in &inputs.remove_kms_keys {
        line.after
            .extend(["--remove-kms-key".into(), key.to_string()]);
    }
    if let Some(path) = secret_file {
        line.after
            .extend(["--secret-file".into(), path.display().to_string()]);
    }
    line.line(ctx)
}

fn repeat<'a>(
    user: &UserName,
    uri: String,
    access: Access,
    policy_name: &'a PolicyName,
    tier: Tier,
    kms_keys: &'a [KmsKeyArn],
    guardrails: Vec<String>,
) -> Repeat<'a> {
    Repeat {
        command: vec!["access-key".into()],
        uri,
        access,
        before: vec!["--user-name".into(), user.to_string()],
        policy_name,
        // The tier names the console path in the hand-off; a rerun tells the same.
        after: if tier == Tier::default() {
            Vec::new()
        } else {
            vec!["--tier".into(), tier.to_string()]
        },
        kms_keys,
        guardrails,
        region: None,
    }
}
