//! Proven under faults: a fault at every request of every flow, in three ways; retries of
//! transient errors; interrupts at each apply step; two runs at once; bad credentials.

use std::process::{Command, Stdio};

use crate::common::*;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flow {
    RoleIam,
    RoleCfn,
    AccessKey,
    Teardown,
}

fn args(flow: Flow, bucket: &str) -> Vec<String> {
    let uri = format!("s3://{bucket}/d/");
    let role = |method: &str| SetupArgs::role(method, &uri).access("both").yes().build();
    match flow {
        Flow::RoleIam => role("iam"),
        Flow::RoleCfn => role("cloudformation"),
        Flow::AccessKey => SetupArgs::access_key(&uri)
            .access("import")
            .yes()
            .json()
            .build(),
        Flow::Teardown => [
            "teardown",
            "--role-name",
            &format!("tidb-role-both-{bucket}-d"),
            "--yes",
        ]
        .map(str::to_string)
        .to_vec(),
    }
}

/// A fresh bucket; for teardown, with a role to tear down.
async fn prepare(flow: Flow, aws: &Aws, prefix: &str) -> String {
    let bucket = unique(prefix);
    aws.create_bucket(&bucket).await;
    if flow == Flow::Teardown {
        run(&moto().url(), args(Flow::RoleIam, &bucket)).ok();
    }
    bucket
}

/// The names a message may use for the step behind a request.
fn step_names(action: &str) -> Vec<&str> {
    match action {
        "s3:HEAD?" => vec!["HeadBucket"],
        "s3:GET?location" => vec!["GetBucketLocation"],
        "s3:GET?encryption" => vec!["GetBucketEncryption", "GetEncryptionConfiguration"],
        "s3:GET?policy" => vec!["GetBucketPolicy"],
        "s3:GET?ownershipControls" => vec!["GetBucketOwnershipControls"],
        "s3:GET?list-type&max-keys&prefix" => vec!["ListObjectsV2"],
        other => vec![other],
    }
}

/// Reads that another request stands in for: HeadBucket's region comes from
/// GetBucketLocation when HeadBucket does not answer with it.
fn has_fallback(action: &str) -> bool {
    action == "s3:HEAD?"
}

/// Reads that only inform (a warning or a finding names them); the setup goes on without them.
/// GetCallerIdentity is the new key's (the caller's own, failed, ends the run): the key is made
/// either way, and the run says that it was not tried.
fn optional(action: &str, fault: Fault) -> bool {
    matches!(
        action,
        "s3:GET?policy"
            | "s3:GET?ownershipControls"
            | "s3:GET?list-type&max-keys&prefix"
            | "GetCallerIdentity"
    ) || (fault == Fault::Denied && matches!(action, "s3:GET?location" | "s3:GET?encryption"))
}

async fn fault_at_every_request(flow: Flow) {
    let (moto, aws) = on_moto().await;
    let proxy = Proxy::start(moto.port);
    let bucket = prepare(flow, &aws, "count").await;
    run(&proxy.url(), args(flow, &bucket)).ok();
    let count = proxy.seen().len();
    assert!(count >= 5, "{flow:?}: {:?}", proxy.seen());

    let mut report = Vec::new();
    for fault in [Fault::Internal, Fault::Drop, Fault::Denied] {
        for n in 1..=count {
            proxy.reset();
            let bucket = prepare(flow, &aws, "fault").await;
            proxy.fail(Match::NthCall(n), fault, usize::MAX);
            let out = run(&proxy.url(), args(flow, &bucket));
            let Ran { stdout, stderr, .. } = out;
            let seen = proxy.seen();
            let Some(action) = seen.get(n - 1).cloned() else {
                report.push(format!(
                    "{flow:?} {fault:?} #{n}: only {} requests were made",
                    seen.len()
                ));
                continue;
            };
            let named = step_names(&action).iter().any(|s| stderr.contains(s));
            let why = format!("{flow:?} {fault:?} at request {n} ({action})");
            match out.code {
                0 if has_fallback(&action) => {}
                // The checks after the setup read it back; a failed read there leaves the
                // setup done, and the read-back check names the read and says what was judged.
                0 if stderr.contains("check read-back:") && named => {}
                0 if optional(&action, fault) && !named => report.push(format!(
                    "{why}: succeeded without naming the unread step:\n{stderr}"
                )),
                0 if optional(&action, fault) => {}
                0 => report.push(format!("{why}: exit 0\n{stdout}{stderr}")),
                _ if !named => report.push(format!(
                    "{why}: the message does not name the step:\n{stderr}"
                )),
                _ => {}
            }
            if flow == Flow::Teardown && out.code != 0 {
                let unreported = unreported_by_teardown(&aws, &bucket, &stderr).await;
                report.extend(unreported.map(|u| format!("{why}: {u}:\n{stderr}")));
            } else if flow != Flow::Teardown {
                // Nothing of this run is left, unless the run printed it as left.
                for thing in aws.leftovers(&bucket).await {
                    let printed = stderr.contains("Left in AWS") && stderr.contains(&thing);
                    if out.code != 0 && !printed {
                        report.push(format!("{why}: {thing} was left, unreported:\n{stderr}"));
                    }
                }
            }
            // A clean rerun converges.
            let again = run(&moto.url(), args(flow, &bucket));
            if !again.code == 0 {
                report.push(format!("{why}: the clean rerun failed: {}", again.stderr));
                continue;
            }
            let left = aws.leftovers(&bucket).await;
            let expected = match flow {
                Flow::Teardown => 0,
                Flow::RoleIam => 2,
                Flow::RoleCfn => 2,
                Flow::AccessKey => 2,
            };
            if left.len() != expected {
                report.push(format!("{why}: after the rerun, {left:?}"));
            }
        }
    }
    assert!(
        report.is_empty(),
        "{} problem(s):\n{}",
        report.len(),
        report.join("\n\n")
    );
}

/// What a failed teardown of a role (and its policy) left without saying so. One that deleted
/// nothing leaves both, and says only what failed; one cut short lists every one left.
async fn unreported_by_teardown(aws: &Aws, bucket: &str, stderr: &str) -> Option<String> {
    let roles = aws.roles_naming(bucket).await;
    let policies = aws.policies_naming(bucket).await;
    let Some((_, left)) = stderr.split_once("Left in AWS:") else {
        let all = roles.len() == 1 && policies.len() == 1;
        return (!all)
            .then(|| format!("it deleted part, unreported: {roles:?} {policies:?} are left"));
    };
    let listed = |kind: &str, name: &str| {
        left.lines().any(|l| {
            let l = l.trim_start();
            l.starts_with(&format!("- {kind} "))
                && (l.contains(&format!(" {name}")) || l.contains(&format!("/{name}")))
        })
    };
    let unlisted: Vec<&String> = (roles.iter().filter(|r| !listed("role", r)))
        .chain(policies.iter().filter(|p| !listed("policy", p)))
        .collect();
    (!unlisted.is_empty()).then(|| format!("{unlisted:?} left, not listed as left"))
}

#[tokio::test(flavor = "multi_thread")]
async fn a_fault_at_every_request_of_role_iam() {
    fault_at_every_request(Flow::RoleIam).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_fault_at_every_request_of_role_cloudformation() {
    fault_at_every_request(Flow::RoleCfn).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_fault_at_every_request_of_access_key() {
    fault_at_every_request(Flow::AccessKey).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_fault_at_every_request_of_teardown() {
    fault_at_every_request(Flow::Teardown).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn throttling_of_every_call_is_retried_and_the_run_succeeds() {
    let (moto, aws) = on_moto().await;
    for flow in [Flow::RoleIam, Flow::RoleCfn, Flow::AccessKey] {
        let proxy = Proxy::start(moto.port);
        let bucket = prepare(flow, &aws, "count-throttle").await;
        bin(&proxy.url())
            .args(args(flow, &bucket))
            .assert()
            .success();
        let mut actions = proxy.seen();
        actions.sort();
        actions.dedup();
        proxy.reset();
        for action in &actions {
            proxy.fail(Match::Action(action.clone()), Fault::Throttle, 2);
        }
        let bucket = prepare(flow, &aws, "throttle").await;
        run(&proxy.url(), args(flow, &bucket)).ok();
        let seen = proxy.seen();
        for action in &actions {
            let tries = seen.iter().filter(|a| *a == action).count();
            assert!(
                tries >= 3,
                "{flow:?}: {action} was tried {tries} times: {seen:?}"
            );
        }
    }
}

#[test]
fn invalid_and_expired_credentials_get_their_own_messages() {
    let proxy = Proxy::start(moto().port);
    proxy.fail_action(
        "GetCallerIdentity",
        Fault::Code(403, "InvalidClientTokenId"),
    );
    let out = run(&proxy.url(), args(Flow::RoleIam, "some-bucket"));
    let stderr = out.stderr;
    assert_eq!(out.code, 1);
    assert!(
        stderr.contains("InvalidClientTokenId")
            && stderr.contains("not valid")
            && stderr.contains("aws configure"),
        "{stderr}"
    );

    proxy.reset();
    proxy.fail_action("GetCallerIdentity", Fault::Code(400, "ExpiredToken"));
    let out = run(&proxy.url(), args(Flow::AccessKey, "some-bucket"));
    let stderr = out.stderr;
    assert_eq!(out.code, 1);
    assert_says(&stderr, "expired");
    assert_says(&stderr, "aws sso login");
}

/// Starts the binary, waits until the proxy holds `action`, then sends `signal`.
fn interrupt_at(
    proxy: &Proxy,
    flow: Flow,
    bucket: &str,
    action: &str,
    signal: &str,
) -> (Option<i32>, String) {
    let child = spawn(&proxy.url(), &args(flow, bucket));
    proxy.wait_for(action, 1);
    let status = Command::new("kill")
        .args([signal, &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let out = child.wait_with_output().unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn sigint_and_sigterm_at_each_apply_step_leave_nothing_behind() {
    let (moto, aws) = on_moto().await;
    let points = [
        (Flow::RoleIam, "CreatePolicy"),
        (Flow::RoleIam, "CreateRole"),
        (Flow::RoleIam, "AttachRolePolicy"),
        (Flow::RoleCfn, "CreateStack"),
        (Flow::RoleCfn, "DescribeStackEvents"),
        (Flow::RoleCfn, "GetCallerIdentity"),
        (Flow::AccessKey, "CreateUser"),
        (Flow::AccessKey, "AttachUserPolicy"),
        (Flow::AccessKey, "CreateAccessKey"),
    ];
    for (flow, action) in points {
        for signal in ["-INT", "-TERM"] {
            let proxy = Proxy::start(moto.port);
            // Hold the request so that the signal lands while it is in flight.
            proxy.fail(Match::Action(action.into()), Fault::Delay(800), 1);
            let bucket = prepare(flow, &aws, "sig").await;
            let (code, stderr) = interrupt_at(&proxy, flow, &bucket, action, signal);
            let why = format!("{flow:?} {signal} at {action}");
            assert_eq!(code, Some(130), "{why}: {stderr}");
            assert!(stderr.contains("interrupted"), "{why}: {stderr}");
            for thing in aws.leftovers(&bucket).await {
                assert!(
                    stderr.contains("Left in AWS") && stderr.contains(&thing),
                    "{why}: {thing} left unreported:\n{stderr}"
                );
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn two_runs_at_once_make_one_role_and_one_policy() {
    let (moto, aws) = on_moto().await;
    for flow in [Flow::RoleIam, Flow::AccessKey, Flow::RoleCfn] {
        let proxy = Proxy::start(moto.port);
        // Both runs read "nothing there" before either creates anything.
        let read = match flow {
            Flow::RoleIam => "GetRole",
            Flow::AccessKey => "GetUser",
            _ => "DescribeStacks",
        };
        proxy.fail(Match::Action(read.into()), Fault::Delay(700), 2);
        if flow == Flow::RoleCfn {
            // AWS serializes CreateStack per stack name; moto's threads do not, and two at once
            // there can collide inside moto on the role itself, leaving a stack in
            // CREATE_IN_PROGRESS for good (seen once with a fixed 500 ms head start on a
            // loaded machine). The second is held until moto has answered the first.
            let second = Match::NthOf("CreateStack".into(), 2);
            proxy.fail(second, Fault::AfterAnswered("CreateStack"), 1);
        }
        let bucket = prepare(flow, &aws, "twice").await;
        let spawn = || {
            Command::new(env!("CARGO_BIN_EXE_serverless-s3-setup"))
                .args(args(flow, &bucket))
                .env("AWS_ENDPOINT_URL", proxy.url())
                .env("AWS_ACCESS_KEY_ID", "testing")
                .env("AWS_SECRET_ACCESS_KEY", "testing")
                .env("AWS_REGION", "us-east-1")
                .env("AWS_EC2_METADATA_DISABLED", "true")
                .env_remove("AWS_PROFILE")
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        };
        let (a, b) = (spawn(), spawn());
        let (a, b) = (a.wait_with_output().unwrap(), b.wait_with_output().unwrap());
        let codes = (a.status.code(), b.status.code());
        let stderr = format!(
            "{}\n---\n{}",
            String::from_utf8_lossy(&a.stderr),
            String::from_utf8_lossy(&b.stderr)
        );
        match codes {
            (Some(0), Some(0)) => {}
            (Some(0), Some(1)) | (Some(1), Some(0)) => {
                assert!(
                    stderr.contains("another run"),
                    "{flow:?}: a failure must be a clear conflict:\n{stderr}"
                )
            }
            other => panic!("{flow:?}: {other:?}\n{stderr}"),
        }
        let left = aws.leftovers(&bucket).await;
        let expected = match flow {
            Flow::RoleCfn => 2, // the stack and its role
            _ => 2,             // the role or user, and its policy
        };
        assert_eq!(left.len(), expected, "{flow:?}: {left:?}\n{stderr}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn sigint_and_sigterm_during_teardown_leave_it_finished_or_resumable() {
    let (moto, aws) = on_moto().await;
    for action in ["DetachRolePolicy", "DeletePolicy", "DeleteRole"] {
        for signal in ["-INT", "-TERM"] {
            let proxy = Proxy::start(moto.port);
            proxy.fail(Match::Action(action.into()), Fault::Delay(800), 1);
            let bucket = prepare(Flow::Teardown, &aws, "sigtd").await;
            let (code, stderr) = interrupt_at(&proxy, Flow::Teardown, &bucket, action, signal);
            let why = format!("teardown {signal} at {action}");
            let left = aws.leftovers(&bucket).await;
            match code {
                Some(130) if left.is_empty() || stderr.contains("run the same teardown again") => {}
                Some(0) if left.is_empty() => {}
                other => panic!("{why}: {other:?}, left {left:?}\n{stderr}"),
            }
            run(&moto.url(), args(Flow::Teardown, &bucket)).ok();
            assert!(
                aws.leftovers(&bucket).await.is_empty(),
                "{why}: the rerun finishes the teardown"
            );
        }
    }
}

/// `role --method iam --dry-run` for a directory of `bucket`: a run that reads and signs
/// requests but changes nothing.
fn dry_run_role(bucket: &str) -> Vec<String> {
    SetupArgs::role("iam", &format!("s3://{bucket}/d/"))
        .args(&["--dry-run"])
        .build()
}

/// An explicit --profile wins over environment keys, as the AWS CLI has it; a profile that no
/// file defines is bad input (exit 2), naming the files searched and the profiles there.
#[tokio::test]
async fn an_explicit_profile_wins_and_a_missing_one_is_named() {
    let Scene { moto, bucket, .. } = scene("profile").await;
    let dir = moto::tmp_dir().join(format!("profile-{bucket}"));
    std::fs::create_dir_all(&dir).unwrap();
    let credentials = dir.join("credentials");
    std::fs::write(
        &credentials,
        "[tidb]\naws_access_key_id = AKIAPROFILEKEY000001\naws_secret_access_key = x\n",
    )
    .unwrap();
    let proxy = Proxy::start(moto.port);
    let args = dry_run_role(&bucket);
    let out = ran(bin(&proxy.url())
        .env("AWS_SHARED_CREDENTIALS_FILE", &credentials)
        .args(&args)
        .args(["--profile", "tidb"])
        .output()
        .unwrap());
    assert_eq!(out.code, 0, "{}", (&out.stdout, &out.stderr).1);
    let signed = proxy.authorizations();
    assert!(!signed.is_empty());
    assert!(
        signed
            .iter()
            .all(|a| a.contains("Credential=AKIAPROFILEKEY000001/")),
        "the profile's key, not AWS_ACCESS_KEY_ID: {signed:?}"
    );

    proxy.reset();
    let Ran { stderr, .. } = ran(bin(&proxy.url())
        .env("AWS_SHARED_CREDENTIALS_FILE", &credentials)
        .args(args)
        .args(["--profile", "nope"])
        .output()
        .unwrap())
    .exits(2);
    assert!(
        stderr.contains("--profile")
            && stderr.contains(credentials.to_str().unwrap())
            && stderr.contains("tidb"),
        "{stderr}"
    );
    assert!(proxy.seen().is_empty(), "{:?}", proxy.seen());
}

/// A credential helper takes as long as it takes: the run waits for it, says what it waits
/// for (once it takes more than a moment), and then goes on with the helper's credentials.
#[tokio::test]
async fn a_slow_credential_helper_is_waited_for_and_named() {
    let Scene { moto, bucket, .. } = scene("helper").await;
    let dir = moto::tmp_dir().join(format!("helper-{bucket}"));
    std::fs::create_dir_all(&dir).unwrap();
    let config = dir.join("config");
    std::fs::write(
        &config,
        "[profile slow]\ncredential_process = sh -c 'sleep 2; echo \"{\\\"Version\\\": 1, \\\"AccessKeyId\\\": \\\"AKIAHELPERKEY0000001\\\", \\\"SecretAccessKey\\\": \\\"x\\\"}\"'\n",
    )
    .unwrap();
    let proxy = Proxy::start(moto.port);
    let Ran { stderr, .. } = ran(bin(&proxy.url())
        .env("AWS_CONFIG_FILE", &config)
        .args(dry_run_role(&bucket))
        .args(["--profile", "slow"])
        .output()
        .unwrap())
    .ok();
    assert_says(
        &stderr,
        "Waiting for AWS credentials from the credential_process of profile slow",
    );
    // The helper runs without the terminal: the wait line says which helpers can ask.
    assert_says(&stderr, "opens a browser or asks on /dev/tty");
    let signed = proxy.authorizations();
    assert!(
        !signed.is_empty()
            && signed
                .iter()
                .all(|a| a.contains("Credential=AKIAHELPERKEY0000001/")),
        "the helper's key: {signed:?}"
    );
}

/// A server that is not AWS (a web server, a proxy, a wrong --endpoint-url) answers with a
/// bare status: named as such, not as "AWS had an internal error". An AWS 5xx keeps its advice.
#[tokio::test]
async fn an_answer_that_is_not_aws_is_named_as_such() {
    let Scene { moto, bucket, .. } = scene("notaws").await;
    for (fault, says) in [
        (
            Fault::NotAws(501),
            "HTTP 501) carries no AWS error, so it may not come from AWS",
        ),
        (
            Fault::NotAws(502),
            "HTTP 502) carries no AWS error, so it may not come from AWS",
        ),
        (Fault::Internal, "AWS had an internal error"),
    ] {
        let proxy = Proxy::start(moto.port);
        proxy.fail(Match::Action("GetCallerIdentity".into()), fault, usize::MAX);
        let out = run(&proxy.url(), args(Flow::RoleIam, &bucket));
        assert_eq!(out.code, 1, "{fault:?}: {}", out.stderr);
        assert!(out.stderr.contains(says), "{fault:?}: {}", out.stderr);
        assert!(
            out.stderr.contains("sts:GetCallerIdentity failed"),
            "{}",
            out.stderr
        );
    }
}
