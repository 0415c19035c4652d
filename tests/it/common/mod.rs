//! Shared test support: a moto server, a fault-injecting proxy, the binary, and AWS clients
//! that check outcomes from outside.
#![allow(dead_code, unused_imports)]

pub mod args;
pub mod localstack;
pub mod moto;
pub mod proxy;
pub mod pty;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;

use aws_config::BehaviorVersion;
use aws_credential_types::Credentials;
use serde_json::Value;

pub use self::args::SetupArgs;
pub use self::moto::Moto;
pub use self::proxy::{Fault, Match, Proxy};

pub const TIDB_ACCOUNT: &str = "380838443567";
pub const EXTERNAL_ID: &str = "696e6672612d617069-ext";

/// One moto server per test binary, shared by its tests; each test uses its own names.
pub fn moto() -> &'static Moto {
    static MOTO: OnceLock<Moto> = OnceLock::new();
    MOTO.get_or_init(|| Moto::start(&[]))
}

/// The shared moto and a client of it.
pub async fn on_moto() -> (&'static Moto, Aws) {
    let moto = moto();
    (moto, aws(&moto.url()).await)
}

/// The shared LocalStack and a client of it.
pub async fn on_localstack() -> (&'static localstack::LocalStack, Aws) {
    let ls = localstack();
    (ls, aws(&ls.url()).await)
}

/// One LocalStack per test process, started by the first test that needs it.
pub fn localstack() -> &'static localstack::LocalStack {
    static LOCALSTACK: OnceLock<localstack::LocalStack> = OnceLock::new();
    LOCALSTACK.get_or_init(localstack::LocalStack::start)
}

/// A name no other test in this run uses: `prefix-PID-N`, valid as a bucket name.
pub fn unique(prefix: &str) -> String {
    static N: AtomicUsize = AtomicUsize::new(0);
    format!(
        "{prefix}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// What most tests start from: the shared moto, a client of it, and a new empty bucket.
pub struct Scene {
    pub moto: &'static Moto,
    pub aws: Aws,
    pub bucket: String,
}

/// moto, a client of it, and a new bucket whose name starts with `prefix`.
pub async fn scene(prefix: &str) -> Scene {
    let (moto, aws) = on_moto().await;
    let bucket = aws.new_bucket(prefix).await;
    Scene { moto, aws, bucket }
}

/// The binary, with a clean AWS environment pointed at `endpoint` and test credentials.
pub fn bin(endpoint: &str) -> assert_cmd::Command {
    bin_with_keys(endpoint, "testing", "testing")
}

pub fn bin_with_keys(endpoint: &str, key: &str, secret: &str) -> assert_cmd::Command {
    let mut cmd = binary();
    no_aws_config(&mut cmd);
    as_tester(&mut cmd, endpoint, key, secret);
    checked(cmd)
}

/// The binary started, not awaited (a test that signals it), with the clean environment of
/// [`bin`] pointed at `endpoint`; stdout and stderr piped.
pub fn spawn(endpoint: &str, args: &[String]) -> std::process::Child {
    use std::process::Stdio;
    let mut cmd = binary();
    cmd.args(args);
    clean_env(&mut cmd, endpoint);
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Reads a [`spawn`]ed run's stderr until a line holds `needle`, then sends it SIGINT (as
/// Ctrl-C does) and waits for it to end: everything it said on stderr, and its exit code and
/// stdout.
pub fn interrupt_on_line(
    mut child: std::process::Child,
    needle: &str,
) -> (String, std::process::Output) {
    use std::io::{BufRead, BufReader, Read};
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut said = String::new();
    loop {
        let mut line = String::new();
        let read = stderr.read_line(&mut line).unwrap();
        assert!(read > 0, "it ended before saying {needle:?}: {said}");
        said.push_str(&line);
        if line.contains(needle) {
            break;
        }
    }
    let status = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    stderr.read_to_string(&mut said).unwrap();
    (said, child.wait_with_output().unwrap())
}

/// No AWS configuration but test credentials pointed at `endpoint`, and no instance metadata:
/// the environment every run of the binary in these tests has.
pub fn clean_env(cmd: &mut std::process::Command, endpoint: &str) {
    no_aws_config(cmd);
    as_tester(cmd, endpoint, "testing", "testing");
}

/// The binary with no AWS configuration at all, and instance metadata disabled.
pub fn bare_bin() -> assert_cmd::Command {
    let mut cmd = binary();
    no_aws_config(&mut cmd);
    checked(cmd)
}

fn binary() -> std::process::Command {
    std::process::Command::new(env!("CARGO_BIN_EXE_serverless-s3-setup"))
}

/// Nothing from this machine's environment: no AWS configuration, no instance metadata.
fn no_aws_config(cmd: &mut std::process::Command) {
    cmd.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", moto::tmp_dir())
        .env("AWS_CONFIG_FILE", moto::tmp_dir().join("no-aws-config"))
        .env(
            "AWS_SHARED_CREDENTIALS_FILE",
            moto::tmp_dir().join("no-aws-credentials"),
        )
        .env("AWS_EC2_METADATA_DISABLED", "true");
}

/// These credentials, against `endpoint`, in us-east-1.
fn as_tester(cmd: &mut std::process::Command, endpoint: &str, key: &str, secret: &str) {
    cmd.env("AWS_ENDPOINT_URL", endpoint)
        .env("AWS_ACCESS_KEY_ID", key)
        .env("AWS_SECRET_ACCESS_KEY", secret)
        .env("AWS_REGION", "us-east-1");
}

/// A run that a test reads whole: no colour, and never longer than two minutes.
fn checked(cmd: std::process::Command) -> assert_cmd::Command {
    let mut cmd = assert_cmd::Command::from_std(cmd);
    cmd.env("NO_COLOR", "1")
        .timeout(std::time::Duration::from_secs(120));
    cmd
}

/// Clients for checking results from outside the binary.
pub struct Aws {
    pub iam: aws_sdk_iam::Client,
    pub s3: aws_sdk_s3::Client,
    pub kms: aws_sdk_kms::Client,
    pub sts: aws_sdk_sts::Client,
    pub cfn: aws_sdk_cloudformation::Client,
}

pub async fn aws(endpoint: &str) -> Aws {
    aws_as(endpoint, "testing", "testing").await
}

pub async fn aws_as(endpoint: &str, key: &str, secret: &str) -> Aws {
    let config = aws_config::defaults(BehaviorVersion::latest())
        .http_client(serverless_s3_setup::aws::http_client())
        .endpoint_url(endpoint)
        .region(aws_sdk_iam::config::Region::new("us-east-1"))
        .credentials_provider(Credentials::new(key, secret, None, None, "tests"))
        .load()
        .await;
    let s3 = aws_sdk_s3::config::Builder::from(&config)
        .force_path_style(true)
        .build();
    Aws {
        iam: aws_sdk_iam::Client::new(&config),
        s3: aws_sdk_s3::Client::from_conf(s3),
        kms: aws_sdk_kms::Client::new(&config),
        sts: aws_sdk_sts::Client::new(&config),
        cfn: aws_sdk_cloudformation::Client::new(&config),
    }
}

impl Aws {
    /// The IDs of a user's access keys.
    pub async fn key_ids(&self, user: &str) -> Vec<String> {
        let out = self
            .iam
            .list_access_keys()
            .user_name(user)
            .send()
            .await
            .unwrap();
        out.access_key_metadata()
            .iter()
            .map(|k| k.access_key_id().unwrap().to_string())
            .collect()
    }

    pub async fn create_bucket(&self, name: &str) {
        self.s3.create_bucket().bucket(name).send().await.unwrap();
    }

    /// A new empty bucket whose name starts with `prefix`.
    pub async fn new_bucket(&self, prefix: &str) -> String {
        let bucket = unique(prefix);
        self.create_bucket(&bucket).await;
        bucket
    }

    /// Each method of making a role, with a new bucket of its own.
    pub async fn bucket_per_method(&self, prefix: &str) -> Vec<(&'static str, String)> {
        let mut each = Vec::new();
        for method in ["iam", "cloudformation"] {
            each.push((method, self.new_bucket(prefix).await));
        }
        each
    }

    /// By hand: a role with this trust policy, and nothing else. Returns its ARN.
    pub async fn create_role(&self, name: &str, trust: &Value) -> String {
        let out = self
            .iam
            .create_role()
            .role_name(name)
            .assume_role_policy_document(trust.to_string())
            .send()
            .await
            .unwrap();
        out.role().unwrap().arn().to_string()
    }

    /// By hand: the role's trust policy replaced.
    pub async fn set_trust(&self, role: &str, trust: &Value) {
        self.iam
            .update_assume_role_policy()
            .role_name(role)
            .policy_document(trust.to_string())
            .send()
            .await
            .unwrap();
    }

    /// By hand: an inline policy of the role written (or overwritten).
    pub async fn put_role_policy(&self, role: &str, name: &str, doc: &Value) {
        self.iam
            .put_role_policy()
            .role_name(role)
            .policy_name(name)
            .policy_document(doc.to_string())
            .send()
            .await
            .unwrap();
    }

    /// By hand: an inline policy of the role deleted.
    pub async fn delete_role_policy(&self, role: &str, name: &str) {
        let request = self.iam.delete_role_policy().role_name(role);
        request.policy_name(name).send().await.unwrap();
    }

    /// By hand: a managed policy. Returns its ARN.
    pub async fn create_policy(&self, name: &str, doc: &Value) -> String {
        let out = self
            .iam
            .create_policy()
            .policy_name(name)
            .policy_document(doc.to_string())
            .send()
            .await
            .unwrap();
        out.policy().unwrap().arn().unwrap().to_string()
    }

    /// Sets the bucket's policy.
    pub async fn put_bucket_policy(&self, bucket: &str, policy: &Value) {
        self.s3
            .put_bucket_policy()
            .bucket(bucket)
            .policy(policy.to_string())
            .send()
            .await
            .unwrap();
    }

    /// A new bucket in `region` (its LocationConstraint), made through S3 there.
    pub async fn create_bucket_in(&self, name: &str, region: &str) {
        use aws_sdk_s3::types::{BucketLocationConstraint, CreateBucketConfiguration};
        let here = aws_sdk_iam::config::Region::new(region.to_string());
        let s3 = aws_sdk_s3::Client::from_conf(self.s3.config().to_builder().region(here).build());
        s3.create_bucket()
            .bucket(name)
            .create_bucket_configuration(
                CreateBucketConfiguration::builder()
                    .location_constraint(BucketLocationConstraint::from(region))
                    .build(),
            )
            .send()
            .await
            .unwrap();
    }

    /// The stack of this name, as CloudFormation describes it; it must exist.
    pub async fn stack(&self, name: &str) -> aws_sdk_cloudformation::types::Stack {
        let out = self.cfn.describe_stacks().stack_name(name).send().await;
        out.unwrap().stacks()[0].clone()
    }

    /// Whether a stack of that name is in `region`.
    pub async fn stack_in(&self, name: &str, region: &str) -> bool {
        let here = aws_sdk_iam::config::Region::new(region.to_string());
        let cfn = aws_sdk_cloudformation::Client::from_conf(
            self.cfn.config().to_builder().region(here).build(),
        );
        cfn.describe_stacks().stack_name(name).send().await.is_ok()
    }

    /// A new bucket holding `data/in.csv` and `other/in.csv`: one object inside the directory
    /// a test grants, one outside it.
    pub async fn seeded_bucket(&self, prefix: &str) -> String {
        let bucket = unique(prefix);
        self.create_bucket(&bucket).await;
        for key in ["data/in.csv", "other/in.csv"] {
            self.s3
                .put_object()
                .bucket(&bucket)
                .key(key)
                .body(b"a,b\n".to_vec().into())
                .send()
                .await
                .unwrap();
        }
        bucket
    }

    /// Puts a small CSV object at `key`, encrypted with the KMS key `kms` when one is given
    /// (else under the bucket's default encryption).
    pub async fn put_csv(&self, bucket: &str, key: &str, kms: Option<&str>) {
        let put = self
            .s3
            .put_object()
            .bucket(bucket)
            .key(key)
            .body(b"a,b\n".to_vec().into());
        let put = match kms {
            Some(kms) => put
                .server_side_encryption(aws_sdk_s3::types::ServerSideEncryption::AwsKms)
                .ssekms_key_id(kms),
            None => put,
        };
        put.send().await.unwrap();
    }

    /// A customer-managed key; returns (key ID, key ARN).
    pub async fn create_key(&self) -> (String, String) {
        let out = self.kms.create_key().send().await.unwrap();
        let meta = out.key_metadata().unwrap();
        (meta.key_id().to_string(), meta.arn().unwrap().to_string())
    }

    /// Sets the bucket's default encryption to SSE-KMS with `key` (None: the AWS-managed key).
    pub async fn encrypt_bucket(&self, bucket: &str, key: Option<&str>) {
        use aws_sdk_s3::types::*;
        let default = ServerSideEncryptionByDefault::builder()
            .sse_algorithm(ServerSideEncryption::AwsKms)
            .set_kms_master_key_id(key.map(str::to_string))
            .build()
            .unwrap();
        let config = ServerSideEncryptionConfiguration::builder()
            .rules(
                ServerSideEncryptionRule::builder()
                    .apply_server_side_encryption_by_default(default)
                    .build(),
            )
            .build()
            .unwrap();
        self.s3
            .put_bucket_encryption()
            .bucket(bucket)
            .server_side_encryption_configuration(config)
            .send()
            .await
            .unwrap();
    }

    /// A stack's role deleted by hand, as in the console: its inline policy (`NAME-policy`, the
    /// template's), then the role. The stack does not know.
    pub async fn delete_stack_role_by_hand(&self, role: &str) {
        self.delete_role_policy(role, &format!("{role}-policy"))
            .await;
        self.iam.delete_role().role_name(role).send().await.unwrap();
    }

    /// A role named `name` whose description says it is this tool's, without its tags: what the
    /// tool must never take for its own.
    pub async fn role_that_only_says_it_is_ours(&self, name: &str) {
        self.iam
            .create_role()
            .role_name(name)
            .description("Lets TiDB Cloud import s3://x/y (serverless-s3-setup)")
            .assume_role_policy_document(r#"{"Version":"2012-10-17","Statement":[]}"#)
            .send()
            .await
            .unwrap();
    }

    /// The role, or None.
    pub async fn role(&self, name: &str) -> Option<aws_sdk_iam::types::Role> {
        match self.iam.get_role().role_name(name).send().await {
            Ok(out) => out.role().cloned(),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.is_no_such_entity_exception()) =>
            {
                None
            }
            Err(e) => panic!("GetRole: {e:?}"),
        }
    }

    /// The role's trust policy, decoded from IAM's URL encoding.
    pub async fn trust(&self, role: &str) -> Value {
        let role = self.role(role).await.expect("role exists");
        decode(role.assume_role_policy_document().unwrap())
    }

    /// The names of the account's customer-managed policies.
    /// Everything of the tool's kinds (roles, policies, users, live stacks) whose name contains
    /// `text`: what a run for a bucket of that name left.
    pub async fn leftovers(&self, text: &str) -> Vec<String> {
        let mut left = self.roles_naming(text).await;
        left.extend(self.policies_naming(text).await);
        let users = self.iam.list_users().max_items(1000).send().await.unwrap();
        let users = users.users().iter().map(|u| u.user_name().to_string());
        left.extend(users.filter(|u| u.contains(text)));
        let stacks = self.cfn.list_stacks().send().await.unwrap();
        left.extend(
            stacks
                .stack_summaries()
                .iter()
                .filter(|s| s.stack_status().map(|x| x.as_str()) != Some("DELETE_COMPLETE"))
                .filter_map(|s| s.stack_name().map(str::to_string))
                .filter(|s| s.contains(text)),
        );
        left
    }

    /// The names of the account's roles that contain `text` (a bucket's name, say).
    pub async fn roles_naming(&self, text: &str) -> Vec<String> {
        let all = self.role_names().await.into_iter();
        all.filter(|name| name.contains(text)).collect()
    }

    /// The ARNs of the account's own policies whose names contain `text`.
    pub async fn policy_arns_naming(&self, text: &str) -> Vec<String> {
        let all = self.local_policies().await.into_iter();
        all.filter(|(name, _)| name.contains(text))
            .map(|p| p.1)
            .collect()
    }

    /// The names of the account's own policies that contain `text` (a bucket's name, say).
    pub async fn policies_naming(&self, text: &str) -> Vec<String> {
        let all = self.local_policies().await.into_iter().map(|p| p.0);
        all.filter(|name| name.contains(text)).collect()
    }

    pub async fn local_policies(&self) -> Vec<(String, String)> {
        let out = self
            .iam
            .list_policies()
            .scope(aws_sdk_iam::types::PolicyScopeType::Local)
            .max_items(1000)
            .send()
            .await
            .unwrap();
        out.policies()
            .iter()
            .map(|p| {
                (
                    p.policy_name().unwrap().to_string(),
                    p.arn().unwrap().to_string(),
                )
            })
            .collect()
    }

    pub async fn role_names(&self) -> Vec<String> {
        let out = self.iam.list_roles().max_items(1000).send().await.unwrap();
        out.roles()
            .iter()
            .map(|r| r.role_name().to_string())
            .collect()
    }

    /// The default version's document of a managed policy, decoded.
    pub async fn policy_document(&self, arn: &str) -> Value {
        let p = self.iam.get_policy().policy_arn(arn).send().await.unwrap();
        let version = p
            .policy()
            .unwrap()
            .default_version_id()
            .unwrap()
            .to_string();
        let v = self
            .iam
            .get_policy_version()
            .policy_arn(arn)
            .version_id(version)
            .send()
            .await
            .unwrap();
        decode(v.policy_version().unwrap().document().unwrap())
    }

    pub async fn policy_versions(&self, arn: &str) -> usize {
        let out = self
            .iam
            .list_policy_versions()
            .policy_arn(arn)
            .send()
            .await
            .unwrap();
        out.versions().len()
    }

    pub async fn attached(&self, role: &str) -> Vec<String> {
        let out = self
            .iam
            .list_attached_role_policies()
            .role_name(role)
            .send()
            .await
            .unwrap();
        out.attached_policies()
            .iter()
            .map(|p| p.policy_arn().unwrap().to_string())
            .collect()
    }
}

/// A role's inline policy, decoded. moto returns the document of a policy that CloudFormation
/// made as a Python literal (`{'Version': …}`), so that form is read too.
pub async fn inline_policy(aws: &Aws, role: &str, name: &str) -> Value {
    let out = aws
        .iam
        .get_role_policy()
        .role_name(role)
        .policy_name(name)
        .send()
        .await
        .unwrap();
    let text = percent_encoding_decode(out.policy_document());
    serde_json::from_str(&text).unwrap_or_else(|_| {
        let json = text
            .replace('\'', "\"")
            .replace("None", "null")
            .replace("True", "true")
            .replace("False", "false");
        serde_json::from_str(&json).unwrap_or_else(|e| panic!("not a policy ({e}): {text}"))
    })
}

pub fn decode(doc: &str) -> Value {
    let text = percent_encoding_decode(doc);
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

fn percent_encoding_decode(s: &str) -> String {
    percent_encoding::percent_decode_str(s)
        .decode_utf8()
        .unwrap()
        .into_owned()
}

/// stdout and stderr of a finished run, as text.
pub fn texts(out: &std::process::Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// `verify` of a role for TiDB Cloud's test account, with `--access` when given and this
/// external ID, with `-o json`.
pub fn verify_role(
    endpoint: &str,
    arn: &str,
    uri: &str,
    access: Option<&str>,
    external_id: &str,
) -> Ran {
    let mut args = vec!["verify", "--role-arn", arn, "--uri", uri];
    if let Some(access) = access {
        args.extend(["--access", access]);
    }
    args.extend([
        "--tidb-account-id",
        TIDB_ACCOUNT,
        "--external-id",
        external_id,
    ]);
    run(
        endpoint,
        with_json(&args.iter().map(|a| a.to_string()).collect::<Vec<_>>()),
    )
}

/// Asserts that `text` says `part`, and shows the whole text when it does not.
#[track_caller]
pub fn assert_says(text: &str, part: &str) {
    assert!(text.contains(part), "expected {part:?} in:\n{text}");
}

/// One check of a `verify` report, by name.
pub fn check<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["checks"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["name"] == name))
        .unwrap_or_else(|| panic!("no {name} check in {report:#}"))
}

/// What a run of the binary gave: its exit code, stdout (and its JSON, when it is JSON) and
/// stderr. The one shape every test reads a run through.
#[derive(Debug)]
pub struct Ran {
    pub code: i32,
    pub stdout: String,
    pub json: Value,
    pub stderr: String,
}

impl Ran {
    /// Asserts exit 0, and gives the run back.
    #[track_caller]
    pub fn ok(self) -> Ran {
        self.exits(0)
    }

    /// Asserts exit 0 and `"changed": false` (a rerun that found nothing to do), and gives the
    /// run back.
    #[track_caller]
    pub fn unchanged(self) -> Ran {
        let ran = self.ok();
        assert_eq!(ran.json["changed"], false, "{}\n{}", ran.json, ran.stderr);
        ran
    }

    /// Asserts the exit code, and gives the run back.
    #[track_caller]
    pub fn exits(self, code: i32) -> Ran {
        assert_eq!(
            self.code, code,
            "the exit code\nstdout: {}\nstderr: {}",
            self.stdout, self.stderr
        );
        self
    }

    /// Asserts the exit code and the error's `kind`, which `-o json` prints on stderr after
    /// any progress lines.
    #[track_caller]
    pub fn fails_with(self, code: i32, kind: &str) -> Ran {
        let ran = self.exits(code);
        assert_eq!(ran.error()["kind"], kind, "stderr: {}", ran.stderr);
        ran
    }

    /// Whether the run said `text`, on stdout or on stderr.
    pub fn said(&self, text: &str) -> bool {
        self.stdout.contains(text) || self.stderr.contains(text)
    }

    /// The JSON error on stderr (`Null` when there is none).
    pub fn error(&self) -> Value {
        let start = match self.stderr.find("\n{") {
            Some(i) => i + 1,
            None if self.stderr.starts_with('{') => 0,
            None => return Value::Null,
        };
        serde_json::from_str::<Value>(&self.stderr[start..])
            .map_or(Value::Null, |v| v["error"].clone())
    }
}

/// `args` and then `more`.
pub fn with<S: AsRef<str>>(args: &[S], more: &[&str]) -> Vec<String> {
    let args = args.iter().map(AsRef::as_ref);
    args.chain(more.iter().copied())
        .map(str::to_string)
        .collect()
}

/// `args` with `-o json`.
pub fn with_json<S: AsRef<str>>(args: &[S]) -> Vec<String> {
    with(args, &["-o", "json"])
}

/// Runs the binary against `endpoint` with `args`.
pub fn run<S: AsRef<std::ffi::OsStr>>(endpoint: &str, args: impl IntoIterator<Item = S>) -> Ran {
    ran(bin(endpoint).args(args).output().unwrap())
}

/// Reads a finished run.
pub fn ran(out: std::process::Output) -> Ran {
    let (stdout, stderr) = texts(&out);
    Ran {
        code: out.status.code().unwrap_or(-1),
        json: serde_json::from_str(&stdout).unwrap_or(Value::Null),
        stdout,
        stderr,
    }
}
