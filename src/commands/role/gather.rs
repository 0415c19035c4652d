//! What a role's setup reads before it plans: the role and its policy, or its stack, and what
//! is beside the role, with independent requests in flight together.

use crate::aws::{cloudformation, iam, Clients};
use crate::error::{AwsError, Error};
use crate::facts::{Caller, RoleInfo, StackInfo};
use crate::find::FoundRole;
use crate::inputs::RoleName;
use crate::plan::{Method, RoleInputs, RoleState};
use crate::verify;

/// What the survey read: the state the plan is made from, and what was read beside the role
/// (its inline policies, boundary and other policies) for the checks of a run that changes
/// nothing.
#[derive(Default)]
pub(crate) struct Gathered {
    pub(super) state: RoleState,
    pub(super) beside: Option<verify::Beside>,
}

/// Reads the current role and policy, or stack, with independent requests in flight
/// together. The caller and the role were read already, when the role was looked for (the role
/// again if another name was chosen since). Beside the role, its inline policies, boundary and
/// attachments are read in the same round, so that a run that changes nothing needs no second
/// read for its checks.
pub(super) async fn gather(
    clients: &Clients,
    method: Method,
    inputs: &RoleInputs,
    found: FoundRole,
) -> Result<(Caller, Gathered), Error> {
    let role_name = inputs.role_name.as_str();
    let caller = found.caller;
    let role = if found.role.name == inputs.role_name {
        found.role.info
    } else {
        clients.role(role_name).await?
    };
    if method == Method::Cloudformation {
        let read = found.stack.filter(|_| found.role.name == inputs.role_name);
        return Ok((caller, gather_stack(clients, inputs, read, role).await?));
    }
    let arn = crate::commands::policy_arn(
        &caller,
        inputs.guardrails.path.as_ref(),
        role.as_ref().map(|r| r.arn.as_str()),
        &inputs.policy_name,
    );
    let (policy, attached, beside) = tokio::join!(
        crate::commands::read_policy(clients, &arn),
        attached(clients, &inputs.role_name, role.is_some()),
        beside(clients, &inputs.role_name, role.as_ref())
    );
    let (policy, policy_document) = policy?;
    let attached = attached?;
    let (arn, policy, policy_document) = crate::commands::kept_policy(
        clients,
        inputs.chosen.policy_name,
        &attached,
        (arn, policy, policy_document),
    )
    .await?;
    let beside = with_others(clients, beside?, &attached, &arn).await?;
    let state = RoleState {
        role,
        policy,
        policy_document,
        attached: attached.contains(&arn),
        stack: None,
        inline: None,
    };
    Ok((caller, Gathered { state, beside }))
}

/// [`gather`] for a stack: the stack (unless it was read already), the role's attachments and
/// what is beside the role, in one round.
async fn gather_stack(
    clients: &Clients,
    inputs: &RoleInputs,
    read: Option<Option<StackInfo>>,
    mut role: Option<RoleInfo>,
) -> Result<Gathered, Error> {
    let stack_name = inputs.stack_name.as_ref().expect("resolved").as_str();
    let (stack, attached, beside) = tokio::join!(
        async {
            match read {
                Some(stack) => Ok(stack),
                None => cloudformation::describe_stack(&clients.cfn, stack_name).await,
            }
        },
        attached(clients, &inputs.role_name, role.is_some()),
        beside(clients, &inputs.role_name, role.as_ref())
    );
    let (stack, attached) = (stack?, attached?);
    let beside = with_others(clients, beside?, &attached, "").await?;
    // A stack without its role may be one another run is making right now: the role is
    // read again, after the stack, so that "deleted" is not a race between reads.
    if let (Some(_), None) = (&stack, &role) {
        role = iam::get_role(&clients.iam, inputs.role_name.as_str()).await?;
    }
    // A rerun compares the live role with the template, its inline policy included.
    let inline = match (&beside, &stack) {
        (Some(beside), Some(_)) => Some(beside.inline.clone()),
        _ => None,
    };
    let state = RoleState {
        role,
        stack,
        inline,
        ..RoleState::default()
    };
    Ok(Gathered { state, beside })
}

/// The managed policies attached to the role; none when there is no role.
async fn attached(
    clients: &Clients,
    name: &RoleName,
    exists: bool,
) -> Result<Vec<String>, AwsError> {
    if exists {
        clients.role_attached(name).await
    } else {
        Ok(Vec::new())
    }
}

/// What is read beside the role (see [`verify::Beside`]); nothing when there is no role.
async fn beside(
    clients: &Clients,
    name: &RoleName,
    role: Option<&RoleInfo>,
) -> Result<Option<verify::Beside>, Error> {
    let Some(role) = role else {
        return Ok(None);
    };
    verify::Beside::role(clients, name, role.boundary.as_deref())
        .await
        .map(Some)
}

/// Adds the documents of the other policies attached to the role, when there are any.
async fn with_others(
    clients: &Clients,
    beside: Option<verify::Beside>,
    attached: &[String],
    own: &str,
) -> Result<Option<verify::Beside>, Error> {
    match beside {
        Some(b) => b.with_others(clients, attached, own).await.map(Some),
        None => Ok(None),
    }
}
