//! What this tool made in the account, for `teardown`, `verify` and `access-key delete` at a
//! terminal to offer when nothing is named: a person who made a role last month seldom
//! remembers its name.
//!
//! Tags decide (`managed-by`), read for every role and user at once from the account's read
//! (GetAccountAuthorizationDetails); a caller refused it has the tool's roles picked by their
//! description and then read, and every user read (ListRoles and ListUsers return no tags,
//! and a user has no description). A stack's role is offered as its stack, in the region its
//! tags name. A stack whose role is gone (deleted by hand, or never made) has no tags to be
//! found by: `teardown` also reads the stacks of the regions it knows, for those.

use std::collections::{BTreeSet, HashMap, HashSet};

use crate::aws::iam::{self, ListedRole, Principals};
use crate::aws::{cloudformation, Clients};
use crate::error::{AwsError, Error};
use crate::facts::StackInfo;
use crate::inputs::{Access, StackName, UserName, Who, MANAGED_BY_VALUE, SET_TAG};
use crate::requests::Target;
use crate::Context;

use super::set::each;

/// How many roles or users are read at once.
const PARALLEL: usize = 8;

/// What a list offers: what the command that lists it can act on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Offer {
    /// Stacks, roles and users, and the stacks whose role is gone (`teardown`).
    Everything,
    /// Roles, a stack's too, and users (`verify`).
    Principals,
    /// Users (`access-key delete`).
    Users,
}

impl Offer {
    fn admits(self, made: &Made) -> bool {
        match self {
            Offer::Everything => true,
            Offer::Principals => made.principal.is_some(),
            Offer::Users => matches!(made.principal, Some((Who::User(_), _))),
        }
    }

    /// What is said when the account holds none of what it offers.
    pub(crate) fn none_made(self) -> String {
        let what = match self {
            Offer::Everything => "stack, role or user",
            Offer::Principals => "role or user",
            Offer::Users => "user",
        };
        format!("this account holds no {what} that {MANAGED_BY_VALUE} made")
    }
}

/// One thing this tool made: as `teardown` takes it, and the role or user `verify` checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Made {
    pub(crate) target: Target,
    /// The role (a stack's too) or user, and its ARN; `None` for a stack whose role is gone.
    pub(crate) principal: Option<(Who, String)>,
    /// A stack's region, when it is named.
    pub(crate) region: Option<String>,
    /// A stack's role, by name.
    pub(crate) stack_role: Option<String>,
    /// Whether a stack's role is gone (deleted by hand, or never made).
    pub(crate) role_gone: bool,
    /// The status of a stack whose role is gone, when it says more than that (a creation that
    /// failed, or one still going on).
    pub(crate) stack_status: Option<String>,
    /// The access it was made for, as it records.
    pub(crate) access: Option<Access>,
    /// The folder it serves, `s3://bucket/dir/`, as it records.
    pub(crate) location: Option<String>,
    /// The set of setups it belongs to (`apply -f`), as it, or its stack, records.
    pub(crate) set: Option<String>,
    /// For a stack's role whose stack is gone: that stack, which left it behind.
    pub(crate) left_by: Option<String>,
}

impl Made {
    /// Its kind and name, and a stack's region: `stack NAME in REGION`.
    pub(crate) fn what(&self) -> String {
        match (&self.target, &self.region) {
            (Target::Stack(stack), Some(region)) => format!("stack {stack} in {region}"),
            (Target::Stack(stack), None) => format!("stack {stack}"),
            (Target::Principal(who), _) => who.to_string(),
        }
    }

    /// What is said of a stack's role: that it is gone, or its name when the stack's is
    /// another.
    pub(crate) fn note(&self) -> Option<String> {
        let Target::Stack(stack) = &self.target else {
            let left_by = self.left_by.as_deref()?;
            return Some(format!("left behind by its stack {left_by}, which is gone"));
        };
        let role = self.stack_role.as_deref()?;
        // A stack that failed to make its role, or is still at work, says its status.
        let gone = match &self.stack_status {
            Some(status) => format!("is not there ({status})"),
            None => "is gone".to_string(),
        };
        match (self.role_gone, role == stack.as_str()) {
            (true, true) => Some(format!("its role {gone}")),
            (true, false) => Some(format!("its role {role} {gone}")),
            (false, true) => None,
            (false, false) => Some(format!("role {role}")),
        }
    }

    /// `import s3://bucket/dir/`, from what it records.
    pub(crate) fn serves(&self) -> Option<String> {
        let location = self.location.as_deref()?;
        Some(match self.access {
            Some(access) => format!("{access} {location}"),
            None => location.to_string(),
        })
    }

    /// One line of the list to choose from: `stack NAME in REGION: role R, import s3://…`.
    pub(crate) fn label(&self) -> String {
        let details: Vec<String> = self.note().into_iter().chain(self.serves()).collect();
        if details.is_empty() {
            self.what()
        } else {
            format!("{}: {}", self.what(), details.join(", "))
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

/// Every stack, role and user this tool made that the account holds, of those `offer` admits:
/// stacks first, then roles, then users, each by name. The account is read whole, in a few
/// requests, when the caller may (`iam:GetAccountAuthorizationDetails`, which a setup does not
/// need); else the tool's roles are found by their description, and every user is read.
async fn made(clients: &Clients, offer: Offer) -> Result<Vec<Made>, Error> {
    // A stack whose role is gone is found among the stacks, for `teardown`.
    let stacks_here = async {
        match offer {
            Offer::Everything => cloudformation::stacks(&clients.cfn).await,
            _ => Ok(Vec::new()),
        }
    };
    // The account's read gives no role's description, which says what a stack's role serves
    // (its stack's parameters do, not its tags): ListRoles, beside it, does.
    let (all, listed, here) = tokio::join!(
        iam::principals(&clients.iam),
        iam::list_roles(&clients.iam),
        stacks_here
    );
    let listed = listed?;
    // IAM names are not told apart by case (CreateRole: "Role names are not distinguished by
    // case").
    let roles: HashSet<String> = listed.iter().map(|r| r.name.to_lowercase()).collect();
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
    let mut made = made_of(principals);
    if offer == Offer::Everything {
        // Where the tool's other stacks are, stacks without a role may be too.
        let regions = made.iter().filter_map(|m| m.region.clone()).collect();
        let (read, listed) = read_stacks(clients, here, regions).await;
        sets_of_stacks(&mut made, &read);
        left_behind(&mut made, &read, &listed);
        made.extend(without_role(read, &roles).filter_map(ReadStack::made));
        arrange(&mut made);
    }
    made.retain(|m| offer.admits(m));
    Ok(made)
}

/// A stack this tool made, as it was read, with the role it names (its `RoleName` parameter).
#[derive(Debug)]
pub(crate) struct ReadStack {
    pub(crate) region: String,
    pub(crate) name: String,
    pub(crate) role: String,
    pub(crate) stack: StackInfo,
}

/// The tool's stacks whose role is not among the account's `roles` (lower case: IAM's names
/// ignore case), of the region CloudFormation is called in (`here`, read already) and of
/// `regions`: deleted by hand, never made (a creation that failed), or being made now.
pub(crate) async fn roleless(
    clients: &Clients,
    here: Result<Vec<(String, StackInfo)>, AwsError>,
    regions: BTreeSet<String>,
    roles: &HashSet<String>,
) -> Vec<ReadStack> {
    let (read, _) = read_stacks(clients, here, regions).await;
    without_role(read, roles).collect()
}

/// The tool's stacks of the region CloudFormation is called in (`here`, read already) and of
/// `regions`, and the regions listed. A region whose stacks cannot be listed is passed over: no
/// role's tags lead to a stack whose role is gone, so this list is the only way to find one,
/// and `--stack-name` still reaches it.
async fn read_stacks(
    clients: &Clients,
    here: Result<Vec<(String, StackInfo)>, AwsError>,
    regions: BTreeSet<String>,
) -> (Vec<ReadStack>, BTreeSet<String>) {
    let home = clients.stacks_region().to_string();
    let elsewhere = regions
        .into_iter()
        .filter(|r| *r != home)
        .map(|region| async move {
            let stacks = cloudformation::stacks(&clients.cfn_in(&region)).await;
            (region, stacks)
        });
    let elsewhere = futures_util::future::join_all(elsewhere).await;
    let mut found = Vec::new();
    let mut listed = BTreeSet::new();
    for (region, stacks) in std::iter::once((home, here)).chain(elsewhere) {
        match stacks {
            Ok(stacks) => {
                let stacks = stacks.into_iter();
                found
                    .extend(stacks.filter_map(|(name, stack)| ReadStack::of(&region, name, stack)));
                listed.insert(region);
            }
            Err(e) => tracing::debug!("the stacks of {region} are not listed: {e}"),
        }
    }
    (found, listed)
}

/// A stack's role whose stack is not among the stacks `listed` of its region: the stack is
/// gone (deleted with its role retained, or by hand) and left the role behind, which is
/// offered as the role that it now is (`teardown --role-name` deletes it).
fn left_behind(made: &mut [Made], read: &[ReadStack], listed: &BTreeSet<String>) {
    for m in made.iter_mut() {
        let (Target::Stack(stack), Some(region), Some((who, _))) =
            (&m.target, &m.region, &m.principal)
        else {
            continue;
        };
        let here = |s: &&ReadStack| s.name == stack.as_str() && s.region == *region;
        if listed.contains(region) && !read.iter().any(|s| here(&s)) {
            m.left_by = Some(stack.to_string());
            m.target = Target::Principal(who.clone());
            (m.region, m.stack_role) = (None, None);
        }
    }
}

/// Those of `stacks` whose role is not among `roles`.
fn without_role(
    stacks: Vec<ReadStack>,
    roles: &HashSet<String>,
) -> impl Iterator<Item = ReadStack> + '_ {
    stacks
        .into_iter()
        .filter(move |s| !roles.contains(&s.role.to_lowercase()))
}

/// Each stack's set, from the stack as it was `read`. Its role holds the set too only where
/// CloudFormation passes the stack's tags on to it ("Stack tags", CloudFormation User Guide),
/// which an emulator may not.
fn sets_of_stacks(made: &mut [Made], read: &[ReadStack]) {
    for m in made.iter_mut() {
        let Target::Stack(name) = &m.target else {
            continue;
        };
        let stack = read
            .iter()
            .find(|s| s.name == name.as_str() && m.region.as_ref() == Some(&s.region));
        if let Some(set) = stack.and_then(|s| s.stack.tag(SET_TAG)) {
            m.set = Some(set.to_string());
        }
    }
}

impl ReadStack {
    fn of(region: &str, name: String, stack: StackInfo) -> Option<ReadStack> {
        Some(ReadStack {
            region: region.to_string(),
            role: stack.parameter("RoleName")?.to_string(),
            name,
            stack,
        })
    }

    /// As the list offers it.
    fn made(self) -> Option<Made> {
        let stack = &self.stack;
        Some(Made {
            target: Target::Stack(self.name.parse().ok()?),
            principal: None,
            region: Some(self.region),
            role_gone: true,
            // A stack in progress may be making its role now; one whose creation failed never
            // made it. Its status says which.
            stack_status: Some(stack.status.clone())
                .filter(|s| !matches!(s.as_str(), "CREATE_COMPLETE" | "UPDATE_COMPLETE")),
            access: stack.parameter("Access").and_then(|a| a.parse().ok()),
            location: stack.folder(),
            set: stack.tag(SET_TAG).map(str::to_string),
            stack_role: Some(self.role),
            left_by: None,
        })
    }
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
        let who = Who::Role(name.parse().ok()?);
        let stack = role
            .stack
            .as_ref()
            .and_then(|s| s.parse::<StackName>().ok());
        let principal = role.principal();
        Some(Made {
            target: match &stack {
                Some(stack) => Target::Stack(stack.clone()),
                None => Target::Principal(who.clone()),
            },
            region: stack.as_ref().and_then(|_| role.stack_region.clone()),
            stack_role: stack.map(|_| name.clone()),
            role_gone: false,
            stack_status: None,
            access: principal.access(),
            location: principal.location(),
            set: principal.tag(SET_TAG).map(str::to_string),
            principal: Some((who, role.arn.clone())),
            left_by: None,
        })
    });
    let users = principals.users.into_iter().filter(|(_, u)| u.managed);
    let users = users.filter_map(|(name, user)| {
        let name: UserName = name.parse().ok()?;
        let principal = user.principal();
        Some(Made {
            target: Target::Principal(Who::User(name.clone())),
            region: None,
            stack_role: None,
            role_gone: false,
            stack_status: None,
            access: principal.access(),
            location: principal.location(),
            set: principal.tag(SET_TAG).map(str::to_string),
            principal: Some((Who::User(name), user.arn.clone())),
            left_by: None,
        })
    });
    let mut made: Vec<Made> = roles.chain(users).collect();
    arrange(&mut made);
    made
}

/// Stacks first, then roles, then users, each by name.
fn arrange(made: &mut [Made]) {
    made.sort_by_key(|m| (rank(&m.target), m.label()));
}

fn rank(target: &Target) -> u8 {
    match target {
        Target::Stack(_) => 0,
        Target::Principal(Who::Role(_)) => 1,
        Target::Principal(Who::User(_)) => 2,
    }
}

/// [`made`], behind a line that says what is being looked for and how much was found.
pub(crate) async fn looked_for(
    ctx: &Context,
    clients: &Clients,
    offer: Offer,
) -> Result<Vec<Made>, Error> {
    let step = ctx
        .ui
        .step(format!("Looking for what {MANAGED_BY_VALUE} made"));
    let found = made(clients, offer).await;
    step.end(found, |made| format!("{} found", made.len()))
}

/// At a terminal, with nothing named: the list of what this tool made, of what `offer` admits,
/// to choose one from (`question`). `None` when it made nothing here, which is said.
pub(crate) async fn choose(
    ctx: &Context,
    clients: &Clients,
    prompter: &mut dyn crate::prompt::Prompter,
    question: &str,
    offer: Offer,
) -> Result<Option<Made>, Error> {
    let mut made = looked_for(ctx, clients, offer).await?;
    if made.is_empty() {
        ctx.ui.info(offer.none_made());
        return Ok(None);
    }
    let labels: Vec<String> = made.iter().map(Made::label).collect();
    let labels: Vec<&str> = labels.iter().map(String::as_str).collect();
    let at = prompter.select(question, &labels, 0)?;
    Ok(Some(made.swap_remove(at)))
}

#[cfg(test)]
mod tests;
