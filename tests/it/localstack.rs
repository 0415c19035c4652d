//! The main flows against LocalStack, a second emulator written apart from moto. Where moto is
//! lax it is closer to AWS: stacks pass through real states with per-resource events, updates
//! apply, and new buckets are "Bucket owner enforced". Role through a stack (create, rerun,
//! update, repair, teardown), role through IAM, access key and verify, each checked from
//! outside through the AWS APIs.

use crate::common::*;
use serde_json::{json, Value};
use serverless_s3_setup::policy;

/// LocalStack's default account.
const ACCOUNT: &str = "000000000000";

fn role_args(method: &str, uri: &str, role: &str, external_id: &str) -> Vec<String> {
    SetupArgs::role(method, uri)
        .role_name(role)
        .external_ids(&[external_id])
        .yes()
        .build()
}

/// `verify` passes every check, with one allowance: LocalStack's policy simulator is a stub
/// (localstack/services/iam/resources/policy_simulator.py: "TODO Implement evaluation logic";
/// it denies unless the action and the exact resource ARN appear as strings in a statement),
/// so it denies the concrete object ARNs that `dir/*` allows. The permissions check then
/// warns about the disagreement; on AWS the simulator evaluates wildcards and agrees.
fn assert_verified(verified: &Ran) {
    let Ran { json: report, .. } = verified;
    assert_eq!(verified.code, 0, "{report}\n{}", verified.stderr);
    for check in report["checks"].as_array().unwrap() {
        let stub = check["name"] == "permissions"
            && check["status"] == "warn"
            && check["finding"]
                .as_str()
                .is_some_and(|d| d.contains("IAM's policy simulator denies"));
        assert!(check["status"] == "pass" || stub, "{check}");
    }
}

/// A new bucket with an object in `dir/` (an empty folder is a warning of `verify`): the
/// bucket and `s3://BUCKET/DIR/`.
async fn with_an_import(aws: &Aws, prefix: &str, dir: &str) -> (String, String) {
    let bucket = aws.new_bucket(prefix).await;
    aws.put_csv(&bucket, &format!("{dir}/part-1.csv"), None)
        .await;
    let uri = format!("s3://{bucket}/{dir}/");
    (bucket, uri)
}

#[tokio::test]
async fn a_stack_through_its_real_states_create_rerun_update_repair_teardown() {
    let (ls, aws) = on_localstack().await;
    let (bucket, uri) = with_an_import(&aws, "ls-stack", "d").await;
    let role = format!("s-{bucket}");
    let arn = format!("arn:aws:iam::{ACCOUNT}:role/{role}");

    let Ran {
        json: made, stderr, ..
    } = run(
        &ls.url(),
        with_json(&role_args("cloudformation", &uri, &role, EXTERNAL_ID)),
    )
    .ok();
    assert_eq!(made["changed"], true);
    assert_eq!(made["role_arn"], arn.as_str());
    assert_eq!(made["stack_region"], "us-east-1");
    // Per-resource events, which moto never sends, reach the progress line.
    assert_says(&stderr, "Role AWS::IAM::Role CREATE_COMPLETE");
    assert!(
        !stderr.contains("object-ownership"),
        "a new bucket is Bucket owner enforced: no note\n{stderr}"
    );
    let stack = aws.stack(&role).await;
    assert_eq!(stack.stack_status().unwrap().as_str(), "CREATE_COMPLETE");
    let trust = aws.trust(&role).await;
    assert_eq!(
        trust["Statement"][0]["Condition"]["StringEquals"]["sts:ExternalId"],
        EXTERNAL_ID
    );
    let policy_name = format!("{role}-policy");
    let permissions = inline_policy(&aws, &role, &policy_name).await;
    assert_eq!(
        permissions["Statement"][0]["Resource"],
        format!("arn:aws:s3:::{bucket}/d/*")
    );
    assert_verified(&verify_role(&ls.url(), &arn, &uri, None, EXTERNAL_ID));

    run(
        &ls.url(),
        with_json(&role_args("cloudformation", &uri, &role, EXTERNAL_ID)),
    )
    .unchanged();

    // A second cluster: the update really applies, so the live role trusts both.
    let Ran {
        json: updated,
        stderr,
        ..
    } = run(
        &ls.url(),
        with_json(&role_args("cloudformation", &uri, &role, "second-cluster")),
    )
    .ok();
    assert_eq!(updated["changed"], true);
    assert_says(&stderr, "UPDATE_COMPLETE");
    let ids =
        &aws.trust(&role).await["Statement"][0]["Condition"]["StringEquals"]["sts:ExternalId"];
    let mut ids: Vec<&str> = ids
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    ids.sort();
    assert_eq!(ids, ["696e6672612d617069-ext", "second-cluster"]);
    let updated_trust = aws.trust(&role).await;

    // By hand: the inline policy widened. The rerun restores it; the stack stays in sync.
    let wide = json!({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]});
    aws.put_role_policy(&role, &policy_name, &wide).await;
    let Ran { json: repaired, .. } = run(
        &ls.url(),
        with_json(&role_args("cloudformation", &uri, &role, "second-cluster")),
    )
    .ok();
    assert!(
        repaired["actions"]
            .to_string()
            .contains(&format!("restore inline policy {policy_name}")),
        "{repaired}"
    );
    assert!(policy::same(
        &inline_policy(&aws, &role, &policy_name).await,
        &permissions
    ));
    assert!(policy::same(&aws.trust(&role).await, &updated_trust));
    run(
        &ls.url(),
        with_json(&role_args("cloudformation", &uri, &role, "second-cluster")),
    )
    .unchanged();

    // By hand: the role deleted. It is made again by name, and the stack holds it again: its
    // next update and its deletion go through.
    aws.delete_stack_role_by_hand(&role).await;
    let Ran { json: remade, .. } = run(
        &ls.url(),
        with_json(&role_args("cloudformation", &uri, &role, "second-cluster")),
    )
    .ok();
    assert_says(
        &remade["actions"].to_string(),
        "deleted outside CloudFormation",
    );
    assert!(policy::same(&aws.trust(&role).await, &updated_trust));
    assert!(policy::same(
        &inline_policy(&aws, &role, &policy_name).await,
        &permissions
    ));
    run(
        &ls.url(),
        with_json(&role_args("cloudformation", &uri, &role, "second-cluster")),
    )
    .unchanged();

    // Teardown: only this deletion's events, and the role is gone, though someone attached a
    // policy to it by hand, which CloudFormation does not know: it is detached first.
    let doc = serde_json::json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
        "Action": "s3:ListAllMyBuckets", "Resource": "*"}]});
    let theirs = aws.create_policy(&format!("theirs-{role}"), &doc).await;
    let attach = aws
        .iam
        .attach_role_policy()
        .role_name(&role)
        .policy_arn(&theirs);
    attach.send().await.unwrap();
    let Ran { stderr, .. } = run(&ls.url(), ["teardown", "--stack-name", &role, "--yes"]).ok();
    assert_says(&stderr, "DELETE_");
    assert!(
        !stderr.contains("CREATE_COMPLETE"),
        "no earlier events: {stderr}"
    );
    assert!(aws.role(&role).await.is_none());
}

/// A stack whose role was deleted by hand: `teardown` plans the stack alone, saying the role is
/// gone, and CloudFormation's delete passes over the missing role, as on AWS. (moto's
/// DeleteStack fails on it with NoSuchEntity, so this runs here.)
#[tokio::test]
async fn a_stack_whose_role_was_deleted_by_hand_is_torn_down_alone() {
    let (ls, aws) = on_localstack().await;
    let (_, uri) = with_an_import(&aws, "ls-orphan", "d").await;
    let role = unique("orphan");
    run(
        &ls.url(),
        role_args("cloudformation", &uri, &role, EXTERNAL_ID),
    )
    .ok();
    aws.delete_stack_role_by_hand(&role).await;

    let teardown = ["teardown", "--stack-name", role.as_str()];
    let Ran { stdout, .. } = run(&ls.url(), [&teardown[..], &["--dry-run"]].concat()).ok();
    assert_says(
        &stdout,
        &format!("delete stack {role} (its role {role} is gone already)"),
    );
    assert!(!stdout.contains("with it"), "{stdout}");
    let Ran { json, .. } = run(&ls.url(), with_json(&[&teardown[..], &["--yes"]].concat())).ok();
    assert_eq!(json["deleted"], json!([format!("stack {role}")]), "{json}");
    assert!(!aws.stack_in(&role, "us-east-1").await);
}

#[tokio::test]
async fn a_role_through_iam_is_made_once_verified_and_removed() {
    let (ls, aws) = on_localstack().await;
    let (bucket, uri) = with_an_import(&aws, "ls-iam", "d").await;
    let role = format!("i-{bucket}");
    let Ran { json: made, .. } = run(
        &ls.url(),
        with_json(&role_args("iam", &uri, &role, EXTERNAL_ID)),
    )
    .ok();
    assert_eq!(made["changed"], true);
    let arn = made["role_arn"].as_str().unwrap().to_string();
    assert_eq!(arn, format!("arn:aws:iam::{ACCOUNT}:role/{role}"));
    assert_eq!(
        aws.attached(&role).await,
        [made["policy_arn"].as_str().unwrap()]
    );
    run(
        &ls.url(),
        with_json(&role_args("iam", &uri, &role, EXTERNAL_ID)),
    )
    .unchanged();
    assert_verified(&verify_role(&ls.url(), &arn, &uri, None, EXTERNAL_ID));

    run(&ls.url(), ["teardown", "--role-name", &role, "--yes"]).ok();
    assert!(aws.role(&role).await.is_none());
}

#[tokio::test]
async fn an_access_key_is_made_verified_and_deleted() {
    let (ls, aws) = on_localstack().await;
    let (_, uri) = with_an_import(&aws, "ls-key", "data").await;
    let args: Vec<String> = ["access-key", "--uri", &uri, "--access", "import", "--yes"]
        .map(str::to_string)
        .to_vec();
    let Ran {
        json: made, stderr, ..
    } = run(&ls.url(), with_json(&args)).ok();
    let user = made["user_name"].as_str().unwrap().to_string();
    let secret = made["secret_access_key"].as_str().unwrap();
    assert!(!stderr.contains(secret), "the secret only on stdout");
    assert_eq!(aws.key_ids(&user).await.len(), 1);

    let verify = ["verify", "--user-name", &user, "--uri", &uri, "-o", "json"];
    assert_verified(&run(&ls.url(), verify));

    run(
        &ls.url(),
        [
            "access-key",
            "delete",
            "--user-name",
            &user,
            "--with-user",
            "--yes",
        ],
    )
    .ok();
    assert!(aws.iam.get_user().user_name(&user).send().await.is_err());
    let policy = format!("arn:aws:iam::{ACCOUNT}:policy/{user}-policy");
    assert!(
        aws.iam
            .get_policy()
            .policy_arn(&policy)
            .send()
            .await
            .is_err(),
        "its policy is gone too"
    );
}

/// Where stack updates really apply: a rerun without the guardrail flags leaves the role's
/// boundary and path, and the stack's tags, as they were (UpdateStack replaces the whole tag list and every
/// parameter it is sent, so the rerun sends what the stack has); `--no-permissions-boundary`
/// and `--remove-tag` take them off the role itself; and an access change updates the same
/// role, whose ARN TiDB Cloud holds.
#[tokio::test]
async fn a_stack_rerun_keeps_the_guardrails_and_an_access_change_keeps_the_role() {
    let (ls, aws) = on_localstack().await;
    let bucket = aws.new_bucket("ls-keep").await;
    let uri = format!("s3://{bucket}/d/");
    let wide = json!({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]});
    let bnd = aws.create_policy(&unique("bnd"), &wide).await;
    let first = SetupArgs::role("cloudformation", &uri)
        .external_ids(&["aaa111"])
        .guardrails(&bnd, &["team=data", "cost=42"])
        .yes()
        .build();
    let Ran { json: made, .. } = run(&ls.url(), with_json(&first)).ok();
    let name = made["role_name"].as_str().unwrap().to_string();
    let role_now = |aws: &Aws, name: String| {
        let iam = aws.iam.clone();
        async move {
            let role = iam.get_role().role_name(&name).send().await.unwrap();
            let role = role.role().unwrap().clone();
            let tags: Vec<(String, String)> = role
                .tags()
                .iter()
                .map(|t| (t.key().to_string(), t.value().to_string()))
                .collect();
            let boundary = role
                .permissions_boundary()
                .and_then(|b| b.permissions_boundary_arn())
                .map(str::to_string);
            (
                role.arn().to_string(),
                role.path().to_string(),
                boundary,
                tags,
            )
        }
    };
    let tagged = |tags: &[(String, String)], k: &str, v: &str| {
        tags.iter().any(|(key, value)| key == k && value == v)
    };
    // CloudFormation passes the stack's tags on to the role on AWS; LocalStack does not, so
    // the stack's own are read.
    let stack_tags = |aws: &Aws, name: String| {
        let cfn = aws.cfn.clone();
        async move {
            let out = cfn
                .describe_stacks()
                .stack_name(&name)
                .send()
                .await
                .unwrap();
            out.stacks()[0]
                .tags()
                .iter()
                .map(|t| (t.key().unwrap().to_string(), t.value().unwrap().to_string()))
                .collect::<Vec<_>>()
        }
    };

    let second = SetupArgs::role("cloudformation", &uri)
        .external_ids(&["bbb222"])
        .yes()
        .build();
    let Ran {
        json: out, stderr, ..
    } = run(&ls.url(), with_json(&second)).ok();
    assert_eq!(out["changed"], true, "{stderr}");
    let (arn, path, boundary, _) = role_now(&aws, name.clone()).await;
    assert_eq!(arn, made["role_arn"].as_str().unwrap());
    assert_eq!(path, "/tidb/");
    assert_eq!(boundary.as_deref(), Some(bnd.as_str()));
    let tags = stack_tags(&aws, name.clone()).await;
    assert!(
        tagged(&tags, "team", "data") && tagged(&tags, "cost", "42"),
        "{tags:?}"
    );
    let ids =
        &aws.trust(&name).await["Statement"][0]["Condition"]["StringEquals"]["sts:ExternalId"];
    assert_eq!(ids.as_array().map(Vec::len), Some(2), "{ids}");

    let off = SetupArgs::role("cloudformation", &uri)
        .external_ids(&["bbb222"])
        .args(&["--no-permissions-boundary", "--remove-tag", "cost"])
        .yes()
        .build();
    let Ran {
        json: _, stderr, ..
    } = run(&ls.url(), with_json(&off)).ok();
    assert_says(&stderr, "takes away permissions boundary");
    assert_says(&stderr, "tag cost: 42");
    let params = aws.stack(&name).await;
    let cleared = params.parameters().iter().any(|p| {
        p.parameter_key() == Some("PermissionsBoundary") && p.parameter_value() == Some("")
    });
    assert!(cleared, "{params:?}");
    // AWS takes the boundary off a role whose template drops it (AWS::IAM::Role,
    // PermissionsBoundary: "Update requires: No interruption"); LocalStack 2026.3 leaves it.
    // The next run sees the live role differ from its template and takes it off through IAM,
    // so either way the role converges.
    let (_, _, boundary, _) = role_now(&aws, name.clone()).await;
    if boundary.is_some() {
        let Ran { json: repaired, .. } = run(&ls.url(), with_json(&off)).ok();
        assert_says(
            &repaired["actions"].to_string(),
            "restore no permissions boundary",
        );
    }
    let (_, _, boundary, _) = role_now(&aws, name.clone()).await;
    assert_eq!(boundary, None);
    // LocalStack's UpdateStack never reads the request's Tags (localstack 2026.3,
    // services/cloudformation/v2/provider.py, `update_stack`), so that the tag comes off is
    // checked on moto (`reruns.rs`), which replaces the list as AWS documents (UpdateStack,
    // `Tags`).
    let tags = stack_tags(&aws, name.clone()).await;
    assert!(tagged(&tags, "team", "data"), "{tags:?}");

    let both = SetupArgs::role("cloudformation", &uri)
        .external_ids(&["bbb222"])
        .access("both")
        .yes()
        .build();
    let Ran {
        json: out, stderr, ..
    } = run(&ls.url(), with_json(&both)).ok();
    assert_eq!(out["role_arn"], made["role_arn"]);
    assert_eq!(out["role_name"], name.as_str());
    assert_says(&stderr, "plan: access: import → both");
    // LocalStack's role handler updates a role only for a new trust, name or managed policies
    // (localstack 2026.3, services/iam/resource_providers/aws_iam_role.py, `update`); AWS
    // updates the inline policy too. The run's read-back says IAM did not show what it
    // wrote, and the next run restores the policy from the template.
    let policy_name = format!("{name}-policy");
    if !inline_policy(&aws, &name, &policy_name)
        .await
        .to_string()
        .contains("s3:PutObject")
    {
        assert_eq!(out["verify"]["read_back"], false, "{out}");
        let Ran { json: repaired, .. } = run(&ls.url(), with_json(&both)).ok();
        assert!(
            repaired["actions"]
                .to_string()
                .contains(&format!("restore inline policy {policy_name}")),
            "{repaired}"
        );
    }
    let inline = inline_policy(&aws, &name, &policy_name).await;
    assert!(inline.to_string().contains("s3:PutObject"), "{inline}");
    let roles = aws.role_names().await;
    assert_eq!(roles.iter().filter(|r| r.contains(&bucket)).count(), 1);
    run(&ls.url(), with_json(&both)).unchanged();
}

/// A stack's saved plan: written with nothing made, applied through CloudFormation's real
/// states exactly as saved (its parameters and tags), then converged; a saved update whose
/// stack was updated since is refused.
#[tokio::test]
async fn a_saved_stack_plan_applies_as_saved_and_goes_stale_when_the_stack_moves() {
    let (ls, aws) = on_localstack().await;
    let bucket = aws.new_bucket("ls-saved").await;
    let role = unique("ls-saved");
    let file = moto::tmp_dir().join(format!("{}.json", unique("ls-plan")));
    let file_arg = file.display().to_string();
    let setup = SetupArgs::role("cloudformation", &format!("s3://{bucket}/d/"))
        .role_name(&role)
        .external_ids(&["aaa111"])
        .args(&["--tag", "team=data"]);
    run(
        &ls.url(),
        setup
            .clone()
            .args(&["--plan-out", &file_arg])
            .json()
            .build(),
    )
    .ok();
    assert!(aws.role(&role).await.is_none(), "--plan-out makes nothing");
    let saved: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    let create = &saved["plan"]["actions"][0];
    assert_eq!(create["action"], "create_stack");
    assert_eq!(
        create["tags"],
        serde_json::json!([{"key": "team", "value": "data"}])
    );

    let applied = run(
        &ls.url(),
        ["role", "--plan", &file_arg, "-o", "json"].map(String::from),
    )
    .ok();
    let stack = applied.json["stack_name"].as_str().unwrap().to_string();
    let described = aws.stack(&stack).await;
    let described = &described;
    assert_eq!(
        described.stack_status().unwrap().as_str(),
        "CREATE_COMPLETE"
    );
    let params: serde_json::Map<String, Value> = described
        .parameters()
        .iter()
        .map(|p| {
            (
                p.parameter_key().unwrap().to_string(),
                Value::from(p.parameter_value().unwrap_or_default()),
            )
        })
        .collect();
    for (key, value) in create["parameters"].as_object().unwrap() {
        assert_eq!(params.get(key), Some(value), "parameter {key}");
    }
    assert!(described
        .tags()
        .iter()
        .any(|t| t.key() == Some("team") && t.value() == Some("data")));
    run(&ls.url(), setup.clone().yes().json().build()).unchanged();

    // An update saved, then the stack moved by another run: refused, the stack as it was.
    run(
        &ls.url(),
        setup
            .clone()
            .external_ids(&["bbb222"])
            .args(&["--plan-out", &file_arg])
            .json()
            .build(),
    )
    .ok();
    run(
        &ls.url(),
        setup.clone().external_ids(&["ccc333"]).yes().json().build(),
    )
    .ok();
    let refused = run(
        &ls.url(),
        ["role", "--plan", &file_arg, "-o", "json"].map(String::from),
    )
    .fails_with(1, "stale_plan");
    assert!(
        refused.stderr.contains("stack parameters: "),
        "{}",
        refused.stderr
    );
    let trust = aws.trust(&role).await.to_string();
    assert_says(&trust, "ccc333");
    assert!(!trust.contains("bbb222"), "{trust}");
}

/// A file of setups with one entry through a stack and one through IAM applies on LocalStack,
/// a rerun is unchanged, `--prune` takes the stack (and its role) away once its entry leaves
/// the file, and `teardown -f` takes the whole set.
#[tokio::test]
async fn a_file_with_a_stack_and_an_iam_role_applies_reruns_and_prunes() {
    let (ls, aws) = on_localstack().await;
    let bucket = aws.new_bucket("ls-set").await;
    let set = unique("ls-set");
    let head = format!("name = {set:?}\ntidb_account_id = \"{TIDB_ACCOUNT}\"\n");
    let stack_entry = format!(
        "\n[[role]]\nuri = \"s3://{bucket}/cfn/\"\naccess = \"import\"\nexternal_ids = [\"{EXTERNAL_ID}\"]\nmethod = \"cloudformation\"\ntags = {{ team = \"data\" }}\n"
    );
    let iam_entry = format!(
        "\n[[role]]\nuri = \"s3://{bucket}/iam/\"\naccess = \"export\"\nexternal_ids = [\"{EXTERNAL_ID}\"]\nmethod = \"iam\"\n"
    );
    // A second stack, whose role will be deleted by hand before it leaves the file.
    let lost_entry = stack_entry.replace("/cfn/", "/lost/");
    let path = moto::tmp_dir().join(format!("{set}.toml"));
    std::fs::write(&path, format!("{head}{stack_entry}{iam_entry}{lost_entry}")).unwrap();
    let file = path.display().to_string();
    let apply = |more: &[&str]| {
        let words = [&["apply", "-f", file.as_str(), "--yes"][..], more].concat();
        run(&ls.url(), with_json(&args(&words))).ok()
    };
    let applied = apply(&[]);
    assert_eq!(applied.json["summary"]["created"], 3, "{}", applied.stderr);
    let stack_role = format!("tidb-role-import-{bucket}-cfn");
    let stack = aws.stack(&stack_role).await;
    let tags = stack.tags();
    assert!(
        tags.iter()
            .any(|t| t.key() == Some("serverless-s3-setup:set") && t.value() == Some(set.as_str())),
        "{tags:?}"
    );
    run(
        &ls.url(),
        args(&["plan", "-f", &file, "--detailed-exit-code"]),
    )
    .ok();
    let again = apply(&[]);
    assert_eq!(again.json["summary"]["unchanged"], 3, "{}", again.stderr);

    // Both stacks leave the file; one's role was deleted by hand, so no role's tags lead to
    // it: the set's stacks are read for it, and it goes too.
    let lost = format!("tidb-role-import-{bucket}-lost");
    aws.delete_stack_role_by_hand(&lost).await;
    std::fs::write(&path, format!("{head}{iam_entry}")).unwrap();
    let Ran { stdout, .. } = run(&ls.url(), args(&["plan", "-f", &file, "--prune"])).ok();
    assert_says(
        &stdout,
        &format!("stack {lost} (its role {lost} is gone already)"),
    );
    let pruned = apply(&["--prune"]);
    assert_eq!(pruned.json["summary"]["deleted"], 2, "{}", pruned.stderr);
    let by_stack = |name: &str| {
        let all = pruned.json["pruned"].as_array().unwrap();
        all.iter().find(|p| p["stack_name"] == name).cloned()
    };
    assert_eq!(by_stack(&stack_role).unwrap()["role_gone"], Value::Null);
    assert_eq!(by_stack(&lost).unwrap()["role_gone"], true);
    assert_says(
        &pruned.stderr,
        &format!("not in the file: stack {stack_role} and its role {stack_role}: deleted"),
    );
    assert_says(
        &pruned.stderr,
        &format!("not in the file: stack {lost} (its role {lost} was gone already): deleted"),
    );
    assert!(aws.role(&stack_role).await.is_none());
    assert!(!aws.stack_in(&lost, "us-east-1").await);
    let iam_role = format!("tidb-role-export-{bucket}-iam");
    assert!(aws.role(&iam_role).await.is_some());

    // `teardown -f` takes the whole set: both stacks made again, one of them then without its
    // role, and the IAM role.
    std::fs::write(&path, format!("{head}{iam_entry}{stack_entry}{lost_entry}")).unwrap();
    assert_eq!(apply(&[]).json["summary"]["created"], 2);
    aws.delete_stack_role_by_hand(&lost).await;
    let torn = run(
        &ls.url(),
        with_json(&args(&["teardown", "-f", &file, "--yes"])),
    )
    .ok();
    assert_eq!(torn.json["failed"], 0, "{}", torn.stderr);
    assert_eq!(
        torn.json["deleted"].as_array().unwrap().len(),
        3,
        "{}",
        torn.stdout
    );
    assert!(aws.role(&iam_role).await.is_none());
    assert!(aws.role(&stack_role).await.is_none());
    for stack in [&stack_role, &lost] {
        assert!(!aws.stack_in(stack, "us-east-1").await, "{stack}");
    }
}

fn args(words: &[&str]) -> Vec<String> {
    words.iter().map(|w| w.to_string()).collect()
}
