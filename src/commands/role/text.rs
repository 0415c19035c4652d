//! What `role` prints for people: the result, the CI command and the next steps.

use std::io::IsTerminal;

use crate::inputs::{defaults, StackName, Tier, Timeout};
use crate::output::{render_role_plan, Render};
use crate::plan::{Method, RoleInputs};
use crate::Context;

use super::super::Repeat;
use super::{RoleOutcome, RoleReport};

/// The text form: the Role ARN alone, for `ARN=$(serverless-s3-setup role …)`.
impl Render for RoleReport {
    fn text(&self, ctx: &Context) -> String {
        match self {
            RoleReport::Plan { plan, .. } => render_role_plan(&ctx.ui, plan),
            RoleReport::Done(outcome) => outcome.role_arn.clone(),
        }
    }

    fn next_steps(&self, ctx: &Context) {
        next_steps(ctx, self);
    }
}

/// The flags that repeat this setup without a question: for CI. No secret is in it, and no
/// default that a rerun picks again by itself (the names derived from the location, the
/// bucket's own key): only what was chosen, and what must be pinned (a stack's region).
pub(crate) fn ci_command(ctx: &Context, o: &RoleOutcome) -> String {
    let g = &o.granted;
    let uri = crate::inputs::folder_uri(&g.bucket, &g.prefix);
    let mut before = vec!["--tidb-account-id".into(), o.tidb_account_id.to_string()];
    match &o.external_id {
        Some(id) => before.extend(["--external-id".into(), id.to_string()]),
        None => before.push("--no-external-id".into()),
    }
    // Dedicated's extra permission (s3:GetBucketLocation) must survive a rerun in CI.
    before.extend(tier(g.tier));
    let default_name = uri
        .parse()
        .ok()
        .map(|location| defaults::role_name(&location, g.access));
    if default_name.as_ref() != Some(&o.role_name) {
        before.extend(["--role-name".into(), o.role_name.to_string()]);
    }
    let policy_name =
        (g.policy_name != defaults::policy_name(o.role_name.as_str())).then_some(&g.policy_name);
    let stack_name = o
        .stack_name
        .as_ref()
        .filter(|s| **s != defaults::stack_name(&o.role_name));
    Repeat {
        command: command(o.method),
        uri,
        access: g.access,
        before,
        policy_name,
        after: stack(stack_name),
        kms_keys: &g.pinned_kms_keys,
        guardrails: g.guardrails.flags(),
        // The stack's region is pinned, so that CI finds the stack wherever its AWS_REGION
        // points.
        region: o.stack_region.as_deref(),
    }
    .line(ctx)
}

/// The command that goes on from the answers of a run that stopped: every choice as given or
/// answered, the external-ID changes and the stack's `--timeout` included.
pub(crate) fn again(
    ctx: &Context,
    method: Method,
    inputs: &RoleInputs,
    timeout: Option<Timeout>,
) -> String {
    let mut before = vec!["--tidb-account-id".into(), inputs.tidb_account.to_string()];
    if let Some(id) = &inputs.external_id {
        before.extend(["--external-id".into(), id.to_string()]);
    }
    if inputs.no_external_id {
        before.push("--no-external-id".into());
    }
    if inputs.replace_external_ids {
        before.push("--replace-external-ids".into());
    }
    for id in &inputs.remove_external_ids {
        before.extend(["--remove-external-id".into(), id.to_string()]);
    }
    before.extend(tier(inputs.tier));
    before.extend(["--role-name".into(), inputs.role_name.to_string()]);
    Repeat {
        command: command(method),
        uri: inputs.location.to_string(),
        access: inputs.access,
        before,
        policy_name: Some(&inputs.policy_name),
        after: [
            stack(inputs.stack_name.as_ref()),
            timeout
                .filter(|_| inputs.stack_name.is_some())
                .map(|t| vec!["--timeout".into(), t.to_string()])
                .unwrap_or_default(),
            inputs
                .remove_kms_keys
                .iter()
                .flat_map(|k| ["--remove-kms-key".to_string(), k.to_string()])
                .collect(),
        ]
        .concat(),
        kms_keys: &inputs.kms_keys,
        guardrails: inputs.guardrails.flags(),
        region: None,
    }
    .line(ctx)
}

fn command(method: Method) -> Vec<String> {
    let method = match method {
        Method::Iam => "iam",
        Method::Cloudformation => "cloudformation",
    };
    vec!["role".into(), "--method".into(), method.into()]
}

fn tier(tier: Tier) -> Vec<String> {
    if tier == Tier::default() {
        Vec::new()
    } else {
        vec!["--tier".into(), tier.to_string()]
    }
}

fn stack(name: Option<&StackName>) -> Vec<String> {
    name.map(|n| vec!["--stack-name".into(), n.to_string()])
        .unwrap_or_default()
}

/// Where to paste the result, on stderr.
fn next_steps(ctx: &Context, report: &RoleReport) {
    super::super::tell_saved(ctx, report);
    let RoleReport::Done(outcome) = report else {
        return;
    };
    let console = crate::handoff::console(
        outcome.granted.tier,
        outcome.granted.access,
        crate::handoff::Credential::RoleArn(&outcome.role_arn),
    );
    // The ARN is the result, on stdout. When stdout is the screen it is right above; when it is
    // captured (`ARN=$(…)`), the person at the terminal sees it here instead: once either way.
    if std::io::stdout().is_terminal() {
        ctx.ui
            .info(format!("\nNext: {console} (the Role ARN above)."))
    } else {
        ctx.ui.info(format!(
            "\n{} {}\nNext: {console}.",
            ctx.ui.bold("Role ARN:"),
            outcome.role_arn
        ))
    }
    // A stack is regional: said with its region, as the JSON says it, since a later run
    // finds it only there.
    if let (Some(stack), Some(region)) = (&outcome.stack_name, &outcome.stack_region) {
        ctx.ui
            .info(format!("The role is held by stack {stack} in {region}."));
    }
    // IAM's control plane carries a change to every region's data plane after a delay
    // ("Resilience in AWS IAM", IAM User Guide).
    let advice = super::ready::Written::Role.advice(
        outcome.written_at.as_deref(),
        outcome.ready_at.as_deref(),
        outcome.waited,
    );
    if let Some(advice) = advice {
        ctx.ui.info(advice);
    }
    if !outcome.granted.next_command.is_empty() {
        ctx.ui.info(format!(
            "Or with the TiDB Cloud CLI:\n  {}",
            outcome.granted.next_command.join("\n  ")
        ));
    }
    if ctx.can_prompt {
        ctx.ui.info(format!(
            "To repeat this setup in CI, without questions:\n  {}",
            ci_command(ctx, outcome)
        ));
    }
}
