//! `verify`: reads a role or user, its policies, the bucket and its key, and judges them
//! against TiDB Cloud's troubleshooting list (the checks are `verify`'s); names each broken
//! item and its fix.

use crate::aws::{iam, Clients};
use crate::detect;
use crate::error::Error;
use crate::inputs::Access;
use crate::requests::VerifyRequest;
use crate::verify::{self, Report};
use crate::Context;

/// Runs `verify`. A principal that is not found is looked up again with a short backoff, since
/// IAM takes a moment to show what was just made.
pub async fn run(ctx: &Context, req: VerifyRequest) -> Result<Report, Error> {
    let missing = req.missing();
    if !missing.is_empty() {
        return Err(Error::Missing {
            flags: missing.into_iter().map(str::to_string).collect(),
            hint: String::new(),
        });
    }
    let subject = req.subject.expect("checked");
    let clients = Clients::connect(&ctx.conn, &ctx.ui).await?;
    // A file or pattern URI is checked as the directory it is served by, as `role` grants it.
    let (location, located) =
        detect::locate(Some(&clients), req.location.expect("checked")).await?;
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
            ctx.ui.info(format!("checking access: {why}"));
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
