//! Where a stack goes when no AWS region is configured. IAM is global and the tool's other
//! clients fall back to us-east-1 (`aws::resolve_region`), but a stack is regional: made there
//! silently, it would be found by no later run that has a region, and not where its user looks.

use crate::aws::Clients;
use crate::error::Error;
use crate::facts::Located;
use crate::find::FoundRole;
use crate::inputs::Region;
use crate::prompt::Prompter;
use crate::Context;

/// The region for the stack of a setup made where none of `--region`, `AWS_REGION` and the
/// profile's `region` is set; `None` when one is. A role that a stack made says where its
/// stack is (its `serverless-s3-setup:region` tag); else the stack goes to the bucket's region.
/// A person at a terminal is asked, with that as the default; a script is told where it goes.
pub(super) async fn stack_region(
    ctx: &Context,
    prompter: &mut dyn Prompter,
    clients: &Clients,
    bucket: &str,
    located: &Located,
    found: Option<&FoundRole>,
) -> Result<Option<Region>, Error> {
    if clients.region_given() {
        return Ok(None);
    }
    let held = found
        .and_then(|f| f.role.info.as_ref())
        .and_then(|r| r.stack_region.clone());
    let (default, why) = match held {
        Some(region) => (region, "where the role's stack is"),
        None => {
            let region = match &located.region {
                Some(region) => region.clone(),
                None => clients.bucket_region(bucket).await?,
            };
            (region, "the bucket's region")
        }
    };
    let unset = "no AWS region is configured (--region, AWS_REGION, or the profile's `region`)";
    let chosen = if ctx.can_prompt && !ctx.yes {
        prompter.note(&format!(
            "{unset}; a CloudFormation stack lives in one region ({default} is {why})"
        ));
        prompter.input("Region for the stack", Some(&default), &|answer| {
            answer
                .parse::<Region>()
                .map(|_| ())
                .map_err(|e| format!("the region {e}"))
        })?
    } else {
        ctx.ui
            .info(format!("{unset}: the stack goes to {default}, {why}"));
        default
    };
    Ok(Some(chosen.parse().map_err(|e| {
        Error::Other(anyhow::anyhow!("the stack's region {e}"))
    })?))
}
