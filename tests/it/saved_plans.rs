//! Saved plans (`--plan-out FILE`, `--plan FILE`), as Terraform has them: a plan is written
//! and nothing changes; applied, it does exactly what it showed; applied again, or after AWS
//! changed under it, it is refused with what changed, and nothing is written. Checked from
//! outside, on moto.

use std::path::{Path, PathBuf};

use crate::common::*;
use serde_json::Value;

fn plan_file(name: &str) -> PathBuf {
    moto::tmp_dir().join(format!("{}.json", unique(name)))
}

fn saved(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// `COMMAND --plan PATH EXTRA… -o json`.
fn apply(endpoint: &str, command: &str, path: &Path, extra: &[&str]) -> Ran {
    let mut args = vec![
        command.to_string(),
        "--plan".into(),
        path.display().to_string(),
    ];
    args.extend(extra.iter().map(|a| a.to_string()));
    run(endpoint, with_json(&args))
}

#[tokio::test]
async fn a_saved_role_plan_changes_nothing_then_applies_exactly_and_converges() {
    let endpoint = moto().url();
    let aws = aws(&endpoint).await;
    let bucket = aws.seeded_bucket("saved").await;
    let role = unique("saved");
    let file = plan_file("role-plan");
    let setup = SetupArgs::role("iam", &format!("s3://{bucket}/data/")).role_name(&role);

    let planned = run(
        &endpoint,
        setup
            .clone()
            .args(&["--plan-out", &file.display().to_string()])
            .json()
            .build(),
    )
    .ok();
    assert_eq!(planned.json["dry_run"], true);
    assert_eq!(
        planned.json["saved"]["plan_file"],
        file.display().to_string()
    );
    assert!(planned.json["saved"]["apply_command"]
        .as_str()
        .unwrap()
        .contains("role --plan"));
    assert!(
        aws.role(&role).await.is_none(),
        "--plan-out changes nothing"
    );

    let file_json = saved(&file);
    assert_eq!(file_json["format"], 1);
    assert_eq!(file_json["command"], "role");
    assert_eq!(file_json["basis"]["role"], "(absent)");
    let actions: Vec<&str> = file_json["plan"]["actions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["create_policy", "create_role", "attach_policy"]);
    // The plan holds what it writes: the trust policy is the one the role gets.
    let planned_trust = file_json["plan"]["actions"][1]["trust"].clone();

    let applied = apply(&endpoint, "role", &file, &[]).ok();
    assert_eq!(applied.json["changed"], true);
    assert!(
        applied.stderr.contains("plan: create role"),
        "{}",
        applied.stderr
    );
    assert_eq!(aws.trust(&role).await, planned_trust);
    let policy = applied.json["policy_arn"].as_str().unwrap().to_string();
    assert_eq!(
        aws.policy_document(&policy).await,
        file_json["plan"]["permissions_policy"]
    );

    // The same command again finds nothing to do.
    run(&endpoint, setup.clone().yes().json().build()).unchanged();

    // The plan was for a role that did not exist: applying it twice is refused, naming why.
    let twice = apply(&endpoint, "role", &file, &[]).fails_with(1, "stale_plan");
    assert!(
        twice.stderr.contains(&format!(
            "role: (absent) → arn:aws:iam::123456789012:role/{role}"
        )),
        "{}",
        twice.stderr
    );
}

#[tokio::test]
async fn a_plan_made_stale_by_a_hand_edit_is_refused_and_changes_nothing() {
    let endpoint = moto().url();
    let aws = aws(&endpoint).await;
    let bucket = aws.seeded_bucket("stale").await;
    let role = unique("stale");
    let setup = SetupArgs::role("iam", &format!("s3://{bucket}/data/")).role_name(&role);
    let made = run(&endpoint, setup.clone().yes().json().build()).ok();
    let policy = made.json["policy_arn"].as_str().unwrap().to_string();
    let before = aws.policy_document(&policy).await;

    // Widen the access in a saved plan; then someone edits the trust by hand.
    let file = plan_file("stale-plan");
    let widen = setup
        .clone()
        .access("both")
        .args(&["--plan-out", &file.display().to_string()]);
    run(&endpoint, widen.json().build()).ok();
    let edited = serde_json::json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
        "Principal": {"AWS": "arn:aws:iam::380838443567:root"}, "Action": "sts:AssumeRole"}]});
    aws.set_trust(&role, &edited).await;

    let refused = apply(&endpoint, "role", &file, &[]).fails_with(1, "stale_plan");
    assert!(
        refused.stderr.contains("role trust policy: document "),
        "{}",
        refused.stderr
    );
    assert!(
        refused.stderr.contains("--plan-out"),
        "the fix: {}",
        refused.stderr
    );
    assert_eq!(
        aws.policy_document(&policy).await,
        before,
        "nothing was written"
    );
    assert_eq!(aws.trust(&role).await, edited);
}

#[tokio::test]
async fn an_edited_plan_or_a_plan_for_another_command_is_refused() {
    let endpoint = moto().url();
    let aws = aws(&endpoint).await;
    let bucket = aws.seeded_bucket("edited").await;
    let role = unique("edited");
    let file = plan_file("edited-plan");
    let setup = SetupArgs::role("iam", &format!("s3://{bucket}/data/"))
        .role_name(&role)
        .args(&["--plan-out", &file.display().to_string()]);
    run(&endpoint, setup.json().build()).ok();

    // A widened policy in the file is not what the request plans: refused, nothing made.
    let mut json = saved(&file);
    json["plan"]["permissions_policy"]["Statement"][0]["Action"] = serde_json::json!("s3:*");
    std::fs::write(&file, json.to_string()).unwrap();
    let widened = apply(&endpoint, "role", &file, &[]).fails_with(1, "stale_plan");
    assert!(
        widened.stderr.contains("permissions_policy"),
        "{}",
        widened.stderr
    );
    assert!(aws.role(&role).await.is_none());

    // A name no flag would take, in the file: bad input, naming --plan.
    let mut json = saved(&file);
    json["setup"]["inputs"]["role_name"] = serde_json::json!("no spaces allowed");
    std::fs::write(&file, json.to_string()).unwrap();
    let bad = apply(&endpoint, "role", &file, &[]).fails_with(2, "invalid_input");
    assert!(bad.stderr.contains("--plan"), "{}", bad.stderr);

    // A role plan is not an access key's.
    run(
        &endpoint,
        SetupArgs::role("iam", &format!("s3://{bucket}/data/"))
            .role_name(&role)
            .args(&["--plan-out", &file.display().to_string()])
            .json()
            .build(),
    )
    .ok();
    let other = apply(&endpoint, "access-key", &file, &[]).fails_with(2, "invalid_input");
    assert!(other.stderr.contains("role --plan"), "{}", other.stderr);
    assert!(aws.role(&role).await.is_none());
}

#[test]
fn a_saved_plan_takes_no_setup_flag_and_no_request_is_sent() {
    let proxy = Proxy::start(moto::free_port());
    let file = plan_file("flags");
    let ran = run(
        &proxy.url(),
        [
            "role",
            "--plan",
            &file.display().to_string(),
            "--uri",
            "s3://bucket/data/",
            "-o",
            "json",
        ]
        .map(String::from),
    )
    .fails_with(2, "invalid_input");
    assert!(
        ran.stderr.contains("--uri: cannot be given with --plan"),
        "{}",
        ran.stderr
    );
    assert!(proxy.seen().is_empty(), "{:?}", proxy.seen());
}

#[tokio::test]
async fn a_saved_access_key_plan_makes_its_key_once() {
    let endpoint = moto().url();
    let aws = aws(&endpoint).await;
    let bucket = aws.seeded_bucket("savedkey").await;
    let user = unique("saved-user");
    let file = plan_file("key-plan");
    let args = |extra: &[&str]| {
        SetupArgs::access_key(&format!("s3://{bucket}/data/"))
            .access("both")
            .user_name(&user)
            .args(extra)
            .build()
    };
    let planned = run(
        &endpoint,
        args(&["--plan-out", &file.display().to_string(), "--probe-write"]),
    )
    .ok();
    assert!(
        aws.iam.get_user().user_name(&user).send().await.is_err(),
        "nothing made"
    );
    // The object the key will write is part of the plan, and of the plan saved.
    assert_says(&planned.stdout, "probe:  the new key lists s3://");
    assert_says(&planned.stdout, "writes a zero-byte object there");
    let saved: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert_eq!(saved["plan"]["probe"], "write", "{saved}");
    // So the run cannot say otherwise.
    let refused = apply(&endpoint, "access-key", &file, &["--no-probe"]);
    let refused = refused.fails_with(2, "invalid_input");
    assert_says(&refused.stderr, "--no-probe: cannot be given with --plan");

    let key_file = moto::tmp_dir().join(unique("key"));
    let applied = apply(
        &endpoint,
        "access-key",
        &file,
        &["--secret-file", &key_file.display().to_string()],
    )
    .ok();
    let id = applied.json["access_key_id"].as_str().unwrap();
    assert!(
        applied.json.get("secret_access_key").is_none(),
        "the secret went to the file"
    );
    assert_eq!(aws.key_ids(&user).await, [id]);
    let wrote = applied.json["probe"]["wrote"].as_str().unwrap_or_default();
    assert!(
        wrote.starts_with(&format!("s3://{bucket}/data/")),
        "{applied:?}"
    );

    // Its basis held the user (and its keys): a second apply would make a second key, and is
    // refused.
    let twice = apply(&endpoint, "access-key", &file, &[]).fails_with(1, "stale_plan");
    assert!(
        twice
            .stderr
            .contains("user: (absent) → arn:aws:iam::123456789012:user/"),
        "{}",
        twice.stderr
    );
    assert_eq!(aws.key_ids(&user).await.len(), 1);
}
