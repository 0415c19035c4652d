//! `role`'s parts for a file of setups (`commands::set`): an entry planned with nobody to ask,
//! planned again from a saved plan, and applied, as `role --yes` would do each.

use crate::aws::Clients;
use crate::error::Error;
use crate::plan::saved::{Basis, RoleSetup};
use crate::plan::RolePlan;
use crate::requests::RoleRequest;
use crate::Context;

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
    let mut command = RoleCommand {
        given_timeout: req.timeout,
    };
    super::super::setup::plan_unasked(ctx, &mut command, req, clients).await
}

/// Applies a setup [`plan_unasked`] planned, as `role` would after its confirmation.
pub(crate) async fn apply_planned(
    ctx: &Context,
    clients: &Clients,
    surveyed: RoleSurveyed,
) -> Result<RoleOutcome, Error> {
    let command = RoleCommand {
        given_timeout: None,
    };
    command.finish(ctx, clients, surveyed).await
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
