//! CloudFormation: the stack's description, events, create, update and delete, each sent once
//! per run with a `ClientRequestToken`. Waiting on a stack is `apply::wait`'s, not this file's.

use std::collections::BTreeMap;
use std::time::Duration;

use aws_sdk_cloudformation::types::{Capability, Parameter, Stack, Tag};
use aws_sdk_cloudformation::Client;

use super::send::send;
use super::Run;
use crate::error::AwsError;
use crate::facts::StackInfo;
use crate::inputs::TagPair;
use crate::inputs::{MANAGED_BY_KEY, MANAGED_BY_VALUE};

/// The stack tag that records which version of the template made the stack.
pub(crate) const TEMPLATE_TAG: &str = "serverless-s3-setup-template";

/// The stack tag that records the run that last created or updated the stack, so that a run
/// whose own CreateStack was retried after a lost answer knows the stack for its own.
pub(crate) const RUN_TAG: &str = "serverless-s3-setup-run";

/// One stack event, oldest-first order is up to the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct StackEvent {
    pub(crate) id: String,
    /// Milliseconds since the Unix epoch.
    pub(crate) timestamp: i64,
    pub(crate) logical_id: String,
    pub(crate) resource_type: String,
    pub(crate) status: String,
    pub(crate) reason: Option<String>,
}

/// CloudFormation answers a missing stack with a generic ValidationError; only the message
/// tells it apart.
fn is_missing(e: &AwsError) -> bool {
    e.code.as_deref() == Some("ValidationError") && e.message.contains("does not exist")
}

/// "No updates are to be performed" is how CloudFormation says an update changes nothing:
/// success, not an error.
pub(crate) fn is_no_updates(code: Option<&str>, message: &str) -> bool {
    code == Some("ValidationError") && message.contains("No updates are to be performed")
}

pub(crate) async fn describe_stack(
    client: &Client,
    name: &str,
) -> Result<Option<StackInfo>, AwsError> {
    let request = client.describe_stacks().stack_name(name);
    let out = match send("cloudformation:DescribeStacks", name, request.send()).await {
        Ok(out) => out,
        Err(e) if is_missing(&e) => return Ok(None),
        Err(e) => return Err(e),
    };
    let info = out.stacks().first().and_then(stack_info);
    let status = info.as_ref().map_or("gone", |s| s.status.as_str());
    tracing::debug!("cloudformation:DescribeStacks {name} -> {status}");
    Ok(info)
}

/// Every stack of the client's region that this tool made, by name (DescribeStacks without a
/// name describes every stack that is not deleted, a page of them at a time).
pub(crate) async fn stacks(client: &Client) -> Result<Vec<(String, StackInfo)>, AwsError> {
    let request = client
        .describe_stacks()
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>();
    let stacks = send("cloudformation:DescribeStacks", "", request).await?;
    Ok(stacks
        .iter()
        .filter_map(|s| Some((s.stack_name()?.to_string(), stack_info(s)?)))
        .filter(|(_, s)| s.managed)
        .collect())
}

/// What a stack's description holds; `None` for a deleted stack.
fn stack_info(stack: &Stack) -> Option<StackInfo> {
    let status = stack
        .stack_status()
        .map(|s| s.as_str().to_string())
        .unwrap_or_default();
    if status == "DELETE_COMPLETE" {
        return None;
    }
    let tag = |key: &str| {
        stack
            .tags()
            .iter()
            .find(|t| t.key() == Some(key))
            .and_then(|t| t.value())
            .map(str::to_string)
    };
    Some(StackInfo {
        id: stack.stack_id().unwrap_or_default().to_string(),
        status,
        managed: tag(MANAGED_BY_KEY).as_deref() == Some(MANAGED_BY_VALUE),
        template_tag: tag(TEMPLATE_TAG),
        status_reason: stack.stack_status_reason().map(str::to_string),
        tags: stack
            .tags()
            .iter()
            .filter_map(|t| Some((t.key()?.to_string(), t.value()?.to_string())))
            .collect(),
        parameters: stack
            .parameters()
            .iter()
            .filter_map(|p| {
                Some((
                    p.parameter_key()?.to_string(),
                    p.parameter_value().unwrap_or_default().to_string(),
                ))
            })
            .collect(),
        outputs: stack
            .outputs()
            .iter()
            .filter_map(|o| Some((o.output_key()?.to_string(), o.output_value()?.to_string())))
            .collect(),
    })
}

fn parameters(params: &BTreeMap<String, String>) -> Vec<Parameter> {
    params
        .iter()
        .map(|(k, v)| {
            Parameter::builder()
                .parameter_key(k)
                .parameter_value(v)
                .build()
        })
        .collect()
}

/// The stack's tags: this tool's two, and the user's `--tag`s, which CloudFormation
/// propagates to the role it creates (CloudFormation User Guide, "Stack tags": "CloudFormation
/// propagates these tags to supported resources that are created in the stack").
fn tags(template_hash: &str, run: &Run, extra: &[TagPair]) -> Vec<Tag> {
    [
        (MANAGED_BY_KEY, MANAGED_BY_VALUE),
        (TEMPLATE_TAG, template_hash),
        (RUN_TAG, run.as_str()),
    ]
    .into_iter()
    .chain(extra.iter().map(|t| (t.key.as_str(), t.value.as_str())))
    .map(|(k, v)| Tag::builder().key(k).value(v).build())
    .collect()
}

/// What a create or an update of the stack sends: the template, its parameters and the tags.
#[derive(Debug, Clone, Copy)]
pub(crate) struct StackWrite<'a> {
    pub(crate) name: &'a str,
    pub(crate) template: &'a str,
    pub(crate) params: &'a BTreeMap<String, String>,
    pub(crate) template_hash: &'a str,
    pub(crate) extra_tags: &'a [TagPair],
    pub(crate) run: &'a Run,
}

pub(crate) async fn create_stack(
    client: &Client,
    stack: StackWrite<'_>,
) -> Result<String, AwsError> {
    let run = stack.run;
    let request = client
        .create_stack()
        .stack_name(stack.name)
        .client_request_token(run.token("create"))
        .template_body(stack.template)
        .set_parameters(Some(parameters(stack.params)))
        // The role has a fixed name, which AWS refuses without this capability.
        .capabilities(Capability::CapabilityNamedIam)
        .set_tags(Some(tags(stack.template_hash, run, stack.extra_tags)));
    let out = send("cloudformation:CreateStack", stack.name, request.send()).await?;
    Ok(out.stack_id().unwrap_or_default().to_string())
}

/// Whether an update started, or there was nothing to change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Update {
    Started,
    NothingToChange,
}

pub(crate) async fn update_stack(
    client: &Client,
    stack: StackWrite<'_>,
) -> Result<Update, AwsError> {
    let run = stack.run;
    let request = client
        .update_stack()
        .stack_name(stack.name)
        .client_request_token(run.token("update"))
        .template_body(stack.template)
        .set_parameters(Some(parameters(stack.params)))
        .capabilities(Capability::CapabilityNamedIam)
        .set_tags(Some(tags(stack.template_hash, run, stack.extra_tags)));
    match send("cloudformation:UpdateStack", stack.name, request.send()).await {
        Ok(_) => Ok(Update::Started),
        Err(e) if is_no_updates(e.code.as_deref(), &e.message) => Ok(Update::NothingToChange),
        Err(e) => Err(e),
    }
}

pub(crate) async fn delete_stack(client: &Client, name: &str) -> Result<(), AwsError> {
    let request = client
        .delete_stack()
        .stack_name(name)
        // The SDK's retries of this call carry the same token: one deletion, however often sent.
        .client_request_token(Run::new().token("delete"));
    send("cloudformation:DeleteStack", name, request.send()).await?;
    Ok(())
}

/// The stack's most recent events (one page, newest first, as CloudFormation returns them).
pub(crate) async fn stack_events(client: &Client, name: &str) -> Result<Vec<StackEvent>, AwsError> {
    let request = client.describe_stack_events().stack_name(name);
    let out = send("cloudformation:DescribeStackEvents", name, request.send()).await?;
    Ok(out
        .stack_events()
        .iter()
        .map(|e| StackEvent {
            id: e.event_id().unwrap_or_default().to_string(),
            timestamp: e.timestamp().map_or(0, |t| t.to_millis().unwrap_or(0)),
            logical_id: e.logical_resource_id().unwrap_or_default().to_string(),
            resource_type: e.resource_type().unwrap_or_default().to_string(),
            status: e
                .resource_status()
                .map(|s| s.as_str().to_string())
                .unwrap_or_default(),
            reason: e.resource_status_reason().map(str::to_string),
        })
        .collect())
}

/// Just after the stack's newest event (ms since the epoch): the events of an operation started
/// now come after it, those of earlier operations do not.
pub(crate) async fn after_latest_event(client: &Client, name: &str) -> Result<i64, AwsError> {
    let events = stack_events(client, name).await?;
    Ok(events.iter().map(|e| e.timestamp + 1).max().unwrap_or(0))
}

/// Deletes the stack and waits, up to two minutes, until it is gone.
pub(crate) async fn delete_stack_and_wait(client: &Client, name: &str) -> Result<(), AwsError> {
    delete_stack(client, name).await?;
    let mut delay = Duration::from_millis(500);
    for _ in 0..40 {
        match describe_stack(client, name).await? {
            None => return Ok(()),
            Some(s) if s.status == "DELETE_FAILED" => {
                return Err(AwsError {
                    code: Some("DELETE_FAILED".into()),
                    ..AwsError::new(
                        "cloudformation:DeleteStack",
                        format!("stack {name} could not be deleted"),
                    )
                    .with_fix(format!(
                    "see why with `aws cloudformation describe-stack-events --stack-name {name}`"
                ))
                })
            }
            Some(_) => {}
        }
        tokio::time::sleep(delay).await;
        delay = (delay * 3 / 2).min(Duration::from_secs(5));
    }
    Err(AwsError::new(
        "cloudformation:DeleteStack",
        format!("stack {name} is still being deleted after two minutes"),
    )
    .with_fix(format!(
        "watch it with `aws cloudformation describe-stacks --stack-name {name}`"
    )))
}
