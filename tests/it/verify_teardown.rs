//! `verify` on good and broken setups, and `teardown` leaving nothing behind.

use crate::common::*;
use serde_json::{json, Value};

fn role_json(endpoint: &str, method: &str, uri: &str, access: &str, role: &str) -> Value {
    let args = SetupArgs::role(method, uri)
        .access(access)
        .role_name(role)
        .yes()
        .json();
    run(endpoint, args.build()).ok().json
}

/// Runs verify; returns (exit code, report).
fn verify(endpoint: &str, args: &[&str]) -> Ran {
    let verify: Vec<String> = ["verify"]
        .iter()
        .chain(args)
        .map(|a| a.to_string())
        .collect();
    let out = run(endpoint, with_json(&verify));
    assert!(out.json.is_object(), "no report: {}", out.stderr);
    out
}

/// Whether the report has a check of this name: some are there only with something to say.
fn has_check(report: &Value, name: &str) -> bool {
    let checks = report["checks"].as_array().unwrap();
    checks.iter().any(|c| c["name"] == name)
}

fn role_verify_args<'a>(arn: &'a str, uri: &'a str, access: &'a str) -> Vec<&'a str> {
    vec![
        "--role-arn",
        arn,
        "--uri",
        uri,
        "--access",
        access,
        "--tidb-account-id",
        TIDB_ACCOUNT,
        "--external-id",
        EXTERNAL_ID,
    ]
}

#[tokio::test]
async fn verify_passes_on_what_the_tool_made_for_every_method_and_access() {
    let (moto, aws) = on_moto().await;
    for access in ["import", "export", "both"] {
        for (method, bucket) in aws.bucket_per_method("vok").await {
            let uri = format!("s3://{bucket}/d/");
            let made = role_json(&moto.url(), method, &uri, access, &format!("r-{bucket}"));
            assert_eq!(
                made["verify"]["ok"], true,
                "the checks after setup: {made:#}"
            );
            let arn = made["role_arn"].as_str().unwrap();
            let Ran { json: report, .. } =
                verify(&moto.url(), &role_verify_args(arn, &uri, access)).ok();
            assert_eq!(report["ok"], true);
            for name in [
                "exists",
                "trust",
                "permissions",
                "kms",
                "bucket-policy",
                "extra-permissions",
            ] {
                assert_eq!(
                    check(&report, name)["status"],
                    "pass",
                    "{method} {access} {name}: {report:#}"
                );
            }
        }
        let bucket = aws.new_bucket("vokkey").await;
        let out = run(
            &moto.url(),
            [
                "access-key",
                "--uri",
                &format!("s3://{bucket}/d/"),
                "--access",
                access,
                "--yes",
                "-o",
                "json",
            ],
        );
        let made: Value = serde_json::from_str(&out.stdout).unwrap();
        assert_eq!(made["verify"]["ok"], true);
        let Ran { json: report, .. } = verify(
            &moto.url(),
            &[
                "--user-name",
                made["user_name"].as_str().unwrap(),
                "--uri",
                &format!("s3://{bucket}/d/"),
                "--access",
                access,
            ],
        )
        .ok();
        assert_eq!(check(&report, "permissions")["status"], "pass");
        // The user records what it serves: its name alone checks the same.
        let user = made["user_name"].as_str().unwrap();
        let alone = verify(&moto.url(), &["--user-name", user]).ok();
        assert_eq!(alone.json, report, "{}", alone.stderr);
        assert_says(
            &alone.stderr,
            &format!(
                "from user {user}, as this tool made it: --uri s3://{bucket}/d/ --access {access}"
            ),
        );
    }
    // A user made by hand records nothing: --uri is named, exit 2, after one read.
    let hand = unique("hand");
    aws.iam.create_user().user_name(&hand).send().await.unwrap();
    let proxy = Proxy::start(moto.port);
    let Ran { stderr, .. } = run(&proxy.url(), ["verify", "--user-name", &hand]).exits(2);
    assert_says(&stderr, "missing required flag: --uri");
    let reads = proxy.seen();
    assert!(
        !reads.is_empty() && reads.iter().all(|r| r.contains("GetUser")),
        "{reads:?}"
    );
}

/// `verify` of an import role for `uri`: its check `name`, which must have failed.
fn failed_check(endpoint: &str, arn: &str, uri: &str, name: &str) -> Value {
    let Ran { json: report, .. } = verify(endpoint, &role_verify_args(arn, uri, "import"));
    let failed = check(&report, name).clone();
    assert_eq!(failed["status"], "fail", "{report:#}");
    failed
}

/// A role made by hand through the AWS APIs, with the given trust and permissions.
async fn hand_made(aws: &Aws, name: &str, trust: Value, permissions: Value) -> String {
    let arn = aws.create_role(name, &trust).await;
    aws.put_role_policy(name, "by-hand", &permissions).await;
    arn
}

/// The same, trusting TiDB Cloud's test account with the test external ID.
async fn hand_made_for_tidb(aws: &Aws, name: &str, permissions: Value) -> String {
    let trust = trust_doc(TIDB_ACCOUNT, Some(EXTERNAL_ID));
    hand_made(aws, name, trust, permissions).await
}

fn trust_doc(account: &str, external_id: Option<&str>) -> Value {
    let mut s = json!({"Effect": "Allow", "Principal": {"AWS": format!("arn:aws:iam::{account}:root")}, "Action": "sts:AssumeRole"});
    if let Some(id) = external_id {
        s["Condition"] = json!({"StringEquals": {"sts:ExternalId": id}});
    }
    json!({"Version": "2012-10-17", "Statement": [s]})
}

fn import_doc(objects: &str, bucket: &str) -> Value {
    json!({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["s3:GetObject", "s3:GetObjectVersion"], "Resource": objects},
        {"Effect": "Allow", "Action": "s3:ListBucket", "Resource": format!("arn:aws:s3:::{bucket}")},
    ]})
}

#[tokio::test]
async fn verify_names_each_broken_item_and_its_fix() {
    let (moto, aws) = on_moto().await;
    struct Case {
        what: &'static str,
        check: &'static str,
        finding: &'static str,
        fix: &'static str,
    }
    let cases = [
        Case {
            what: "wrong trust account",
            check: "trust",
            finding: "111122223333",
            fix: "sts:ExternalId",
        },
        Case {
            what: "no external ID condition",
            check: "trust",
            finding: "no sts:ExternalId condition",
            fix: "--external-id",
        },
        Case {
            what: "wrong external ID",
            check: "trust",
            finding: "but the console shows",
            fix: EXTERNAL_ID,
        },
        Case {
            what: "no trailing /*",
            check: "permissions",
            finding: "without the trailing /*",
            fix: "/d/*",
        },
        Case {
            what: "another dir",
            check: "permissions",
            finding: "another directory",
            fix: "/d/*",
        },
        Case {
            what: "KMS key missing",
            check: "kms",
            finding: "lacks kms:Decrypt",
            fix: "kms:Decrypt",
        },
        Case {
            what: "bucket policy Deny",
            check: "bucket-policy",
            finding: "denies s3:GetObject",
            fix: "get-bucket-policy",
        },
        Case {
            what: "export-only checked for import",
            check: "permissions",
            finding: "s3:GetObject is not allowed",
            fix: "s3:GetObject",
        },
    ];
    let mut said = Vec::new();
    for case in cases {
        let bucket = unique("vbad");
        let mut key_id = None;
        aws.create_bucket(&bucket).await;
        let objects = format!("arn:aws:s3:::{bucket}/d/*");
        let mut trust = trust_doc(TIDB_ACCOUNT, Some(EXTERNAL_ID));
        let mut permissions = import_doc(&objects, &bucket);
        match case.what {
            "wrong trust account" => trust = trust_doc("111122223333", Some(EXTERNAL_ID)),
            "no external ID condition" => trust = trust_doc(TIDB_ACCOUNT, None),
            "wrong external ID" => trust = trust_doc(TIDB_ACCOUNT, Some("someone-elses-id")),
            "no trailing /*" => {
                permissions = import_doc(&format!("arn:aws:s3:::{bucket}/d"), &bucket)
            }
            "another dir" => {
                permissions = import_doc(&format!("arn:aws:s3:::{bucket}/other/*"), &bucket)
            }
            "KMS key missing" => {
                let (id, _) = aws.create_key().await;
                aws.encrypt_bucket(&bucket, Some(&id)).await;
                key_id = Some(id);
            }
            "bucket policy Deny" => {
                let deny = json!({"Version": "2012-10-17", "Statement": [{"Sid": "NoReads", "Effect": "Deny", "Principal": "*", "Action": "s3:GetObject", "Resource": format!("arn:aws:s3:::{bucket}/*")}]});
                aws.put_bucket_policy(&bucket, &deny).await;
            }
            "export-only checked for import" => {
                permissions = json!({"Version": "2012-10-17", "Statement": [
                    {"Effect": "Allow", "Action": "s3:PutObject", "Resource": objects},
                    {"Effect": "Allow", "Action": "s3:ListBucket", "Resource": format!("arn:aws:s3:::{bucket}")},
                ]});
            }
            other => unreachable!("{other}"),
        }
        let arn = hand_made(&aws, &format!("hand-{bucket}"), trust, permissions).await;
        let uri = format!("s3://{bucket}/d/");
        let Ran {
            code, json: report, ..
        } = verify(&moto.url(), &role_verify_args(&arn, &uri, "import"));
        assert_eq!(code, 1, "{}: {report:#}", case.what);
        assert_eq!(report["ok"], false);
        let c = check(&report, case.check);
        assert_eq!(c["status"], "fail", "{}: {report:#}", case.what);
        assert!(
            c["finding"].as_str().unwrap().contains(case.finding),
            "{}: {c:#}",
            case.what
        );
        assert!(
            c["fix"].as_str().unwrap().contains(case.fix),
            "{}: {c:#}",
            case.what
        );
        let failed: Vec<&str> = report["checks"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["status"] == "fail")
            .map(|c| c["name"].as_str().unwrap())
            .collect();
        assert_eq!(
            failed,
            [case.check],
            "{}: only the broken item fails",
            case.what
        );
        let text = format!(
            "{}: {} {}\n  finding: {}\n  fix: {}",
            case.what,
            c["name"].as_str().unwrap_or_default(),
            c["status"].as_str().unwrap_or_default(),
            c["finding"].as_str().unwrap_or_default(),
            c["fix"].as_str().unwrap_or_default()
        );
        let mut text = text.replace(&bucket, "<bucket>");
        if let Some(id) = &key_id {
            text = text.replace(id.as_str(), "<key-id>");
        }
        said.push(text);
    }
    // What a person reads for each broken item, reviewed as a whole (names redacted).
    insta::assert_snapshot!("verify_broken_items", said.join("\n\n"));
}

#[tokio::test]
async fn verify_of_a_missing_role_says_so() {
    let Scene { moto, bucket, .. } = scene("vmissing").await;
    let arn = format!("arn:aws:iam::123456789012:role/none-{bucket}");
    let Ran {
        code, json: report, ..
    } = verify(
        &moto.url(),
        &role_verify_args(&arn, &format!("s3://{bucket}/d/"), "import"),
    );
    assert_eq!(code, 1);
    assert_eq!(check(&report, "exists")["status"], "fail");
    assert!(check(&report, "exists")["fix"]
        .as_str()
        .unwrap()
        .contains("serverless-s3-setup role"));
}

async fn nothing_of(aws: &Aws, bucket: &str) {
    let left = aws.leftovers(bucket).await;
    assert!(left.is_empty(), "left: {left:?}");
}

fn teardown(endpoint: &str, args: &[&str]) -> Ran {
    let teardown: Vec<String> = ["teardown"]
        .iter()
        .chain(args)
        .map(|a| a.to_string())
        .collect();
    run(endpoint, with(&teardown, &["--yes"]))
}

#[tokio::test]
async fn teardown_leaves_nothing_for_each_path_and_is_safe_to_repeat() {
    let Scene { moto, aws, bucket } = scene("tdiam").await;
    role_json(
        &moto.url(),
        "iam",
        &format!("s3://{bucket}"),
        "both",
        &format!("r-{bucket}"),
    );
    let Ran { stdout, .. } = teardown(&moto.url(), &["--role-name", &format!("r-{bucket}")]).ok();
    assert_says(&stdout, "deleted policy");
    assert_says(&stdout, &format!("deleted role r-{bucket}"));
    nothing_of(&aws, &bucket).await;
    let Ran { stdout, stderr, .. } =
        teardown(&moto.url(), &["--role-name", &format!("r-{bucket}")]).ok();
    assert!(
        stdout.contains("nothing deleted") && stderr.contains("nothing to delete"),
        "{stdout}{stderr}"
    );

    let bucket = aws.new_bucket("tdcfn").await;
    role_json(
        &moto.url(),
        "cloudformation",
        &format!("s3://{bucket}"),
        "import",
        &format!("r-{bucket}"),
    );
    teardown(&moto.url(), &["--stack-name", &format!("r-{bucket}")]).ok();
    nothing_of(&aws, &bucket).await;
    let Ran { stderr, .. } = teardown(&moto.url(), &["--stack-name", &format!("r-{bucket}")]).ok();
    assert!(stderr.contains("nothing to delete"));

    let bucket = aws.new_bucket("tduser").await;
    run(
        &moto.url(),
        [
            "access-key",
            "--uri",
            &format!("s3://{bucket}/x/"),
            "--access",
            "import",
            "--user-name",
            &format!("u-{bucket}"),
            "--yes",
            "-o",
            "json",
        ],
    )
    .ok();
    teardown(&moto.url(), &["--user-name", &format!("u-{bucket}")]).ok();
    nothing_of(&aws, &bucket).await;
    teardown(&moto.url(), &["--user-name", &format!("u-{bucket}")]).ok();
}

#[tokio::test]
async fn teardown_refuses_untagged_roles_without_force() {
    let (moto, aws) = on_moto().await;
    let bucket = unique("tdforeign");
    let name = format!("hand-{bucket}");
    hand_made(
        &aws,
        &name,
        trust_doc(TIDB_ACCOUNT, None),
        import_doc("arn:aws:s3:::b/*", "b"),
    )
    .await;
    let Ran { code, stderr, .. } = teardown(&moto.url(), &["--role-name", &name]);
    assert_eq!(code, 1, "{stderr}");
    assert_says(&stderr, "--force");
    assert!(aws.role(&name).await.is_some());
    teardown(&moto.url(), &["--role-name", &name, "--force"]).ok();
    assert!(aws.role(&name).await.is_none());
}

/// A user this tool made, to which a person then added a console password, a virtual MFA
/// device, a signing certificate and an SSH key. AWS refuses DeleteUser until they are gone
/// (IAM API Reference, DeleteUser; moto deletes it anyway, so the order is read from the
/// proxy). Without --force the teardown names each and changes nothing; with it, each goes
/// before the user, and the virtual device after it is taken off.
#[tokio::test]
async fn a_user_with_credentials_a_person_added_goes_only_with_force() {
    let Scene { moto, aws, bucket } = scene("tdcreds").await;
    let uri = format!("s3://{bucket}/d/");
    run(
        &moto.url(),
        SetupArgs::access_key(&uri)
            .access("import")
            .yes()
            .json()
            .build(),
    )
    .ok();
    let user = format!("tidb-user-import-{bucket}-d");
    let iam = &aws.iam;
    let login = iam
        .create_login_profile()
        .user_name(&user)
        .password("Aa1!aaaaaaaaaaaa");
    login.send().await.unwrap();
    let device = iam
        .create_virtual_mfa_device()
        .virtual_mfa_device_name(&user);
    let device = device.send().await.unwrap();
    let serial = device
        .virtual_mfa_device()
        .unwrap()
        .serial_number()
        .to_string();
    let enable = iam
        .enable_mfa_device()
        .user_name(&user)
        .serial_number(&serial);
    let enable = enable
        .authentication_code1("123456")
        .authentication_code2("654321");
    enable.send().await.unwrap();
    let certificate = include_str!("../support/signing-certificate.pem");
    let upload = iam.upload_signing_certificate().user_name(&user);
    let upload = upload.certificate_body(certificate).send().await.unwrap();
    let certificate = upload.certificate().unwrap().certificate_id().to_string();
    let key =
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGLdfQVSsk7mOvkmhsTTgzGrMYgYRusd6QTwyiqTlyAp a@b";
    let upload = iam
        .upload_ssh_public_key()
        .user_name(&user)
        .ssh_public_key_body(key);
    let upload = upload.send().await.unwrap();
    let ssh = upload
        .ssh_public_key()
        .unwrap()
        .ssh_public_key_id()
        .to_string();

    let proxy = Proxy::start(moto.port);
    let refused = teardown(&proxy.url(), &["--user-name", &user]).exits(1);
    let named = [
        format!("user {user} holds a console password, MFA device {serial}, "),
        format!("signing certificate {certificate}, SSH public key {ssh}: "),
        format!("serverless-s3-setup teardown --user-name {user} --force"),
    ];
    for part in &named {
        assert_says(&refused.stderr, part);
    }
    let changed = |a: &String| {
        ["Delete", "Deactivate", "Detach", "Remove"]
            .iter()
            .any(|c| a.starts_with(c))
    };
    assert!(!proxy.seen().iter().any(changed), "{:?}", proxy.seen());

    let line = ["--user-name", &user, "--force", "--dry-run"];
    let planned = teardown(&proxy.url(), &line).ok().stdout;
    assert_says(
        &planned,
        &format!("delete the console password of user {user}"),
    );
    assert_says(
        &planned,
        &format!("deactivate and delete virtual MFA device {serial}"),
    );

    proxy.reset();
    teardown(&proxy.url(), &["--user-name", &user, "--force"]).ok();
    let rounds = proxy.rounds();
    let round = |action: &str| {
        let found = rounds.iter().find(|(_, a)| a == action);
        found.unwrap_or_else(|| panic!("no {action}: {rounds:?}")).0
    };
    for first in [
        "DeleteLoginProfile",
        "DeactivateMFADevice",
        "DeleteSigningCertificate",
        "DeleteSSHPublicKey",
    ] {
        assert!(round(first) < round("DeleteUser"), "{first}: {rounds:?}");
    }
    assert!(round("DeactivateMFADevice") < round("DeleteVirtualMFADevice"));
    let devices = iam.list_virtual_mfa_devices().send().await.unwrap();
    let serials: Vec<&str> = devices
        .virtual_mfa_devices()
        .iter()
        .map(|d| d.serial_number())
        .collect();
    assert!(!serials.contains(&serial.as_str()), "{serials:?}");
    nothing_of(&aws, &bucket).await;
}

/// A role whose tags name a stack that is gone: the stack was deleted with its role retained
/// (`delete-stack --retain-resources`, AWS's way out of DELETE_FAILED), or by hand. Neither
/// `--stack-name` nor `--role-name` could delete it: each pointed at the other. Now
/// `--stack-name` names `--role-name`, which deletes it as a role made with IAM, saying why.
#[tokio::test]
async fn a_role_left_behind_by_its_stack_is_torn_down_by_its_name() {
    let Scene { moto, aws, bucket } = scene("tdleft").await;
    let role = format!("l-{bucket}");
    role_json(
        &moto.url(),
        "iam",
        &format!("s3://{bucket}/d/"),
        "import",
        &role,
    );
    let tag = |key: &str, value: &str| {
        let tag = aws_sdk_iam::types::Tag::builder().key(key).value(value);
        tag.build().unwrap()
    };
    let set = format!("left{}", bucket.rsplit('-').next().unwrap());
    let tags = [
        tag("serverless-s3-setup:stack", &role),
        tag("serverless-s3-setup:region", "us-east-1"),
        tag("serverless-s3-setup:set", &set),
    ];
    let tagging = aws
        .iam
        .tag_role()
        .role_name(&role)
        .set_tags(Some(tags.to_vec()));
    tagging.send().await.unwrap();

    let wrong = teardown(&moto.url(), &["--stack-name", &role]).exits(2);
    assert_says(
        &wrong.stderr,
        &format!("left behind by its stack {role} in us-east-1"),
    );
    assert_says(
        &wrong.stderr,
        &format!("fix: serverless-s3-setup teardown --role-name {role}"),
    );
    let line = ["--role-name", &role, "--dry-run"];
    let planned = teardown(&moto.url(), &line).ok().stdout;
    assert_says(
        &planned,
        &format!("delete role {role} (left behind by its stack {role}, which is gone)"),
    );
    // `list` shows it as the role it now is, and says why.
    let listed = run(&moto.url(), ["list", "-o", "json"]).ok().json;
    let made = listed["made"].as_array().unwrap();
    let row = made.iter().find(|m| m["name"] == role.as_str()).unwrap();
    assert_eq!(row["kind"], "role", "{row:#}");
    assert_eq!(row["left_by_stack"], role.as_str(), "{row:#}");
    // Its set, by the role's own tag, counts it in, and deletes it as `--role-name` would.
    let whole = teardown(&moto.url(), &["--set", &set, "-o", "json"])
        .ok()
        .json;
    assert_eq!(whole["failed"], 0, "{whole:#}");
    assert_says(&whole["deleted"].to_string(), &format!("role {role}"));
    assert!(aws.role(&role).await.is_none());
    nothing_of(&aws, &bucket).await;
}

#[tokio::test]
async fn teardown_dry_run_lists_and_changes_nothing() {
    let Scene { moto, aws, bucket } = scene("tddry").await;
    role_json(
        &moto.url(),
        "iam",
        &format!("s3://{bucket}"),
        "both",
        &format!("r-{bucket}"),
    );
    let name = format!("r-{bucket}");
    let line = ["teardown", "--role-name", &name, "--dry-run"];
    // The plan is the dry run's result: on stdout, and in JSON as `planned`.
    let Ran { stdout, .. } = run(&moto.url(), line).ok();
    let policy = format!("arn:aws:iam::123456789012:policy/r-{bucket}-policy");
    assert_eq!(
        stdout,
        format!(
            "Plan (dry run: nothing was deleted)\n  - detach and delete policy {policy}\n  - delete role {name}\n"
        )
    );
    let Ran { json, .. } = run(&moto.url(), with_json(&line)).ok();
    assert_eq!(json["deleted"], json!([]), "{json:#}");
    assert_eq!(json["changed"], false);
    assert_eq!(
        json["planned"],
        json!([
            format!("detach and delete policy {policy}"),
            format!("delete role {name}"),
        ])
    );
    assert!(aws.role(&name).await.is_some());
    assert!(!aws.policy_arns_naming(&bucket).await.is_empty());
}

/// Within one account the bucket policy may grant on its own: a role whose own policy only
/// lists the bucket, and whose reads the bucket policy grants, can import (IAM User Guide,
/// "Policy evaluation for requests within a single account").
#[tokio::test]
async fn verify_counts_what_the_bucket_policy_grants() {
    let Scene { moto, aws, bucket } = scene("bpgrant").await;
    let name = format!("bp-{bucket}");
    let list_only = json!({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "s3:ListBucket", "Resource": format!("arn:aws:s3:::{bucket}")}]});
    let arn = hand_made_for_tidb(&aws, &name, list_only).await;
    let uri = format!("s3://{bucket}/d/");
    let Ran {
        code, json: report, ..
    } = verify(&moto.url(), &role_verify_args(&arn, &uri, "import"));
    assert_eq!(code, 1, "without a grant anywhere it fails: {report}");
    let grant = json!({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"AWS": arn}, "Action": ["s3:GetObject", "s3:GetObjectVersion"],
        "Resource": format!("arn:aws:s3:::{bucket}/d/*")}]});
    aws.put_bucket_policy(&bucket, &grant).await;
    let Ran { json: report, .. } =
        verify(&moto.url(), &role_verify_args(&arn, &uri, "import")).ok();
    let permissions = check(&report, "permissions");
    assert_says(
        permissions["finding"].as_str().unwrap(),
        "by the bucket policy",
    );
}

/// IAM's policy simulator (scripted: moto has none) is asked about concrete sample requests
/// with TiDB Cloud's context, and only confirms or refutes the local evaluation: where it
/// disagrees, the check warns and names both.
#[tokio::test]
async fn the_simulator_is_asked_concretely_and_only_confirms() {
    let Scene { moto, bucket, .. } = scene("sim").await;
    let uri = format!("s3://{bucket}/d/");
    let out = role_json(&moto.url(), "iam", &uri, "import", &format!("sim-{bucket}"));
    let arn = out["role_arn"].as_str().unwrap().to_string();
    let proxy = Proxy::start(moto.port);
    const DENIES: &str = r#"<SimulatePrincipalPolicyResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><SimulatePrincipalPolicyResult><IsTruncated>false</IsTruncated><EvaluationResults><member><EvalActionName>s3:GetObject</EvalActionName><EvalResourceName>x</EvalResourceName><EvalDecision>implicitDeny</EvalDecision><MatchedStatements/><MissingContextValues><member>aws:SourceIp</member></MissingContextValues></member></EvaluationResults></SimulatePrincipalPolicyResult><ResponseMetadata><RequestId>proxy</RequestId></ResponseMetadata></SimulatePrincipalPolicyResponse>"#;
    proxy.fail(
        Match::Action("SimulatePrincipalPolicy".into()),
        Fault::Respond(DENIES),
        usize::MAX,
    );
    let Ran { json: report, .. } =
        verify(&proxy.url(), &role_verify_args(&arn, &uri, "import")).ok();
    let permissions = check(&report, "permissions");
    assert_eq!(permissions["status"], "warn", "{permissions}");
    let finding = permissions["finding"].as_str().unwrap();
    assert!(
        finding.contains("IAM's policy simulator denies s3:GetObject")
            && finding.contains("where the local evaluation allows it")
            && finding.contains("aws:SourceIp"),
        "{finding}"
    );
    let simulated: Vec<_> = proxy
        .requests()
        .into_iter()
        .filter(|(a, _)| a == "SimulatePrincipalPolicy")
        .collect();
    let get = simulated
        .iter()
        .find(|(_, p)| {
            p.iter()
                .any(|(k, v)| k == "ActionNames.member.1" && v == "s3:GetObject")
        })
        .expect("GetObject simulated");
    assert!(
        get.1.iter().any(|(k, v)| k == "ResourceArns.member.1"
            && *v == format!("arn:aws:s3:::{bucket}/d/tidb-verify-sample.csv")),
        "a concrete object: {get:?}"
    );
    assert!(
        get.1.iter().any(|(_, v)| v == "aws:SecureTransport"),
        "with the context: {get:?}"
    );
}

/// The end of a setup and `verify` say the same of the same role: all checks passed, with the
/// warning named (an export's bucket without Object Ownership set).
#[tokio::test]
async fn a_setup_and_verify_sum_up_alike() {
    let Scene { moto, bucket, .. } = scene("vsame").await;
    let uri = format!("s3://{bucket}/out/");
    let said = "all checks passed, 1 warning: object-ownership";
    let setup = run(
        &moto.url(),
        SetupArgs::role("iam", &uri).access("export").yes().build(),
    )
    .ok();
    assert!(
        setup
            .stderr
            .contains(&format!("verified: read back from AWS: {said}")),
        "{}",
        setup.stderr
    );
    let arn = setup.stdout.trim().to_string();
    let verify: Vec<String> = ["verify"]
        .iter()
        .chain(&role_verify_args(&arn, &uri, "export"))
        .map(|a| a.to_string())
        .collect();
    let report = run(&moto.url(), &verify).ok();
    assert_eq!(
        report.stdout.lines().last(),
        Some(said),
        "{}",
        report.stdout
    );
}

/// `verify --role-arn` alone, on a role this tool made: the role's tags and trust tell the
/// folder, the access, TiDB Cloud's account and the external IDs; nothing else is asked. A
/// role made by hand cannot tell, and the flags it needs are named.
#[tokio::test]
async fn verify_needs_only_the_role_arn_of_a_role_this_tool_made() {
    let Scene { moto, aws, bucket } = scene("vself").await;
    let uri = format!("s3://{bucket}/in/");
    for (ids, method) in [
        (&[EXTERNAL_ID][..], "iam"),
        (&["dev-id", "prod-id"], "cloudformation"),
    ] {
        // Several clusters: one run each, the second adding its ID to the trust.
        let mut arn = String::new();
        for id in ids {
            let made = run(
                &moto.url(),
                SetupArgs::role(method, &uri)
                    .external_ids(&[id])
                    .role_name(&format!("{method}-{bucket}"))
                    .yes()
                    .build(),
            )
            .ok();
            arn = made.stdout.trim().to_string();
        }
        let Ran { json, stderr, .. } = verify(&moto.url(), &["--role-arn", &arn]).ok();
        for told in [
            format!("--uri {uri}"),
            "--access import".into(),
            format!("--tidb-account-id {TIDB_ACCOUNT}"),
        ] {
            assert!(stderr.contains(&told), "{method}: {told}: {stderr}");
        }
        let trust = check(&json, "trust")["finding"]
            .as_str()
            .unwrap()
            .to_string();
        // moto records a stack update's parameters but does not apply them to the role (see
        // clusters_and_tiers::trusted_ids): there the role trusts the first cluster only.
        let live = if method == "iam" { ids } else { &ids[..1] };
        for id in live {
            assert!(trust.contains(id), "{method}: {trust}");
        }
    }
    // A role made by hand: the flags it needs are named, and nothing is judged.
    let name = format!("hand-{bucket}");
    let arn = hand_made_for_tidb(
        &aws,
        &name,
        import_doc(&format!("arn:aws:s3:::{bucket}/in/*"), &bucket),
    )
    .await;
    let out = run(
        &moto.url(),
        &["verify".to_string(), "--role-arn".into(), arn],
    );
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr.contains("--uri") && out.stderr.contains("--tidb-account-id"),
        "{}",
        out.stderr
    );

    // A role or user that is not there (read again, for IAM's moment): said so, not the flags
    // a record would have told; nothing else is read.
    let proxy = Proxy::start(moto.port);
    let gone = format!("arn:aws:iam::123456789012:role/gone-{bucket}");
    for (args, action) in [
        (["--role-arn", gone.as_str()], "GetRole"),
        (["--user-name", "gone-user"], "GetUser"),
    ] {
        proxy.reset();
        let ran = run(&proxy.url(), with_json(&[&["verify"][..], &args].concat()));
        let message = ran.fails_with(2, "not_found").error()["message"].to_string();
        assert_says(&message, &format!("{}: ", args[0]));
        assert_says(&message, "does not exist in this account");
        assert_says(&message, "serverless-s3-setup list");
        let seen = proxy.seen();
        assert!(
            seen.len() == 4 && seen.iter().all(|a| a == action),
            "{seen:?}"
        );
    }
}

/// A KMS grant lets its grantee use the key whatever the policies say (AWS KMS Developer
/// Guide, "Grants in AWS KMS"): a role whose own policy grants the bucket but not the key
/// fails `kms`, and passes once a grant names it; `verify` lists the key's grants to see it.
#[tokio::test]
async fn verify_counts_a_kms_grant_to_the_role() {
    let Scene { moto, aws, bucket } = scene("kmsgrant").await;
    let (_, key) = aws.create_key().await;
    aws.encrypt_bucket(&bucket, Some(&key)).await;
    let name = format!("kg-{bucket}");
    let uri = format!("s3://{bucket}/d/");
    let without_key = json!({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["s3:GetObject", "s3:GetObjectVersion"],
         "Resource": format!("arn:aws:s3:::{bucket}/d/*")},
        {"Effect": "Allow", "Action": ["s3:ListBucket", "s3:GetBucketLocation"],
         "Resource": format!("arn:aws:s3:::{bucket}")}]});
    let arn = hand_made_for_tidb(&aws, &name, without_key).await;
    let Ran { json: report, .. } = verify(&moto.url(), &role_verify_args(&arn, &uri, "import"));
    assert_eq!(check(&report, "kms")["status"], "fail", "{report:#}");
    let grant = aws
        .kms
        .create_grant()
        .key_id(&key)
        .grantee_principal(&arn)
        .operations(aws_sdk_kms::types::GrantOperation::Decrypt)
        .send()
        .await
        .unwrap();
    let Ran { json: report, .. } = verify(&moto.url(), &role_verify_args(&arn, &uri, "import"));
    let kms = check(&report, "kms");
    assert_eq!(kms["status"], "pass", "{report:#}");
    assert!(
        kms["finding"].as_str().unwrap().contains(&format!(
            "kms:Decrypt through grant {}",
            grant.grant_id().unwrap()
        )),
        "{kms}"
    );
}

/// Objects copied from another bucket keep their key (the seed page: "the KMS key value needs
/// to include the keys of both buckets"). A setup samples the import's objects and grants each
/// key it finds; `verify` samples the same way and fails `kms` naming the object and its key
/// once the policy no longer grants it.
#[tokio::test]
async fn objects_under_another_key_get_it_granted_and_verified() {
    let Scene { moto, aws, bucket } = scene("objkeys").await;
    let (_, default) = aws.create_key().await;
    let (_, copied) = aws.create_key().await;
    aws.encrypt_bucket(&bucket, Some(&default)).await;
    aws.put_csv(&bucket, "d/new.csv", None).await;
    aws.put_csv(&bucket, "d/copied.csv", Some(&copied)).await;
    let uri = format!("s3://{bucket}/d/");
    let name = format!("ok-{bucket}");
    let args = SetupArgs::role("iam", &uri)
        .access("import")
        .role_name(&name)
        .yes()
        .json();
    // The plan names the object that showed the key.
    let planned = run(&moto.url(), args.clone().args(&["--dry-run"]).build()).ok();
    let found = format!(
        "s3://{bucket}/d/copied.csv is encrypted with {copied}, not the bucket's default key: granted too"
    );
    assert!(planned.said(&found), "{}{}", planned.stdout, planned.stderr);
    let made = run(&moto.url(), args.build()).ok();
    let policy_arn = made.json["policy_arn"].as_str().unwrap();
    let doc = aws.policy_document(policy_arn).await;
    let mut keys = vec![default.clone(), copied.clone()];
    keys.sort();
    assert_eq!(doc["Statement"][2]["Resource"], json!(keys), "{doc:#}");
    assert_eq!(made.json["verify"]["ok"], true, "{:#}", made.json);

    let arn = made.json["role_arn"].as_str().unwrap();
    let Ran { json: report, .. } = verify(&moto.url(), &role_verify_args(arn, &uri, "import"));
    let kms = check(&report, "kms");
    assert_eq!(kms["status"], "pass", "{report:#}");
    assert!(
        kms["finding"].as_str().unwrap().contains("covered too"),
        "{kms}"
    );

    // The policy narrowed to the bucket's own key: the copied object's key is missing.
    let mut narrowed = doc.clone();
    narrowed["Statement"][2]["Resource"] = json!(default);
    aws.iam
        .create_policy_version()
        .policy_arn(policy_arn)
        .policy_document(narrowed.to_string())
        .set_as_default(true)
        .send()
        .await
        .unwrap();
    let kms = failed_check(&moto.url(), arn, &uri, "kms");
    let finding = kms["finding"].as_str().unwrap();
    assert!(
        finding.contains(&format!(
            "s3://{bucket}/d/copied.csv is encrypted with {copied}, but role {name} lacks kms:Decrypt"
        )),
        "{finding}"
    );
}

/// A dry run of an import role for `uri` through a proxy that answers the HeadObject of the
/// object `name` there with `fault`. Gives the proxy, the setup's line (`--yes -o json`) and
/// the dry run.
fn plan_with_a_head_failed(
    moto: &Moto,
    uri: &str,
    name: &str,
    fault: Fault,
) -> (Proxy, SetupArgs, Ran) {
    let proxy = Proxy::start(moto.port);
    let path = uri
        .trim_start_matches("s3:/")
        .splitn(3, '/')
        .nth(2)
        .unwrap();
    let object = Match::ActionOn("s3:HEAD?".into(), format!("/{path}{name}"));
    proxy.fail(object, fault, usize::MAX);
    let args = SetupArgs::role("iam", uri).access("import").yes().json();
    let planned = run(&proxy.url(), args.clone().args(&["--dry-run"]).build()).ok();
    (proxy, args, planned)
}

/// An object encrypted with a customer-provided key (SSE-C), which S3 answers HeadObject of
/// with a bare 400 when asked without the key (moto keeps no SSE-C, so the proxy answers as
/// S3 does): TiDB Cloud can never read it, and the plan says so by name. The other objects are
/// still sampled, and `verify` warns the same way.
#[tokio::test]
async fn an_object_under_a_customer_provided_key_is_warned_of() {
    let (moto, aws) = on_moto().await;
    let bucket = aws.seeded_bucket("ssec").await;
    aws.put_csv(&bucket, "data/locked.csv", None).await;
    let uri = format!("s3://{bucket}/data/");
    let ssec = Fault::Code(400, "BadRequest");
    let (proxy, args, planned) = plan_with_a_head_failed(moto, &uri, "locked.csv", ssec);
    let warnings = planned.json["plan"]["warnings"].to_string();
    let locked = format!("s3://{bucket}/data/locked.csv is encrypted with a customer-provided key");
    assert_says(&warnings, &locked);
    assert_says(&warnings, "--sse-c-copy-source");
    assert!(!warnings.contains("could not read"), "{warnings}");
    // HeadBucket, and a HeadObject for each of the two objects: the other is still sampled.
    let heads = proxy.count("s3:HEAD?");
    assert_eq!(heads, 3, "{:?}", proxy.seen());
    let out = run(&proxy.url(), args.build()).ok();
    // The role is made all the same, and its checks say why an import will still fail.
    let kms = check(&out.json["verify"], "kms");
    assert_eq!(kms["status"], "fail", "{:#}", out.json);

    let arn = out.json["role_arn"].as_str().unwrap();
    let kms = failed_check(&proxy.url(), arn, &uri, "kms");
    assert!(
        kms["finding"].as_str().unwrap().starts_with(&locked),
        "{kms}"
    );
    let fix = kms["fix"].as_str().unwrap();
    assert!(fix.contains("--sse-c-copy-source"), "{kms}");
}

/// An object that the caller is refused (S3 answers its HeadObject 403, as it does an object
/// that another account wrote where Object Ownership is not "Bucket owner enforced"; moto keeps
/// no object owners apart, so the proxy answers as S3 does) is named in one warning, and the
/// objects listed after it are still sampled: the key of one of them is still found. `verify`
/// warns the same in `objects`.
#[tokio::test]
async fn an_object_refused_to_the_caller_is_named_and_the_rest_still_sampled() {
    let Scene { moto, aws, bucket } = scene("refused").await;
    let (_, copied) = aws.create_key().await;
    aws.put_csv(&bucket, "d/a-foreign.csv", None).await;
    aws.put_csv(&bucket, "d/b-copied.csv", Some(&copied)).await;
    let uri = format!("s3://{bucket}/d/");
    let denied = Fault::Code(403, "AccessDenied");
    let (proxy, args, planned) = plan_with_a_head_failed(moto, &uri, "a-foreign.csv", denied);
    let warnings = planned.json["plan"]["warnings"].to_string();
    let refused = format!("could not read s3://{bucket}/d/a-foreign.csv (");
    assert_says(&warnings, &refused);
    assert!(
        warnings.contains(&format!(
            "though the other objects sampled under s3://{bucket}/d/ could be read"
        )),
        "{warnings}"
    );
    assert_says(&warnings, "Object Ownership");
    let found = format!(
        "s3://{bucket}/d/b-copied.csv is encrypted with {copied}, not the bucket's default key: granted too"
    );
    assert!(planned.said(&found), "{}{}", planned.stdout, planned.stderr);
    let made = run(&proxy.url(), args.build()).ok();
    let arn = made.json["role_arn"].as_str().unwrap();
    let Ran { json: report, .. } = verify(&proxy.url(), &role_verify_args(arn, &uri, "import"));
    let objects = check(&report, "objects");
    assert_eq!(objects["status"], "warn", "{report:#}");
    let finding = objects["finding"].as_str().unwrap();
    assert!(finding.starts_with(&refused), "{objects}");
    assert_eq!(check(&report, "kms")["status"], "pass", "{report:#}");
}

/// Objects in an archive (S3 Glacier Flexible Retrieval here) are read by nobody until a copy
/// is restored (S3 answers InvalidObjectState), so an import fails on them whatever is granted:
/// the plan warns naming the object, and `verify` fails `objects`. A restored copy reads, and
/// `verify` says nothing of it.
#[tokio::test]
async fn an_archived_object_is_named_until_a_copy_is_restored() {
    let (moto, aws) = on_moto().await;
    let bucket = aws.seeded_bucket("archived").await;
    aws.s3
        .put_object()
        .bucket(&bucket)
        .key("data/cold.csv")
        .storage_class(aws_sdk_s3::types::StorageClass::Glacier)
        .body(b"a,b\n".to_vec().into())
        .send()
        .await
        .unwrap();
    let uri = format!("s3://{bucket}/data/");
    let args = SetupArgs::role("iam", &uri).access("import").yes().json();
    let planned = run(&moto.url(), args.clone().args(&["--dry-run"]).build()).ok();
    let warnings = planned.json["plan"]["warnings"].to_string();
    let cold = format!("s3://{bucket}/data/cold.csv is archived (GLACIER)");
    assert_says(&warnings, &cold);
    assert_says(&warnings, "restore-object");
    let out = run(&moto.url(), args.build()).ok();
    assert_eq!(
        check(&out.json["verify"], "objects")["status"],
        "fail",
        "{:#}",
        out.json
    );
    // The setup's own checks say what TiDB Cloud will meet: no AccessDenied, a failed import.
    let said = format!("check objects: {cold}");
    assert!(out.stderr.contains(&said), "{}", out.stderr);
    assert!(
        out.stderr
            .contains("An import fails on them until this is fixed."),
        "{}",
        out.stderr
    );

    let arn = out.json["role_arn"].as_str().unwrap();
    let archived = failed_check(&moto.url(), arn, &uri, "objects");
    assert!(
        archived["finding"].as_str().unwrap().starts_with(&cold),
        "{archived}"
    );

    aws.s3
        .restore_object()
        .bucket(&bucket)
        .key("data/cold.csv")
        .restore_request(aws_sdk_s3::types::RestoreRequest::builder().days(2).build())
        .send()
        .await
        .unwrap();
    let Ran { json: report, .. } = verify(&moto.url(), &role_verify_args(arn, &uri, "import"));
    assert!(!has_check(&report, "objects"), "{report:#}");
}

/// An import's folder with nothing in it (yet, or under a mistyped name): `verify` warns in
/// `objects`, as the plan does, and still passes, exit 0.
#[tokio::test]
async fn an_empty_import_folder_is_a_warning_of_verify() {
    let Scene { moto, aws, bucket } = scene("emptydir").await;
    let uri = format!("s3://{bucket}/d/");
    let args = SetupArgs::role("iam", &uri).access("import").yes().json();
    let made = run(&moto.url(), args.build()).ok();
    // The plan of the run said it; the setup's own checks do not say it again.
    let warned = made.stderr.matches("no objects under").count();
    assert_eq!(warned, 1, "{}", made.stderr);
    assert!(!made.stderr.contains("check objects"), "{}", made.stderr);
    let arn = made.json["role_arn"].as_str().unwrap();
    let ran = verify(&moto.url(), &role_verify_args(arn, &uri, "import"));
    assert_eq!(ran.code, 0, "{:#}", ran.json);
    assert_eq!(ran.json["ok"], true, "{:#}", ran.json);
    let objects = check(&ran.json, "objects");
    assert_eq!(objects["status"], "warn", "{objects}");
    let empty = format!("no objects under {uri}: TiDB Cloud will find nothing to import");
    let finding = objects["finding"].as_str().unwrap();
    assert!(finding.starts_with(&empty), "{objects}");

    // With something to import, there is nothing to say of the objects.
    aws.put_csv(&bucket, "d/part-1.csv", None).await;
    let ran = verify(&moto.url(), &role_verify_args(arn, &uri, "import"));
    assert!(!has_check(&ran.json, "objects"), "{:#}", ran.json);
}

/// `list`: what this tool made, and nothing else: a stack with its region and role, a stack
/// whose role was deleted by hand, a role made with IAM, a user; never a role that only says
/// it is the tool's. In JSON with the ARNs, in text one line each, in columns. Its own moto,
/// so that the list is this test's alone.
#[tokio::test]
async fn list_says_what_the_tool_made_and_nothing_else() {
    let moto = Moto::start(&[]);
    let aws = aws(&moto.url()).await;

    // Nothing yet: no line on stdout, and an empty list in JSON.
    let Ran { stdout, stderr, .. } = run(&moto.url(), ["list"]).ok();
    assert_eq!(stdout, "", "{stderr}");
    assert_says(
        &stderr,
        "holds no stack, role or user that serverless-s3-setup made",
    );
    assert_eq!(
        run(&moto.url(), ["list", "-o", "json"]).ok().json,
        json!({"made": []})
    );

    let bucket = aws.new_bucket("list").await;
    let at = |dir: &str| format!("s3://{bucket}/{dir}/");
    for (dir, method, access) in [("a", "cloudformation", "import"), ("b", "iam", "export")] {
        let args = SetupArgs::role(method, &at(dir)).access(access).yes();
        run(&moto.url(), args.build()).ok();
    }
    let gone = SetupArgs::role("cloudformation", &at("d")).role_name(&format!("gone-{bucket}"));
    run(&moto.url(), gone.yes().build()).ok();
    run(
        &moto.url(),
        with_json(&SetupArgs::access_key(&at("c")).yes().build()),
    )
    .ok();
    aws.role_that_only_says_it_is_ours("theirs").await;
    let gone = format!("gone-{bucket}");
    aws.delete_stack_role_by_hand(&gone).await;

    let (stack, role, user) = (
        format!("tidb-role-import-{bucket}-a"),
        format!("tidb-role-export-{bucket}-b"),
        format!("tidb-user-import-{bucket}-c"),
    );
    let arn = |kind: &str, name: &str| format!("arn:aws:iam::123456789012:{kind}/{name}");
    let listed = run(&moto.url(), ["list", "-o", "json"]).ok().json;
    assert_eq!(
        listed,
        json!({"made": [
            {"kind": "stack", "name": gone, "region": "us-east-1", "role_name": gone,
             "role_gone": true, "access": "import", "uri": at("d")},
            {"kind": "stack", "name": stack, "region": "us-east-1", "role_name": stack,
             "arn": arn("role", &stack), "role_gone": false, "access": "import", "uri": at("a")},
            {"kind": "role", "name": role, "arn": arn("role", &role), "access": "export",
             "uri": at("b")},
            {"kind": "user", "name": user, "arn": arn("user", &user), "access": "import",
             "uri": at("c")},
        ]})
    );

    let Ran { stdout, .. } = run(&moto.url(), ["list"]).ok();
    let lines: Vec<Vec<&str>> = stdout
        .lines()
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(
        lines,
        [
            vec![
                "stack",
                &gone,
                "us-east-1",
                "import",
                &at("d"),
                "-",
                "(its",
                "role",
                "is",
                "gone)"
            ],
            vec!["stack", &stack, "us-east-1", "import", &at("a"), "-"],
            vec!["role", &role, "-", "export", &at("b"), "-"],
            vec!["user", &user, "-", "import", &at("c"), "-"],
        ],
        "{stdout}"
    );
    // In columns: each line's folder starts where the others' do.
    let column = |line: &str| line.find("s3://").unwrap();
    assert!(stdout
        .lines()
        .all(|l| column(l) == column(stdout.lines().next().unwrap())));
}
