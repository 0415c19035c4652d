use super::*;

#[test]
fn stack_parameters_compare_as_lists_whatever_the_spelling() {
    let planned: BTreeMap<String, String> = [("KmsKeyArns", "a,b"), ("Access", "both")]
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .into();
    let mut current = planned.clone();
    current.insert("KmsKeyArns".into(), "['a', 'b']".into());
    assert!(same_parameters(&current, &planned));
    current.insert("KmsKeyArns".into(), "['a']".into());
    assert!(!same_parameters(&current, &planned));
    let mut empty = planned.clone();
    empty.insert("KmsKeyArns".into(), String::new());
    let mut moto_empty = planned.clone();
    moto_empty.insert("KmsKeyArns".into(), "['']".into());
    assert!(same_parameters(&moto_empty, &empty));
    current.insert("KmsKeyArns".into(), "a,b".into());
    current.insert("Access".into(), "import".into());
    assert!(!same_parameters(&current, &planned));
}

pub(super) fn stack_inputs() -> RoleInputs {
    RoleInputs {
        stack_name: Some("s1".parse().unwrap()),
        ..inputs()
    }
}

pub(super) fn stack(
    status: &str,
    managed: bool,
    parameters: BTreeMap<String, String>,
) -> StackInfo {
    StackInfo {
        id: "arn:aws:cloudformation:us-east-1:123456789012:stack/s1/x".into(),
        status: status.into(),
        managed,
        parameters,
        outputs: [(
            "RoleArn".to_string(),
            "arn:aws:iam::123456789012:role/r".to_string(),
        )]
        .into(),
        template_tag: Some(template::hash()),
        tags: vec![],
        status_reason: None,
    }
}

/// The plan fits a screen: what it grants instead of the documents, unless asked; an
/// update shows what changes in them as a diff.
#[test]
fn a_plan_shows_what_it_grants_and_an_update_its_diff() {
    use crate::output::{render_role_plan, Ui};
    let fresh = plan_of(Method::Iam, &inputs(), &RoleState::default());
    let summary = render_role_plan(&Ui::plain().with_documents(false), &fresh);
    assert!(summary.contains("What it grants"), "{summary}");
    assert!(
        summary.contains("s3:GetObject, s3:GetObjectVersion  on arn:aws:s3:::bkt1/data/*"),
        "{summary}"
    );
    assert!(summary.contains("--show-policies"), "{summary}");
    assert!(
        !summary.contains("\"Statement\""),
        "no documents: {summary}"
    );
    assert!(
        !summary.contains("changes (- now"),
        "a create has no diff: {summary}"
    );
    let whole = render_role_plan(&Ui::plain(), &fresh);
    assert!(whole.contains("Trust policy") && whole.contains("\"Statement\""));

    let mut export = inputs();
    export.access = Access::Export;
    let update = plan_of(Method::Iam, &export, &existing(&fresh, true));
    let text = render_role_plan(&Ui::plain().with_documents(false), &update);
    assert!(
        text.contains("Permissions policy changes (- now, + after this run)"),
        "{text}"
    );
    assert!(text.contains("-         \"s3:GetObject\","), "{text}");
    assert!(text.contains("+         \"s3:PutObject\""), "{text}");
    assert!(
        !text.contains("Trust policy changes"),
        "the trust stays: {text}"
    );
}

/// A stack with its role as the template made it, read back the way a rerun reads it.
pub(super) fn in_sync(inputs: &RoleInputs, s: StackInfo) -> RoleState {
    let fresh = plan_of(Method::Cloudformation, inputs, &RoleState::default());
    let tags = [
        ("managed-by", "serverless-s3-setup"),
        (
            "serverless-s3-setup:access",
            fresh.stack_parameters["Access"].as_str(),
        ),
        ("serverless-s3-setup:stack", "s1"),
    ];
    RoleState {
        role: Some(RoleInfo {
            trust: Some(fresh.trust_policy.clone()),
            stack: Some("s1".into()),
            tags: tags
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            ..bare_role("arn:aws:iam::123456789012:role/r")
        }),
        inline: Some(vec![(
            fresh.grant.policy_name.to_string(),
            Some(fresh.grant.permissions_policy.clone()),
        )]),
        stack: Some(s),
        ..RoleState::default()
    }
}

/// What a rerun plans when the stack's role was changed by hand: the live role is
/// compared with the template, never reported unchanged.
#[test]
fn a_role_changed_outside_cloudformation_is_restored_not_unchanged() {
    let cfn = Method::Cloudformation;
    let inputs = stack_inputs();
    let params = plan_of(cfn, &inputs, &RoleState::default()).stack_parameters;
    let synced = || in_sync(&inputs, stack("CREATE_COMPLETE", true, params.clone()));
    let plan = |state: &RoleState| role(cfn, &inputs, &facts(), state);
    assert!(plan(&synced()).unwrap().grant.actions.is_empty());

    let mut deleted = synced();
    deleted.role = None;
    deleted.inline = None;
    let p = plan(&deleted).unwrap();
    assert_eq!(names(&p.grant.actions), ["recreate_deleted_role"]);
    assert!(p
        .describe(&p.grant.actions[0])
        .contains("deleted outside CloudFormation"));

    let restored = |state: &RoleState| match plan(state).unwrap().grant.actions.as_slice() {
        [Action::RestoreRole { drift, .. }] => drift.clone(),
        other => panic!("expected a restore, got {other:?}"),
    };
    let mut trust = synced();
    let edited = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
        "Principal": {"AWS": "arn:aws:iam::999999999999:root"}, "Action": "sts:AssumeRole"}]});
    trust.role.as_mut().unwrap().trust = Some(edited.clone());
    let drift = restored(&trust);
    assert!(matches!(&drift[..], [Drift::Trust { live: Some(l), .. }] if *l == edited));

    let mut gone = synced();
    gone.inline = Some(vec![]);
    let drift = restored(&gone);
    assert!(matches!(&drift[..], [Drift::Policy { live: None, .. }]));
    assert!(drift[0].describe().contains("(deleted)"));

    let mut widened = synced();
    widened.inline = Some(vec![(
        inputs.policy_name.to_string(),
        Some(json!({"Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]})),
    )]);
    assert!(matches!(
        &restored(&widened)[..],
        [Drift::Policy { live: Some(_), .. }]
    ));

    let mut untagged = synced();
    untagged
        .role
        .as_mut()
        .unwrap()
        .tags
        .retain(|(k, _)| k != "managed-by");
    assert!(
        matches!(&restored(&untagged)[..], [Drift::Tags { missing }] if missing[0].key == "managed-by")
    );

    let mut bounded = synced();
    bounded.role.as_mut().unwrap().boundary = Some("arn:aws:iam::123456789012:policy/b".into());
    assert!(matches!(
        &restored(&bounded)[..],
        [Drift::Boundary {
            template: None,
            live: Some(_)
        }]
    ));

    // A property whose parameters change is rewritten by the update itself: no drift.
    let mut old = params.clone();
    old.insert("ExternalId".into(), "old".into());
    let mut moved = in_sync(&inputs, stack("UPDATE_COMPLETE", true, old));
    moved.role.as_mut().unwrap().trust = Some(edited);
    assert_eq!(
        names(&plan(&moved).unwrap().grant.actions),
        ["update_stack"]
    );
    // …while drift elsewhere is still restored beside the update.
    moved.inline = Some(vec![]);
    assert!(matches!(
        plan(&moved).unwrap().grant.actions.as_slice(),
        [Action::UpdateStack(_), Action::RestoreRole { drift, .. }] if matches!(&drift[..], [Drift::Policy { .. }])
    ));

    // A new --role-name makes a new role through the update; the old name is not drift.
    let mut renamed = params.clone();
    renamed.insert("RoleName".into(), "old-role".into());
    let state = RoleState {
        stack: Some(stack("CREATE_COMPLETE", true, renamed)),
        ..RoleState::default()
    };
    assert_eq!(
        names(&plan(&state).unwrap().grant.actions),
        ["update_stack"]
    );

    // A role tagged as another stack's is not this stack's to repair.
    let mut theirs = synced();
    theirs.role.as_mut().unwrap().stack = Some("other".into());
    let err = plan(&theirs).unwrap_err();
    assert!(matches!(err, Error::Conflict(_)), "{err}");
    assert!(err.to_string().contains("stack other"), "{err}");
}

/// Every status on CloudFormation's "Stack status codes" page, scripted: each has an
/// honest outcome, never "unchanged" for a broken stack nor a raw ValidationError.
#[test]
fn every_stack_status_has_an_honest_outcome() {
    let cfn = Method::Cloudformation;
    let params = plan_of(cfn, &stack_inputs(), &RoleState::default()).stack_parameters;
    let plan_for = |status: &str| {
        let mut s = stack(status, true, params.clone());
        s.status_reason = Some("Role: access denied".into());
        role(cfn, &stack_inputs(), &facts(), &in_sync(&stack_inputs(), s))
    };
    for status in ["ROLLBACK_COMPLETE", "ROLLBACK_FAILED", "REVIEW_IN_PROGRESS"] {
        let plan = plan_for(status).unwrap();
        assert!(
            matches!(plan.grant.actions.as_slice(), [Action::RecreateStack { status: s, .. }] if s == status),
            "{:?}",
            plan.grant.actions
        );
        assert!(plan.describe(&plan.grant.actions[0]).contains(status));
    }
    let err = plan_for("UPDATE_ROLLBACK_FAILED").unwrap_err().to_string();
    assert!(err.contains("continue-update-rollback"), "{err}");
    // ContinueUpdateRollback does not serve a failed import's rollback.
    let err = plan_for("IMPORT_ROLLBACK_FAILED").unwrap_err().to_string();
    assert!(
        !err.contains("continue-update-rollback") && err.contains("describe-stack-events"),
        "{err}"
    );
    let err = plan_for("DELETE_FAILED").unwrap_err().to_string();
    assert!(
        err.contains("Role: access denied") && err.contains("delete-stack"),
        "{err}"
    );
    for status in [
        "CREATE_COMPLETE",
        "UPDATE_COMPLETE",
        "UPDATE_ROLLBACK_COMPLETE",
        "IMPORT_COMPLETE",
        "IMPORT_ROLLBACK_COMPLETE",
    ] {
        assert!(
            plan_for(status).unwrap().grant.actions.is_empty(),
            "{status}"
        );
    }
    for status in [
        "CREATE_IN_PROGRESS",
        "UPDATE_IN_PROGRESS",
        "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS",
        "UPDATE_ROLLBACK_IN_PROGRESS",
        "DELETE_IN_PROGRESS",
        "IMPORT_IN_PROGRESS",
        "ROLLBACK_IN_PROGRESS",
    ] {
        assert!(
            matches!(plan_for(status), Err(Error::Conflict(_))),
            "{status}"
        );
    }
}

#[test]
fn stack_plans_create_update_recreate_or_nothing() {
    let cfn = Method::Cloudformation;
    let fresh = plan_of(cfn, &stack_inputs(), &RoleState::default());
    assert_eq!(names(&fresh.grant.actions), ["create_stack"]);
    assert_eq!(fresh.policy_arn, None);
    assert_eq!(fresh.stack_parameters["RoleName"], "r");
    let params = fresh.stack_parameters;

    let with = |s: StackInfo| in_sync(&stack_inputs(), s);
    let same = plan_of(
        cfn,
        &stack_inputs(),
        &with(stack("CREATE_COMPLETE", true, params.clone())),
    );
    assert!(same.grant.actions.is_empty());
    assert_eq!(same.role_arn, "arn:aws:iam::123456789012:role/r");

    let mut old = params.clone();
    old.insert("ExternalId".into(), "old".into());
    let drift = plan_of(
        cfn,
        &stack_inputs(),
        &with(stack("UPDATE_COMPLETE", true, old)),
    );
    assert_eq!(names(&drift.grant.actions), ["update_stack"]);

    let mut outdated = stack("CREATE_COMPLETE", true, params.clone());
    outdated.template_tag = Some("older".into());
    let newer = plan_of(cfn, &stack_inputs(), &with(outdated));
    assert_eq!(
        names(&newer.grant.actions),
        ["update_stack"],
        "a newer template updates the stack"
    );

    let failed = plan_of(
        cfn,
        &stack_inputs(),
        &with(stack("ROLLBACK_COMPLETE", true, params.clone())),
    );
    assert!(
        matches!(failed.grant.actions.as_slice(), [Action::RecreateStack { status: s, .. }] if s == "ROLLBACK_COMPLETE"),
        "{:?}",
        failed.grant.actions
    );
    assert!(failed
        .describe(&failed.grant.actions[0])
        .contains("cannot be updated"));

    let busy = role(
        cfn,
        &stack_inputs(),
        &facts(),
        &with(stack("UPDATE_IN_PROGRESS", true, params.clone())),
    );
    assert!(matches!(busy, Err(Error::Conflict(_))));

    let mut tagged = stack_inputs();
    tagged.guardrails.tags = vec!["team=data".parse().unwrap()];
    let tag_params = plan_of(cfn, &tagged, &RoleState::default()).stack_parameters;
    let untagged = plan_of(
        cfn,
        &tagged,
        &with(stack("CREATE_COMPLETE", true, tag_params.clone())),
    );
    assert_eq!(
        names(&untagged.grant.actions),
        ["update_stack"],
        "a missing --tag updates the stack"
    );
    let mut with_tag = stack("CREATE_COMPLETE", true, tag_params);
    with_tag.tags = vec![("team".into(), "data".into())];
    assert!(plan_of(cfn, &tagged, &with(with_tag.clone()))
        .grant
        .actions
        .is_empty());
    let kept = plan_of(cfn, &stack_inputs(), &with(with_tag));
    assert!(
        kept.grant.actions.is_empty(),
        "a rerun without --tag keeps the stack's tags: {:?}",
        kept.grant.actions
    );

    let foreign = role(
        cfn,
        &stack_inputs(),
        &facts(),
        &with(stack("CREATE_COMPLETE", false, params)),
    );
    assert!(foreign.unwrap_err().to_string().contains("--stack-name"));

    let iam_role = RoleState {
        role: Some(bare_role("arn:aws:iam::123456789012:role/r")),
        ..RoleState::default()
    };
    let err = role(cfn, &stack_inputs(), &facts(), &iam_role).unwrap_err();
    assert!(err.to_string().contains("--method iam"), "{err}");
}
#[test]
fn every_parameter_the_template_declares_is_set_and_no_other() {
    let declared: Vec<&str> = template::TEMPLATE
        .split("\nParameters:\n")
        .nth(1)
        .unwrap()
        .split("\nConditions:")
        .next()
        .unwrap()
        .lines()
        .filter(|l| l.starts_with("  ") && !l.starts_with("   ") && l.trim_end().ends_with(':'))
        .map(|l| l.trim().trim_end_matches(':'))
        .collect();
    let inputs = RoleInputs {
        location: "s3://bkt1/a/b/".parse().unwrap(),
        access: Access::Export,
        external_id: None,
        no_external_id: true,
        policy_name: "p".parse().unwrap(),
        ..inputs()
    };
    let guard = Guardrails::default();
    let params = super::super::stack::parameters(&inputs, &guard, &[], &[]).unwrap();
    let mut set: Vec<&str> = params.keys().map(String::as_str).collect();
    let mut declared = declared;
    set.sort();
    declared.sort();
    assert_eq!(set, declared);
    assert_eq!(params["ObjectPrefix"], "a/b");
    assert_eq!(params["ExternalId"], template::NO_EXTERNAL_ID);
    assert_eq!(params["MoreExternalIds"], "");
    let ids: Vec<ExternalId> = ["ab", "cd"].map(|i| i.parse().unwrap()).to_vec();
    let two = super::super::stack::parameters(&inputs, &guard, &[], &ids).unwrap();
    assert_eq!(
        (two["ExternalId"].as_str(), two["MoreExternalIds"].as_str()),
        ("ab", "cd")
    );
    let with_comma: Vec<ExternalId> = vec!["a,b".parse().unwrap()];
    assert!(
        super::super::stack::parameters(&inputs, &guard, &[], &with_comma).is_ok(),
        "one ID may hold a comma"
    );
    let comma: Vec<ExternalId> = vec!["ab,cd".parse().unwrap(), "ef".parse().unwrap()];
    assert!(super::super::stack::parameters(&inputs, &guard, &[], &comma).is_err());
    assert_eq!(params["KmsKeyArns"], "");
}
