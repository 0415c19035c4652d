//! What this tool made in the account, for `teardown` and `verify` at a terminal to offer
//! when nothing is named: a person who made a role last month seldom remembers its name.
//!
//! Its roles are picked by their description (ListRoles returns no tags) and then read for
//! their tags, which decide (`managed-by`); a stack's role is offered as its stack, in the
//! region its tags name. Its users are read one by one: ListUsers returns no tags either, and
//! a user has no description.

use crate::aws::{iam, Clients};
use crate::error::Error;
use crate::facts::PrincipalInfo;
use crate::inputs::{StackName, UserName, Who, MANAGED_BY_VALUE};
use crate::requests::Target;
use crate::Context;

use super::set::each;

/// How many roles or users are read at once.
const PARALLEL: usize = 8;

/// One thing this tool made: as `teardown` takes it, and the role or user `verify` checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Made {
    pub(crate) target: Target,
    /// The role (a stack's too) or user, and its ARN.
    pub(crate) principal: (Who, String),
    /// A stack's region, when it is named.
    pub(crate) region: Option<String>,
    /// What it serves, for people: `import s3://bucket/dir/`.
    pub(crate) serves: Option<String>,
}

impl Made {
    /// One line of the list to choose from.
    pub(crate) fn label(&self) -> String {
        let what = match (&self.target, &self.region) {
            (Target::Stack(stack), Some(region)) => format!("stack {stack} in {region}"),
            (Target::Stack(stack), None) => format!("stack {stack}"),
            (Target::Principal(who), _) => who.to_string(),
        };
        match &self.serves {
            Some(serves) => format!("{what}: {serves}"),
            None => what,
        }
    }

    /// The flag that names it, for the command that repeats the teardown without questions
    /// (a stack's region is a connection flag).
    pub(crate) fn flags(&self) -> Vec<String> {
        let (flag, name) = match &self.target {
            Target::Stack(stack) => ("--stack-name", stack.to_string()),
            Target::Principal(Who::Role(name)) => ("--role-name", name.to_string()),
            Target::Principal(Who::User(name)) => ("--user-name", name.to_string()),
        };
        vec![flag.to_string(), name]
    }
}

/// Every stack, role and user this tool made that the account holds: stacks first, then
/// roles, then users, each by name.
pub(crate) async fn made(clients: &Clients) -> Result<Vec<Made>, Error> {
    let (roles, users) = tokio::join!(iam::list_roles(&clients.iam), iam::list_users(&clients.iam));
    let ours = roles?.into_iter().filter(|r| r.ours()).map(|r| r.name);
    let roles = each(ours, PARALLEL, |name| async move {
        let role = clients.role(&name).await?.filter(|r| r.managed);
        // A name the tool could not have given is not the tool's.
        let (Some(role), Ok(role_name)) = (role, name.parse()) else {
            return Ok::<_, Error>(None);
        };
        let serves = serves(role.principal());
        let principal = (Who::Role(role_name), role.arn);
        let made = match role
            .stack
            .as_ref()
            .and_then(|s| s.parse::<StackName>().ok())
        {
            // Its role is named only when it is not named as the stack is.
            Some(stack) => Made {
                serves: match serves {
                    _ if stack.as_str() == name => serves,
                    Some(serves) => Some(format!("role {name}, {serves}")),
                    None => Some(format!("role {name}")),
                },
                target: Target::Stack(stack),
                principal,
                region: role.stack_region,
            },
            None => Made {
                target: Target::Principal(principal.0.clone()),
                principal,
                region: None,
                serves,
            },
        };
        Ok(Some(made))
    });
    let users = each(users?, PARALLEL, |name| async move {
        let user = iam::get_user(&clients.iam, &name)
            .await?
            .filter(|u| u.managed);
        let (Some(user), Ok(user_name)) = (user, name.parse::<UserName>()) else {
            return Ok::<_, Error>(None);
        };
        Ok(Some(Made {
            target: Target::Principal(Who::User(user_name.clone())),
            serves: serves(user.principal()),
            principal: (Who::User(user_name), user.arn),
            region: None,
        }))
    });
    let (roles, users) = tokio::join!(roles, users);
    let mut made = Vec::new();
    for found in roles.into_iter().chain(users) {
        made.extend(found?);
    }
    made.sort_by_key(|m| (rank(&m.target), m.label()));
    Ok(made)
}

fn rank(target: &Target) -> u8 {
    match target {
        Target::Stack(_) => 0,
        Target::Principal(Who::Role(_)) => 1,
        Target::Principal(Who::User(_)) => 2,
    }
}

/// `import s3://bucket/dir/`, from what it records.
fn serves(principal: PrincipalInfo<'_>) -> Option<String> {
    let location = principal.location()?;
    Some(match principal.access() {
        Some(access) => format!("{access} {location}"),
        None => location,
    })
}

/// At a terminal, with nothing named: the list of what this tool made, to choose one from
/// (`question`). `None` when it made nothing here, which is said.
pub(crate) async fn choose(
    ctx: &Context,
    clients: &Clients,
    prompter: &mut dyn crate::prompt::Prompter,
    question: &str,
) -> Result<Option<Made>, Error> {
    let step = ctx
        .ui
        .step(format!("Looking for what {MANAGED_BY_VALUE} made"));
    let found = made(clients).await;
    let mut made = step.end(found, |made| format!("{} found", made.len()))?;
    if made.is_empty() {
        ctx.ui.info(format!(
            "this account holds no role or user that {MANAGED_BY_VALUE} made"
        ));
        return Ok(None);
    }
    let labels: Vec<String> = made.iter().map(Made::label).collect();
    let labels: Vec<&str> = labels.iter().map(String::as_str).collect();
    let at = prompter.select(question, &labels, 0)?;
    Ok(Some(made.swap_remove(at)))
}
