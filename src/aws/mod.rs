//! AWS clients and one small function per AWS operation, each returning domain types
//! ([`crate::facts`]) or plain values. The only module that touches the SDK; it never prints,
//! asks or decides what to change.

pub(crate) mod cloudformation;
pub(crate) mod iam;
pub(crate) mod kms;
mod profiles;
pub(crate) mod s3;
mod send;
mod shared;
pub(crate) mod sts;

use std::time::Duration;

use aws_config::meta::region::RegionProviderChain;
use aws_config::provider_config::ProviderConfig;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, SdkConfig};
use aws_credential_types::provider::error::CredentialsError;
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use aws_sdk_iam::config::retry::{RetryPartition, TokenBucket};
use aws_sdk_iam::config::Region;

use crate::error::{AwsError, Error};
use crate::inputs::EndpointUrl;

/// One run of the tool, as AWS sees it: a tag on what it creates (so that a create retried
/// after a lost answer, which then "already exists", is known for this run's own), and a
/// CloudFormation `ClientRequestToken` per kind of operation, so that the SDK's retries are the
/// same request, not a second one (CloudFormation API Reference, CreateStack).
#[derive(Debug, Clone)]
pub(crate) struct Run(String);

impl Run {
    /// A token of this process and moment: `[a-zA-Z0-9][-a-zA-Z0-9]*`, as CloudFormation wants.
    pub(crate) fn new() -> Run {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        Run(format!("s3setup-{}-{nanos:x}", std::process::id()))
    }

    pub(crate) fn as_str(&self) -> &str {
        &self.0
    }

    pub(crate) fn token(&self, operation: &str) -> String {
        format!("{}-{operation}", self.0)
    }
}

impl Default for Run {
    fn default() -> Self {
        Run::new()
    }
}

/// The one HTTPS client of every AWS call: hyper 1 with rustls on `ring`. The SDK crates are
/// taken without their default features, which would build a second, legacy stack (hyper 0.14
/// with rustls 0.21) beside one on aws-lc, whose C library takes minutes to build; so this
/// client is given to every client and credential provider explicitly.
pub fn http_client() -> aws_smithy_runtime_api::client::http::SharedHttpClient {
    use aws_smithy_http_client::tls::{rustls_provider::CryptoMode, Provider};
    aws_smithy_http_client::Builder::new()
        .tls_provider(Provider::Rustls(CryptoMode::Ring))
        .build_https()
}

/// What the credential providers are built with: the one HTTPS client, and the region.
fn provider_config(region: &Region) -> ProviderConfig {
    ProviderConfig::default()
        .with_http_client(http_client())
        .with_region(Some(region.clone()))
}

/// One AWS request in flight, boxed, so that requests of different kinds can go out together
/// (`join_all`).
pub(crate) type Pending<'a> =
    std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), AwsError>> + Send + 'a>>;

/// Boxes a request into a [`Pending`].
pub(crate) fn pending<'a>(
    request: impl std::future::Future<Output = Result<(), AwsError>> + Send + 'a,
) -> Pending<'a> {
    Box::pin(request)
}

/// Where and as whom to talk to AWS.
#[derive(Debug, Clone, Default)]
pub struct Connection {
    pub profile: Option<String>,
    pub region: Option<String>,
    pub endpoint_url: Option<EndpointUrl>,
    /// A person can be asked (a terminal, no `--no-input`): for an MFA code.
    pub can_ask: bool,
    /// A run of many setups at once, which IAM's control plane may throttle: see
    /// [`retries`].
    pub many: bool,
}

/// How requests are retried. One setup: the standard mode, four attempts. Many at once: the
/// adaptive mode, whose client-side rate limiter is shared by every client of the process
/// (one per service and region, `aws-smithy-runtime`'s `CLIENT_RATE_LIMITER`), so that a
/// throttled request slows the whole run, not only its own retries; and more attempts, with
/// jittered backoff, so that no setup fails for throttling alone ("Retry behavior", AWS
/// SDKs and Tools Reference Guide).
/// A run of many setups' own retry partition for one service. Its retries are not rationed
/// by the SDK's retry quota (500 tokens, 5 for each throttled retry, for the whole process),
/// which the throttled requests of fifty setups spend in seconds, failing setups for
/// throttling alone; each request still stops at ten attempts, and the partition's adaptive
/// rate limiter still paces every request of the run to that service ("Retry behavior", AWS
/// SDKs and Tools Reference Guide: the retry quota and the client-side rate limiter).
fn many_partition(service: &'static str) -> RetryPartition {
    RetryPartition::custom(format!("serverless-s3-setup-{service}"))
        .token_bucket(TokenBucket::unlimited())
        .build()
}

fn retries(many: bool) -> RetryConfig {
    let config = if many {
        RetryConfig::adaptive().with_max_attempts(10)
    } else {
        RetryConfig::standard().with_max_attempts(4)
    };
    config
        .with_initial_backoff(Duration::from_millis(200))
        .with_max_backoff(Duration::from_secs(5))
}

/// The clients of one run. S3 and KMS clients for the bucket's region are made on demand.
#[derive(Clone, Debug)]
pub(crate) struct Clients {
    config: SdkConfig,
    pub(crate) iam: aws_sdk_iam::Client,
    pub(crate) sts: aws_sdk_sts::Client,
    pub(crate) s3: aws_sdk_s3::Client,
    pub(crate) cfn: aws_sdk_cloudformation::Client,
    path_style: bool,
    /// A run of many setups' retry partition for S3, which every bucket's client shares.
    s3_partition: Option<RetryPartition>,
    /// Whether a region was configured (`--region`, the environment, the profile); when none
    /// was, the clients are in us-east-1.
    region_given: bool,
    /// The region of `cfn`, when it is not the clients' own (see [`Clients::with_stacks_in`]).
    stacks_region: Option<String>,
    /// The reads a run of many setups shares; `None` for one setup.
    shared: Option<std::sync::Arc<shared::Shared>>,
}

impl Clients {
    /// Resolves region and credentials once, up front, so that missing or expired credentials
    /// are reported before anything else, and never wait on instance metadata for long.
    pub(crate) async fn connect(conn: &Connection, ui: &dyn Person) -> Result<Clients, Error> {
        let (region, region_given) = resolve_region(conn).await;
        let credentials = resolve_credentials(conn, &region, ui).await?;
        let mut loader = aws_config::defaults(BehaviorVersion::latest())
            .http_client(http_client())
            .region(region)
            .credentials_provider(credentials)
            .retry_config(retries(conn.many))
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
            loader = loader.endpoint_url(url.as_str());
        }
        let config = loader.load().await;
        let path_style = conn.endpoint_url.is_some();
        let own = |service| conn.many.then(|| many_partition(service));
        let mut iam = aws_sdk_iam::config::Builder::from(&config);
        iam.set_retry_partition(own("iam"));
        let mut sts = aws_sdk_sts::config::Builder::from(&config);
        sts.set_retry_partition(own("sts"));
        let mut cfn = aws_sdk_cloudformation::config::Builder::from(&config);
        cfn.set_retry_partition(own("cloudformation"));
        let s3_partition = own("s3");
        Ok(Clients {
            iam: aws_sdk_iam::Client::from_conf(iam.build()),
            sts: aws_sdk_sts::Client::from_conf(sts.build()),
            cfn: aws_sdk_cloudformation::Client::from_conf(cfn.build()),
            s3: s3_client(&config, path_style, None, s3_partition.clone()),
            s3_partition,
            region_given,
            stacks_region: None,
            config,
            path_style,
            shared: conn.many.then(std::sync::Arc::default),
        })
    }

    /// The region IAM and STS are called in (IAM is global; this also picks the partition).
    pub(crate) fn region(&self) -> &str {
        self.config
            .region()
            .map(Region::as_ref)
            .unwrap_or("us-east-1")
    }

    /// Whether a region was configured (`--region`, `AWS_REGION`, the profile's `region`).
    pub(crate) fn region_given(&self) -> bool {
        self.region_given
    }

    /// The region CloudFormation is called in: where a stack is read and made.
    pub(crate) fn stacks_region(&self) -> &str {
        self.stacks_region
            .as_deref()
            .unwrap_or_else(|| self.region())
    }

    /// An S3 client for the bucket's own region: bucket-level calls must go there.
    pub(crate) fn s3_in(&self, region: &str) -> aws_sdk_s3::Client {
        if region == self.region() {
            self.s3.clone()
        } else {
            s3_client(
                &self.config,
                self.path_style,
                Some(region),
                self.s3_partition.clone(),
            )
        }
    }

    /// The same clients signing as another access key (the one a run just made, to prove it
    /// works), sharing none of the run's reads. Its secret stays inside the SDK's
    /// `Credentials`, whose `Debug` redacts it.
    pub(crate) fn as_key(&self, id: &str, secret: &str) -> Clients {
        let credentials = aws_credential_types::Credentials::new(
            id,
            secret,
            None,
            None,
            "serverless-s3-setup-new-key",
        );
        let config = self
            .config
            .to_builder()
            .credentials_provider(SharedCredentialsProvider::new(credentials))
            .build();
        Clients {
            iam: aws_sdk_iam::Client::new(&config),
            sts: aws_sdk_sts::Client::new(&config),
            cfn: aws_sdk_cloudformation::Client::new(&config),
            s3: s3_client(&config, self.path_style, None, None),
            s3_partition: None,
            config,
            shared: None,
            ..self.clone()
        }
    }

    /// Waits until AWS accepts these clients' key: `sts:GetCallerIdentity`, asked again while
    /// STS answers `InvalidClientTokenId`, as it does until IAM has carried a new key to every
    /// region ("Resilience in AWS IAM", IAM User Guide: changes take a moment, usually
    /// seconds), for about half a minute at the most. Any other answer ends the wait.
    pub(crate) async fn accepts_key(&self) -> Result<(), AwsError> {
        let mut delay = Duration::from_millis(500);
        let mut attempt = 1;
        loop {
            let request = self.sts.get_caller_identity().send();
            match send::send("sts:GetCallerIdentity", "the new key", request).await {
                Ok(_) => return Ok(()),
                Err(e) if attempt < 7 && e.code.as_deref() == Some("InvalidClientTokenId") => {
                    tracing::debug!("the new key, try {attempt}: {e}");
                }
                Err(e) => return Err(e),
            }
            tokio::time::sleep(delay).await;
            delay = (delay * 2).min(Duration::from_secs(8));
            attempt += 1;
        }
    }

    /// A CloudFormation client for a stack's region: stacks are regional.
    pub(crate) fn cfn_in(&self, region: &str) -> aws_sdk_cloudformation::Client {
        let conf = aws_sdk_cloudformation::config::Builder::from(&self.config)
            .region(Region::new(region.to_string()))
            .build();
        aws_sdk_cloudformation::Client::from_conf(conf)
    }

    /// The same clients, with CloudFormation's in `region` (a stack lives in one region).
    pub(crate) fn with_stacks_in(&self, region: &str) -> Clients {
        Clients {
            cfn: self.cfn_in(region),
            stacks_region: Some(region.to_string()),
            ..self.clone()
        }
    }

    /// A KMS client for the key's region.
    pub(crate) fn kms_in(&self, region: &str) -> aws_sdk_kms::Client {
        let conf = aws_sdk_kms::config::Builder::from(&self.config)
            .region(Region::new(region.to_string()))
            .build();
        aws_sdk_kms::Client::from_conf(conf)
    }
}

fn s3_client(
    config: &SdkConfig,
    path_style: bool,
    region: Option<&str>,
    partition: Option<RetryPartition>,
) -> aws_sdk_s3::Client {
    let mut conf = aws_sdk_s3::config::Builder::from(config).force_path_style(path_style);
    conf.set_retry_partition(partition);
    if let Some(region) = region {
        conf = conf.region(Region::new(region.to_string()));
    }
    aws_sdk_s3::Client::from_conf(conf.build())
}

/// `--region`, then the environment, then the profile, then us-east-1, and whether one of
/// the first three gave it. Never instance metadata: IAM is global, and the bucket's own region
/// is detected separately.
async fn resolve_region(conn: &Connection) -> (Region, bool) {
    let mut profile = aws_config::profile::ProfileFileRegionProvider::builder();
    if let Some(name) = &conn.profile {
        profile = profile.profile_name(name);
    }
    let given = RegionProviderChain::first_try(conn.region.clone().map(Region::new))
        .or_else(aws_config::environment::EnvironmentVariableRegionProvider::new())
        .or_else(profile.build())
        .region()
        .await;
    match given {
        Some(region) => (region, true),
        None => (Region::from_static("us-east-1"), false),
    }
}

async fn resolve_credentials(
    conn: &Connection,
    region: &Region,
    ui: &dyn Person,
) -> Result<SharedCredentialsProvider, Error> {
    // An explicit profile wins over environment keys, as the AWS CLI has it; the default chain
    // would take AWS_ACCESS_KEY_ID first.
    let provider = match &conn.profile {
        Some(profile) => {
            profiles::check_profile(profile)?;
            if let Some(mfa) = profiles::mfa_profile(profile) {
                let credentials = profiles::assume_with_mfa(conn, region, &mfa, ui).await?;
                return Ok(SharedCredentialsProvider::new(credentials));
            }
            SharedCredentialsProvider::new(
                aws_config::profile::ProfileFileCredentialsProvider::builder()
                    .configure(&provider_config(region))
                    .profile_name(profile)
                    .build(),
            )
        }
        None => {
            // The default profile may assume a role with MFA too, when no keys are in the
            // environment (which the chain would take first).
            if std::env::var_os("AWS_ACCESS_KEY_ID").is_none() {
                if let Some(mfa) = profiles::mfa_profile("default") {
                    let credentials = profiles::assume_with_mfa(conn, region, &mfa, ui).await?;
                    return Ok(SharedCredentialsProvider::new(credentials));
                }
            }
            // On a machine with no credentials the chain ends at instance metadata: only
            // those probes are bounded, so that such a machine fails in seconds, while a
            // credential helper or an SSO login takes as long as it takes.
            let imds = aws_config::imds::Client::builder()
                .configure(&provider_config(region))
                .connect_timeout(Duration::from_millis(500))
                .read_timeout(Duration::from_millis(800))
                .max_attempts(1)
                .build();
            SharedCredentialsProvider::new(
                aws_config::default_provider::credentials::DefaultCredentialsChain::builder()
                    .configure(provider_config(region))
                    .region(region.clone())
                    .imds_client(imds)
                    .build()
                    .await,
            )
        }
    };
    // Asked once now, so that missing or expired credentials are reported before anything
    // else; the clients then get the provider itself, which refreshes what expires (instance
    // and container credentials rotate during a long stack wait).
    // A helper (credential_process, aws-vault, granted, an SSO login in the browser) may take
    // a while: after a moment, a line says what the run waits for.
    let first = {
        let fetch = provider.provide_credentials();
        tokio::pin!(fetch);
        tokio::select! {
            first = &mut fetch => first,
            () = tokio::time::sleep(CREDENTIALS_PATIENCE) => {
                let came = ui.waiting(format!(
                    "Waiting for AWS credentials from {}",
                    credential_source(conn)
                ));
                let first = fetch.await;
                came(first.is_ok());
                first
            }
        }
    }
    .map_err(|e| credentials_error(conn, &e))?;
    Ok(SharedCredentialsProvider::new(Prefetched {
        first: std::sync::Mutex::new(Some(first)),
        inner: provider,
    }))
}

/// The person running the tool, as connecting needs them: told what a slow wait is for, and
/// asked for an MFA code. `output::Ui` is it (a step; a question on the terminal).
pub(crate) trait Person {
    /// Says what the run waits for; the closure is then told whether it came.
    fn waiting(&self, what: String) -> Box<dyn FnOnce(bool) + '_>;

    /// Asks for text at the terminal until `validate` accepts it.
    fn ask(
        &self,
        prompt: &str,
        validate: &dyn Fn(&str) -> Result<(), String>,
    ) -> Result<String, Error>;
}

/// How long credentials may take before the run says what it waits for.
const CREDENTIALS_PATIENCE: Duration = Duration::from_millis(700);

/// Where the credentials come from, as a person would name it: the profile's helper or SSO
/// login, or the default chain.
fn credential_source(conn: &Connection) -> String {
    let profile = conn
        .profile
        .clone()
        .or_else(|| std::env::var("AWS_PROFILE").ok());
    let Some(profile) = profile else {
        return "the default chain (environment, profile, SSO, credential_process, container, instance metadata)".into();
    };
    let keys = profiles::profile_keys(&profile);
    let has = |k: &str| keys.iter().any(|key| key == k);
    if has("credential_process") {
        // aws-config runs the helper with stdin closed and its stderr captured
        // (aws-config, src/credential_process.rs): a question it asks there is never seen.
        format!("the credential_process of profile {profile} (it runs without this terminal: a helper that asks on stdin or stderr waits forever; one that opens a browser or asks on /dev/tty works)")
    } else if has("sso_session") || has("sso_start_url") {
        // The SDK reads the cached SSO token; it never opens a browser itself.
        format!("the cached SSO login of profile {profile} (if it has expired, press Ctrl-C and run `aws sso login --profile {profile}`)")
    } else if has("role_arn") {
        format!("profile {profile}, which assumes a role")
    } else {
        format!("profile {profile}")
    }
}

/// A provider whose first answer was already fetched; later ones come from `inner`.
#[derive(Debug)]
struct Prefetched {
    first: std::sync::Mutex<Option<aws_credential_types::Credentials>>,
    inner: SharedCredentialsProvider,
}

impl ProvideCredentials for Prefetched {
    fn provide_credentials<'a>(
        &'a self,
    ) -> aws_credential_types::provider::future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        let first = self.first.lock().map(|mut f| f.take()).unwrap_or(None);
        match first {
            Some(credentials) => {
                aws_credential_types::provider::future::ProvideCredentials::ready(Ok(credentials))
            }
            None => self.inner.provide_credentials(),
        }
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
