//! One question each, and the plan's confirmation: every question stands for a flag.

use crate::error::Error;
use crate::inputs::{Access, Invalid, S3Location, Tier};
use crate::prompt::Prompter;
use crate::Context;

use super::Choice;

/// Import, export or both. Import comes first and is the default: write access is chosen,
/// never fallen into.
pub(crate) fn ask_access(prompter: &mut dyn Prompter, default: Access) -> Result<Access, Error> {
    let items = [
        "import: TiDB Cloud reads from S3",
        "export: TiDB Cloud writes to S3",
        "import and export (both)",
    ];
    let at = match default {
        Access::Import => 0,
        Access::Export => 1,
        Access::Both => 2,
    };
    let access = match prompter.select("What will TiDB Cloud do with the bucket?", &items, at)? {
        1 => Access::Export,
        2 => Access::Both,
        _ => Access::Import,
    };
    crate::signals::answered("--access", access);
    Ok(access)
}

/// The TiDB Cloud tier, asked where it changes the policy (an import).
pub(crate) fn ask_tier(prompter: &mut dyn Prompter, default: Option<Tier>) -> Result<Tier, Error> {
    let items = [
        "TiDB Cloud Starter, Essential or Premium",
        "TiDB Cloud Dedicated (also reads the bucket's location)",
    ];
    let at = usize::from(default == Some(Tier::Dedicated));
    let tier = match prompter.select("Which TiDB Cloud tier imports the data?", &items, at)? {
        1 => Tier::Dedicated,
        _ => Tier::Starter,
    };
    crate::signals::answered("--tier", tier);
    Ok(tier)
}

/// The File URI (import) or Folder URI (export), with the flag's own validator.
pub(crate) fn ask_location(
    prompter: &mut dyn Prompter,
    previous: Option<&S3Location>,
) -> Result<S3Location, Error> {
    let previous = previous.map(S3Location::given);
    loop {
        // Prompts stay short, with the detail on a line of its own, so that nothing wraps and
        // breaks the prompt's redraw at a narrow terminal.
        prompter.note("The File URI (import) or Folder URI (export), e.g. s3://my-bucket/data/");
        let location: S3Location = ask(prompter, "S3 URI", previous.as_deref())?;
        // A bucket alone grants every object in it: said, and never taken on Enter alone.
        if !location.is_whole_bucket() {
            crate::signals::answered("--uri", &location);
            return Ok(location);
        }
        prompter.note(&format!(
            "{location} names no folder: TiDB Cloud would get access to every object in the bucket."
        ));
        // Esc counts as No: the URI is asked again.
        match prompter.confirm("Grant the whole bucket?", false) {
            Ok(true) => {
                crate::signals::answered("--uri", &location);
                return Ok(location);
            }
            Ok(false) => {}
            Err(Error::Back) => prompter.again(),
            Err(e) => return Err(e),
        }
    }
}

/// CloudFormation role (with `with_stack`), IAM role, or (with `with_key`) an access key;
/// `default` (the answer before) is where the choice starts.
pub(crate) fn ask_method(
    prompter: &mut dyn Prompter,
    with_key: bool,
    with_stack: bool,
    default: Option<Choice>,
) -> Result<Choice, Error> {
    let mut choices = Vec::new();
    if with_stack {
        choices.push((
            Choice::Cloudformation,
            "Role ARN, by a CloudFormation stack (recommended)",
        ));
    }
    choices.push((Choice::Iam, "Role ARN, by IAM directly"));
    if with_key {
        choices.push((Choice::AccessKey, "Access key of an IAM user"));
        prompter.note("A Role ARN needs the cluster on AWS; an access key works wherever it runs.");
    }
    let items: Vec<&str> = choices.iter().map(|(_, text)| *text).collect();
    let at = choices
        .iter()
        .position(|(choice, _)| Some(*choice) == default)
        .unwrap_or(0);
    let picked = prompter.select("How should TiDB Cloud get in?", &items, at)?;
    Ok(choices
        .get(picked)
        .map_or(choices[0].0, |(choice, _)| *choice))
}

/// Asks until the answer parses, re-asking with the parser's own message on a bad answer.
pub(crate) fn ask<T>(
    prompter: &mut dyn Prompter,
    prompt: &str,
    default: Option<&str>,
) -> Result<T, Error>
where
    T: std::str::FromStr<Err = Invalid>,
{
    let text = prompter.input(prompt, default, &|s| {
        s.parse::<T>().map(|_| ()).map_err(|e| e.0)
    })?;
    text.parse::<T>()
        .map_err(|e| Error::invalid(prompt.to_string(), e))
}

/// Before changes: the plan's warnings, then the plan and Proceed? at a terminal, or one line
/// per change otherwise (with `--yes`).
/// `revokes`: the plan takes access away from someone, so Proceed? defaults to No.
pub(crate) fn present_plan(
    ctx: &Context,
    prompter: &mut dyn Prompter,
    warnings: &[String],
    actions: Vec<String>,
    revokes: bool,
    render: impl FnOnce() -> String,
) -> Result<(), Error> {
    if ctx.can_prompt && !ctx.yes && !actions.is_empty() {
        for warning in warnings {
            ctx.ui.warn(warning);
        }
        return confirm_plan(prompter, &ctx.ui.fit(&render()), !revokes);
    }
    announce(ctx, warnings, actions);
    Ok(())
}

/// A plan that is not asked about (`--yes`, or a saved plan): its warnings, then a `plan:`
/// line per change.
pub(crate) fn announce(ctx: &Context, warnings: &[String], actions: Vec<String>) {
    for warning in warnings {
        ctx.ui.warn(warning);
    }
    for action in actions {
        ctx.ui.info(format!("plan: {action}"));
    }
}

/// Shows the plan and asks; "no" cancels with nothing changed. `default_yes` is off when the
/// plan takes access away, so that Enter alone never does that.
pub(crate) fn confirm_plan(
    prompter: &mut dyn Prompter,
    plan: &str,
    default_yes: bool,
) -> Result<(), Error> {
    eprintln!("\n{plan}\n");
    // Esc at the plan is a No: nothing is changed.
    match prompter.confirm("Proceed?", default_yes) {
        Ok(true) => Ok(()),
        Ok(false) | Err(Error::Back) => Err(Error::Cancelled),
        Err(e) => Err(e),
    }
}

/// What a run without a terminal is about to do, for the `--yes` it then needs.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Intent {
    Apply,
    Delete,
    /// Plan only (`--plan-out`): nothing to confirm.
    Plan,
}

/// Without a terminal nothing can be asked: every missing flag is named at once, with `--yes`
/// when the run would change something unconfirmed. At a terminal the missing values are asked.
pub(crate) fn require_flags(
    ctx: &Context,
    mut missing: Vec<&str>,
    intent: Intent,
) -> Result<(), Error> {
    if ctx.can_prompt {
        return Ok(());
    }
    let confirm = match intent {
        Intent::Apply => {
            Some("--yes (to apply without a terminal to confirm on; or --dry-run to only plan)")
        }
        Intent::Delete => {
            Some("--yes (to delete without a terminal to confirm on; or --dry-run to only list)")
        }
        Intent::Plan => None,
    };
    if !ctx.yes && !ctx.dry_run {
        missing.extend(confirm);
    }
    if missing.is_empty() {
        Ok(())
    } else {
        Err(missing_error(ctx, &missing))
    }
}

/// Lists what will be deleted and asks (at a terminal, without `--yes`). `Ok(false)` under
/// `--dry-run`, whose outcome is the list; "no" cancels with nothing changed.
pub(crate) fn confirm_deletion(
    ctx: &Context,
    prompter: &mut dyn Prompter,
    steps: &[String],
) -> Result<bool, Error> {
    if ctx.dry_run {
        return Ok(false);
    }
    if !ctx.can_prompt || ctx.yes {
        return Ok(true);
    }
    ctx.ui
        .info(crate::output::deletion_plan(&ctx.ui, "Plan", steps));
    // Esc is a No, as at the plan.
    match prompter.confirm("Delete these?", false) {
        Ok(true) => Ok(true),
        Ok(false) | Err(Error::Back) => Err(Error::Cancelled),
        Err(e) => Err(e),
    }
}

/// The error for required inputs that cannot be asked for.
pub(crate) fn missing_error(ctx: &Context, flags: &[&str]) -> Error {
    Error::Missing {
        flags: flags.iter().map(|f| f.to_string()).collect(),
        hint: if ctx.no_input {
            String::new()
        } else {
            "\n  (stdin or stderr is not a terminal, so nothing can be asked; pass them as flags)"
                .into()
        },
    }
}
