//! Fills the gaps in a command's request: asked at a terminal, defaulted with `--yes`, or
//! named as missing flags without one.

use std::fmt;
use std::str::FromStr;

use crate::aws::Clients;
use crate::error::Error;
use crate::facts::Located;
use crate::inputs::{defaults, Access, Invalid, PolicyName, SecretPath, Tier};
use crate::plan::{Method, RoleInputs, UserInputs};
use crate::prompt::Prompter;
use crate::requests::{AccessKeyRequest, RoleRequest};
use crate::{detect, Context};

use super::{ask, ask_access, ask_location, ask_method, ask_tier, require_flags, Choice, Intent};

/// Without a terminal, names every flag the request lacks, before anything else happens.
pub fn check_role(ctx: &Context, req: &RoleRequest) -> Result<(), Error> {
    let mut missing = missing_basics(req.location.is_some(), req.access.is_some());
    if req.tidb_account.is_none() {
        missing.push("--tidb-account-id");
    }
    if req.external_id.is_none() && !req.no_external_id && req.remove_external_ids.is_empty() {
        missing.push("--external-id");
    }
    require_flags(ctx, missing, Intent::Apply)
}

/// Fills the gaps in a [`check_role`]ed request from the user at a terminal, or with the defaults.
/// A URI that may name a file or a folder is settled with the bucket (when `clients` is
/// there) before the default names, which follow the directory, are worked out.
pub async fn role(
    ctx: &Context,
    req: RoleRequest,
    prompter: &mut dyn Prompter,
    clients: Option<&Clients>,
) -> Result<(Method, RoleInputs, Located), Error> {
    let ask_defaults = ctx.can_prompt && !ctx.yes;
    // Write access is never a default: without --access the question is asked, even with --yes.
    let access = match req.access {
        Some(a) => a,
        None => ask_access(prompter)?,
    };
    let tier = match req.tier {
        Some(t) => t,
        // Only an import differs by tier (Dedicated also reads the bucket's location).
        None if ask_defaults && access == Access::Import => ask_tier(prompter)?,
        None => Tier::default(),
    };
    tier.supports(access)
        .map_err(|e| Error::invalid("--access", e))?;
    let location = match req.location {
        Some(l) => l,
        None => ask_location(prompter)?,
    };
    let (location, mut located) = detect::locate(clients, location).await?;
    let stack_refusal = crate::template::cannot_carry(&location, access);
    let method = match (req.method, &stack_refusal) {
        (Some(Method::Cloudformation), Some(why)) => {
            return Err(Error::invalid("--method", format!("cloudformation: {why}")))
        }
        (Some(m), _) => m,
        (None, Some(why)) => {
            located.findings.push(format!("method: iam, since {why}"));
            Method::Iam
        }
        (None, None) if ask_defaults => match ask_method(prompter, false, true)? {
            Choice::Iam => Method::Iam,
            _ => Method::Cloudformation,
        },
        (None, None) => Method::Cloudformation,
    };
    located.findings.iter().for_each(|line| ctx.ui.info(line));
    let tidb_account = match req.tidb_account {
        Some(a) => a,
        None => ask(
            prompter,
            "TiDB Cloud Account ID (console: Add New ARN → Having trouble? Create Role ARN manually)",
            None,
        )?,
    };
    let removing = !req.remove_external_ids.is_empty();
    let external_id = match (req.external_id, req.no_external_id) {
        (Some(id), _) => Some(id),
        (None, true) => None,
        (None, false) if removing => None,
        (None, false) => Some(ask(
            prompter,
            "TiDB Cloud External ID (shown beside the Account ID)",
            None,
        )?),
    };
    let mut names = Names::new(prompter, ask_defaults);
    let default = defaults::role_name(&location, access);
    let (role_name, policy_name) =
        names.with_policy(req.role_name, "Role name", default, req.policy_name)?;
    let stack_name = match method {
        Method::Iam => None,
        Method::Cloudformation => {
            let default = defaults::stack_name(&role_name);
            Some(names.get(req.stack_name, "Stack name", default)?)
        }
    };
    Ok((
        method,
        RoleInputs {
            location,
            access,
            tidb_account,
            external_id,
            replace_external_ids: req.replace_external_ids,
            remove_external_ids: req.remove_external_ids,
            no_external_id: req.no_external_id,
            tier,
            role_name,
            policy_name,
            kms_keys: req.kms_keys,
            stack_name,
            guardrails: req.guardrails.recording(access),
        },
        located,
    ))
}

/// Without a terminal, names every flag the request lacks.
pub fn check_access_key(ctx: &Context, req: &AccessKeyRequest) -> Result<(), Error> {
    let missing = missing_basics(req.location.is_some(), req.access.is_some());
    require_flags(ctx, missing, Intent::Apply)
}

/// Fills the gaps in a [`check_access_key`]ed request, as [`role`] does.
pub async fn access_key(
    ctx: &Context,
    req: AccessKeyRequest,
    prompter: &mut dyn Prompter,
    clients: Option<&Clients>,
) -> Result<(UserInputs, Option<SecretPath>, Located), Error> {
    let ask_defaults = ctx.can_prompt && !ctx.yes;
    // Write access is never a default: without --access the question is asked, even with --yes.
    let access = match req.access {
        Some(a) => a,
        None => ask_access(prompter)?,
    };
    req.tier
        .unwrap_or_default()
        .supports(access)
        .map_err(|e| Error::invalid("--access", e))?;
    let location = match req.location {
        Some(l) => l,
        None => ask_location(prompter)?,
    };
    let (location, located) = detect::locate(clients, location).await?;
    located.findings.iter().for_each(|line| ctx.ui.info(line));
    let mut names = Names::new(prompter, ask_defaults);
    let default = defaults::user_name(&location, access);
    let (user_name, policy_name) =
        names.with_policy(req.user_name, "IAM user name", default, req.policy_name)?;
    Ok((
        UserInputs {
            location,
            access,
            user_name,
            policy_name,
            kms_keys: req.kms_keys,
            guardrails: req.guardrails.recording(access),
        },
        req.secret_file,
        located,
    ))
}

/// What every setup needs and has no default for: where, and which way.
fn missing_basics(location: bool, access: bool) -> Vec<&'static str> {
    let mut missing = Vec::new();
    if !location {
        missing.push("--uri");
    }
    if !access {
        missing.push("--access (import, export or both: nothing grants write access unasked)");
    }
    missing
}

/// The names a setup gives what it makes: the flag's; else, at a terminal without `--yes`,
/// asked with the default offered; else the default.
struct Names<'p> {
    prompter: &'p mut dyn Prompter,
    ask: bool,
}

impl<'p> Names<'p> {
    fn new(prompter: &'p mut dyn Prompter, ask: bool) -> Self {
        Names { prompter, ask }
    }

    /// A role's or a user's name, then its policy's, whose default follows the name chosen.
    fn with_policy<T>(
        &mut self,
        given: Option<T>,
        question: &str,
        default: T,
        policy: Option<PolicyName>,
    ) -> Result<(T, PolicyName), Error>
    where
        T: FromStr<Err = Invalid> + fmt::Display,
    {
        let name = self.get(given, question, default)?;
        let default_policy = defaults::policy_name(&name.to_string());
        let policy = self.get(policy, "Policy name", default_policy)?;
        Ok((name, policy))
    }

    fn get<T>(&mut self, given: Option<T>, question: &str, default: T) -> Result<T, Error>
    where
        T: FromStr<Err = Invalid> + fmt::Display,
    {
        match given {
            Some(name) => Ok(name),
            None if self.ask => ask(self.prompter, question, Some(&default.to_string())),
            None => Ok(default),
        }
    }
}
