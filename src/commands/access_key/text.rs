//! What `access-key` prints for people: the plan, the key (once), the next steps and the CI
//! command.

use std::path::Path;

use crate::inputs::folder_uri;
use crate::inputs::{defaults, Access, KmsKeyArn, PolicyName, Tier, UserName};
use crate::output::{render_policy_plan, shell_word, Render};
use crate::plan::{UserInputs, UserPlan};
use crate::requests::KeyProbe;
use crate::Context;

use super::super::Repeat;
use super::{AccessKeyOutcome, AccessKeyReport};

pub(crate) fn render_user_plan(ctx: &Context, plan: &UserPlan) -> String {
    let actions = plan.lines();
    let mut summary = vec![
        format!(
            "give an IAM user {} access to {}",
            plan.grant.access.in_words(),
            folder_uri(&plan.grant.bucket, &plan.grant.prefix)
        ),
        format!("user:   {} ({})", plan.user_name, plan.user_arn),
        format!("policy: {} ({})", plan.grant.policy_name, plan.policy_arn),
    ];
    summary.extend(crate::output::guardrail_lines(&plan.grant.guardrails));
    summary.extend(probe_line(plan).map(|line| format!("probe:  {line}")));
    summary.extend(crate::output::revision_lines(
        &ctx.ui,
        &plan.grant.revisions,
    ));
    render_policy_plan(
        &ctx.ui,
        &plan.grant,
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

/// How the new key is tried on S3 once AWS accepts it, as the plan says it; nothing for
/// `--no-probe`.
pub(super) fn probe_line(plan: &UserPlan) -> Option<String> {
    let at = folder_uri(&plan.grant.bucket, &plan.grant.prefix);
    match plan.probe {
        KeyProbe::Skip => None,
        KeyProbe::List => Some(format!(
            "the new key lists {at} as itself once AWS accepts it (changes nothing)"
        )),
        KeyProbe::Write => Some(format!(
            "the new key lists {at} and writes a zero-byte object there as itself once AWS accepts it; your credentials delete the object again (--probe-write)"
        )),
    }
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
            "the key was written to {} ({}); AWS shows a secret only once, so keep that file until the key is pasted",
            path.display(),
            super::SECRET_FILE_ACCESS
        )),
        None => ctx.ui.warn(
            "the Secret Access Key above is shown only this once and can never be recovered; paste or store it now",
        ),
    }
}

/// stderr: where to paste the key, and how to delete it afterwards.
fn next_steps(ctx: &Context, report: &AccessKeyReport) {
    super::super::tell_saved(ctx, report);
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
        // The secret is taken into the variable from where it is, never typed on a command
        // line (where the shell's history would keep it).
        let variable = crate::handoff::SECRET_VARIABLE;
        let secret_in = match &o.secret_file {
            Some(path) => format!(
                "`{variable}=$(jq -r .secret_access_key {})`",
                shell_word(&path.display().to_string())
            ),
            None => format!("`read -rs {variable}` and pasting the secret"),
        };
        ctx.ui.info(format!(
            "Or with the TiDB Cloud CLI, after {secret_in}:\n  {}",
            o.granted.next_command.join("\n  ")
        ));
    }
    ctx.ui.info(format!(
        "TiDB Cloud does not store the key. When the import or export is done, delete it:\n  {}",
        o.delete_command
    ));
    if ctx.can_prompt {
        ctx.ui.info(format!(
            "To repeat this setup in CI, without questions (a new key each run, the one before deleted once it works):\n  {}",
            ci_command(ctx, o)
        ));
    }
}

/// The flags that repeat this setup without a question: for CI. No secret is in it, and the
/// secret it makes goes to a file: in CI, stdout is a log.
pub(crate) fn ci_command(ctx: &Context, o: &AccessKeyOutcome) -> String {
    let g = &o.granted;
    let uri = folder_uri(&g.bucket, &g.prefix);
    let mut line = repeat(
        &o.user_name,
        uri.clone(),
        g.access,
        &g.policy_name,
        g.tier,
        &g.pinned_kms_keys,
        g.guardrails.flags(),
    );
    // The names a rerun derives again by itself are left out.
    let default_user = uri
        .parse()
        .ok()
        .map(|location| defaults::user_name(&location, g.access));
    if default_user.as_ref() == Some(&o.user_name) {
        line.before.clear();
    }
    if g.policy_name == defaults::policy_name(o.user_name.as_str()) {
        line.policy_name = None;
    }
    let file = o.secret_file.as_deref().map_or_else(
        || CI_SECRET_FILE.to_string(),
        |path| path.display().to_string(),
    );
    line.after.extend(["--secret-file".into(), file]);
    line.after.extend(probe_flag(o.probe_mode));
    // Each run makes a key: the one before goes once the new one works, so IAM's two-key
    // limit is never reached.
    line.after.push("--rotate".into());
    line.line(ctx)
}

/// Where the CI command puts the secret, when this run printed it.
const CI_SECRET_FILE: &str = "tidb-access-key.json";

/// The command that goes on from the answers of a run that stopped.
pub(super) fn again(
    ctx: &Context,
    inputs: &UserInputs,
    tier: Tier,
    secret_file: Option<&Path>,
) -> String {
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
    line.after.extend(probe_flag(inputs.probe));
    if inputs.rotate {
        line.after.push("--rotate".into());
    }
    line.line(ctx)
}

/// The flag that asks for this way of trying the key; none for the default.
fn probe_flag(probe: KeyProbe) -> Option<String> {
    match probe {
        KeyProbe::Skip => Some("--no-probe".into()),
        KeyProbe::List => None,
        KeyProbe::Write => Some("--probe-write".into()),
    }
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
        policy_name: Some(policy_name),
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
