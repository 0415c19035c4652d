//! The one skeleton every setup command runs, written once: connect; fill in the request
//! (asked at a terminal, found in AWS); survey what exists; plan; then save the plan
//! (`--plan-out`), show it (`--dry-run`), or confirm it and hand it to the command's `finish`
//! (apply with undo, read back, report). `--plan FILE` runs the same skeleton from a saved plan,
//! refused when it is stale. A command supplies only its own parts, as a [`SetupCommand`].

use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::aws::Clients;
use crate::error::Error;
use crate::facts::{Caller, Facts, Located};
use crate::plan::saved::{Basis, Saved};
use crate::prompt::Prompter;
use crate::requests::SavedPlan;
use crate::{wizard, Context};

use super::{Bucket, Report, SavedTo};

/// What a setup command is made of besides the skeleton: what to gather, how to plan, how to
/// apply, and what it reports. `drive` runs it.
pub(crate) trait SetupCommand {
    /// Its name on the command line, which a saved plan records.
    const COMMAND: &'static str;
    /// The request as given (flags, or the wizard's first answers).
    type Request;
    /// The request settled: every name, the location, the access. A saved plan holds it.
    type Settled: Serialize + DeserializeOwned;
    /// What the first round found: the caller, and the role or user the run is for.
    type Found;
    /// What exists now, as the command's gather reads it.
    type State: Default;
    type Plan: Serialize + DeserializeOwned;
    type Outcome;

    /// `--plan-out` or `--plan`, as the request gives them.
    fn saved(req: &Self::Request) -> &SavedPlan;

    /// Refuses what the flags alone show wrong, and names every missing flag when nothing can
    /// be asked; before any request.
    fn check(ctx: &Context, req: &Self::Request) -> Result<(), Error>;

    /// Fills the request's gaps (asking, or finding in AWS what serves the location), and keeps
    /// the command that goes on from the answers.
    async fn fill(
        &mut self,
        ctx: &Context,
        req: Self::Request,
        prompter: &mut dyn Prompter,
        clients: Option<&Clients>,
    ) -> Result<(Self::Settled, Located, Option<Self::Found>), Error>;

    /// The clients this setup runs with, when they are not the run's own: a stack's setup made
    /// where no region is configured goes to the region it settled on.
    fn moved(_settled: &Self::Settled, _clients: &Clients) -> Option<Clients> {
        None
    }

    /// The first round for a saved plan, whose names are settled.
    async fn find(
        clients: &Clients,
        settled: &Self::Settled,
        located: &mut Located,
    ) -> Result<Self::Found, Error>;

    /// The bucket to read beside the state: where, which way, and the KMS keys given.
    fn bucket(settled: &Self::Settled) -> Bucket<'_>;

    /// Reads what exists beyond what the first round found.
    async fn gather(
        clients: &Clients,
        settled: &Self::Settled,
        found: Self::Found,
    ) -> Result<(Caller, Self::State), Error>;

    fn plan(
        settled: &Self::Settled,
        facts: &Facts,
        state: &Self::State,
    ) -> Result<Self::Plan, Error>;

    /// A check of the plan that needs AWS (an account quota), before anything is shown.
    async fn check_plan(_clients: Option<&Clients>, _plan: &Self::Plan) -> Result<(), Error> {
        Ok(())
    }

    /// What the plan was made from, for a saved plan.
    fn basis(facts: &Facts, state: &Self::State) -> Basis;

    /// What is said before the survey (a risk the request takes).
    fn warn(_ctx: &Context, _settled: &Self::Settled) {}

    /// The plan's warnings, and one line per change, for a run that is not asked.
    fn announced(plan: &Self::Plan) -> (Vec<String>, Vec<String>);

    /// Whether the plan takes something away: then Enter alone never goes ahead.
    fn takes_away(plan: &Self::Plan) -> bool;

    /// The plan, for a person to confirm.
    fn render(ctx: &Context, plan: &Self::Plan) -> String;

    /// The region to pin in the command that applies a saved plan.
    fn region(_facts: &Facts) -> Option<&str> {
        None
    }

    /// Applies the plan (undoing this run's creations if a step fails), reads back what was
    /// made, and reports it.
    async fn finish(
        &self,
        ctx: &Context,
        clients: &Clients,
        surveyed: Surveyed<Self>,
    ) -> Result<Self::Outcome, Error>;
}

/// A planned setup, with what its plan was made from.
pub(crate) struct Surveyed<S: SetupCommand + ?Sized> {
    pub(crate) settled: S::Settled,
    pub(crate) facts: Facts,
    pub(crate) state: S::State,
    pub(crate) plan: S::Plan,
}

/// Runs a setup command end to end.
pub(crate) async fn drive<S: SetupCommand>(
    ctx: &Context,
    mut command: S,
    req: S::Request,
    prompter: &mut dyn Prompter,
) -> Result<Report<S::Plan, S::Outcome>, Error> {
    let plan_out = match S::saved(&req) {
        SavedPlan::Apply(file) => {
            let file = file.clone();
            return drive_saved(ctx, &command, &file).await;
        }
        SavedPlan::Write(file) => Some(file.clone()),
        SavedPlan::None => None,
    };
    S::check(ctx, &req)?;
    // A saved plan is checked against what AWS holds when it is applied: it needs AWS now.
    let clients = match plan_out {
        Some(_) => Some(Clients::connect(&ctx.conn, &ctx.ui).await?),
        None => super::connect_or_plan_offline(ctx).await?,
    };
    let (settled, mut located, mut found) =
        command.fill(ctx, req, prompter, clients.as_ref()).await?;
    S::warn(ctx, &settled);
    // What was found in the run's region is found again where the setup goes.
    let clients = match clients.as_ref().and_then(|c| S::moved(&settled, c)) {
        Some(moved) => {
            found = Some(S::find(&moved, &settled, &mut located).await?);
            Some(moved)
        }
        None => clients,
    };
    let surveyed = survey::<S>(ctx, clients.as_ref(), settled, located, found).await?;
    let plan = &surveyed.plan;
    S::check_plan(clients.as_ref(), plan).await?;
    if let Some(file) = plan_out {
        return save(ctx, file, surveyed);
    }
    let Some(clients) = clients.filter(|_| !ctx.dry_run) else {
        return Ok(Report::dry_run(surveyed.plan));
    };
    let (warnings, actions) = S::announced(plan);
    wizard::present_plan(
        ctx,
        prompter,
        &warnings,
        actions,
        S::takes_away(plan),
        || S::render(ctx, plan),
    )?;
    done(command.finish(ctx, &clients, surveyed).await)
}

/// The skeleton's first half for a setup that nobody is asked about (an entry of a file):
/// check, fill without a question, survey and plan, against AWS.
pub(crate) async fn plan_unasked<S: SetupCommand>(
    ctx: &Context,
    command: &mut S,
    req: S::Request,
    clients: &Clients,
) -> Result<Surveyed<S>, Error> {
    S::check(ctx, &req)?;
    let mut unasked = crate::prompt::NoPrompts;
    let (settled, mut located, mut found) =
        command.fill(ctx, req, &mut unasked, Some(clients)).await?;
    let moved = S::moved(&settled, clients);
    if let Some(moved) = &moved {
        found = Some(S::find(moved, &settled, &mut located).await?);
    }
    let clients = moved.as_ref().unwrap_or(clients);
    let surveyed = survey::<S>(ctx, Some(clients), settled, located, found).await?;
    S::check_plan(Some(clients), &surveyed.plan).await?;
    Ok(surveyed)
}

/// A saved setup planned again from its settled request, to hold against the saved plan.
pub(crate) async fn plan_settled<S: SetupCommand>(
    ctx: &Context,
    clients: &Clients,
    settled: S::Settled,
) -> Result<(Surveyed<S>, Basis), Error> {
    let moved = S::moved(&settled, clients);
    let surveyed = resurvey::<S>(ctx, moved.as_ref().unwrap_or(clients), settled).await?;
    let basis = S::basis(&surveyed.facts, &surveyed.state);
    Ok((surveyed, basis))
}

/// A settled request surveyed and planned again, on `clients` where the setup goes: what it
/// names is found afresh, as nothing was found before.
async fn resurvey<S: SetupCommand>(
    ctx: &Context,
    clients: &Clients,
    settled: S::Settled,
) -> Result<Surveyed<S>, Error> {
    let mut located = Located::default();
    let found = S::find(clients, &settled, &mut located).await?;
    survey::<S>(ctx, Some(clients), settled, located, Some(found)).await
}

/// `--plan FILE`: the saved plan, applied as it is once AWS is found as the plan found it and
/// the same request plans the same now (Terraform's rule for a saved plan). Nothing is asked:
/// the plan was what was reviewed.
async fn drive_saved<S: SetupCommand>(
    ctx: &Context,
    command: &S,
    file: &Path,
) -> Result<Report<S::Plan, S::Outcome>, Error> {
    let saved: Saved<S::Settled, S::Plan> = super::saved::read(file, S::COMMAND)?;
    let settled = saved.setup;
    let clients = Clients::connect(&ctx.conn, &ctx.ui).await?;
    let clients = S::moved(&settled, &clients).unwrap_or(clients);
    let now = resurvey::<S>(ctx, &clients, settled).await?;
    super::saved::check_current(
        file,
        (&saved.basis, &saved.plan),
        (&S::basis(&now.facts, &now.state), &now.plan),
    )?;
    if ctx.dry_run {
        return Ok(Report::dry_run(saved.plan));
    }
    let (warnings, actions) = S::announced(&saved.plan);
    wizard::announce(ctx, &warnings, actions);
    // The saved plan is what is applied, on what AWS holds now (found as it was found then).
    let surveyed = Surveyed {
        plan: saved.plan,
        ..now
    };
    done(command.finish(ctx, &clients, surveyed).await)
}

/// What a run that applied its plan reports.
fn done<P, O>(outcome: Result<O, Error>) -> Result<Report<P, O>, Error> {
    Ok(Report::Done(Box::new(outcome?)))
}

/// The bucket, read beside the command's own gather of what exists, and the plan made from both.
async fn survey<S: SetupCommand>(
    ctx: &Context,
    clients: Option<&Clients>,
    settled: S::Settled,
    located: Located,
    found: Option<S::Found>,
) -> Result<Surveyed<S>, Error> {
    let bucket = Bucket {
        located,
        ..S::bucket(&settled)
    };
    let (facts, state) = super::survey(ctx, clients, bucket, |c| {
        S::gather(c, &settled, found.expect("found with clients"))
    })
    .await?;
    let plan = S::plan(&settled, &facts, &state)?;
    Ok(Surveyed {
        settled,
        facts,
        state,
        plan,
    })
}

/// `--plan-out FILE`: the plan, written with what it was made from; nothing changes.
fn save<S: SetupCommand>(
    ctx: &Context,
    file: PathBuf,
    surveyed: Surveyed<S>,
) -> Result<Report<S::Plan, S::Outcome>, Error> {
    let Surveyed {
        settled,
        facts,
        state,
        plan,
    } = surveyed;
    let basis = S::basis(&facts, &state);
    super::saved::write(&file, S::COMMAND, settled, basis, &plan)?;
    let apply_command = super::saved::apply_line(ctx, S::COMMAND, &file, S::region(&facts));
    let saved = SavedTo {
        plan_file: file,
        apply_command,
    };
    Ok(Report::saved(plan, saved))
}
