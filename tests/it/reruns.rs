//! Nothing changes that the plan does not show: a rerun keeps the guardrails, the KMS keys and
//! the stack's parameters it was not given; taking one away is a `-` line; an access change
//! updates the one role of a location and keeps its ARN; a default name never points a role
//! elsewhere; and what can never work exits 2 before any write. Checked from outside, on moto.

use crate::common::*;

async fn boundary(aws: &Aws) -> String {
    let doc = serde_json::json!({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["s3:*", "kms:*"], "Resource": "*"}
    ]});
    aws.create_policy(&unique("bnd"), &doc).await
}

fn has(tags: &[(String, String)], key: &str, value: &str) -> bool {
    tags.iter().any(|(k, v)| k == key && v == value)
}

async fn role_tags(aws: &Aws, name: &str) -> Vec<(String, String)> {
    aws.role(name)
        .await
        .unwrap()
        .tags()
        .iter()
        .map(|t| (t.key().to_string(), t.value().to_string()))
        .collect()
}

/// The stack's parameters and tags, as CloudFormation describes them.
async fn stack_state(aws: &Aws, name: &str) -> (Vec<(String, String)>, Vec<(String, String)>) {
    let out = aws.stack(name).await;
    let stack = &out;
    let params = stack
        .parameters()
        .iter()
        .map(|p| {
            (
                p.parameter_key().unwrap().to_string(),
                p.parameter_value().unwrap_or_default().to_string(),
            )
        })
        .collect();
    let tags = stack
        .tags()
        .iter()
        .map(|t| (t.key().unwrap().to_string(), t.value().unwrap().to_string()))
        .collect();
    (params, tags)
}

#[tokio::test]
async fn a_rerun_keeps_the_boundary_path_and_tags_and_only_a_flag_takes_one_off() {
    let (moto, aws) = on_moto().await;
    for (method, bucket) in aws.bucket_per_method("keep").await {
        let uri = format!("s3://{bucket}/d/");
        let bnd = boundary(&aws).await;
        let first = SetupArgs::role(method, &uri)
            .external_ids(&["aaa111"])
            .guardrails(&bnd, &["team=data", "cost=42"])
            .yes()
            .build();
        let Ran { json: made, .. } = run(&moto.url(), with_json(&first)).ok();
        let name = made["role_name"].as_str().unwrap().to_string();

        // A second cluster, and not one guardrail flag: the plan names only the new cluster,
        // and the role, the policy and the stack keep all of them.
        let second = SetupArgs::role(method, &uri)
            .external_ids(&["bbb222"])
            .yes()
            .build();
        let Ran {
            json: out, stderr, ..
        } = run(&moto.url(), with_json(&second)).ok();
        assert_eq!(out["role_arn"], made["role_arn"], "{method}");
        assert_eq!(out["permissions_boundary"], bnd.as_str(), "{method}: {out}");
        assert_eq!(out["path"], "/tidb/", "{method}");
        assert!(!stderr.contains("takes away"), "{method}: {stderr}");
        let role = aws.role(&name).await.unwrap();
        assert_eq!(role.path(), "/tidb/", "{method}");
        if method == "iam" {
            let trust = aws.trust(&name).await;
            assert_eq!(
                trust["Statement"][0]["Condition"]["StringEquals"]["sts:ExternalId"],
                serde_json::json!(["aaa111", "bbb222"])
            );
            assert_eq!(
                role.permissions_boundary()
                    .and_then(|b| b.permissions_boundary_arn()),
                Some(bnd.as_str())
            );
            let tags = role_tags(&aws, &name).await;
            assert!(
                has(&tags, "team", "data") && has(&tags, "cost", "42"),
                "{tags:?}"
            );
        } else {
            // UpdateStack replaces the whole tag list and every parameter sent: the rerun
            // sent the ones the stack had. (moto applies no update to the role; LocalStack
            // does, and `localstack.rs` checks the role itself.)
            let (params, tags) = stack_state(&aws, &name).await;
            assert!(has(&params, "PermissionsBoundary", &bnd), "{params:?}");
            assert!(has(&params, "RolePath", "/tidb/"), "{params:?}");
            assert!(has(&params, "MoreExternalIds", "bbb222"), "{params:?}");
            assert!(
                has(&tags, "team", "data") && has(&tags, "cost", "42"),
                "{tags:?}"
            );
        }

        // Taking the boundary and a tag off is explicit, and the plan shows it as `-` lines.
        let off = SetupArgs::role(method, &uri)
            .external_ids(&["bbb222"])
            .args(&["--no-permissions-boundary", "--remove-tag", "cost"])
            .build();
        let plan = run(&moto.url(), with(&off, &["--dry-run"])).ok().stdout;
        assert!(
            plan.contains(&format!("- permissions boundary: {bnd} → (removed)")),
            "{method}: {plan}"
        );
        assert!(
            plan.contains("- tag cost: 42 → (removed)"),
            "{method}: {plan}"
        );
        let mut off = off;
        off.push("--yes".into());
        let Ran {
            json: out, stderr, ..
        } = run(&moto.url(), with_json(&off)).ok();
        assert!(
            stderr.contains(&format!(
                "takes away permissions boundary: {bnd} → (removed)"
            )),
            "{method}: {stderr}"
        );
        assert!(out.get("permissions_boundary").is_none(), "{out}");
        if method == "iam" {
            let role = aws.role(&name).await.unwrap();
            assert!(role.permissions_boundary().is_none());
            let tags = role_tags(&aws, &name).await;
            assert!(has(&tags, "team", "data") && !tags.iter().any(|(k, _)| k == "cost"));
            let policy = aws
                .iam
                .list_policy_tags()
                .policy_arn(out["policy_arn"].as_str().unwrap())
                .send()
                .await
                .unwrap();
            assert!(policy.tags().iter().all(|t| t.key() != "cost"));
            assert!(policy.tags().iter().any(|t| t.key() == "team"));
        } else {
            let (params, tags) = stack_state(&aws, &name).await;
            assert!(has(&params, "PermissionsBoundary", ""), "{params:?}");
            assert!(has(&tags, "team", "data"), "{tags:?}");
            assert!(!tags.iter().any(|(k, _)| k == "cost"), "{tags:?}");
        }
        // And again: nothing left to change.
        let Ran {
            json: out, stderr, ..
        } = run(&moto.url(), with_json(&second)).ok();
        if method == "iam" {
            assert_eq!(out["changed"], false, "{method}: {stderr}");
        }
    }
}

#[tokio::test]
async fn a_rerun_keeps_the_kms_keys_it_granted_until_one_is_taken_off() {
    let Scene { moto, aws, bucket } = scene("keepkey").await;
    let (_, key) = aws.create_key().await;
    let uri = format!("s3://{bucket}/d/");
    let args = |extra: &[&str]| SetupArgs::role("iam", &uri).args(extra).yes().build();
    let Ran { json: made, .. } = run(&moto.url(), with_json(&args(&["--kms-key", &key]))).ok();
    let policy = made["policy_arn"].as_str().unwrap().to_string();
    let Ran {
        json: again,
        stderr,
        ..
    } = run(&moto.url(), with_json(&args(&[]))).ok();
    assert_eq!(again["changed"], false, "{stderr}");
    assert_eq!(again["kms_keys"], serde_json::json!([key]));
    let Ran { stderr, .. } = run(&moto.url(), with_json(&args(&["--remove-kms-key", &key]))).ok();
    assert_says(&stderr, &format!("takes away KMS key: {key}"));
    let doc = aws.policy_document(&policy).await;
    assert!(!doc.to_string().contains("kms:"), "{doc}");
}

/// A role or user made with `--policy-name` keeps that policy on a rerun without it: the
/// tool's policy attached to it is found, and no second one is made.
#[tokio::test]
async fn a_rerun_keeps_a_policy_name_given_before() {
    let Scene { moto, aws, bucket } = scene("keepname").await;
    let uri = format!("s3://{bucket}/d/");
    let custom = format!("custom-{bucket}");
    let first = SetupArgs::role("iam", &uri)
        .args(&["--policy-name", &custom])
        .yes()
        .build();
    run(&moto.url(), with_json(&first)).ok();
    let Ran {
        json: again,
        stderr,
        ..
    } = run(
        &moto.url(),
        with_json(&SetupArgs::role("iam", &uri).yes().build()),
    )
    .ok();
    assert_eq!(again["changed"], false, "{stderr}");
    assert_eq!(again["policy_name"], custom.as_str());
    let key = |extra: &[&str]| SetupArgs::access_key(&uri).yes().args(extra).build();
    run(
        &moto.url(),
        with_json(&key(&["--policy-name", &format!("{custom}-u")])),
    )
    .ok();
    let Ran { json: again, .. } = run(&moto.url(), with_json(&key(&[]))).ok();
    assert_eq!(again["policy_name"], format!("{custom}-u"));
    let policies = aws.policies_naming(&bucket).await;
    assert_eq!(
        policies.len(),
        2,
        "one for the role, one for the user: {policies:?}"
    );
}

/// One role per location: a run under another access updates it, and TiDB Cloud's Role ARN
/// stays right.
#[tokio::test]
async fn an_access_change_updates_the_one_role_and_keeps_its_arn() {
    let (moto, aws) = on_moto().await;
    for (method, bucket) in aws.bucket_per_method("access").await {
        let uri = format!("s3://{bucket}/data/");
        let Ran { json: import, .. } = run(
            &moto.url(),
            with_json(&SetupArgs::role(method, &uri).yes().build()),
        )
        .ok();
        let both = SetupArgs::role(method, &uri).access("both");
        let Ran {
            stdout: plan,
            stderr,
            ..
        } = run(&moto.url(), with(&both.clone().build(), &["--dry-run"])).ok();
        assert!(
            plan.contains("\n  ~ access: import → both\n"),
            "{method}: {plan}"
        );
        let role = import["role_name"].as_str().unwrap();
        let serves = format!("role {role} already serves {uri}: it is updated, and keeps its ARN");
        // Said once: under Detected in a plan shown whole, on stderr when no plan is shown.
        assert_says(&plan, &format!("\n  {serves}\n"));
        assert!(!stderr.contains(&serves), "{method}: {stderr}");
        assert!(!plan.contains("create stack"), "{method}: {plan}");
        let Ran {
            json: out, stderr, ..
        } = run(&moto.url(), with_json(&both.yes().build())).ok();
        assert_says(&stderr, &serves);
        assert_eq!(
            out["role_arn"], import["role_arn"],
            "{method}: the ARN in TiDB Cloud stays"
        );
        assert_eq!(out["access"], "both");
        let roles: Vec<String> = aws.roles_naming(&bucket).await;
        assert_eq!(
            roles,
            [format!("tidb-role-import-{bucket}-data")],
            "{method}"
        );
        let role = aws.role(&roles[0]).await.unwrap();
        assert_eq!(
            role.description(),
            Some(
                format!(
                    "Lets TiDB Cloud import and export s3://{bucket}/data (serverless-s3-setup)"
                )
                .as_str()
            ),
            "{method}"
        );
        if method == "iam" {
            let policies = aws.policy_arns_naming(&bucket).await;
            assert_eq!(policies.len(), 1, "{policies:?}");
            let doc = aws.policy_document(&policies[0]).await;
            assert!(doc.to_string().contains("s3:PutObject"), "{doc}");
            assert!(has(
                &role_tags(&aws, &roles[0]).await,
                "serverless-s3-setup:access",
                "both"
            ));
        } else {
            let (params, _) = stack_state(&aws, &roles[0]).await;
            assert!(has(&params, "Access", "both"), "{params:?}");
        }
        // A second role for the location only when it is named.
        let named = SetupArgs::role(method, &uri)
            .access("export")
            .role_name(&format!("writer-{bucket}"))
            .yes()
            .build();
        run(&moto.url(), with_json(&named)).ok();
        assert!(aws.role(&format!("writer-{bucket}")).await.is_some());
    }
}

#[tokio::test]
async fn an_access_key_user_follows_an_access_change() {
    let Scene { moto, aws, bucket } = scene("keyaccess").await;
    let uri = format!("s3://{bucket}/data/");
    let key = |access: &str| SetupArgs::access_key(&uri).access(access).yes().build();
    let Ran { json: first, .. } = run(&moto.url(), with_json(&key("import"))).ok();
    let Ran {
        json: second,
        stderr,
        ..
    } = run(&moto.url(), with_json(&key("export"))).ok();
    assert_eq!(second["user_arn"], first["user_arn"]);
    assert_says(&stderr, "takes away access: import → export");
    let users = aws.iam.list_users().send().await.unwrap();
    let ours: Vec<_> = users
        .users()
        .iter()
        .filter(|u| u.user_name().contains(&bucket))
        .collect();
    assert_eq!(ours.len(), 1, "{ours:?}");
}

/// A default name is never pointed at another directory; a name given by hand is, once the
/// plan has said so.
#[tokio::test]
async fn a_default_name_never_points_a_role_elsewhere() {
    let Scene { moto, aws, bucket } = scene("repoint").await;
    let taken = format!("tidb-role-import-{bucket}-y");
    let x = format!("s3://{bucket}/x/");
    let y = format!("s3://{bucket}/y/");
    let made = SetupArgs::role("iam", &x).role_name(&taken).yes().build();
    let Ran { json: out, .. } = run(&moto.url(), with_json(&made)).ok();
    let policy = out["policy_arn"].as_str().unwrap().to_string();

    let proxy = Proxy::start(moto.port);
    let Ran { code, stderr, .. } = run(
        &proxy.url(),
        with_json(&SetupArgs::role("iam", &y).yes().build()),
    );
    assert_eq!(code, 1, "{stderr}");
    assert_says(&stderr, &format!("role {taken} serves {x}, not {y}"));
    assert_says(&stderr, "--role-name");
    assert_eq!(writes(&proxy), Vec::<String>::new());
    let doc = aws.policy_document(&policy).await;
    assert!(doc.to_string().contains(&format!("{bucket}/x/*")), "{doc}");

    let named = SetupArgs::role("iam", &y).role_name(&taken);
    let plan = run(&moto.url(), with(&named.clone().build(), &["--dry-run"]))
        .ok()
        .stdout;
    assert_says(&plan, &format!("- directory: {x} → {y}"));
    let Ran { stderr, .. } = run(&moto.url(), with_json(&named.yes().build())).ok();
    assert_says(&stderr, &format!("takes away directory: {x} → {y}"));
    let doc = aws.policy_document(&policy).await;
    assert!(doc.to_string().contains(&format!("{bucket}/y/*")), "{doc}");
}

/// The requests that change something, as the proxy saw them.
fn writes(proxy: &Proxy) -> Vec<String> {
    proxy
        .seen()
        .into_iter()
        .filter(|a| {
            !["Get", "List", "Describe", "s3:GET", "s3:HEAD"]
                .iter()
                .any(|read| a.starts_with(read))
        })
        .collect()
}

#[tokio::test]
async fn the_callers_own_account_as_tidbs_exits_2_before_any_write() {
    let Scene { moto, aws, bucket } = scene("ownacct").await;
    let uri = format!("s3://{bucket}/d/");
    let proxy = Proxy::start(moto.port);
    for method in ["iam", "cloudformation"] {
        let mut args = SetupArgs::role(method, &uri).yes().build();
        let at = args.iter().position(|a| a == TIDB_ACCOUNT).unwrap();
        args[at] = "123456789012".into();
        let Ran { code, stderr, .. } = run(&proxy.url(), with_json(&args));
        assert_eq!(code, 2, "{method}: {stderr}");
        assert_says(&stderr, "--tidb-account-id");
        assert_says(&stderr, "your own AWS account");
    }
    assert_eq!(writes(&proxy), Vec::<String>::new());
    assert!(aws.roles_naming(&bucket).await.is_empty());
}

/// A trust policy past the account's quota is refused before any write, and the quota is the
/// account's own: read from GetAccountSummary (here scripted as raised to 4,096, which moto
/// cannot be told), only when the trust outgrows IAM's default.
#[tokio::test]
async fn a_trust_past_the_accounts_quota_exits_2_before_any_write() {
    let Scene { moto, aws, bucket } = scene("bigtrust").await;
    let uri = format!("s3://{bucket}/d/");
    // A role that 39 clusters use already (their IDs written straight into its trust), and
    // the fortieth.
    let ids: Vec<String> = (0..40)
        .map(|i| format!("{i:02}{}", "x".repeat(48)))
        .collect();
    let Ran { json: made, .. } = run(
        &moto.url(),
        with_json(
            &SetupArgs::role("iam", &uri)
                .external_ids(&[&ids[0]])
                .yes()
                .build(),
        ),
    )
    .ok();
    let name = made["role_name"].as_str().unwrap();
    let trust = serde_json::json!({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow",
        "Principal": {"AWS": format!("arn:aws:iam::{TIDB_ACCOUNT}:root")},
        "Action": "sts:AssumeRole",
        "Condition": {"StringEquals": {"sts:ExternalId": ids[..39]}}
    }]});
    aws.set_trust(name, &trust).await;
    let args = SetupArgs::role("iam", &uri)
        .external_ids(&[&ids[39]])
        .yes()
        .build();

    let proxy = Proxy::start(moto.port);
    let Ran { code, stderr, .. } = run(&proxy.url(), with_json(&args));
    assert_eq!(code, 2, "{stderr}");
    assert_says(&stderr, "--external-id");
    assert_says(&stderr, "over this account's quota of 2048");
    assert!(proxy.seen().iter().any(|a| a == "GetAccountSummary"));
    assert_eq!(writes(&proxy), Vec::<String>::new());

    let raised = Proxy::start(moto.port);
    raised.fail_action(
        "GetAccountSummary",
        Fault::Respond(
            "<GetAccountSummaryResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\"><GetAccountSummaryResult><SummaryMap><entry><key>AssumeRolePolicySizeQuota</key><value>4096</value></entry></SummaryMap></GetAccountSummaryResult><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></GetAccountSummaryResponse>",
        ),
    );
    let Ran { json: out, .. } = run(&raised.url(), with_json(&args)).ok();
    assert_eq!(out["external_ids"].as_array().map(Vec::len), Some(40));

    // One cluster: nothing to count, no GetAccountSummary.
    let small = Proxy::start(moto.port);
    let other = format!("s3://{bucket}/e/");
    run(
        &small.url(),
        with_json(&SetupArgs::role("iam", &other).yes().build()),
    )
    .ok();
    assert!(!small.seen().iter().any(|a| a == "GetAccountSummary"));
}

/// IAM carries a change to every region after a moment, and TiDB Cloud tries the role at once:
/// a run that wrote the role says when, and what to do if TiDB Cloud cannot assume it yet; a
/// run that changed nothing says neither.
#[tokio::test]
async fn a_written_role_says_when_and_to_wait_a_moment() {
    let Scene { moto, bucket, .. } = scene("written").await;
    let uri = format!("s3://{bucket}/d/");
    let args = SetupArgs::role("iam", &uri).yes().build();
    let Ran { json: out, .. } = run(&moto.url(), with_json(&args)).ok();
    let at = out["written_at"].as_str().unwrap();
    assert!(at.ends_with('Z') && at.len() == 20, "{at}");
    let ready = out["ready_at"].as_str().unwrap();
    assert_eq!(
        seconds(ready) - seconds(at),
        60,
        "{ready} is a minute after {at}"
    );
    // In text, the next steps say it, after a change (a second cluster here) and not after
    // a run that changed nothing.
    let text = |args: Vec<String>| run(&moto.url(), &args).ok().stderr;
    let second = text(
        SetupArgs::role("iam", &uri)
            .external_ids(&["second-id"])
            .yes()
            .build(),
    );
    assert_says(&second, "The role was written at ");
    assert_says(&second, "Cannot assume the provided role");
    let again = text(
        SetupArgs::role("iam", &uri)
            .external_ids(&["second-id"])
            .yes()
            .build(),
    );
    assert!(!again.contains("The role was written"), "{again}");
    let Ran {
        json: unchanged, ..
    } = run(&moto.url(), with_json(&args)).ok();
    assert!(unchanged.get("written_at").is_none(), "{unchanged}");
    assert!(unchanged.get("ready_at").is_none(), "{unchanged}");
}

/// Seconds of the day of an RFC 3339 time `…THH:MM:SSZ`.
fn seconds(at: &str) -> i64 {
    let time = &at[11..19];
    let part = |i: usize| time[i..i + 2].parse::<i64>().unwrap();
    part(0) * 3600 + part(3) * 60 + part(6)
}

/// `--wait-ready` waits, after a change, until a minute after the role was written, saying
/// until when, before the result; Ctrl-C ends the wait, not the run, and the result is still
/// printed, with a warning. A run that changed nothing does not wait. (The whole minute is
/// unit-tested with paused time: `commands/role/ready.rs`.)
#[tokio::test]
async fn wait_ready_waits_out_the_minute_and_a_stop_ends_only_the_wait() {
    let Scene { moto, aws, bucket } = scene("ready").await;
    let uri = format!("s3://{bucket}/d/");
    let args = SetupArgs::role("iam", &uri)
        .args(&["--wait-ready"])
        .yes()
        .json()
        .build();
    let (said, out) = interrupt_on_line(spawn(&moto.url(), &args), "Waiting until ");
    assert_says(
        &said,
        "a minute after the role was written, for IAM to carry it to every region",
    );
    assert_eq!(out.status.code(), Some(0), "{said}");
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let ready = json["ready_at"].as_str().unwrap();
    assert!(
        said.contains(&format!("Waiting until {ready}")),
        "the wait names ready_at: {said}"
    );
    assert_says(&said, "stopped waiting (Ctrl-C): the role is made");
    assert!(!said.contains("undoing"), "nothing is undone: {said}");
    assert!(aws
        .role(json["role_name"].as_str().unwrap())
        .await
        .is_some());

    // Nothing changed: nothing to wait for.
    let again = run(&moto.url(), &args).ok();
    assert!(!again.stderr.contains("Waiting until"), "{}", again.stderr);
    assert!(again.json.get("ready_at").is_none(), "{}", again.json);
}
