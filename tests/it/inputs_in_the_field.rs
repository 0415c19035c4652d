//! Inputs that real users bring (issue 12): file and wildcard URIs, directories in any
//! language, and buckets whose region has to be found from outside their home.

use crate::common::*;
use serde_json::Value;

fn role(endpoint: &str, method: &str, uri: &str, access: &str, extra: &[&str]) -> Ran {
    let args = SetupArgs::role(method, uri)
        .access(access)
        .yes()
        .json()
        .args(extra);
    run(endpoint, args.build())
}

/// The object resource of the managed policy that `role --method iam` made, read from IAM.
async fn granted_objects(aws: &Aws, out: &Value) -> Value {
    let doc = aws
        .policy_document(out["policy_arn"].as_str().unwrap())
        .await;
    doc["Statement"][0]["Resource"].clone()
}

#[tokio::test]
async fn a_file_or_a_pattern_gets_its_directory_and_the_directorys_names() {
    let Scene { moto, aws, bucket } = scene("uri-file").await;
    aws.put_csv(&bucket, "ingest/TableName.01.csv", None).await;
    for uri in [
        format!("s3://{bucket}/ingest/TableName.01.csv"),
        format!("s3://{bucket}/ingest/sales.*.csv"),
        format!("s3://{bucket}/ingest/"),
    ] {
        let Ran {
            json: out, stderr, ..
        } = role(&moto.url(), "iam", &uri, "import", &[]).ok();
        assert_eq!(
            granted_objects(&aws, &out).await,
            format!("arn:aws:s3:::{bucket}/ingest/*"),
            "{uri}"
        );
        assert_eq!(out["prefix"], "ingest");
        // One role for the folder and anything in it: the names follow the directory.
        assert_eq!(
            out["role_name"],
            format!("tidb-role-import-{bucket}-ingest"),
            "{uri}"
        );
        assert_eq!(out["verify"]["ok"], true, "{uri}: {out}");
        if !uri.ends_with('/') {
            assert!(
                stderr.contains(&format!("{uri} is a"))
                    && stderr.contains(&format!("→ access to s3://{bucket}/ingest/")),
                "the plan says what the URI stands for: {stderr}"
            );
        }
    }
    // verify applies the same rule to the same URI.
    let Ran { stderr, .. } = verify_role(
        &moto.url(),
        &format!("arn:aws:iam::123456789012:role/tidb-role-import-{bucket}-ingest"),
        &format!("s3://{bucket}/ingest/TableName.01.csv"),
        Some("import"),
        EXTERNAL_ID,
    )
    .ok();
    assert_says(&stderr, "is a file (found in the bucket)");
}

#[tokio::test]
async fn a_uri_without_a_trailing_slash_is_settled_by_the_bucket() {
    let Scene { moto, aws, bucket } = scene("uri-unsure").await;
    let proxy = Proxy::start(moto.port);
    // `in/data` is an object (a file without an extension); `in/2024.01` is a folder.
    aws.put_csv(&bucket, "in/data", None).await;
    aws.put_csv(&bucket, "in/2024.01/part-1.csv", None).await;
    for (path, granted) in [
        ("in/data", "in/*"),
        ("in/2024.01", "in/2024.01/*"),
        // Nothing there yet (an export's new folder): no extension, so a folder.
        ("out/daily", "out/daily/*"),
        ("out/x.csv", "out/*"),
    ] {
        proxy.reset();
        let uri = format!("s3://{bucket}/{path}");
        let Ran {
            json: out, stderr, ..
        } = role(&proxy.url(), "iam", &uri, "export", &[]).ok();
        assert_eq!(
            granted_objects(&aws, &out).await,
            format!("arn:aws:s3:::{bucket}/{granted}"),
            "{uri}: {stderr}"
        );
        let lists = proxy
            .seen()
            .iter()
            .filter(|a| a.starts_with("s3:GET?") && a.contains("list-type"))
            .count();
        assert_eq!(lists, 1, "one listing settles {uri}: {:?}", proxy.seen());
    }
    // A URI that settles itself costs no listing.
    proxy.reset();
    role(
        &proxy.url(),
        "iam",
        &format!("s3://{bucket}/in/"),
        "export",
        &[],
    )
    .ok();
    assert!(
        proxy.seen().iter().all(|a| !a.contains("list-type")),
        "{:?}",
        proxy.seen()
    );

    // Without credentials, --dry-run goes by the name, and says so.
    let Ran { stdout, stderr, .. } = ran(bare_bin()
        .args([
            "role",
            "--method",
            "iam",
            "--uri",
            &format!("s3://{bucket}/in/data"),
            "--access",
            "import",
        ])
        .args([
            "--tidb-account-id",
            TIDB_ACCOUNT,
            "--external-id",
            EXTERNAL_ID,
            "--dry-run",
        ])
        .output()
        .unwrap())
    .ok();
    assert!(
        format!("{stdout}{stderr}")
            .contains("is a folder (by its name, which has no file extension)"),
        "{stdout}{stderr}"
    );
}

/// IAM's patterns, from the IAM API Reference: policy documents `[\t\n\r\x20-\xFF]+`,
/// role descriptions `[\t\n\r\x20-\x7E\xA1-\xFF]*` of at most 1000 characters.
fn iam_document(text: &str) -> bool {
    !text.is_empty()
        && text
            .chars()
            .all(|c| matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{ff}'))
}

fn iam_description(text: &str) -> bool {
    text.chars().count() <= 1000
        && text
            .chars()
            .all(|c| matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{7e}' | '\u{a1}'..='\u{ff}'))
}

/// Every document and description in the IAM requests the proxy saw, checked against IAM's
/// patterns; returns how many were checked.
fn assert_iam_would_accept(proxy: &Proxy) -> usize {
    let mut checked = 0;
    for (action, params) in proxy.requests() {
        for (name, value) in params {
            let ok = match name.as_str() {
                "PolicyDocument" | "AssumeRolePolicyDocument" => iam_document(&value),
                "Description" => iam_description(&value),
                _ => continue,
            };
            assert!(ok, "{action} {name} breaks IAM's pattern: {value:?}");
            checked += 1;
        }
    }
    checked
}

#[tokio::test]
async fn directories_in_any_language_go_out_as_iam_accepts_them() {
    let (moto, aws) = on_moto().await;
    let proxy = Proxy::start(moto.port);
    for dir in ["数据", "данные", "📦 exports"] {
        let bucket = aws.new_bucket("uri-lang").await;
        let uri = format!("s3://{bucket}/{dir}/");

        // role --method iam, then a rerun with another access that updates the policy.
        proxy.reset();
        let Ran { json: out, .. } = role(&proxy.url(), "iam", &uri, "import", &[]).ok();
        assert_eq!(
            granted_objects(&aws, &out).await,
            format!("arn:aws:s3:::{bucket}/{dir}/*"),
            "IAM reads the escapes back as the directory"
        );
        assert_eq!(out["verify"]["ok"], true, "{out}");
        let role_name = out["role_name"].as_str().unwrap().to_string();
        // The rerun updates both documents: another external ID and another KMS key.
        let out = ran(bin(&proxy.url())
            .args([
                "role", "--method", "iam", "--uri", &uri, "--access", "import",
            ])
            .args([
                "--tidb-account-id",
                TIDB_ACCOUNT,
                "--external-id",
                "another-ext-id",
            ])
            .args([
                "--kms-key",
                "arn:aws:kms:us-east-1:123456789012:key/k1",
                "--yes",
            ])
            .output()
            .unwrap());
        assert_eq!(out.code, 0, "{}", (&out.stdout, &out.stderr).1);
        let seen = proxy.seen();
        for action in [
            "CreatePolicy",
            "CreateRole",
            "CreatePolicyVersion",
            "UpdateAssumeRolePolicy",
        ] {
            assert!(seen.iter().any(|a| a == action), "{action}: {seen:?}");
        }
        assert!(assert_iam_would_accept(&proxy) >= 4, "{:?}", proxy.seen());
        let description = aws
            .role(&role_name)
            .await
            .unwrap()
            .description()
            .unwrap()
            .to_string();
        assert!(iam_description(&description), "{description:?}");

        // Without --method, such a directory goes through IAM, and the plan says why.
        proxy.reset();
        let Ran {
            json: out, stderr, ..
        } = run(
            &proxy.url(),
            with(
                &["role", "--uri", &uri, "--access", "export"],
                &[
                    "--tidb-account-id",
                    TIDB_ACCOUNT,
                    "--external-id",
                    EXTERNAL_ID,
                    "--yes",
                    "-o",
                    "json",
                ],
            ),
        )
        .ok();
        assert_eq!(out["method"], "iam");
        assert_says(&stderr, "method: iam");
        assert!(proxy.seen().iter().all(|a| a != "CreateStack"));
        assert_iam_would_accept(&proxy);

        // access-key
        proxy.reset();
        let Ran { json: out, .. } = run(
            &proxy.url(),
            [
                "access-key",
                "--uri",
                &uri,
                "--access",
                "export",
                "--yes",
                "-o",
                "json",
            ],
        )
        .ok();
        let doc = aws
            .policy_document(out["policy_arn"].as_str().unwrap())
            .await;
        assert_eq!(
            doc["Statement"][0]["Resource"],
            format!("arn:aws:s3:::{bucket}/{dir}/*")
        );
        assert!(assert_iam_would_accept(&proxy) >= 1);
    }
}

/// A run of `role --method iam` for a new bucket through `proxy`, with `action` answered by
/// `fault`: what it printed, and the requests the proxy saw.
async fn faulted(aws: &Aws, proxy: &Proxy, action: &str, fault: Fault, extra: &[&str]) -> Ran {
    let bucket = aws.new_bucket("uri-region").await;
    proxy.reset();
    proxy.fail(Match::Action(action.into()), fault, usize::MAX);
    let uri = format!("s3://{bucket}/d/");
    role(&proxy.url(), "iam", &uri, "import", extra)
}

#[tokio::test]
async fn the_region_comes_from_headbucket_even_on_a_redirect_or_a_denial() {
    let (moto, aws) = on_moto().await;
    let proxy = Proxy::start(moto.port);
    // HeadBucket's header gives the region, even with a redirect or a denial; without it,
    // GetBucketLocation answers.
    for (fault, region, located) in [
        (Fault::Region(301, "eu-west-1"), "eu-west-1", false),
        (Fault::Region(403, "eu-west-1"), "eu-west-1", false),
        (Fault::Internal, "us-east-1", true),
    ] {
        let out = faulted(&aws, &proxy, "s3:HEAD?", fault, &["--dry-run"]).await;
        assert_eq!(out.code, 0, "{fault:?}: {}", out.stderr);
        let plan = &out.json["plan"];
        assert_eq!(plan["bucket_region"], region, "{fault:?}");
        let seen = proxy.seen();
        let asked = seen.iter().any(|a| a == "s3:GET?location");
        assert_eq!(asked, located, "{fault:?}: {seen:?}");
    }

    // A later read sent to the wrong region is a warning naming the permission, not an abort.
    let redirect = Fault::Code(301, "PermanentRedirect");
    let out = faulted(&aws, &proxy, "s3:GET?encryption", redirect, &[]).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stderr.contains("could not read the default encryption")
            && out.stderr.contains("--kms-key"),
        "{}",
        out.stderr
    );
}

/// verify reads a customer-managed key as KMS has it: its state and its key policy.
#[tokio::test]
async fn verify_reads_the_keys_state_and_key_policy() {
    let Scene { moto, aws, bucket } = scene("uri-cmk").await;
    let (key_id, key_arn) = aws.create_key().await;
    aws.encrypt_bucket(&bucket, Some(&key_id)).await;
    let uri = format!("s3://{bucket}/d/");
    let made = role(&moto.url(), "iam", &uri, "import", &[]).ok();
    let role_arn = made.json["role_arn"].as_str().unwrap().to_string();
    // verify's `kms` check, after asserting the exit code and the check's status.
    let kms_check = |code: i32, status: &str| {
        let ran = verify_role(&moto.url(), &role_arn, &uri, Some("import"), EXTERNAL_ID);
        let kms = check(&ran.json, "kms").clone();
        assert_eq!(
            (ran.code, kms["status"].as_str()),
            (code, Some(status)),
            "{kms}"
        );
        kms
    };
    // moto's default key policy enables IAM policies for the account, as AWS's does.
    kms_check(0, "pass");

    aws.kms.disable_key().key_id(&key_id).send().await.unwrap();
    let check = kms_check(1, "fail");
    assert_says(check["fix"].as_str().unwrap(), "enable-key");
    aws.kms.enable_key().key_id(&key_id).send().await.unwrap();

    let admin_only = serde_json::json!({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow",
        "Principal": {"AWS": "arn:aws:iam::123456789012:role/admin"},
        "Action": "kms:*",
        "Resource": "*"
    }]});
    aws.kms
        .put_key_policy()
        .key_id(&key_id)
        .policy_name("default")
        .policy(admin_only.to_string())
        .send()
        .await
        .unwrap();
    let check = kms_check(1, "fail");
    assert_says(check["fix"].as_str().unwrap(), &role_arn);
    assert_says(check["finding"].as_str().unwrap(), &key_arn);
}

/// A `DeleteConflict` right after a detach or a version switch passes once IAM settles; the
/// deletes that meet one go on with a bounded backoff, in pruning, teardown and undo.
#[tokio::test]
async fn deletes_ride_out_a_passing_delete_conflict() {
    let Scene { moto, aws, bucket } = scene("conflict").await;
    let proxy = Proxy::start(moto.port);
    let uri = format!("s3://{bucket}/d/");
    let Ran { json: out, .. } = role(&moto.url(), "iam", &uri, "import", &[]).ok();
    let (role_name, policy_arn) = (
        out["role_name"].as_str().unwrap().to_string(),
        out["policy_arn"].as_str().unwrap().to_string(),
    );

    // Pruning: the superseded version answers DeleteConflict twice, then goes.
    let conflict = Fault::Code(409, "DeleteConflict");
    proxy.fail(Match::Action("DeletePolicyVersion".into()), conflict, 2);
    role(
        &proxy.url(),
        "iam",
        &uri,
        "import",
        &["--kms-key", "arn:aws:kms:us-east-1:123456789012:key/k1"],
    )
    .ok();
    assert_eq!(
        aws.policy_versions(&policy_arn).await,
        1,
        "the old version was pruned"
    );

    // Teardown: DeletePolicy and DeleteRole each conflict once.
    proxy.reset();
    proxy.fail(Match::Action("DeletePolicy".into()), conflict, 1);
    proxy.fail(Match::Action("DeleteRole".into()), conflict, 1);
    run(
        &proxy.url(),
        ["teardown", "--role-name", &role_name, "--yes"],
    )
    .ok();
    assert!(aws.role(&role_name).await.is_none());
    assert!(aws.local_policies().await.iter().all(|p| p.1 != policy_arn));
    assert_eq!(
        (proxy.count("DeletePolicy"), proxy.count("DeleteRole")),
        (2, 2)
    );

    // Undo: the attach fails, and the role's delete conflicts once on the way out.
    let bucket = aws.new_bucket("conflict").await;
    proxy.reset();
    proxy.fail(
        Match::Action("AttachRolePolicy".into()),
        Fault::Code(400, "LimitExceeded"),
        usize::MAX,
    );
    proxy.fail(Match::Action("DeleteRole".into()), conflict, 1);
    let Ran { code, stderr, .. } = role(
        &proxy.url(),
        "iam",
        &format!("s3://{bucket}/d/"),
        "import",
        &[],
    );
    assert_eq!(code, 1, "{stderr}");
    assert!(!stderr.contains("Left in AWS"), "{stderr}");
    assert!(aws.roles_naming(&bucket).await.is_empty(), "{stderr}");
}

/// An import from a folder that holds nothing (empty, or its name mistyped) is warned of in
/// the plan: TiDB Cloud would find nothing. A folder with objects, and an export, are not.
#[tokio::test]
async fn an_import_from_an_empty_folder_is_warned_of() {
    let (moto, aws) = on_moto().await;
    let bucket = aws.seeded_bucket("empty").await;
    let warnings = |out: &Ran| out.json["plan"]["warnings"].to_string();
    let warned = |out: &Ran| warnings(out).contains("TiDB Cloud will find nothing to import");
    let typo = role(
        &moto.url(),
        "iam",
        &format!("s3://{bucket}/dta/"),
        "import",
        &["--dry-run"],
    )
    .ok();
    assert!(
        warnings(&typo).contains(&format!("no objects under s3://{bucket}/dta/")),
        "{}",
        typo.stdout
    );
    for (uri, access) in [
        (format!("s3://{bucket}/data/"), "import"),
        (format!("s3://{bucket}/data/"), "both"),
        (format!("s3://{bucket}"), "import"),
        (format!("s3://{bucket}/dta/"), "export"),
    ] {
        let out = role(&moto.url(), "iam", &uri, access, &["--dry-run"]).ok();
        assert!(!warned(&out), "{uri} {access}: {}", out.stdout);
    }
}
