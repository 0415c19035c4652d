//! Fills the gaps in a command's request: asked at a terminal, defaulted with `--yes`, or
//! named as missing flags without one.

use std::io::IsTerminal;
use std::str::FromStr;

use crate::aws::Clients;
use crate::error::Error;
use crate::facts::Located;
use crate::find::{self, FoundRole, FoundUser};
use crate::inputs::{
    defaults, Access, AccountId, ExternalId, Invalid, Partition, PolicyName, RoleName, S3Location,
    SecretPath, StackName, Tier, UserName,
};
use crate::output::Format;
use crate::plan::{self, Chosen, Method, RoleInputs, UserInputs};
use crate::prompt::Prompter;
use crate::requests::{AccessKeyRequest, RoleRequest, SavedPlan};
use crate::{detect, Context};

use super::form::{self, Answers, Field};
use super::{ask_access, ask_location, ask_method, ask_tier, require_flags, Choice, Intent};

/// Without a terminal, names every flag the request lacks, before anything else happens; and
/// refuses what the flags alone show can never work.
pub(crate) fn check_role(ctx: &Context, req: &RoleRequest) -> Result<(), Error> {
    // TiDB Cloud runs only in AWS's commercial partition (pingcap/docs
    // `tidb-cloud/cloud_providers_and_regions.md`), and AssumeRole never crosses partitions
    // ("Federating AWS identities across AWS partitions", IAM User Guide).
    if let Some(region) = ctx
        .conn
        .region
        .as_deref()
        .filter(|r| Partition::for_region(r) != Partition::Aws)
    {
        return Err(Error::invalid(
            "--region",
            format!(
                "{region} is in AWS's {} partition; TiDB Cloud runs only in the commercial partition (aws), and a role cannot be assumed across partitions, so a role made there could never be used by TiDB Cloud",
                Partition::for_region(region)
            ),
        ));
    }
    req.validate()?;
    require_flags(ctx, req.missing(), intent(&req.saved))
}

/// A run that only saves its plan asks for no confirmation.
fn intent(saved: &SavedPlan) -> Intent {
    match saved {
        SavedPlan::Write(_) => Intent::Plan,
        _ => Intent::Apply,
    }
}

/// Says what was found before the survey as it is found: a person at a terminal answers the
/// questions by it, and a run under `--yes` shows no plan. A plan shown whole (`--dry-run`,
/// `--plan-out`) says it under Detected, so it is not said twice.
fn say_found(ctx: &Context, saved: &SavedPlan, located: &Located) {
    if !(ctx.dry_run || matches!(saved, SavedPlan::Write(_))) {
        located.findings.iter().for_each(|line| ctx.ui.info(line));
    }
}

/// Fills the gaps in a [`check_role`]ed request from the user at a terminal, or with the defaults.
/// A URI that may name a file or a folder is settled with the bucket (when `clients` is
/// there) before the names are worked out. With AWS at hand, the role that already serves
/// the location is found first: its name and its method are then not asked, and TiDB Cloud's
/// account ID is checked against the caller's own.
pub(crate) async fn role(
    ctx: &Context,
    mut req: RoleRequest,
    prompter: &mut dyn Prompter,
    clients: Option<&Clients>,
) -> Result<(Method, RoleInputs, Located, Option<FoundRole>), Error> {
    let ask_defaults = ctx.can_prompt && !ctx.yes;
    let (access, tier, tier_chosen) = access_and_tier(&req, prompter, ask_defaults)?;
    let location = match req.location.take() {
        Some(l) => l,
        None => ask_location(prompter, None)?,
    };
    let (location, mut located) = detect::locate(clients, location).await?;
    let stack_refusal = crate::template::cannot_carry(&location, access);
    if let (Some(Method::Cloudformation), Some(why)) = (req.method, &stack_refusal) {
        return Err(Error::invalid("--method", format!("cloudformation: {why}")));
    }
    let found = serving_role(clients, &location, access, &req, &mut located).await?;
    let existing = found.as_ref().filter(|f| f.role.managed());
    let method = method(
        &req,
        existing,
        stack_refusal,
        &mut located,
        prompter,
        ask_defaults,
    )?;
    say_found(ctx, &req.saved, &located);
    let own = found.as_ref().map(|f| &f.caller.account);
    if let Some(a) = &req.tidb_account {
        plan::refuse_own_account(own, a)?;
    }
    // The names: as given; else those of the role that serves the location, unasked; else
    // the defaults, asked at a terminal.
    let ask_names = ask_defaults && existing.is_none();
    let role_default = found.as_ref().map_or_else(
        || defaults::role_name(&location, access),
        |f| f.role.name.clone(),
    );
    let held_stack = held_stack(existing);
    let questions = RoleQuestions {
        req: &req,
        own,
        ask_names,
        stack: method == Method::Cloudformation,
        role_default: &role_default,
        held_stack: held_stack.as_ref(),
    };
    let answers = form::ask(prompter, &questions.fields())?;
    let (tidb_account, external_id) = questions.trust(&answers)?;
    let (role_name, policy_name, stack_name) = questions.names(&answers)?;
    let chosen = Chosen {
        policy_name: req.policy_name.is_some()
            || policy_name != defaults::policy_name(role_name.as_str()),
        tier: tier_chosen,
    };
    let inputs = RoleInputs {
        location,
        access,
        tidb_account,
        external_id,
        replace_external_ids: req.replace_external_ids,
        remove_external_ids: req.remove_external_ids,
        more_external_ids: req.more_external_ids,
        no_external_id: req.no_external_id,
        tier,
        role_name,
        policy_name,
        kms_keys: req.kms_keys,
        remove_kms_keys: req.remove_kms_keys,
        stack_name,
        guardrails: req.guardrails,
        chosen,
        set: req.set,
    };
    Ok((method, inputs, located, found))
}

/// The stack that made the role found, when this tool made the role: a rerun keeps it. Its
/// name is in the role's tag.
fn held_stack(existing: Option<&FoundRole>) -> Option<StackName> {
    existing
        .and_then(|f| f.role.info.as_ref()?.stack.as_deref())
        .and_then(|s| s.parse().ok())
}

/// The role that already serves the location, with the caller, when AWS is at hand; a
/// managed one that is updated says so.
async fn serving_role(
    clients: Option<&Clients>,
    location: &S3Location,
    access: Access,
    req: &RoleRequest,
    located: &mut Located,
) -> Result<Option<FoundRole>, Error> {
    let Some(c) = clients else {
        return Ok(None);
    };
    let found = find::role(
        c,
        location,
        access,
        req.role_name.as_ref(),
        req.stack_name.as_ref(),
        located,
    )
    .await?;
    located.findings.extend(found.role.serving(location));
    Ok(Some(found))
}

/// The text questions of a role's setup, those its flags left out, asked as one form: Esc
/// goes back a question, and at the first of them back to the wizard's way in.
struct RoleQuestions<'a> {
    req: &'a RoleRequest,
    own: Option<&'a AccountId>,
    /// Whether names are asked (at a terminal without `--yes`, for a role still to make).
    ask_names: bool,
    stack: bool,
    role_default: &'a RoleName,
    held_stack: Option<&'a StackName>,
}

impl<'a> RoleQuestions<'a> {
    /// TiDB Cloud's account and the cluster's external ID, as given or answered.
    fn trust(&self, answers: &Answers) -> Result<(AccountId, Option<ExternalId>), Error> {
        let req = self.req;
        let account = match &req.tidb_account {
            Some(a) => a.clone(),
            None => answers
                .parse("--tidb-account-id")?
                .ok_or_else(|| Error::missing(&["--tidb-account-id"]))?,
        };
        let external_id = req.external_id.clone().or(answers.parse("--external-id")?);
        Ok((account, external_id))
    }

    /// The names, as given, else as answered, else their defaults (a stack's: the one the
    /// role's stack has).
    fn names(&self, answers: &Answers) -> Result<(RoleName, PolicyName, Option<StackName>), Error> {
        let req = self.req;
        let role = answers.settle(req.role_name.clone(), "--role-name", || {
            self.role_default.clone()
        })?;
        let policy = answers.settle(req.policy_name.clone(), "--policy-name", || {
            defaults::policy_name(role.as_str())
        })?;
        let stack = if self.stack {
            Some(answers.settle(req.stack_name.clone(), "--stack-name", || {
                self.held_stack
                    .cloned()
                    .unwrap_or_else(|| defaults::stack_name(&role))
            })?)
        } else {
            None
        };
        Ok((role, policy, stack))
    }

    fn fields(&self) -> Vec<Field<'a>> {
        let req = self.req;
        let mut fields = Vec::new();
        if req.tidb_account.is_none() {
            fields.push(tidb_account_field(self.own));
        }
        let removing = !req.remove_external_ids.is_empty();
        if req.external_id.is_none() && !req.no_external_id && !removing {
            fields.push(Field::parsed::<ExternalId>(
                "TiDB Cloud External ID (shown beside the Account ID)",
                "--external-id",
            ));
        }
        if !self.ask_names {
            return fields;
        }
        let (names, role) = name_fields::<RoleName>(
            req.role_name.as_ref().map(RoleName::as_str),
            ("Role name", "--role-name"),
            self.role_default.as_str(),
            req.policy_name.is_some(),
        );
        fields.extend(names);
        if self.stack && req.stack_name.is_none() {
            let held = self.held_stack;
            fields.push(
                Field::parsed::<StackName>("Stack name", "--stack-name").default(move |a| {
                    let default = match role(a).parse::<RoleName>() {
                        Ok(r) => defaults::stack_name(&r),
                        Err(_) => return held.map(ToString::to_string),
                    };
                    Some(held.map_or_else(|| default.to_string(), ToString::to_string))
                }),
            );
        }
        fields
    }
}

/// The access (always asked when not given: write access is never a default, even with
/// `--yes`), and the tier with whether the user chose it.
fn access_and_tier(
    req: &RoleRequest,
    prompter: &mut dyn Prompter,
    ask_defaults: bool,
) -> Result<(Access, Tier, bool), Error> {
    let access = match req.access {
        Some(a) => a,
        None => ask_access(prompter, Access::Import)?,
    };
    // Only an import differs by tier (Dedicated also reads the bucket's location).
    let ask_tier_too = ask_defaults && access == Access::Import;
    let tier = match req.tier {
        Some(t) => t,
        None if ask_tier_too => ask_tier(prompter, None)?,
        None => Tier::default(),
    };
    tier.supports(access)
        .map_err(|e| Error::invalid("--access", e))?;
    Ok((access, tier, req.tier.is_some() || ask_tier_too))
}

/// The method: as given, unless the wizard asked it before the role was found (the role
/// keeps the way it was made); when not given, a role that exists keeps the way it was made;
/// a location no stack can carry takes IAM; else asked at a terminal, or CloudFormation.
fn method(
    req: &RoleRequest,
    existing: Option<&FoundRole>,
    stack_refusal: Option<String>,
    located: &mut Located,
    prompter: &mut dyn Prompter,
    ask_defaults: bool,
) -> Result<Method, Error> {
    match (req.method, existing) {
        (Some(_), Some(f)) if req.method_asked => return Ok(made_as(f, located)),
        (Some(m), _) => return Ok(m),
        (None, _) => {}
    }
    if let Some(f) = existing {
        return Ok(made_as(f, located));
    }
    if let Some(why) = stack_refusal {
        located.findings.push(format!("method: iam, since {why}"));
        return Ok(Method::Iam);
    }
    if !ask_defaults {
        return Ok(Method::Cloudformation);
    }
    let method = match ask_method(prompter, false, true, None)? {
        Choice::Iam => Method::Iam,
        _ => Method::Cloudformation,
    };
    crate::signals::answered("--method", method_name(method));
    Ok(method)
}

/// The way a role that exists was made, said as a finding.
fn made_as(f: &FoundRole, located: &mut Located) -> Method {
    let made_by_stack = f.role.info.as_ref().is_some_and(|r| r.stack.is_some());
    let method = if made_by_stack {
        Method::Cloudformation
    } else {
        Method::Iam
    };
    located.findings.push(format!(
        "method: {}, as role {} was made",
        method_name(method),
        f.role.name
    ));
    method
}

fn method_name(method: Method) -> &'static str {
    match method {
        Method::Iam => "iam",
        Method::Cloudformation => "cloudformation",
    }
}

/// The questions for a role's or a user's name (`flag`), unless `given`, and for its policy's
/// name, unless given, whose default follows the name; with the name as given, answered or
/// defaulted, for other defaults that follow it.
fn name_fields<'a, T: FromStr<Err = Invalid>>(
    given: Option<&'a str>,
    (question, flag): (&'a str, &'static str),
    default: &'a str,
    policy_given: bool,
) -> (Vec<Field<'a>>, impl Fn(&Answers) -> String + Copy + 'a) {
    let name = move |a: &Answers| given.or_else(|| a.get(flag)).unwrap_or(default).to_string();
    let mut fields = Vec::new();
    if given.is_none() {
        fields.push(Field::parsed::<T>(question, flag).default(move |_| Some(default.into())));
    }
    if !policy_given {
        fields.push(
            Field::parsed::<PolicyName>("Policy name", "--policy-name")
                .default(move |a| Some(defaults::policy_name(&name(a)).to_string())),
        );
    }
    (fields, name)
}

/// TiDB Cloud's account ID, asked again when it is the caller's own: a common slip, since
/// those are the 12 digits at hand.
pub(super) fn tidb_account_field(own: Option<&AccountId>) -> Field<'_> {
    Field::checked("TiDB Cloud Account ID", "--tidb-account-id", move |s| {
        let id: AccountId = s.parse().map_err(|e: Invalid| e.0)?;
        plan::refuse_own_account(own, &id).map_err(|e| match e {
            Error::Invalid { rule, .. } => rule,
            other => other.to_string(),
        })
    })
    .note("The console's dialog shows it: Add New ARN → Having trouble? Create Role ARN manually.")
}

/// Without a terminal, names every flag the request lacks.
pub(crate) fn check_access_key(ctx: &Context, req: &AccessKeyRequest) -> Result<(), Error> {
    req.validate()?;
    require_flags(ctx, req.missing(), intent(&req.saved))?;
    let makes_a_key = !ctx.dry_run && !matches!(req.saved, SavedPlan::Write(_));
    let printed = ctx.format == Format::Text && req.secret_file.is_none();
    if makes_a_key && printed && !std::io::stdout().is_terminal() {
        // A secret printed into a pipe lands in a file or a CI log, where it outlives the run.
        return Err(Error::invalid(
            "--secret-file",
            "is needed when stdout is not a terminal, so that the secret does not land in a log: pass --secret-file PATH (a JSON file, mode 0600 on Unix), or -o json for a program that reads the key from stdout",
        ));
    }
    Ok(())
}

/// Fills the gaps in a [`check_access_key`]ed request, as [`role`] does: the user that
/// already serves the location is found first, and its name is then not asked.
pub(crate) async fn access_key(
    ctx: &Context,
    req: AccessKeyRequest,
    prompter: &mut dyn Prompter,
    clients: Option<&Clients>,
) -> Result<(UserInputs, Option<SecretPath>, Located, Option<FoundUser>), Error> {
    let ask_defaults = ctx.can_prompt && !ctx.yes;
    // Write access is never a default: without --access the question is asked, even with --yes.
    let access = match req.access {
        Some(a) => a,
        None => ask_access(prompter, Access::Import)?,
    };
    req.tier
        .unwrap_or_default()
        .supports(access)
        .map_err(|e| Error::invalid("--access", e))?;
    let location = match req.location {
        Some(l) => l,
        None => ask_location(prompter, None)?,
    };
    let (location, mut located) = detect::locate(clients, location).await?;
    let found = match clients {
        Some(c) => {
            Some(find::user(c, &location, access, req.user_name.as_ref(), &mut located).await?)
        }
        None => None,
    };
    let existing = found.as_ref().filter(|f| f.user.managed());
    located
        .findings
        .extend(found.as_ref().and_then(|f| f.user.serving(&location)));
    say_found(ctx, &req.saved, &located);
    // The names: as given; else those of the user that serves the location, unasked; else
    // the defaults, asked at a terminal.
    let default = found.as_ref().map_or_else(
        || defaults::user_name(&location, access),
        |f| f.user.name.clone(),
    );
    let answers = if ask_defaults && existing.is_none() {
        let (fields, _) = name_fields::<UserName>(
            req.user_name.as_ref().map(UserName::as_str),
            ("IAM user name", "--user-name"),
            default.as_str(),
            req.policy_name.is_some(),
        );
        form::ask(prompter, &fields)?
    } else {
        Answers::default()
    };
    let user_name = answers.settle(req.user_name, "--user-name", || default)?;
    let policy_given = req.policy_name.is_some();
    let policy_name = answers.settle(req.policy_name, "--policy-name", || {
        defaults::policy_name(user_name.as_str())
    })?;
    let chosen = Chosen {
        policy_name: policy_given || policy_name != defaults::policy_name(user_name.as_str()),
        tier: req.tier.is_some(),
    };
    Ok((
        UserInputs {
            location,
            access,
            user_name,
            policy_name,
            kms_keys: req.kms_keys,
            remove_kms_keys: req.remove_kms_keys,
            guardrails: req.guardrails,
            chosen,
            rotate: req.rotate,
            probe: req.probe,
        },
        req.secret_file,
        located,
        found,
    ))
}
