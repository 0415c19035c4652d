//! What a rerun keeps, what it takes away, and which role a run is for: each plan as the
//! decisions make it, and as a person reads it (insta snapshots of the rendered plan).

use super::super::keep::serves;
use super::stack::{in_sync, stack, stack_inputs};
use super::*;
use crate::output::{render_role_plan, Ui};

const BOUNDARY: &str = "arn:aws:iam::123456789012:policy/bnd";
const KEY: &str = "arn:aws:kms:us-east-1:123456789012:key/k1";

/// What a change of access or directory does to a role made through IAM: the policy
/// rewritten, and the role's tags, description and policy's tags brought into step.
const RETAGGED: [&str; 4] = [
    "update_policy",
    "tag_principal",
    "update_description",
    "tag_policy",
];

/// The role `r` as a first run made it, with a boundary, a path and two tags of the user's.
fn guarded() -> RoleState {
    let mut first_inputs = inputs();
    first_inputs.guardrails = GuardrailRequest {
        permissions_boundary: Some(BOUNDARY.parse().unwrap()),
        path: Some("/tidb/".parse().unwrap()),
        tags: vec!["team=data".parse().unwrap(), "cost=42".parse().unwrap()],
        ..GuardrailRequest::default()
    };
    let first = plan_of(Method::Iam, &first_inputs, &RoleState::default());
    let mut state = existing(&first, true);
    let user_tags = [("team", "data"), ("cost", "42")].map(|(k, v)| (k.into(), v.into()));
    let r = state.role.as_mut().unwrap();
    r.boundary = Some(BOUNDARY.into());
    r.tags.extend(user_tags.clone());
    state.policy.as_mut().unwrap().tags.extend(user_tags);
    state
}

fn text(plan: &RolePlan) -> String {
    render_role_plan(&Ui::plain().with_documents(false), plan)
}

#[test]
fn a_rerun_without_the_guardrail_flags_keeps_them() {
    let state = guarded();
    let plan = plan_of(Method::Iam, &inputs(), &state);
    assert!(plan.grant.actions.is_empty(), "{:?}", plan.grant.actions);
    assert!(plan.grant.revisions.is_empty());
    let guard = &plan.grant.guardrails;
    assert_eq!(
        guard.permissions_boundary.as_ref().unwrap().as_str(),
        BOUNDARY
    );
    assert_eq!(guard.path.as_str(), "/tidb/");
    assert_eq!(
        guard.tags,
        ["team=data", "cost=42"].map(|t| t.parse::<TagPair>().unwrap())
    );
    assert_eq!(plan.role_arn, "arn:aws:iam::123456789012:role/tidb/r");
}

#[test]
fn removing_a_boundary_and_a_tag_is_a_confirmed_minus_line() {
    let mut i = inputs();
    i.guardrails.no_permissions_boundary = true;
    i.guardrails.remove_tags = vec!["cost".parse().unwrap()];
    i.guardrails.tags = vec!["team=ml".parse().unwrap()];
    let plan = plan_of(Method::Iam, &i, &guarded());
    assert_eq!(
        names(&plan.grant.actions),
        [
            "remove_boundary",
            "tag_principal",
            "untag_principal",
            "tag_policy",
            "untag_policy"
        ]
    );
    assert!(plan.grant.takes_away());
    let described: Vec<String> = plan
        .grant
        .revisions
        .iter()
        .map(Revision::describe)
        .collect();
    assert_eq!(
        described,
        [
            format!("permissions boundary: {BOUNDARY} → (removed)"),
            "tag team: data → ml".to_string(),
            "tag cost: 42 → (removed)".to_string(),
        ]
    );
    insta::assert_snapshot!("iam_guardrails_removed", text(&plan));
}

#[test]
fn a_stack_rerun_keeps_its_boundary_path_tags_tier_keys_and_policy_name() {
    let cfn = Method::Cloudformation;
    let mut first = stack_inputs();
    first.guardrails = GuardrailRequest {
        permissions_boundary: Some(BOUNDARY.parse().unwrap()),
        path: Some("/tidb/".parse().unwrap()),
        tags: vec!["team=data".parse().unwrap()],
        ..GuardrailRequest::default()
    };
    first.tier = Tier::Dedicated;
    first.policy_name = "custom".parse().unwrap();
    first.kms_keys = vec![KEY.parse().unwrap()];
    let params = plan_of(cfn, &first, &RoleState::default()).stack_parameters;
    assert_eq!(params["PermissionsBoundary"], BOUNDARY);
    let mut s = stack("UPDATE_COMPLETE", true, params.clone());
    s.tags = vec![
        ("managed-by".into(), "serverless-s3-setup".into()),
        ("serverless-s3-setup-run".into(), "run-1".into()),
        ("team".into(), "data".into()),
    ];
    let mut state = in_sync(&first, s);
    state.role.as_mut().unwrap().boundary = Some(BOUNDARY.into());
    // A second cluster, and nothing else given: only the external IDs change.
    let mut second = stack_inputs();
    second.external_id = Some("ext-2".parse().unwrap());
    let plan = plan_of(cfn, &second, &state);
    assert_eq!(names(&plan.grant.actions), ["update_stack"]);
    for key in [
        "PermissionsBoundary",
        "RolePath",
        "Tier",
        "PolicyName",
        "KmsKeyArns",
    ] {
        assert_eq!(plan.stack_parameters[key], params[key], "{key}");
    }
    assert_eq!(plan.stack_parameters["MoreExternalIds"], "ext-2");
    assert_eq!(plan.grant.guardrails.tags, ["team=data".parse().unwrap()]);
    assert!(plan.grant.revisions.is_empty());

    // Taking the boundary and the tag off: the parameters say so, and so does the plan.
    let mut bare = stack_inputs();
    bare.guardrails.no_permissions_boundary = true;
    bare.guardrails.remove_tags = vec!["team".parse().unwrap()];
    let plan = plan_of(cfn, &bare, &state);
    assert_eq!(names(&plan.grant.actions), ["update_stack"]);
    assert_eq!(plan.stack_parameters["PermissionsBoundary"], "");
    assert!(plan.grant.guardrails.tags.is_empty());
    assert!(plan.grant.takes_away());
    insta::assert_snapshot!("stack_guardrails_removed", text(&plan));
}

#[test]
fn an_access_change_updates_the_same_role() {
    let state = existing(
        &plan_of(Method::Iam, &inputs(), &RoleState::default()),
        true,
    );
    let mut both = inputs();
    both.access = Access::Both;
    let plan = plan_of(Method::Iam, &both, &state);
    assert_eq!(plan.role_arn, "arn:aws:iam::123456789012:role/r");
    assert_eq!(names(&plan.grant.actions), RETAGGED);
    assert_eq!(
        plan.grant.revisions,
        [Revision {
            field: "access".into(),
            before: "import".into(),
            after: Some("both".into()),
            takes_away: false,
        }]
    );
    assert!(!plan.grant.takes_away(), "import → both takes nothing away");
    insta::assert_snapshot!("iam_access_import_to_both", text(&plan));

    let mut export = inputs();
    export.access = Access::Export;
    let plan = plan_of(Method::Iam, &export, &state);
    assert!(
        plan.grant.takes_away(),
        "import → export takes reading away"
    );
}

#[test]
fn a_role_named_by_hand_for_another_directory_is_repointed_only_when_confirmed() {
    let mut elsewhere = inputs();
    elsewhere.location = "s3://bkt1/other/".parse().unwrap();
    let state = existing(
        &plan_of(Method::Iam, &elsewhere, &RoleState::default()),
        true,
    );
    let mut state = state;
    let r = state.role.as_mut().unwrap();
    r.tags = recorded(Access::Import, "s3://bkt1/other/");
    r.description = Some(template::role_description(Access::Import, "bkt1", "other"));
    state.policy.as_mut().unwrap().tags = recorded(Access::Import, "s3://bkt1/other/");
    let plan = plan_of(Method::Iam, &inputs(), &state);
    assert_eq!(
        plan.grant.revisions,
        [Revision {
            field: "directory".into(),
            before: "s3://bkt1/other/".into(),
            after: Some("s3://bkt1/data/".into()),
            takes_away: true,
        }]
    );
    assert_eq!(names(&plan.grant.actions), RETAGGED);
    insta::assert_snapshot!("iam_directory_repointed", text(&plan));
}

#[test]
fn kms_keys_granted_before_stay_until_taken_off() {
    let mut keyed = inputs();
    keyed.kms_keys = vec![KEY.parse().unwrap()];
    let first = plan_of(Method::Iam, &keyed, &RoleState::default());
    let state = existing(&first, true);
    let plan = plan_of(Method::Iam, &inputs(), &state);
    assert_eq!(plan.grant.kms_keys, [KEY.parse().unwrap()]);
    assert!(plan.grant.actions.is_empty());
    let mut off = inputs();
    off.remove_kms_keys = vec![KEY.parse().unwrap()];
    let plan = plan_of(Method::Iam, &off, &state);
    assert!(plan.grant.kms_keys.is_empty());
    assert_eq!(names(&plan.grant.actions), ["update_policy"]);
    assert_eq!(
        plan.grant.revisions[0].describe(),
        format!("KMS key: {KEY} → (removed)")
    );
    assert!(plan.grant.takes_away());
}

#[test]
fn a_dedicated_role_stays_dedicated_unless_the_tier_is_chosen() {
    let mut dedicated = inputs();
    dedicated.tier = Tier::Dedicated;
    let state = existing(
        &plan_of(Method::Iam, &dedicated, &RoleState::default()),
        true,
    );
    let plan = plan_of(Method::Iam, &inputs(), &state);
    assert_eq!(plan.tier, Tier::Dedicated);
    assert!(plan.grant.actions.is_empty());
    let mut starter = inputs();
    starter.chosen.tier = true;
    let plan = plan_of(Method::Iam, &starter, &state);
    assert_eq!(plan.tier, Tier::Starter);
    assert!(plan.grant.takes_away(), "{:?}", plan.grant.revisions);
}

#[test]
fn a_user_keeps_its_guardrails_and_follows_an_access_change() {
    let mut given = user_inputs();
    given.guardrails.tags = vec!["team=data".parse().unwrap()];
    given.guardrails.permissions_boundary = Some(BOUNDARY.parse().unwrap());
    let first = user(&given, &facts(), &UserState::default()).unwrap();
    let mut tags = recorded(Access::Export, "s3://bkt1/data/");
    tags.push(("team".into(), "data".into()));
    let state = UserState {
        user: Some(UserInfo {
            arn: first.user_arn.clone(),
            user_id: "AIDAEXAMPLE".into(),
            managed: true,
            boundary: Some(BOUNDARY.into()),
            tags: tags.clone(),
        }),
        policy: Some(PolicyInfo {
            arn: first.policy_arn.clone(),
            managed: true,
            default_version: "v1".into(),
            attachments: 1,
            tags,
        }),
        policy_document: Some(first.grant.permissions_policy),
        attached: true,
        keys: vec![],
    };
    let plan = user(&user_inputs(), &facts(), &state).unwrap();
    assert_eq!(names(&plan.grant.actions), ["create_access_key"]);
    let mut both = user_inputs();
    both.access = Access::Both;
    let plan = user(&both, &facts(), &state).unwrap();
    assert_eq!(
        names(&plan.grant.actions),
        [
            "update_policy",
            "tag_principal",
            "tag_policy",
            "create_access_key"
        ]
    );
    assert_eq!(plan.grant.revisions[0].describe(), "access: export → both");
}

/// Which role a run is for: one per location by default, whatever the access.
#[test]
fn a_location_has_one_role_by_default() {
    let location: S3Location = "s3://bkt1/data/".parse().unwrap();
    let names = candidates::<RoleName>(&location, Access::Both, None);
    assert_eq!(
        names.iter().map(RoleName::as_str).collect::<Vec<_>>(),
        [
            "tidb-role-both-bkt1-data",
            "tidb-role-import-bkt1-data",
            "tidb-role-export-bkt1-data"
        ]
    );
    let made = |access: Access, at: &str| RoleInfo {
        tags: recorded(access, at),
        ..bare_role("arn:aws:iam::123456789012:role/x")
    };
    let found = |import: Option<RoleInfo>| {
        vec![
            (names[0].clone(), None),
            (names[1].clone(), import),
            (names[2].clone(), None),
        ]
    };
    // The import role serves the location: a run for both updates it.
    let adopted = adopt(
        &location,
        false,
        found(Some(made(Access::Import, "s3://bkt1/data/"))),
    )
    .unwrap();
    assert_eq!(adopted.name.as_str(), "tidb-role-import-bkt1-data");
    assert!(adopted.other_access);
    // Nothing there: the default for this access, to create.
    let fresh = adopt(&location, false, found(None)).unwrap();
    assert_eq!(fresh.name.as_str(), "tidb-role-both-bkt1-data");
    assert!(fresh.info.is_none());
    // A role made by hand under that name is not this tool's to take over.
    let mut by_hand = made(Access::Import, "s3://bkt1/data/");
    by_hand.managed = false;
    assert!(adopt(&location, false, found(Some(by_hand)))
        .unwrap()
        .info
        .is_none());
    // A role under this location's default name that serves another: refused, exit 1.
    let mut own = found(None);
    own[0].1 = Some(made(Access::Both, "s3://bkt1/elsewhere/"));
    let err = adopt(&location, false, own.clone()).unwrap_err();
    assert_eq!(err.exit_code(), 1);
    assert!(
        err.to_string().contains("serves s3://bkt1/elsewhere/")
            && err.to_string().contains("--role-name"),
        "{err}"
    );
    // Named by hand, it is taken as named; its plan shows the change of directory.
    let named = adopt(&location, true, own[..1].to_vec()).unwrap();
    assert!(named.info.is_some());
}

/// A role made by a stack records its location in its description only.
#[test]
fn a_role_tells_its_location_by_tag_or_by_description() {
    let location: S3Location = "s3://bkt1/数据/".parse().unwrap();
    let description =
        policy::description(&template::role_description(Access::Import, "bkt1", "数据"));
    let info = RoleInfo {
        description: Some(description),
        ..bare_role("arn:aws:iam::123456789012:role/x")
    };
    assert_eq!(serves(info.principal(), &location), Some(true));
    let other: S3Location = "s3://bkt1/data/".parse().unwrap();
    assert_eq!(serves(info.principal(), &other), Some(false));
    let silent = RoleInfo {
        description: Some("made by hand".into()),
        ..info
    };
    assert_eq!(serves(silent.principal(), &location), None);
}

/// IAM's limits, counted as IAM counts them, refused before any change: the trust policy's
/// size (about 35 clusters of TiDB Cloud's 50-character external IDs fit the default 2,048),
/// the tags per method, and a managed policy's 6,144 characters.
#[test]
fn what_iam_would_refuse_for_its_size_is_refused_first() {
    let ids: Vec<ExternalId> = (0..40)
        .map(|i| format!("{i:02}{}", "x".repeat(48)).parse().unwrap())
        .collect();
    let trust = policy::trust(Partition::Aws, &"380838443567".parse().unwrap(), &ids);
    let size = policy::iam_size(&trust);
    assert!(size > 2048 && size < 4096, "{size}");
    let err = check_trust_size(&trust, 2048, ids.len()).unwrap_err();
    assert_eq!(err.exit_code(), 2);
    let text = err.to_string();
    assert!(
        text.starts_with("--external-id: ")
            && text.contains(&size.to_string())
            && text.contains("40 clusters"),
        "{text}"
    );
    assert!(text.contains("split the clusters over two roles"), "{text}");
    assert!(
        check_trust_size(&trust, 4096, ids.len()).is_ok(),
        "a raised quota fits"
    );
    let fits: Vec<ExternalId> = ids[..30].to_vec();
    let trust = policy::trust(Partition::Aws, &"380838443567".parse().unwrap(), &fits);
    assert!(check_trust_size(&trust, 2048, fits.len()).is_ok());

    // A stack's role carries six of the tool's tags, an IAM role four.
    let tags =
        |n: usize| -> Vec<TagPair> { (0..n).map(|i| format!("k{i}=v").parse().unwrap()).collect() };
    let mut stacked = stack_inputs();
    stacked.guardrails.tags = tags(45);
    let err = role(
        Method::Cloudformation,
        &stacked,
        &facts(),
        &RoleState::default(),
    )
    .unwrap_err();
    assert!(err.to_string().starts_with("--tag: "), "{err}");
    stacked.guardrails.tags = tags(44);
    assert!(role(
        Method::Cloudformation,
        &stacked,
        &facts(),
        &RoleState::default()
    )
    .is_ok());
    let mut direct = inputs();
    direct.guardrails.tags = tags(46);
    assert!(role(Method::Iam, &direct, &facts(), &RoleState::default()).is_ok());
    // Tags it has count too: 40 kept and 7 new are too many.
    let mut state = guarded();
    state
        .role
        .as_mut()
        .unwrap()
        .tags
        .extend((0..40).map(|i| (format!("old{i}"), "v".to_string())));
    direct.guardrails.tags = tags(7);
    let err = role(Method::Iam, &direct, &facts(), &state).unwrap_err();
    assert!(err.to_string().contains("--remove-tag"), "{err}");

    // Each KMS key adds its ARN: past 6,144 characters the managed policy is refused.
    let mut keyed = inputs();
    keyed.kms_keys = (0..90)
        .map(|i| {
            format!("arn:aws:kms:us-east-1:123456789012:key/{i:08}-0000-0000-0000-000000000000")
                .parse()
                .unwrap()
        })
        .collect();
    let err = role(Method::Iam, &keyed, &facts(), &RoleState::default()).unwrap_err();
    assert!(
        err.to_string().starts_with("--kms-key: ") && err.to_string().contains("6144"),
        "{err}"
    );
    // A stack's inline policy may be bigger (10,240 for a role's inline policies).
    keyed.stack_name = Some("s1".parse().unwrap());
    assert!(role(
        Method::Cloudformation,
        &keyed,
        &facts(),
        &RoleState::default()
    )
    .is_ok());
}
