//! What this tool made in the account, for `teardown`, `verify` and `access-key delete` at a
//! terminal to offer when nothing is named: a person who made a role last month seldom
//! remembers its name.
//!
//! Tags decide (`managed-by`), read for every role and user at once from the account's read
//! (GetAccountAuthorizationDetails); a caller refused it has the tool's roles picked by their
//! description and then read, and every user read (ListRoles and ListUsers return no tags,
//! and a user has no description). A stack's role is offered as its stack, in the region its
//! tags name.

use std::collections::HashMap;

use crate::aws::iam::{self, ListedRole, Principals};
use crate::aws::Clients;
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

/// The command that repeats a choice without questions: `words` after the tool's name, then
/// the connection's `--profile` and `--region` (`region`, a stack's, before the one given).
pub(crate) fn again(ctx: &Context, words: Vec<String>, region: Option<&str>) -> String {
    let conn = crate::aws::Connection {
        region: region
            .map(str::to_string)
            .or_else(|| ctx.conn.region.clone()),
        ..ctx.conn.clone()
    };
    let words = std::iter::once(MANAGED_BY_VALUE.to_string())
        .chain(words)
        .chain(crate::output::connection_flags(&conn, None));
    crate::output::command_line(words.collect::<Vec<_>>().iter().map(String::as_str))
}

/// Every stack, role and user this tool made that the account holds: stacks first, then
/// roles, then users, each by name. The account is read whole, in a few requests, when the
/// caller may (`iam:GetAccountAuthorizationDetails`, which a setup does not need); else the
/// tool's roles are found by their description, and every user is read.
pub(crate) async fn made(clients: &Clients) -> Result<Vec<Made>, Error> {
    // The account's read gives no role's description, which says what a stack's role serves
    // (its stack's parameters do, not its tags): ListRoles, beside it, does.
    let (all, listed) = tokio::join!(iam::principals(&clients.iam), iam::list_roles(&clients.iam));
    let listed = listed?;
    let principals = match all {
        Ok(mut all) => {
            let mut described: HashMap<String, Option<String>> = listed
                .into_iter()
                .map(|r| (r.name, r.description))
                .collect();
            for (name, role) in &mut all.roles {
                role.description = described.remove(name).flatten();
            }
            all
        }
        // Only a shortcut: refused, or failed for any other reason, they are read one by one.
        Err(e) => {
            tracing::debug!("the account is read one by one: {e}");
            one_by_one(clients, listed).await?
        }
    };
    Ok(made_of(principals))
}

/// The tool's roles, by their description and then read whole, and every user, read for its
/// tags: `PARALLEL` at a time.
async fn one_by_one(clients: &Clients, roles: Vec<ListedRole>) -> Result<Principals, Error> {
    let users = iam::list_users(&clients.iam).await?;
    let ours = roles.into_iter().filter(|r| r.ours()).map(|r| r.name);
    let roles = each(ours, PARALLEL, |name| async move {
        let role = clients.role(&name).await?;
        Ok::<_, Error>(role.map(|info| (name, info)))
    });
    let users = each(users, PARALLEL, |name| async move {
        let user = iam::get_user(&clients.iam, &name).await?;
        Ok::<_, Error>(user.map(|info| (name, info)))
    });
    let (roles, users) = tokio::join!(roles, users);
    Ok(Principals {
        roles: found(roles)?,
        users: found(users)?,
    })
}

/// Those that were there, or the first failure.
fn found<T>(reads: Vec<Result<Option<T>, Error>>) -> Result<Vec<T>, Error> {
    reads.into_iter().filter_map(Result::transpose).collect()
}

/// What the tool made, of these roles and users: those its tag says it made (a name the tool
/// could not have given is not the tool's). A stack's role is offered as its stack.
fn made_of(principals: Principals) -> Vec<Made> {
    let roles = principals.roles.into_iter().filter(|(_, r)| r.managed);
    let roles = roles.filter_map(|(name, role)| {
        let serves = serves(role.principal());
        let principal = (Who::Role(name.parse().ok()?), role.arn);
        let stack = role
            .stack
            .as_ref()
            .and_then(|s| s.parse::<StackName>().ok());
        Some(match stack {
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
        })
    });
    let users = principals.users.into_iter().filter(|(_, u)| u.managed);
    let users = users.filter_map(|(name, user)| {
        let name: UserName = name.parse().ok()?;
        Some(Made {
            target: Target::Principal(Who::User(name.clone())),
            serves: serves(user.principal()),
            principal: (Who::User(name), user.arn),
            region: None,
        })
    });
    let mut made: Vec<Made> = roles.chain(users).collect();
    made.sort_by_key(|m| (rank(&m.target), m.label()));
    made
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

/// At a terminal, with nothing named: the list of what this tool made (of the kind `only`,
/// when given), to choose one from (`question`). `None` when it made nothing here, which is
/// said.
pub(crate) async fn choose(
    ctx: &Context,
    clients: &Clients,
    prompter: &mut dyn crate::prompt::Prompter,
    question: &str,
    only: Option<&str>,
) -> Result<Option<Made>, Error> {
    let step = ctx
        .ui
        .step(format!("Looking for what {MANAGED_BY_VALUE} made"));
    let found = made(clients).await.map(|mut made| {
        made.retain(|m| only.is_none_or(|kind| m.principal.0.kind() == kind));
        made
    });
    let mut made = step.end(found, |made| format!("{} found", made.len()))?;
    if made.is_empty() {
        let what = only.unwrap_or("role or user");
        ctx.ui.info(format!(
            "this account holds no {what} that {MANAGED_BY_VALUE} made"
        ));
        return Ok(None);
    }
    let labels: Vec<String> = made.iter().map(Made::label).collect();
    let labels: Vec<&str> = labels.iter().map(String::as_str).collect();
    let at = prompter.select(question, &labels, 0)?;
    Ok(Some(made.swap_remove(at)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::facts::{RoleInfo, UserInfo};
    use crate::inputs::{ACCESS_TAG, LOCATION_TAG};

    fn tags(managed: bool, access: &str, location: &str) -> Vec<(String, String)> {
        let mut tags = vec![
            (ACCESS_TAG.to_string(), access.to_string()),
            (LOCATION_TAG.to_string(), location.to_string()),
        ];
        if managed {
            tags.push(("managed-by".into(), MANAGED_BY_VALUE.into()));
        }
        tags
    }

    fn role(name: &str, managed: bool, stack: Option<&str>) -> (String, RoleInfo) {
        let info = RoleInfo {
            arn: format!("arn:aws:iam::123456789012:role/{name}"),
            managed,
            trust: None,
            created: None,
            stack: stack.map(str::to_string),
            stack_region: stack.map(|_| "eu-west-1".to_string()),
            boundary: None,
            tags: tags(managed, "import", &format!("s3://b/{name}/")),
            description: None,
        };
        (name.to_string(), info)
    }

    fn user(name: &str, managed: bool) -> (String, UserInfo) {
        let info = UserInfo {
            arn: format!("arn:aws:iam::123456789012:user/{name}"),
            user_id: "AIDA".into(),
            managed,
            boundary: None,
            tags: tags(managed, "export", "s3://b/out/"),
        };
        (name.to_string(), info)
    }

    #[test]
    fn only_what_the_tags_say_the_tool_made_stacks_first_then_roles_then_users() {
        let made = made_of(Principals {
            roles: vec![
                role("zeta", true, None),
                role("theirs", false, None),
                role("alpha", true, None),
                role("held", true, Some("held")),
                role("inner", true, Some("outer")),
            ],
            users: vec![user("u", true), user("v", false)],
        });
        let labels: Vec<String> = made.iter().map(Made::label).collect();
        assert_eq!(
            labels,
            [
                "stack held in eu-west-1: import s3://b/held/",
                "stack outer in eu-west-1: role inner, import s3://b/inner/",
                "role alpha: import s3://b/alpha/",
                "role zeta: import s3://b/zeta/",
                "user u: export s3://b/out/",
            ]
        );
        // The stack is deleted by its name, in its region; verify checks its role.
        let outer = &made[1];
        assert_eq!(outer.flags(), ["--stack-name", "outer"]);
        assert_eq!(outer.region.as_deref(), Some("eu-west-1"));
        assert_eq!(outer.principal.0.to_string(), "role inner");
        assert_eq!(made[4].flags(), ["--user-name", "u"]);
    }
}
