//! Teardown plans: what goes, in IAM's order, and what stays.

use crate::facts::OtherCredentials;
use crate::inputs::{RoleName, Who};
use crate::plan::teardown::{self, deletes_policy, HeldPolicy, RoleHoldings, UserHoldings};
use crate::plan::Deletion;

use super::*;

fn policy(name: &str, managed: bool, attachments: i32, old: &[&str]) -> HeldPolicy {
    HeldPolicy {
        info: PolicyInfo {
            arn: format!("arn:aws:iam::123456789012:policy/{name}"),
            managed,
            default_version: "v3".into(),
            attachments,
            tags: Vec::new(),
        },
        old_versions: old.iter().map(|v| v.to_string()).collect(),
        attached: true,
    }
}

fn role_info(managed: bool, stack: Option<&str>) -> RoleInfo {
    RoleInfo {
        managed,
        stack: stack.map(str::to_string),
        stack_region: stack.map(|_| "eu-west-1".to_string()),
        ..bare_role("arn:aws:iam::123456789012:role/r")
    }
}

fn role_holdings(managed: bool) -> RoleHoldings {
    RoleHoldings {
        name: "r".parse().unwrap(),
        info: role_info(managed, None),
        profiles: vec!["ip".into()],
        inline: vec!["extra".into()],
        policies: vec![
            policy("r-policy", true, 1, &["v1", "v2"]),
            policy("shared", true, 2, &["v1"]),
            policy("theirs", false, 1, &[]),
        ],
        stack_gone: false,
    }
}

#[test]
fn only_a_policy_this_tool_made_and_nothing_else_uses_goes() {
    assert!(deletes_policy(&policy("p", true, 1, &[]).info));
    assert!(deletes_policy(&policy("p", true, 0, &[]).info));
    assert!(!deletes_policy(&policy("p", true, 2, &[]).info));
    assert!(!deletes_policy(&policy("p", false, 1, &[]).info));
}

#[test]
fn a_role_goes_after_what_holds_it_and_takes_only_its_own_policy() {
    let plan = teardown::role(&role_holdings(true), false).unwrap();
    insta::assert_json_snapshot!("teardown_role", plan);
    let role = Who::Role("r".parse().unwrap());
    assert_eq!(
        plan.last,
        [
            Deletion::Principal(role),
            Deletion::Policy {
                arn: "arn:aws:iam::123456789012:policy/r-policy".into()
            }
        ]
    );
    // Old versions only of the policy that goes; every policy detached.
    let versions: Vec<_> = plan
        .first
        .iter()
        .filter(|d| matches!(d, Deletion::PolicyVersion { .. }))
        .collect();
    assert_eq!(versions.len(), 2, "{versions:?}");
    let detached = plan
        .first
        .iter()
        .filter(|d| matches!(d, Deletion::Detach { .. }))
        .count();
    assert_eq!(detached, 3);
}

#[test]
fn a_role_this_tool_did_not_make_or_a_stack_s_is_refused() {
    let err = teardown::role(&role_holdings(false), false)
        .unwrap_err()
        .to_string();
    assert!(err.contains("--force"), "{err}");
    assert!(teardown::role(&role_holdings(false), true).is_ok());
    let stack_role = RoleHoldings {
        info: role_info(true, Some("st")),
        ..role_holdings(true)
    };
    let err = teardown::role(&stack_role, true).unwrap_err().to_string();
    assert!(
        err.contains("serverless-s3-setup teardown --stack-name st --region eu-west-1"),
        "{err}"
    );
    // Its stack gone, the role left behind goes as one made with IAM, and the plan says why.
    let left_behind = RoleHoldings {
        stack_gone: true,
        ..stack_role
    };
    let plan = teardown::role(&left_behind, false).unwrap();
    assert_eq!(
        plan.lines.last().unwrap(),
        "delete role r (left behind by its stack st, which is gone)"
    );
    assert_eq!(names_of(&plan.last), ["principal", "policy"]);
}

#[test]
fn a_policy_left_without_its_role_loses_its_old_versions_then_goes() {
    let mut left = policy("r-policy", true, 0, &["v1"]);
    left.attached = false;
    let plan = teardown::orphan(&left);
    assert_eq!(names_of(&plan.first), ["policy_version"]);
    assert_eq!(names_of(&plan.last), ["policy"]);
    assert_eq!(
        plan.lines,
        [format!(
            "delete policy {} (left without its role)",
            left.info.arn
        )]
    );
    assert_eq!(
        plan.reported,
        [format!("policy {} (left without its role)", left.info.arn)]
    );
}

fn user_holdings(managed: bool) -> UserHoldings {
    UserHoldings {
        name: "u".parse().unwrap(),
        info: UserInfo {
            arn: "arn:aws:iam::123456789012:user/u".into(),
            user_id: "AIDA".into(),
            managed,
            boundary: None,
            tags: Vec::new(),
        },
        keys: vec!["AKIA1".into()],
        groups: vec!["g".into()],
        inline: vec!["extra".into()],
        policies: vec![policy("u-policy", true, 1, &["v1"])],
        credentials: Some(OtherCredentials::default()),
    }
}

/// A user to which a person added a console password, a virtual and a hardware MFA device,
/// a signing certificate and an SSH key.
fn user_with_credentials() -> UserHoldings {
    UserHoldings {
        credentials: Some(OtherCredentials {
            password: true,
            mfa_devices: vec![
                "arn:aws:iam::123456789012:mfa/u".into(),
                "GAHT12345678".into(),
            ],
            signing_certificates: vec!["CERT1".into()],
            ssh_public_keys: vec!["APKA1".into()],
        }),
        ..user_holdings(true)
    }
}

#[test]
fn credentials_a_person_added_to_a_user_go_only_with_force() {
    let held = user_with_credentials();
    let err = teardown::user(&held, true, false).unwrap_err();
    assert_eq!(err.kind(), "conflict");
    assert_eq!(
        err.to_string(),
        "user u holds a console password, MFA device arn:aws:iam::123456789012:mfa/u, MFA device GAHT12345678, signing certificate CERT1, SSH public key APKA1: credentials this tool never makes, which IAM requires be deleted before the user; someone added them, so teardown leaves the user alone\n  fix: to delete them with the user, serverless-s3-setup teardown --user-name u --force"
    );
    // Its keys alone need none of them gone.
    let keys = teardown::user(&held, false, false).unwrap();
    assert_eq!(names_of(&keys.first), ["access_key"]);

    let forced = teardown::user(&held, true, true).unwrap();
    let first = names_of(&forced.first);
    for taken in [
        "login_profile",
        "mfa_device",
        "signing_certificate",
        "ssh_public_key",
    ] {
        assert!(first.contains(&taken.to_string()), "{first:?}");
    }
    // The virtual device, once off the user, goes beside it; the hardware one is only taken off.
    assert_eq!(
        names_of(&forced.last),
        ["principal", "virtual_mfa_device", "policy"]
    );
    assert!(forced
        .lines
        .contains(&"delete the console password of user u".to_string()));
    assert!(forced
        .lines
        .contains(&"deactivate MFA device GAHT12345678 of user u".to_string()));

    // Unread (the caller may not list them): planned as before, and IAM says at DeleteUser.
    let unread = UserHoldings {
        credentials: None,
        ..user_with_credentials()
    };
    let plan = teardown::user(&unread, true, false).unwrap();
    assert_eq!(names_of(&plan.last), ["principal", "policy"]);
}

#[test]
fn a_user_s_keys_alone_or_the_whole_user() {
    let keys = teardown::user(&user_holdings(true), false, false).unwrap();
    assert_eq!(names_of(&keys.first), ["access_key"]);
    assert!(keys.last.is_empty());
    assert_eq!(keys.reported, ["access key AKIA1"]);

    let whole = teardown::user(&user_holdings(true), true, false).unwrap();
    insta::assert_json_snapshot!("teardown_user", whole);
    assert_eq!(names_of(&whole.last), ["principal", "policy"]);
    assert_eq!(
        whole.reported,
        [
            "access key AKIA1",
            "inline policy extra",
            "policy arn:aws:iam::123456789012:policy/u-policy",
            "user u from group g",
            "user u"
        ]
    );

    let err = teardown::user(&user_holdings(false), true, false).unwrap_err();
    assert!(
        matches!(err, Error::NotManaged { kind: "user", .. }),
        "{err}"
    );
}

/// What each request deletes, and the AWS CLI command that does it by hand, as a teardown cut
/// short prints what is left.
#[test]
fn each_deletion_names_what_it_deletes_and_the_command_that_deletes_it() {
    let role = teardown::role(&role_holdings(true), false).unwrap();
    let user = teardown::user(&user_with_credentials(), true, true).unwrap();
    let all = [role.first, role.last, user.first, user.last].concat();
    let said: Vec<String> = all
        .iter()
        .map(|d| format!("{d}\n  {}", d.command()))
        .collect();
    insta::assert_snapshot!("teardown_by_hand", said.join("\n"));
}

/// What someone added to a stack's role goes before the stack: all of it in the first stage,
/// the stack's own inline policy left to CloudFormation.
#[test]
fn a_stack_role_s_additions_by_hand_are_taken_off_and_its_own_policy_is_not() {
    let role: RoleName = "r".parse().unwrap();
    let attached = ["arn:aws:iam::123456789012:policy/theirs".to_string()];
    let inline = ["r-policy".to_string(), "extra".to_string()];
    let t =
        teardown::stack_role_additions(&role, Some("r-policy"), &attached, &inline, &["ip".into()]);
    assert_eq!(
        names_of(&t.first),
        ["from_instance_profile", "inline_policy", "detach"]
    );
    assert!(t.last.is_empty());
    assert_eq!(
        t.lines,
        [
            "remove role r from instance profile ip",
            "delete inline policy extra of role r (added by hand)",
            "detach policy arn:aws:iam::123456789012:policy/theirs from role r (attached by hand; the policy stays)",
        ]
    );
    let own = ["r-policy".to_string()];
    assert!(teardown::stack_role_additions(&role, Some("r-policy"), &[], &own, &[]).is_empty());
}

fn names_of(deletions: &[Deletion]) -> Vec<String> {
    deletions
        .iter()
        .map(|d| {
            serde_json::to_value(d).unwrap()["delete"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect()
}
