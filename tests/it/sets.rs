//! Many setups from one file (`plan -f`, `apply -f`) against moto: applied, rerun unchanged,
//! drift found and repaired, the set pruned and nothing outside it touched, bad files refused
//! before any request, and one entry's fault kept to that entry.

use std::path::PathBuf;

use serde_json::Value;

use crate::common::proxy::{Fault, Match, Proxy};
use crate::common::*;

const TIDB: &str = "380838443567";

/// A file of setups in the test's temporary directory.
fn file(name: &str, text: &str) -> PathBuf {
    let path = moto::tmp_dir().join(format!("{}.toml", unique(name)));
    std::fs::write(&path, text).unwrap();
    path
}

/// One `[[role]]` table: its URI, access, external IDs and extra lines.
type Entry<'a> = (String, &'a str, &'a [&'a str], &'a str);

/// `[[role]]` tables, one per entry.
fn roles(entries: &[Entry]) -> String {
    entries
        .iter()
        .map(|(uri, access, ids, extra)| {
            let ids: Vec<String> = ids.iter().map(|i| format!("{i:?}")).collect();
            format!(
                "\n[[role]]\nuri = {uri:?}\naccess = {access:?}\nexternal_ids = [{}]\n{extra}",
                ids.join(", ")
            )
        })
        .collect()
}

fn set_file(set: &str, body: &str) -> String {
    format!("name = {set:?}\ntidb_account_id = \"{TIDB}\"\nmethod = \"iam\"\n{body}")
}

/// A file of its own set with `n` roles, one per directory `d0/`, `d1/`, … of `bucket`, each
/// with `access` for cluster `c-1`.
fn directories_file(name: &str, bucket: &str, n: usize, access: &str) -> PathBuf {
    let entries: Vec<Entry> = (0..n)
        .map(|i| (format!("s3://{bucket}/d{i}/"), access, &["c-1"][..], ""))
        .collect();
    file(name, &set_file(&unique(name), &roles(&entries)))
}

fn set(endpoint: &str, args: &[&str], path: &std::path::Path) -> Ran {
    let mut all: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    all.extend(["-f".into(), path.display().to_string()]);
    run(endpoint, &all)
}

/// The roles of the shared moto that a test made: those named after its bucket, and `others`.
/// Tests that run beside it make and delete their own.
async fn roles_of(aws: &Aws, bucket: &str, others: &[&str]) -> Vec<String> {
    let mut names = aws.role_names().await;
    names.retain(|r| r.contains(bucket) || others.contains(&r.as_str()));
    names
}

async fn tag(aws: &Aws, role: &str, key: &str) -> Option<String> {
    let tags = aws
        .iam
        .list_role_tags()
        .role_name(role)
        .send()
        .await
        .unwrap();
    tags.tags()
        .iter()
        .find(|t| t.key() == key)
        .map(|t| t.value().to_string())
}

fn external_ids(trust: &Value) -> Vec<String> {
    let ids = &trust["Statement"][0]["Condition"]["StringEquals"]["sts:ExternalId"];
    match ids {
        Value::Array(ids) => ids
            .iter()
            .map(|i| i.as_str().unwrap().to_string())
            .collect(),
        Value::String(id) => vec![id.clone()],
        _ => Vec::new(),
    }
}

/// By hand: the role's trust names only the cluster `id`.
async fn trust_only(aws: &Aws, role: &str, id: &str) {
    let mut trust = aws.trust(role).await;
    trust["Statement"][0]["Condition"]["StringEquals"]["sts:ExternalId"] = id.into();
    aws.set_trust(role, &trust).await;
}

/// By hand: `statement` added to the role's managed policy, as its default version. Returns
/// the policy's ARN.
async fn widen(aws: &Aws, role: &str, statement: Value) -> String {
    let policy = aws.attached(role).await[0].clone();
    let mut doc = aws.policy_document(&policy).await;
    doc["Statement"].as_array_mut().unwrap().push(statement);
    aws.iam
        .create_policy_version()
        .policy_arn(&policy)
        .policy_document(doc.to_string())
        .set_as_default(true)
        .send()
        .await
        .unwrap();
    policy
}

/// Twenty roles from one file: each made, trusted and tagged as its entry says; a rerun
/// changes nothing, and `plan --detailed-exit-code` exits 0.
#[tokio::test]
async fn a_file_of_twenty_roles_applies_and_a_rerun_is_unchanged() {
    let Scene { moto, aws, bucket } = scene("sets20").await;
    let set_name = unique("twenty");
    let entries: Vec<Entry> = (0..20)
        .map(|i| {
            let access = if i % 2 == 0 { "import" } else { "export" };
            let ids: &[&str] = if i % 3 == 0 {
                &["cluster-dev", "cluster-prod"]
            } else {
                &["cluster-prod"]
            };
            (format!("s3://{bucket}/dir{i}/"), access, ids, "")
        })
        .collect();
    let path = file("twenty", &set_file(&set_name, &roles(&entries)));
    let applied = set(&moto.url(), &["apply", "--yes", "-o", "json"], &path).ok();
    assert_eq!(applied.json["summary"]["created"], 20, "{}", applied.stdout);
    for (i, (uri, access, ids, _)) in entries.iter().enumerate() {
        let entry = &applied.json["entries"][i];
        assert_eq!(entry["entry"], format!("role[{}]", i + 1));
        assert_eq!(entry["status"], "created");
        let name = entry["role_name"].as_str().unwrap();
        let trust = aws.trust(name).await;
        assert_eq!(external_ids(&trust), *ids, "{uri}");
        assert_eq!(
            trust["Statement"][0]["Principal"]["AWS"],
            format!("arn:aws:iam::{TIDB}:root")
        );
        assert_eq!(
            tag(&aws, name, "serverless-s3-setup:set").await.as_deref(),
            Some(set_name.as_str())
        );
        assert_eq!(
            tag(&aws, name, "serverless-s3-setup:access")
                .await
                .as_deref(),
            Some(*access)
        );
    }
    let plan = set(&moto.url(), &["plan", "--detailed-exit-code"], &path).ok();
    assert!(
        plan.stdout
            .contains("Plan: 0 to create, 0 to update, 20 unchanged."),
        "{}",
        plan.stdout
    );
    let again = set(&moto.url(), &["apply", "--yes", "-o", "json"], &path).ok();
    assert_eq!(again.json["summary"]["unchanged"], 20, "{}", again.stdout);
    assert!(
        again.stderr.contains("nothing to change"),
        "{}",
        again.stderr
    );
}

/// A role edited by hand (a cluster taken off its trust, its policy widened) makes `plan`
/// exit 3 and show both edits; `apply` puts back what the file says, and `plan` exits 0.
#[tokio::test]
async fn a_hand_edit_is_drift_that_plan_shows_and_apply_repairs() {
    let Scene { moto, aws, bucket } = scene("setsdrift").await;
    let entries: Vec<Entry> = vec![
        (
            format!("s3://{bucket}/in/"),
            "import",
            &["c-dev1", "c-prod1"],
            "",
        ),
        (format!("s3://{bucket}/out/"), "export", &["c-prod1"], ""),
    ];
    let path = file("drift", &set_file(&unique("drift"), &roles(&entries)));
    let applied = set(&moto.url(), &["apply", "--yes", "-o", "json"], &path).ok();
    let importer = applied.json["entries"][0]["role_name"]
        .as_str()
        .unwrap()
        .to_string();
    let exporter = applied.json["entries"][1]["role_name"]
        .as_str()
        .unwrap()
        .to_string();
    // By hand: the dev cluster off the trust, and s3:* on everything.
    trust_only(&aws, &importer, "c-prod1").await;
    let policy = widen(
        &aws,
        &exporter,
        serde_json::json!({"Effect": "Allow", "Action": "s3:*", "Resource": "*"}),
    )
    .await;
    let plan = set(&moto.url(), &["plan", "--detailed-exit-code"], &path);
    assert_eq!(plan.code, 3, "{}\n{}", plan.stdout, plan.stderr);
    for shown in [
        "Plan: 0 to create, 2 to update, 0 unchanged.",
        "trust: the cluster with external ID c-dev1 is added",
        "+             \"c-dev1\"",
        "-       \"Action\": \"s3:*\",",
    ] {
        assert!(plan.stdout.contains(shown), "{shown}:\n{}", plan.stdout);
    }
    set(&moto.url(), &["apply", "--yes"], &path).ok();
    assert_eq!(
        external_ids(&aws.trust(&importer).await),
        ["c-dev1", "c-prod1"]
    );
    let doc = aws.policy_document(&policy).await;
    assert!(!doc.to_string().contains("\"s3:*\""), "{doc}");
    set(&moto.url(), &["plan", "--detailed-exit-code"], &path).ok();
}

/// An entry taken out of the file is listed as not in it, and deleted only with `--prune`;
/// a role of another set, one made by `role`, and one made by hand are never touched.
#[tokio::test]
async fn prune_deletes_only_what_the_set_no_longer_lists() {
    let Scene { moto, aws, bucket } = scene("setsprune").await;
    let (ours, theirs) = (unique("ours"), unique("theirs"));
    let two: Vec<Entry> = vec![
        (format!("s3://{bucket}/keep/"), "import", &["c-keep"], ""),
        (format!("s3://{bucket}/gone/"), "import", &["c-gone"], ""),
    ];
    let path = file("prune", &set_file(&ours, &roles(&two)));
    set(&moto.url(), &["apply", "--yes"], &path).ok();
    let other: Vec<Entry> = vec![(format!("s3://{bucket}/other/"), "import", &["c-other"], "")];
    let other_path = file("prune-other", &set_file(&theirs, &roles(&other)));
    set(&moto.url(), &["apply", "--yes"], &other_path).ok();
    let single = format!("s3://{bucket}/single/");
    let single_role = unique("single");
    run(
        &moto.url(),
        SetupArgs::role("iam", &single)
            .role_name(&single_role)
            .yes()
            .build(),
    )
    .ok();
    let by_hand = unique("byhand");
    aws.iam
        .create_role()
        .role_name(&by_hand)
        .assume_role_policy_document(
            aws.trust(&format!("tidb-role-import-{bucket}-keep"))
                .await
                .to_string(),
        )
        .description(format!(
            "Lets TiDB Cloud import s3://{bucket}/x/ (serverless-s3-setup)"
        ))
        .send()
        .await
        .unwrap();
    let mine = [by_hand.as_str(), single_role.as_str()];
    let before = roles_of(&aws, &bucket, &mine).await;
    // The second entry leaves the file.
    std::fs::write(&path, set_file(&ours, &roles(&two[..1]))).unwrap();
    let gone = format!("tidb-role-import-{bucket}-gone");
    let plan = set(&moto.url(), &["plan", "--detailed-exit-code"], &path).ok();
    assert!(
        plan.stdout.contains(&format!(
            "Not in the file, of the set {ours} (left in place; apply --prune deletes them):\n    role {gone}"
        )),
        "{}",
        plan.stdout
    );
    let pruning = set(
        &moto.url(),
        &["plan", "--prune", "--detailed-exit-code"],
        &path,
    );
    assert_eq!(pruning.code, 3, "{}", pruning.stdout);
    assert!(pruning.stdout.contains("1 to delete"), "{}", pruning.stdout);
    let kept = set(&moto.url(), &["apply", "--yes"], &path).ok();
    assert!(kept.stderr.contains("not in the file"), "{}", kept.stderr);
    assert!(aws.role(&gone).await.is_some(), "no --prune, no deletion");
    let pruned = set(
        &moto.url(),
        &["apply", "--yes", "--prune", "-o", "json"],
        &path,
    )
    .ok();
    assert_eq!(pruned.json["summary"]["deleted"], 1, "{}", pruned.stdout);
    assert!(aws.role(&gone).await.is_none());
    let after = roles_of(&aws, &bucket, &mine).await;
    let missing: Vec<&String> = before.iter().filter(|r| !after.contains(r)).collect();
    assert_eq!(missing, [&gone], "only the set's role that left the file");
    assert!(aws.role(&by_hand).await.is_some());
    assert!(aws
        .policies_naming(&format!("{gone}-policy"))
        .await
        .is_empty());
}

/// `teardown -f` deletes every role of the file's set, stacks and all: those the file lists
/// and one that left it. Nothing else: not another set's role, nor one made by `role` that the
/// file lists but has not applied yet.
#[tokio::test]
async fn teardown_of_a_file_deletes_its_whole_set_and_nothing_else() {
    // Its own moto: the requests it counts list the account's stacks, in pages, and other
    // tests' stacks would add pages.
    let moto = Moto::start(&[]);
    let aws = aws(&moto.url()).await;
    let bucket = aws.new_bucket("setsdown").await;
    let url = moto.url();
    let cfn = "method = \"cloudformation\"\n";
    let four: Vec<Entry> = vec![
        (format!("s3://{bucket}/a/"), "import", &["c-1"], ""),
        (format!("s3://{bucket}/b/"), "export", &["c-1"], cfn),
        (format!("s3://{bucket}/c/"), "export", &["c-1"], cfn),
        (format!("s3://{bucket}/left/"), "import", &["c-1"], ""),
    ];
    let ours = unique("down");
    let path = file("down", &set_file(&ours, &roles(&four)));
    set(&url, &["apply", "--yes"], &path).ok();
    let other: Vec<Entry> = vec![(format!("s3://{bucket}/other/"), "import", &["c-2"], "")];
    let other_path = file("down-other", &set_file(&unique("other"), &roles(&other)));
    set(&url, &["apply", "--yes"], &other_path).ok();
    let single = unique("single");
    let uri = format!("s3://{bucket}/single/");
    run(
        &url,
        SetupArgs::role("iam", &uri)
            .role_name(&single)
            .yes()
            .build(),
    )
    .ok();
    // The last entry leaves the file; the single role joins it, not applied yet.
    let named = format!("role_name = {single:?}\n");
    let mut now = four[..3].to_vec();
    now.push((uri, "import", &["c-1"], &named));
    std::fs::write(&path, set_file(&ours, &roles(&now))).unwrap();
    let before = roles_of(&aws, &bucket, &[&single]).await;
    let role = |dir: &str, access: &str| format!("tidb-role-{access}-{bucket}-{dir}");
    let mut set_roles = [
        role("a", "import"),
        role("b", "export"),
        role("c", "export"),
        role("left", "import"),
    ];
    set_roles.sort_unstable();

    // `list` says which roles are the set's: a stack's by the stack's tag.
    let Ran { json: listed, .. } = run(&url, ["list", "-o", "json"]).ok();
    let mut of_set: Vec<&str> = listed["made"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["set"] == ours.as_str())
        .map(|m| {
            m["role_name"]
                .as_str()
                .or_else(|| m["name"].as_str())
                .unwrap()
        })
        .collect();
    of_set.sort_unstable();
    assert_eq!(of_set, set_roles, "{listed}");

    let unasked = set(&url, &["teardown", "-o", "json"], &path).fails_with(2, "missing_input");
    assert!(unasked.stderr.contains("--yes"), "{}", unasked.stderr);
    // The stacks of the region are listed once, and none is described again for its set.
    let proxy = Proxy::start(moto.port);
    let dry = ["teardown", "--dry-run", "-o", "json"];
    let Ran { json: planned, .. } = set(&proxy.url(), &dry, &path).ok();
    let described = proxy.count("DescribeStacks");
    assert_eq!(described, 1, "{:?}", proxy.seen());
    let mut members: Vec<&str> = planned["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["role_name"].as_str().unwrap())
        .collect();
    members.sort_unstable();
    assert_eq!(members, set_roles, "{planned}");
    assert_eq!(planned["deleted"], serde_json::json!([]));
    let now = roles_of(&aws, &bucket, &[&single]).await;
    assert_eq!(now, before, "a dry run deletes nothing");
    // By the set's name, when its file is gone: the same roles.
    let by_name = ["teardown", "--set", &ours, "--dry-run", "-o", "json"];
    let Ran { json: named, .. } = run(&url, by_name).ok();
    assert_eq!(named["members"], planned["members"], "{named}");
    assert_eq!(named["file"], Value::Null);
    let bad = run(&url, ["teardown", "--set", "a!", "-o", "json"]).fails_with(2, "invalid_input");
    assert!(bad.stderr.contains("--set: "), "{}", bad.stderr);

    // One role's failure stops no other, and exits 1; the same teardown again finishes. The
    // stacks are deleted together, then the roles made with IAM.
    let proxy = Proxy::with_latency(moto.port, 30);
    let kept = format!("RoleName={}", role("a", "import"));
    proxy.fail(
        Match::ActionWithout("DeleteRole".into(), kept),
        Fault::Denied,
        10,
    );
    let torn = set(&proxy.url(), &["teardown", "--yes"], &path).exits(1);
    let left = role("left", "import");
    assert!(
        torn.stdout.contains(&format!("failed: role {left}: ")),
        "{}",
        torn.stdout
    );
    assert!(torn
        .stdout
        .contains(&format!("deleted role {}", role("a", "import"))));
    assert!(
        torn.stderr.contains("3 roles deleted, 1 failed"),
        "{}",
        torn.stderr
    );
    let rounds = proxy.rounds();
    let round = |action: &str| -> Vec<usize> {
        let of = rounds.iter().filter(|(_, a)| a == action);
        of.map(|(r, _)| *r).collect()
    };
    let (stacks, roles) = (round("DeleteStack"), round("DeleteRole"));
    assert_eq!(stacks.len(), 2, "{rounds:?}");
    assert_eq!(stacks[0], stacks[1], "the stacks together: {rounds:?}");
    assert!(roles.iter().all(|r| *r > stacks[0]), "{rounds:?}");
    let Ran { json: torn, .. } = set(&url, &["teardown", "--yes", "-o", "json"], &path).ok();
    assert_eq!(torn["deleted"][0]["role_name"], left.as_str(), "{torn}");
    assert_eq!(torn["failed"], 0, "{torn}");
    let after = roles_of(&aws, &bucket, &[&single]).await;
    let gone: Vec<&String> = before.iter().filter(|r| !after.contains(r)).collect();
    assert_eq!(gone.len(), 4, "only the set's roles: {gone:?}");
    assert!(set_roles.iter().all(|r| !after.contains(r)), "{after:?}");
    for stack in [role("b", "export"), role("c", "export")] {
        assert!(!aws.stack_in(&stack, "us-east-1").await, "{stack}");
    }
    for left in [role("a", "import"), role("left", "import")] {
        assert!(aws
            .policies_naming(&format!("{left}-policy"))
            .await
            .is_empty());
    }
    assert!(after.contains(&single) && after.contains(&role("other", "import")));

    let again = set(&url, &["teardown", "--yes"], &path).ok();
    assert_eq!(again.stdout, "");
    assert!(again
        .stderr
        .contains(&format!("nothing to delete: no role of set {ours}")));
    for words in [
        &["teardown", "-f", "x.toml", "--role-name", "r"][..],
        &["teardown", "-f", "x.toml", "--set", "s"],
        &["teardown", "--set", "s", "--stack-name", "r"],
        &["teardown", "--role-name", "r", "--parallel", "2"],
    ] {
        let both = run(&url, words);
        assert_eq!(both.code, 2, "{words:?}: {}", both.stderr);
    }
}

/// A role of another set is not taken over: that entry fails with the reason and exit 1,
/// the others apply.
#[tokio::test]
async fn a_role_of_another_set_is_never_taken_over() {
    let Scene { moto, aws, bucket } = scene("setsother").await;
    let shared: Vec<Entry> = vec![(format!("s3://{bucket}/shared/"), "import", &["c-1"], "")];
    let theirs = file("theirs", &set_file(&unique("theirs"), &roles(&shared)));
    set(&moto.url(), &["apply", "--yes"], &theirs).ok();
    let mine: Vec<Entry> = vec![
        (format!("s3://{bucket}/shared/"), "import", &["c-2"], ""),
        (format!("s3://{bucket}/mine/"), "import", &["c-2"], ""),
    ];
    let path = file("mine", &set_file(&unique("mine"), &roles(&mine)));
    let plan = set(&moto.url(), &["plan"], &path);
    assert_eq!(plan.code, 1, "{}", plan.stdout);
    assert!(
        plan.stdout.contains("belongs to the set"),
        "{}",
        plan.stdout
    );
    let applied = set(&moto.url(), &["apply", "--yes", "-o", "json"], &path);
    assert_eq!(applied.code, 1, "{}", applied.stderr);
    assert_eq!(applied.json["entries"][0]["status"], "failed");
    assert_eq!(applied.json["entries"][1]["status"], "created");
    let shared_role = format!("tidb-role-import-{bucket}-shared");
    assert_eq!(external_ids(&aws.trust(&shared_role).await), ["c-1"]);
}

/// A bad file exits 2, naming the file, the line, the entry and the field, before any request.
#[tokio::test]
async fn a_bad_file_exits_2_naming_the_entry_before_any_request() {
    let moto = moto();
    let proxy = Proxy::start(moto.port);
    let good = |i: usize| (format!("s3://bkt/d{i}/"), "import", &["c-1"][..], "");
    let cases = [
        (
            roles(&[
                good(1),
                (
                    "s3://bkt/d2/".to_string(),
                    "import",
                    &["c-1"],
                    "colour = \"red\"\n",
                ),
            ]),
            "role[2].colour: is not a field here",
        ),
        (
            roles(&[
                good(1),
                good(2),
                ("bkt/d3/".to_string(), "import", &["c-1"], ""),
            ]),
            "role[3].uri: must look like s3://bucket/dir/",
        ),
        (
            roles(&[
                good(1),
                ("s3://bkt/d1/".to_string(), "export", &["c-1"], ""),
            ]),
            "role[2].uri: serves the same location as role[1]",
        ),
        (
            roles(&[
                good(1),
                (
                    "s3://bkt/d2/".to_string(),
                    "import",
                    &["c-1"],
                    "role_name = \"tidb-role-import-bkt-d1\"\n",
                ),
            ]),
            "role[2].role_name: makes the same role as role[1]",
        ),
    ];
    for (body, said) in cases {
        let path = file("bad", &set_file("bad", &body));
        for command in ["plan", "apply"] {
            let out = set(&proxy.url(), &[command, "--yes"], &path);
            assert_eq!(out.code, 2, "{command}: {}", out.stderr);
            assert!(
                out.stderr.contains(said),
                "{command}: {said}: {}",
                out.stderr
            );
            assert!(
                out.stderr.contains(&format!("{}:", path.display())),
                "{}",
                out.stderr
            );
        }
    }
    assert_eq!(
        proxy.seen(),
        Vec::<String>::new(),
        "no request for a bad file"
    );
}

/// A fault in one entry leaves the others applied and that entry undone, and exits 1.
#[tokio::test]
async fn one_entrys_fault_is_undone_and_the_others_apply() {
    let Scene { moto, aws, bucket } = scene("setsfault").await;
    let proxy = Proxy::start(moto.port);
    let entries: Vec<Entry> = vec![
        (format!("s3://{bucket}/a/"), "import", &["c-1"], ""),
        (format!("s3://{bucket}/b/"), "import", &["c-1"], ""),
    ];
    let (a, b) = (
        format!("tidb-role-import-{bucket}-a"),
        format!("tidb-role-import-{bucket}-b"),
    );
    // Every attachment but a's fails: b's role and policy are made, then undone.
    proxy.fail(
        Match::ActionWithout("AttachRolePolicy".into(), format!("RoleName={a}")),
        Fault::Denied,
        10,
    );
    let path = file("fault", &set_file(&unique("fault"), &roles(&entries)));
    let out = set(&proxy.url(), &["apply", "--yes", "-o", "json"], &path);
    assert_eq!(out.code, 1, "{}\n{}", out.stdout, out.stderr);
    assert_eq!(out.json["entries"][0]["status"], "created");
    assert_eq!(out.json["entries"][1]["status"], "failed");
    assert!(aws.role(&a).await.is_some());
    assert!(aws.role(&b).await.is_none(), "b's role was undone");
    assert!(aws.policies_naming(&format!("{b}-policy")).await.is_empty());
}

/// A file's setups are planned from the account as one read found it: a rerun asks IAM for
/// no role, policy list or policy version, entry by entry. A caller who may not read the
/// whole account gets the same plan from reads role by role.
#[tokio::test]
async fn a_rerun_is_planned_from_one_read_of_the_account() {
    let Scene { moto, bucket, .. } = scene("setsaccount").await;
    let proxy = Proxy::start(moto.port);
    let path = directories_file("account", &bucket, 3, "export");
    set(&moto.url(), &["apply", "--yes"], &path).ok();
    let per_role = [
        "GetRole",
        "ListAttachedRolePolicies",
        "ListRolePolicies",
        "GetPolicyVersion",
    ];
    let count = |seen: &[String], action: &str| seen.iter().filter(|a| *a == action).count();

    let plan = set(&proxy.url(), &["plan", "--detailed-exit-code"], &path).ok();
    assert!(plan.stdout.contains("3 unchanged"), "{}", plan.stdout);
    let seen = proxy.seen();
    assert_eq!(
        count(&seen, "GetAccountAuthorizationDetails"),
        1,
        "{seen:?}"
    );
    for action in per_role {
        assert_eq!(count(&seen, action), 0, "{action}: {seen:?}");
    }
    // Tags are not in the account's read: each existing policy is read for them.
    assert_eq!(count(&seen, "GetPolicy"), 3, "{seen:?}");

    proxy.fail(
        Match::Action("GetAccountAuthorizationDetails".into()),
        Fault::Denied,
        1,
    );
    let before = proxy.seen().len();
    let plan = set(&proxy.url(), &["plan", "--detailed-exit-code"], &path).ok();
    assert!(plan.stdout.contains("3 unchanged"), "{}", plan.stdout);
    let seen = proxy.seen()[before..].to_vec();
    // Each entry's role, read whole (other tests' roles of this tool are read too, for their
    // set: GetRole only).
    for action in per_role {
        assert_eq!(count(&seen, action).min(3), 3, "{action}: {seen:?}");
    }
    for action in &per_role[1..] {
        assert_eq!(count(&seen, action), 3, "{action}: {seen:?}");
    }
}

/// What `apply -f` made is read back and checked for every entry, as a single setup checks
/// its own: from one read of the account after the writes, not a read-back per role; and role
/// by role when the account may not be read.
#[tokio::test]
async fn an_apply_checks_what_it_made_on_one_read_of_the_account() {
    let Scene { moto, aws, bucket } = scene("setsreadback").await;
    let proxy = Proxy::start(moto.port);
    let path = directories_file("readback", &bucket, 3, "export");
    let out = set(&proxy.url(), &["apply", "--yes", "-o", "json"], &path).ok();
    for i in 0..3 {
        let entry = &out.json["entries"][i];
        assert_eq!(entry["status"], "created", "{}", out.stdout);
        assert_eq!(entry["checks"]["ok"], true, "{}", out.stdout);
        assert_eq!(entry["checks"]["read_back"], true, "{}", out.stdout);
    }
    let seen = proxy.seen();
    let last_write = seen.iter().rposition(|a| a == "AttachRolePolicy").unwrap();
    assert_eq!(
        seen[last_write + 1..],
        ["GetAccountAuthorizationDetails".to_string()],
        "{seen:?}"
    );

    // Another file, the account's read refused: each role is read back on its own.
    let bucket = aws.new_bucket("setsreadback").await;
    let path = directories_file("readback", &bucket, 2, "export");
    proxy.fail(
        Match::Action("GetAccountAuthorizationDetails".into()),
        Fault::Denied,
        2,
    );
    let before = proxy.seen().len();
    let out = set(&proxy.url(), &["apply", "--yes"], &path).ok();
    assert!(
        out.stderr.contains("2 read back from AWS and verified"),
        "{}",
        out.stderr
    );
    let seen = proxy.seen()[before..].to_vec();
    let last_write = seen.iter().rposition(|a| a == "AttachRolePolicy").unwrap();
    let reads = &seen[last_write..];
    for action in ["GetRole", "ListAttachedRolePolicies", "GetPolicyVersion"] {
        assert!(reads.iter().any(|a| a == action), "{action}: {seen:?}");
    }
}

/// An entry whose checks fail after it is applied says so, naming the entry and the check,
/// as a single setup would: here the bucket policy denies everyone the import's reads.
#[tokio::test]
async fn an_entry_whose_checks_fail_is_warned() {
    let Scene { moto, aws, bucket } = scene("setsdenied").await;
    let deny = serde_json::json!({"Version": "2012-10-17", "Statement": [{
        "Effect": "Deny", "Principal": "*", "Action": "s3:GetObject",
        "Resource": format!("arn:aws:s3:::{bucket}/*")}]});
    aws.put_bucket_policy(&bucket, &deny).await;
    let entries: Vec<Entry> = vec![(format!("s3://{bucket}/d/"), "import", &["c-1"], "")];
    let path = file("denied", &set_file(&unique("denied"), &roles(&entries)));
    let out = set(&moto.url(), &["apply", "--yes"], &path).ok();
    let role = format!("tidb-role-import-{bucket}-d");
    assert!(
        out.stderr.contains(&format!("role[1] role {role}: "))
            && out.stderr.contains("checks failed: bucket-policy")
            && out.stderr.contains("verify -f"),
        "{}",
        out.stderr
    );
    assert!(
        !out.stderr.contains("read back from AWS and verified"),
        "{}",
        out.stderr
    );
    let json = set(&moto.url(), &["apply", "--yes", "-o", "json"], &path).ok();
    assert_eq!(
        json.json["entries"][0]["status"], "unchanged",
        "{}",
        json.stdout
    );
}

/// `plan -o json` is the plan as data: each entry's status, changes and whole role plan.
#[tokio::test]
async fn plan_as_json_holds_every_entrys_plan() {
    let Scene { moto, aws, bucket } = scene("setsjson").await;
    let entries: Vec<Entry> = vec![(format!("s3://{bucket}/in/"), "import", &["c-1", "c-2"], "")];
    let set_name = unique("json");
    let path = file("json", &set_file(&set_name, &roles(&entries)));
    let plan = set(&moto.url(), &["plan", "-o", "json"], &path).ok();
    let json = &plan.json;
    assert_eq!(json["set"], set_name.as_str());
    assert_eq!(json["summary"]["create"], 1);
    let entry = &json["entries"][0];
    assert_eq!(entry["status"], "create");
    assert_eq!(
        entry["plan"]["external_ids"],
        serde_json::json!(["c-1", "c-2"])
    );
    assert!(entry["changes"]
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c.as_str().unwrap().starts_with("create role ")));
    assert!(
        aws.role(&format!("tidb-role-import-{bucket}-in"))
            .await
            .is_none(),
        "plan changes nothing"
    );
}

/// `verify -f` judges every entry's role in one table: all pass after `apply`; a trust
/// edited by hand fails that entry's check, and the run exits 1.
#[tokio::test]
async fn verify_judges_every_entry_in_one_table() {
    let Scene { moto, aws, bucket } = scene("setsverify").await;
    let entries: Vec<Entry> = vec![
        (format!("s3://{bucket}/in/"), "import", &["c-1"], ""),
        (format!("s3://{bucket}/out/"), "export", &["c-1"], ""),
    ];
    let path = file("verify", &set_file(&unique("verify"), &roles(&entries)));
    let before = set(&moto.url(), &["verify"], &path);
    assert_eq!(before.code, 1, "nothing made yet: {}", before.stdout);
    assert!(before
        .stdout
        .contains("does not exist: `apply -f` makes it"));
    set(&moto.url(), &["apply", "--yes"], &path).ok();
    let verified = set(&moto.url(), &["verify", "-o", "json"], &path).ok();
    assert_eq!(verified.json["ok"], true, "{}", verified.stdout);
    // By hand: the trust now names another cluster.
    let importer = format!("tidb-role-import-{bucket}-in");
    trust_only(&aws, &importer, "c-other").await;
    let edited = set(&moto.url(), &["verify"], &path);
    assert_eq!(edited.code, 1, "{}", edited.stdout);
    let row = |entry: &str| {
        edited
            .stdout
            .lines()
            .find(|l| l.starts_with(entry))
            .unwrap()
            .to_string()
    };
    assert!(row("role[1]").contains("FAIL"), "{}", edited.stdout);
    assert!(!row("role[2]").contains("FAIL"), "{}", edited.stdout);
    assert!(
        edited.stdout.contains("role[1] trust:"),
        "{}",
        edited.stdout
    );
}

/// A file of three import roles (`d0/` to `d2/` of a new bucket), and a proxy that holds the
/// first `held` CreateRoles for `ms`: the scene, the proxy and the file's path.
async fn held_in_flight(prefix: &str, held: usize, ms: u64) -> (Scene, Proxy, String) {
    let scene = scene(prefix).await;
    let proxy = Proxy::start(scene.moto.port);
    let path = directories_file(prefix, &scene.bucket, 3, "import");
    proxy.fail(Match::Action("CreateRole".into()), Fault::Delay(ms), held);
    (scene, proxy, path.display().to_string())
}

/// Fails if a role of that file, or its policy, is left in AWS.
async fn assert_none_left(aws: &Aws, bucket: &str, said: &str) {
    for i in 0..3 {
        let role = format!("tidb-role-import-{bucket}-d{i}");
        assert!(aws.role(&role).await.is_none(), "{role} left:\n{said}");
        let policies = aws.policies_naming(&format!("{role}-policy")).await;
        assert!(policies.is_empty(), "{role}'s policy left:\n{said}");
    }
}

/// Ctrl-C during `apply -f`: the running entry undoes what it made, those not started are not
/// applied, and the run exits 130 with nothing of the file left in AWS.
#[tokio::test(flavor = "multi_thread")]
async fn ctrl_c_during_apply_leaves_nothing_half_made() {
    use std::process::Command;
    // The first entry's role is held in flight when the signal comes.
    let (Scene { aws, bucket, .. }, proxy, file) = held_in_flight("interrupt", 1, 800).await;
    let words = ["apply", "-f", &file, "--yes", "--parallel", "1"];
    let child = spawn(&proxy.url(), &words.map(String::from));
    proxy.wait_for("CreateRole", 1);
    let killed = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    assert_says(&stderr, "those not started were not applied");
    // The entry in flight says, as its own, that it undoes what it made.
    assert_says(
        &stderr,
        "warning: role[1]: interrupted: undoing what this run created",
    );
    assert_none_left(&aws, &bucket, &stderr).await;
}

/// The same at a terminal, where each entry in flight has a spinner line under the count: the
/// warnings said on Ctrl-C go above the lines being drawn, each whole, and no spinner line is
/// left on the screen when the run ends.
#[tokio::test(flavor = "multi_thread")]
async fn ctrl_c_during_apply_at_a_terminal_leaves_whole_warnings_and_no_spinner() {
    use crate::common::pty::{assert_no_spinner, exit_code, pty, screen};
    // Two entries' roles are held in flight when the signal comes.
    let (Scene { aws, bucket, .. }, proxy, file) = held_in_flight("ptyint", 2, 1500).await;
    let words = ["apply", "-f", &file, "--yes", "--parallel", "2"];
    let mut p = pty(&proxy.url(), 200, &words);
    proxy.wait_for("CreateRole", 2);
    p.send_control('c').unwrap();
    let output = p.exp_eof().unwrap();
    assert!(exit_code(&p).ends_with(", 130)"), "{}", exit_code(&p));
    let rows = screen(&output, 200);
    let text = rows.join("\n");
    for entry in ["role[1]", "role[2]"] {
        let warning = format!("warning: {entry}: interrupted: undoing what this run created");
        assert!(rows.iter().any(|r| r.starts_with(&warning)), "{text}");
    }
    assert!(
        rows.iter()
            .any(|r| r.starts_with("warning: Ctrl-C: finishing the request in flight")),
        "{text}"
    );
    assert_no_spinner(&rows);
    assert_none_left(&aws, &bucket, &text).await;
}

/// What a reviewer sees of a mixed plan: a role to create, one whose trust the file changes,
/// one edited by hand (its policy widened), one unchanged, one to be made by a stack (named,
/// with its region), and one of the set that left the file, deleted with `--prune`.
#[tokio::test]
async fn a_mixed_plan_as_a_reviewer_sees_it() {
    let Scene { moto, aws, bucket } = scene("setsmixed").await;
    let set_name = unique("mixed");
    let at = |dir: &str| format!("s3://{bucket}/{dir}/");
    let first: Vec<Entry> = vec![
        (at("same"), "import", &["c-1"], ""),
        (at("trust"), "import", &["c-1"], ""),
        (at("edited"), "export", &["c-1"], ""),
        (at("gone"), "import", &["c-1"], ""),
    ];
    let path = file("mixed", &set_file(&set_name, &roles(&first)));
    set(&moto.url(), &["apply", "--yes"], &path).ok();
    let edited = format!("tidb-role-export-{bucket}-edited");
    widen(
        &aws,
        &edited,
        serde_json::json!({"Effect": "Allow", "Action": "s3:DeleteBucket", "Resource": "*"}),
    )
    .await;
    let second: Vec<Entry> = vec![
        (at("same"), "import", &["c-1"], ""),
        (at("trust"), "import", &["c-1", "c-2"], ""),
        (at("edited"), "export", &["c-1"], ""),
        (
            at("new"),
            "import",
            &["c-1"],
            "tags = { team = \"data\" }\n",
        ),
        (
            at("stacked"),
            "import",
            &["c-1"],
            "method = \"cloudformation\"\n",
        ),
    ];
    std::fs::write(&path, set_file(&set_name, &roles(&second))).unwrap();
    let plan = set(
        &moto.url(),
        &["plan", "--prune", "--detailed-exit-code"],
        &path,
    );
    assert_eq!(plan.code, 3, "{}", plan.stderr);
    let shown = plan
        .stdout
        .replace(&path.display().to_string(), "FILE")
        .replace(&set_name, "SET")
        .replace(&bucket, "BUCKET");
    insta::assert_snapshot!(shown);
}

/// `plan -f --plan-out` saves the file's plan; `apply --plan` applies exactly it, and refuses
/// it (exit 1, nothing changed) once what it was made from has changed.
#[tokio::test]
async fn a_saved_file_plan_applies_as_it_is_and_is_refused_when_stale() {
    let Scene { moto, aws, bucket } = scene("setssaved").await;
    let entries: Vec<Entry> = vec![
        (format!("s3://{bucket}/a/"), "import", &["c-1"], ""),
        (format!("s3://{bucket}/b/"), "export", &["c-1"], ""),
    ];
    let path = file("saved", &set_file(&unique("saved"), &roles(&entries)));
    let plan_file = moto::tmp_dir().join(format!("{}.json", unique("setplan")));
    let plan_out = plan_file.display().to_string();
    let plan = set(
        &moto.url(),
        &["plan", "--plan-out", &plan_out, "-o", "json"],
        &path,
    )
    .ok();
    assert!(aws
        .role(&format!("tidb-role-import-{bucket}-a"))
        .await
        .is_none());
    // The saved plan holds what `plan -o json` prints.
    let saved: Value = serde_json::from_str(&std::fs::read_to_string(&plan_file).unwrap()).unwrap();
    assert_eq!(saved["command"], "apply");
    assert_eq!(saved["plan"]["summary"], plan.json["summary"]);
    assert_eq!(
        saved["plan"]["entries"][1]["plan"]["role_name"],
        plan.json["entries"][1]["plan"]["role_name"]
    );
    let applied = run(
        &moto.url(),
        with_json(&["apply".into(), "--plan".into(), plan_out.clone()]),
    )
    .ok();
    assert_eq!(applied.json["summary"]["created"], 2, "{}", applied.stderr);
    assert!(aws
        .role(&format!("tidb-role-export-{bucket}-b"))
        .await
        .is_some());
    // Applied once, the plan no longer describes AWS.
    run(
        &moto.url(),
        with_json(&["apply".into(), "--plan".into(), plan_out.clone()]),
    )
    .fails_with(1, "stale_plan");
    // A fresh plan, then a hand edit: refused, naming the entry.
    set(&moto.url(), &["plan", "--plan-out", &plan_out], &path).ok();
    let importer = format!("tidb-role-import-{bucket}-a");
    aws.iam
        .tag_role()
        .role_name(&importer)
        .tags(
            aws_sdk_iam::types::Tag::builder()
                .key("edited")
                .value("by-hand")
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let refused = run(&moto.url(), &["apply".into(), "--plan".into(), plan_out]);
    assert_eq!(refused.code, 1, "{}", refused.stderr);
    assert!(refused.stderr.contains("is stale"), "{}", refused.stderr);
    assert!(refused.stderr.contains("role[1]: "), "{}", refused.stderr);
}

/// IAM throttles a busy run: throttled writes and reads are retried (backing off, the whole
/// run slowed), and no entry fails for throttling alone.
#[tokio::test]
async fn throttling_fails_no_entry() {
    let Scene { moto, aws, bucket } = scene("setsthrottle").await;
    let proxy = Proxy::start(moto.port);
    let path = directories_file("throttle", &bucket, 4, "import");
    for (action, times) in [
        ("GetRole", 2),
        ("CreateRole", 4),
        ("CreatePolicy", 2),
        ("AttachRolePolicy", 2),
    ] {
        proxy.fail(
            Match::Action(action.into()),
            Fault::Code(400, "Throttling"),
            times,
        );
    }
    let out = set(&proxy.url(), &["apply", "--yes", "-o", "json"], &path).ok();
    assert_eq!(out.json["summary"]["created"], 4, "{}", out.stderr);
    let throttled = proxy
        .seen()
        .iter()
        .filter(|a| {
            ["GetRole", "CreateRole", "CreatePolicy", "AttachRolePolicy"].contains(&a.as_str())
        })
        .count();
    assert!(
        throttled >= 10,
        "every fault was answered and retried: {throttled}"
    );
    for i in 0..4 {
        assert!(aws
            .role(&format!("tidb-role-import-{bucket}-d{i}"))
            .await
            .is_some());
    }
}

/// `apply --dry-run` shows the plan and what applying would do to each entry, and changes
/// nothing.
#[tokio::test]
async fn a_dry_run_of_apply_changes_nothing() {
    let Scene { moto, aws, bucket } = scene("setsdry").await;
    let entries: Vec<Entry> = vec![(format!("s3://{bucket}/in/"), "import", &["c-1"], "")];
    let path = file("dry", &set_file(&unique("dry"), &roles(&entries)));
    let dry = set(&moto.url(), &["apply", "--dry-run", "-o", "json"], &path).ok();
    assert_eq!(dry.json["dry_run"], true);
    assert_eq!(dry.json["entries"][0]["status"], "to create");
    assert!(dry.stderr.contains("+ create role"), "{}", dry.stderr);
    let text = set(&moto.url(), &["apply", "--dry-run"], &path).ok();
    assert!(text.stdout.contains("to create"), "{}", text.stdout);
    assert!(
        text.stderr.contains("Nothing was applied (--dry-run)"),
        "{}",
        text.stderr
    );
    assert!(aws
        .role(&format!("tidb-role-import-{bucket}-in"))
        .await
        .is_none());
}

/// `apply --wait-ready` waits, after a change, until a minute after the last role was written,
/// saying until when; Ctrl-C ends the wait, not the run: the roles stay, the result is printed
/// with a warning, and the run exits 0. Each changed entry's JSON has its `ready_at`, the run's
/// the latest. An unchanged rerun waits for nothing. (The minute itself is unit-tested with
/// paused time: `commands/role/ready.rs`.)
#[tokio::test]
async fn apply_wait_ready_waits_for_the_last_role_and_a_stop_ends_only_the_wait() {
    let Scene { moto, aws, bucket } = scene("setsready").await;
    let path = directories_file("ready", &bucket, 2, "export");
    let file = path.display().to_string();
    let words = ["apply", "-f", &file, "--yes", "--wait-ready", "-o", "json"].map(String::from);
    let (said, out) = interrupt_on_line(spawn(&moto.url(), &words), "Waiting until ");
    assert_says(
        &said,
        "a minute after the last of the roles was written, for IAM to carry them to every region",
    );
    assert_eq!(out.status.code(), Some(0), "{said}");
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    let ready = json["ready_at"].as_str().unwrap();
    assert_says(&said, &format!("Waiting until {ready}"));
    let each: Vec<&str> = json["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["ready_at"].as_str().unwrap())
        .collect();
    assert_eq!(each.len(), 2, "{json:#}");
    assert_eq!(each.iter().max(), Some(&ready), "the latest: {json:#}");
    assert_says(&said, "stopped waiting (Ctrl-C): the roles are made");
    assert!(!said.contains("undoing"), "nothing is undone: {said}");
    for i in 0..2 {
        let role = format!("tidb-role-export-{bucket}-d{i}");
        assert!(aws.role(&role).await.is_some(), "{role}:\n{said}");
    }

    // Nothing changed: nothing to wait for.
    let again = run(&moto.url(), &words).ok();
    assert!(!again.stderr.contains("Waiting until"), "{}", again.stderr);
    assert!(again.json.get("ready_at").is_none(), "{}", again.json);
}
