//! `role --method cloudformation` against moto: the stack, the role it makes, and the same
//! effective permissions as `--method iam` for every access, directory and key.

use crate::common::*;
use serde_json::Value;
use serverless_s3_setup::policy;

fn args(method: &str, uri: &str, access: &str, role: &str) -> Vec<String> {
    SetupArgs::role(method, uri)
        .access(access)
        .role_name(role)
        .yes()
        .json()
        .build()
}

#[tokio::test]
async fn creates_the_stack_and_reports_its_role_arn() {
    let Scene { moto, aws, bucket } = scene("cfn").await;
    let role = format!("r-{bucket}");
    let export = args(
        "cloudformation",
        &format!("s3://{bucket}/exports/"),
        "export",
        &role,
    );
    let out = run(&moto.url(), &export).ok().json;
    assert_eq!(out["changed"], true);
    assert_eq!(out["method"], "cloudformation");
    assert_eq!(out["stack_name"], role.as_str());
    // A stack's role has no managed policy: the key is there, null, as for a role through IAM.
    assert_eq!(out.get("policy_arn"), Some(&Value::Null), "{out}");
    assert!(out["stack_id"]
        .as_str()
        .unwrap()
        .starts_with("arn:aws:cloudformation:"));

    let stack = aws.stack(&role).await;
    let stack = &stack;
    assert_eq!(stack.stack_status().unwrap().as_str(), "CREATE_COMPLETE");
    let output = stack
        .outputs()
        .iter()
        .find(|o| o.output_key() == Some("RoleArn"))
        .unwrap();
    assert_eq!(output.output_value(), out["role_arn"].as_str());
    assert!(stack
        .tags()
        .iter()
        .any(|t| t.key() == Some("managed-by") && t.value() == Some("serverless-s3-setup")));

    let trust = aws.trust(&role).await;
    assert_eq!(
        trust["Statement"][0]["Principal"]["AWS"],
        format!("arn:aws:iam::{TIDB_ACCOUNT}:root")
    );
    assert_eq!(
        trust["Statement"][0]["Condition"]["StringEquals"]["sts:ExternalId"],
        EXTERNAL_ID
    );
    let inline = inline_policy(&aws, &role, &format!("{role}-policy")).await;
    assert_eq!(
        inline["Statement"][0]["Action"],
        serde_json::json!(["s3:PutObject"])
    );
    assert_eq!(
        inline["Statement"][0]["Resource"],
        format!("arn:aws:s3:::{bucket}/exports/*")
    );
    assert_eq!(inline["Statement"].as_array().unwrap().len(), 2);

    let again = run(&moto.url(), &export).ok().json;
    assert_eq!(
        again["changed"], false,
        "a rerun with the same inputs changes nothing"
    );
    assert_eq!(again["role_arn"], out["role_arn"]);
    assert_eq!(again["actions"], serde_json::json!([]));
}

#[tokio::test]
async fn cloudformation_is_the_default_method() {
    let Scene { moto, bucket, .. } = scene("cfndefault").await;
    let mut a = args("cloudformation", &format!("s3://{bucket}"), "import", "x");
    a.drain(1..3);
    a.retain(|s| s != "--role-name" && s != "x");
    let out = run(&moto.url(), &a).ok().json;
    assert_eq!(out["method"], "cloudformation");
    // The whole of a bucket whose name has a `-` would read like a shorter bucket and a
    // directory, so its default names carry a hash of the location.
    let stack = out["stack_name"].as_str().unwrap();
    let hash = stack
        .strip_prefix(&format!("tidb-role-import-{bucket}-"))
        .unwrap_or_else(|| panic!("{stack}"));
    assert!(
        hash.len() == 8 && hash.bytes().all(|b| b.is_ascii_hexdigit()),
        "{stack}"
    );
    assert_eq!(out["role_name"], stack);
}

#[tokio::test]
async fn iam_and_cloudformation_grant_exactly_the_same_for_every_case() {
    let (moto, aws) = on_moto().await;
    for access in ["import", "export", "both"] {
        for prefix in ["", "in/2024"] {
            for keys in [0, 1, 2] {
                let bucket = aws.new_bucket("same").await;
                let mut extra = Vec::new();
                for _ in 0..keys {
                    let (_, arn) = aws.create_key().await;
                    extra.extend(["--kms-key".to_string(), arn]);
                }
                let uri = format!("s3://{bucket}/{prefix}");
                let mut via_iam = args("iam", &uri, access, &format!("i-{bucket}"));
                via_iam.extend(extra.clone());
                let mut via_cfn = args("cloudformation", &uri, access, &format!("c-{bucket}"));
                via_cfn.extend(extra);
                let iam_out = run(&moto.url(), &via_iam).ok().json;
                run(&moto.url(), &via_cfn).ok();

                let managed = aws
                    .policy_document(iam_out["policy_arn"].as_str().unwrap())
                    .await;
                let inline =
                    inline_policy(&aws, &format!("c-{bucket}"), &format!("c-{bucket}-policy"))
                        .await;
                assert!(
                    policy::same(&managed, &inline),
                    "{access} {prefix:?} {keys} key(s):\nIAM: {managed:#}\nCloudFormation: {inline:#}"
                );
                assert_eq!(
                    aws.trust(&format!("i-{bucket}")).await,
                    aws.trust(&format!("c-{bucket}")).await
                );
            }
        }
    }
}

#[test]
fn the_template_passes_cfn_lint_and_is_what_the_binary_prints() {
    let venv = moto::venv_python();
    let lint = venv.with_file_name("cfn-lint");
    let template = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("templates/tidb-cloud-s3-access.yaml");
    let out = std::process::Command::new(&lint)
        .args(["--include-checks", "I", "--"])
        .arg(&template)
        .output()
        .unwrap();
    assert!(
        out.status.success() && out.stdout.is_empty(),
        "cfn-lint found problems:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let printed = ran(bare_bin().arg("template").output().unwrap());
    assert!(printed.code == 0);
    assert_eq!(printed.stdout, std::fs::read_to_string(&template).unwrap());
}

/// People deploy the template themselves: its parameters refuse what the CLI refuses
/// (CloudFormation checks AllowedPattern against the whole value, as `re.fullmatch` does).
#[test]
fn the_templates_parameters_refuse_unsafe_values() {
    let python = moto::venv_python();
    let template = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("templates/tidb-cloud-s3-access.yaml");
    let script = r#"
import re, sys, yaml
class L(yaml.SafeLoader): pass
L.add_multi_constructor('!', lambda loader, suffix, node: None)
params = yaml.load(open(sys.argv[1]), Loader=L)['Parameters']
cases = {
    'ObjectPrefix': (['', 'a', 'dir', 'a/b c', 'données/2024'], ['dir/', '/dir', 'a//b', '*', 'd?r', 'x/${aws:username}']),
    'ExternalId': (['ab', '696e6672612d617069-ext', '(none)'], ['', 'a', 'has space']),
    'MoreExternalIds': (['', 'prod-id', 'prod-id,qa-id'], ['x', 'a,,b', ',ab', 'ab,', 'has space']),
    'KmsKeyArns': (['', 'arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab', 'arn:aws:kms:us-east-1:111122223333:key/a,arn:aws-cn:kms:cn-north-1:111122223333:key/b'], ['*', 'arn:aws:kms:us-east-1:111122223333:key/*', 'alias/aws/s3', 'arn:aws:kms:us-east-1:111122223333:key/a,*']),
}
bad = []
for name, (good, wrong) in cases.items():
    p = params[name]
    if name == 'ExternalId' and 'Default' in p:
        bad.append('ExternalId has a default')
    pattern = p['AllowedPattern']
    bad += [f'{name} refuses {v!r}' for v in good if not re.fullmatch(pattern, v)]
    bad += [f'{name} accepts {v!r}' for v in wrong if re.fullmatch(pattern, v)]
print('\n'.join(bad))
sys.exit(1 if bad else 0)
"#;
    let out = std::process::Command::new(&python)
        .args(["-c", script])
        .arg(&template)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A stack request that fails: where, what the run says, what it sent and what it must not.
struct StackFault {
    matcher: Match,
    says: &'static [&'static str],
    sent: Option<&'static str>,
    never: Option<&'static str>,
}

/// Whichever stack request fails, the run exits 1, names the request, prints no result, and
/// leaves no stack (or one that is deleted) and no role.
#[tokio::test]
async fn a_failed_stack_request_leaves_no_stack_and_no_role() {
    let cases = [
        // CreateStack refused: nothing is made.
        StackFault {
            matcher: Match::Action("CreateStack".into()),
            says: &["cloudformation:CreateStack failed: AccessDenied"],
            sent: None,
            never: None,
        },
        // The check before the plan fails: it stops before anything is made.
        StackFault {
            matcher: Match::NthOf("DescribeStacks".into(), 1),
            says: &["cloudformation:DescribeStacks failed"],
            sent: None,
            never: Some("CreateStack"),
        },
        // Losing sight of the stack while waiting (the first poll) undoes it.
        StackFault {
            matcher: Match::NthOf("DescribeStacks".into(), 2),
            says: &["cloudformation:DescribeStacks failed", "removed stack"],
            sent: Some("DeleteStack"),
            never: None,
        },
    ];
    let (moto, aws) = on_moto().await;
    for case in cases {
        let proxy = Proxy::start(moto.port);
        let what = format!("{:?}", case.matcher);
        proxy.fail(case.matcher, Fault::Denied, 1);
        let bucket = aws.new_bucket("cfnfault").await;
        let role = format!("r-{bucket}");
        let uri = format!("s3://{bucket}");
        let failed = run(&proxy.url(), args("cloudformation", &uri, "import", &role));
        assert_eq!(failed.code, 1, "{what}: {}", failed.stderr);
        assert!(failed.stdout.is_empty(), "{what}: {}", failed.stdout);
        let message = failed.error()["message"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        for says in case.says {
            assert!(
                message.contains(says) || failed.stderr.contains(says),
                "{what}: {}",
                failed.stderr
            );
        }
        let seen = proxy.seen();
        if let Some(sent) = case.sent {
            assert!(seen.iter().any(|a| a == sent), "{what}: {seen:?}");
        }
        if let Some(never) = case.never {
            assert!(!seen.iter().any(|a| a == never), "{what}: {seen:?}");
        }
        let stack = aws.cfn.describe_stacks().stack_name(&role).send().await;
        assert!(
            stack.is_err()
                || stack.unwrap().stacks()[0].stack_status().unwrap().as_str() == "DELETE_COMPLETE",
            "{what}: the stack is left"
        );
        assert!(aws.role(&role).await.is_none(), "{what}: the role is left");
    }
}

#[test]
fn stack_flags_with_the_iam_method_are_bad_usage() {
    for (method, extra, flag) in [
        ("iam", ["--stack-name", "s"], "--stack-name"),
        ("cloudformation", ["--timeout", "forever"], "--timeout"),
    ] {
        let args = SetupArgs::role(method, "s3://bucket").args(&extra).yes();
        let out = run("http://127.0.0.1:9", args.build());
        assert_eq!(out.code, 2, "{flag}: {}", out.stderr);
        assert!(out.stderr.contains(flag), "{}", out.stderr);
    }
}

#[tokio::test]
async fn a_timeout_in_hours_and_minutes_is_accepted() {
    let Scene { moto, bucket, .. } = scene("cfn-timeout").await;
    let uri = format!("s3://{bucket}/");
    let role = format!("r-{bucket}");
    let mut given = args("cloudformation", &uri, "import", &role);
    given.extend(["--timeout".into(), "1h30m".into(), "--dry-run".into()]);
    let plan = run(&moto.url(), &given).ok().json;
    assert_eq!(plan["dry_run"], true, "{plan}");
    assert_eq!(plan["plan"]["stack_name"], role.as_str(), "{plan}");
    // Without its unit, the last number is refused, before any request.
    let last = given.len() - 2;
    given[last] = "1h30".into();
    let Ran { stderr, .. } = run("http://127.0.0.1:9", &given).exits(2);
    assert_says(&stderr, "--timeout");
    assert_says(&stderr, "1h30m");
}

#[tokio::test]
async fn a_stack_the_tool_did_not_make_is_never_touched() {
    let Scene { moto, aws, bucket } = scene("cfnforeign").await;
    let name = format!("theirs-{bucket}");
    let template = r#"{"Resources":{"Topic":{"Type":"AWS::SNS::Topic"}}}"#;
    aws.cfn
        .create_stack()
        .stack_name(&name)
        .template_body(template)
        .send()
        .await
        .unwrap();
    let mut a = args(
        "cloudformation",
        &format!("s3://{bucket}"),
        "import",
        &format!("r-{bucket}"),
    );
    a.extend(["--stack-name".into(), name.clone()]);
    let Ran { stderr, .. } = run(&moto.url(), &a).exits(1);
    assert_says(&stderr, "was not created by serverless-s3-setup");
    assert_says(&stderr, "--stack-name");
    let stack = aws.stack(&name).await;
    assert_eq!(stack.stack_status().unwrap().as_str(), "CREATE_COMPLETE");
    assert!(stack.parameters().is_empty(), "not updated");
    assert!(aws.role(&format!("r-{bucket}")).await.is_none());
}

/// A lost answer to CreateStack (moto made the stack; the reply never came) is retried by the
/// SDK with the same ClientRequestToken. When that retry answers "already exists", the run
/// tag shows the stack is this run's own: the run goes on, and does not blame another run.
#[tokio::test]
async fn a_lost_create_stack_answer_is_recognised_as_this_runs_own_stack() {
    let Scene { moto, aws, bucket } = scene("cfnlost").await;
    let proxy = Proxy::start(moto.port);
    proxy.fail(Match::NthOf("CreateStack".into(), 1), Fault::DropAnswer, 1);
    let role = format!("lost-{bucket}");
    let Ran { stdout, stderr, .. } = run(
        &proxy.url(),
        args(
            "cloudformation",
            &format!("s3://{bucket}/d/"),
            "import",
            &role,
        ),
    )
    .ok();
    assert!(!stderr.contains("another run"), "{stderr}");
    let out: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(out["role_name"], role);
    let creates: Vec<_> = proxy
        .requests()
        .into_iter()
        .filter(|(a, _)| a == "CreateStack")
        .collect();
    assert!(creates.len() >= 2, "the SDK retried: {creates:?}");
    let token = |params: &Vec<(String, String)>| {
        params
            .iter()
            .find(|(k, _)| k == "ClientRequestToken")
            .map(|(_, v)| v.clone())
    };
    assert!(
        token(&creates[0].1).is_some(),
        "a ClientRequestToken is sent"
    );
    assert_eq!(
        token(&creates[0].1),
        token(&creates[1].1),
        "the same on the retry"
    );
    assert!(aws.role(&role).await.is_some());
}

/// Ownership lives on the role (CloudFormation tags no IAM role): a stack's role is never
/// changed with IAM nor deleted alone, and a role made with IAM is not mistaken for a stack.
#[tokio::test]
async fn each_method_keeps_to_what_it_made() {
    let Scene { moto, aws, bucket } = scene("owner").await;
    let uri = format!("s3://{bucket}/d/");
    let stack_role = format!("s-{bucket}");
    let made = run(
        &moto.url(),
        args("cloudformation", &uri, "import", &stack_role),
    )
    .ok()
    .json;
    assert_eq!(
        made["stack_region"], "us-east-1",
        "the stack's region is explicit"
    );
    let role = aws.role(&stack_role).await.unwrap();
    let tag = |k: &str| {
        role.tags()
            .iter()
            .find(|t| t.key() == k)
            .map(|t| t.value().to_string())
    };
    assert_eq!(
        tag("serverless-s3-setup:stack").as_deref(),
        Some(stack_role.as_str())
    );
    assert_eq!(
        tag("serverless-s3-setup:region").as_deref(),
        Some("us-east-1")
    );

    // --method iam on the stack's role stops before any change.
    let Ran { stderr, .. } = run(&moto.url(), args("iam", &uri, "import", &stack_role)).exits(1);
    assert_says(
        &stderr,
        &format!("belongs to CloudFormation stack {stack_role}"),
    );
    assert!(
        aws.attached(&stack_role).await.is_empty(),
        "no managed policy attached"
    );

    // teardown --role-name refuses, and names the command that works.
    // The wrong flag for a stack's role: usage (exit 2), and nothing changes.
    let teardown = ["teardown", "--role-name", &stack_role, "--yes"];
    let Ran { stderr, .. } = run(&moto.url(), teardown).exits(2);
    assert!(
        stderr.contains(&format!(
            "teardown --stack-name {stack_role} --region us-east-1"
        )),
        "{stderr}"
    );
    assert!(aws.role(&stack_role).await.is_some());

    // From another region the stack is not found: the role says where it is.
    let Ran { stderr, .. } = run(
        &moto.url(),
        with(
            &args("cloudformation", &uri, "import", &stack_role),
            &["--region", "eu-west-1"],
        ),
    )
    .exits(1);
    assert_says(&stderr, "--region us-east-1");

    // teardown --stack-name on a role made with IAM says what made it.
    let iam_role = format!("i-{bucket}");
    run(&moto.url(), args("iam", &uri, "import", &iam_role)).ok();
    let Ran { stderr, .. } = run(
        &moto.url(),
        ["teardown", "--stack-name", &iam_role, "--yes"],
    )
    .exits(2);
    assert_says(&stderr, &format!("teardown --role-name {iam_role}"));
    assert!(aws.role(&iam_role).await.is_some());

    // teardown --stack-name lists what it deleted, and only this deletion's events.
    let Ran { stdout, stderr, .. } = run(
        &moto.url(),
        [
            "teardown",
            "--stack-name",
            &stack_role,
            "--yes",
            "-o",
            "json",
        ],
    )
    .ok();
    assert!(!stderr.contains("CREATE_"), "no earlier events: {stderr}");
    let report: Value = serde_json::from_str(&stdout).unwrap();
    assert!(
        !report.to_string().contains("_COMPLETE"),
        "what was deleted, not the stack's last status: {report}"
    );
}

/// A role changed or deleted by hand behind its stack is never "unchanged": the rerun reads
/// the live role, shows what differs and writes the template's version back (through IAM, as
/// AWS's drift guide says), or makes the stack again when its role is gone.
#[tokio::test]
async fn a_rerun_repairs_what_was_changed_behind_the_stack() {
    let Scene { moto, aws, bucket } = scene("drift").await;
    let uri = format!("s3://{bucket}/d/");
    let role = format!("d-{bucket}");
    let policy_name = format!("{role}-policy");
    let made = run(&moto.url(), args("cloudformation", &uri, "import", &role))
        .ok()
        .json;
    let trust = aws.trust(&role).await;
    let permissions = inline_policy(&aws, &role, &policy_name).await;

    // By hand: another account trusted, the inline policy deleted.
    let foreign = serde_json::json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
        "Principal": {"AWS": "arn:aws:iam::999999999999:root"}, "Action": "sts:AssumeRole"}]});
    aws.set_trust(&role, &foreign).await;
    aws.delete_role_policy(&role, &policy_name).await;

    // The dry run shows the drift as a diff and changes nothing.
    let mut text = args("cloudformation", &uri, "import", &role);
    text.truncate(text.len() - 2); // without -o json
    let Ran { stdout, .. } = ran(bin(&moto.url())
        .args(text)
        .arg("--dry-run")
        .output()
        .unwrap())
    .ok();
    assert_says(&stdout, "Changed outside CloudFormation");
    assert_says(&stdout, "- ");
    assert_says(&stdout, "999999999999");
    assert!(
        stdout.contains(&format!(
            "+         \"AWS\": \"arn:aws:iam::{TIDB_ACCOUNT}:root\""
        )),
        "{stdout}"
    );
    assert_eq!(aws.trust(&role).await, foreign, "a dry run changes nothing");

    let repaired = run(&moto.url(), args("cloudformation", &uri, "import", &role))
        .ok()
        .json;
    assert_eq!(repaired["changed"], true, "{repaired}");
    let actions = repaired["actions"].to_string();
    assert_says(&actions, "restore the trust policy");
    assert_says(&actions, &format!("inline policy {policy_name} (deleted)"));
    assert!(policy::same(&aws.trust(&role).await, &trust));
    assert!(policy::same(
        &inline_policy(&aws, &role, &policy_name).await,
        &permissions
    ));
    assert_eq!(repaired["role_arn"], made["role_arn"]);

    let again = run(&moto.url(), args("cloudformation", &uri, "import", &role))
        .ok()
        .json;
    assert_eq!(again["changed"], false, "repaired means in sync: {again}");

    // By hand: the role deleted. The stack is made again, with its role.
    aws.delete_stack_role_by_hand(&role).await;
    let remade = run(&moto.url(), args("cloudformation", &uri, "import", &role))
        .ok()
        .json;
    assert_eq!(remade["changed"], true, "{remade}");
    assert_says(
        &remade["actions"].to_string(),
        "deleted outside CloudFormation",
    );
    assert!(policy::same(&aws.trust(&role).await, &trust));
    assert!(policy::same(
        &inline_policy(&aws, &role, &policy_name).await,
        &permissions
    ));
    let stack = aws
        .cfn
        .describe_stacks()
        .stack_name(&role)
        .send()
        .await
        .unwrap();
    assert_eq!(stack.stacks().len(), 1, "one stack, not two");
    let tags = aws.role(&role).await.unwrap().tags().to_vec();
    assert!(
        tags.iter()
            .any(|t| t.key() == "serverless-s3-setup:stack" && t.value() == role),
        "made again with the stack's ownership tags: {tags:?}"
    );
    let again = run(&moto.url(), args("cloudformation", &uri, "import", &role))
        .ok()
        .json;
    assert_eq!(again["changed"], false, "{again}");

    // The stack holds the role again: its teardown removes it.
    run(&moto.url(), ["teardown", "--stack-name", &role, "--yes"]).ok();
    assert!(aws.role(&role).await.is_none());
}

/// With no region configured (no `--region`, `AWS_REGION` or profile region), a stack goes to
/// the bucket's region, and the run says so, not to us-east-1 unsaid; the result names the
/// stack's region, and a rerun finds the stack there by the role's tag.
#[tokio::test]
async fn with_no_region_configured_the_stack_goes_to_the_buckets_region() {
    let (moto, aws) = on_moto().await;
    let bucket = unique("noregion");
    aws.create_bucket_in(&bucket, "eu-west-1").await;
    let uri = format!("s3://{bucket}/d/");
    let role = format!("r-{bucket}");
    let no_region = |args: Vec<String>| {
        let mut words = args;
        words.retain(|w| w != "-o" && w != "json");
        ran(bin(&moto.url())
            .env_remove("AWS_REGION")
            .args(words)
            .output()
            .unwrap())
    };
    let made = no_region(args("cloudformation", &uri, "import", &role));
    assert_eq!(made.code, 0, "{}", made.stderr);
    assert!(
        made.stderr.contains(
            "no AWS region is configured (--region, AWS_REGION, or the profile's `region`): the stack goes to eu-west-1, the bucket's region"
        ),
        "{}",
        made.stderr
    );
    assert!(
        made.stderr
            .contains(&format!("The role is held by stack {role} in eu-west-1.")),
        "{}",
        made.stderr
    );
    assert!(
        aws.stack_in(&role, "eu-west-1").await,
        "the stack is in the bucket's region"
    );
    assert!(
        !aws.stack_in(&role, "us-east-1").await,
        "and not in us-east-1"
    );
    let tags = aws.role(&role).await.unwrap();
    assert!(tags
        .tags()
        .iter()
        .any(|t| t.key() == "serverless-s3-setup:region" && t.value() == "eu-west-1"));

    let again = no_region(args("cloudformation", &uri, "import", &role));
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert!(
        again
            .stderr
            .contains("the stack goes to eu-west-1, where the role's stack is"),
        "{}",
        again.stderr
    );
    assert!(again.stderr.contains("already match"), "{}", again.stderr);
}

/// Someone attached a policy, wrote another inline policy and put an instance profile on a
/// stack's role. CloudFormation knows none of them, and IAM refuses to delete a role that holds
/// any (IAM API Reference, DeleteRole): the stack's deletion failed. The teardown reads them
/// beside the role and the stack's events, plans each, and takes them off before it deletes
/// the stack; the policy attached by hand and the instance profile stay.
#[tokio::test]
async fn a_stack_whose_role_got_additions_by_hand_is_torn_down() {
    let Scene { moto, aws, bucket } = scene("tdadd").await;
    let uri = format!("s3://{bucket}/d/");
    let role = format!("a-{bucket}");
    run(&moto.url(), args("cloudformation", &uri, "import", &role)).ok();
    let doc = serde_json::json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
        "Action": "s3:ListAllMyBuckets", "Resource": "*"}]});
    let theirs = aws.create_policy(&format!("theirs-{bucket}"), &doc).await;
    let iam = &aws.iam;
    let attach = iam
        .attach_role_policy()
        .role_name(&role)
        .policy_arn(&theirs);
    attach.send().await.unwrap();
    aws.put_role_policy(&role, "extra", &doc).await;
    let profile = format!("ip-{bucket}");
    let create = iam
        .create_instance_profile()
        .instance_profile_name(&profile);
    create.send().await.unwrap();
    let add = iam
        .add_role_to_instance_profile()
        .instance_profile_name(&profile);
    add.role_name(&role).send().await.unwrap();

    let proxy = Proxy::start(moto.port);
    let teardown = |extra: &str| ["teardown", "--stack-name", &role, extra].map(String::from);
    let planned = run(&proxy.url(), teardown("--dry-run")).ok().stdout;
    let lines = [
        format!("remove role {role} from instance profile {profile}\n"),
        format!("delete inline policy extra of role {role} (added by hand)\n"),
        format!("detach policy {theirs} from role {role} (attached by hand; the policy stays)\n"),
        format!("delete stack {role}\n"),
    ];
    for line in &lines {
        assert_says(&planned, line);
    }
    assert!(
        !planned.contains(&format!("{role}-policy")),
        "the stack's own: {planned}"
    );
    let rounds = proxy.rounds();
    let round = |action: &str| rounds.iter().find(|(_, a)| a == action).map(|(r, _)| *r);
    for read in [
        "ListAttachedRolePolicies",
        "ListRolePolicies",
        "ListInstanceProfilesForRole",
    ] {
        assert_eq!(
            round(read),
            round("GetRole"),
            "{read} beside GetRole: {rounds:?}"
        );
    }

    // The detach denied: the rest went, and what is left is said, the stack with it.
    let denied = Proxy::start(moto.port);
    denied.fail_action("DetachRolePolicy", Fault::Denied);
    let cut = run(&denied.url(), teardown("--yes")).exits(1).stderr;
    let (deleted, left) = cut.split_once("Left in AWS:").expect(&cut);
    assert_says(deleted, &format!("- inline policy extra of role {role}\n"));
    assert_says(
        left,
        &format!("- attachment of policy {theirs} to role {role} (failed: "),
    );
    assert_says(left, &format!("- stack {role}, and with it role {role}\n"));
    let by_hand = format!("aws cloudformation delete-stack --stack-name {role} --region us-east-1");
    assert_says(left, &by_hand);
    assert!(aws.role(&role).await.is_some());
    assert_eq!(denied.count("DeleteStack"), 0, "{:?}", denied.seen());

    let Ran { json, .. } = run(&proxy.url(), with_json(&teardown("--yes"))).ok();
    let deleted = json["deleted"].to_string();
    assert_says(
        &deleted,
        &format!("attachment of policy {theirs} to role {role}"),
    );
    assert!(aws.role(&role).await.is_none());
    let policy = iam.get_policy().policy_arn(&theirs).send().await.unwrap();
    assert_eq!(policy.policy().unwrap().attachment_count(), Some(0));
    let held = iam.get_instance_profile().instance_profile_name(&profile);
    let held = held.send().await.unwrap();
    assert!(held.instance_profile().unwrap().roles().is_empty());
}
