//! `verify`: reads a role or user, its policies, the bucket and its key, and judges them
//! against TiDB Cloud's troubleshooting list (the checks are `verify`'s); names each broken
//! item and its fix.

use crate::aws::{cloudformation, iam, Clients};
use crate::detect;
use crate::error::Error;
use crate::inputs::{Access, ExternalId, S3Location, Tier, Who, ACCESS_TAG, LOCATION_TAG};
use crate::policy;
use crate::requests::VerifyRequest;
use crate::verify::{self, Report, Subject};
use crate::Context;

/// Runs `verify`. A principal that is not found is looked up again with a short backoff, since
/// IAM takes a moment to show what was just made.
pub async fn run(ctx: &Context, mut req: VerifyRequest) -> Result<Report, Error> {
    let Some(subject) = req.subject.clone() else {
        return Err(Error::missing(&req.missing()));
    };
    // A role this tool made records what it serves: it is read for what was not given, and a
    // flag is asked for only where the role cannot tell.
    let mut connected = None;
    let mut trust_read = false;
    if subject.is_role() && !req.missing().is_empty() {
        let clients = Clients::connect(&ctx.conn, &ctx.ui).await?;
        trust_read = told_by_role(ctx, &clients, &subject, &mut req).await?;
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
    let Some(role) = iam::get_role(&clients.iam, name.as_str()).await? else {
        return Ok(false);
    };
    if !role.managed {
        return Ok(false);
    }
    let tag = |key: &str| {
        role.tags
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    };
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
    let param = |key: &str| stack.as_ref()?.parameters.get(key).map(String::as_str);
    let mut told = Vec::new();
    if req.location.is_none() {
        // The role's tag holds a folder URI, or a fingerprint of one IAM's tags cannot hold,
        // which does not parse.
        let uri = match param("BucketName") {
            Some(bucket) => Some(crate::output::uri(
                bucket,
                param("ObjectPrefix").unwrap_or(""),
            )),
            None => tag(LOCATION_TAG).map(str::to_string),
        };
        if let Some(location) = uri.and_then(|v| v.parse::<S3Location>().ok()) {
            told.push(format!("--uri {location}"));
            req.location = Some(location);
        }
    }
    if req.access.is_none() {
        let access = param("Access").or_else(|| tag(ACCESS_TAG));
        if let Some(access) = access.and_then(|v| v.parse::<Access>().ok()) {
            told.push(format!("--access {access}"));
            req.access = Some(access);
        }
    }
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
