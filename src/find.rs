//! What already serves a location, read before the names are settled: who is calling, the
//! role or user under each name this tool would have given it (one per access), and the
//! bucket's region, all in one round. Which of them a run is for is `plan::adopt`'s to decide.

use std::future::Future;

use crate::aws::{cloudformation, iam, Clients};
use crate::detect;
use crate::error::{AwsError, Error};
use crate::facts::{Caller, Located, StackInfo};
use crate::inputs::{Access, RoleName, S3Location, StackName, UserName};
use crate::plan::{self, Adopted, PrincipalName};

/// The caller, and the role a role setup is for.
#[derive(Debug, Clone)]
pub(crate) struct FoundRole {
    pub(crate) caller: Caller,
    pub(crate) role: Adopted<RoleName>,
    /// The stack read by its given name, when no role name was given: it names its role.
    pub(crate) stack: Option<Option<StackInfo>>,
}

/// The caller, and the user an access-key setup is for.
#[derive(Debug, Clone)]
pub(crate) struct FoundUser {
    pub(crate) caller: Caller,
    pub(crate) user: Adopted<UserName>,
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

/// The first round: the caller, each candidate role or user as `read` finds it, and the
/// bucket's region, all in flight together. Credential and identity problems explain everything
/// else, so they come first.
async fn first_round<N, F, Fut>(
    clients: &Clients,
    location: &S3Location,
    access: Access,
    given: Option<&N>,
    read: F,
    located: &mut Located,
) -> Result<(Caller, Vec<(N, Option<N::Info>)>), Error>
where
    N: PrincipalName,
    F: Fn(N) -> Fut,
    Fut: Future<Output = Result<Option<N::Info>, AwsError>>,
{
    let candidates = plan::candidates(location, access, given);
    let (caller, read, region) = tokio::join!(
        clients.caller(),
        futures_util::future::join_all(candidates.iter().cloned().map(read)),
        bucket_region(clients, location, access.reads(), located)
    );
    let caller = caller?;
    region?;
    let found = candidates
        .into_iter()
        .zip(read)
        .map(|(name, info)| Ok((name, info?)))
        .collect::<Result<Vec<_>, Error>>()?;
    Ok((caller, found))
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
    let stack_name = stack.filter(|_| given.is_none());
    let read = |name: RoleName| async move { clients.role(name.as_str()).await };
    let (first, stack) = tokio::join!(
        first_round(clients, location, access, given, read, located),
        async {
            match stack_name {
                Some(name) => cloudformation::describe_stack(&clients.cfn, name.as_str())
                    .await
                    .map(Some),
                None => Ok(None),
            }
        }
    );
    let (caller, mut found) = first?;
    let stack = stack?;
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
        role: plan::adopt(location, named, found)?,
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
    let read = |name: UserName| async move { iam::get_user(&clients.iam, name.as_str()).await };
    let (caller, found) = first_round(clients, location, access, given, read, located).await?;
    Ok(FoundUser {
        caller,
        user: plan::adopt(location, given.is_some(), found)?,
    })
}
