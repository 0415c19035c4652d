//! Every flow at its round-trip limit. A proxy holds each request 40 ms, as a distant AWS
//! would, and logs when each was sent and answered; a request's round is one more than the
//! last round answered before it was sent (`Proxy::rounds`). These tests assert that order,
//! never wall time (`tests/bench/rounds.py` measures the time). The bucket is under SSE-KMS
//! with a customer-managed key, as in the issue that set the targets.

use crate::common::*;

const LATENCY_MS: u64 = 40;

/// A new bucket under SSE-KMS: the bucket and its folder `s3://BUCKET/d/`.
async fn kms_bucket(aws: &Aws, prefix: &str) -> (String, String) {
    let bucket = aws.new_bucket(prefix).await;
    let (_, key) = aws.create_key().await;
    aws.encrypt_bucket(&bucket, Some(&key)).await;
    let uri = format!("s3://{bucket}/d/");
    (bucket, uri)
}

/// The rounds of what the proxy saw, and the last round.
fn rounds(proxy: &Proxy) -> (Vec<(usize, String)>, usize) {
    let rounds = proxy.rounds();
    let last = rounds.iter().map(|(r, _)| *r).max().unwrap_or(0);
    (rounds, last)
}

fn is_read(action: &str) -> bool {
    [
        "Get", "List", "Describe", "Head", "s3:GET", "s3:HEAD", "Simulate",
    ]
    .iter()
    .any(|p| action.starts_with(p))
}

#[tokio::test]
async fn a_role_made_with_iam_takes_six_rounds_and_an_unchanged_rerun_three() {
    let (moto, aws) = on_moto().await;
    let (_, uri) = kms_bucket(&aws, "rounds-iam").await;
    let proxy = Proxy::with_latency(moto.port, LATENCY_MS);
    run(&proxy.url(), SetupArgs::role("iam", &uri).yes().build()).ok();
    let (log, last) = rounds(&proxy);
    assert!(last <= 6, "{last} rounds: {log:?}");
    // What needs nothing but names goes out first, all at once.
    for first in ["GetCallerIdentity", "GetRole", "s3:HEAD?"] {
        let r = log.iter().find(|(_, a)| a == first).unwrap().0;
        assert_eq!(r, 1, "{first}: {log:?}");
    }
    // Every read the plan needs is answered before the first write.
    let first_write = log.iter().find(|(_, a)| !is_read(a)).unwrap().0;
    assert!(
        log.iter()
            .filter(|(r, a)| is_read(a) && *r > first_write)
            .all(|(r, _)| *r == last),
        "only the read-back follows the writes: {log:?}"
    );

    proxy.reset();
    run(&proxy.url(), SetupArgs::role("iam", &uri).yes().build()).ok();
    let (log, last) = rounds(&proxy);
    assert!(last <= 3, "an unchanged rerun took {last} rounds: {log:?}");
    assert!(log.iter().all(|(_, a)| is_read(a)), "{log:?}");
    let requests = proxy.requests();
    let mut seen = std::collections::HashSet::new();
    for r in &requests {
        assert!(seen.insert(format!("{r:?}")), "read twice: {r:?}");
    }
}

/// Sampling the import's objects for their keys stays within the six rounds: the HeadObjects
/// go out together, beside the reads of the policy, and a key found there is described in the
/// round after, still before the first write.
#[tokio::test]
async fn sampling_the_objects_keys_stays_within_six_rounds() {
    let (moto, aws) = on_moto().await;
    let (bucket, uri) = kms_bucket(&aws, "rounds-sampled").await;
    let (_, other) = aws.create_key().await;
    for (i, key) in [None, Some(&other), None, Some(&other)].iter().enumerate() {
        let key = key.map(String::as_str);
        aws.put_csv(&bucket, &format!("d/part-{i}.csv"), key).await;
    }
    let proxy = Proxy::with_latency(moto.port, LATENCY_MS);
    let out = run(
        &proxy.url(),
        SetupArgs::role("iam", &uri).yes().json().build(),
    )
    .ok();
    let granted = out.json["kms_keys"].to_string();
    assert_says(&granted, &other);
    let (log, last) = rounds(&proxy);
    assert!(last <= 6, "{last} rounds: {log:?}");
    // HeadBucket and HeadObject look alike to the proxy: the four HeadObjects are the round
    // with four HEADs.
    let together = (1..=last)
        .map(|r| {
            log.iter()
                .filter(|(at, a)| *at == r && a == "s3:HEAD?")
                .count()
        })
        .max()
        .unwrap_or(0);
    assert!(
        together >= 4,
        "one HeadObject per object, together: {log:?}"
    );
}

#[tokio::test]
async fn a_role_made_by_a_stack_takes_seven_rounds() {
    let (moto, aws) = on_moto().await;
    let (_, uri) = kms_bucket(&aws, "rounds-cfn").await;
    let proxy = Proxy::with_latency(moto.port, LATENCY_MS);
    run(
        &proxy.url(),
        SetupArgs::role("cloudformation", &uri).yes().build(),
    )
    .ok();
    let (log, last) = rounds(&proxy);
    assert!(last <= 7, "{last} rounds: {log:?}");
}

/// The key is made and tried in six rounds: STS accepts it beside the read-back, and it lists
/// the directory as itself in the last round. Without the probe, neither is sent.
#[tokio::test]
async fn an_access_key_takes_six_rounds_with_its_probe() {
    let (moto, aws) = on_moto().await;
    let (_, uri) = kms_bucket(&aws, "rounds-key").await;
    let proxy = Proxy::with_latency(moto.port, LATENCY_MS);
    let args = SetupArgs::access_key(&uri).access("import").yes().json();
    run(&proxy.url(), args.build()).ok();
    let (log, last) = rounds(&proxy);
    assert!(last <= 6, "{last} rounds: {log:?}");
    let of = |action: &str| -> Vec<usize> {
        log.iter()
            .filter(|(_, a)| a == action)
            .map(|(r, _)| *r)
            .collect()
    };
    let accepted = *of("GetCallerIdentity").last().unwrap();
    let listed = *of("s3:GET?list-type&max-keys&prefix").last().unwrap();
    assert_eq!(listed, last, "the probe lists last: {log:?}");
    assert_eq!(accepted, last - 1, "STS beside the read-back: {log:?}");
    let probed = proxy.requests().len();

    proxy.reset();
    let (_, uri) = kms_bucket(&aws, "rounds-key").await;
    let args = SetupArgs::access_key(&uri)
        .access("import")
        .yes()
        .json()
        .args(&["--no-probe"]);
    run(&proxy.url(), args.build()).ok();
    let (log, last) = rounds(&proxy);
    assert!(last <= 5, "--no-probe: {last} rounds: {log:?}");
    assert_eq!(proxy.requests().len(), probed - 2, "{log:?}");
}

#[tokio::test]
async fn verify_takes_four_rounds_and_teardown_four() {
    let (moto, aws) = on_moto().await;
    let (_, uri) = kms_bucket(&aws, "rounds-verify").await;
    let Ran { stdout, .. } = run(
        &moto.url(),
        SetupArgs::role("iam", &uri).yes().json().build(),
    )
    .ok();
    let made: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let arn = made["role_arn"].as_str().unwrap();
    let name = made["role_name"].as_str().unwrap();

    let proxy = Proxy::with_latency(moto.port, LATENCY_MS);
    let verify: Vec<String> = [
        "verify",
        "--role-arn",
        arn,
        "--uri",
        &uri,
        "--access",
        "import",
        "--tidb-account-id",
        TIDB_ACCOUNT,
        "--external-id",
        EXTERNAL_ID,
    ]
    .map(String::from)
    .to_vec();
    run(&proxy.url(), &verify).ok();
    let (log, last) = rounds(&proxy);
    assert!(last <= 4, "verify took {last} rounds: {log:?}");

    proxy.reset();
    let teardown: Vec<String> = ["teardown", "--role-name", name, "--yes"]
        .map(String::from)
        .to_vec();
    run(&proxy.url(), &teardown).ok();
    let (log, last) = rounds(&proxy);
    assert!(last <= 4, "teardown took {last} rounds: {log:?}");
    assert!(aws.role(name).await.is_none());
}

/// A user's teardown takes four rounds, as a role's does: the user and everything keyed by its
/// name (its keys, groups, policies and the credentials a person may have added) together, its
/// policy and versions, then the two stages of deletes.
#[tokio::test]
async fn a_user_s_teardown_takes_four_rounds() {
    let (moto, aws) = on_moto().await;
    let (bucket, uri) = kms_bucket(&aws, "rounds-user").await;
    let args = SetupArgs::access_key(&uri).access("import").yes().json();
    run(&moto.url(), args.build()).ok();
    let user = format!("tidb-user-import-{bucket}-d");
    let proxy = Proxy::with_latency(moto.port, LATENCY_MS);
    let teardown = ["teardown", "--user-name", &user, "--yes"];
    run(&proxy.url(), teardown).ok();
    let (log, last) = rounds(&proxy);
    assert!(last <= 4, "teardown took {last} rounds: {log:?}");
    let first: Vec<&str> = log
        .iter()
        .filter(|(r, _)| *r == 1)
        .map(|(_, a)| a.as_str())
        .collect();
    for read in [
        "GetUser",
        "ListAccessKeys",
        "ListMFADevices",
        "GetLoginProfile",
    ] {
        assert!(first.contains(&read), "{read} in the first round: {log:?}");
    }
    assert!(aws.leftovers(&bucket).await.is_empty());
}

/// `list` reads the account and the configured region's stacks in one round; a stack in
/// another region is read for in the round after. Its own moto, so that only this test's
/// stacks decide the regions.
#[tokio::test]
async fn list_takes_one_round_and_one_more_for_a_stack_elsewhere() {
    let moto = Moto::start(&[]);
    let aws = aws(&moto.url()).await;
    let bucket = aws.new_bucket("rounds-list").await;
    let here = SetupArgs::role("cloudformation", &format!("s3://{bucket}/a/")).yes();
    run(&moto.url(), here.build()).ok();
    let proxy = Proxy::with_latency(moto.port, LATENCY_MS);
    run(&proxy.url(), ["list"]).ok();
    let (log, last) = rounds(&proxy);
    assert_eq!(last, 1, "{log:?}");
    assert!(log.iter().any(|(_, a)| a == "DescribeStacks"), "{log:?}");

    let elsewhere = SetupArgs::role("cloudformation", &format!("s3://{bucket}/b/"))
        .args(&["--region", "eu-west-1"])
        .yes();
    run(&moto.url(), elsewhere.build()).ok();
    proxy.reset();
    let Ran { stdout, .. } = run(&proxy.url(), ["list"]).ok();
    assert_says(&stdout, "eu-west-1");
    let (log, last) = rounds(&proxy);
    assert_eq!(last, 2, "{log:?}");
    let second: Vec<&str> = log
        .iter()
        .filter(|(r, _)| *r == 2)
        .map(|(_, a)| a.as_str())
        .collect();
    assert_eq!(second, ["DescribeStacks"], "{log:?}");
}
