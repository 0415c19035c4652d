//! What `verify` reads: every policy that applies to a principal, and IAM's simulator.

use aws_sdk_iam::Client;
use serde_json::Value;

use crate::aws::send::{send, Absent};
use crate::error::AwsError;
use crate::inputs::Who;
use crate::policy;

/// The documents of every inline policy of a role, user or group that parse, labelled
/// `inline policy NAME`.
pub(crate) async fn inline_documents(
    client: &Client,
    holder: Holder<'_>,
) -> Result<Vec<(String, Value)>, AwsError> {
    Ok(inline_policies(client, holder)
        .await?
        .into_iter()
        .filter_map(|(policy, doc)| Some((format!("inline policy {policy}"), doc?)))
        .collect())
}

/// Every inline policy of a role, user or group: its name and its document, `None` when the
/// document does not parse. The documents are read together.
pub(crate) async fn inline_policies(
    client: &Client,
    holder: Holder<'_>,
) -> Result<Vec<(String, Option<Value>)>, AwsError> {
    let names = inline_policy_names(client, holder).await?;
    let docs = futures_util::future::join_all(
        names
            .iter()
            .map(|policy| inline_policy(client, holder, policy)),
    )
    .await;
    names
        .into_iter()
        .zip(docs)
        .map(|(policy, doc)| Ok((policy, doc?)))
        .collect()
}

/// The names of a role's, user's or group's inline policies.
pub(crate) async fn inline_policy_names(
    client: &Client,
    holder: Holder<'_>,
) -> Result<Vec<String>, AwsError> {
    match holder {
        Holder::Principal(who) => super::inline_names(client, who).await,
        Holder::Group(name) => {
            let request = client.list_group_policies().group_name(name);
            let out = send("iam:ListGroupPolicies", name, request.send()).await?;
            Ok(out.policy_names().to_vec())
        }
    }
}

/// The ARNs of the managed policies attached to a role, user or group.
pub(crate) async fn attached_policies(
    client: &Client,
    holder: Holder<'_>,
) -> Result<Vec<String>, AwsError> {
    match holder {
        Holder::Principal(who) => super::attached(client, who).await,
        Holder::Group(name) => attached_group_policies(client, name).await,
    }
}

/// One inline policy's document: `None` when it is not there or does not parse.
pub(crate) async fn inline_policy(
    client: &Client,
    holder: Holder<'_>,
    policy: &str,
) -> Result<Option<Value>, AwsError> {
    let subject = format!("{} {policy}", holder.name());
    let text = match holder {
        Holder::Principal(Who::Role(name)) => {
            let request = client
                .get_role_policy()
                .role_name(name.as_str())
                .policy_name(policy);
            send("iam:GetRolePolicy", &subject, request.send())
                .await
                .absent_is_none()?
                .map(|out| out.policy_document)
        }
        Holder::Principal(Who::User(name)) => {
            let request = client
                .get_user_policy()
                .user_name(name.as_str())
                .policy_name(policy);
            send("iam:GetUserPolicy", &subject, request.send())
                .await
                .absent_is_none()?
                .map(|out| out.policy_document)
        }
        Holder::Group(name) => {
            let request = client
                .get_group_policy()
                .group_name(name)
                .policy_name(policy);
            send("iam:GetGroupPolicy", &subject, request.send())
                .await
                .absent_is_none()?
                .map(|out| out.policy_document)
        }
    };
    Ok(text.as_deref().and_then(policy::from_wire))
}

/// What policies are attached to or embedded in: a role or a user, or one of a user's groups.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Holder<'a> {
    Principal(&'a Who),
    Group(&'a str),
}

impl Holder<'_> {
    fn name(&self) -> &str {
        match self {
            Holder::Principal(who) => who.name(),
            Holder::Group(name) => name,
        }
    }
}

pub(crate) async fn attached_group_policies(
    client: &Client,
    group: &str,
) -> Result<Vec<String>, AwsError> {
    let request = client.list_attached_group_policies().group_name(group);
    let out = send("iam:ListAttachedGroupPolicies", group, request.send()).await?;
    Ok(out
        .attached_policies()
        .iter()
        .filter_map(|p| p.policy_arn().map(str::to_string))
        .collect())
}

/// What IAM's policy simulator answered for one sample request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Simulated {
    pub(crate) allowed: bool,
    /// Context keys the simulator says it needed and was not given.
    pub(crate) missing_context: Vec<String>,
}

/// A sample request for the simulator: an action on a concrete resource, with context entries
/// (key, type: `string` or `boolean`, value).
#[derive(Debug, Clone)]
pub(crate) struct Sample {
    pub(crate) action: String,
    pub(crate) resource: String,
    pub(crate) context: Vec<(String, &'static str, String)>,
}

/// IAM's policy simulator on each sample; `None` when the endpoint does not answer it (moto
/// has none), so that the local evaluation stands alone. Not retried: it only confirms.
pub(crate) async fn simulate(
    client: &Client,
    principal_arn: &str,
    samples: &[Sample],
) -> Option<Vec<Simulated>> {
    use aws_sdk_iam::types::{ContextEntry, ContextKeyTypeEnum};
    let mut results = Vec::new();
    for sample in samples {
        let entries: Vec<ContextEntry> = sample
            .context
            .iter()
            .map(|(key, kind, value)| {
                ContextEntry::builder()
                    .context_key_name(key)
                    .context_key_type(match *kind {
                        "boolean" => ContextKeyTypeEnum::Boolean,
                        _ => ContextKeyTypeEnum::String,
                    })
                    .context_key_values(value)
                    .build()
            })
            .collect();
        let request = client
            .simulate_principal_policy()
            .policy_source_arn(principal_arn)
            .action_names(&sample.action)
            .resource_arns(&sample.resource)
            .set_context_entries(Some(entries))
            .customize()
            .config_override(
                aws_sdk_iam::config::Builder::default()
                    .retry_config(aws_sdk_iam::config::retry::RetryConfig::disabled()),
            );
        let subject = format!("{} {}", sample.action, sample.resource);
        let out = send("iam:SimulatePrincipalPolicy", &subject, request.send())
            .await
            .ok()?;
        let result = out.evaluation_results().first()?;
        tracing::debug!(
            "iam:SimulatePrincipalPolicy {} {} -> {}",
            sample.action,
            sample.resource,
            result.eval_decision().as_str()
        );
        results.push(Simulated {
            allowed: result.eval_decision().as_str() == "allowed",
            missing_context: result.missing_context_values().to_vec(),
        });
    }
    Some(results)
}

/// One of the account's IAM quotas, from GetAccountSummary's SummaryMap
/// (`AssumeRolePolicySizeQuota`, …); `None` when IAM does not say.
pub(crate) async fn account_quota(client: &Client, key: &str) -> Result<Option<usize>, AwsError> {
    let out = send(
        "iam:GetAccountSummary",
        key,
        client.get_account_summary().send(),
    )
    .await?;
    Ok(out
        .summary_map()
        .and_then(|map| map.iter().find(|(k, _)| k.as_str() == key).map(|(_, v)| *v))
        .and_then(|v| usize::try_from(v).ok()))
}
