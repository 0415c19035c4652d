//! STS: who the caller is (account, ARN, partition).

use aws_sdk_sts::Client;

use super::send::send;
use crate::error::Error;
use crate::facts::Caller;
use crate::inputs::Partition;

pub(crate) async fn caller_identity(client: &Client) -> Result<Caller, Error> {
    let out = send(
        "sts:GetCallerIdentity",
        "",
        client.get_caller_identity().send(),
    )
    .await?;
    let arn = out.arn().unwrap_or_default().to_string();
    tracing::debug!("sts:GetCallerIdentity -> {arn}");
    let account = out
        .account()
        .unwrap_or_default()
        .parse()
        .map_err(|_| anyhow::anyhow!("sts:GetCallerIdentity returned no valid account ID"))?;
    Ok(Caller {
        partition: Partition::of_arn(&arn).unwrap_or(Partition::Aws),
        account,
        arn,
    })
}
