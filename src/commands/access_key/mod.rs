//! `access-key`: an IAM user with the least-privilege policy, and an access key shown once.
//! `access-key delete`: the clean way out after the import or export.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::apply::journal::Journal;
use crate::aws::iam::{self, NewAccessKey, Secret};
use crate::aws::Clients;
use crate::error::{AwsError, Error};
use crate::facts::{Caller, Facts, Located};
use crate::find::{self, FoundUser};
use crate::inputs::{SecretPath, UserName, Who};
use crate::output::counted;
use crate::plan::saved::{Basis, KeySetup};
use crate::plan::{self, Action, UserInputs, UserPlan, UserState};
use crate::prompt::Prompter;
use crate::requests::{AccessKeyRequest, KeyProbe, SavedPlan};
use crate::wizard;

use super::setup::{SetupCommand, Surveyed};
use super::{Bucket, Granted};
use crate::{apply, Context};

/// What `access-key` did. The secret is here only when it goes to stdout.
#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, Serialize)]
pub struct AccessKeyOutcome {
    pub(crate) access_key_id: String,
    pub(crate) secret_access_key: Option<Secret>,
    pub(crate) secret_file: Option<PathBuf>,
    pub(crate) user_name: UserName,
    pub(crate) user_arn: String,
    pub(crate) policy_arn: String,
    /// The command that deletes this key after the import or export.
    pub(crate) delete_command: String,
    /// `--rotate`: the older keys deleted, first the one that made room.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(crate) deleted_keys: Vec<String>,
    /// The key tried as itself on S3, unless `--no-probe`.
    pub(crate) probe: Option<ProbeResult>,
    /// How it was to be tried, for the command that repeats the run.
    #[serde(skip)]
    pub(crate) probe_mode: KeyProbe,
    /// `changed` is true whenever a key was made; the user and policy may have been unchanged.
    #[serde(flatten)]
    pub(crate) granted: Granted,
}

/// The result of `access-key`.
pub(crate) type AccessKeyReport = super::Report<UserPlan, AccessKeyOutcome>;

/// Runs `access-key` end to end: resolve, detect, plan, confirm, apply. With `--plan-out`,
/// the plan is saved and nothing changes; with `--plan`, a saved plan is applied.
pub async fn run(
    ctx: &Context,
    req: AccessKeyRequest,
    prompter: &mut dyn Prompter,
) -> Result<AccessKeyReport, Error> {
    let command = KeyCommand {
        secret_file: req.secret_file.clone().map(SecretPath::into_path),
    };
    super::setup::drive(ctx, command, req, prompter).await
}

/// `access-key`'s parts of the setup skeleton. Where the secret goes is the run's own, not the
/// plan's: a saved plan holds no secret and names no file.
struct KeyCommand {
    secret_file: Option<PathBuf>,
}

impl SetupCommand for KeyCommand {
    const COMMAND: &'static str = "access-key";
    type Request = AccessKeyRequest;
    type Settled = KeySetup;
    type Found = FoundUser;
    type State = UserState;
    type Plan = UserPlan;
    type Outcome = AccessKeyOutcome;

    fn saved(req: &AccessKeyRequest) -> &SavedPlan {
        &req.saved
    }

    fn check(ctx: &Context, req: &AccessKeyRequest) -> Result<(), Error> {
        wizard::check_access_key(ctx, req)
    }

    async fn fill(
        &mut self,
        ctx: &Context,
        req: AccessKeyRequest,
        prompter: &mut dyn Prompter,
        clients: Option<&Clients>,
    ) -> Result<(KeySetup, Located, Option<FoundUser>), Error> {
        let (tier, cluster_id) = (req.tier.unwrap_or_default(), req.cluster_id.clone());
        let (inputs, secret_file, located, found) =
            wizard::access_key(ctx, req, prompter, clients).await?;
        // The access may have been asked, or read from a saved plan.
        inputs.probe.check(inputs.access)?;
        self.secret_file = secret_file.map(SecretPath::into_path);
        super::keep_answers(prompter.answered() > 0, || {
            again(ctx, &inputs, tier, self.secret_file.as_deref())
        });
        let settled = KeySetup {
            inputs,
            tier,
            cluster_id,
        };
        Ok((settled, located, found))
    }

    async fn find(
        clients: &Clients,
        settled: &KeySetup,
        located: &mut Located,
    ) -> Result<FoundUser, Error> {
        let inputs = &settled.inputs;
        let name = Some(&inputs.user_name);
        find::user(clients, &inputs.location, inputs.access, name, located).await
    }

    fn bucket(settled: &KeySetup) -> Bucket<'_> {
        Bucket::of(
            &settled.inputs.location,
            settled.inputs.access,
            &settled.inputs.kms_keys,
        )
    }

    async fn gather(
        clients: &Clients,
        settled: &KeySetup,
        found: FoundUser,
    ) -> Result<(Caller, UserState), Error> {
        gather(clients, &settled.inputs, found).await
    }

    fn plan(settled: &KeySetup, facts: &Facts, state: &UserState) -> Result<UserPlan, Error> {
        plan::user(&settled.inputs, facts, state)
    }

    fn basis(facts: &Facts, state: &UserState) -> Basis {
        Basis::user(facts, state)
    }

    fn announced(plan: &UserPlan) -> (Vec<String>, Vec<String>) {
        let mut lines = plan.lines();
        // The one change outside IAM: an object under the directory, for a moment.
        if plan.probe == KeyProbe::Write {
            lines.extend(text::probe_line(plan));
        }
        super::announced(&plan.grant, Vec::new(), lines)
    }

    fn takes_away(plan: &UserPlan) -> bool {
        plan.grant.takes_away()
    }

    fn render(ctx: &Context, plan: &UserPlan) -> String {
        render_user_plan(ctx, plan)
    }

    async fn finish(
        &self,
        ctx: &Context,
        clients: &Clients,
        surveyed: Surveyed<Self>,
    ) -> Result<AccessKeyOutcome, Error> {
        finish(ctx, clients, surveyed, self.secret_file.clone()).await
    }
}

/// Makes the user, its policy and the key (undoing this run's creations if a step fails),
/// puts the secret where it goes, then reads back and checks what was made.
async fn finish(
    ctx: &Context,
    clients: &Clients,
    surveyed: Surveyed<KeyCommand>,
    secret_file: Option<PathBuf>,
) -> Result<AccessKeyOutcome, Error> {
    let Surveyed {
        settled: setup,
        facts,
        state,
        plan,
    } = surveyed;
    let KeySetup {
        inputs,
        tier,
        cluster_id,
    } = setup;
    let mut journal = Journal::default();
    let mut file = SecretFile::new(secret_file);
    ctx.stop.begin_changes();
    let applied = apply(clients, &plan, &mut journal, &mut file, ctx).await;
    let (key, versions) = match applied {
        Ok(made) => made,
        Err(err) => {
            file.discard();
            return Err(super::undo(ctx, clients, &mut journal, err).await);
        }
    };
    let mut deleted_keys: Vec<String> =
        retired(&plan, true).map(|(_, id)| id.to_string()).collect();
    let as_key = clients.as_key(&key.id, key.secret.expose());
    let rotates = retired(&plan, false).next().is_some();
    let probe = plan.probe;
    let waits = rotates || probe != KeyProbe::Skip;
    // The read-back goes out beside the wait for the key: neither needs the other.
    let (verify, accepted) = tokio::join!(
        checked(clients, &plan, &inputs, &facts, &state, &versions),
        async {
            if waits {
                Some(accepted(ctx, &as_key).await)
            } else {
                None
            }
        }
    );
    deleted_keys.extend(retire(ctx, clients, &plan, matches!(accepted, Some(Ok(())))).await);
    let delete_command = delete_command(plan.user_name.as_str(), &key.id);
    let in_file = file.path.is_some();
    crate::verify::show_after_setup(ctx, &verify, inputs.access, true);
    let region = facts.bucket_region();
    let at = (&inputs.location, region.unwrap_or_else(|| clients.region()));
    let tried = probe::tried(ctx, clients, &as_key, at, probe, accepted).await;
    let next_command = crate::handoff::ticloud(
        tier,
        plan.grant.access,
        &inputs.location,
        crate::handoff::Credential::AccessKey { id: &key.id },
        cluster_id.as_ref(),
    );
    Ok(AccessKeyOutcome {
        access_key_id: key.id,
        secret_access_key: (!in_file).then_some(key.secret),
        secret_file: file.path.clone(),
        user_name: plan.user_name.clone(),
        user_arn: plan.user_arn.clone(),
        policy_arn: plan.policy_arn.clone(),
        delete_command,
        deleted_keys,
        probe: tried,
        probe_mode: probe,
        granted: Granted {
            verify,
            next_command,
            ..Granted::of(&plan.grant, tier, true, plan.lines())
        },
    })
}

/// The checks of what the run made: the user and its policy read back, the version written
/// known.
async fn checked(
    clients: &Clients,
    plan: &UserPlan,
    inputs: &UserInputs,
    facts: &Facts,
    state: &UserState,
    versions: &[(String, String)],
) -> crate::verify::Report {
    let written = versions
        .iter()
        .find(|(arn, _)| *arn == plan.policy_arn)
        .cloned()
        .or_else(|| {
            let p = state.policy.as_ref()?;
            Some((p.arn.clone(), p.default_version.clone()))
        });
    crate::verify::after_setup(
        clients,
        &crate::verify::Subject::user(plan.user_name.clone()),
        &crate::verify::Expectations {
            location: inputs.location.clone(),
            access: inputs.access,
            tidb_account: None,
            external_id: None,
            bucket_location: true,
        },
        super::written(&plan.grant, plan.user_arn.clone(), None),
        facts.bucket.clone(),
        crate::verify::Known::Expected(crate::verify::Expected {
            managed: written.into_iter().collect(),
            inline: Vec::new(),
        }),
    )
    .await
}

/// The command that deletes a key.
fn delete_command(user: &str, id: &str) -> String {
    format!("serverless-s3-setup access-key delete --user-name {user} --access-key-id {id} --yes")
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
    let who = Who::User(inputs.user_name.clone());
    let (policy, attached, keys) = tokio::join!(
        super::read_policy(clients, &arn),
        async {
            if exists {
                iam::attached(&clients.iam, &who).await
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

/// Who can read the `--secret-file`, as said beside its path: on Unix the file is made mode
/// 0600; elsewhere (Windows) it is made with what its folder gives, and the tool says so rather
/// than claim a mode it did not set.
#[cfg(unix)]
pub(crate) const SECRET_FILE_ACCESS: &str = "mode 0600: only you can read it";
#[cfg(not(unix))]
pub(crate) const SECRET_FILE_ACCESS: &str =
    "with its folder's permissions: no owner-only access was set, so keep it in a folder only you can read";

/// The `--secret-file`: created (empty, mode 0600 on Unix) before the key exists, so that a
/// file that cannot be created stops the run before there is a secret to lose.
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
    let made = async {
        // `--rotate` at IAM's two-key limit: the oldest key makes room first. It cannot be
        // undone, and was in the plan.
        for (user, id) in retired(plan, true) {
            iam::delete_access_key(&clients.iam, user, id).await?;
        }
        apply::execute(clients, &plan.grant.actions, journal, &ctx.stop).await
    }
    .await;
    // A stop asked for during the last request still undoes the run: the key is never shown.
    let written = made.and_then(|executed| {
        let key = executed.key.expect("an access-key plan makes a key");
        ctx.stop.check()?;
        file.write(&plan.user_name, &key)?;
        Ok((key, executed.versions))
    });
    let changes = plan.grant.actions.len();
    step.end(written, |_| counted(changes, "change", "changes"))
}

/// The keys `--rotate` deletes: before the new key (`first`), or after it.
fn retired(plan: &UserPlan, first: bool) -> impl Iterator<Item = (&str, &str)> {
    plan.grant.actions.iter().filter_map(move |a| match a {
        Action::DeleteAccessKey { user, id, first: f } if *f == first => {
            Some((user.as_str(), id.as_str()))
        }
        _ => None,
    })
}

/// Waits until AWS accepts the new key, with a line that says so.
async fn accepted(ctx: &Context, as_key: &Clients) -> Result<(), AwsError> {
    let step = ctx.ui.step("Waiting for AWS to accept the new key");
    step.end(as_key.accepts_key().await, |_| "accepted".into())
}

/// `--rotate`: once AWS accepts the new key, the user's older keys go. Until it does, they
/// stay, and the run says how to delete them; the new key is there either way. Returns the
/// keys deleted.
async fn retire(ctx: &Context, clients: &Clients, plan: &UserPlan, accepted: bool) -> Vec<String> {
    let older: Vec<(&str, &str)> = retired(plan, false).collect();
    if older.is_empty() {
        return Vec::new();
    }
    if !accepted {
        for (user, id) in &older {
            ctx.ui.warn(format!(
                "kept access key {id}: AWS did not accept the new key in time, so the older one stays; delete it later:\n  {}",
                delete_command(user, id)
            ));
        }
        return Vec::new();
    }
    let mut deleted = Vec::new();
    for (user, id) in older {
        match iam::delete_access_key(&clients.iam, user, id).await {
            Ok(()) => {
                ctx.ui.info(format!("deleted the older access key {id}"));
                deleted.push(id.to_string());
            }
            Err(e) => ctx.ui.warn(format!(
                "could not delete the older access key {id} ({e}); delete it with:\n  {}",
                delete_command(user, id)
            )),
        }
    }
    deleted
}

mod probe;
mod text;

use probe::ProbeResult;

use text::again;
pub(crate) use text::render_user_plan;
