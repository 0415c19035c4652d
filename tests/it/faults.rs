//! Failures midway: a fault-injecting proxy between the binary and moto fails chosen calls,
//! and the run must leave nothing of its own behind, or say exactly what is left.

use crate::common::*;

fn role_args(bucket: &str) -> Vec<String> {
    SetupArgs::role("iam", &format!("s3://{bucket}/data/"))
        .yes()
        .build()
}

async fn nothing_left(aws: &Aws, bucket: &str) {
    let left = aws.leftovers(bucket).await;
    assert!(left.is_empty(), "left: {left:?}");
}

/// One fault midway, and what the run must say and undo.
struct Case {
    action: &'static str,
    fault: Fault,
    /// What stderr says.
    says: &'static [&'static str],
    /// The requests that undo what the run made.
    undone: &'static [&'static str],
}

/// Each fault midway fails the run (exit 1, nothing on stdout), says what failed, undoes what
/// the run made, and the same command converges once the fault is gone.
#[tokio::test]
async fn a_fault_midway_undoes_what_the_run_made() {
    let cases = [
        Case {
            action: "CreateRole",
            fault: Fault::Denied,
            says: &[
                "iam:CreateRole failed: AccessDenied",
                "lacks iam:CreateRole",
            ],
            undone: &["DeletePolicy"],
        },
        Case {
            action: "AttachRolePolicy",
            fault: Fault::Denied,
            says: &[
                "iam:AttachRolePolicy failed",
                "removed role",
                "removed policy",
            ],
            undone: &["DeleteRole", "DeletePolicy"],
        },
        Case {
            action: "CreateRole",
            fault: Fault::Drop,
            says: &["iam:CreateRole failed"],
            undone: &["DeletePolicy"],
        },
    ];
    let (moto, aws) = on_moto().await;
    for case in cases {
        let proxy = Proxy::start(moto.port);
        proxy.fail_action(case.action, case.fault);
        let bucket = aws.new_bucket("fault").await;
        let failed = run(&proxy.url(), role_args(&bucket));
        let what = format!("{} {:?}", case.action, case.fault);
        assert_eq!(failed.code, 1, "{what}: {}", failed.stderr);
        assert!(failed.stdout.is_empty(), "{what}: {}", failed.stdout);
        for says in case.says {
            assert!(failed.stderr.contains(says), "{what}: {}", failed.stderr);
        }
        let seen = proxy.seen();
        for undo in case.undone {
            assert!(seen.contains(&undo.to_string()), "{what}: {seen:?}");
        }
        nothing_left(&aws, &bucket).await;

        let again = run(&moto.url(), role_args(&bucket)).ok();
        let name = again.stdout.trim().rsplit('/').next().unwrap().to_string();
        assert_eq!(aws.attached(&name).await.len(), 1, "{what}");
    }
}

#[tokio::test]
async fn when_the_undo_fails_too_the_leftovers_and_their_removal_are_printed() {
    let (moto, aws) = on_moto().await;
    let proxy = Proxy::start(moto.port);
    proxy.fail_action("AttachRolePolicy", Fault::Denied);
    proxy.fail_action("DeleteRole", Fault::Denied);
    let bucket = aws.new_bucket("fail-undo").await;
    let Ran { stderr, .. } = run(&proxy.url(), role_args(&bucket)).exits(1);
    let role = format!("tidb-role-import-{bucket}-data");
    assert_says(&stderr, "Left in AWS");
    assert_says(&stderr, &format!("aws iam delete-role --role-name {role}"));
    assert!(
        !stderr.contains("aws iam delete-policy"),
        "the policy was undone: {stderr}"
    );
    // Exactly what was printed is left: the role, and nothing else.
    assert!(aws.role(&role).await.is_some());
    assert!(aws.policies_naming(&bucket).await.is_empty());
    aws.iam.delete_role().role_name(&role).send().await.unwrap();
    nothing_left(&aws, &bucket).await;
}

#[tokio::test]
async fn the_normal_run_makes_the_minimum_requests_with_independent_ones_together() {
    let Scene { moto, bucket, .. } = scene("count").await;
    let proxy = Proxy::start(moto.port);
    // The requests of one run, sorted.
    let requests = || {
        proxy.reset();
        run(&proxy.url(), role_args(&bucket)).ok();
        let mut seen = proxy.seen();
        seen.sort();
        seen
    };
    // The bucket policy and Object Ownership feed the checks after the setup, and the
    // listing of the folder an import reads tells whether anything is there; they go out
    // together with the encryption request, so they add no round trip. The role is looked for
    // under the location's default name for each access (a role made for another access is
    // updated, not doubled), all at once beside GetCallerIdentity and HeadBucket. The checks
    // read the role back in one round: GetRole, its attached and inline policies, and the
    // document of the policy version this run wrote (v1), together.
    assert_eq!(
        requests(),
        [
            "AttachRolePolicy",
            "CreatePolicy",
            "CreateRole",
            "GetCallerIdentity",
            "GetPolicy",
            "GetPolicyVersion",
            "GetRole",
            "GetRole",
            "GetRole",
            "GetRole",
            "ListAttachedRolePolicies",
            "ListRolePolicies",
            "s3:GET?encryption",
            "s3:GET?list-type&max-keys&prefix",
            "s3:GET?ownershipControls",
            "s3:GET?policy",
            "s3:HEAD?",
        ]
    );
    assert_eq!(
        requests(),
        [
            "GetCallerIdentity",
            "GetPolicy",
            "GetPolicyVersion",
            "GetRole",
            "GetRole",
            "GetRole",
            "ListAttachedRolePolicies",
            "ListRolePolicies",
            "s3:GET?encryption",
            "s3:GET?list-type&max-keys&prefix",
            "s3:GET?ownershipControls",
            "s3:GET?policy",
            "s3:HEAD?",
        ],
        "a converged rerun only reads, and each thing once: its reads are its checks' evidence"
    );
}

/// CreateRole's answer is lost (moto made the role), the SDK retries, and IAM answers
/// "already exists". The run tag shows the role is this run's own, so when a later step fails
/// the undo removes it: nothing is orphaned, nothing is left unreported.
#[tokio::test]
async fn a_create_retried_after_a_lost_answer_is_still_undone() {
    let Scene { moto, aws, bucket } = scene("lostrole").await;
    let proxy = Proxy::start(moto.port);
    proxy.fail(Match::NthOf("CreateRole".into(), 1), Fault::DropAnswer, 1);
    proxy.fail(
        Match::Action("AttachRolePolicy".into()),
        Fault::Code(400, "LimitExceeded"),
        usize::MAX,
    );
    let Ran { stderr, .. } = run(&proxy.url(), role_args(&bucket)).exits(1);
    let creates = proxy.count("CreateRole");
    assert!(creates >= 2, "the SDK retried: {:?}", proxy.seen());
    assert!(
        aws.roles_naming(&bucket).await.is_empty(),
        "the role this run made was undone:\n{stderr}"
    );
    assert!(aws.policies_naming(&bucket).await.is_empty(), "{stderr}");
}

/// Every create call of the role and access-key flows, its answer lost after moto acted: the
/// SDK retries, and the retry meets what the first attempt made. A run that then succeeds
/// holds exactly one of each thing; a run whose last step fails undoes the retried create as
/// well. (CreateStack and CreateAccessKey, which are not blindly retried, have their own tests.)
#[tokio::test]
async fn a_lost_answer_on_any_create_neither_duplicates_nor_orphans() {
    let (moto, aws) = on_moto().await;
    let flows: [(&str, &[&str], Option<&str>); 2] = [
        (
            "role",
            &["CreatePolicy", "CreateRole", "AttachRolePolicy"],
            Some("AttachRolePolicy"),
        ),
        (
            "access-key",
            &["CreatePolicy", "CreateUser", "AttachUserPolicy"],
            Some("CreateAccessKey"),
        ),
    ];
    for (flow, creates, last) in flows {
        for lost in creates {
            for fail_last in [false, true] {
                // A later step to fail must come after the lost one.
                let later = last.filter(|l| fail_last && l != lost);
                if fail_last && later.is_none() {
                    continue;
                }
                let bucket = aws.new_bucket("lost").await;
                let proxy = Proxy::start(moto.port);
                proxy.fail(Match::NthOf((*lost).into(), 1), Fault::DropAnswer, 1);
                if let Some(later) = later {
                    proxy.fail(
                        Match::Action(later.into()),
                        Fault::Code(400, "LimitExceeded"),
                        usize::MAX,
                    );
                }
                let args: Vec<String> = match flow {
                    "role" => role_args(&bucket),
                    _ => SetupArgs::access_key(&format!("s3://{bucket}/data/"))
                        .access("import")
                        .yes()
                        .json()
                        .build(),
                };
                let out = run(&proxy.url(), &args);
                let Ran { stderr, .. } = out;
                let case = format!("{flow}, {lost} answer lost, later failure: {later:?}");
                let retried = proxy.seen().iter().filter(|a| a == lost).count();
                assert!(retried >= 2, "{case}: the SDK retried: {:?}", proxy.seen());
                let users: Vec<String> = aws
                    .iam
                    .list_users()
                    .max_items(1000)
                    .send()
                    .await
                    .unwrap()
                    .users()
                    .iter()
                    .map(|u| u.user_name().to_string())
                    .filter(|u| u.contains(&bucket))
                    .collect();
                if later.is_some() {
                    assert_eq!(out.code, 1, "{case}\n{stderr}");
                    nothing_left(&aws, &bucket).await;
                    assert!(users.is_empty(), "{case}: users left {users:?}\n{stderr}");
                    continue;
                }
                assert_eq!(out.code, 0, "{case}\n{stderr}");
                let policies = aws.policy_arns_naming(&bucket).await;
                assert_eq!(policies.len(), 1, "{case}: {policies:?}");
                match flow {
                    "role" => {
                        let roles: Vec<_> = aws.roles_naming(&bucket).await;
                        assert_eq!(roles.len(), 1, "{case}");
                        assert_eq!(
                            aws.attached(&roles[0]).await,
                            [policies[0].clone()],
                            "{case}"
                        );
                    }
                    _ => assert_eq!(users.len(), 1, "{case}"),
                }
            }
        }
    }
}

/// The checks after a setup read the role back from AWS, and wait, within a bound, while IAM
/// does not show it yet (eventual consistency). "verified" only once AWS has answered with
/// what was written; if it never does in time, the checks say they judged the written
/// documents, and how to read it back later.
#[tokio::test]
async fn the_checks_after_a_setup_wait_for_aws_to_show_the_role_and_claim_only_what_it_showed() {
    let (moto, aws) = on_moto().await;

    // IAM does not show the new role at the first read-back; the second shows it.
    let proxy = Proxy::start(moto.port);
    let bucket = aws.new_bucket("readback").await;
    // The first three look for the role, one name per access; the fourth is the read-back.
    proxy.fail(
        Match::NthOf("GetRole".into(), 4),
        Fault::Code(404, "NoSuchEntity"),
        1,
    );
    let Ran { stdout, stderr, .. } =
        run(&proxy.url(), with(&role_args(&bucket), &["-o", "json"])).ok();
    let report: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(report["verify"]["read_back"], true, "{report}");
    assert_says(&stderr, "verified: read back from AWS");
    let gets = proxy.count("GetRole");
    assert_eq!(
        gets, 5,
        "three to look for the role, a read-back IAM did not show, and one that did"
    );

    // IAM never shows it in time: no "verified", and the checks say what they judged.
    let proxy = Proxy::start(moto.port);
    let bucket = aws.new_bucket("readback").await;
    for n in 4..=22 {
        proxy.fail(
            Match::NthOf("GetRole".into(), n),
            Fault::Code(404, "NoSuchEntity"),
            1,
        );
    }
    let Ran { stdout, stderr, .. } =
        run(&proxy.url(), with(&role_args(&bucket), &["-o", "json"])).ok();
    let report: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(report["verify"]["read_back"], false, "{report}");
    let read_back = check(&report["verify"], "read-back");
    assert_eq!(read_back["status"], "warn");
    assert_says(
        read_back["finding"].as_str().unwrap(),
        "did not show what this run wrote",
    );
    assert!(read_back["fix"]
        .as_str()
        .unwrap()
        .contains("serverless-s3-setup verify --role-arn"));
    assert!(!stderr.contains("verified"), "{stderr}");
}

/// A teardown cut short (DeleteRole denied, after the policy was detached and deleted) says
/// what it deleted and exactly what is left, with the command that removes it; what it says is
/// left is what is left, and the same teardown run again finishes it.
#[tokio::test]
async fn a_teardown_cut_short_says_what_it_deleted_and_what_is_left() {
    let (moto, aws) = on_moto().await;
    let bucket = aws.new_bucket("td-part").await;
    run(&moto.url(), role_args(&bucket)).ok();
    let role = format!("tidb-role-import-{bucket}-data");
    let policy = aws.policy_arns_naming(&bucket).await.pop().unwrap();
    let teardown = || {
        ["teardown", "--role-name", &role, "--yes"]
            .map(str::to_string)
            .to_vec()
    };
    let proxy = Proxy::start(moto.port);
    proxy.fail_action("DeleteRole", Fault::Denied);
    let Ran { stderr, .. } = run(&proxy.url(), teardown()).exits(1);
    let (deleted, left) = stderr.split_once("Left in AWS:").expect(&stderr);
    assert_says(deleted, "The teardown stopped partway. Deleted:");
    assert_says(
        deleted,
        &format!("- attachment of policy {policy} to role {role}\n"),
    );
    assert_says(deleted, &format!("- policy {policy}\n"));
    assert_says(
        left,
        &format!("- role {role} (failed: iam:DeleteRole failed: AccessDenied"),
    );
    assert_says(
        left,
        "To finish, run the same teardown again, or remove them",
    );
    assert_says(left, &format!("\n  aws iam delete-role --role-name {role}"));
    assert!(!left.contains(&policy), "the policy is gone: {left}");
    // Exactly what was printed is left: the role, bare.
    assert!(aws.role(&role).await.is_some());
    assert!(aws.attached(&role).await.is_empty());
    assert!(aws.policies_naming(&bucket).await.is_empty());
    run(&moto.url(), teardown()).ok();
    nothing_left(&aws, &bucket).await;
}
