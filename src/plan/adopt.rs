//! Which role or user a run is for. A location has one role (or user) by default, whatever
//! the access: a run under another access updates the one the tool already made there, and
//! keeps its ARN. A name the user gives is taken as given.

use std::fmt::Display;

use crate::error::Error;
use crate::facts::{PrincipalInfo, RoleInfo, UserInfo};
use crate::inputs::{defaults, Access, RoleName, S3Location, UserName};

use super::keep::serves;

/// A role's or a user's name, and what adopting one needs to know of its kind.
pub(crate) trait PrincipalName: Clone + Display + PartialEq {
    /// What IAM holds of it.
    type Info: Clone + std::fmt::Debug;
    /// `role` or `user`, as a message names it.
    const KIND: &'static str;
    /// The flag that gives it.
    const FLAG: &'static str;
    /// The name this tool gives it, for a location and access.
    fn default_for(location: &S3Location, access: Access) -> Self;
    /// What any principal holds: its ARN, tags, boundary and description.
    fn held(info: &Self::Info) -> PrincipalInfo<'_>;
}

impl PrincipalName for RoleName {
    type Info = RoleInfo;
    const KIND: &'static str = "role";
    const FLAG: &'static str = "--role-name";

    fn default_for(location: &S3Location, access: Access) -> RoleName {
        defaults::role_name(location, access)
    }

    fn held(info: &RoleInfo) -> PrincipalInfo<'_> {
        info.principal()
    }
}

impl PrincipalName for UserName {
    type Info = UserInfo;
    const KIND: &'static str = "user";
    const FLAG: &'static str = "--user-name";

    fn default_for(location: &S3Location, access: Access) -> UserName {
        defaults::user_name(location, access)
    }

    fn held(info: &UserInfo) -> PrincipalInfo<'_> {
        info.principal()
    }
}

/// The names to read for a setup: the given one alone; else the default for this access,
/// then the defaults under the other two, where a role made for another access would be.
pub(crate) fn candidates<N: PrincipalName>(
    location: &S3Location,
    access: Access,
    given: Option<&N>,
) -> Vec<N> {
    match given {
        Some(name) => vec![name.clone()],
        None => std::iter::once(access)
            .chain(Access::ALL.into_iter().filter(|a| *a != access))
            .map(|a| N::default_for(location, a))
            .collect(),
    }
}

/// The role or user a run is for, and what IAM holds of it.
#[derive(Debug, Clone)]
pub(crate) struct Adopted<N: PrincipalName> {
    pub(crate) name: N,
    pub(crate) info: Option<N::Info>,
    /// Whether it was found under another access's default name.
    pub(crate) other_access: bool,
}

impl<N: PrincipalName> Adopted<N> {
    /// Whether it exists and this tool made it: a run then updates it, and asks no name.
    pub(crate) fn managed(&self) -> bool {
        self.info.as_ref().is_some_and(|i| N::held(i).managed)
    }

    /// What a run says when it takes one up that was made under another access.
    pub(crate) fn serving(&self, location: &S3Location) -> Option<String> {
        (self.managed() && self.other_access).then(|| {
            let (kind, name) = (N::KIND, &self.name);
            format!("{kind} {name} already serves {location}: it is updated, and keeps its ARN")
        })
    }
}

/// Picks the role or user a run is for among the candidates as read (in [`candidates`]'
/// order). A given name is taken as it is (its plan shows and confirms a change of directory).
/// Else the default name for this access, if it exists; one of that name that serves another
/// location is refused, since a default name must never point a role elsewhere. Else one made
/// by this tool for this location under another access. Else the default, to create.
pub(crate) fn adopt<N: PrincipalName>(
    location: &S3Location,
    given: bool,
    found: Vec<(N, Option<N::Info>)>,
) -> Result<Adopted<N>, Error> {
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
        let p = N::held(held);
        if p.managed && serves(p, location) == Some(false) {
            let there = p.location().unwrap_or_else(|| "another directory".into());
            let (kind, flag) = (N::KIND, N::FLAG);
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
            let p = N::held(i);
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
