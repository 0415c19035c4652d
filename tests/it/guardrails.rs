//! Organisations with guardrails: a permissions boundary, a path and tags on every role and
//! user, on both methods and for access keys; converged on a rerun; and a denial by a service
//! control policy explained as one.

use crate::common::*;

/// A boundary policy in moto; returns its ARN.
async fn boundary(aws: &Aws, name: &str, actions: &[&str]) -> String {
    let doc = serde_json::json!({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": actions, "Resource": "*"}
    ]});
    aws.create_policy(name, &doc).await
}

/// Runs with `--yes -o json`.
fn run<S: AsRef<str>>(endpoint: &str, args: &[S]) -> Ran {
    let args: Vec<String> = args.iter().map(|a| a.as_ref().to_string()).collect();
    crate::common::run(endpoint, with(&args, &["--yes", "-o", "json"]))
}

fn role_args(method: &str, uri: &str, extra: &[&str]) -> Vec<String> {
    SetupArgs::role(method, uri).args(extra).build()
}

/// The tags, sorted, without the run tag (its value differs each run; it is checked apart).
fn tags_of(tags: &[aws_sdk_iam::types::Tag]) -> Vec<(String, String)> {
    assert!(
        tags.iter().any(|t| t.key() == "serverless-s3-setup:run"),
        "what a run creates names the run"
    );
    let mut t: Vec<_> = tags
        .iter()
        .filter(|t| t.key() != "serverless-s3-setup:run")
        .map(|t| (t.key().to_string(), t.value().to_string()))
        .collect();
    t.sort();
    t
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut t: Vec<_> = list
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    t.sort();
    t
}

#[tokio::test]
async fn a_role_gets_the_boundary_path_and_tags_on_either_method_and_keeps_them_in_step() {
    let (moto, aws) = on_moto().await;
    for (method, bucket) in aws.bucket_per_method("guard").await {
        let uri = format!("s3://{bucket}/d/");
        let b1 = boundary(&aws, &unique("boundary"), &["s3:*", "kms:*"]).await;
        let guarded =
            SetupArgs::role(method, &uri).guardrails(&b1, &["team=data", "cost-center=42"]);
        let Ran { json: out, .. } = run(&moto.url(), &guarded.build()).ok();
        let name = out["role_name"].as_str().unwrap().to_string();
        let role = aws.role(&name).await.unwrap();
        assert_eq!(role.path(), "/tidb/", "{method}");
        assert_eq!(
            out["role_arn"],
            format!("arn:aws:iam::123456789012:role/tidb/{name}")
        );
        assert_eq!(
            role.permissions_boundary()
                .and_then(|b| b.permissions_boundary_arn()),
            Some(b1.as_str()),
            "{method}"
        );
        assert_eq!(out["verify"]["ok"], true, "{method}: {out}");
        let permissions = out["verify"]["checks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == "permissions")
            .unwrap();
        assert!(
            permissions["finding"].as_str().unwrap().contains(&b1),
            "{permissions}"
        );
        match method {
            "iam" => {
                assert_eq!(
                    tags_of(role.tags()),
                    pairs(&[
                        ("managed-by", "serverless-s3-setup"),
                        ("serverless-s3-setup:access", "import"),
                        ("serverless-s3-setup:location", uri.as_str()),
                        ("team", "data"),
                        ("cost-center", "42")
                    ])
                );
                let policy = out["policy_arn"].as_str().unwrap();
                assert_says(policy, ":policy/tidb/");
                let p = aws
                    .iam
                    .get_policy()
                    .policy_arn(policy)
                    .send()
                    .await
                    .unwrap();
                assert_eq!(p.policy().unwrap().path(), Some("/tidb/"));
                assert!(
                    tags_of(p.policy().unwrap().tags()).contains(&("team".into(), "data".into()))
                );
            }
            _ => {
                // CloudFormation propagates stack tags to the role on AWS; moto does not, so
                // the stack's own tags are checked.
                let stacks = aws.stack(&name).await;
                let tags: Vec<(String, String)> = stacks
                    .tags()
                    .iter()
                    .map(|t| (t.key().unwrap().to_string(), t.value().unwrap().to_string()))
                    .collect();
                assert!(tags.contains(&("team".into(), "data".into())), "{tags:?}");
                assert!(
                    tags.contains(&("cost-center".into(), "42".into())),
                    "{tags:?}"
                );
            }
        }

        // The same again: unchanged.
        let Ran {
            json: out, stderr, ..
        } = run(&moto.url(), &guarded.build()).ok();
        assert_eq!(out["changed"], false, "{method}: {stderr}");
        // The plan that a person approves shows the guardrails the role keeps.
        let dry = with(&guarded.build(), &["--dry-run"]);
        let Ran { stdout, .. } = crate::common::run(&moto.url(), dry).ok();
        assert_says(&stdout, &format!("limits: permissions boundary {b1}\n"));
        assert_says(&stdout, "tags:   team=data, cost-center=42\n");

        if method == "iam" {
            // A new boundary and a new tag value are brought into step.
            let b2 = boundary(&aws, &unique("boundary"), &["s3:*"]).await;
            let changed = [
                "--permissions-boundary",
                b2.as_str(),
                "--path",
                "/tidb/",
                "--tag",
                "team=ml",
            ];
            let Ran { json: out, .. } = run(&moto.url(), &role_args(method, &uri, &changed)).ok();
            assert_eq!(out["changed"], true);
            let role = aws.role(&name).await.unwrap();
            assert_eq!(
                role.permissions_boundary()
                    .and_then(|b| b.permissions_boundary_arn()),
                Some(b2.as_str())
            );
            assert!(tags_of(role.tags()).contains(&("team".into(), "ml".into())));
            assert!(
                tags_of(role.tags()).contains(&("cost-center".into(), "42".into())),
                "tags not given are kept"
            );
        }

        // IAM cannot move a role to another path: the run stops before any change.
        let Ran { code, stderr, .. } = run(
            &moto.url(),
            &role_args(method, &uri, &["--path", "/other/"]),
        );
        assert_eq!(code, 1, "{method}: {stderr}");
        assert_says(&stderr, "--path /tidb/");
        assert_eq!(aws.role(&name).await.unwrap().path(), "/tidb/");
    }
}

#[tokio::test]
async fn an_access_key_user_gets_them_too() {
    let Scene { moto, aws, bucket } = scene("guard-key").await;
    let b1 = boundary(&aws, &unique("boundary"), &["s3:*"]).await;
    let uri = format!("s3://{bucket}/d/");
    let args = SetupArgs::access_key(&uri).access("export");
    let proxy = Proxy::start(moto.port);
    let guarded = args.guardrails(&b1, &["team=data"]).build();
    let dry = with(&guarded, &["--dry-run"]);
    let Ran { stdout, .. } = crate::common::run(&moto.url(), dry).ok();
    assert_says(&stdout, &format!("limits: permissions boundary {b1}\n"));
    assert_says(&stdout, "tags:   team=data\n");
    let Ran { json: out, .. } = run(&proxy.url(), &guarded).ok();
    let name = out["user_name"].as_str().unwrap();
    let user = aws.iam.get_user().user_name(name).send().await.unwrap();
    let user = user.user().unwrap();
    assert_eq!(user.path(), "/tidb/");
    // moto keeps no boundary on users, so the request is checked as IAM received it.
    let create = proxy
        .requests()
        .into_iter()
        .find(|(a, _)| a == "CreateUser")
        .expect("CreateUser");
    assert!(
        create
            .1
            .contains(&("PermissionsBoundary".into(), b1.clone())),
        "{create:?}"
    );
    assert_eq!(out["permissions_boundary"], b1.as_str());
    assert!(tags_of(user.tags()).contains(&("team".into(), "data".into())));
    assert!(out["policy_arn"]
        .as_str()
        .unwrap()
        .contains(":policy/tidb/"));
    assert_eq!(out["verify"]["ok"], true, "{out}");
}

/// verify evaluates the boundary: what the policy allows but the boundary does not, fails.
#[tokio::test]
async fn verify_fails_what_the_boundary_keeps_out() {
    let Scene { moto, aws, bucket } = scene("guard-verify").await;
    let list_only = boundary(&aws, &unique("boundary"), &["s3:ListBucket"]).await;
    let uri = format!("s3://{bucket}/d/");
    let Ran { json: out, .. } = run(
        &moto.url(),
        &role_args("iam", &uri, &["--permissions-boundary", &list_only]),
    )
    .ok();
    assert_eq!(
        out["verify"]["ok"], false,
        "the checks after the setup see it: {out}"
    );
    let role_arn = out["role_arn"].as_str().unwrap();
    let Ran {
        code, json: report, ..
    } = verify_role(&moto.url(), role_arn, &uri, Some("import"), EXTERNAL_ID);
    assert_eq!(code, 1, "{report}");
    let c = check(&report, "permissions");
    assert_eq!(c["status"], "fail");
    assert_says(
        c["finding"].as_str().unwrap(),
        "not by the permissions boundary",
    );
}

/// An organisation whose service control policy denies iam:CreateRole without a boundary
/// (moto has no SCPs, so the proxy answers as AWS words it).
#[tokio::test]
async fn a_boundary_requiring_organisation_is_explained_and_then_served() {
    let (moto, aws) = on_moto().await;
    let proxy = Proxy::start(moto.port);
    let b = boundary(&aws, &unique("boundary"), &["s3:*"]).await;
    proxy.fail(
        Match::ActionWithout("CreateRole".into(), "PermissionsBoundary".into()),
        Fault::DeniedWith("User: arn:aws:iam::123456789012:user/ci is not authorized to perform: iam:CreateRole on resource: arn:aws:iam::123456789012:role/x with an explicit deny in a service control policy"),
        usize::MAX,
    );
    let bucket = aws.new_bucket("guard-scp").await;
    let uri = format!("s3://{bucket}/d/");
    let Ran { code, stderr, .. } = run(&proxy.url(), &role_args("iam", &uri, &[]));
    assert_eq!(code, 1, "{stderr}");
    assert_says(&stderr, "service control policy");
    assert_says(&stderr, "--permissions-boundary");
    assert!(aws.roles_naming(&bucket).await.is_empty(), "undone");
    assert!(aws.policies_naming(&bucket).await.is_empty(), "undone");

    let Ran { json: out, .. } = run(
        &proxy.url(),
        &role_args("iam", &uri, &["--permissions-boundary", &b]),
    )
    .ok();
    assert_eq!(out["permissions_boundary"], b.as_str());
}
