//! The plan's unit tests; shared helpers here.

use std::collections::BTreeMap;

use super::action::names;
use super::stack::same_parameters;
use super::*;
use crate::facts::{AccessKeyInfo, BucketFacts, Facts, RoleInfo, StackInfo, UserInfo};
use crate::inputs::{Access, ExternalId, KmsKeyArn, Tier, Who};
use crate::template;
use serde_json::json;

mod kept;
mod saved;
mod stack;
mod teardown;
mod user;

use user::user_inputs;

fn inputs() -> RoleInputs {
    RoleInputs {
        location: "s3://bkt1/data/".parse().unwrap(),
        access: Access::Import,
        tidb_account: "380838443567".parse().unwrap(),
        external_id: Some("ext-1".parse().unwrap()),
        more_external_ids: Vec::new(),
        replace_external_ids: false,
        remove_external_ids: vec![],
        no_external_id: false,
        tier: Tier::Starter,
        role_name: "r".parse().unwrap(),
        policy_name: "r-policy".parse().unwrap(),
        kms_keys: vec![],
        remove_kms_keys: vec![],
        stack_name: None,
        guardrails: GuardrailRequest::default(),
        chosen: Chosen::default(),
        set: None,
    }
}

/// The plan of a role by `method` for these inputs, from `facts()` and this state.
#[track_caller]
fn plan_of(method: Method, inputs: &RoleInputs, state: &RoleState) -> RolePlan {
    role(method, inputs, &facts(), state).unwrap()
}

/// The tags a run records on what it makes for `access` at `location`, beside `managed-by`.
fn recorded(access: Access, location: &str) -> Vec<(String, String)> {
    let location: S3Location = location.parse().unwrap();
    vec![
        ("managed-by".into(), "serverless-s3-setup".into()),
        (crate::inputs::ACCESS_TAG.into(), access.to_string()),
        (
            crate::inputs::LOCATION_TAG.into(),
            crate::inputs::location_tag(&location),
        ),
    ]
}

fn facts() -> Facts {
    Facts {
        account: Some("123456789012".parse().unwrap()),
        partition: Some(Partition::Aws),
        bucket: bucket_in("us-east-1"),
        ..Facts::default()
    }
}

/// A bucket of which only its region is known.
fn bucket_in(region: &str) -> BucketFacts {
    BucketFacts {
        region: Some(region.into()),
        ..BucketFacts::default()
    }
}

/// A role this tool made, `arn`, with nothing else known of it.
fn bare_role(arn: &str) -> RoleInfo {
    RoleInfo {
        arn: arn.into(),
        managed: true,
        trust: None,
        created: None,
        stack: None,
        stack_region: None,
        boundary: None,
        tags: Vec::new(),
        description: None,
    }
}

fn existing(plan: &RolePlan, managed: bool) -> RoleState {
    RoleState {
        role: Some(RoleInfo {
            managed,
            trust: Some(plan.trust_policy.clone()),
            tags: recorded(plan.grant.access, "s3://bkt1/data/"),
            description: Some(template::role_description(
                plan.grant.access,
                "bkt1",
                "data",
            )),
            ..bare_role(&plan.role_arn)
        }),
        policy: Some(PolicyInfo {
            arn: plan.managed_policy_arn().to_string(),
            managed,
            default_version: "v1".into(),
            attachments: 1,
            tags: recorded(plan.grant.access, "s3://bkt1/data/"),
        }),
        policy_document: Some(plan.grant.permissions_policy.clone()),
        attached: true,
        stack: None,
        inline: None,
    }
}

#[test]
fn a_fresh_account_gets_everything_created() {
    let plan = plan_of(Method::Iam, &inputs(), &RoleState::default());
    assert_eq!(
        names(&plan.grant.actions),
        ["create_policy", "create_role", "attach_policy"]
    );
    assert_eq!(plan.role_arn, "arn:aws:iam::123456789012:role/r");
    assert_eq!(
        plan.managed_policy_arn(),
        "arn:aws:iam::123456789012:policy/r-policy"
    );
}

#[test]
fn the_same_state_again_changes_nothing() {
    let first = plan_of(Method::Iam, &inputs(), &RoleState::default());
    let again = plan_of(Method::Iam, &inputs(), &existing(&first, true));
    assert!(again.grant.actions.is_empty());
    assert!(!again.changes());
}

#[test]
fn drift_is_brought_back() {
    let first = plan_of(Method::Iam, &inputs(), &RoleState::default());
    let mut state = existing(&first, true);
    state.attached = false;
    state.policy_document = Some(serde_json::json!({"Version": "2012-10-17", "Statement": []}));
    let mut changed = inputs();
    changed.external_id = Some("ext-2".parse().unwrap());
    let plan = plan_of(Method::Iam, &changed, &state);
    assert_eq!(
        names(&plan.grant.actions),
        ["update_policy", "update_trust", "attach_policy"]
    );
}

/// The role `r` as it stands, trusting TiDB Cloud's account with these external IDs.
fn trusting(ids: &[&str]) -> RoleState {
    let first = plan_of(Method::Iam, &inputs(), &RoleState::default());
    let mut state = existing(&first, true);
    let ids: Vec<ExternalId> = ids.iter().map(|i| i.parse().unwrap()).collect();
    state.role.as_mut().unwrap().trust = Some(policy::trust(
        Partition::Aws,
        &"380838443567".parse().unwrap(),
        &ids,
    ));
    state
}

fn ids(change: &TrustChange) -> Vec<&str> {
    change.external_ids.iter().map(ExternalId::as_str).collect()
}

#[test]
fn clusters_are_named_in_the_plural_when_there_are_several() {
    let mut third = inputs();
    third.external_id = Some("ext-3".parse().unwrap());
    let plan = plan_of(Method::Iam, &third, &trusting(&["ext-1", "ext-2"]));
    assert_eq!(
        plan.trust_change.lines,
        [
            "the clusters with external IDs ext-1, ext-2 keep access",
            "the cluster with external ID ext-3 is added"
        ]
    );
}

#[test]
fn a_second_cluster_is_added_and_the_first_keeps_access() {
    let mut second = inputs();
    second.external_id = Some("ext-2".parse().unwrap());
    let plan = plan_of(Method::Iam, &second, &trusting(&["ext-1"]));
    assert_eq!(ids(&plan.trust_change), ["ext-1", "ext-2"]);
    assert!(!plan.trust_change.revokes());
    assert_eq!(
        plan.trust_change.lines,
        [
            "the cluster with external ID ext-1 keeps access",
            "the cluster with external ID ext-2 is added"
        ]
    );
    assert_eq!(names(&plan.grant.actions), ["update_trust"]);
    assert_eq!(
        plan.trust_policy["Statement"][0]["Condition"]["StringEquals"]["sts:ExternalId"],
        serde_json::json!(["ext-1", "ext-2"])
    );
    // Again: nothing changes, and no one loses access.
    let again = plan_of(Method::Iam, &second, &trusting(&["ext-1", "ext-2"]));
    assert!(again.grant.actions.is_empty(), "{:?}", again.grant.actions);
}

#[test]
fn replacing_removing_and_dropping_ids_say_who_loses_access() {
    let mut replace = inputs();
    replace.external_id = Some("ext-3".parse().unwrap());
    replace.replace_external_ids = true;
    let plan = plan_of(Method::Iam, &replace, &trusting(&["ext-1", "ext-2"]));
    assert_eq!(ids(&plan.trust_change), ["ext-3"]);
    assert_eq!(
        plan.trust_change.losing_access,
        [
            "the cluster with external ID ext-1",
            "the cluster with external ID ext-2"
        ]
    );
    assert!(plan.trust_change.revokes());

    let mut remove = inputs();
    remove.external_id = None;
    remove.remove_external_ids = vec!["ext-1".parse().unwrap()];
    let plan = plan_of(Method::Iam, &remove, &trusting(&["ext-1", "ext-2"]));
    assert_eq!(ids(&plan.trust_change), ["ext-2"]);
    assert_eq!(
        plan.trust_change.losing_access,
        ["the cluster with external ID ext-1"]
    );

    // The last one cannot go without saying so: that would open the role to the project.
    let err = role(Method::Iam, &remove, &facts(), &trusting(&["ext-1"])).unwrap_err();
    assert_eq!(err.exit_code(), 2);
    assert!(err.to_string().contains("--no-external-id"), "{err}");

    let mut none = inputs();
    none.external_id = None;
    none.no_external_id = true;
    let plan = plan_of(Method::Iam, &none, &trusting(&["ext-1"]));
    assert!(plan.trust_change.external_ids.is_empty());
    assert!(plan.trust_change.revokes());
    assert!(plan.trust_policy["Statement"][0].get("Condition").is_none());

    // A role that trusted the whole project is narrowed: the rest of the project loses it.
    let plan = plan_of(Method::Iam, &inputs(), &trusting(&[]));
    assert_eq!(ids(&plan.trust_change), ["ext-1"]);
    assert!(plan.trust_change.losing_access[0].contains("every other cluster"));

    // A role that trusted another account: that account loses it.
    let mut elsewhere = trusting(&["ext-1"]);
    elsewhere.role.as_mut().unwrap().trust = Some(policy::trust(
        Partition::Aws,
        &"111122223333".parse().unwrap(),
        &[],
    ));
    let plan = plan_of(Method::Iam, &inputs(), &elsewhere);
    assert_eq!(ids(&plan.trust_change), ["ext-1"]);
    assert!(plan.trust_change.losing_access[0].contains("111122223333"));

    // Removing from a role that does not exist yet is a mistake.
    let err = role(Method::Iam, &remove, &facts(), &RoleState::default()).unwrap_err();
    assert!(err.to_string().contains("--external-id"), "{err}");
}

#[test]
fn dedicated_imports_with_the_bucket_location_and_never_exports() {
    let mut dedicated = inputs();
    dedicated.tier = Tier::Dedicated;
    let plan = plan_of(Method::Iam, &dedicated, &RoleState::default());
    assert_eq!(
        plan.grant.permissions_policy["Statement"][1]["Action"],
        serde_json::json!(["s3:ListBucket", "s3:GetBucketLocation"])
    );
    dedicated.access = Access::Export;
    let err = role(Method::Iam, &dedicated, &facts(), &RoleState::default()).unwrap_err();
    assert_eq!(err.exit_code(), 2);
    assert!(err.to_string().contains("--access"), "{err}");
    // An access key's user also reads the bucket's location.
    let plan = user(&user_inputs(), &facts(), &UserState::default()).unwrap();
    assert_eq!(
        plan.grant.permissions_policy["Statement"][1]["Action"],
        serde_json::json!(["s3:ListBucket", "s3:GetBucketLocation"])
    );
}

#[test]
fn guardrails_converge_on_what_exists_and_a_path_cannot_move() {
    let first = plan_of(Method::Iam, &inputs(), &RoleState::default());
    let state = existing(&first, true);
    let boundary = "arn:aws:iam::123456789012:policy/boundary";
    let mut guarded = inputs();
    guarded.guardrails = GuardrailRequest {
        permissions_boundary: Some(boundary.parse().unwrap()),
        tags: vec!["team=data".parse().unwrap()],
        ..GuardrailRequest::default()
    };
    let plan = plan_of(Method::Iam, &guarded, &state);
    let tags = vec!["team=data".parse::<TagPair>().unwrap()];
    let who = Who::Role(plan.role_name.clone());
    assert_eq!(
        plan.grant.actions,
        [
            Action::SetBoundary {
                who: who.clone(),
                arn: boundary.into()
            },
            Action::TagPrincipal {
                who,
                tags: tags.clone()
            },
            Action::TagPolicy {
                policy: plan.grant.policy_name.clone(),
                arn: plan.managed_policy_arn().to_string(),
                tags
            },
        ]
    );
    assert!(plan
        .describe(&plan.grant.actions[1])
        .contains("tag role r with team=data"));

    // Once they are there, and with --permissions-boundary left out, nothing changes.
    let mut done = state.clone();
    let r = done.role.as_mut().unwrap();
    r.boundary = Some(boundary.into());
    r.tags.push(("team".into(), "data".into()));
    done.policy
        .as_mut()
        .unwrap()
        .tags
        .push(("team".into(), "data".into()));
    assert!(plan_of(Method::Iam, &guarded, &done)
        .grant
        .actions
        .is_empty());
    assert!(plan_of(Method::Iam, &inputs(), &done)
        .grant
        .actions
        .is_empty());

    // A new role at a path: the ARNs carry it.
    let mut at_path = inputs();
    at_path.guardrails.path = Some("/tidb/".parse().unwrap());
    let fresh = plan_of(Method::Iam, &at_path, &RoleState::default());
    assert_eq!(fresh.role_arn, "arn:aws:iam::123456789012:role/tidb/r");
    assert_eq!(
        fresh.managed_policy_arn(),
        "arn:aws:iam::123456789012:policy/tidb/r-policy"
    );
    // The same role at /: IAM has no way to move it.
    let err = role(Method::Iam, &at_path, &facts(), &state).unwrap_err();
    assert!(err.to_string().contains("--path /"), "{err}");
}

#[test]
fn resources_the_tool_did_not_make_are_refused() {
    let first = plan_of(Method::Iam, &inputs(), &RoleState::default());
    let mut state = existing(&first, true);
    state.role.as_mut().unwrap().managed = false;
    let err = role(Method::Iam, &inputs(), &facts(), &state).unwrap_err();
    assert!(err.to_string().contains("--role-name"), "{err}");
    let mut state = existing(&first, true);
    state.policy.as_mut().unwrap().managed = false;
    let err = role(Method::Iam, &inputs(), &facts(), &state).unwrap_err();
    assert!(err.to_string().contains("--policy-name"), "{err}");
}

#[test]
fn detected_and_given_keys_are_merged_once() {
    let key: KmsKeyArn = "arn:aws:kms:us-east-1:123456789012:key/k1".parse().unwrap();
    let mut i = inputs();
    i.kms_keys = vec![key.clone()];
    let f = Facts {
        bucket: BucketFacts {
            kms_key: Some(key.clone()),
            ..bucket_in("us-east-1")
        },
        ..facts()
    };
    let plan = role(Method::Iam, &i, &f, &RoleState::default()).unwrap();
    assert_eq!(plan.grant.kms_keys, vec![key]);
    assert_eq!(
        plan.grant.permissions_policy["Statement"][2]["Action"][0],
        "kms:Decrypt"
    );
}

/// Objects copied from another bucket keep their key: the plan grants it beside the bucket's,
/// says which object showed it, and names a key it cannot grant.
#[test]
fn keys_of_sampled_objects_are_granted_or_named() {
    use crate::facts::{BucketFacts, Caller, KeyDescription, ObjectKey};
    let default: KmsKeyArn = "arn:aws:kms:us-east-1:123456789012:key/k1".parse().unwrap();
    let copied = "arn:aws:kms:us-east-1:123456789012:key/k2";
    let described = |aws_managed: bool, state: &str| {
        Some(KeyDescription {
            aws_managed,
            state: state.into(),
        })
    };
    let object = |name: &str, key: &str, described| ObjectKey {
        object: format!("s3://bkt1/d/{name}"),
        key: key.into(),
        described,
    };
    let bucket = BucketFacts {
        kms_key: Some(default.clone()),
        object_keys: vec![
            object("copied.csv", copied, described(false, "Enabled")),
            object(
                "own.csv",
                "arn:aws:kms:us-east-1:123456789012:key/aws-s3",
                described(true, "Enabled"),
            ),
            object(
                "theirs.csv",
                "arn:aws:kms:us-east-1:999999999999:key/aws-s3",
                described(true, "Enabled"),
            ),
            object(
                "off.csv",
                "arn:aws:kms:us-east-1:123456789012:key/k3",
                described(false, "Disabled"),
            ),
            // A key KMS would not describe (another account's, say) is granted all the same.
            object(
                "unread.csv",
                "arn:aws:kms:us-east-1:888888888888:key/k4",
                None,
            ),
        ],
        ..BucketFacts::default()
    };
    let caller = Caller {
        account: "123456789012".parse().unwrap(),
        arn: "arn:aws:iam::123456789012:user/me".into(),
        partition: Partition::Aws,
    };
    let f = Facts::detected(caller, bucket);
    let plan = role(Method::Iam, &inputs(), &f, &RoleState::default()).unwrap();
    let granted: Vec<&str> = plan.grant.kms_keys.iter().map(KmsKeyArn::as_str).collect();
    assert_eq!(
        granted,
        [
            default.as_str(),
            copied,
            "arn:aws:kms:us-east-1:888888888888:key/k4"
        ]
    );
    assert_eq!(
        plan.grant.permissions_policy["Statement"][2]["Resource"],
        json!(granted)
    );
    let said = |needle: &str, lines: &[String]| lines.iter().any(|l| l.contains(needle));
    assert!(said(
        &format!("s3://bkt1/d/copied.csv is encrypted with {copied}, not the bucket's default key: granted too"),
        &plan.grant.detected
    ));
    assert!(said(
        "own.csv is encrypted with the AWS-managed key",
        &plan.grant.detected
    ));
    assert!(said("theirs.csv is encrypted with the AWS-managed key arn:aws:kms:us-east-1:999999999999:key/aws-s3 of account 999999999999, which no principal of another account can use", &plan.grant.warnings));
    assert!(said(
        "off.csv is encrypted with arn:aws:kms:us-east-1:123456789012:key/k3, which is Disabled",
        &plan.grant.warnings
    ));
}

#[test]
fn without_credentials_the_plan_uses_a_placeholder_and_the_region_partition() {
    let f = Facts {
        bucket: bucket_in("cn-north-1"),
        ..Facts::default()
    };
    let plan = user(&user_inputs(), &f, &UserState::default()).unwrap();
    assert_eq!(plan.grant.partition, Partition::China);
    assert!(
        plan.policy_arn
            .starts_with("arn:aws-cn:iam::<your-account-id>:policy/"),
        "{}",
        plan.policy_arn
    );
}

/// TiDB Cloud is in the commercial partition only, and AssumeRole never crosses partitions:
/// a role anywhere else could never be used. Nor can the caller's own account be TiDB's.
#[test]
fn roles_that_can_never_work_are_refused_before_any_change() {
    let flag = |f: Facts| match role(Method::Iam, &inputs(), &f, &RoleState::default()) {
        Err(Error::Invalid { flag, rule }) => (flag, rule),
        other => panic!("{other:?}"),
    };
    let (f, rule) = flag(Facts {
        bucket: bucket_in("cn-north-1"),
        ..Facts::default()
    });
    assert_eq!(f, "--uri");
    assert!(
        rule.contains("aws-cn") && rule.contains("commercial"),
        "{rule}"
    );
    let (f, rule) = flag(Facts {
        partition: Some(Partition::GovCloud),
        region: Some("us-gov-west-1".into()),
        ..facts()
    });
    assert_eq!(f, "--region");
    assert!(rule.contains("us-gov-west-1"), "{rule}");
    let (f, rule) = flag(Facts {
        account: Some("380838443567".parse().unwrap()),
        ..facts()
    });
    assert_eq!(f, "--tidb-account-id");
    assert!(rule.contains("your own AWS account"), "{rule}");
}

/// A URI of the bucket alone grants every object in it: the plan warns, first; a folder, a
/// file or a pattern does not.
#[test]
fn a_whole_bucket_is_a_warning_in_the_plan() {
    let mut whole = inputs();
    whole.location = "s3://bkt1".parse().unwrap();
    whole.access = Access::Both;
    let plan = plan_of(Method::Iam, &whole, &RoleState::default());
    assert_eq!(
        plan.grant.warnings,
        ["s3://bkt1/ names no folder: TiDB Cloud gets import and export access to every object in bucket bkt1; give a folder (s3://bkt1/dir/) to grant less"]
    );
    for uri in ["s3://bkt1/data/", "s3://bkt1/data.csv", "s3://bkt1/*.csv"] {
        let mut part = inputs();
        part.location = uri.parse().unwrap();
        let plan = plan_of(Method::Iam, &part, &RoleState::default());
        assert!(
            plan.grant.warnings.is_empty(),
            "{uri}: {:?}",
            plan.grant.warnings
        );
    }
}
