//! `role --method iam` against moto: outcomes checked from outside through the AWS APIs.

use crate::common::*;
use serde_json::{json, Value};

fn role_args(uri: &str, access: &str) -> Vec<String> {
    SetupArgs::role("iam", uri).access(access).yes().build()
}

fn run_json(endpoint: &str, args: &[String]) -> Value {
    let out = run(endpoint, with(args, &["--output", "json"])).ok();
    assert!(out.json.is_object(), "stdout is not JSON: {}", out.stdout);
    out.json
}

/// The expected permissions policy, written out independently of the tool's planner.
fn expected_policy(bucket: &str, prefix: &str, access: &str, keys: &[&str]) -> Value {
    let objects = match access {
        "import" => json!(["s3:GetObject", "s3:GetObjectVersion"]),
        "export" => json!(["s3:PutObject"]),
        _ => json!(["s3:GetObject", "s3:GetObjectVersion", "s3:PutObject"]),
    };
    let resource = if prefix.is_empty() {
        format!("arn:aws:s3:::{bucket}/*")
    } else {
        format!("arn:aws:s3:::{bucket}/{prefix}/*")
    };
    let mut statements = vec![
        json!({"Sid": "TiDBCloudObjects", "Effect": "Allow", "Action": objects, "Resource": resource}),
        json!({"Sid": "TiDBCloudListBucket", "Effect": "Allow", "Action": ["s3:ListBucket"], "Resource": format!("arn:aws:s3:::{bucket}")}),
    ];
    if !keys.is_empty() {
        let actions = if access == "import" {
            json!(["kms:Decrypt"])
        } else {
            json!(["kms:Decrypt", "kms:GenerateDataKey"])
        };
        let resource = if keys.len() == 1 {
            json!(keys[0])
        } else {
            json!(keys)
        };
        statements.push(json!({"Sid": "TiDBCloudKmsKeys", "Effect": "Allow", "Action": actions, "Resource": resource}));
    }
    json!({"Version": "2012-10-17", "Statement": statements})
}

fn expected_trust(external_id: Option<&str>) -> Value {
    let mut statement = json!({
        "Effect": "Allow",
        "Principal": {"AWS": format!("arn:aws:iam::{TIDB_ACCOUNT}:root")},
        "Action": "sts:AssumeRole",
    });
    if let Some(id) = external_id {
        statement["Condition"] = json!({"StringEquals": {"sts:ExternalId": id}});
    }
    json!({"Version": "2012-10-17", "Statement": [statement]})
}

#[tokio::test]
async fn creates_exactly_the_planned_role_and_policy_for_every_access_dir_and_key() {
    let (moto, aws) = on_moto().await;
    for access in ["import", "export", "both"] {
        for prefix in ["", "data/2024"] {
            for with_key in [false, true] {
                let bucket = aws.new_bucket("matrix").await;
                let mut key_arn = None;
                if with_key {
                    let (id, arn) = aws.create_key().await;
                    aws.encrypt_bucket(&bucket, Some(&id)).await;
                    key_arn = Some(arn);
                }
                let uri = format!("s3://{bucket}/{prefix}");
                let out = run_json(&moto.url(), &role_args(&uri, access));
                let role_name = out["role_name"].as_str().unwrap();
                let policy_arn = out["policy_arn"].as_str().unwrap();
                assert_eq!(out["changed"], true);
                assert_eq!(out["bucket"], bucket.as_str());
                assert_eq!(out["prefix"], prefix);
                assert_eq!(out["access"], access);

                let role = aws.role(role_name).await.expect("the role exists");
                assert_eq!(role.arn(), out["role_arn"].as_str().unwrap());
                assert!(
                    role.tags()
                        .iter()
                        .any(|t| t.key() == "managed-by" && t.value() == "serverless-s3-setup"),
                    "role is tagged"
                );
                assert_eq!(
                    aws.trust(role_name).await,
                    expected_trust(Some(EXTERNAL_ID))
                );
                assert_eq!(aws.attached(role_name).await, vec![policy_arn.to_string()]);
                let keys: Vec<&str> = key_arn.iter().map(String::as_str).collect();
                assert_eq!(
                    aws.policy_document(policy_arn).await,
                    expected_policy(&bucket, prefix, access, &keys),
                    "{access} {prefix:?} key={with_key}"
                );
                assert_eq!(out["kms_keys"], json!(keys));
            }
        }
    }
}

#[tokio::test]
async fn text_output_is_the_role_arn_alone() {
    let Scene { moto, bucket, .. } = scene("text").await;
    let Ran { stdout, stderr, .. } = run(
        &moto.url(),
        role_args(&format!("s3://{bucket}/d/"), "export"),
    )
    .ok();
    let arn = format!("arn:aws:iam::123456789012:role/tidb-role-export-{bucket}-d");
    assert_eq!(*stdout, format!("{arn}\n"));
    assert_says(
        &stderr,
        &format!("Applying to role tidb-role-export-{bucket}-d: 3 changes\n"),
    );
    assert_says(&stderr, "choose AWS Role ARN and paste the Role ARN");
}

#[tokio::test]
async fn reruns_converge_without_duplicates() {
    let Scene { moto, aws, bucket } = scene("rerun").await;
    let args = role_args(&format!("s3://{bucket}/in/"), "import");
    let first = run_json(&moto.url(), &args);
    let second = run_json(&moto.url(), &args);
    let third = run_json(&moto.url(), &args);
    assert_eq!(first["changed"], true);
    assert_eq!(second["changed"], false);
    assert_eq!(third["changed"], false);
    assert_eq!(first["role_arn"], third["role_arn"]);
    let roles: Vec<_> = aws.roles_naming(&bucket).await;
    let policies = aws.policy_arns_naming(&bucket).await;
    assert_eq!(roles.len(), 1, "{roles:?}");
    assert_eq!(policies.len(), 1, "{policies:?}");
    assert_eq!(aws.policy_versions(&policies[0]).await, 1);

    // Another cluster's external ID is added beside the first (issue 13: a second cluster
    // never takes the first one's access away), an extra key is brought in, and old
    // versions are pruned.
    let role = first["role_name"].as_str().unwrap();
    let (_, key) = aws.create_key().await;
    let mut changed = args.clone();
    let at = changed.iter().position(|a| a == EXTERNAL_ID).unwrap();
    changed[at] = "new-external-id".into();
    changed.extend(["--kms-key".into(), key.clone()]);
    let fourth = run_json(&moto.url(), &changed);
    assert_eq!(fourth["changed"], true);
    let mut both = expected_trust(Some(EXTERNAL_ID));
    both["Statement"][0]["Condition"]["StringEquals"]["sts:ExternalId"] =
        json!([EXTERNAL_ID, "new-external-id"]);
    assert_eq!(aws.trust(role).await, both);
    assert_eq!(
        fourth["external_ids"],
        json!([EXTERNAL_ID, "new-external-id"])
    );
    assert_eq!(
        aws.policy_document(&policies[0]).await,
        expected_policy(&bucket, "in", "import", &[&key])
    );
    assert_eq!(
        aws.policy_versions(&policies[0]).await,
        1,
        "old versions are pruned"
    );
    let fifth = run_json(&moto.url(), &changed);
    assert_eq!(fifth["changed"], false);
}

#[tokio::test]
async fn a_role_the_tool_did_not_create_is_left_alone() {
    let Scene { moto, aws, bucket } = scene("foreign").await;
    let foreign_trust = serde_json::json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
        "Principal": {"AWS": "arn:aws:iam::111122223333:root"}, "Action": "sts:AssumeRole"}]});
    aws.create_role(&format!("theirs-{bucket}"), &foreign_trust)
        .await;
    let mut args = role_args(&format!("s3://{bucket}"), "both");
    args.extend(["--role-name".into(), format!("theirs-{bucket}")]);
    let Ran { stdout, stderr, .. } = run(&moto.url(), &args).exits(1);
    assert!(stdout.is_empty());
    assert_says(&stderr, "was not created by serverless-s3-setup");
    assert_says(&stderr, "--role-name");
    let trust = aws.trust(&format!("theirs-{bucket}")).await;
    assert_eq!(
        trust["Statement"][0]["Principal"]["AWS"],
        "arn:aws:iam::111122223333:root"
    );
    assert!(
        aws.policies_naming(&bucket).await.is_empty(),
        "no policy was created"
    );
}

#[tokio::test]
async fn no_external_id_is_explicit_and_warned() {
    let Scene { moto, aws, bucket } = scene("noext").await;
    let Ran { json, stderr, .. } = run(
        &moto.url(),
        [
            "role",
            "--method",
            "iam",
            "--uri",
            &format!("s3://{bucket}/x/"),
            "--tidb-account-id",
            TIDB_ACCOUNT,
            "--no-external-id",
            "--access",
            "import",
            "--yes",
            "-o",
            "json",
        ],
    )
    .ok();
    assert_says(&stderr, "confused-deputy");
    // No ID is a value of its own: the key is there, null.
    assert_eq!(json.get("external_id"), Some(&Value::Null), "{json}");
    let role = json["role_name"].as_str().unwrap();
    assert_eq!(aws.trust(role).await, expected_trust(None));
}

/// `role` (an import) on a new bucket encrypted with the AWS-managed key, through a proxy that
/// refuses these HeadBuckets (1-based: the first reads the region, the second asks with
/// `ExpectedBucketOwner`) with S3's 403.
async fn heads_denied(
    moto: &Moto,
    aws: &Aws,
    prefix: &str,
    denied: &[usize],
) -> (Proxy, String, Ran) {
    let proxy = Proxy::start(moto.port);
    let bucket = unique(prefix);
    aws.create_bucket(&bucket).await;
    aws.encrypt_bucket(&bucket, None).await;
    for nth in denied {
        proxy.fail(
            Match::NthOf("s3:HEAD?".into(), *nth),
            Fault::Denied,
            usize::MAX,
        );
    }
    let out = run(
        &proxy.url(),
        role_args(&format!("s3://{bucket}/d/"), "import"),
    );
    (proxy, bucket, out)
}

/// AWS KMS lets every principal of an AWS-managed key's own account use it through S3 (AWS
/// KMS Developer Guide, "AWS managed keys"): a role made in the bucket's account needs no
/// KMS grant, while one made from another account could never use the key.
#[tokio::test]
async fn an_aws_managed_bucket_key_works_in_the_buckets_account_only() {
    let (moto, aws) = on_moto().await;
    for key in [None, Some("alias/aws/s3")] {
        let bucket = aws.new_bucket("awskey").await;
        aws.encrypt_bucket(&bucket, key).await;
        let out = run_json(
            &moto.url(),
            &role_args(&format!("s3://{bucket}/d/"), "import"),
        );
        assert_eq!(
            aws.policy_document(out["policy_arn"].as_str().unwrap())
                .await,
            expected_policy(&bucket, "d", "import", &[]),
            "no KMS statement: none can add to the key's own policy"
        );
        assert_eq!(out["verify"]["ok"], true, "{out}");
        let kms = out["verify"]["checks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == "kms")
            .unwrap();
        assert_eq!(kms["status"], "pass", "{kms}");
        assert!(
            kms["finding"].as_str().unwrap().contains("AWS-managed"),
            "{kms}"
        );
    }

    // The bucket belongs to another account: HeadBucket with ExpectedBucketOwner is refused
    // (moto does not check the owner, so the proxy answers as S3 does).
    let (proxy, bucket, out) = heads_denied(moto, &aws, "awskey-x", &[2]).await;
    let Ran { stderr, .. } = out.exits(1);
    assert_says(&stderr, "belongs to another account than 123456789012");
    assert_says(&stderr, "customer-managed");
    assert!(aws.roles_naming(&bucket).await.is_empty());
    assert!(
        proxy.seen().iter().all(|a| !a.starts_with("Create")),
        "{:?}",
        proxy.seen()
    );

    // A caller S3 refuses HeadBucket altogether (no s3:ListBucket) gets the same 403 with
    // ExpectedBucketOwner: asked again without it, and refused again, that is not "another
    // account" but "cannot tell": a warning, and the setup goes on.
    let (proxy, _, out) = heads_denied(moto, &aws, "awskey-denied", &[2, 3]).await;
    let Ran { stderr, .. } = out.ok();
    assert_says(&stderr, "could not be told from another owner");
    assert_eq!(proxy.count("s3:HEAD?"), 3, "{:?}", proxy.seen());

    // A key ARN names its account: another account's aws/s3 is refused without asking S3.
    let bucket = aws.new_bucket("awskey-arn").await;
    aws.encrypt_bucket(
        &bucket,
        Some("arn:aws:kms:us-east-1:999999999999:alias/aws/s3"),
    )
    .await;
    let out = run(&moto.url(), role_args(&format!("s3://{bucket}"), "import"));
    assert_eq!(out.code, 1, "{}", (&out.stdout, &out.stderr).1);
    assert!(aws.roles_naming(&bucket).await.is_empty());
}

#[tokio::test]
async fn a_missing_bucket_is_bad_input_and_changes_nothing() {
    let (moto, aws) = on_moto().await;
    let bucket = unique("missing");
    let Ran { stderr, .. } = run(
        &moto.url(),
        role_args(&format!("s3://{bucket}/d/"), "import"),
    )
    .exits(2);
    assert_says(&stderr, "--uri");
    assert_says(&stderr, "does not exist");
    assert!(aws.roles_naming(&bucket).await.is_empty());
}

#[tokio::test]
async fn dry_run_shows_the_plan_and_changes_nothing() {
    let Scene { moto, aws, bucket } = scene("dry").await;
    let (_, key) = aws.create_key().await;
    let Ran { stdout, .. } = run(
        &moto.url(),
        with(
            &role_args(&format!("s3://{bucket}/d/"), "export"),
            &["--dry-run", "--kms-key", &key],
        ),
    )
    .ok();
    for needle in [
        "create policy",
        "create role",
        "sts:ExternalId",
        &format!("arn:aws:s3:::{bucket}/d/*"),
        "kms:GenerateDataKey",
        "AWS account: 123456789012",
        &format!("bucket `{bucket}` is in us-east-1"),
    ] {
        assert!(
            stdout.contains(needle),
            "{needle:?} missing from:\n{stdout}"
        );
    }
    assert!(aws.roles_naming(&bucket).await.is_empty());
    assert!(aws.policies_naming(&bucket).await.is_empty());

    let out = run(
        &moto.url(),
        with(
            &role_args(&format!("s3://{bucket}/d/"), "export"),
            &["--dry-run", "-o", "json"],
        ),
    );
    let plan: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(plan["dry_run"], true);
    assert_eq!(plan["plan"]["actions"].as_array().unwrap().len(), 3);
    assert_eq!(
        plan["plan"]["trust_policy"],
        expected_trust(Some(EXTERNAL_ID))
    );
}

#[test]
fn dry_run_works_without_any_aws_account() {
    let Ran { stdout, stderr, .. } = ran(bare_bin()
        .args(role_args("s3://some-bucket/data/", "import"))
        .args(["--dry-run", "--region", "eu-central-1"])
        .output()
        .unwrap())
    .ok();
    assert_says(&stdout, "<your-account-id>");
    assert_says(&stdout, "arn:aws:s3:::some-bucket/data/*");
    // The reason, then its fix on a line of its own, as under any error.
    assert_says(
        &stderr,
        "warning: planning without AWS: no AWS credentials found\n  fix: ",
    );
}

#[test]
fn without_credentials_it_says_how_to_get_them_and_does_not_hang() {
    // Instance metadata that accepts connections and never answers: the worst case.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let imds = format!("http://127.0.0.1:{}", silent.local_addr().unwrap().port());
    let started = std::time::Instant::now();
    let out = ran(bare_bin()
        .env_remove("AWS_EC2_METADATA_DISABLED")
        .env("AWS_EC2_METADATA_SERVICE_ENDPOINT", &imds)
        .env("AWS_ENDPOINT_URL", moto().url())
        .args(role_args("s3://some-bucket/data/", "import"))
        .output()
        .unwrap());
    let elapsed = started.elapsed();
    let Ran { stderr, .. } = out.exits(1);
    assert_says(&stderr, "no AWS credentials found");
    assert_says(&stderr, "aws configure");
    assert_says(&stderr, "aws sso login");
    assert!(
        elapsed < std::time::Duration::from_secs(5),
        "took {elapsed:?}"
    );
}
