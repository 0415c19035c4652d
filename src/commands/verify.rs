//! `verify`: reads a role or user, its policies, the bucket and its key, and judges them
//! against TiDB Cloud's troubleshooting list (the checks are `verify`'s); names each broken
//! item and its fix.

use crate::aws::{cloudformation, iam, Clients};
use crate::detect;
use crate::error::{AwsError, Error};
use crate::facts::StackInfo;
use crate::inputs::{
    Access, ExternalId, S3Location, Tier, UserName, Who, ACCESS_TAG, LOCATION_TAG, MANAGED_BY_VALUE,
};
use crate::policy;
use crate::prompt::Prompter;
use crate::requests::VerifyRequest;
use crate::verify::{self, Report, Subject};
use crate::Context;

use super::made::Offer;

/// Runs `verify`. A principal that is not found is looked up again with a short backoff, since
/// IAM takes a moment to show what was just made.
pub async fn run(
    ctx: &Context,
    mut req: VerifyRequest,
    prompter: &mut dyn Prompter,
) -> Result<Report, Error> {
    let mut connected = None;
    // At a terminal, with nothing named, what the tool made is listed to choose from.
    if req.subject.is_none() && ctx.can_prompt {
        let clients = Clients::connect(&ctx.conn, &ctx.ui).await?;
        req.subject = chosen(ctx, &clients, prompter).await?;
        connected = Some(clients);
    }
    let Some(subject) = req.subject.clone() else {
        return Err(Error::missing(&req.missing()));
    };
    // A role or user this tool made records what it serves: it is read for what was not
    // given, and a flag is asked for only where it cannot tell.
    let mut trust_read = false;
    if !req.missing().is_empty() {
        let clients = match connected.take() {
            Some(clients) => clients,
            None => Clients::connect(&ctx.conn, &ctx.ui).await?,
        };
        trust_read = match &subject.who {
            Who::Role(_) => told_by_role(ctx, &clients, &subject, &mut req).await?,
            Who::User(name) => {
                told_by_user(ctx, &clients, name, &mut req).await?;
                false
            }
        };
        connected = Some(clients);
    }
    let mut lacking = req.missing();
    if trust_read {
        // Several external IDs: the trust check names each.
        lacking.retain(|flag| !flag.starts_with("--external-id"));
    }
    if !lacking.is_empty() {
        return Err(Error::missing(&lacking));
    }
    let clients = match connected {
        Some(clients) => clients,
        None => Clients::connect(&ctx.conn, &ctx.ui).await?,
    };
    judge(ctx, &clients, subject, req).await
}

/// The role or user the tool made that a person chooses, and the command that names it, for
/// next time; `None` when the tool made nothing here.
async fn chosen(
    ctx: &Context,
    clients: &Clients,
    prompter: &mut dyn Prompter,
) -> Result<Option<Subject>, Error> {
    let question = "What should be checked?";
    let offer = Offer::Principals;
    let chosen = super::made::choose(ctx, clients, prompter, question, offer).await?;
    let Some((who, arn)) = chosen.and_then(|made| made.principal) else {
        return Ok(None);
    };
    let (subject, flag, named) = match (who, arn) {
        (Who::Role(name), arn) => (Subject::role_named(arn.clone(), name), "--role-arn", arn),
        (Who::User(name), _) => (Subject::user(name.clone()), "--user-name", name.to_string()),
    };
    let again = super::made::again(ctx, vec!["verify".into(), flag.into(), named], None);
    ctx.ui
        .info(format!("To check it without questions: {again}"));
    Ok(Some(subject))
}

/// Reads and judges what a complete request names (a flag, or a file's entry).
pub(crate) async fn judge(
    ctx: &Context,
    clients: &Clients,
    subject: Subject,
    req: VerifyRequest,
) -> Result<Report, Error> {
    let clients = clients.clone();
    // A file or pattern URI is checked as the directory it is served by, as `role` grants it.
    let (location, located) =
        detect::locate(Some(&clients), req.location.clone().expect("checked")).await?;
    located.findings.iter().for_each(|line| ctx.ui.info(line));
    let mut e = verify::Expectations {
        location,
        access: req.access.unwrap_or(Access::Import),
        tidb_account: req.tidb_account,
        external_id: req.external_id,
        bucket_location: !subject.is_role() || req.tier.unwrap_or_default().reads_bucket_location(),
    };
    let step = ctx.ui.step(format!("Checking {}", subject.label()));
    let evidence = async {
        let mut delay = std::time::Duration::from_millis(500);
        let mut evidence = verify::gather(&clients, &subject, &e).await;
        for _ in 0..3 {
            match &evidence {
                Ok(ev) if ev.principal_arn.is_none() => {
                    tokio::time::sleep(delay).await;
                    delay *= 2;
                    evidence = verify::gather(&clients, &subject, &e).await;
                }
                _ => break,
            }
        }
        let mut evidence = evidence?;
        if req.access.is_none() && evidence.principal_arn.is_some() {
            let (access, why) = verify::access_of(&evidence, &e);
            step.info(format!("checking access: {why}"));
            e.access = access;
        }
        if let Some(arn) = &evidence.principal_arn {
            let needed = verify::required(evidence.partition, &e, None);
            let request = verify::TidbRequest::new(&subject, &e, &evidence);
            evidence.simulated =
                iam::simulate(&clients.iam, arn, &verify::samples(&request, &needed)).await;
        }
        Ok::<_, Error>(evidence)
    }
    .await;
    let evidence = step.end(evidence, |_| "done".into())?;
    Ok(verify::checks(
        &subject,
        &e,
        &evidence,
        &verify::rerun(&subject, &e),
    ))
}

/// Fills what a role this tool made tells of itself, for the flags not given: the folder it
/// serves and its access (its tags), TiDB Cloud's account and the external ID (its trust).
/// Says what it took. Returns whether the trust held several external IDs, which then need
/// no flag: the trust check names each.
async fn told_by_role(
    ctx: &Context,
    clients: &Clients,
    subject: &Subject,
    req: &mut VerifyRequest,
) -> Result<bool, Error> {
    let Who::Role(name) = &subject.who else {
        return Ok(false);
    };
    let read = || iam::get_role(&clients.iam, name.as_str());
    let Some(role) = found_again(read).await? else {
        return Err(missing("--role-arn", &subject.who));
    };
    if !role.managed {
        return Ok(false);
    }
    let principal = role.principal();
    let tag = |key: &str| principal.tag(key);
    // A stack's role: the stack's parameters hold the folder, the access and the tier.
    let stack = match &role.stack {
        Some(stack) => {
            let region = role
                .stack_region
                .as_deref()
                .unwrap_or_else(|| clients.region());
            cloudformation::describe_stack(&clients.cfn_in(region), stack).await?
        }
        None => None,
    };
    let param = |key: &str| stack.as_ref()?.parameter(key);
    let uri = match stack.as_ref().and_then(StackInfo::folder) {
        Some(folder) => Some(folder),
        None => tag(LOCATION_TAG).map(str::to_string),
    };
    let access = param("Access").or_else(|| tag(ACCESS_TAG));
    let mut told = told_by_record(req, uri, access);
    if req.tier.is_none() {
        if let Some(tier) = param("Tier").and_then(|v| v.parse::<Tier>().ok()) {
            told.push(format!("--tier {tier}"));
            req.tier = Some(tier);
        }
    }
    let several = told_by_trust(role.trust.as_ref(), req, &mut told);
    if !told.is_empty() {
        ctx.ui.info(format!(
            "from role {name}, as this tool made it: {}",
            told.join(" ")
        ));
    }
    Ok(several)
}

/// A user this tool made: its tags hold the location and the access.
async fn told_by_user(
    ctx: &Context,
    clients: &Clients,
    name: &UserName,
    req: &mut VerifyRequest,
) -> Result<(), Error> {
    let Some(user) = found_again(|| iam::get_user(&clients.iam, name.as_str())).await? else {
        return Err(missing("--user-name", &Who::User(name.clone())));
    };
    if !user.managed {
        return Ok(());
    }
    let user = user.principal();
    let told = told_by_record(
        req,
        user.tag(LOCATION_TAG).map(str::to_string),
        user.tag(ACCESS_TAG),
    );
    if !told.is_empty() {
        ctx.ui.info(format!(
            "from user {name}, as this tool made it: {}",
            told.join(" ")
        ));
    }
    Ok(())
}

/// Reads again, with a short backoff, what is not there: IAM takes a moment to show what was
/// just made (as `judge` does).
async fn found_again<T, F, R>(read: F) -> Result<Option<T>, AwsError>
where
    F: Fn() -> R,
    R: std::future::Future<Output = Result<Option<T>, AwsError>>,
{
    let mut delay = std::time::Duration::from_millis(500);
    let mut found = read().await?;
    for _ in 0..3 {
        if found.is_some() {
            break;
        }
        tokio::time::sleep(delay).await;
        delay *= 2;
        found = read().await?;
    }
    Ok(found)
}

/// A role or user named alone that is not there: nothing records what it should serve, so
/// the flags that would say so are beside the point.
fn missing(flag: &str, who: &Who) -> Error {
    Error::NotFound(format!(
        "{flag}: {who} does not exist in this account\n  fix: `{MANAGED_BY_VALUE} list` shows the stacks, roles and users this tool made here"
    ))
}

/// The location and the access that a role or user records, for the flags not given; the
/// flags it told. A location tag that holds a fingerprint (of a URI IAM's tags cannot hold)
/// does not parse, and tells nothing.
fn told_by_record(
    req: &mut VerifyRequest,
    uri: Option<String>,
    access: Option<&str>,
) -> Vec<String> {
    let mut told = Vec::new();
    if req.location.is_none() {
        if let Some(location) = uri.and_then(|v| v.parse::<S3Location>().ok()) {
            told.push(format!("--uri {location}"));
            req.location = Some(location);
        }
    }
    if req.access.is_none() {
        if let Some(access) = access.and_then(|v| v.parse::<Access>().ok()) {
            told.push(format!("--access {access}"));
            req.access = Some(access);
        }
    }
    told
}

/// TiDB Cloud's account and the external ID, from a trust policy this tool wrote. Returns
/// whether it holds several external IDs (then none is taken: the trust check names each).
fn told_by_trust(
    trust: Option<&serde_json::Value>,
    req: &mut VerifyRequest,
    told: &mut Vec<String>,
) -> bool {
    let mut several = false;
    let trusted = trust.and_then(|t| Some((t, policy::trusted_account(t)?)));
    if let Some((trust, (partition, account))) = trusted {
        if req.tidb_account.is_none() {
            told.push(format!("--tidb-account-id {account}"));
            req.tidb_account = Some(account.clone());
        }
        let unsaid = req.external_id.is_none() && !req.no_external_id;
        if unsaid && req.tidb_account.as_ref() == Some(&account) {
            match policy::trusted_external_ids(trust, partition, &account).as_deref() {
                Some([one]) => {
                    if let Ok(id) = one.parse::<ExternalId>() {
                        told.push(format!("--external-id {id}"));
                        req.external_id = Some(id);
                    }
                }
                Some([]) => {
                    told.push("--no-external-id".into());
                    req.no_external_id = true;
                }
                Some(_) => several = true,
                None => {}
            }
        }
    }
    several
}
