//! Which role or user a run is for. A location has one role (or user) by default, whatever
//! the access: a run under another access updates the one the tool already made there, and
//! keeps its ARN. A name the user gives is taken as given.

use crate::error::Error;
use crate::facts::{PrincipalInfo, RoleInfo, UserInfo};
use crate::inputs::{defaults, Access, RoleName, S3Location, UserName};

use super::keep::serves;

/// The names to read for a setup: the given one alone; else the default for this access,
/// then the defaults under the other two, where a role made for another access would be.
pub(crate) fn role_candidates(
    location: &S3Location,
    access: Access,
    given: Option<&RoleName>,
) -> Vec<RoleName> {
    candidates(access, given, |a| defaults::role_name(location, a))
}

/// [`role_candidates`], for an access key's user.
pub(crate) fn user_candidates(
    location: &S3Location,
    access: Access,
    given: Option<&UserName>,
) -> Vec<UserName> {
    candidates(access, given, |a| defaults::user_name(location, a))
}

fn candidates<T: Clone>(
    access: Access,
    given: Option<&T>,
    default: impl Fn(Access) -> T,
) -> Vec<T> {
    match given {
        Some(name) => vec![name.clone()],
        None => std::iter::once(access)
            .chain(Access::ALL.into_iter().filter(|a| *a != access))
            .map(default)
            .collect(),
    }
}

/// The role or user a run is for, and what IAM holds of it.
#[derive(Debug, Clone)]
pub(crate) struct Adopted<N, I> {
    pub(crate) name: N,
    pub(crate) info: Option<I>,
    /// Whether it was found under another access's default name.
    pub(crate) other_access: bool,
}

/// Picks the role a run is for among the candidates as read (in [`role_candidates`]' order).
pub(crate) fn adopt_role(
    location: &S3Location,
    given: bool,
    found: Vec<(RoleName, Option<RoleInfo>)>,
) -> Result<Adopted<RoleName, RoleInfo>, Error> {
    adopt(
        location,
        given,
        found,
        "role",
        "--role-name",
        RoleInfo::principal,
    )
}

/// [`adopt_role`], for an access key's user.
pub(crate) fn adopt_user(
    location: &S3Location,
    given: bool,
    found: Vec<(UserName, Option<UserInfo>)>,
) -> Result<Adopted<UserName, UserInfo>, Error> {
    adopt(
        location,
        given,
        found,
        "user",
        "--user-name",
        UserInfo::principal,
    )
}

/// A given name is taken as it is (its plan shows and confirms a change of directory). Else
/// the default name for this access, if it exists; a role of that name that serves another
/// location is refused, since a default name must never point a role elsewhere. Else one
/// made by this tool for this location under another access. Else the default, to create.
fn adopt<N, I>(
    location: &S3Location,
    given: bool,
    found: Vec<(N, Option<I>)>,
    kind: &str,
    flag: &str,
    principal: fn(&I) -> PrincipalInfo<'_>,
) -> Result<Adopted<N, I>, Error>
where
    N: std::fmt::Display,
{
    let mut found = found.into_iter();
    let (name, info) = found.next().expect("at least one candidate");
    if given {
        return Ok(Adopted {
            name,
            info,
            other_access: false,
        });
    }
    if let Some(held) = &info {
        let p = principal(held);
        if p.managed && serves(p, location) == Some(false) {
            let there = p.location().unwrap_or_else(|| "another directory".into());
            return Err(Error::Conflict(format!(
                "{kind} {name} serves {there}, not {location}, though its name is this location's default (it was named by hand, or made by an earlier version whose names could collide); nothing was changed\n  fix: give this location its own name with {flag} NAME"
            )));
        }
        return Ok(Adopted {
            name,
            info,
            other_access: false,
        });
    }
    let sibling = found.find(|(_, info)| {
        info.as_ref().is_some_and(|i| {
            let p = principal(i);
            p.managed && serves(p, location) != Some(false)
        })
    });
    Ok(match sibling {
        Some((name, info)) => Adopted {
            name,
            info,
            other_access: true,
        },
        None => Adopted {
            name,
            info: None,
            other_access: false,
        },
    })
}
