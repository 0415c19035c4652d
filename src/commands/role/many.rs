//! `role`'s parts for a file of setups (`commands::set`): an entry planned with nobody to ask,
//! planned again from a saved plan, and applied, as `role --yes` would do each.

use crate::aws::iam::Details;
use crate::aws::Clients;
use crate::error::Error;
use crate::plan::saved::{Basis, RoleSetup};
use crate::plan::RolePlan;
use crate::requests::RoleRequest;
use crate::{verify, Context};

use super::super::setup::{SetupCommand, Surveyed};
use super::{RoleCommand, RoleOutcome};

/// One role's setup, planned, ready to apply: an entry of a file.
pub(crate) type RoleSurveyed = Surveyed<RoleCommand>;

/// Plans one role's setup with nobody to ask (an entry of a file): as `role --yes` would.
pub(crate) async fn plan_unasked(
    ctx: &Context,
    req: RoleRequest,
    clients: &Clients,
) -> Result<RoleSurveyed, Error> {
    // A file's entries are applied together; each one's result says when it is ready.
    let mut command = RoleCommand {
        given_timeout: req.timeout,
        wait_ready: false,
    };
    super::super::setup::plan_unasked(ctx, &mut command, req, clients).await
}

/// Applies a setup [`plan_unasked`] planned, as `role` would after its confirmation; the
/// checks of what it made are left to [`checked`], so that a run of many setups reads the
/// account once for them all.
pub(crate) async fn apply_planned(
    ctx: &Context,
    clients: &Clients,
    surveyed: RoleSurveyed,
) -> Result<(RoleOutcome, verify::ReadBack), Error> {
    let moved = RoleCommand::moved(&surveyed.settled, clients);
    let clients = moved.as_ref().unwrap_or(clients);
    super::applied(ctx, clients, surveyed, crate::apply::wait::DEFAULT_TIMEOUT).await
}

/// The outcome with the checks of what the setup made: judged on `details` (the account read
/// after the setups were applied) where they show it, else read back from IAM.
pub(crate) async fn checked(
    ctx: &Context,
    clients: &Clients,
    mut outcome: RoleOutcome,
    read_back: verify::ReadBack,
    details: Option<&Details>,
) -> RoleOutcome {
    outcome.granted.verify = read_back.check(clients, details).await;
    super::told(ctx, &outcome);
    outcome
}

/// A saved entry planned again from its settled request, with what the plan is made from.
pub(crate) async fn plan_settled(
    ctx: &Context,
    clients: &Clients,
    settled: RoleSetup,
) -> Result<(RoleSurveyed, Basis), Error> {
    super::super::setup::plan_settled::<RoleCommand>(ctx, clients, settled).await
}

/// What a planned setup's plan was made from, for a saved plan.
pub(crate) fn basis(surveyed: &RoleSurveyed) -> Basis {
    RoleCommand::basis(&surveyed.facts, &surveyed.state)
}

/// Whether the plan makes the role (or its stack) rather than changing one that exists.
pub(crate) fn creates(surveyed: &RoleSurveyed) -> bool {
    let state = &surveyed.state.state;
    state.role.is_none() && state.stack.is_none()
}

/// Whether the plan takes something away: then Enter alone never goes ahead.
pub(crate) fn takes_away(plan: &RolePlan) -> bool {
    RoleCommand::takes_away(plan)
}

/// The plan's warnings, and one line per change.
pub(crate) fn plan_lines(plan: &RolePlan) -> (Vec<String>, Vec<String>) {
    RoleCommand::announced(plan)
}
