//! How TiDB Cloud is used in 2026 (issue 13): several clusters on one role, no write access
//! that nobody chose, today's tiers, and the hand-off to TiDB Cloud.

use crate::common::*;
use serde_json::{json, Value};

fn role(endpoint: &str, method: &str, uri: &str, ids: &[&str], extra: &[&str]) -> Ran {
    let args = SetupArgs::role(method, uri)
        .external_ids(ids)
        .args(extra)
        .yes()
        .json();
    run(endpoint, args.build())
}

fn external_ids(trust: &Value) -> Value {
    trust["Statement"][0]["Condition"]["StringEquals"]["sts:ExternalId"].clone()
}

/// The external IDs the role is set to trust: its trust policy for a role made with IAM; for a
/// stack, the parameters CloudFormation was given (moto records an update's parameters but does
/// not apply them to the role; AWS does, and the first create shows the template writes them).
async fn trusted_ids(aws: &Aws, method: &str, role: &str) -> Value {
    if method == "iam" {
        return match external_ids(&aws.trust(role).await) {
            Value::Null => json!([]),
            Value::String(one) => json!([one]),
            many => many,
        };
    }
    let stacks = aws.stack(role).await;
    let params = stacks.parameters();
    let get = |k: &str| {
        params
            .iter()
            .find(|p| p.parameter_key() == Some(k))
            .and_then(|p| p.parameter_value())
            .unwrap_or_default()
            .to_string()
    };
    let mut ids: Vec<String> = vec![get("ExternalId")];
    ids.extend(
        get("MoreExternalIds")
            .trim_matches(|c| c == '[' || c == ']')
            .split(',')
            .map(|i| i.trim().trim_matches('\'').to_string()),
    );
    // The template's explicit "no external ID".
    ids.retain(|i| !i.is_empty() && i != serverless_s3_setup::template::NO_EXTERNAL_ID);
    json!(ids)
}

#[tokio::test]
async fn a_second_cluster_joins_the_first_and_removals_say_who_loses_access() {
    let (moto, aws) = on_moto().await;
    for (method, bucket) in aws.bucket_per_method("clusters").await {
        let uri = format!("s3://{bucket}/in/");
        let Ran { json: out, .. } = role(&moto.url(), method, &uri, &["dev-cluster-id"], &[]).ok();
        let name = out["role_name"].as_str().unwrap().to_string();
        assert_eq!(external_ids(&aws.trust(&name).await), "dev-cluster-id");

        // prod joins: dev keeps access.
        let Ran {
            json: out, stderr, ..
        } = role(&moto.url(), method, &uri, &["prod-cluster-id"], &[]).ok();
        assert_eq!(
            trusted_ids(&aws, method, &name).await,
            json!(["dev-cluster-id", "prod-cluster-id"]),
            "{method}"
        );
        assert_eq!(
            out["external_ids"],
            json!(["dev-cluster-id", "prod-cluster-id"])
        );
        assert!(!stderr.contains("loses access"), "{stderr}");

        // moto records a stack update's parameters but does not apply them to the role, so
        // the live trust lags the stack: a rerun sees that drift and writes the template's trust
        // back, as it would after a hand edit on AWS. (LocalStack applies updates; its suite
        // checks the live trust after an update.)
        if method == "cloudformation" {
            let Ran { json: out, .. } =
                role(&moto.url(), method, &uri, &["dev-cluster-id"], &[]).ok();
            let actions = out["actions"].to_string();
            assert!(
                out["changed"] == false
                    || (actions.contains("restore the trust policy")
                        && !actions.contains("update stack")),
                "{actions}"
            );
            assert_eq!(
                external_ids(&aws.trust(&name).await),
                json!(["dev-cluster-id", "prod-cluster-id"]),
                "the live role trusts both"
            );
        }
        // Either again: nothing changes.
        let Ran {
            json: out, stderr, ..
        } = role(&moto.url(), method, &uri, &["dev-cluster-id"], &[]).ok();
        assert_eq!(out["changed"], false, "{method}: {stderr}");

        // dev is taken off, by name; prod stays.
        let Ran { stderr, .. } = role(
            &moto.url(),
            method,
            &uri,
            &[],
            &["--remove-external-id", "dev-cluster-id"],
        )
        .ok();
        assert!(
            stderr
                .contains("loses access to the role: the cluster with external ID dev-cluster-id"),
            "{stderr}"
        );
        assert_eq!(
            trusted_ids(&aws, method, &name).await,
            json!(["prod-cluster-id"]),
            "{method}"
        );

        // The last one cannot go without --no-external-id: exit 2, nothing changed.
        let Ran { code, stderr, .. } = role(
            &moto.url(),
            method,
            &uri,
            &[],
            &["--remove-external-id", "prod-cluster-id"],
        );
        assert_eq!(code, 2, "{stderr}");
        assert_says(&stderr, "--no-external-id");
        assert_eq!(
            trusted_ids(&aws, method, &name).await,
            json!(["prod-cluster-id"])
        );

        // --replace-external-ids: staging alone, and prod is named as losing access.
        let Ran {
            json: out, stderr, ..
        } = role(
            &moto.url(),
            method,
            &uri,
            &["staging-cluster-id"],
            &["--replace-external-ids"],
        )
        .ok();
        assert_says(&stderr, "prod-cluster-id");
        assert_eq!(
            out["losing_access"],
            json!(["the cluster with external ID prod-cluster-id"])
        );
        assert_eq!(
            trusted_ids(&aws, method, &name).await,
            json!(["staging-cluster-id"]),
            "{method}"
        );

        // --no-external-id on a role with IDs drops them, and says so.
        let Ran { stderr, .. } = role(&moto.url(), method, &uri, &[], &["--no-external-id"]).ok();
        assert_says(&stderr, "every cluster of the TiDB Cloud project");
        assert_eq!(trusted_ids(&aws, method, &name).await, json!([]));
    }
}

#[tokio::test]
async fn verify_passes_a_cluster_among_several_and_lists_the_others() {
    let Scene { moto, bucket, .. } = scene("clusters-v").await;
    let uri = format!("s3://{bucket}/in/");
    for id in ["dev-cluster-id", "prod-cluster-id"] {
        role(&moto.url(), "iam", &uri, &[id], &[]).ok();
    }
    let arn = format!("arn:aws:iam::123456789012:role/tidb-role-import-{bucket}-in");
    let Ran { json: report, .. } =
        verify_role(&moto.url(), &arn, &uri, Some("import"), "prod-cluster-id").ok();
    let trust = check(&report, "trust");
    assert_says(
        trust["finding"].as_str().unwrap(),
        "also the clusters with dev-cluster-id",
    );
}

#[tokio::test]
async fn no_run_grants_write_access_that_nobody_chose() {
    let Scene { moto, aws, bucket } = scene("noaccess").await;
    let proxy = Proxy::start(moto.port);
    let uri = format!("s3://{bucket}/in/");
    for args in [
        vec![
            "role",
            "--uri",
            &uri,
            "--tidb-account-id",
            TIDB_ACCOUNT,
            "--external-id",
            EXTERNAL_ID,
            "--yes",
        ],
        vec!["access-key", "--uri", &uri, "--yes", "-o", "json"],
    ] {
        let Ran { stderr, .. } = run(&proxy.url(), &args).exits(2);
        assert_says(&stderr, "--access");
    }
    assert!(proxy.seen().is_empty(), "{:?}", proxy.seen());

    // verify without --access checks what the role was made for, never more: an import-only
    // role passes, and nothing proposes write access.
    let Ran { json: out, .. } = role(&moto.url(), "iam", &uri, &[EXTERNAL_ID], &[]).ok();
    let arn = out["role_arn"].as_str().unwrap();
    let Ran {
        json: report,
        stderr,
        ..
    } = verify_role(&moto.url(), arn, &uri, None, EXTERNAL_ID).ok();
    assert_says(&stderr, "checking access: import, as recorded on it");
    assert!(!report.to_string().contains("s3:PutObject"), "{report}");

    // A role made by hand, without the tag: its policies tell.
    let name = format!("hand-{bucket}");
    let trust = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
        "Principal": {"AWS": format!("arn:aws:iam::{TIDB_ACCOUNT}:root")}, "Action": "sts:AssumeRole",
        "Condition": {"StringEquals": {"sts:ExternalId": EXTERNAL_ID}}}]});
    aws.create_role(&name, &trust).await;
    let doc = json!({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["s3:PutObject"], "Resource": format!("arn:aws:s3:::{bucket}/in/*")},
        {"Effect": "Allow", "Action": ["s3:ListBucket"], "Resource": format!("arn:aws:s3:::{bucket}")}]});
    aws.put_role_policy(&name, "p", &doc).await;
    let hand = format!("arn:aws:iam::123456789012:role/{name}");
    let Ran { stderr, .. } = verify_role(&moto.url(), &hand, &uri, None, EXTERNAL_ID).ok();
    assert_says(
        &stderr,
        "checking access: export, from what its policies grant",
    );
}

#[tokio::test]
async fn every_setup_ends_with_the_next_command_and_never_the_secret() {
    let Scene { moto, aws, bucket } = scene("handoff").await;
    let uri = format!("s3://{bucket}/in/t.01.csv");
    let Ran { json: out, .. } = role(
        &moto.url(),
        "iam",
        &uri,
        &[EXTERNAL_ID],
        &["--cluster-id", "10447215000012345"],
    )
    .ok();
    let arn = out["role_arn"].as_str().unwrap();
    assert_eq!(
        out["next_command"],
        json!([format!("ticloud serverless import start --cluster-id 10447215000012345 --source-type S3 --s3.uri s3://{bucket}/in/t.01.csv --file-type CSV --s3.role-arn {arn}")])
    );

    // Dedicated: no export, and no `ticloud serverless` line; the console path instead.
    let dedicated = |access: &str| {
        let args = SetupArgs::role("iam", &format!("s3://{bucket}/x/"))
            .access(access)
            .args(&["--tier", "dedicated"])
            .yes();
        run(&moto.url(), args.build())
    };
    let out = dedicated("export");
    assert_eq!(out.code, 2, "{}", out.stderr);
    let Ran { stderr, .. } = dedicated("import").ok();
    assert_says(
        &stderr,
        "TiDB Cloud Dedicated (Data → Import → Import data from Cloud Storage",
    );
    assert!(!stderr.contains("ticloud"), "{stderr}");

    // An access key: the command names the key ID and reads the secret from a variable.
    let key = SetupArgs::access_key(&format!("s3://{bucket}/out/"))
        .access("export")
        .yes()
        .build();
    let Ran { stdout, stderr, .. } = run(&moto.url(), with_json(&key)).ok();
    let key: Value = serde_json::from_str(&stdout).unwrap();
    let secret = key["secret_access_key"].as_str().unwrap();
    let command = key["next_command"][0].as_str().unwrap();
    assert_says(command, key["access_key_id"].as_str().unwrap());
    assert_says(command, "\"$TIDB_S3_SECRET_ACCESS_KEY\"");
    assert!(!command.contains(secret) && !stderr.contains(secret));
    assert_eq!(
        aws.policy_document(key["policy_arn"].as_str().unwrap())
            .await["Statement"][1]["Action"],
        json!(["s3:ListBucket", "s3:GetBucketLocation"]),
        "an access key's user also reads the bucket's location"
    );
}

/// The template writes several external IDs as one list, and one as a string, as
/// `--method iam` does (created directly, since moto applies parameters only on create).
#[tokio::test]
async fn the_template_trusts_a_list_of_clusters() {
    use aws_sdk_cloudformation::types::{Capability, Parameter};
    let (_, aws) = on_moto().await;
    let bucket = unique("tpl-ids");
    let name = format!("tpl-{bucket}");
    let param = |k: &str, v: &str| {
        Parameter::builder()
            .parameter_key(k)
            .parameter_value(v)
            .build()
    };
    aws.cfn
        .create_stack()
        .stack_name(&name)
        .template_body(serverless_s3_setup::template::TEMPLATE)
        .capabilities(Capability::CapabilityNamedIam)
        .parameters(param("RoleName", &name))
        .parameters(param("PolicyName", &format!("{name}-policy")))
        .parameters(param("TiDBCloudAccountId", TIDB_ACCOUNT))
        .parameters(param("ExternalId", "dev-cluster-id"))
        .parameters(param("MoreExternalIds", "prod-cluster-id,qa-cluster-id"))
        .parameters(param("BucketName", &bucket))
        .send()
        .await
        .unwrap();
    assert_eq!(
        external_ids(&aws.trust(&name).await),
        json!(["dev-cluster-id", "prod-cluster-id", "qa-cluster-id"])
    );
}
