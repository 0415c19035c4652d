//! AWS clients and one small function per AWS operation, each returning domain types.

pub mod cloudformation;
pub mod iam;
pub mod kms;
pub mod s3;
pub mod sts;

use std::time::Duration;

use aws_config::meta::region::RegionProviderChain;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, SdkConfig};
use aws_credential_types::provider::error::CredentialsError;
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use aws_sdk_iam::config::Region;

use crate::error::Error;

/// Where and as whom to talk to AWS.
#[derive(Debug, Clone, Default)]
pub struct Connection {
    pub profile: Option<String>,
    pub region: Option<String>,
    pub endpoint_url: Option<String>,
}

/// The clients of one run. S3 and KMS clients for the bucket's region are made on demand.
#[derive(Clone, Debug)]
pub struct Clients {
    config: SdkConfig,
    pub iam: aws_sdk_iam::Client,
    pub sts: aws_sdk_sts::Client,
    pub s3: aws_sdk_s3::Client,
    pub cfn: aws_sdk_cloudformation::Client,
    path_style: bool,
}

impl Clients {
    /// Resolves region and credentials once, up front, so that missing or expired credentials
    /// are reported before anything else, and never wait on instance metadata for long.
    pub async fn connect(conn: &Connection) -> Result<Clients, Error> {
        let region = resolve_region(conn).await;
        let credentials = resolve_credentials(conn, &region).await?;
        let mut loader = aws_config::defaults(BehaviorVersion::latest())
            .region(region)
            .credentials_provider(credentials)
            .retry_config(
                RetryConfig::standard()
                    .with_max_attempts(4)
                    .with_initial_backoff(Duration::from_millis(200))
                    .with_max_backoff(Duration::from_secs(5)),
            )
            .timeout_config(
                TimeoutConfig::builder()
                    .connect_timeout(Duration::from_secs(5))
                    .operation_attempt_timeout(Duration::from_secs(30))
                    .build(),
            );
        if let Some(profile) = &conn.profile {
            loader = loader.profile_name(profile);
        }
        if let Some(url) = &conn.endpoint_url {
            loader = loader.endpoint_url(url);
        }
        let config = loader.load().await;
        let path_style = conn.endpoint_url.is_some();
        Ok(Clients {
            iam: aws_sdk_iam::Client::new(&config),
            sts: aws_sdk_sts::Client::new(&config),
            cfn: aws_sdk_cloudformation::Client::new(&config),
            s3: s3_client(&config, path_style, None),
            config,
            path_style,
        })
    }

    /// The region IAM and STS are called in (IAM is global; this also picks the partition).
    pub fn region(&self) -> &str {
        self.config
            .region()
            .map(Region::as_ref)
            .unwrap_or("us-east-1")
    }

    /// An S3 client for the bucket's own region: bucket-level calls must go there.
    pub fn s3_in(&self, region: &str) -> aws_sdk_s3::Client {
        if region == self.region() {
            self.s3.clone()
        } else {
            s3_client(&self.config, self.path_style, Some(region))
        }
    }

    /// A KMS client for the key's region.
    pub fn kms_in(&self, region: &str) -> aws_sdk_kms::Client {
        let conf = aws_sdk_kms::config::Builder::from(&self.config)
            .region(Region::new(region.to_string()))
            .build();
        aws_sdk_kms::Client::from_conf(conf)
    }
}

fn s3_client(config: &SdkConfig, path_style: bool, region: Option<&str>) -> aws_sdk_s3::Client {
    let mut conf = aws_sdk_s3::config::Builder::from(config).force_path_style(path_style);
    if let Some(region) = region {
        conf = conf.region(Region::new(region.to_string()));
    }
    aws_sdk_s3::Client::from_conf(conf.build())
}

/// `--region`, then the environment, then the profile, then us-east-1. Never instance metadata:
/// IAM is global, and the bucket's own region is detected separately.
async fn resolve_region(conn: &Connection) -> Region {
    let mut profile = aws_config::profile::ProfileFileRegionProvider::builder();
    if let Some(name) = &conn.profile {
        profile = profile.profile_name(name);
    }
    RegionProviderChain::first_try(conn.region.clone().map(Region::new))
        .or_else(aws_config::environment::EnvironmentVariableRegionProvider::new())
        .or_else(profile.build())
        .or_else(Region::from_static("us-east-1"))
        .region()
        .await
        .unwrap_or_else(|| Region::from_static("us-east-1"))
}

async fn resolve_credentials(
    conn: &Connection,
    region: &Region,
) -> Result<SharedCredentialsProvider, Error> {
    // On a machine with no credentials the chain ends at instance metadata; keep that probe short.
    let imds = aws_config::imds::Client::builder()
        .connect_timeout(Duration::from_millis(500))
        .read_timeout(Duration::from_millis(800))
        .max_attempts(1)
        .build();
    let mut chain = aws_config::default_provider::credentials::DefaultCredentialsChain::builder()
        .region(region.clone())
        .imds_client(imds);
    if let Some(profile) = &conn.profile {
        chain = chain.profile_name(profile);
    }
    let chain = chain.build().await;
    let loaded = tokio::time::timeout(Duration::from_secs(4), chain.provide_credentials()).await;
    match loaded {
        Ok(Ok(creds)) => Ok(SharedCredentialsProvider::new(creds)),
        Ok(Err(e)) => Err(credentials_error(conn, &e)),
        Err(_) => Err(Error::Credentials {
            message: "timed out looking for AWS credentials".into(),
            fix: credentials_fix(conn),
        }),
    }
}

fn credentials_error(conn: &Connection, e: &CredentialsError) -> Error {
    let detail = {
        let mut parts = vec![e.to_string()];
        let mut next = std::error::Error::source(e);
        while let Some(cause) = next {
            parts.push(cause.to_string());
            next = cause.source();
        }
        parts.join(": ")
    };
    let lower = detail.to_lowercase();
    let profile = conn.profile.as_deref().unwrap_or("NAME");
    if lower.contains("sso") && (lower.contains("expired") || lower.contains("token")) {
        return Error::Credentials {
            message: format!("the SSO session has expired or was never started ({detail})"),
            fix: format!("run `aws sso login --profile {profile}`, then this command again"),
        };
    }
    // The chain ends at instance metadata, so its failure means every other source was empty.
    let at_the_end = lower.contains("imds") || lower.contains("instance metadata");
    match e {
        CredentialsError::CredentialsNotLoaded(_) => Error::Credentials {
            message: "no AWS credentials found".into(),
            fix: credentials_fix(conn),
        },
        _ if at_the_end => Error::Credentials {
            message: format!("no AWS credentials found (last, instance metadata: {detail})"),
            fix: credentials_fix(conn),
        },
        _ => Error::Credentials {
            message: format!("could not load AWS credentials: {detail}"),
            fix: credentials_fix(conn),
        },
    }
}

fn credentials_fix(conn: &Connection) -> String {
    match &conn.profile {
        Some(p) => format!(
            "check profile `{p}` in ~/.aws/config (for SSO: `aws sso login --profile {p}`), or run `aws configure --profile {p}`"
        ),
        None => "run `aws configure`, set AWS_PROFILE (and `aws sso login --profile NAME` for SSO), or set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY".into(),
    }
}
