//! What already serves a location, read before the names are settled: who is calling, the
//! role or user under each name this tool would have given it (one per access), and the
//! bucket's region, all in one round. Which of them a run is for is `plan::adopt`'s to decide.

use crate::aws::{cloudformation, iam, Clients};
use crate::detect;
use crate::error::Error;
use crate::facts::{Caller, Located, RoleInfo, StackInfo, UserInfo};
use crate::inputs::{Access, RoleName, S3Location, StackName, UserName};
use crate::plan::{self, Adopted};

/// The caller, and the role a role setup is for.
#[derive(Debug, Clone)]
pub(crate) struct FoundRole {
    pub(crate) caller: Caller,
    pub(crate) role: Adopted<RoleName, RoleInfo>,
    /// The stack read by its given name, when no role name was given: it names its role.
    pub(crate) stack: Option<Option<StackInfo>>,
}

/// The caller, and the user an access-key setup is for.
#[derive(Debug, Clone)]
pub(crate) struct FoundUser {
    pub(crate) caller: Caller,
    pub(crate) user: Adopted<UserName, UserInfo>,
}

/// The bucket's region, read beside the rest of the first round unless the URI's check read it
/// already (into `located`); for an import (`reads`), its folder is listed beside it, in the
/// clients' region, and kept when that is the bucket's (`Clients::objects_early`).
async fn bucket_region(
    clients: &Clients,
    location: &S3Location,
    reads: bool,
    located: &mut Located,
) -> Result<(), Error> {
    if located.region.is_none() {
        let (region, listed) =
            detect::located_now(clients, location, reads, &mut located.warnings).await?;
        located.region = Some(region);
        located.listed = listed;
    }
    Ok(())
}

/// Reads the caller, the candidate roles and the bucket's region together. A stack named
/// without a role name is read with them, and its `RoleName` parameter names the role.
pub(crate) async fn role(
    clients: &Clients,
    location: &S3Location,
    access: Access,
    given: Option<&RoleName>,
    stack: Option<&StackName>,
    located: &mut Located,
) -> Result<FoundRole, Error> {
    let candidates = plan::role_candidates(location, access, given);
    let stack_name = stack.filter(|_| given.is_none());
    let (caller, roles, stack, region) = tokio::join!(
        clients.caller(),
        futures_util::future::join_all(candidates.iter().map(|name| clients.role(name.as_str()))),
        async {
            match stack_name {
                Some(name) => cloudformation::describe_stack(&clients.cfn, name.as_str())
                    .await
                    .map(Some),
                None => Ok(None),
            }
        },
        bucket_region(clients, location, access.reads(), located)
    );
    // Credential and identity problems explain everything else, so they come first.
    let caller = caller?;
    region?;
    let stack = stack?;
    let mut found = candidates
        .into_iter()
        .zip(roles)
        .map(|(name, role)| Ok((name, role?)))
        .collect::<Result<Vec<_>, Error>>()?;
    let mut named = given.is_some();
    // The stack knows its role by name: that is the role, whatever the defaults are.
    if let Some(held) = stack
        .as_ref()
        .and_then(|s| s.as_ref())
        .and_then(|s| s.parameters.get("RoleName"))
        .and_then(|n| n.parse::<RoleName>().ok())
    {
        let info = match found.iter().find(|(n, _)| *n == held) {
            Some((_, info)) => info.clone(),
            None => iam::get_role(&clients.iam, held.as_str()).await?,
        };
        found = vec![(held, info)];
        named = true;
    }
    Ok(FoundRole {
        caller,
        role: plan::adopt_role(location, named, found)?,
        stack,
    })
}

/// Reads the caller, the candidate users and the bucket's region together.
pub(crate) async fn user(
    clients: &Clients,
    location: &S3Location,
    access: Access,
    given: Option<&UserName>,
    located: &mut Located,
) -> Result<FoundUser, Error> {
    let candidates = plan::user_candidates(location, access, given);
    let (caller, users, region) = tokio::join!(
        clients.caller(),
        futures_util::future::join_all(
            candidates
                .iter()
                .map(|name| iam::get_user(&clients.iam, name.as_str()))
        ),
        bucket_region(clients, location, access.reads(), located)
    );
    let caller = caller?;
    region?;
    let found = candidates
        .into_iter()
        .zip(users)
        .map(|(name, user)| Ok((name, user?)))
        .collect::<Result<Vec<_>, Error>>()?;
    Ok(FoundUser {
        caller,
        user: plan::adopt_user(location, given.is_some(), found)?,
    })
}
