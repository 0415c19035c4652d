use super::*;

pub(super) fn user_inputs() -> UserInputs {
    UserInputs {
        location: "s3://bkt1/data/".parse().unwrap(),
        access: Access::Export,
        user_name: "u".parse().unwrap(),
        policy_name: "u-policy".parse().unwrap(),
        kms_keys: vec![],
        remove_kms_keys: vec![],
        guardrails: GuardrailRequest::default(),
        chosen: Chosen::default(),
        rotate: false,
        probe: KeyProbe::List,
    }
}

fn key(id: &str) -> AccessKeyInfo {
    AccessKeyInfo {
        id: id.into(),
        status: "Active".into(),
        created: None,
    }
}

#[test]
fn a_new_user_gets_policy_user_attachment_and_key() {
    let plan = user(&user_inputs(), &facts(), &UserState::default()).unwrap();
    assert_eq!(
        names(&plan.grant.actions),
        [
            "create_policy",
            "create_user",
            "attach_policy",
            "create_access_key"
        ]
    );
    assert_eq!(plan.user_arn, "arn:aws:iam::123456789012:user/u");
    assert_eq!(
        plan.grant.permissions_policy["Statement"][0]["Action"],
        serde_json::json!(["s3:PutObject"])
    );
}

#[test]
fn an_existing_user_with_one_key_only_gets_another_key() {
    let first = user(&user_inputs(), &facts(), &UserState::default()).unwrap();
    let state = UserState {
        user: Some(UserInfo {
            arn: first.user_arn.clone(),
            user_id: "AIDAEXAMPLE".into(),
            managed: true,
            boundary: None,
            tags: recorded(Access::Export, "s3://bkt1/data/"),
        }),
        policy: Some(PolicyInfo {
            arn: first.policy_arn.clone(),
            managed: true,
            default_version: "v1".into(),
            attachments: 1,
            tags: recorded(Access::Export, "s3://bkt1/data/"),
        }),
        policy_document: Some(first.grant.permissions_policy.clone()),
        attached: true,
        keys: vec![key("AKIA1")],
    };
    let plan = user(&user_inputs(), &facts(), &state).unwrap();
    assert_eq!(names(&plan.grant.actions), ["create_access_key"]);

    let full = UserState {
        keys: vec![key("AKIA1"), key("AKIA2")],
        ..state.clone()
    };
    let err = user(&user_inputs(), &facts(), &full).unwrap_err();
    assert!(matches!(err, Error::KeyLimit { .. }));
    assert!(err.to_string().contains("--access-key-id AKIA2"), "{err}");
    // The way out for CI names the key --rotate deletes first: the oldest.
    let newer_first = UserState {
        keys: vec![
            AccessKeyInfo {
                created: Some(2_000),
                ..key("AKIA1")
            },
            AccessKeyInfo {
                created: Some(1_000),
                ..key("AKIA2")
            },
        ],
        ..state.clone()
    };
    let err = user(&user_inputs(), &facts(), &newer_first).unwrap_err();
    assert!(
        err.to_string().ends_with(
            "\n  or run it again with --rotate: AKIA2 is deleted first, to make room, and AKIA1 once the new key works (an import or export still using them then fails)"
        ),
        "{err}"
    );

    // --rotate: the older key goes once the new one works; at the limit the oldest goes
    // first, to make room, and the other after.
    let rotate = UserInputs {
        rotate: true,
        ..user_inputs()
    };
    let deletions = |plan: &UserPlan| -> Vec<(String, bool)> {
        plan.grant
            .actions
            .iter()
            .filter_map(|a| match a {
                Action::DeleteAccessKey { id, first, .. } => Some((id.clone(), *first)),
                _ => None,
            })
            .collect()
    };
    let plan = user(&rotate, &facts(), &state).unwrap();
    assert_eq!(
        names(&plan.grant.actions),
        ["create_access_key", "delete_access_key"]
    );
    assert_eq!(deletions(&plan), [("AKIA1".to_string(), false)]);
    let aged = |id: &str, created: i64| AccessKeyInfo {
        created: Some(created),
        ..key(id)
    };
    let full = UserState {
        keys: vec![aged("AKIA-NEWER", 200), aged("AKIA-OLDEST", 100)],
        ..state.clone()
    };
    let plan = user(&rotate, &facts(), &full).unwrap();
    assert_eq!(
        names(&plan.grant.actions),
        [
            "delete_access_key",
            "create_access_key",
            "delete_access_key"
        ]
    );
    assert_eq!(
        deletions(&plan),
        [
            ("AKIA-OLDEST".to_string(), true),
            ("AKIA-NEWER".to_string(), false)
        ]
    );
    assert_eq!(
        plan.lines()[0],
        "delete access key AKIA-OLDEST of user u first, to make room (IAM allows two)"
    );

    let foreign = UserState {
        user: Some(UserInfo {
            arn: first.user_arn,
            user_id: "AIDAEXAMPLE".into(),
            managed: false,
            boundary: None,
            tags: vec![],
        }),
        ..state
    };
    let err = user(&user_inputs(), &facts(), &foreign).unwrap_err();
    assert!(err.to_string().contains("--user-name"), "{err}");
}
