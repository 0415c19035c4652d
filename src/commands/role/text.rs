//! What `role` prints for people: the result, the CI command and the next steps.

use std::io::IsTerminal;

use crate::inputs::Tier;
use crate::output::{render_role_plan, Render};
use crate::plan::Method;
use crate::Context;

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

/// The flags that repeat this setup without a question: for CI. No secret is in it.
pub fn ci_command(ctx: &Context, o: &RoleOutcome) -> String {
    let uri = crate::output::uri(&o.granted.bucket, &o.granted.prefix);
    let mut words: Vec<String> = [
        "serverless-s3-setup",
        "role",
        "--method",
        match o.method {
            Method::Iam => "iam",
            Method::Cloudformation => "cloudformation",
        },
        "--uri",
        &uri,
        "--access",
        o.granted.access.as_str(),
        "--tidb-account-id",
        o.tidb_account_id.as_str(),
    ]
    .map(str::to_string)
    .to_vec();
    match &o.external_id {
        Some(id) => words.extend(["--external-id".into(), id.to_string()]),
        None => words.push("--no-external-id".into()),
    }
    // Dedicated's extra permission (s3:GetBucketLocation) must survive a rerun in CI.
    if o.granted.tier != Tier::default() {
        words.extend(["--tier".into(), o.granted.tier.to_string()]);
    }
    words.extend(["--role-name".into(), o.role_name.to_string()]);
    words.extend(["--policy-name".into(), o.granted.policy_name.to_string()]);
    if let Some(stack) = &o.stack_name {
        words.extend(["--stack-name".into(), stack.to_string()]);
    }
    // Every key granted, so that a rerun keeps extra keys given by hand (the bucket's own key
    // would be found again anyway).
    for key in &o.granted.kms_keys {
        words.extend(["--kms-key".into(), key.to_string()]);
    }
    // The guardrails too, so that a rerun in CI keeps the role within them.
    words.extend(o.granted.guardrails.flags());
    // The stack's region is pinned, so that CI finds the stack wherever its AWS_REGION points.
    words.extend(crate::output::connection_flags(
        &ctx.conn,
        o.stack_region.as_deref(),
    ));
    words.push("--yes".into());
    crate::output::command_line(words.iter().map(String::as_str))
}

/// Where to paste the result, on stderr.
fn next_steps(ctx: &Context, report: &RoleReport) {
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
