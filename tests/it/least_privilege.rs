//! Least privilege, proven with moto's IAM enforcement: the policy the tool creates is attached
//! to a probe user, whose own key then tries what TiDB Cloud would, and what it must not.

use crate::common::*;

struct Enforced {
    moto: Moto,
    admin: (String, String),
}

/// A server of this test binary's own, with an all-powerful admin key made before
/// enforcement is turned on.
async fn enforced() -> &'static Enforced {
    static SERVER: tokio::sync::OnceCell<Enforced> = tokio::sync::OnceCell::const_new();
    SERVER.get_or_init(start_enforced).await
}

async fn start_enforced() -> Enforced {
    let moto = Moto::start(&[]);
    let aws = aws(&moto.url()).await;
    aws.iam
        .create_user()
        .user_name("admin")
        .send()
        .await
        .unwrap();
    aws.iam
        .put_user_policy()
        .user_name("admin")
        .policy_name("everything")
        .policy_document(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#)
        .send()
        .await
        .unwrap();
    let key = aws
        .iam
        .create_access_key()
        .user_name("admin")
        .send()
        .await
        .unwrap();
    let key = key.access_key().unwrap();
    let admin = (
        key.access_key_id().to_string(),
        key.secret_access_key().to_string(),
    );
    moto.enforce_iam();
    Enforced { moto, admin }
}

/// Runs `role` for `access` on a fresh bucket holding `data/in.csv` and `other/in.csv`, and
/// returns S3 clients for a probe user holding exactly the created policy, and the bucket.
async fn probe_for(access: &str) -> (Aws, String) {
    probe_with(access, &[]).await
}

/// As [`probe_for`], with more flags for `role`.
async fn probe_with(access: &str, extra: &[&str]) -> (Aws, String) {
    let server = enforced().await;
    let url = server.moto.url();
    let (key, secret) = &server.admin;
    let admin = aws_as(&url, key, secret).await;
    let bucket = admin.seeded_bucket(&format!("lp-{access}")).await;
    let args = SetupArgs::role("iam", &format!("s3://{bucket}/data/"))
        .access(access)
        .yes()
        .json()
        .args(extra);
    // The tool itself, under enforcement.
    let out = ran(bin_with_keys(&url, key, secret)
        .args(args.build())
        .output()
        .unwrap());
    let result: serde_json::Value = serde_json::from_str(&out.ok().stdout).unwrap();
    let grant = Grant::Managed(result["policy_arn"].as_str().unwrap());
    (probe_user(&admin, &url, &bucket, grant).await, bucket)
}

/// How a probe user holds the policy under test.
enum Grant<'a> {
    /// Attached, by ARN.
    Managed(&'a str),
    /// Inline, this document.
    Inline(&'a serde_json::Value),
}

/// A user of its own for `bucket`, holding exactly the policy under test, signed in as itself.
async fn probe_user(admin: &Aws, url: &str, bucket: &str, grant: Grant<'_>) -> Aws {
    let name = format!("probe-{bucket}");
    let iam = &admin.iam;
    iam.create_user().user_name(&name).send().await.unwrap();
    match grant {
        Grant::Managed(arn) => {
            let attach = iam.attach_user_policy().user_name(&name).policy_arn(arn);
            attach.send().await.unwrap();
        }
        Grant::Inline(document) => {
            let put = iam
                .put_user_policy()
                .user_name(&name)
                .policy_name("under-test");
            put.policy_document(document.to_string())
                .send()
                .await
                .unwrap();
        }
    }
    let k = iam
        .create_access_key()
        .user_name(&name)
        .send()
        .await
        .unwrap();
    let k = k.access_key().unwrap();
    aws_as(url, k.access_key_id(), k.secret_access_key()).await
}

async fn can_get(probe: &Aws, bucket: &str, key: &str) -> bool {
    outcome(probe.s3.get_object().bucket(bucket).key(key).send().await)
}

async fn can_put(probe: &Aws, bucket: &str, key: &str) -> bool {
    outcome(
        probe
            .s3
            .put_object()
            .bucket(bucket)
            .key(key)
            .body(b"x".to_vec().into())
            .send()
            .await,
    )
}

async fn can_list(probe: &Aws, bucket: &str) -> bool {
    outcome(
        probe
            .s3
            .list_objects_v2()
            .bucket(bucket)
            .prefix("data/")
            .send()
            .await,
    )
}

async fn can_delete(probe: &Aws, bucket: &str, key: &str) -> bool {
    outcome(
        probe
            .s3
            .delete_object()
            .bucket(bucket)
            .key(key)
            .send()
            .await,
    )
}

/// Allowed, or AccessDenied; anything else is a broken test.
fn outcome<T, E: aws_sdk_s3::error::ProvideErrorMetadata + std::fmt::Debug>(
    r: Result<T, aws_sdk_s3::error::SdkError<E, aws_smithy_runtime_api::http::Response>>,
) -> bool {
    match r {
        Ok(_) => true,
        Err(e) if e.as_service_error().and_then(|s| s.code()) == Some("AccessDenied") => false,
        Err(e) => panic!("expected success or AccessDenied, got {e:?}"),
    }
}

async fn can_locate(probe: &Aws, bucket: &str) -> bool {
    outcome(probe.s3.get_bucket_location().bucket(bucket).send().await)
}

/// What a probe tries: an object action on a key, or a bucket action.
#[derive(Debug, Clone, Copy)]
enum Try {
    Get(&'static str),
    Put(&'static str),
    Delete(&'static str),
    List,
    Locate,
}

/// Asserts, for each request, whether the probe may make it.
async fn reaches(probe: &Aws, bucket: &str, cases: &[(Try, bool)]) {
    for &(request, allowed) in cases {
        let got = match request {
            Try::Get(key) => can_get(probe, bucket, key).await,
            Try::Put(key) => can_put(probe, bucket, key).await,
            Try::Delete(key) => can_delete(probe, bucket, key).await,
            Try::List => can_list(probe, bucket).await,
            Try::Locate => can_locate(probe, bucket).await,
        };
        assert_eq!(got, allowed, "{request:?}");
    }
}

/// TiDB Cloud Dedicated reads the bucket's location beside listing it; the other tiers do not,
/// so their roles cannot.
#[tokio::test]
async fn a_dedicated_role_reads_the_bucket_location_and_still_cannot_write() {
    let (probe, bucket) = probe_with("import", &["--tier", "dedicated"]).await;
    let cases = [
        (Try::Locate, true),
        (Try::Get("data/in.csv"), true),
        (Try::Put("data/new.csv"), false),
    ];
    reaches(&probe, &bucket, &cases).await;
    let (probe, bucket) = probe_for("import").await;
    reaches(&probe, &bucket, &[(Try::Locate, false)]).await;
}

#[tokio::test]
async fn import_reads_its_directory_and_nothing_else() {
    let (probe, bucket) = probe_for("import").await;
    let cases = [
        (Try::Get("data/in.csv"), true),
        (Try::List, true),
        (Try::Get("other/in.csv"), false),
        (Try::Put("data/new.csv"), false),
        (Try::Delete("data/in.csv"), false),
    ];
    reaches(&probe, &bucket, &cases).await;
}

/// What an export role may do: write and list its directory; never read, write elsewhere or
/// delete. The printed key and a stack's policy are held to it too.
const EXPORT_ONLY: [(Try, bool); 5] = [
    (Try::Put("data/out.csv"), true),
    (Try::List, true),
    (Try::Get("data/in.csv"), false),
    (Try::Put("other/out.csv"), false),
    (Try::Delete("data/in.csv"), false),
];

#[tokio::test]
async fn export_writes_its_directory_and_cannot_read() {
    let (probe, bucket) = probe_for("export").await;
    reaches(&probe, &bucket, &EXPORT_ONLY).await;
}

#[tokio::test]
async fn both_reads_and_writes_its_directory_only() {
    let (probe, bucket) = probe_for("both").await;
    let cases = [
        (Try::Get("data/in.csv"), true),
        (Try::Put("data/out.csv"), true),
        (Try::Get("other/in.csv"), false),
        (Try::Put("other/out.csv"), false),
        (Try::Delete("data/in.csv"), false),
    ];
    reaches(&probe, &bucket, &cases).await;
}

/// The access key that `access-key` prints works, and only as far as the access allows.
#[tokio::test]
async fn the_printed_access_key_reads_only_its_directory() {
    let server = enforced().await;
    let url = server.moto.url();
    let (key, secret) = &server.admin;
    let admin = aws_as(&url, key, secret).await;
    let bucket = admin.seeded_bucket("lp-key").await;
    let out = key_run(server, &bucket, "import", &[]).ok();
    let probe = aws_as(
        &url,
        out.json["access_key_id"].as_str().unwrap(),
        out.json["secret_access_key"].as_str().unwrap(),
    )
    .await;
    let cases = [
        (Try::Get("data/in.csv"), true),
        (Try::Get("other/in.csv"), false),
        (Try::Put("data/new.csv"), false),
    ];
    reaches(&probe, &bucket, &cases).await;
}

/// The role a stack makes carries an inline policy; the same document on a probe user allows
/// export under the directory and nothing else.
#[tokio::test]
async fn the_stack_made_policy_allows_export_and_nothing_else() {
    let server = enforced().await;
    let url = server.moto.url();
    let (key, secret) = &server.admin;
    let admin = aws_as(&url, key, secret).await;
    let bucket = admin.seeded_bucket("lp-cfn").await;
    let role = format!("r-{bucket}");
    let args = SetupArgs::role("cloudformation", &format!("s3://{bucket}/data/"))
        .access("export")
        .role_name(&role)
        .yes();
    ran(bin_with_keys(&url, key, secret)
        .args(args.build())
        .output()
        .unwrap())
    .ok();
    let document = inline_policy(&admin, &role, &format!("{role}-policy")).await;

    let probe = probe_user(&admin, &url, &bucket, Grant::Inline(&document)).await;
    reaches(&probe, &bucket, &EXPORT_ONLY).await;
}

/// Runs `access-key` as the admin under enforcement, with `extra` flags; `-o json`.
fn key_run(server: &Enforced, bucket: &str, access: &str, extra: &[&str]) -> Ran {
    let (key, secret) = &server.admin;
    let args = SetupArgs::access_key(&format!("s3://{bucket}/data/"))
        .access(access)
        .yes()
        .json()
        .args(extra);
    ran(bin_with_keys(&server.moto.url(), key, secret)
        .args(args.build())
        .output()
        .unwrap())
}

/// The new key is tried as itself: it lists the directory and, with `--probe-write`, writes a
/// probe object there, which the caller's own credentials delete again.
#[tokio::test]
async fn the_new_key_lists_and_writes_a_probe_that_is_then_deleted() {
    let server = enforced().await;
    let (key, secret) = &server.admin;
    let admin = aws_as(&server.moto.url(), key, secret).await;
    let bucket = admin.seeded_bucket("lp-probe").await;
    let out = key_run(server, &bucket, "export", &["--probe-write"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let probe = &out.json["probe"];
    assert_eq!(probe["accepted"], true, "{probe}");
    assert_eq!(probe["ok"], true, "{probe}");
    assert_eq!(probe["listed"], format!("s3://{bucket}/data/"));
    let wrote = probe["wrote"].as_str().unwrap();
    let prefix = format!("s3://{bucket}/data/serverless-s3-setup-probe-");
    assert!(wrote.starts_with(&prefix), "{wrote}");
    assert!(probe.get("left").is_none(), "{probe}");
    assert!(
        out.stderr.contains(&format!(
            "✓ the key works: listed s3://{bucket}/data/ and wrote a probe ({wrote}, deleted again)"
        )),
        "{}",
        out.stderr
    );
    let keys = admin
        .s3
        .list_objects_v2()
        .bucket(&bucket)
        .send()
        .await
        .unwrap();
    let keys: Vec<&str> = keys.contents().iter().filter_map(|o| o.key()).collect();
    assert_eq!(keys, ["data/in.csv", "other/in.csv"], "the probe is gone");
}

/// A key that its user's own policies deny on the directory is reported, naming the request
/// that was refused, not passed on the strength of the policy read back.
#[tokio::test]
async fn a_new_key_denied_the_directory_is_reported_by_request() {
    let server = enforced().await;
    let (key, secret) = &server.admin;
    let admin = aws_as(&server.moto.url(), key, secret).await;
    let bucket = admin.seeded_bucket("lp-denied").await;
    let first = key_run(server, &bucket, "import", &["--no-probe"]);
    assert_eq!(first.code, 0, "{}", first.stderr);
    assert!(
        first.json.get("probe").is_none(),
        "--no-probe: {}",
        first.json
    );
    let user = first.json["user_name"].as_str().unwrap();
    let deny = format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Deny","Action":"s3:ListBucket","Resource":"arn:aws:s3:::{bucket}"}}]}}"#
    );
    admin
        .iam
        .put_user_policy()
        .user_name(user)
        .policy_name("no-listing")
        .policy_document(deny)
        .send()
        .await
        .unwrap();

    let again = key_run(server, &bucket, "import", &[]);
    assert_eq!(again.code, 0, "{}", again.stderr);
    let probe = &again.json["probe"];
    assert_eq!(probe["accepted"], true, "{probe}");
    assert_eq!(probe["ok"], false, "{probe}");
    let failed = probe["failed"].as_str().unwrap();
    assert_says(failed, "s3:ListObjectsV2");
    assert_says(failed, "AccessDenied");
    assert_says(failed, &format!("listing s3://{bucket}/data/"));
    assert!(
        again
            .stderr
            .contains("the new key was refused on S3: s3:ListObjectsV2"),
        "{}",
        again.stderr
    );
    assert!(!again.stderr.contains("the key works"), "{}", again.stderr);
}
