//! `access-key` against moto: the user, its policy and its key, read back through IAM; the
//! secret shown once and nowhere else; the key limit; delete; rollback.

use std::os::unix::fs::PermissionsExt;

use crate::common::*;
use serde_json::Value;

fn key_args(bucket: &str, access: &str) -> Vec<String> {
    SetupArgs::access_key(&format!("s3://{bucket}/data/"))
        .access(access)
        .yes()
        .build()
}

/// Two runs of `access-key` for `s3://BUCKET/data/`: the one user's two keys, as the runs
/// printed them.
fn two_keys(endpoint: &str, bucket: &str, access: &str) -> (Value, Value) {
    let key = || {
        run(endpoint, with_json(&key_args(bucket, access)))
            .ok()
            .json
    };
    (key(), key())
}

/// `access-key delete --user-name USER --yes` and then `more`.
fn delete(endpoint: &str, user: &str, more: &[&str]) -> Ran {
    let line = ["access-key", "delete", "--user-name", user, "--yes"];
    run(endpoint, with(&line, more))
}

/// `access-key` for `s3://BUCKET/data/`, its key written to `file`.
fn key_to_file(endpoint: &str, bucket: &str, access: &str, file: &std::path::Path) -> Ran {
    let file = file.to_str().unwrap();
    run(
        endpoint,
        with(&key_args(bucket, access), &["--secret-file", file]),
    )
}

#[tokio::test]
async fn creates_the_user_its_policy_and_a_key() {
    let Scene { moto, aws, bucket } = scene("ak").await;
    let Ran {
        json: out, stderr, ..
    } = run(&moto.url(), with_json(&key_args(&bucket, "import"))).ok();
    let user = out["user_name"].as_str().unwrap();
    assert_eq!(user, format!("tidb-user-import-{bucket}-data"));
    let secret = out["secret_access_key"].as_str().unwrap();
    assert!(secret.len() >= 20);
    assert!(!stderr.contains(secret));

    let got = aws.iam.get_user().user_name(user).send().await.unwrap();
    let got = got.user().unwrap();
    assert!(got
        .tags()
        .iter()
        .any(|t| t.key() == "managed-by" && t.value() == "serverless-s3-setup"));
    let attached = aws
        .iam
        .list_attached_user_policies()
        .user_name(user)
        .send()
        .await
        .unwrap();
    let policy_arn = out["policy_arn"].as_str().unwrap();
    assert_eq!(
        attached.attached_policies()[0].policy_arn(),
        Some(policy_arn)
    );
    let doc = aws.policy_document(policy_arn).await;
    assert_eq!(
        doc["Statement"][0]["Action"],
        serde_json::json!(["s3:GetObject", "s3:GetObjectVersion"])
    );
    assert_eq!(
        doc["Statement"][0]["Resource"],
        format!("arn:aws:s3:::{bucket}/data/*")
    );
    assert_eq!(
        aws.key_ids(user).await,
        vec![out["access_key_id"].as_str().unwrap().to_string()]
    );
    let policy = aws
        .iam
        .get_policy()
        .policy_arn(policy_arn)
        .send()
        .await
        .unwrap();
    assert!(policy
        .policy()
        .unwrap()
        .tags()
        .iter()
        .any(|t| t.key() == "managed-by"));
}

#[tokio::test]
async fn the_secret_never_reaches_stderr_in_any_mode() {
    let (moto, aws) = on_moto().await;
    let dir = moto::tmp_dir();
    for (i, extra) in [
        vec!["--secret-file"],
        vec!["-v", "--secret-file"],
        vec!["-o", "json"],
        vec!["-v", "-o", "json"],
        vec!["-vv", "--secret-file"],
    ]
    .into_iter()
    .enumerate()
    {
        let bucket = unique(&format!("secret{i}"));
        aws.create_bucket(&bucket).await;
        let file = dir.join(format!("{bucket}.json"));
        let mut args = with(&key_args(&bucket, "both"), &extra);
        if extra.contains(&"--secret-file") {
            args.push(file.display().to_string());
        }
        let out = run(&moto.url(), &args).ok();
        let (secret, elsewhere) = if extra.contains(&"json") {
            (out.json["secret_access_key"].clone(), &out.stderr)
        } else {
            let written: Value =
                serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
            assert!(!out
                .stdout
                .contains(written["secret_access_key"].as_str().unwrap()));
            (written["secret_access_key"].clone(), &out.stderr)
        };
        let secret = secret.as_str().unwrap().to_string();
        assert!(secret.len() >= 20, "{extra:?}: {secret}");
        assert!(
            !elsewhere.contains(&secret),
            "{extra:?}: secret on stderr:\n{elsewhere}"
        );
        if extra.contains(&"-v") {
            assert!(
                out.stderr.contains("debug: iam:CreateAccessKey"),
                "{}",
                out.stderr
            );
        }
        if extra.contains(&"-vv") {
            // The SDK's own lines show, and the secret is not among them.
            assert!(
                out.stderr.contains("debug: iam:CreateAccessKey"),
                "{}",
                out.stderr
            );
            assert!(out.stderr.contains("debug: aws_"), "{}", out.stderr);
        }
    }
}

/// Text into a pipe would leave the secret in a log: refused before any request, naming
/// `--secret-file`, unless the run makes no key (a dry run).
#[tokio::test]
async fn a_secret_is_never_printed_into_a_pipe() {
    let Scene { moto, aws, bucket } = scene("pipe").await;
    let proxy = Proxy::start(moto.port);
    let refused = run(&proxy.url(), key_args(&bucket, "import"));
    assert_eq!(refused.code, 2, "{}", refused.stderr);
    assert!(refused.stdout.is_empty(), "{}", refused.stdout);
    assert!(
        refused.stderr.contains("--secret-file") && refused.stderr.contains("-o json"),
        "{}",
        refused.stderr
    );
    assert!(proxy.seen().is_empty(), "{:?}", proxy.seen());
    let user = format!("tidb-user-import-{bucket}-data");
    assert!(
        aws.iam.get_user().user_name(&user).send().await.is_err(),
        "{user} made"
    );
    // A dry run makes no key: its plan may go anywhere.
    run(
        &proxy.url(),
        with(&key_args(&bucket, "import"), &["--dry-run"]),
    )
    .ok();
}

#[tokio::test]
async fn secret_file_is_new_private_and_never_overwritten() {
    let Scene { moto, bucket, .. } = scene("sfile").await;
    let path = moto::tmp_dir().join(format!("{bucket}.json"));
    let Ran { stdout, stderr, .. } = key_to_file(&moto.url(), &bucket, "export", &path).ok();
    let saved: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let secret = saved["secret_access_key"].as_str().unwrap();
    assert_eq!(
        stdout.trim(),
        saved["access_key_id"].as_str().unwrap(),
        "stdout has the key ID only"
    );
    assert!(!stdout.contains(secret) && !stderr.contains(secret));
    // The ticloud command takes the secret from the file, not from a paste.
    assert_says(
        &stderr,
        &format!(
            "after `TIDB_S3_SECRET_ACCESS_KEY=$(jq -r .secret_access_key {})`:\n  ticloud serverless export create",
            path.display()
        ),
    );
    assert_eq!(
        std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
        0o600
    );

    // A second run to the same path is refused before any request: exit 2, file untouched.
    let proxy = Proxy::start(moto.port);
    let before = std::fs::read(&path).unwrap();
    let Ran { stderr, .. } = key_to_file(&proxy.url(), &bucket, "export", &path).exits(2);
    assert_says(&stderr, "--secret-file");
    assert_says(&stderr, "already exists");
    assert_eq!(std::fs::read(&path).unwrap(), before);
    let stderr = key_to_file(&proxy.url(), &bucket, "export", &moto::tmp_dir())
        .exits(2)
        .stderr;
    assert_says(&stderr, "is a directory");
    assert!(proxy.seen().is_empty(), "{:?}", proxy.seen());
}

#[tokio::test]
async fn at_two_keys_it_stops_before_creating_anything_and_lists_them() {
    let Scene { moto, aws, bucket } = scene("limit").await;
    let (first, second) = two_keys(&moto.url(), &bucket, "import");
    let user = first["user_name"].as_str().unwrap();
    assert_eq!(
        first["user_name"], second["user_name"],
        "the same user, not a duplicate"
    );
    let Ran { stdout, stderr, .. } =
        run(&moto.url(), with_json(&key_args(&bucket, "import"))).exits(1);
    assert!(stdout.is_empty());
    for id in [&first["access_key_id"], &second["access_key_id"]] {
        let id = id.as_str().unwrap();
        assert!(stderr.contains(id), "{id} not listed: {stderr}");
        assert!(
            stderr.contains(&format!(
                "access-key delete --user-name {user} --access-key-id {id}"
            )),
            "{stderr}"
        );
    }
    assert_says(&stderr, "created just now");
    assert_eq!(aws.key_ids(user).await.len(), 2);
    let policies = aws.policies_naming(&bucket).await;
    assert_eq!(policies.len(), 1);
}

#[tokio::test]
async fn delete_removes_keys_then_the_user_and_is_safe_to_repeat() {
    let Scene { moto, aws, bucket } = scene("del").await;
    let (first, second) = two_keys(&moto.url(), &bucket, "export");
    let user = first["user_name"].as_str().unwrap();
    let one = first["access_key_id"].as_str().unwrap();

    delete(&moto.url(), user, &["--access-key-id", one]).ok();
    assert_eq!(
        aws.key_ids(user).await,
        vec![second["access_key_id"].as_str().unwrap().to_string()]
    );

    delete(&moto.url(), user, &[]).ok();
    assert!(aws.key_ids(user).await.is_empty());

    for _ in 0..2 {
        delete(&moto.url(), user, &["--with-user", "-o", "json"]).ok();
    }
    assert!(
        aws.iam.get_user().user_name(user).send().await.is_err(),
        "the user is gone"
    );
    assert!(
        aws.policies_naming(&bucket).await.is_empty(),
        "the policy is gone"
    );
}

#[tokio::test]
async fn delete_refuses_a_user_the_tool_did_not_make() {
    let (moto, aws) = on_moto().await;
    let user = unique("someone");
    aws.iam.create_user().user_name(&user).send().await.unwrap();
    aws.iam
        .create_access_key()
        .user_name(&user)
        .send()
        .await
        .unwrap();
    let refused = delete(&moto.url(), &user, &[]).exits(1);
    assert_says(&refused.stderr, "was not created by serverless-s3-setup");
    assert_eq!(aws.key_ids(&user).await.len(), 1);
}

#[tokio::test]
async fn a_failed_create_access_key_undoes_the_user_and_the_policy() {
    let (moto, aws) = on_moto().await;
    let proxy = Proxy::start(moto.port);
    proxy.fail_action("CreateAccessKey", Fault::Denied);
    let bucket = aws.new_bucket("akfail").await;
    let path = moto::tmp_dir().join(format!("{bucket}.json"));
    let Ran { stdout, stderr, .. } = key_to_file(&proxy.url(), &bucket, "import", &path).exits(1);
    assert!(stdout.is_empty());
    assert_says(&stderr, "iam:CreateAccessKey failed");
    assert!(!path.exists(), "the empty secret file is removed");
    let users = aws.iam.list_users().max_items(1000).send().await.unwrap();
    assert!(
        users
            .users()
            .iter()
            .all(|u| !u.user_name().contains(&bucket)),
        "user left"
    );
    assert!(aws.policies_naming(&bucket).await.is_empty(), "policy left");
}

/// A lost answer to CreateAccessKey (moto made the key; the reply never came) is not retried
/// into a second key whose secret nobody sees: the run stops, and the key it may have made is
/// removed with the rest of the run. An existing user keeps its other key.
#[tokio::test]
async fn a_lost_create_access_key_answer_is_never_retried_into_a_second_key() {
    let Scene { moto, aws, bucket } = scene("aklost").await;
    let user = format!("u-{bucket}");
    let mut args = key_args(&bucket, "import");
    args.extend(["--user-name".into(), user.clone()]);
    let Ran { json: first, .. } = run(&moto.url(), with_json(&args)).ok();
    let kept = first["access_key_id"].as_str().unwrap().to_string();

    let proxy = Proxy::start(moto.port);
    proxy.fail_action("CreateAccessKey", Fault::DropAnswer);
    let Ran { stdout, stderr, .. } = run(&proxy.url(), with_json(&args)).exits(1);
    assert!(stdout.is_empty(), "no secret to show: {stdout}");
    let sent = proxy.count("CreateAccessKey");
    assert_eq!(sent, 1, "not retried: {:?}", proxy.seen());
    assert_eq!(
        aws.key_ids(&user).await,
        vec![kept],
        "the key the lost request made is removed, the earlier one kept:\n{stderr}"
    );
}

#[test]
fn bad_key_ids_and_missing_flags_exit_2() {
    let stderr = delete("http://127.0.0.1:9", "u", &["--access-key-id", "not-a-key"])
        .exits(2)
        .stderr;
    assert_says(&stderr, "--access-key-id");
    let stderr = run("http://127.0.0.1:9", ["access-key"]).exits(2).stderr;
    assert_says(&stderr, "--uri");
    assert_says(&stderr, "--yes");
}

/// `--rotate`, the CI mode: each run makes a new key and, once AWS accepts it, deletes the
/// one before; a user already at IAM's two-key limit loses its oldest key first. Whatever
/// the number of runs, one key is left: the newest.
#[tokio::test]
async fn rotate_keeps_one_key_the_newest_run_after_run() {
    let Scene { moto, aws, bucket } = scene("rotate").await;
    let user = format!("tidb-user-import-{bucket}-data");
    let rotate = with_json(&with(&key_args(&bucket, "import"), &["--rotate"]));
    let mut before: Option<String> = None;
    for _ in 0..3 {
        let out = run(&moto.url(), &rotate).ok();
        let id = out.json["access_key_id"].as_str().unwrap().to_string();
        assert_eq!(
            aws.key_ids(&user).await,
            std::slice::from_ref(&id),
            "{}",
            out.stderr
        );
        let deleted: Vec<String> = out.json["deleted_keys"]
            .as_array()
            .map(|a| a.iter().map(|v| v.as_str().unwrap().to_string()).collect())
            .unwrap_or_default();
        assert_eq!(deleted, before.iter().cloned().collect::<Vec<_>>());
        before = Some(id);
    }
    // At the limit: two keys made without --rotate; with it, both go and one is left.
    run(&moto.url(), with_json(&key_args(&bucket, "import"))).ok();
    assert_eq!(aws.key_ids(&user).await.len(), 2);
    let out = run(&moto.url(), &rotate).ok();
    assert_eq!(
        aws.key_ids(&user).await,
        [out.json["access_key_id"].as_str().unwrap()],
        "{}",
        out.stderr
    );
    assert_eq!(out.json["deleted_keys"].as_array().unwrap().len(), 2);
    assert!(
        out.json["actions"][0]
            .as_str()
            .unwrap()
            .contains("first, to make room"),
        "{}",
        out.json["actions"]
    );
}
