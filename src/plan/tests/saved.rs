//! Saved plans: every kind of change survives the file unchanged, the inputs are read back
//! through the flags' checks, and a basis names what changed since.

use super::stack::{in_sync, stack, stack_inputs};
use super::user::user_inputs;
use super::*;
use serde_json::Value;

use crate::plan::saved::{differs, Basis, KeySetup, RoleSetup, Saved, FORMAT};

/// The plan through its file and back: the same JSON, and a plan that serialises the same.
fn round_trip<P: Serialize + serde::de::DeserializeOwned>(plan: &P) -> Value {
    let json = serde_json::to_value(plan).unwrap();
    let back: P = serde_json::from_value(json.clone()).expect("a saved plan reads back");
    assert_eq!(serde_json::to_value(&back).unwrap(), json);
    json
}

/// What a reviewer sees of a plan's changes: its actions and revisions, the account and
/// template hash redacted to stable stand-ins.
fn reviewed(json: &Value) -> Value {
    let text = json
        .to_string()
        .replace(&template::hash(), "<template-hash>");
    let json: Value = serde_json::from_str(&text).unwrap();
    serde_json::json!({
        "actions": json["actions"],
        "revisions": json.get("revisions"),
        "external_ids": json["external_ids"],
        "losing_access": json.get("losing_access"),
    })
}

#[test]
fn every_kind_of_change_round_trips_and_reads_as_reviewed() {
    let iam = Method::Iam;
    let create = plan_of(iam, &inputs(), &RoleState::default());
    insta::assert_json_snapshot!("saved_create", reviewed(&round_trip(&create)));

    let mut wider = inputs();
    wider.access = Access::Both;
    let update = plan_of(iam, &wider, &existing(&create, true));
    insta::assert_json_snapshot!("saved_update", reviewed(&round_trip(&update)));

    let mut other = inputs();
    other.external_id = Some("ext-2".parse().unwrap());
    other.replace_external_ids = true;
    let trust = plan_of(iam, &other, &existing(&create, true));
    insta::assert_json_snapshot!("saved_trust_change", reviewed(&round_trip(&trust)));

    let cfn = Method::Cloudformation;
    let stack_in = stack_inputs();
    let params = plan_of(cfn, &stack_in, &RoleState::default()).stack_parameters;
    let mut drifted = in_sync(&stack_in, stack("CREATE_COMPLETE", true, params.clone()));
    drifted.role.as_mut().unwrap().boundary = Some("arn:aws:iam::123456789012:policy/b".into());
    let drift = plan_of(cfn, &stack_in, &drifted);
    insta::assert_json_snapshot!("saved_drift_repair", reviewed(&round_trip(&drift)));

    let failed = RoleState {
        stack: Some(stack("ROLLBACK_COMPLETE", true, params.clone())),
        ..RoleState::default()
    };
    let recreate = plan_of(cfn, &stack_in, &failed);
    insta::assert_json_snapshot!("saved_stack_recreate", reviewed(&round_trip(&recreate)));

    let mut gone = in_sync(&stack_in, stack("CREATE_COMPLETE", true, params));
    gone.role = None;
    gone.inline = None;
    let remake = plan_of(cfn, &stack_in, &gone);
    insta::assert_json_snapshot!("saved_role_remade", reviewed(&round_trip(&remake)));

    let key = user(&user_inputs(), &facts(), &UserState::default()).unwrap();
    insta::assert_json_snapshot!("saved_access_key", reviewed(&round_trip(&key)));
}

#[test]
fn a_stack_action_carries_everything_its_request_sends() {
    let plan = role(
        Method::Cloudformation,
        &stack_inputs(),
        &Facts {
            region: Some("eu-west-1".into()),
            ..facts()
        },
        &RoleState::default(),
    )
    .unwrap();
    let [Action::CreateStack(spec)] = plan.grant.actions.as_slice() else {
        panic!("{:?}", plan.grant.actions)
    };
    assert_eq!(spec.parameters, plan.stack_parameters);
    assert_eq!(spec.template_hash, template::hash());
    assert_eq!(spec.region.as_deref(), Some("eu-west-1"));
    assert_eq!(Some(&spec.stack), plan.stack_name.as_ref());
}

#[test]
fn inputs_read_back_as_given_and_through_the_flags_checks() {
    let mut given = inputs();
    given.location = "s3://bkt1/data/2024.csv".parse().unwrap();
    given.guardrails = GuardrailRequest::new(
        Some("arn:aws:iam::123456789012:policy/b".parse().unwrap()),
        false,
        Some("/team/".parse().unwrap()),
        vec!["team=data".parse().unwrap()],
        vec!["cost".parse().unwrap()],
    )
    .unwrap();
    given.kms_keys = vec!["arn:aws:kms:us-east-1:123456789012:key/k1".parse().unwrap()];
    let setup = RoleSetup {
        method: Method::Iam,
        inputs: given.clone(),
        cluster_id: None,
        stack_region: Some("eu-west-1".parse().unwrap()),
    };
    let json = serde_json::to_value(&setup).unwrap();
    assert_eq!(json["inputs"]["location"]["uri"], "s3://bkt1/data/2024.csv");
    assert_eq!(json["inputs"]["guardrails"]["tags"][0], "team=data");
    assert_eq!(json["stack_region"], "eu-west-1");
    let back: RoleSetup = serde_json::from_value(json.clone()).unwrap();
    assert_eq!(back.inputs, given);
    assert_eq!(back.stack_region, setup.stack_region);
    // A region in a saved plan holds only what --region could.
    let mut edited = json.clone();
    edited["stack_region"] = "moon-base".into();
    let err = serde_json::from_value::<RoleSetup>(edited).unwrap_err();
    assert!(err.to_string().contains("must be an AWS region"), "{err}");
    assert_eq!(back.inputs.location.given(), "s3://bkt1/data/2024.csv");

    // A value no flag would take is refused, and named.
    for (path, bad, says) in [
        ("role_name", json!("has space"), "\"has space\""),
        ("tidb_account", json!("12"), "\"12\""),
        (
            "guardrails",
            json!({"tags": ["managed-by=me"]}),
            "serverless-s3-setup sets itself",
        ),
        (
            "location",
            json!({"uri": "http://x", "named": "folder", "basis": "syntax"}),
            "s3://",
        ),
        (
            "location",
            json!({"uri": "s3://bkt1/d/", "named": "file", "basis": "syntax"}),
            "cannot name",
        ),
        ("surprise", json!(1), "unknown field"),
    ] {
        let mut edited = json.clone();
        edited["inputs"][path] = bad;
        let err = serde_json::from_value::<RoleSetup>(edited)
            .unwrap_err()
            .to_string();
        assert!(err.contains(says), "{path}: {err}");
    }
    let keys = KeySetup {
        inputs: user_inputs(),
        tier: Tier::Dedicated,
        cluster_id: Some("10000000000000000000".parse().unwrap()),
    };
    let back: KeySetup = serde_json::from_value(serde_json::to_value(&keys).unwrap()).unwrap();
    assert_eq!(back.inputs, keys.inputs);
}

#[test]
fn a_basis_names_what_changed_since_and_nothing_when_nothing_did() {
    let first = plan_of(Method::Iam, &inputs(), &RoleState::default());
    let state = existing(&first, true);
    let basis = Basis::role(&facts(), &state);
    assert_eq!(
        Basis::role(&facts(), &state).changes_since(&basis),
        Vec::<String>::new()
    );

    let mut edited = state.clone();
    edited.role.as_mut().unwrap().trust = Some(json!({"Version": "2012-10-17", "Statement": []}));
    edited.policy.as_mut().unwrap().default_version = "v2".into();
    let changes = Basis::role(&facts(), &edited).changes_since(&basis);
    assert_eq!(changes.len(), 2, "{changes:?}");
    assert!(
        changes[0].starts_with("policy default version: v1 → v2"),
        "{changes:?}"
    );
    assert!(
        changes[1].starts_with("role trust policy: document "),
        "{changes:?}"
    );

    // A role and policy deleted since: one line each, not one per property.
    let gone = RoleState::default();
    assert_eq!(
        Basis::role(&facts(), &gone).changes_since(&basis),
        [
            "policy: arn:aws:iam::123456789012:policy/r-policy → (absent)",
            "role: arn:aws:iam::123456789012:role/r → (absent)"
        ]
    );

    // Another account or region is another basis.
    let elsewhere = Facts {
        region: Some("eu-west-1".into()),
        ..facts()
    };
    assert_eq!(
        Basis::role(&elsewhere, &state).changes_since(&basis),
        ["region: (none) → eu-west-1"]
    );

    // A key made or deleted since changes an access key's basis.
    let mut users = UserState::default();
    let before = Basis::user(&facts(), &users);
    users.keys.push(AccessKeyInfo {
        id: "AKIA1".into(),
        status: "Active".into(),
        created: None,
    });
    assert_eq!(
        Basis::user(&facts(), &users).changes_since(&before),
        ["user access keys: (none) → AKIA1 Active"]
    );
}

#[test]
fn plans_differ_only_in_what_they_do() {
    let plan = plan_of(Method::Iam, &inputs(), &RoleState::default());
    let json = serde_json::to_value(&plan).unwrap();
    let mut informed = json.clone();
    informed["detected"] = json!(["caller: someone else"]);
    informed["warnings"] = json!(["a warning"]);
    assert_eq!(differs(&json, &informed), None);
    let mut widened = json.clone();
    widened["permissions_policy"] = json!({});
    assert_eq!(
        differs(&json, &widened).as_deref(),
        Some("permissions_policy")
    );
}

#[test]
fn the_file_says_its_format_and_its_maker() {
    let plan = plan_of(Method::Iam, &inputs(), &RoleState::default());
    let saved = Saved {
        format: FORMAT,
        made_by: crate::plan::saved::made_by(),
        command: "role".into(),
        setup: RoleSetup {
            method: Method::Iam,
            inputs: inputs(),
            cluster_id: None,
            stack_region: None,
        },
        basis: Basis::role(&facts(), &RoleState::default()),
        plan,
    };
    let json = serde_json::to_value(&saved).unwrap();
    assert_eq!(json["format"], 1);
    assert!(json["made_by"]
        .as_str()
        .unwrap()
        .starts_with(concat!("serverless-s3-setup ", env!("CARGO_PKG_VERSION"))));
    assert_eq!(json["basis"]["role"], "(absent)");
    let back: Saved<RoleSetup, RolePlan> = serde_json::from_value(json).unwrap();
    assert_eq!(back.plan.grant.actions, saved.plan.grant.actions);
}
